"""Render-only checks of the kind stack: no cluster, no Docker. kustomize comes from .tools/bin
(install it with `hack/tools.sh kustomize`; KUSTOMIZE=/path overrides)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from support import stackfiles

ROOT = Path(__file__).resolve().parents[2]
STACK_DIR = ROOT / "stack"
BASE = STACK_DIR / "base"
LITE = STACK_DIR / "profiles" / "lite"
# Schema versions: the kind node image's Kubernetes (1.36) and the oldest we support (1.34, the
# newest that runs on cgroup v1 + containerd 1.6 hosts without extra kubelet flags).
K8S_VERSIONS = ["1.34.0", "1.36.0"]


def stack_json() -> dict:
    """src/airwave/cluster/defaults.json and stack/sandbox/sandbox.json, merged section by section."""
    return stackfiles.load()


def kustomize_bin() -> str:
    path = os.environ.get("KUSTOMIZE") or str(ROOT / ".tools" / "bin" / "kustomize")
    if not (os.access(path, os.X_OK) or shutil.which(path)):
        pytest.fail(f"kustomize not found at {path}: run `hack/tools.sh kustomize` (pinned go install)")
    return path


def render(path: Path = BASE) -> list[dict]:
    out = subprocess.run([kustomize_bin(), "build", str(path)], check=True, capture_output=True, text=True).stdout
    return [d for d in yaml.safe_load_all(out) if d]


@pytest.fixture(scope="session")
def stack() -> dict:
    return stack_json()


@pytest.fixture(scope="session")
def rendered() -> list[dict]:
    return render()


def find(docs: list[dict], kind: str, name: str) -> dict:
    hits = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(hits) == 1, f"expected exactly one {kind}/{name}, found {len(hits)}"
    return hits[0]


def find_prefix(docs: list[dict], kind: str, prefix: str) -> dict:
    """Generated ConfigMaps carry a content-hash suffix."""
    hits = [d for d in docs if d["kind"] == kind and d["metadata"]["name"].startswith(prefix + "-")]
    assert len(hits) == 1, f"expected exactly one {kind}/{prefix}-<hash>, found {len(hits)}"
    return hits[0]


def pod_specs(docs: list[dict]):
    """(owner name, pod spec) of every workload in the rendered stack."""
    for d in docs:
        if d["kind"] in ("Deployment", "Job", "StatefulSet", "DaemonSet"):
            yield d["metadata"]["name"], d["spec"]["template"]["spec"]


def containers(spec: dict) -> list[dict]:
    return spec.get("initContainers", []) + spec["containers"]


def env_of(container: dict) -> dict:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def worker_pod(rendered: list[dict], tmp_path: Path, args: list[str], namespace: str) -> dict:
    """The worker pod KubernetesExecutor builds per task from the stack's pod template ConfigMap (kube_image None:
    worker_container_repository is unset), serialised as the API receives it."""
    from airflow.providers.cncf.kubernetes.pod_generator import PodGenerator
    from kubernetes.client import ApiClient

    path = tmp_path / "pod_template.yaml"
    path.write_text(find_prefix(rendered, "ConfigMap", "airflow-pod-template")["data"]["pod_template.yaml"])
    pod = PodGenerator.construct_pod(
        dag_id="asr_pipeline",
        task_id="preprocess",
        pod_id="asr-pipeline-preprocess-x1",
        try_number=1,
        kube_image=None,
        date=None,
        args=args,
        pod_override_object=None,
        base_worker_pod=PodGenerator.deserialize_model_file(str(path)),
        namespace=namespace,
        scheduler_job_id="1",
        run_id="manual__2026-01-01",
    )
    return ApiClient().sanitize_for_serialization(pod)
