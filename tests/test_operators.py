"""SparkClusterOperator outside a DAG run: backend choice, the real KubernetesPodOperator pod it would create,
and the local backend running (and killing) real processes."""

import json
import os
import textwrap
import threading
import time
from types import SimpleNamespace

import pytest

pytest.importorskip("airflow.sdk")

from airflow.sdk.exceptions import AirflowException, AirflowFailException  # noqa: E402

from airwave.cluster import specs  # noqa: E402
from airwave.operators import SparkClusterOperator, configured_backend  # noqa: E402
from testlib import ROOT  # noqa: E402

BACKEND_ENV = specs.stack()["airflow"]["spark_backend_env"]


def context(run_id="manual__2026-01-01T00:00:00+00:00", try_number=2):
    return {"ti": SimpleNamespace(try_number=try_number), "run_id": run_id}


def test_backend_from_env(monkeypatch):
    monkeypatch.delenv(BACKEND_ENV, raising=False)
    assert configured_backend() == "local"
    monkeypatch.setenv(BACKEND_ENV, "kubernetes")
    assert configured_backend() == "kubernetes"
    monkeypatch.setenv(BACKEND_ENV, "yarn")
    with pytest.raises(AirflowException, match="unknown Spark backend"):
        configured_backend()


def test_kubernetes_pod_as_built_by_kubernetes_pod_operator():
    """Run the provider's own pod builder (dry run: no cluster) over our spec and check the merged result."""
    s = specs.stack()
    op = SparkClusterOperator(
        task_id="transcribe",
        application_args=["stage", "transcribe", "--out", "s3a://runs/runs/x", "--model", ""],
        executors="2",
        executor_cores="2",
        executor_memory="3g",
        driver_memory="1g",
        executor_pod_template=specs.executor_pod_template(node_selector={"gpu": "yes"}),
    )
    assert op.pool == s["airflow"]["spark_pool"]
    op.prepare_pod(context())
    pod = op.build_pod_request_obj(dry_run=True)
    (c,) = pod.spec.containers
    assert c.name == "base" and c.image == specs.spark_image()
    assert pod.metadata.namespace == s["namespace"]
    assert pod.metadata.name.startswith("airwave-transcribe-")  # KPO adds a random suffix
    assert pod.spec.service_account_name == s["spark"]["service_account"]
    assert pod.spec.restart_policy == "Never"
    env = {e.name: e for e in c.env}
    assert env["POD_IP"].value_from.field_ref.field_path == "status.podIP"
    assert env["POD_NAME"].value_from.field_ref.field_path == "metadata.name"
    assert env["AWS_SECRET_ACCESS_KEY"].value_from.secret_key_ref.name == s["minio"]["credentials_secret"]
    assert json.loads(env[specs.EXECUTOR_TEMPLATE_ENV].value)["spec"]["nodeSelector"] == {"gpu": "yes"}
    args = c.args
    assert "--model" not in args  # empty param -> CLI default
    assert args[-4:] == ["stage", "transcribe", "--out", "s3a://runs/runs/x"]
    assert "spark.executor.instances=2" in args and "spark.executor.memory=3g" in args
    assert (
        "spark.kubernetes.executor.podNamePrefix="
        + specs.pod_name_prefix("transcribe", "manual__2026-01-01T00:00:00+00:00", 2)
        in args
    )
    assert pod.spec.volumes[0].config_map.name == s["spark"]["executor_pod_template_configmap"]
    # Nothing in our manifest was silently dropped by the typed Kubernetes models (a misspelt field would be).
    from kubernetes.client import ApiClient

    assert_subset(op.pod_template_dict, ApiClient().sanitize_for_serialization(pod))


REAL_S3 = {
    "conn_type": "aws",
    "login": "AKIAEXAMPLE",
    "password": "s3cr3t/value",
    "extra": {"region_name": "eu-west-1"},
}


def test_default_store_is_the_sandbox_minio_and_reads_no_connection(monkeypatch):
    monkeypatch.delenv("AIRWAVE_S3_CONN_ID", raising=False)
    op = SparkClusterOperator(task_id="t", application_args=[])
    assert op.object_store() is None  # no connection `minio` exists here: it was not looked up
    op = SparkClusterOperator(task_id="t", application_args=[], s3_conn_id=specs.stack()["airflow"]["minio_conn_id"])
    assert op.object_store() is None


