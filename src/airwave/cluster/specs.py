"""Pure builders for one Spark application per Airflow task: spark-submit argv, Spark conf, driver pod spec.

No Airflow import here, so golden tests (and the stack/ checks) can call these directly. Every name shared with
the cluster (namespace, images, service account, Secret, ports) comes from `airwave/cluster/defaults.json` (`stack()`).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, cast

from airwave.settings import Environment, apply_env, environment, mebibytes
from airwave.spark import STAGE_CONF, local_object_store_conf, s3a_conf
from airwave.spark import local_master as spark_local_master

K8S_MASTER = "k8s://https://kubernetes.default.svc:443"  # the port is mandatory in Spark's k8s master URL
SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
# Replaced by airwave.cluster.driver inside the Spark image with the path of airwave/__main__.py there: the
# Airflow worker cannot know where the Spark image installed the package.
APP_PLACEHOLDER = "{airwave-app}"
# A per-task executor pod template travels to the driver pod in this env var; driver.py writes it to this file.
EXECUTOR_TEMPLATE_ENV = Environment.variable("executor_pod_template")
EXECUTOR_TEMPLATE_RUNTIME_PATH = "/tmp/airwave/executor-pod-template.json"
BASE_CONTAINER = "base"  # KubernetesPodOperator follows the logs of the container with this name


@lru_cache(maxsize=1)
def stack() -> dict[str, Any]:
    """The cluster names this package needs at run time (airwave/cluster/defaults.json). The kind sandbox's own
    layout (host ports, NodePorts, registry, pinned third-party images) is stack/sandbox/sandbox.json, not shipped."""
    return cast(dict[str, Any], json.loads(resources.files("airwave.cluster").joinpath("defaults.json").read_text()))


SPARK_IMAGE_ENV = Environment.variable("spark_image")
# CPU the driver pod and each executor core request from the scheduler. Default: a whole core, as Spark asks. The
# kind sandbox sets less (stack/airflow/config.yaml): its nodes each report every host CPU, so requests there
# count the same cores twice, and a 2-CPU machine could not place a driver and two executors at a full core each.
CPU_REQUEST_ENV = Environment.variable("spark_cpu_request_millis")


def cpu_request_millis() -> int:
    """Millicores per Spark core, from AIRWAVE_SPARK_CPU_REQUEST_PER_CORE ("400m" or "1"; default 1000)."""
    return environment().spark_cpu_request_millis


def spark_image(s: dict[str, Any] | None = None) -> str:
    """The exact Spark image ref the deployment hands this process (on kind: Tilt's content-addressed build, set on
    each worker pod by the scheduler, see stack/images/airflow/airflow_local_settings.py), else defaults.json's tag."""
    if image := environment().spark_image:
        return image
    s = s or stack()
    return f"{s['images']['spark']}:{s['images']['tag']}"


