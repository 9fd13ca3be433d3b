"""Cluster policy of the sandbox's Airflow (in the image at $AIRFLOW_HOME/config, where Airflow looks for it).

Image identity: Tilt builds airwave-airflow and airwave-spark with content-addressed tags and writes the exact refs
into the scheduler's environment (AIRWAVE_AIRFLOW_IMAGE, AIRWAVE_SPARK_IMAGE; see stack/airflow/scheduler.yaml).
Each KubernetesExecutor worker pod gets both refs at creation, from the same scheduler: its task runs that Airflow
image, and the SparkClusterOperator in it starts driver and executors from that Spark image. A task therefore never
mixes worker code of one build with Spark code of another; a rebuild rolls the scheduler and only new pods change.
Without these variables (no Tilt) nothing is changed: the pod template's image and defaults.json's tag apply.
"""

from __future__ import annotations

import os

from kubernetes.client import models as k8s

IMAGE_VARS = ("AIRWAVE_AIRFLOW_IMAGE", "AIRWAVE_SPARK_IMAGE")


def pod_mutation_hook(pod: k8s.V1Pod) -> None:
    labels = (pod.metadata and pod.metadata.labels) or {}
    if labels.get("kubernetes_executor") != "True":  # only executor worker pods, not the operator's driver pods
        return
    refs = {name: os.environ[name] for name in IMAGE_VARS if os.environ.get(name)}
    for c in pod.spec.containers:
        if c.name != "base":
            continue
        if "AIRWAVE_AIRFLOW_IMAGE" in refs:
            c.image = refs["AIRWAVE_AIRFLOW_IMAGE"]
        env = [e for e in (c.env or []) if e.name not in refs]
        c.env = env + [k8s.V1EnvVar(name=name, value=value) for name, value in refs.items()]