def test_s3_connection_gives_region_keys_and_no_endpoint(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_REAL_S3", json.dumps(REAL_S3))
    store = SparkClusterOperator(task_id="t", application_args=[], s3_conn_id="real_s3").object_store()
    assert store == specs.ObjectStore("", "eu-west-1", "AKIAEXAMPLE", "s3cr3t/value")
    assert "s3cr3t" not in repr(store)  # the operator logs the store
    # The deployment-wide default, and an explicit endpoint (S3-compatible, or "" for AWS's own).
    monkeypatch.setenv("AIRWAVE_S3_CONN_ID", "real_s3")
    op = SparkClusterOperator(task_id="t", application_args=[], s3_endpoint="https://s3.example.net")
    assert op.object_store().endpoint == "https://s3.example.net"
    with pytest.raises(AirflowFailException, match="nope"):
        SparkClusterOperator(task_id="t", application_args=[], s3_conn_id="nope").object_store()


def test_kubernetes_pod_for_real_s3(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_REAL_S3", json.dumps(REAL_S3))
    op = SparkClusterOperator(
        task_id="transcribe", application_args=["stage", "transcribe", "--out", "s3a://b/r"], s3_conn_id="real_s3"
    )
    op.prepare_pod(context(), op.object_store())
    pod = op.build_pod_request_obj(dry_run=True)
    (c,) = pod.spec.containers
    env = {e.name: e for e in c.env}
    assert "AWS_ENDPOINT_URL" not in env and env["AWS_REGION"].value == "eu-west-1"
    assert env["AWS_SECRET_ACCESS_KEY"].value == "s3cr3t/value" and env["AWS_SECRET_ACCESS_KEY"].value_from is None
    conf = dict(a.split("=", 1) for a in c.args if a.startswith("spark.") and "=" in a)
    assert "spark.hadoop.fs.s3a.endpoint" not in conf and "spark.hadoop.fs.s3a.path.style.access" not in conf
    assert conf["spark.hadoop.fs.s3a.endpoint.region"] == "eu-west-1"
    assert conf["spark.executorEnv.AWS_SECRET_ACCESS_KEY"] == "$(AWS_SECRET_ACCESS_KEY)"
    assert not any(k.startswith("spark.kubernetes.executor.secretKeyRef") for k in conf)
    assert "s3cr3t" not in " ".join(c.args)


def assert_subset(want, got, path="pod"):
    if isinstance(want, dict):
        assert isinstance(got, dict), path
        for k, v in want.items():
            assert k in got, f"{path}.{k} was dropped"
            assert_subset(v, got[k], f"{path}.{k}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) >= len(want), path
        for i, (w, g) in enumerate(zip(want, got, strict=False)):
            assert_subset(w, g, f"{path}[{i}]")
    else:
        assert want == got, f"{path}: {want!r} != {got!r}"


APP = textwrap.dedent("""
    import json, sys
    from pyspark.sql import SparkSession
    spark = SparkSession.builder.getOrCreate()
    sc = spark.sparkContext
    out = {
        "args": sys.argv[1:],
        "master": sc.master,
        "parallelism": sc.defaultParallelism,
        "ui": sc.getConf().get("spark.ui.enabled"),
        "max_heap_mib": sc._jvm.java.lang.Runtime.getRuntime().maxMemory() // (1024 * 1024),
        "sum": spark.range(100).groupBy().sum().collect()[0][0],
        "extra": sc.getConf().get("spark.airwave.test"),
    }
    open(sys.argv[sys.argv.index("--out") + 1], "w").write(json.dumps(out))
    spark.stop()
""")


def test_local_backend_runs_real_spark_submit(tmp_path):
    app = tmp_path / "app.py"
    app.write_text(APP)
    out = tmp_path / "out.json"
    op = SparkClusterOperator(
        task_id="t",
        application=str(app),
        backend="local",
        application_args=["--out", str(out), "--model", ""],
        executors=1,
        executor_cores=2,
        driver_memory="768m",
        spark_conf={"spark.airwave.test": "yes"},
    )
    op.execute(context())
    got = json.loads(out.read_text())
    assert got["args"] == ["--out", str(out)]
    assert got["master"] == "local[2,4]" and got["parallelism"] == 2
    assert got["ui"] == "false" and got["extra"] == "yes" and got["sum"] == 4950
    assert 600 <= got["max_heap_mib"] <= 800  # --conf spark.driver.memory really sized the driver JVM


@pytest.mark.slow
def test_local_backend_drivers_write_then_map_the_class_archive(tmp_path, monkeypatch):
    """A local spark-submit's driver writes the class-data archive as it exits, the operator publishes it whole, and
    the next task's driver maps Spark's classes from it (docs/performance-log.md)."""
    folder = tmp_path / "jvm"
    monkeypatch.setenv("AIRWAVE_JVM_ARCHIVE_DIR", str(folder))
    app = tmp_path / "app.py"
    app.write_text("from pyspark.sql import SparkSession\nSparkSession.builder.getOrCreate().range(3).count()\n")
    op = SparkClusterOperator(task_id="t", application=str(app), backend="local", application_args=[])
    op.execute(context())
    (archive,) = folder.iterdir()  # published, no temporary file left beside it
    assert archive.suffix == ".jsa" and archive.stat().st_size > 10 << 20

    monkeypatch.setenv("JAVA_TOOL_OPTIONS", f"-Xlog:class+load=info:file={tmp_path}/classes-%p.log")
    op.execute(context())
    loads = "".join(p.read_text() for p in tmp_path.glob("classes-*.log"))
    assert "org.apache.spark.SparkContext source: shared objects file (top)" in loads
    assert list(folder.iterdir()) == [archive]


ENV_APP = textwrap.dedent("""
    import json, os, sys
    from pyspark.sql import SparkSession
    conf = SparkSession.builder.getOrCreate().sparkContext.getConf()
    out = {"env": {k: v for k, v in os.environ.items() if k.startswith("AWS_")},
           "s3a": {k: v for k, v in conf.getAll() if k.startswith("spark.hadoop.fs.s3a.")}}
    open(sys.argv[1], "w").write(json.dumps(out))
""")


def test_local_backend_with_real_s3(tmp_path, monkeypatch, caplog, capsys):
    """spark-submit gets the connection's region and keys, and none of the worker's MinIO settings."""
    monkeypatch.setenv("AIRFLOW_CONN_REAL_S3", json.dumps(REAL_S3))
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://minio:9000")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "minio-user")
    app = tmp_path / "app.py"
    app.write_text(ENV_APP)
    out = tmp_path / "out.json"
    op = SparkClusterOperator(
        task_id="t", application=str(app), backend="local", application_args=[str(out)], s3_conn_id="real_s3"
    )
    op.execute(context())
    got = json.loads(out.read_text())
    assert {
        k: got["env"].get(k) for k in ("AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL")
    } == {
        "AWS_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "s3cr3t/value",
        "AWS_ENDPOINT_URL": None,
    }
    assert got["s3a"]["spark.hadoop.fs.s3a.endpoint.region"] == "eu-west-1"
    assert not {"spark.hadoop.fs.s3a.endpoint", "spark.hadoop.fs.s3a.path.style.access"} & got["s3a"].keys()
    logged = caplog.text + "".join(capsys.readouterr())
    assert "Running: " in logged and "s3cr3t" not in logged


def test_local_backend_failure_fails_the_task(tmp_path):
    app = tmp_path / "boom.py"
    app.write_text("raise SystemExit(3)\n")
    op = SparkClusterOperator(task_id="t", application=str(app), backend="local", application_args=[])
    with pytest.raises(AirflowException, match="exited with") as e:
        op.execute(context())
    assert not isinstance(e.value, AirflowFailException)  # a crash may be transient: retried


def test_bad_settings_fail_before_spark_submit_and_are_not_retried(tmp_path):
    app = tmp_path / "app.py"
    app.write_text(f"open({str(tmp_path / 'ran')!r}, 'w').write('yes')\n")
    for args, says in [
        (["stage", "preprocess", "--input", str(tmp_path / "nope"), "--out", str(tmp_path / "o")], "no such folder"),
        (
            [
                "stage",
                "preprocess",
                "--input",
                str(ROOT / "sample_data"),
                "--out",
                str(tmp_path / "o"),
                "--roles",
                "left=agent;right=customer",
            ],
            "separate mappings",
        ),
        (["stage", "transcribe", "--out", str(tmp_path / "o"), "--beam-size", "-1"], "beam_size"),
        (["stage", "transcribe", "--out", str(tmp_path / "o"), "--compute-type", "int3"], "compute_type"),
        (["eval", str(tmp_path / "o"), "--refs", str(tmp_path / "missing.json")], "refs"),
    ]:
        op = SparkClusterOperator(task_id="t", application=str(app), backend="local", application_args=args)
        with pytest.raises(AirflowFailException, match=says):
            op.execute(context())
    op = SparkClusterOperator(
        task_id="t", application=str(app), backend="local", application_args=[], executor_memory="lots"
    )
    with pytest.raises(AirflowFailException, match="memory"):
        op.execute(context())
    assert not (tmp_path / "ran").exists()  # spark-submit never started


def test_settings_exit_code_from_spark_submit_is_not_retried(tmp_path):
    """What the driver finds (e.g. the model, which lives beside Spark) comes back as exit code 2."""
    app = tmp_path / "bad.py"
    app.write_text("raise SystemExit(2)\n")
    op = SparkClusterOperator(task_id="t", application=str(app), backend="local", application_args=[])
    with pytest.raises(AirflowFailException, match="bad setting"):
        op.execute(context())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie is dead for our purposes
        return f.read().split()[2] != "Z"


def test_on_kill_takes_down_the_whole_process_group(tmp_path, monkeypatch):
    """Killing the task must not leave spark-submit's JVM or Python workers behind: simulate a child that
    spawned a grandchild, kill, and check both are gone."""
    pidfile = tmp_path / "pids"
    script = f"sleep 300 & echo $$ $! > {pidfile}; wait"
    op = SparkClusterOperator(task_id="t", backend="local", application_args=[])
    monkeypatch.setattr(op, "local_command", lambda ctx, store=None, driver_java_option="": ["bash", "-c", script])
    errors = []
    t = threading.Thread(target=lambda: _run(op, errors))
    t.start()
    deadline = time.time() + 10
    while not (pidfile.exists() and pidfile.read_text().strip()) and time.time() < deadline:
        time.sleep(0.05)
    parent, child = map(int, pidfile.read_text().split())
    assert _alive(parent) and _alive(child)
    op.on_kill()
    t.join(15)
    assert not t.is_alive()
    assert errors and isinstance(errors[0], AirflowException)
    time.sleep(0.2)
    assert not _alive(parent) and not _alive(child)


def _run(op, errors):
    try:
        op.execute(context())
    except BaseException as e:  # noqa: BLE001 - the test inspects it
        errors.append(e)
