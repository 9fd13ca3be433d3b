"""Our Airflow settings, checked by Airflow itself (the [airflow] extra): every AIRFLOW__* variable
names a real option, the KubernetesExecutor turns our pod template into a valid worker pod that
keeps our image and git-sync, and the MinIO connection env var parses as an AWS connection."""

from __future__ import annotations

import re

import kubernetes_validate
from airflow.configuration import conf
from airflow.models.connection import Connection

from .conftest import K8S_VERSIONS, find, worker_pod


def test_every_airflow_setting_is_a_real_option(rendered):
    env = dict(find(rendered, "ConfigMap", "airflow-env")["data"])
    env.update(find(rendered, "Secret", "airflow-secrets")["stringData"])
    names = [k for k in env if k.startswith("AIRFLOW__")]
    assert len(names) > 15
    known = conf.configuration_description  # core + installed providers' config.yml, defaults or not
    for name in names:
        section, key = name[len("AIRFLOW__") :].lower().split("__", 1)
        assert key in known.get(section, {}).get("options", {}), f"{name}: Airflow has no option [{section}] {key}"


def test_executor_builds_a_valid_worker_pod_from_the_template(rendered, stack, tmp_path):
    # what KubernetesExecutor does per task
    args = ["python", "-m", "airflow.sdk.execution_time.execute_workload", "--json-string", "{}"]
    d = worker_pod(rendered, tmp_path, args, stack["namespace"])
    for version in K8S_VERSIONS:
        kubernetes_validate.validate(d, version, strict=True)
    (c,) = d["spec"]["containers"]
    assert (c["name"], c["image"]) == ("base", f"{stack['images']['airflow']}:{stack['images']['tag']}")
    assert c["args"] == args
    assert [i["name"] for i in d["spec"]["initContainers"]] == ["git-sync-init"]
    assert d["spec"]["serviceAccountName"] == stack["airflow"]["worker_service_account"]
    assert d["metadata"]["namespace"] == stack["namespace"]
    assert d["metadata"]["labels"]["app.kubernetes.io/component"] == "airflow-worker"


def test_minio_connection_env_parses_as_an_aws_connection(rendered, stack):
    secret = find(rendered, "Secret", stack["minio"]["credentials_secret"])["stringData"]
    conn_var = f"AIRFLOW_CONN_{stack['airflow']['minio_conn_id'].upper()}"
    spec = find(rendered, "Deployment", "airflow-scheduler")["spec"]["template"]["spec"]
    (raw,) = [e["value"] for e in spec["containers"][0]["env"] if e["name"] == conn_var]
    # Kubernetes expands $(VAR) from the container's environment (here: the Secret via envFrom)
    value = re.sub(r"\$\((\w+)\)", lambda m: secret[stack["minio"]["credentials_keys"][m.group(1)]], raw)
    c = Connection.from_json(value, conn_id=stack["airflow"]["minio_conn_id"])
    assert c.conn_type == "aws"
    assert (c.login, c.password) == tuple(secret[k] for k in stack["minio"]["credentials_keys"].values())
    assert c.extra_dejson["endpoint_url"] == stack["minio"]["cluster_endpoint"]
    assert c.extra_dejson["region_name"] == stack["minio"]["region"]
    # MinIO has no per-bucket host names: boto3 must address buckets by path
    assert c.extra_dejson["config_kwargs"]["s3"]["addressing_style"] == "path"
