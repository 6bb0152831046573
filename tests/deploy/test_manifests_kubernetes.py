"""deploy/kubernetes checked offline: the manifests against Kubernetes' schemas (strict), and
the facts that tie them to the code: entry points, config and secrets, probes and ports the
settings name, scaling, unprivileged pods, Temporal's TLS files."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.deploy.manifests import K8S, KUBERNETES_VERSION, cli_commands, port_of

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
