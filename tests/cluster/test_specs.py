"""The pure builders: golden spark-submit argv, Spark conf and pod specs, plus the rules they must keep."""

import json
import re
from pathlib import Path

import pytest

from airwave.cluster import driver, specs
from airwave.cluster.specs import ClusterShape

SHAPE = ClusterShape(executors=2, executor_cores=3, executor_memory="4g", driver_memory="2g")
APP_ARGS = ["stage", "transcribe", "--out", "s3a://runs/runs/manual__x", "--model", "tiny.en"]
PREFIX = specs.pod_name_prefix("transcribe", "manual__2026-01-01T00:00:00+00:00", 1)


def k8s_conf(**kw):
    return specs.kubernetes_spark_conf(
        app_name="airwave-asr-pipeline-transcribe", shape=SHAPE, pod_name_prefix=PREFIX, **kw
    )


def driver_pod(template=None):
    template_file = specs.EXECUTOR_TEMPLATE_RUNTIME_PATH if template else None
    args = specs.driver_container_args(
        k8s_conf(executor_pod_template_file=template_file), APP_ARGS, app_name="airwave-asr-pipeline-transcribe"
    )
    return specs.driver_pod_spec(args=args, shape=SHAPE, executor_pod_template=template)


GPU_TEMPLATE = specs.executor_pod_template(
    node_selector={"nvidia.com/gpu.present": "true"},
    tolerations=[{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
    resources_limits={"nvidia.com/gpu": "1"},
)


def test_local_spark_submit_golden(golden):
    cmd = specs.spark_submit_command(
        "/app/airwave/__main__.py",
        APP_ARGS,
        master=specs.local_master(SHAPE),
        conf=specs.local_spark_conf(SHAPE, {"spark.task.cpus": "2"}),
        name="airwave-asr-pipeline-transcribe",
    )
    golden("local_spark_submit", cmd)
    assert cmd[:3] == ["spark-submit", "--master", "local[6,4]"]  # 2 executors x 3 cores as threads
    assert cmd[-len(APP_ARGS) - 1 :] == ["/app/airwave/__main__.py", *APP_ARGS]  # app, then its args, last


def test_kubernetes_conf_golden(golden):
    golden("kubernetes_spark_conf", k8s_conf())


def test_driver_pod_golden(golden):
    golden("driver_pod", driver_pod())
    golden("driver_pod_gpu_executors", driver_pod(GPU_TEMPLATE))


def test_kubernetes_conf_matches_stack():
    s = specs.stack()
    conf = k8s_conf()
    assert conf["spark.kubernetes.namespace"] == s["namespace"]
    assert conf["spark.kubernetes.container.image"] == f"{s['images']['spark']}:{s['images']['tag']}"
    assert conf["spark.kubernetes.authenticate.driver.serviceAccountName"] == s["spark"]["service_account"]
    assert conf["spark.driver.port"] == str(s["spark"]["driver_port"])
    assert conf["spark.blockManager.port"] == str(s["spark"]["block_manager_port"])
    assert conf["spark.kubernetes.executor.podTemplateFile"] == s["spark"]["executor_pod_template_path"]
    for env, key in s["minio"]["credentials_keys"].items():
        assert conf[f"spark.kubernetes.executor.secretKeyRef.{env}"] == f"{s['minio']['credentials_secret']}:{key}"
    # Shape, client-mode identity and ownership.
    assert (conf["spark.executor.instances"], conf["spark.executor.cores"], conf["spark.executor.memory"]) == (
        "2",
        "3",
        "4g",
    )
    assert conf["spark.kubernetes.driver.pod.name"] == "$(POD_NAME)"
    assert conf["spark.driver.host"] == "$(POD_IP)"
    assert k8s_conf(extra={"spark.executor.memory": "8g"})["spark.executor.memory"] == "8g"  # extra wins


def test_driver_pod_wiring():
    """What must hold for client mode to work: every $(VAR) in args is defined in env (Kubernetes only expands
    defined vars), from the downward API; the executor template ConfigMap is mounted where the conf points."""
    s = specs.stack()
    pod = driver_pod()
    c = pod["spec"]["containers"][0]
    assert c["name"] == "base" and "command" not in c  # keep the image entrypoint (tini)
    assert c["args"][:4] == ["python3", "-m", "airwave.cluster.driver", "spark-submit"]
    assert specs.APP_PLACEHOLDER in c["args"]
    assert c["args"][-len(APP_ARGS) :] == APP_ARGS
    env = {e["name"]: e for e in c["env"]}
    used = set(re.findall(r"\$\((\w+)\)", " ".join(c["args"])))
    assert used == {"POD_IP", "POD_NAME"} and used <= env.keys()
    assert env["POD_IP"]["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP"
    assert env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    for var, key in s["minio"]["credentials_keys"].items():
        assert env[var]["valueFrom"]["secretKeyRef"] == {"name": s["minio"]["credentials_secret"], "key": key}
    assert pod["spec"]["serviceAccountName"] == s["spark"]["service_account"]
    assert pod["metadata"]["namespace"] == s["namespace"]
    template = Path(s["spark"]["executor_pod_template_path"])
    (mount,) = c["volumeMounts"]
    (vol,) = pod["spec"]["volumes"]
    assert mount["mountPath"] == str(template.parent) and mount["name"] == vol["name"]
    assert vol["configMap"]["name"] == s["spark"]["executor_pod_template_configmap"]
    assert vol["configMap"]["items"] == [{"key": template.name, "path": template.name}]
    conf_args = dict(a.split("=", 1) for a in c["args"] if "=" in a and a.startswith("spark."))
    assert conf_args["spark.kubernetes.executor.podTemplateFile"] == str(template)
    # 2g heap + 40% overhead for the Python driver process
    assert c["resources"]["limits"]["memory"] == "2867Mi"


def test_gpu_template_travels_in_env_and_conf_points_at_it():
    pod = driver_pod(GPU_TEMPLATE)
    c = pod["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in c["env"]}
    assert json.loads(env[specs.EXECUTOR_TEMPLATE_ENV]) == GPU_TEMPLATE
    assert f"spark.kubernetes.executor.podTemplateFile={specs.EXECUTOR_TEMPLATE_RUNTIME_PATH}" in c["args"]
    assert (
        GPU_TEMPLATE["spec"]["containers"][0]["name"]
        == k8s_conf()["spark.kubernetes.executor.podTemplateContainerName"]
    )


def test_driver_entrypoint_resolves_app_and_writes_template(tmp_path):
    args = specs.driver_container_args({"spark.executor.instances": "1"}, ["eval", "r"], app_name="a")
    argv = driver.resolve(args)
    assert argv[0].endswith("pyspark/bin/spark-submit") and Path(argv[0]).exists()
    app = argv[argv.index("eval") - 1]
    assert app.endswith("airwave/__main__.py") and Path(app).exists()
    assert specs.APP_PLACEHOLDER not in argv

    target = tmp_path / "t" / "tpl.json"
    assert driver.write_executor_template("", str(target)) is False and not target.exists()
    assert driver.write_executor_template(json.dumps(GPU_TEMPLATE), str(target))
    assert json.loads(target.read_text()) == GPU_TEMPLATE


def test_driver_log_line_masks_credentials():
    argv = [
        "spark-submit",
        "--conf",
        "spark.executorEnv.AWS_SECRET_ACCESS_KEY=s3cr3t",
        "--conf",
        "spark.executorEnv.AWS_ACCESS_KEY_ID=AKIAX",
        "--conf",
        "spark.executorEnv.AWS_REGION=eu-west-1",
        "--conf",
        "spark.kubernetes.executor.secretKeyRef.AWS_ACCESS_KEY_ID=minio-credentials:AWS_ACCESS_KEY_ID",
    ]
    shown = " ".join(driver.shown(argv))
    assert "s3cr3t" not in shown and "AKIAX" not in shown
    assert "AWS_REGION=eu-west-1" in shown and "=minio-credentials:AWS_ACCESS_KEY_ID" in shown  # a Secret's name


def test_pod_name_prefix_is_valid_and_unique_per_try():
    p1 = specs.pod_name_prefix("a_very_Long_task_id_" * 4, "manual__2026-01-01T00:00:00+00:00", 1)
    p2 = specs.pod_name_prefix("a_very_Long_task_id_" * 4, "manual__2026-01-01T00:00:00+00:00", 2)
    p3 = specs.pod_name_prefix("a_very_Long_task_id_" * 4, "manual__2026-01-02T00:00:00+00:00", 1)
    for p in (p1, p2, p3):
        assert len(p) <= 47 and re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?", p), p
    assert len({p1, p2, p3}) == 3


def test_safe_run_id_and_empty_options():
    assert specs.safe_run_id("manual__2026-11-28T20:39:54.375447+00:00") == "manual__2026-11-28T20_39_54.375447_00_00"
    assert specs.drop_empty_options(["stage", "transcribe", "--model", "", "--beam-size", "5", "--x", "None"]) == [
        "stage",
        "transcribe",
        "--beam-size",
        "5",
    ]
    assert specs.drop_empty_options(["--flag", "--out", "o"]) == ["--flag", "--out", "o"]


@pytest.mark.parametrize("bad", [dict(executors=0), dict(executor_cores=-1), dict(executor_memory="lots")])
def test_cluster_shape_rejects_nonsense(bad):
    with pytest.raises(ValueError):
        ClusterShape(**bad)


def test_cluster_shape_coerces_rendered_templates():
    assert ClusterShape.coerce("2", "3", " 4g ", "1g") == ClusterShape(2, 3, "4g", "1g")
    assert specs.mebibytes("512m") == 512 and specs.mebibytes("2g") == 2048


def test_image_and_cpu_request_come_from_the_deployment(monkeypatch):
    """The sandbox hands the exact Spark image ref and a CPU request per core through the worker's environment."""
    monkeypatch.setenv(specs.SPARK_IMAGE_ENV, "localhost:5001/airwave-spark:tilt-0123456789abcdef")
    monkeypatch.setenv(specs.CPU_REQUEST_ENV, "400m")
    conf = k8s_conf()
    assert conf["spark.kubernetes.container.image"] == "localhost:5001/airwave-spark:tilt-0123456789abcdef"
    shape = specs.ClusterShape(executors=2, executor_cores=3)
    conf = specs.kubernetes_spark_conf(app_name="a", shape=shape, pod_name_prefix="p")
    assert conf["spark.kubernetes.executor.request.cores"] == "1200m" and conf["spark.executor.cores"] == "3"
    pod = specs.driver_pod_spec(args=[], shape=shape)
    assert pod["spec"]["containers"][0]["resources"]["requests"]["cpu"] == "400m"
    monkeypatch.setenv(specs.CPU_REQUEST_ENV, "2")
    assert specs.cpu_request_millis() == 2000
    for bad in ("0", "half", "1.5"):
        monkeypatch.setenv(specs.CPU_REQUEST_ENV, bad)
        with pytest.raises(ValueError, match=specs.CPU_REQUEST_ENV):
            specs.cpu_request_millis()


# Real AWS S3: no endpoint (AWS's own, buckets by host name), a region, keys from an Airflow connection.
AWS = specs.ObjectStore(region="eu-west-1", access_key="AKIAEXAMPLE", secret_key="s3cr3t/value")


def test_kubernetes_with_real_s3_has_no_minio_and_hands_over_region_and_keys():
    s = specs.stack()
    conf = k8s_conf(store=AWS)
    assert not any(k.startswith("spark.kubernetes.executor.secretKeyRef.") for k in conf)
    assert "spark.hadoop.fs.s3a.endpoint" not in conf and "spark.hadoop.fs.s3a.path.style.access" not in conf
    assert "spark.executorEnv.AWS_ENDPOINT_URL" not in conf
    assert conf["spark.hadoop.fs.s3a.endpoint.region"] == conf["spark.executorEnv.AWS_REGION"] == "eu-west-1"
    # Executors take the keys from the driver's env, expanded by Kubernetes: the args never hold them.
    assert conf["spark.executorEnv.AWS_ACCESS_KEY_ID"] == "$(AWS_ACCESS_KEY_ID)"
    assert conf["spark.executorEnv.AWS_SECRET_ACCESS_KEY"] == "$(AWS_SECRET_ACCESS_KEY)"

    args = specs.driver_container_args(conf, APP_ARGS, app_name="a")
    pod = specs.driver_pod_spec(args=args, shape=SHAPE, store=AWS)
    c = pod["spec"]["containers"][0]
    env = {e["name"]: e for e in c["env"]}
    assert "AWS_ENDPOINT_URL" not in env and s["minio"]["cluster_endpoint"] not in json.dumps(pod)
    assert env["AWS_REGION"]["value"] == "eu-west-1"
    assert (env["AWS_ACCESS_KEY_ID"]["value"], env["AWS_SECRET_ACCESS_KEY"]["value"]) == ("AKIAEXAMPLE", "s3cr3t/value")
    assert "s3cr3t" not in " ".join(c["args"])
    used = set(re.findall(r"\$\((\w+)\)", " ".join(c["args"])))
    assert used == {"POD_IP", "POD_NAME", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} and used <= env.keys()


def test_s3_compatible_store_keeps_its_endpoint_path_style():
    other = specs.ObjectStore(endpoint="https://s3.example.net", region="auto")
    conf = k8s_conf(store=other)
    assert (
        conf["spark.hadoop.fs.s3a.endpoint"] == conf["spark.executorEnv.AWS_ENDPOINT_URL"] == "https://s3.example.net"
    )
    assert conf["spark.hadoop.fs.s3a.path.style.access"] == "true"
    # No keys: none handed over, Hadoop's default chain (an instance profile, IRSA) instead of the env provider.
    assert "spark.hadoop.fs.s3a.aws.credentials.provider" not in conf
    assert not any("AWS_ACCESS_KEY_ID" in k for k in conf)
    env = {
        e["name"]: e.get("value")
        for e in specs.driver_pod_spec(args=[], shape=SHAPE, store=other)["spec"]["containers"][0]["env"]
    }
    assert env["AWS_ENDPOINT_URL"] == "https://s3.example.net" and "AWS_ACCESS_KEY_ID" not in env


def test_local_with_real_s3_replaces_the_workers_minio(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://minio:9000")  # what a kind worker pod has
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "minio-user")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "stale")
    assert specs.local_spark_conf(SHAPE)["spark.hadoop.fs.s3a.endpoint"] == "http://minio:9000"  # the default
    conf = specs.local_spark_conf(SHAPE, store=AWS)
    assert "spark.hadoop.fs.s3a.endpoint" not in conf and "spark.hadoop.fs.s3a.path.style.access" not in conf
    assert conf["spark.hadoop.fs.s3a.endpoint.region"] == "eu-west-1"
    assert "s3cr3t" not in json.dumps(conf)  # keys travel in the environment, not in spark-submit's argv
    env = specs.local_env(store=AWS)
    assert "AWS_ENDPOINT_URL" not in env and "AWS_SESSION_TOKEN" not in env
    assert (env["AWS_REGION"], env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]) == (
        "eu-west-1",
        "AKIAEXAMPLE",
        "s3cr3t/value",
    )
    assert specs.local_env()["AWS_ENDPOINT_URL"] == "http://minio:9000"  # no store: the worker's own
