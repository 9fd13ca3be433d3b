"""SparkClusterOperator: one Airflow task = one Spark application on a cluster made for it and gone after it.

Backends (Airflow Variable `airwave_spark_backend`, else $AIRWAVE_SPARK_BACKEND, else `local`; read when the task
runs, not when the DAG is parsed):
- `local`: `spark-submit --master local[N]` as a child process of the worker; its output goes to the task log and
  killing the task kills its process group.
- `kubernetes`: a KubernetesPodOperator pod from the Spark image is the client-mode driver; it creates the
  executor pods, which it owns, so deleting it (task end or kill) deletes the whole cluster.

S3 (`s3_conn_id`): by default the sandbox's MinIO, as specs.stack() and the worker's environment describe it; any
other Airflow connection of type aws (e.g. real AWS S3) gives the job its endpoint, region and keys instead.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Sequence
from typing import Any

from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.sdk import Connection, Variable
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowNotFoundException

from airwave import settings, spark
from airwave.cluster import specs

BACKEND_VARIABLE = "airwave_spark_backend"
BACKENDS = ("local", "kubernetes")


def configured_backend() -> str:
    backend = settings.environment().spark_backend
    try:
        backend = Variable.get(BACKEND_VARIABLE, default=backend)
    except Exception:  # outside a task (unit tests, parsing) there is no Variable store to ask
        pass
    if backend not in BACKENDS:
        raise AirflowException(f"unknown Spark backend {backend!r}; use one of {BACKENDS}")
    return backend


class SparkClusterOperator(KubernetesPodOperator):
    """Run `airwave <application_args>` (or another PySpark `application`) on its own Spark cluster.

    :param application_args: arguments of the application, e.g. ["stage", "transcribe", "--out", run_uri].
        `--opt ''` pairs are dropped, so an empty DAG param means "the CLI default".
    :param executors / executor_cores / executor_memory / driver_memory: the cluster's shape (templated; the
        local backend turns it into local[executors * executor_cores] threads).
    :param spark_conf: extra Spark conf for this task (wins over the generated conf).
    :param executor_pod_template: per-task executor pod template dict (see specs.executor_pod_template), e.g.
        node selector and tolerations for GPU nodes (kubernetes backend only).
    :param application: PySpark file to submit; default is airwave's own __main__ module.
    :param backend: force a backend instead of reading the Variable/env at run time.
    :param s3_conn_id: Airflow connection of type aws for the job's s3:// / s3a:// (login: access key, password:
        secret key, extra: endpoint_url, region_name; no endpoint_url: AWS S3 itself). Default: $AIRWAVE_S3_CONN_ID,
        else specs.stack()'s `minio` connection, which stands for the sandbox's MinIO and is not read (the pods
        take its keys from its Secret).
    :param s3_endpoint: the S3 endpoint URL instead of the connection's ("": AWS's own).
    """

    template_fields: Sequence[str] = (
        *KubernetesPodOperator.template_fields,
        "application_args",
        "executors",
        "executor_cores",
        "executor_memory",
        "driver_memory",
        "spark_conf",
        "s3_conn_id",
        "s3_endpoint",
    )
    ui_color = "#f4a460"

    def __init__(
        self,
        *,
        application_args: list[str],
        executors: int | str = 1,
        executor_cores: int | str = 1,
        executor_memory: str = "2g",
        driver_memory: str = "1g",
        spark_conf: dict[str, str] | None = None,
        executor_pod_template: dict | None = None,
        image: str | None = None,
        application: str | None = None,
        backend: str | None = None,
        pool: str | None = None,
        s3_conn_id: str | None = None,
        s3_endpoint: str | None = None,
        **kwargs: Any,
    ) -> None:
        stack = specs.stack()
        kwargs.setdefault("namespace", stack["namespace"])
        kwargs.setdefault("name", specs.dns_name(f"airwave-{kwargs['task_id']}"))
        # In kind, Airflow runs inside the cluster; outside it (a laptop Airflow) set AIRWAVE_K8S_IN_CLUSTER=false.
        kwargs.setdefault("in_cluster", settings.environment().k8s_in_cluster)
        kwargs.setdefault("get_logs", True)
        kwargs.setdefault("on_finish_action", "delete_pod")
        kwargs.setdefault("startup_timeout_seconds", 300)  # first image pull on kind can be slow
        super().__init__(image=image or specs.spark_image(stack), pool=pool or stack["airflow"]["spark_pool"], **kwargs)
        self.explicit_image = image
        self.application_args = application_args
        self.executors = executors
        self.executor_cores = executor_cores
        self.executor_memory = executor_memory
        self.driver_memory = driver_memory
        self.spark_conf = spark_conf or {}
        self.executor_pod_template = executor_pod_template
        self.application = application
        self.backend = backend
        self.s3_conn_id = s3_conn_id
        self.s3_endpoint = s3_endpoint
        self._proc: subprocess.Popen | None = None

    # -- shared -------------------------------------------------------------------------------------------------
    def shape(self) -> specs.ClusterShape:
        return specs.ClusterShape.coerce(self.executors, self.executor_cores, self.executor_memory, self.driver_memory)

    def app_args(self) -> list[str]:
        return specs.drop_empty_options(list(self.application_args))

    def app_name(self, context) -> str:
        return specs.dns_name(f"airwave-{self.dag_id}-{self.task_id}")

    def object_store(self) -> specs.ObjectStore | None:
        """The job's S3 store; None: the sandbox's MinIO (specs.stack(), and this worker's environment if local)."""
        env = settings.environment()
        minio = specs.stack()["airflow"]["minio_conn_id"]
        conn_id = self.s3_conn_id or env.s3_conn_id or minio
        if conn_id == minio and self.s3_endpoint is None:
            return None
        try:
            conn = Connection.get(conn_id)  # Airflow masks its password in the task log from here on
        except AirflowNotFoundException:
            raise AirflowFailException(
                f"bad setting: s3_conn_id {conn_id!r} is not an Airflow connection; "
                "define it (type aws) or leave s3_conn_id unset"
            ) from None
        extra = conn.extra_dejson
        endpoint = extra.get("endpoint_url") if self.s3_endpoint is None else self.s3_endpoint
        return specs.ObjectStore(
            endpoint=endpoint or "",
            region=extra.get("region_name") or env.aws_region,
            access_key=conn.login or "",
            secret_key=conn.password or "",
        )

    def check_settings(self, backend: str, store: specs.ObjectStore | None = None) -> None:
        """Settings that can never work fail here, before spark-submit, and are not retried (AirflowFailException).
        The model is checked here only where it lives (local backend); on Kubernetes the driver checks it before
        any executor starts, and its exit code 2 fails the task the same way (see cleanup). Locations are looked
        up in the job's store."""
        try:
            self.shape()
            with settings.environment_overridden(store.env() if store else {}):
                settings.check_stage_args(self.app_args(), model=backend == "local")
        except ValueError as e:  # SettingsError, and ClusterShape's own errors
            raise AirflowFailException(f"bad setting: {e}") from None

    def execute(self, context):
        backend = self.backend or configured_backend()
        store = self.object_store()
        self.check_settings(backend, store)
        self.log.info("Spark backend %s, cluster %s, S3 %s", backend, self.shape(), store or "the sandbox's MinIO")
        if backend == "local":
            return self.execute_local(context, store)
        self.prepare_pod(context, store)
        return super().execute(context)

    def on_kill(self) -> None:
        if self._proc is not None:
            self._kill_local()
        else:
            super().on_kill()

    # -- local --------------------------------------------------------------------------------------------------
    def local_command(self, context, store: specs.ObjectStore | None = None, driver_java_option: str = "") -> list[str]:
        shape = self.shape()
        conf = specs.local_spark_conf(shape, self.spark_conf, store)
        return specs.spark_submit_command(
            self.application or specs.app_file(),
            self.app_args(),
            master=specs.local_master(shape),
            conf=spark.add_driver_java_option(conf, driver_java_option),
            name=self.app_name(context),
            spark_submit=specs.spark_submit_path(),
        )

    def execute_local(self, context, store: specs.ObjectStore | None = None) -> None:
        # The driver maps Spark's classes from the class-data archive (spark.py), or writes it as it exits.
        option, archive = spark.class_archive()
        cmd = self.local_command(context, store, option)
        env = specs.local_env(store=store)  # this interpreter; the driver binds to loopback; the job's S3
        self.log.info("Running: %s", " ".join(cmd))
        if archive is not None:
            self.log.info("The driver writes its class-data archive as it exits (once per machine, ~15 s)")
        rc = None
        # Own process group: on_kill can take down spark-submit's JVM and every Python worker it started.
        self._proc = subprocess.Popen(
            cmd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            start_new_session=True,
        )
        try:
            assert self._proc.stdout is not None
            for line in self._proc.stdout:
                self.log.info("%s", line.rstrip())
            rc = self._proc.wait()
        except BaseException:
            self._kill_local()  # the task process is going away (e.g. timeout): leave no cluster behind
            raise
        finally:
            self._proc = None
            if archive is not None:
                spark.publish_archive(archive, rc == 0)
        if rc == settings.SETTINGS_ERROR_EXIT:
            raise AirflowFailException(f"spark-submit exited with {rc}: a bad setting (see the log above)")
        if rc != 0:
            raise AirflowException(f"spark-submit exited with {rc}")

    def _kill_local(self, grace_s: float = 10.0) -> None:
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        self.log.info("Killing Spark process group %s", proc.pid)
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        timer = threading.Timer(grace_s, lambda: _killpg_quietly(proc.pid, signal.SIGKILL))
        timer.start()
        try:
            proc.wait()
        finally:
            timer.cancel()
        _killpg_quietly(proc.pid, signal.SIGKILL)  # stragglers (Python workers) that ignored SIGTERM

    # -- kubernetes ---------------------------------------------------------------------------------------------
    def prepare_pod(self, context, store: specs.ObjectStore | None = None) -> None:
        """Fill the KubernetesPodOperator's pod from the pure spec (called just before it builds the pod)."""
        ti = context["ti"]
        if not self.explicit_image:  # the ref this worker pod was given now, not whatever held at parse time
            self.image = specs.spark_image()
        shape = self.shape()
        template_file = specs.EXECUTOR_TEMPLATE_RUNTIME_PATH if self.executor_pod_template else None
        conf = specs.kubernetes_spark_conf(
            app_name=self.app_name(context),
            shape=shape,
            image=self.image,
            pod_name_prefix=specs.pod_name_prefix(
                self.task_id, context["run_id"], ti.try_number, getattr(ti, "map_index", None)
            ),
            executor_pod_template_file=template_file,
            extra=self.spark_conf,
            store=store,
        )
        args = specs.driver_container_args(conf, self.app_args(), app_name=self.app_name(context))
        self.pod_template_dict = specs.driver_pod_spec(
            args=args,
            shape=shape,
            image=self.image,
            executor_pod_template=self.executor_pod_template,
            store=store,
        )

    def cleanup(self, pod, remote_pod, *args, **kwargs):
        """A driver that exited with the settings-error code fails the task without retries, as locally."""
        try:
            return super().cleanup(pod, remote_pod, *args, **kwargs)
        except AirflowException as e:
            if _exit_code(remote_pod, self.base_container_name) == settings.SETTINGS_ERROR_EXIT:
                raise AirflowFailException(
                    f"the driver exited with {settings.SETTINGS_ERROR_EXIT}: a bad setting (see the log above)\n{e}"
                ) from None
            raise


def _exit_code(pod, container: str) -> int | None:
    for st in (pod and pod.status and pod.status.container_statuses) or []:
        if st.name == container and st.state and st.state.terminated:
            return st.state.terminated.exit_code
    return None


def _killpg_quietly(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass
