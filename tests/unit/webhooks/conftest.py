"""Fixtures for the webhook unit tests (helpers live in webhook_unit_helpers.py)."""

from __future__ import annotations

import pytest
from webhook_unit_helpers import FakeClock


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()
