"""docs/config.md lists every field; smslink.schema.json is up to date."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from engine.spec import config_schema, config_schema_json
from engine.spec.campaign import CampaignSpec, WhenSpec
from engine.spec.compliance import ComplianceSpec

ROOT = Path(__file__).resolve().parents[3]


def yaml_fields(model: type[BaseModel], prefix: str = "") -> set[str]:
    out = set()
    for name, info in model.model_fields.items():
        key = prefix + (info.alias or name)
        out.add(key)
    return out


def test_config_doc_mentions_every_field() -> None:
    doc = (ROOT / "docs" / "config.md").read_text()
    names: set[str] = set()
    for model in (CampaignSpec, WhenSpec, ComplianceSpec):
        names |= yaml_fields(model)
    for model in CampaignSpec.model_fields.values():
        sub = model.annotation
        for arg in getattr(sub, "__args__", (sub,)):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                names |= yaml_fields(arg)
    missing = sorted(
        n for n in names if not any(p in doc for p in (f"`{n}`", f".{n}`", f"`{n}.", f".{n}."))
    )
    assert not missing, f"document these fields in docs/config.md: {missing}"


def test_schema_file_is_up_to_date() -> None:
    committed = (ROOT / "smslink.schema.json").read_text(encoding="utf-8")
    assert committed == config_schema_json(), (
        "regenerate with: smslink schema > smslink.schema.json"
    )


def test_schema_covers_every_file_kind() -> None:
    schema = config_schema()
    refs = [r["$ref"].split("/")[-1] for r in schema["anyOf"]]
    assert refs == ["CampaignSpec", "ComplianceSpec", "BotPolicySpec", "WebhooksSpec"]
    campaign = schema["$defs"]["CampaignSpec"]
    assert campaign["additionalProperties"] is False
    assert {"not-yet-live", "default", "routes"} <= set(campaign["properties"])
    assert "default" in campaign["required"]
    json.dumps(schema)  # serializable


def _as_editor_sees_it(value):
    # yaml-language-server validates timestamps as strings
    if isinstance(value, dict):
        return {k: _as_editor_sees_it(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_editor_sees_it(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def test_example_files_validate_against_the_schema() -> None:
    import jsonschema

    from engine.spec import load_yaml

    validator = jsonschema.Draft202012Validator(config_schema())
    files = sorted((ROOT / "campaigns").glob("*.yaml")) + sorted((ROOT / "policies").glob("*.yaml"))
    assert len(files) >= 4
    for path in files:
        data = _as_editor_sees_it(load_yaml(path.name, path.read_text()).data)
        errors = list(validator.iter_errors(data))
        assert not errors, (path.name, [e.message for e in errors][:3])
        data["unknown-field"] = 1
        assert list(validator.iter_errors(data)), (
            f"{path.name}: an unknown field must fail the schema"
        )
