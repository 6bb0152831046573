"""deploy/ checked offline: the compose file against the Compose specification, the Kubernetes
manifests against Kubernetes' schemas (strict), and the facts that tie them to the code —
settings names, entry points, ports, probes, search attributes — and to the Dockerfile."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from runtime.temporal import SEARCH_ATTRIBUTES, SERVER_DYNAMIC_CONFIG
from tests.deploy.manifests import (
    CHECK_JSONSCHEMA,
    COMPOSE,
    DOCKERFILE,
    DOCKERIGNORE,
    K8S,
    ROOT,
    SETTING,
    cli_commands,
    port_of,
    pyproject,
    seconds,
    setting_names,
)

# --- Compose ---------------------------------------------------------------------------------

INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}")


def interpolate(value: Any) -> Any:
    """A value as Compose sees it with nothing set in the environment: defaults, `$$` → `$`."""
    if isinstance(value, str):
        return INTERPOLATION.sub(lambda m: m.group(2) or "", value).replace("$$", "$")
    if isinstance(value, list):
        return [interpolate(v) for v in value]
    if isinstance(value, dict):
        return {k: interpolate(v) for k, v in value.items()}
    return value


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = interpolate(yaml.safe_load(COMPOSE.read_text()))
    return loaded


def check_compose(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_compose_file_matches_the_compose_specification() -> None:
    result = check_compose(COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_compose_check_catches_a_broken_file(tmp_path: Path) -> None:
    broken = yaml.safe_load(COMPOSE.read_text())
    broken["services"]["worker"]["depends_on"]["migrate"]["condition"] = "service_finished"
    broken["services"]["api"]["healthcheck"]["intervall"] = "10s"
    path = tmp_path / "compose.yaml"
    path.write_text(yaml.safe_dump(broken))
    result = check_compose(path)
    assert result.returncode != 0
    assert "service_finished" in result.stdout + result.stderr


def one_shot(compose: dict[str, Any]) -> set[str]:
    """Services others wait to see complete: they run once and exit."""
    return {
        name
        for service in compose["services"].values()
        for name, dep in (service.get("depends_on") or {}).items()
        if dep.get("condition") == "service_completed_successfully"
    }


def test_compose_waits_on_health_and_completion(compose: dict[str, Any]) -> None:
    services = compose["services"]
    once = one_shot(compose)
    assert {"migrate", "temporal-schema", "temporal-setup"} <= once
    for name, service in services.items():
        depends = service.get("depends_on") or {}
        assert isinstance(depends, dict), f"{name}: depends_on without conditions"
        for dep, spec in depends.items():
            assert dep in services, f"{name} depends on unknown {dep}"
            expected = "service_completed_successfully" if dep in once else "service_healthy"
            assert spec.get("condition") == expected, f"{name} → {dep}"
        if name in once:
            assert service.get("restart") == "no", f"{name} runs once: restart must be 'no'"
            assert "healthcheck" not in service
        else:
            check = service.get("healthcheck")
            assert check and check.get("test") and not check.get("disable"), f"{name}: no check"


def test_compose_runs_the_one_image_with_each_entry_point(compose: dict[str, Any]) -> None:
    services = compose["services"]
    commands = {name: services[name]["command"] for name in ("migrate", "worker", "api")}
    assert commands == {"migrate": ["migrate"], "worker": ["worker"], "api": ["api"]}
    assert {arg for args in commands.values() for arg in args} <= cli_commands()
    images = {services[name]["image"] for name in commands}
    assert len(images) == 1
    for name in commands:
        assert services[name]["build"]["dockerfile"] == "Dockerfile"
        assert (COMPOSE.parent / services[name]["build"]["context"] / "Dockerfile").is_file()
    assert int(services["worker"]["deploy"]["replicas"]) == 2
    assert "127.0.0.1:8000:8000" in services["api"]["ports"]


def test_compose_coopflow_settings_point_at_its_services(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in ("migrate", "worker", "api"):
        env = services[name]["environment"]
        database = re.match(r"postgresql://[^@]+@([^:/]+):(\d+)/", env["COOPFLOW_DATABASE_URL"])
        assert database and database.group(1) in services, env["COOPFLOW_DATABASE_URL"]
        host, port = env["COOPFLOW_TEMPORAL_ADDRESS"].split(":")
        assert host in services and port == "7233"
        assert env["COOPFLOW_LOG_FORMAT"] == "json"
        assert env["COOPFLOW_API_HOST"] == "0.0.0.0"
    # The checks look where the containers listen.
    worker, api = services["worker"], services["api"]
    health = port_of(worker["environment"]["COOPFLOW_HEALTH_ADDRESS"])
    assert f"127.0.0.1:{health}/healthz" in " ".join(worker["healthcheck"]["test"])
    api_port = int(api["environment"]["COOPFLOW_API_PORT"])
    assert f"127.0.0.1:{api_port}/healthz" in " ".join(api["healthcheck"]["test"])
    assert str(health) in worker["expose"]
    assert str(port_of(worker["environment"]["COOPFLOW_METRICS_ADDRESS"])) in worker["expose"]


def test_compose_gives_workers_longer_than_their_graceful_shutdown(
    compose: dict[str, Any],
) -> None:
    worker = compose["services"]["worker"]
    graceful = float(worker["environment"]["COOPFLOW_GRACEFUL_SHUTDOWN"])
    assert seconds(worker["stop_grace_period"]) > graceful


def test_compose_registers_the_search_attributes_the_code_uses(compose: dict[str, Any]) -> None:
    setup = compose["services"]["temporal-setup"]
    script = " ".join(setup["command"])
    assert "temporal operator search-attribute create" in script
    registered = dict(re.findall(r"\b(Coop[A-Za-z]+):([A-Za-z]+)\b", script))
    assert registered == SEARCH_ATTRIBUTES
    assert setup["depends_on"] == {"temporal": {"condition": "service_healthy"}}


def test_compose_turns_on_the_flag_the_fault_watch_reads(compose: dict[str, Any]) -> None:
    temporal = compose["services"]["temporal"]
    (mounted,) = temporal["configs"]
    config = yaml.safe_load(compose["configs"][mounted["source"]]["content"])
    assert {key: str(value[0]["value"]) for key, value in config.items()} == SERVER_DYNAMIC_CONFIG
    path = temporal["environment"]["DYNAMIC_CONFIG_FILE_PATH"]
    assert mounted["target"] == f"/etc/temporal/{path}"


def test_compose_pins_temporal_and_runs_it_on_postgres(compose: dict[str, Any]) -> None:
    services = compose["services"]
    images = {name: service["image"] for name, service in services.items()}
    for name, image in images.items():
        repository, _, tag = image.partition(":")
        if repository == "coopflow":
            continue
        assert tag and tag != "latest", f"{name}: {image} is not pinned"
    server = images["temporal"].split(":")[1]
    assert images["temporal"] == f"temporalio/server:{server}"
    assert (
        images["temporal-schema"] == images["temporal-setup"] == f"temporalio/admin-tools:{server}"
    )
    assert images["temporal-ui"].startswith("temporalio/ui:")
    assert services["temporal"]["environment"]["DB"] == "postgres12"
    assert services["temporal"]["environment"]["POSTGRES_SEEDS"] in services
    assert images[services["temporal"]["environment"]["POSTGRES_SEEDS"]].startswith("postgres:")


# --- Settings named anywhere in deploy/ and the Dockerfile -----------------------------------


def deployment_texts() -> dict[str, str]:
    files = [COMPOSE, DOCKERFILE, *sorted(p for p in K8S.rglob("*") if p.is_file())]
    return {p.relative_to(ROOT).as_posix(): p.read_text() for p in files}


def test_every_coopflow_variable_is_a_setting() -> None:
    """A typo (COOPFLOW_DATABSE_URL) would be ignored by the settings, silently: refused here."""
    known = setting_names()
    named = {
        (where, name)
        for where, text in deployment_texts().items()
        for name in SETTING.findall(text)
    }
    unknown = sorted(f"{name} ({where})" for where, name in named if name not in known)
    assert not unknown, "not fields of runtime.config.Settings: " + ", ".join(unknown)
    # Not vacuous: the settings every deployment needs are set by each of them.
    for where in ("deploy/compose.yaml", "deploy/k8s/configmap.yaml", "deploy/k8s/secret.yaml"):
        assert {name for w, name in named if w == where}, where
    set_somewhere = {name for _, name in named}
    assert {
        "COOPFLOW_DATABASE_URL",
        "COOPFLOW_TEMPORAL_ADDRESS",
        "COOPFLOW_HEALTH_ADDRESS",
        "COOPFLOW_METRICS_ADDRESS",
        "COOPFLOW_GRACEFUL_SHUTDOWN",
        "COOPFLOW_TEMPORAL_API_KEY",
        "COOPFLOW_OTEL_ENDPOINT",
    } <= set_somewhere


# --- Dockerfile ------------------------------------------------------------------------------


def dockerfile_stages() -> list[list[tuple[str, str]]]:
    """Instructions (keyword, arguments) per stage, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    stages: list[list[tuple[str, str]]] = [[]]
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, args = line.partition(" ")
        if keyword.upper() == "FROM":
            stages.append([])
        stages[-1].append((keyword.upper(), args.strip()))
    return stages


