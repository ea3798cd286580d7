"""The base of every ``*Spec`` model: what authors write in YAML.

Fields are snake_case in Python and kebab-case in YAML (``send_at`` <-> ``send-at``).
Unknown keys are errors (``extra="forbid"``) and parsed specs are frozen.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


def to_kebab(name: str) -> str:
    """``send_at`` -> ``send-at`` (the YAML spelling of a field)."""
    return name.replace("_", "-")


class SpecModel(BaseModel):
    """Base class of all spec models."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=to_kebab,
        populate_by_name=True,
        str_strip_whitespace=True,
    )
