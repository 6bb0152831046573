"""Where deploy/ is and what the code says it must hold, read by the manifest tests
(test_manifests*.py): settings names, entry points, ports, durations."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path
from typing import Any

from cli.main import app as cli_app
from runtime.config import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
K8S = DEPLOY / "k8s"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"

# The oldest Kubernetes the manifests must run on; kubernetes_validate bundles its schemas.
KUBERNETES_VERSION = "1.34"
CHECK_JSONSCHEMA = Path(sys.executable).with_name("check-jsonschema")
SETTING = re.compile(r"\bCOOPFLOW_[A-Z0-9_]+\b")


def setting_names() -> set[str]:
    return {f"COOPFLOW_{name.upper()}" for name in Settings.model_fields}


def cli_commands() -> set[str]:
    return {c.name or c.callback.__name__ for c in cli_app.registered_commands if c.callback}


def pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def port_of(address: str) -> int:
    return int(address.rsplit(":", 1)[1])


def seconds(duration: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    total = 0.0
    for amount, unit in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", duration):
        total += float(amount) * units[unit]
    return total
