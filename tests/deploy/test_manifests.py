"""deploy/ checked offline: the compose file against the Compose specification, the Kubernetes
manifests against Kubernetes' schemas (strict), and the facts that tie them to the code —
settings names, entry points, ports, probes, search attributes — and to the Dockerfile."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from cli.main import app as cli_app
from runtime.config import Settings
from runtime.temporal import SEARCH_ATTRIBUTES, SERVER_DYNAMIC_CONFIG

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


def seconds(duration: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    total = 0.0
    for amount, unit in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", duration):
        total += float(amount) * units[unit]
    return total


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


# --- Kubernetes ------------------------------------------------------------------------------


def kustomization() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    return loaded


def documents() -> Iterator[tuple[str, dict[str, Any]]]:
    for name in kustomization()["resources"]:
        for doc in yaml.safe_load_all((K8S / name).read_text()):
            if doc is not None:
                yield name, doc


@pytest.fixture(scope="module")
def resources() -> dict[tuple[str, str], dict[str, Any]]:
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for _, doc in documents():
        key = (doc["kind"], doc["metadata"]["name"])
        assert key not in found, f"{key} defined twice"
        found[key] = doc
    return found


def test_every_manifest_is_in_the_kustomization() -> None:
    listed = kustomization()["resources"]
    assert len(listed) == len(set(listed))
    for name in listed:
        assert not re.match(r"^[a-z]+://|^github\.com/", name), f"remote base {name}"
        assert (K8S / name).is_file(), f"{name} is listed but missing"
    on_disk = {
        p.relative_to(K8S).as_posix()
        for p in K8S.rglob("*")
        if p.suffix in (".yaml", ".yml") and p.name != "kustomization.yaml"
    }
    assert on_disk == set(listed)


@pytest.mark.parametrize(
    ("name", "kind", "resource"),
    [(name, doc["kind"], doc["metadata"]["name"]) for name, doc in documents()],
)
def test_manifest_matches_the_kubernetes_schema(name: str, kind: str, resource: str) -> None:
    docs = [
        doc
        for doc in yaml.safe_load_all((K8S / name).read_text())
        if doc and (doc["kind"], doc["metadata"]["name"]) == (kind, resource)
    ]
    (doc,) = docs
    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_the_schema_check_catches_unknown_and_mistyped_fields(
    resources: dict[tuple[str, str], dict[str, Any]],
) -> None:
    deployment = json.loads(json.dumps(resources[("Deployment", "coopflow-worker")]))
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessprobe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)
    deployment = json.loads(json.dumps(resources[("Deployment", "coopflow-worker")]))
    deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = "60"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def pod_specs(
    resources: dict[tuple[str, str], dict[str, Any]],
) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    for (kind, name), doc in resources.items():
        if kind in ("Deployment", "Job"):
            template = doc["spec"]["template"]
            yield f"{kind}/{name}", template["metadata"], template["spec"]


def config(resources: dict[tuple[str, str], dict[str, Any]]) -> dict[str, str]:
    data: dict[str, str] = resources[("ConfigMap", "coopflow-config")]["data"]
    return data


def container(resources: dict[tuple[str, str], dict[str, Any]], name: str) -> dict[str, Any]:
    (one,) = resources[("Deployment", name)]["spec"]["template"]["spec"]["containers"]
    return dict(one)


def test_pods_run_the_entry_points_with_config_and_secrets(
    resources: dict[tuple[str, str], dict[str, Any]],
) -> None:
    commands = {}
    for where, _, spec in pod_specs(resources):
        for c in spec["containers"]:
            assert c["image"] == "coopflow", where
            assert "command" not in c, f"{where}: the image's entrypoint is coopflow"
            commands[where] = c["args"]
            refs = {
                ("ConfigMap" if "configMapRef" in ref else "Secret"): (
                    ref.get("configMapRef") or ref["secretRef"]
                )["name"]
                for ref in c["envFrom"]
            }
            assert ("ConfigMap", refs["ConfigMap"]) in resources, where
            assert ("Secret", refs["Secret"]) in resources, where
    assert commands == {
        "Deployment/coopflow-worker": ["worker"],
        "Deployment/coopflow-api": ["api"],
        "Job/coopflow-migrate": ["migrate"],
    }
    assert {args[0] for args in commands.values()} <= cli_commands()
    assert [i["name"] for i in kustomization()["images"]] == ["coopflow"]


def test_secrets_stay_out_of_the_configmap(
    resources: dict[tuple[str, str], dict[str, Any]],
) -> None:
    secret = resources[("Secret", "coopflow-secrets")]["stringData"]
    assert "COOPFLOW_DATABASE_URL" in secret and "COOPFLOW_SMTP_URL" in secret
    assert not {k for k in config(resources) if re.search(r"URL|KEY$|PASSWORD|TOKEN", k)} - {
        "COOPFLOW_TEMPORAL_TLS_KEY",  # a file path, not the key
        "COOPFLOW_PUBLIC_URL",  # the site's public address, which every e-mail shows
    }
    assert config(resources)["COOPFLOW_PUBLIC_URL"].startswith("https://")
    assert "COOPFLOW_TEMPORAL_API_KEY" in (K8S / "secret.yaml").read_text()


def probes(c: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: c[k] for k in ("startupProbe", "readinessProbe", "livenessProbe") if k in c}


def test_probes_point_at_ports_the_containers_declare(
    resources: dict[tuple[str, str], dict[str, Any]],
) -> None:
    for where, _, spec in pod_specs(resources):
        for c in spec["containers"]:
            declared = {p["containerPort"]: p.get("name") for p in c.get("ports", [])}
            for kind, probe in probes(c).items():
                action = probe.get("httpGet") or probe.get("tcpSocket") or probe.get("grpc")
                assert action, f"{where} {kind}"
                port = action["port"]
                if isinstance(port, str):
                    assert port in declared.values(), f"{where} {kind}: no port named {port}"
                else:
                    assert port in declared, f"{where} {kind}: port {port} not declared"


def resolved_port(c: dict[str, Any], port: int | str) -> int:
    if isinstance(port, int):
        return port
    (number,) = [p["containerPort"] for p in c["ports"] if p.get("name") == port]
    return int(number)


def test_probes_and_ports_match_the_settings(
    resources: dict[tuple[str, str], dict[str, Any]],
) -> None:
    settings = config(resources)
    health = port_of(settings["COOPFLOW_HEALTH_ADDRESS"])
    metrics = port_of(settings["COOPFLOW_METRICS_ADDRESS"])
    api_port = int(settings["COOPFLOW_API_PORT"])
    assert (health, metrics, api_port) == (8081, 9464, 8000)
    assert settings["COOPFLOW_API_HOST"] == "0.0.0.0"
    assert settings["COOPFLOW_LOG_FORMAT"] == "json"
    for name, port in (("coopflow-worker", health), ("coopflow-api", api_port)):
        c = container(resources, name)
        found = probes(c)
        assert {"readinessProbe", "livenessProbe"} <= set(found), name
        for kind, probe in found.items():
            # Liveness asks whether the process answers; the rest whether it can serve.
            path = "/livez" if kind == "livenessProbe" else "/healthz"
            assert probe["httpGet"]["path"] == path, (name, kind)
            assert resolved_port(c, probe["httpGet"]["port"]) == port, name
        template = resources[("Deployment", name)]["spec"]["template"]
        annotations = template["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true"
        assert int(annotations["prometheus.io/port"]) == metrics == resolved_port(c, "metrics")
        assert annotations["prometheus.io/path"] == "/metrics"


def test_api_service_reaches_the_api_pods(
    resources: dict[tuple[str, str], dict[str, Any]],
) -> None:
    service = resources[("Service", "coopflow-api")]["spec"]
    labels = resources[("Deployment", "coopflow-api")]["spec"]["template"]["metadata"]["labels"]
    assert service["selector"].items() <= labels.items()
    c = container(resources, "coopflow-api")
    for port in service["ports"]:
        assert resolved_port(c, port["targetPort"]) == int(config(resources)["COOPFLOW_API_PORT"])
    for (kind, _), doc in resources.items():
        if kind in ("Deployment", "PodDisruptionBudget"):
            selector = doc["spec"]["selector"]["matchLabels"]
            pods = [
                meta["labels"]
                for _, meta, _ in pod_specs(resources)
                if selector.items() <= meta["labels"].items()
            ]
            assert len(pods) == 1, f"{kind} {doc['metadata']['name']} selects {len(pods)} pods"


def test_workers_scale_on_cpu_and_outlive_their_graceful_shutdown(
    resources: dict[tuple[str, str], dict[str, Any]],
) -> None:
    worker = resources[("Deployment", "coopflow-worker")]
    assert "replicas" not in worker["spec"], "the autoscaler owns the worker replicas"
    graceful = float(config(resources)["COOPFLOW_GRACEFUL_SHUTDOWN"])
    assert worker["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > graceful
    hpa = resources[("HorizontalPodAutoscaler", "coopflow-worker")]
    assert hpa["apiVersion"] == "autoscaling/v2"
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", "coopflow-worker")
    assert hpa["spec"]["minReplicas"] >= 2
    assert hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"]
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    # Utilization is a share of the request: without one the autoscaler cannot work.
    assert container(resources, "coopflow-worker")["resources"]["requests"]["cpu"]


def test_pods_run_unprivileged_on_a_read_only_root(
    resources: dict[tuple[str, str], dict[str, Any]],
) -> None:
    for where, _, spec in pod_specs(resources):
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True and pod.get("runAsUser", 1) != 0, where
        assert pod["seccompProfile"]["type"] == "RuntimeDefault", where
        assert spec["automountServiceAccountToken"] is False, where
        for c in spec["containers"]:
            sc = c["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False, where
            assert sc["readOnlyRootFilesystem"] is True, where
            assert sc["capabilities"]["drop"] == ["ALL"], where
            assert c["resources"]["requests"]["memory"], where
            assert c["resources"]["limits"]["memory"], where
            mounts = {m["mountPath"] for m in c.get("volumeMounts", [])}
            assert "/tmp" in mounts, f"{where}: nowhere to write temporary files"


def test_temporal_tls_files_are_where_the_settings_say(
    resources: dict[tuple[str, str], dict[str, Any]],
) -> None:
    text = (K8S / "configmap.yaml").read_text()
    paths = dict(re.findall(r"(COOPFLOW_TEMPORAL_TLS_[A-Z]+): (\S+)", text))
    assert set(paths) == {
        "COOPFLOW_TEMPORAL_TLS_CERT",
        "COOPFLOW_TEMPORAL_TLS_KEY",
        "COOPFLOW_TEMPORAL_TLS_CA",
    }
    for name in ("coopflow-worker", "coopflow-api"):
        c = container(resources, name)
        spec = resources[("Deployment", name)]["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in spec["volumes"]}
        (mount,) = [m for m in c["volumeMounts"] if "secret" in volumes[m["name"]]]
        assert volumes[mount["name"]]["secret"]["optional"] is True
        for path in paths.values():
            assert Path(path).parent == Path(mount["mountPath"]), (name, path)


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