@dataclass(frozen=True)
class ClusterShape:
    """The size of the Spark cluster one task gets. Memory in Spark notation ("512m", "2g")."""

    executors: int = 1
    executor_cores: int = 1
    executor_memory: str = "2g"
    driver_memory: str = "1g"

    def __post_init__(self) -> None:
        for name in ("executors", "executor_cores"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive int, got {v!r}")
        for name in ("executor_memory", "driver_memory"):
            mebibytes(getattr(self, name))  # validates

    @classmethod
    def coerce(
        cls, executors: int | str, executor_cores: int | str, executor_memory: object, driver_memory: object
    ) -> ClusterShape:
        """Templated operator fields arrive as strings ("2"); turn them back into a shape."""
        return cls(int(executors), int(executor_cores), str(executor_memory).strip(), str(driver_memory).strip())


def dns_name(text: str, max_len: int = 63) -> str:
    """Lowercase alnum and '-', as Kubernetes object names and Spark's pod name prefix require."""
    name = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")
    return name[:max_len].rstrip("-") or "x"


def safe_run_id(run_id: str) -> str:
    """Airflow run ids contain ':' and '+', which Hadoop paths reject; keep them readable but path-safe."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", run_id).strip("_")


def pod_name_prefix(task_id: str, run_id: str, try_number: int, map_index: int | None = None) -> str:
    """Executor pod name prefix, unique per run, mapped instance and try (Spark caps it at 47 chars). Mapped task
    instances (e.g. one per cluster shape) share a task id and run side by side: the map index keeps them apart."""
    key = run_id if map_index is None or map_index < 0 else f"{run_id}#{map_index}"
    digest = hashlib.sha1(key.encode()).hexdigest()[:8]
    return f"{dns_name(task_id, 30)}-{digest}-t{int(try_number)}"


def drop_empty_options(args: Sequence[object]) -> list[str]:
    """Drop `--opt ''` pairs, so a DAG param left empty means "the CLI's default" instead of an empty value."""
    out: list[str] = []
    argv = [str(a) for a in args]
    i = 0
    while i < len(argv):
        a = argv[i]
        if a.startswith("--") and "=" not in a and i + 1 < len(argv) and argv[i + 1].strip() in ("", "None"):
            i += 2
            continue
        out.append(a)
        i += 1
    return out


def app_file() -> str:
    """The spark-submit application: airwave's __main__ module file (takes the same arguments as `airwave`)."""
    spec = importlib.util.find_spec("airwave.__main__")
    if spec is None or not spec.origin:
        raise RuntimeError("airwave.__main__ not found: is the airwave package installed?")
    return spec.origin


def spark_submit_path() -> str:
    """spark-submit shipped inside the pyspark package (no separate Spark install needed)."""
    spec = importlib.util.find_spec("pyspark")
    if spec is None or not spec.origin:
        raise RuntimeError("pyspark is not installed")
    return str(Path(spec.origin).parent / "bin" / "spark-submit")


def spark_submit_command(
    app: str,
    app_args: list[str],
    *,
    master: str,
    conf: dict[str, str],
    name: str,
    deploy_mode: str | None = None,
    spark_submit: str = "spark-submit",
) -> list[str]:
    cmd = [spark_submit, "--master", master]
    if deploy_mode:
        cmd += ["--deploy-mode", deploy_mode]
    cmd += ["--name", name]
    for k in sorted(conf):  # sorted: stable argv for golden tests and readable logs
        cmd += ["--conf", f"{k}={conf[k]}"]
    return cmd + [app, *[str(a) for a in app_args]]


def local_env(base: dict[str, str] | None = None, store: ObjectStore | None = None) -> dict[str, str]:
    """Environment of a local spark-submit: driver and Python workers run this interpreter (the venv with airwave
    and the ASR stack) and the driver binds to loopback (never depend on the hostname). With a `store`, its S3
    variables replace this process's own."""
    env = dict(os.environ if base is None else base)
    env.setdefault("PYSPARK_PYTHON", sys.executable)
    env.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    env.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    if store is not None:
        apply_env(env, store.env())
    return env


def local_master(shape: ClusterShape) -> str:
    # Local mode has one JVM: the cluster's cores become threads of it (and failed tasks are retried, see spark.py).
    return spark_local_master(shape.executors * shape.executor_cores)


def local_spark_conf(
    shape: ClusterShape, extra: dict[str, str] | None = None, store: ObjectStore | None = None
) -> dict[str, str]:
    conf = dict(STAGE_CONF)  # the stages' tuning; under spark-submit the stage does not apply it itself
    conf.update(
        {
            # Everything (and every Python worker's model) lives on this machine: the JVM gets the driver memory.
            "spark.driver.memory": shape.driver_memory,
            # Loopback: no dependence on the worker's hostname resolving, nothing listening on other interfaces.
            "spark.driver.host": "127.0.0.1",
            "spark.driver.bindAddress": "127.0.0.1",
            # Several Spark tasks may run side by side on one Airflow worker; a UI per task would fight over 4040.
            "spark.ui.enabled": "false",
        }
    )
    env = environment()
    if store is None:  # s3a to $AWS_ENDPOINT_URL (e.g. MinIO), when set
        conf.update(local_object_store_conf(env.s3_endpoint, env.aws_region, env.spark_jars))
    else:  # s3a to the task's store (the jars still from $AIRWAVE_SPARK_JARS)
        conf.update(local_object_store_conf("", store.region, env.spark_jars))
        conf.update(store.spark_conf())
    conf.update({k: str(v) for k, v in (extra or {}).items()})
    return conf


def kubernetes_spark_conf(
    *,
    app_name: str,
    shape: ClusterShape,
    pod_name_prefix: str,
    image: str | None = None,
    executor_pod_template_file: str | None = None,
    extra: dict[str, str] | None = None,
    store: ObjectStore | None = None,
) -> dict[str, str]:
    """Client-mode conf: the task pod is the driver, executors are pods it creates and owns.

    `$(POD_IP)` / `$(POD_NAME)` are expanded by Kubernetes in the container args from the downward-API env vars
    that `driver_pod_spec` defines, so no shell is needed.
    """
    s = stack()
    sp = s["spark"]
    image = image or spark_image(s)
    conf = dict(STAGE_CONF)
    conf.update(
        {
            "spark.kubernetes.namespace": s["namespace"],
            "spark.kubernetes.container.image": image,
            # Our images carry a mutable tag (`dev`, rebuilt by Tilt): always ask the registry, or nodes run stale code.
            "spark.kubernetes.container.image.pullPolicy": "Always",
            # Client mode: authenticate with the task pod's own service account (keys have no ".driver." infix).
            "spark.kubernetes.authenticate.caCertFile": f"{SA_DIR}/ca.crt",
            "spark.kubernetes.authenticate.oauthTokenFile": f"{SA_DIR}/token",
            "spark.kubernetes.authenticate.driver.serviceAccountName": sp["service_account"],
            # Executors reach the driver by pod IP (pods have no DNS name without a Service): spark.driver.host. Spark
            # 4.1+ would otherwise hand them the bind address (0.0.0.0) in client mode.
            "spark.driver.host": "$(POD_IP)",
            "spark.kubernetes.executor.useDriverPodIP": "false",
            "spark.driver.bindAddress": "0.0.0.0",
            "spark.driver.port": str(sp["driver_port"]),
            "spark.blockManager.port": str(sp["block_manager_port"]),
            "spark.ui.port": str(sp["ui_port"]),
            # Executors get an ownerReference to this pod: deleting the task pod garbage-collects the cluster.
            "spark.kubernetes.driver.pod.name": "$(POD_NAME)",
            "spark.kubernetes.executor.podNamePrefix": pod_name_prefix,
            "spark.kubernetes.executor.deleteOnTermination": "true",
            "spark.executor.instances": str(shape.executors),
            "spark.executor.cores": str(shape.executor_cores),
            # Only the pod's CPU request; spark.executor.cores still sets how many tasks an executor runs at once.
            "spark.kubernetes.executor.request.cores": f"{shape.executor_cores * cpu_request_millis()}m",
            "spark.executor.memory": shape.executor_memory,
            # The executor's Python workers (faster-whisper models) live outside the JVM heap.
            "spark.executor.memoryOverheadFactor": "0.4",
            "spark.driver.memory": shape.driver_memory,
            "spark.dynamicAllocation.enabled": "false",  # a fixed, per-task cluster: the shape is the contract
            "spark.kubernetes.executor.podTemplateFile": executor_pod_template_file or sp["executor_pod_template_path"],
            "spark.kubernetes.executor.podTemplateContainerName": "spark-kubernetes-executor",
        }
    )
    conf.update(object_store_conf(store))
    conf.update({k: str(v) for k, v in (extra or {}).items()})
    return conf


CREDENTIAL_VARS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")


@dataclass(frozen=True)
class ObjectStore:
    """An S3 store other than the sandbox's MinIO, e.g. AWS S3 itself (the operator builds one from a connection).

    `endpoint` "": AWS's own endpoint for `region`, buckets addressed by host name (path-style is for MinIO).
    No keys: none are handed over, and the AWS SDKs use their default chain (an instance profile, IRSA).
    """

    endpoint: str = ""
    region: str = "us-east-1"
    access_key: str = field(default="", repr=False)
    secret_key: str = field(default="", repr=False)

    def env(self) -> dict[str, str | None]:
        """The S3 variables of the Spark processes (None: unset, so none of the worker's own, e.g. MinIO's, stay)."""
        keys = bool(self.access_key and self.secret_key)
        return {
            "AWS_ENDPOINT_URL": self.endpoint or None,
            "AWS_ENDPOINT_URL_S3": None,
            "AWS_REGION": self.region,
            "AWS_ACCESS_KEY_ID": self.access_key if keys else None,
            "AWS_SECRET_ACCESS_KEY": self.secret_key if keys else None,
            "AWS_SESSION_TOKEN": None,  # it would belong to other keys
        }

    def spark_conf(self) -> dict[str, str]:
        return s3a_conf(self.endpoint, self.region, env_credentials=bool(self.access_key and self.secret_key))


def object_store_conf(store: ObjectStore | None = None) -> dict[str, str]:
    """s3a for driver and executors. Default: the in-cluster MinIO, credentials from its Secret as env vars on
    driver and executors. A `store`: its endpoint (when set), region and keys; executors get the keys as `$(VAR)`,
    which Kubernetes expands from the driver pod's env (driver_pod_spec), so the pod's args never hold them."""
    if store is not None:
        conf = store.spark_conf()
        for var, value in store.env().items():
            if value is not None:
                conf[f"spark.executorEnv.{var}"] = f"$({var})" if var in CREDENTIAL_VARS else value
        return conf
    m = stack()["minio"]
    conf = s3a_conf(m["cluster_endpoint"], m["region"])
    conf["spark.executorEnv.AWS_ENDPOINT_URL"] = m["cluster_endpoint"]
    for env, key in m["credentials_keys"].items():
        conf[f"spark.kubernetes.executor.secretKeyRef.{env}"] = f"{m['credentials_secret']}:{key}"
    return conf


def executor_pod_template(
    *,
    node_selector: dict[str, str] | None = None,
    tolerations: list[dict[str, Any]] | None = None,
    labels: dict[str, str] | None = None,
    resources_limits: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A per-task executor pod template, e.g. to land executors on GPU nodes.

    Spark fills in image, command, cpu/memory and owner; the template only adds placement. The container must be
    named like `spark.kubernetes.executor.podTemplateContainerName`.
    """
    container: dict[str, Any] = {"name": "spark-kubernetes-executor"}
    if resources_limits:  # e.g. {"nvidia.com/gpu": "1"}; Spark keeps extra resources and adds cpu/memory
        container["resources"] = {"limits": dict(resources_limits)}
    spec: dict[str, Any] = {"containers": [container]}
    if node_selector:
        spec["nodeSelector"] = dict(node_selector)
    if tolerations:
        spec["tolerations"] = [dict(t) for t in tolerations]
    pod: dict[str, Any] = {"apiVersion": "v1", "kind": "Pod", "spec": spec}
    if labels:
        pod["metadata"] = {"labels": dict(labels)}
    return pod


def driver_container_args(conf: dict[str, str], app_args: list[str], *, app_name: str) -> list[str]:
    """Arguments for `python3 -m airwave.cluster.driver`: a spark-submit argv with the app file left open."""
    return spark_submit_command(
        APP_PLACEHOLDER,
        app_args,
        master=K8S_MASTER,
        deploy_mode="client",
        conf=conf,
        name=app_name,
    )


def driver_pod_spec(
    *,
    args: list[str],
    shape: ClusterShape,
    image: str | None = None,
    executor_pod_template: dict[str, Any] | None = None,
    labels: dict[str, str] | None = None,
    store: ObjectStore | None = None,
) -> dict[str, Any]:
    """The task pod = the Spark driver (client mode). A Pod manifest (API field names) for KubernetesPodOperator.

    `args` is the full spark-submit argv from `driver_container_args`; `driver.py` resolves the app file and execs.
    `store`: as in kubernetes_spark_conf (default: the in-cluster MinIO).
    """
    s = stack()
    sp, m = s["spark"], s["minio"]
    image = image or spark_image(s)

    env: list[dict[str, Any]] = [
        # Downward API: the driver advertises its pod IP and names itself as the executors' owner.
        {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
    ]
    if store is None:
        env.append({"name": "AWS_ENDPOINT_URL", "value": m["cluster_endpoint"]})
        for var, key in m["credentials_keys"].items():  # never plain env values: from the Secret
            env.append({"name": var, "valueFrom": {"secretKeyRef": {"name": m["credentials_secret"], "key": key}}})
    else:  # plain values: Airflow may create pods, not Secrets (and masks the connection's password in its logs)
        env += [{"name": var, "value": value} for var, value in store.env().items() if value is not None]
    if executor_pod_template is not None:
        env.append({"name": EXECUTOR_TEMPLATE_ENV, "value": json.dumps(executor_pod_template, sort_keys=True)})

    template_dir = str(Path(sp["executor_pod_template_path"]).parent)
    template_file = Path(sp["executor_pod_template_path"]).name
    driver_mib = mebibytes(shape.driver_memory)
    pod_mib = driver_mib + max(384, int(driver_mib * 0.4))  # JVM heap + overhead + the Python driver process
    container = {
        "name": BASE_CONTAINER,
        "image": image,
        "imagePullPolicy": "Always",
        # No `command`: the image's entrypoint (tini + pass-through) stays in charge of signals and zombies.
        "args": ["python3", "-m", "airwave.cluster.driver", *args],
        "env": env,
        "ports": [
            {"name": "driver", "containerPort": sp["driver_port"]},
            {"name": "blockmanager", "containerPort": sp["block_manager_port"]},
            {"name": "spark-ui", "containerPort": sp["ui_port"]},
        ],
        "resources": {
            "requests": {"cpu": f"{cpu_request_millis()}m", "memory": f"{pod_mib}Mi"},
            "limits": {"memory": f"{pod_mib}Mi"},
        },
        "volumeMounts": [{"name": "executor-pod-template", "mountPath": template_dir, "readOnly": True}],
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "namespace": s["namespace"],
            "labels": {
                "app.kubernetes.io/part-of": "airwave",
                "app.kubernetes.io/component": "spark-driver",
                **(labels or {}),
            },
        },
        "spec": {
            "serviceAccountName": sp["service_account"],
            "restartPolicy": "Never",
            "containers": [container],
            "volumes": [
                {
                    "name": "executor-pod-template",
                    "configMap": {
                        "name": sp["executor_pod_template_configmap"],
                        "items": [{"key": template_file, "path": template_file}],
                    },
                }
            ],
        },
    }
