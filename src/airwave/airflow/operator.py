"""SparkClusterOperator: one Airflow task = one Spark application on a cluster made for it and gone after it.

Backends (Airflow Variable `airwave_spark_backend`, else the env var named by stack.json airflow.spark_backend_env
(AIRWAVE_SPARK_BACKEND), else `local`; read when the task runs, not when the DAG is parsed):
- `local`: `spark-submit --master local[N]` as a child process of the worker; its output goes to the task log and
  killing the task kills its process group.
- `kubernetes`: a KubernetesPodOperator pod from the Spark image is the client-mode driver; it creates the
  executor pods, which it owns, so deleting it (task end or kill) deletes the whole cluster.
"""
from __future__ import annotations

import os
import signal
import subprocess
import threading
from typing import Any, Sequence

from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.sdk import Variable
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from airwave import settings
from airwave.airflow import specs

BACKEND_VARIABLE = "airwave_spark_backend"
BACKENDS = ("local", "kubernetes")


def configured_backend() -> str:
    backend = os.environ.get(specs.stack()["airflow"]["spark_backend_env"]) or "local"
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
    """

    template_fields: Sequence[str] = (
        *KubernetesPodOperator.template_fields,
        "application_args",
        "executors",
        "executor_cores",
        "executor_memory",
        "driver_memory",
        "spark_conf",
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
        **kwargs: Any,
    ) -> None:
        stack = specs.stack()
        kwargs.setdefault("namespace", stack["namespace"])
        kwargs.setdefault("name", specs.dns_name(f"airwave-{kwargs['task_id']}"))
        # In kind, Airflow runs inside the cluster; outside it (a laptop Airflow) set AIRWAVE_K8S_IN_CLUSTER=false.
        kwargs.setdefault("in_cluster", os.environ.get("AIRWAVE_K8S_IN_CLUSTER", "true").lower() == "true")
        kwargs.setdefault("get_logs", True)
        kwargs.setdefault("on_finish_action", "delete_pod")
        kwargs.setdefault("startup_timeout_seconds", 300)  # first image pull on kind can be slow
        super().__init__(
            image=image or specs.spark_image(stack), pool=pool or stack["airflow"]["spark_pool"], **kwargs
        )
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
        self._proc: subprocess.Popen | None = None

    # -- shared -------------------------------------------------------------------------------------------------
    def shape(self) -> specs.ClusterShape:
        return specs.ClusterShape.coerce(self.executors, self.executor_cores, self.executor_memory,
                                         self.driver_memory)

    def app_args(self) -> list[str]:
        return specs.drop_empty_options(list(self.application_args))

    def app_name(self, context) -> str:
        return specs.dns_name(f"airwave-{self.dag_id}-{self.task_id}")

    def check_settings(self, backend: str) -> None:
        """Settings that can never work fail here, before spark-submit, and are not retried (AirflowFailException).
        The model is checked here only where it lives (local backend); on Kubernetes the driver checks it before
        any executor starts, and its exit code 2 fails the task the same way (see cleanup)."""
        try:
            self.shape()
            settings.check_stage_args(self.app_args(), model=backend == "local")
        except ValueError as e:  # SettingsError, and ClusterShape's own errors
            raise AirflowFailException(f"bad setting: {e}") from None

    def execute(self, context):
        backend = self.backend or configured_backend()
        self.check_settings(backend)
        self.log.info("Spark backend %s, cluster %s", backend, self.shape())
        if backend == "local":
            return self.execute_local(context)
        self.prepare_pod(context)
        return super().execute(context)

    def on_kill(self) -> None:
        if self._proc is not None:
            self._kill_local()
        else:
            super().on_kill()

    # -- local --------------------------------------------------------------------------------------------------
    def local_command(self, context) -> list[str]:
        shape = self.shape()
        return specs.spark_submit_command(
            self.application or specs.app_file(),
            self.app_args(),
            master=specs.local_master(shape),
            conf=specs.local_spark_conf(shape, self.spark_conf),
            name=self.app_name(context),
            spark_submit=specs.spark_submit_path(),
        )

    def execute_local(self, context) -> None:
        cmd = self.local_command(context)
        env = specs.local_env()  # driver and Python workers run this interpreter; the driver binds to loopback
        self.log.info("Running: %s", " ".join(cmd))
        # Own process group: on_kill can take down spark-submit's JVM and every Python worker it started.
        self._proc = subprocess.Popen(
            cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
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
    def prepare_pod(self, context) -> None:
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
            pod_name_prefix=specs.pod_name_prefix(self.task_id, context["run_id"], ti.try_number,
                                                  getattr(ti, "map_index", None)),
            executor_pod_template_file=template_file,
            extra=self.spark_conf,
        )
        args = specs.driver_container_args(conf, self.app_args(), app_name=self.app_name(context))
        self.pod_template_dict = specs.driver_pod_spec(
            args=args, shape=shape, image=self.image, executor_pod_template=self.executor_pod_template,
        )

    def cleanup(self, pod, remote_pod, *args, **kwargs):
        """A driver that exited with the settings-error code fails the task without retries, as locally."""
        try:
            return super().cleanup(pod, remote_pod, *args, **kwargs)
        except AirflowException as e:
            if _exit_code(remote_pod, self.base_container_name) == settings.SETTINGS_ERROR_EXIT:
                raise AirflowFailException(f"the driver exited with {settings.SETTINGS_ERROR_EXIT}: a bad setting "
                                           f"(see the log above)\n{e}") from None
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
