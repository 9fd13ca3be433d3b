"""The sandbox's Airflow cluster policy (stack/images/airflow/airflow_local_settings.py): worker pods get the exact
image refs the scheduler was deployed with; driver pods and deployments without those refs are left alone."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from kubernetes.client import models as k8s

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW_REF = "localhost:5001/airwave-airflow:tilt-0123456789abcdef"
SPARK_REF = "localhost:5001/airwave-spark:tilt-fedcba9876543210"


@pytest.fixture
def policy():
    spec = importlib.util.spec_from_file_location(
        "airflow_local_settings", ROOT / "stack/images/airflow/airflow_local_settings.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def pod(labels: dict) -> k8s.V1Pod:
    return k8s.V1Pod(
        metadata=k8s.V1ObjectMeta(name="p", labels=labels),
        spec=k8s.V1PodSpec(
            containers=[
                k8s.V1Container(
                    name="base",
                    image="localhost:5001/airwave-airflow:dev",
                    env=[
                        k8s.V1EnvVar(name="AIRFLOW_IS_K8S_EXECUTOR_POD", value="True"),
                        k8s.V1EnvVar(name="AIRWAVE_SPARK_IMAGE", value="stale"),
                    ],
                ),
                k8s.V1Container(name="sidecar", image="busybox"),
            ]
        ),
    )


def test_worker_pod_gets_both_refs(policy, monkeypatch):
    monkeypatch.setenv("AIRWAVE_AIRFLOW_IMAGE", AIRFLOW_REF)
    monkeypatch.setenv("AIRWAVE_SPARK_IMAGE", SPARK_REF)
    p = pod({"kubernetes_executor": "True"})
    policy.pod_mutation_hook(p)
    base, sidecar = p.spec.containers
    assert base.image == AIRFLOW_REF
    env = [(e.name, e.value) for e in base.env]
    assert ("AIRWAVE_SPARK_IMAGE", SPARK_REF) in env and ("AIRWAVE_SPARK_IMAGE", "stale") not in env
    assert ("AIRFLOW_IS_K8S_EXECUTOR_POD", "True") in env
    assert sidecar.image == "busybox" and sidecar.env is None


def test_driver_pods_are_not_touched(policy, monkeypatch):
    """The KubernetesPodOperator's pod (container `base` too) keeps the Spark image the operator chose."""
    monkeypatch.setenv("AIRWAVE_AIRFLOW_IMAGE", AIRFLOW_REF)
    p = pod({"airflow_kpo_in_cluster": "True"})
    policy.pod_mutation_hook(p)
    assert p.spec.containers[0].image == "localhost:5001/airwave-airflow:dev"


def test_without_refs_nothing_changes(policy, monkeypatch):
    monkeypatch.delenv("AIRWAVE_AIRFLOW_IMAGE", raising=False)
    monkeypatch.delenv("AIRWAVE_SPARK_IMAGE", raising=False)
    p = pod({"kubernetes_executor": "True"})
    policy.pod_mutation_hook(p)
    assert p.spec.containers[0].image == "localhost:5001/airwave-airflow:dev"
    assert [e.value for e in p.spec.containers[0].env] == ["True", "stale"]
