"""Deployment manifests, checked offline: Kubernetes objects against the Kubernetes JSON schemas
that `kubernetes-validate` ships; the LeaderWorkerSet (a CRD, no schema there) by validating its
pod templates as Pods and its own fields structurally; the compose file structurally."""

from __future__ import annotations

import pytest
import yaml
from kubernetes_validate import validate

from entrypoint.settings.knobs import KNOBS
from tests.conftest import REPO

K8S = REPO / "platform" / "kubernetes"
K8S_VERSION = "1.33"  # the oldest Kubernetes these manifests promise to work on
PORT = KNOBS["port"].default
MODEL_DIR = KNOBS["model"].default
LWS_INJECTED = {"LWS_LEADER_ADDRESS", "LWS_GROUP_SIZE", "LWS_WORKER_INDEX"}


def documents(name: str) -> list[dict]:
    return [d for d in yaml.safe_load_all((K8S / name).read_text()) if d]


def by_kind(name: str) -> dict[str, dict]:
    return {d["kind"]: d for d in documents(name)}


def serving_container(pod_spec: dict) -> dict:
    (container,) = pod_spec["containers"]
    return container


def assert_serves_with_probes(container: dict) -> None:
    assert "command" not in container and "args" not in container, "the image's `run` decides"
    (port,) = container["ports"]
    assert port["containerPort"] == PORT
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        check = container[probe]["httpGet"]
        assert check["path"] == "/health" and check["port"] in (port["name"], PORT), probe
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert {MODEL_DIR, "/dev/shm"} <= mounts


def mount_target(volume: str) -> str:
    """"SOURCE:TARGET[:MODE]" -> TARGET (SOURCE may itself hold colons: ${VAR:?message})."""
    parts = volume.split(":")
    return parts[-2] if parts[-1] in ("ro", "rw") else parts[-1]


def test_no_python_package_named_platform():
    """`platform/` would shadow the standard library module if it became a package."""
    assert not list((REPO / "platform").rglob("__init__.py"))


@pytest.mark.parametrize("name", ["deployment.yaml", "leaderworkerset.yaml"])
def test_core_objects_match_the_kubernetes_schema(name):
    core = [d for d in documents(name) if not d["apiVersion"].startswith("leaderworkerset.")]
    assert core
    for document in core:
        validate(document, K8S_VERSION, strict=True)  # raises ValidationError with the path


def test_deployment_serves_on_the_settings_port_with_health_probes():
    objects = by_kind("deployment.yaml")
    pod = objects["Deployment"]["spec"]["template"]
    container = serving_container(pod["spec"])
    assert_serves_with_probes(container)
    assert container["resources"]["limits"]["nvidia.com/gpu"] >= 1
    service = objects["Service"]["spec"]
    assert service["selector"].items() <= pod["metadata"]["labels"].items()
    assert service["ports"][0]["port"] == PORT


def test_leaderworkerset_templates_are_valid_pods():
    lws = by_kind("leaderworkerset.yaml")["LeaderWorkerSet"]
    for role in ("leaderTemplate", "workerTemplate"):
        template = lws["spec"]["leaderWorkerTemplate"][role]
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": template.get("metadata", {}),
               "spec": template["spec"]}
        validate(pod, K8S_VERSION, strict=True)


def test_leaderworkerset_structure():
    objects = by_kind("leaderworkerset.yaml")
    lws = objects["LeaderWorkerSet"]
    assert lws["apiVersion"] == "leaderworkerset.x-k8s.io/v1"
    spec = lws["spec"]
    assert set(spec) <= {"replicas", "leaderWorkerTemplate", "startupPolicy", "rolloutStrategy",
                         "networkConfig"}
    group = spec["leaderWorkerTemplate"]
    assert set(group) <= {"size", "leaderTemplate", "workerTemplate", "restartPolicy",
                          "subGroupPolicy", "volumeClaimTemplates",
                          "persistentVolumeClaimRetentionPolicy"}
    assert isinstance(group["size"], int) and group["size"] >= 2
    assert group["restartPolicy"] in ("RecreateGroupOnPodRestart", "RecreateGroupAfterStart",
                                      "Default", "None")
    leader = serving_container(group["leaderTemplate"]["spec"])
    worker = serving_container(group["workerTemplate"]["spec"])
    assert_serves_with_probes(leader)
    assert leader["image"] == worker["image"]
    for container in (leader, worker):
        assert "command" not in container and "args" not in container
        names = {e["name"] for e in container.get("env", [])}
        assert not names & LWS_INJECTED, "LWS injects these itself"
        assert container["resources"]["limits"]["nvidia.com/gpu"] >= 1
    # The Service reaches the leader only: the label LWS puts on every pod, plus the role.
    leader_labels = {**group["leaderTemplate"]["metadata"]["labels"],
                     "leaderworkerset.sigs.k8s.io/name": lws["metadata"]["name"]}
    assert objects["Service"]["spec"]["selector"].items() <= leader_labels.items()


def test_compose_runs_the_image_unchanged_on_the_settings_port():
    compose = yaml.safe_load((REPO / "platform" / "compose.yaml").read_text())
    (service,) = compose["services"].values()
    assert "command" not in service and "entrypoint" not in service
    assert f"{PORT}:{PORT}" in service["ports"]
    assert (REPO / "platform" / service["build"]["context"] / service["build"]["dockerfile"]
            ).exists()
    assert MODEL_DIR in {mount_target(v) for v in service["volumes"]}
    devices = service["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["capabilities"] == ["gpu"]
    named = {v.split(":")[0] for v in service["volumes"]} & set(compose.get("volumes", {}))
    assert named, "the cache volume is declared"
