"""Fixtures of the bots tests (header sets live in headers.py)."""

from __future__ import annotations

import pytest

from engine.bots import Classifier, compile_policy, default_policy


@pytest.fixture(scope="session")
def classifier() -> Classifier:
    """The default policy, compiled once per session."""
    return compile_policy(default_policy())