def test_image_is_multi_stage_slim_and_copies_a_venv() -> None:
    preamble, *stages = dockerfile_stages()
    assert len(stages) >= 2
    args = dict(a.split("=", 1) for k, a in preamble if k == "ARG" and "=" in a)
    bases = [
        re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], a.split()[0])
        for k, a in (stage[0] for stage in stages)
    ]
    assert all(re.fullmatch(r"python:3\.11-slim(-\w+)?", base) for base in bases), bases
    final = stages[-1]
    assert any(k == "COPY" and "--from=" in a and "/opt/venv" in a for k, a in final)
    assert not any(k == "RUN" and "pip install" in a for k, a in final), "build in the builder"


def test_image_runs_coopflow_as_a_non_root_user() -> None:
    final = dockerfile_stages()[-1]
    users = [a for k, a in final if k == "USER"]
    assert users, "no USER: the image would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    entrypoint = [json.loads(a) for k, a in final if k == "ENTRYPOINT"][-1]
    assert entrypoint == ["coopflow"]
    assert [json.loads(a) for k, a in final if k == "CMD"][-1] == ["worker"]
    scripts = pyproject()["project"]["scripts"]
    assert "coopflow" in scripts
    assert {"worker", "api", "migrate"} <= cli_commands()
    env = " ".join(a for k, a in final if k == "ENV")
    assert re.search(r"\bCOOPFLOW_API_HOST=0\.0\.0\.0\b", env), "the API must listen beyond lo"
    assert re.search(r"\bCOOPFLOW_LOG_FORMAT=json\b", env)


