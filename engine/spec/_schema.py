"""JSON Schema of the config language, for editors (yaml-language-server).

One schema covers every file: a campaign, or a policy chosen by ``kind``. Each
YAML file points at it with ``# yaml-language-server: $schema=../smslink.schema.json``.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from .bots import BotPolicySpec
from .campaign import CampaignSpec
from .compliance import ComplianceSpec
from .webhooks import WebhooksSpec

SCHEMA_ID = "https://smslink.dev/schema/config.json"


def config_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of campaign and policy files.

    Returns
    -------
    dict
        A schema whose top level is ``anyOf`` campaign / compliance / bots / webhooks.
    """
    models: list[type[BaseModel]] = [CampaignSpec, ComplianceSpec, BotPolicySpec, WebhooksSpec]
    mode: Literal["validation"] = "validation"
    refs, schema = models_json_schema(
        [(m, mode) for m in models], by_alias=True, ref_template="#/$defs/{model}"
    )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "smslink config",
        "description": "A campaign (campaigns/*.yaml) or a policy (policies/*.yaml, chosen by `kind`).",
        "anyOf": [refs[(m, mode)] for m in models],
        "$defs": schema["$defs"],
    }


def config_schema_json() -> str:
    """``config_schema()`` as stable, pretty JSON text with a final newline."""
    return json.dumps(config_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
