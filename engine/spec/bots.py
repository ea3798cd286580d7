"""Bot policy files (``kind: bots``): what authors write. OWNED BY THE BOTS WORK (issue 5).

Placeholder shape until the bots work fills in the signals; the interface the
rest of ``spec`` relies on is ``BotPolicySpec`` and its ``to_record``.
"""

from __future__ import annotations

import hashlib
from typing import Literal

import msgspec

from engine.snapshot import BotPolicy

from ._base import SpecModel


class BotPolicySpec(SpecModel):
    """A ``kind: bots`` file."""

    kind: Literal["bots"]
    id: str

    def to_record(self, source: str) -> BotPolicy:
        """Compile into the snapshot record (``version`` is a content hash)."""
        body = msgspec.json.encode(self.model_dump(mode="json", by_alias=True))
        return BotPolicy(id=self.id, version=hashlib.sha256(body).hexdigest()[:12], source=source)