def test_image_installs_no_local_or_dev_extras() -> None:
    installs = [a for stage in dockerfile_stages() for k, a in stage if k == "RUN"]
    installs = [a for a in installs if "pip install" in a]
    assert any(re.search(r"pip install (\S+ )*\.(\s|$)", a) for a in installs), installs
    for command in installs:
        assert not re.search(r"\[[^\]]*\b(local|dev)\b", command), command
        assert "-e " not in command and "--editable" not in command, command
    extras = pyproject()["project"]["optional-dependencies"]
    local = {re.split(r"[<>=!~;\[ ]", d)[0] for d in extras["local"]}
    assert not local & set(re.findall(r"[\w-]+", " ".join(installs)))


def test_image_installs_the_production_lock_and_nothing_unpinned() -> None:
    """What decides in production is what the tests ran: the exact, hashed versions of
    requirements/main.txt (`make lock`), never pyproject.toml's ranges resolved at build time."""
    builder = dockerfile_stages()[-2]
    runs = [(i, a) for i, (k, a) in enumerate(builder) if k == "RUN" and "pip install" in a]
    assert runs
    locks: list[str] = []
    for index, command in runs:
        for install in re.split(r"&&|;", command):
            if "pip install" not in install:
                continue
            # Each install takes its dependencies from a lock, none from a resolver.
            assert "--no-deps" in install, install
            files = re.findall(r"(?:-r|--requirement)[ =](\S+)", install)
            rest = re.sub(
                r"(?:-r|--requirement)[ =]\S+|--[\w-]+", "", install.split("pip install")[1]
            )
            if files:
                assert "--require-hashes" in install, install
                assert not rest.split(), f"unpinned beside the lock: {rest}"
                copied = " ".join(a for k, a in builder[:index] if k == "COPY")
                for file in files:
                    assert file in copied, f"{file} is installed before it is copied"
                locks += files
            else:
                assert rest.split() == ["."], f"only coopflow itself, from the source: {install}"
    assert locks == ["requirements/build.txt", "requirements/main.txt"]
    for lock in locks:
        assert (ROOT / lock).is_file(), lock
    assert not any(p.strip("/") in ("requirements", "requirements/*") for p in dockerignore())
    text = DOCKERFILE.read_text()
    assert "dev.txt" not in text and "tomllib" not in text


def dockerignore() -> list[str]:
    return [
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]


def test_dockerignore_keeps_state_out_and_the_packages_in() -> None:
    ignored = dockerignore()
    for needed in (".git", ".venv", ".state", ".env", "tests", "bench", ".mypy_cache"):
        assert needed in ignored, needed
    find = pyproject()["tool"]["setuptools"]
    packages = {p.rstrip("*") for p in find["packages"]["find"]["include"]}
    assert packages, "pyproject lists its packages"
    for package in packages:
        assert (ROOT / package).is_dir(), package
        assert not any(p.strip("/") in (package, f"{package}/", "*", "**") for p in ignored), (
            f"{package} is a package of the image but .dockerignore drops it"
        )
    assert "pyproject.toml" not in ignored and "README.md" not in ignored
