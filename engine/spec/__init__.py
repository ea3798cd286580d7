"""Pydantic models of what authors write in YAML; loading with positions; JSON Schema.

- ``load_yaml(path, text) -> SourceDoc``: the data with the span of every key and value.
- ``parse_spec(doc, Model) -> (spec | None, diagnostics)``: pydantic errors located in the file.
- ``CampaignSpec`` (campaigns/*.yaml) and the policy kinds in ``POLICY_KINDS``
  (policies/*.yaml, chosen by ``kind``).
- ``config_schema()``: JSON Schema for editors.
"""

from ._base import SpecModel, to_kebab
from ._errors import parse_spec
from ._fields import did_you_mean, duration_seconds, known_zones, parse_hhmm, parse_window
from ._schema import config_schema, config_schema_json
from ._yaml import Loc, SourceDoc, load_yaml
from .bots import BotPolicySpec
from .campaign import (
    ArmSpec,
    AudienceSpec,
    CampaignSpec,
    DeviceKind,
    LinkSpec,
    NearSpec,
    OpenClosedSpec,
    PreviewSpec,
    RuleSpec,
    ScheduleSpec,
    StoresSpec,
    StoreWithinSpec,
    VariantsSpec,
    WhenSpec,
    day_numbers,
)
from .compliance import CategorySpec, ComplianceSpec, QuietHoursSpec
from .webhooks import WebhooksSpec

#: ``kind:`` of a policies/*.yaml file -> its spec model.
POLICY_KINDS: dict[str, type[SpecModel]] = {
    "bots": BotPolicySpec,
    "compliance": ComplianceSpec,
    "webhooks": WebhooksSpec,
}

__all__ = [
    "POLICY_KINDS",
    "ArmSpec",
    "AudienceSpec",
    "BotPolicySpec",
    "CampaignSpec",
    "CategorySpec",
    "ComplianceSpec",
    "DeviceKind",
    "LinkSpec",
    "Loc",
    "NearSpec",
    "OpenClosedSpec",
    "PreviewSpec",
    "QuietHoursSpec",
    "RuleSpec",
    "ScheduleSpec",
    "SourceDoc",
    "SpecModel",
    "StoreWithinSpec",
    "StoresSpec",
    "VariantsSpec",
    "WebhooksSpec",
    "WhenSpec",
    "config_schema",
    "config_schema_json",
    "day_numbers",
    "did_you_mean",
    "duration_seconds",
    "known_zones",
    "load_yaml",
    "parse_hhmm",
    "parse_spec",
    "parse_window",
    "to_kebab",
]
