"""The deploy files parse and agree with the code: Dockerfile, deploy/k8s/*.yaml (issue 8).

Docker and a cluster are not available where tests run, so these checks are
static: every manifest parses, probes point at the worker's admin endpoints,
every `smslink` option a container passes exists on the real click command,
volumes and config maps referenced are defined, and the log shipper reads the
click-log file names the worker writes.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import click
import pytest
import yaml

from engine.cli import _COMMANDS, main
from engine.clicklog import _files

ROOT = Path(__file__).resolve().parents[3]
K8S = ROOT / "deploy" / "k8s"


def _docs() -> list[dict]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc is not None:
                docs.append(doc)
    return docs


def _by_kind(kind: str) -> list[dict]:
    return [d for d in _docs() if d["kind"] == kind]


def _command(name: str) -> click.Command:
    if name in _COMMANDS:
        cmd = main.get_command(click.Context(main), name)
        assert cmd is not None
        return cmd
    # Not registered in engine/cli/__init__.py yet: the module that defines it.
    from engine.cli import _publish

    return getattr(_publish, name)


def _check_args(args: list[str]) -> None:
    cmd = _command(args[0])
    known = {opt for p in cmd.params for opt in getattr(p, "opts", [])}
    used = [a for a in args[1:] if a.startswith("--")]
    assert used, args
    assert set(used) <= known, f"{args[0]}: unknown options {set(used) - known}"


def test_every_manifest_parses_and_names_itself():
    docs = _docs()
    assert {d["kind"] for d in docs} >= {"Deployment", "Service", "ConfigMap", "PodDisruptionBudget",
                                         "HorizontalPodAutoscaler", "ServiceAccount", "PersistentVolumeClaim"}
    for d in docs:
        assert d["apiVersion"] and d["metadata"]["name"]


def test_deployment_probes_volumes_and_security():
    (dep,) = _by_kind("Deployment")
    pod = dep["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
    worker = next(c for c in pod["containers"] if c["name"] == "worker")
    ports = {p["name"]: p["containerPort"] for p in worker["ports"]}
    assert worker["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "admin"}
    assert worker["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "admin"}
    args = worker["args"]
    assert args[args.index("--admin-port") + 1] == str(ports["admin"])
    assert args[args.index("--port") + 1] == str(ports["http"])
    volumes = {v["name"] for v in pod["volumes"]}
    mounts = {m["name"]: m["mountPath"] for c in pod["containers"] + pod["initContainers"]
              for m in c.get("volumeMounts", [])}
    assert set(mounts) <= volumes
    assert mounts["clicks"] == args[args.index("--logs") + 1]
    assert args[args.index("--snapshot") + 1] == mounts["snapshot"]
    for c in pod["containers"] + pod["initContainers"]:
        assert c["securityContext"]["allowPrivilegeEscalation"] is False


def test_smslink_containers_pass_only_real_options():
    (dep,) = _by_kind("Deployment")
    pod = dep["spec"]["template"]["spec"]
    smslink = [c for c in pod["containers"] + pod["initContainers"] if "smslink" in c["image"]]
    assert {c["name"] for c in smslink} == {"worker", "snapshot-sync", "snapshot-init"}
    for c in smslink:
        _check_args(c["args"])


def test_config_maps_and_secrets_referenced_exist():
    (dep,) = _by_kind("Deployment")
    pod = dep["spec"]["template"]["spec"]
    maps = {d["metadata"]["name"] for d in _by_kind("ConfigMap")}
    secrets = {d["metadata"]["name"] for d in _by_kind("Secret")}
    for c in pod["containers"] + pod["initContainers"]:
        for ref in c.get("envFrom", []):
            if "configMapRef" in ref:
                assert ref["configMapRef"]["name"] in maps
            if "secretRef" in ref and not ref["secretRef"].get("optional"):
                assert ref["secretRef"]["name"] in secrets
    assert {v["configMap"]["name"] for v in pod["volumes"] if "configMap" in v} <= maps
    assert pod["serviceAccountName"] in {d["metadata"]["name"] for d in _by_kind("ServiceAccount")}


def test_service_exposes_redirects_but_not_the_admin_port():
    (svc,) = _by_kind("Service")
    (dep,) = _by_kind("Deployment")
    labels = dep["spec"]["template"]["metadata"]["labels"]
    assert svc["spec"]["selector"].items() <= labels.items()
    assert [p["targetPort"] for p in svc["spec"]["ports"]] == ["http"]


def test_log_shipper_reads_the_click_log_names_the_worker_writes():
    (cm,) = [d for d in _by_kind("ConfigMap") if d["metadata"]["name"] == "smslink-vector"]
    cfg = yaml.safe_load(cm["data"]["vector.yaml"])
    include = cfg["sources"]["clicks"]["include"]
    names = [f"{_files.PREFIX}20270301T100000Z-host-1-0{_files.FINISHED_SUFFIX}",
             f"{_files.PREFIX}20270301T100000Z-host-1-0{_files.ACTIVE_SUFFIX}"]
    for name in names:
        assert any(re.fullmatch(Path(p).name.replace(".", r"\.").replace("*", ".*"), name) for p in include), name


def _dockerfile() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_dockerfile_is_slim_non_root_and_serves():
    instr = _dockerfile()
    froms = [rest for word, rest in instr if word == "FROM"]
    assert all(f.startswith("python:3.11-slim") for f in froms)
    users = [rest for word, rest in instr if word == "USER"]
    assert users and users[-1].split(":")[0] not in {"0", "root"}
    entry = json.loads(next(rest for word, rest in instr if word == "ENTRYPOINT"))
    cmd = json.loads(next(rest for word, rest in instr if word == "CMD"))
    assert entry == ["smslink"] and cmd[0] == "serve"
    _check_args(cmd)
    exposed = next(rest for word, rest in instr if word == "EXPOSE").split()
    assert cmd[cmd.index("--port") + 1] in exposed and cmd[cmd.index("--admin-port") + 1] in exposed


@pytest.mark.parametrize("workflow", [".github/workflows/publish.yml", ".github/workflows/config.yml"])
def test_workflows_use_real_smslink_options(workflow):
    text = (ROOT / workflow).read_text().replace("\\\n", " ")
    calls = re.findall(r"\.venv/bin/smslink ([^\n|>]+)", text)
    assert calls
    for call in calls:
        _check_args(shlex.split(call.replace("$", "")))
