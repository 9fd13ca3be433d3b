"""The KubernetesExecutor worker pod template: renders, runs our Airflow image, gets the DAG repo
from git-sync, and carries exactly the secrets a worker needs (no DB, fernet or JWT secrets)."""

from __future__ import annotations

import posixpath

import pytest
import yaml

from .conftest import env_of, find, find_prefix


@pytest.fixture(scope="module")
def template(rendered):
    cm = find_prefix(rendered, "ConfigMap", "airflow-pod-template")
    (key,) = cm["data"]
    assert key == "pod_template.yaml"
    return yaml.safe_load(cm["data"][key])


def test_template_is_mounted_where_the_scheduler_looks(rendered, template):
    env = find(rendered, "ConfigMap", "airflow-env")["data"]
    sched = find(rendered, "Deployment", "airflow-scheduler")["spec"]["template"]["spec"]
    cm_name = find_prefix(rendered, "ConfigMap", "airflow-pod-template")["metadata"]["name"]
    (vol,) = [v for v in sched["volumes"] if v.get("configMap", {}).get("name") == cm_name]
    (mount,) = [m for m in sched["containers"][0]["volumeMounts"] if m["name"] == vol["name"]]
    assert (
        posixpath.join(mount["mountPath"], "pod_template.yaml")
        == env["AIRFLOW__KUBERNETES_EXECUTOR__POD_TEMPLATE_FILE"]
    )


def test_base_container_runs_our_airflow_image(template, stack):
    assert template["metadata"]["name"], "the executor requires metadata.name"
    base = template["spec"]["containers"][0]
    assert base["name"] == "base", "the KubernetesExecutor runs the task in the container named base"
    assert base["image"] == f"{stack['images']['airflow']}:{stack['images']['tag']}"
    assert base["imagePullPolicy"] == "Always", "a mutable dev tag must be re-resolved on every pod"
    assert template["spec"]["restartPolicy"] == "Never"


def test_git_sync_init_container_checks_out_the_dag_repo(rendered, template, stack):
    (init,) = template["spec"]["initContainers"]
    assert init["image"] == stack["upstream_images"]["git_sync"]
    env = env_of(init)
    assert env["GITSYNC_REPO"] == stack["git_server"]["cluster_url"]
    assert env["GITSYNC_REF"] == stack["git_server"]["branch"]
    assert env["GITSYNC_ONE_TIME"] == "true", "an init container must exit after the first sync"
    # git-sync's root and the task container's DAG mount are the same volume, and Airflow's
    # dags folder is <mount>/<link>/dags (the repo mirrors dags/ + src/ of the working tree).
    base = template["spec"]["containers"][0]
    (root,) = [m for m in init["volumeMounts"] if m["mountPath"] == env["GITSYNC_ROOT"]]
    (dags,) = [m for m in base["volumeMounts"] if m["name"] == root["name"]]
    airflow_env = find(rendered, "ConfigMap", "airflow-env")["data"]
    repo = posixpath.join(dags["mountPath"], env["GITSYNC_LINK"])
    assert airflow_env["AIRFLOW__CORE__DAGS_FOLDER"] == posixpath.join(repo, "dags")
    assert airflow_env["PYTHONPATH"] == posixpath.join(repo, "src")
    (vol,) = [v for v in template["spec"]["volumes"] if v["name"] == root["name"]]
    assert "emptyDir" in vol


def test_long_running_git_sync_matches_the_worker_one(rendered, template):
    init = env_of(template["spec"]["initContainers"][0])
    for name in ("airflow-dag-processor", "airflow-triggerer"):
        spec = find(rendered, "Deployment", name)["spec"]["template"]["spec"]
        (sidecar,) = [c for c in spec["containers"] if c["name"] == "git-sync"]
        env = env_of(sidecar)
        for k in ("GITSYNC_REPO", "GITSYNC_REF", "GITSYNC_ROOT", "GITSYNC_LINK"):
            assert env[k] == init[k], f"{name}: {k}"
        assert sidecar["image"] == template["spec"]["initContainers"][0]["image"]
        assert "GITSYNC_ONE_TIME" not in env, f"{name}: the sidecar must keep syncing"


def test_worker_secrets(rendered, template, stack):
    base = template["spec"]["containers"][0]
    refs = {(k, v["name"]) for e in base["envFrom"] for k, v in e.items()}
    assert refs == {("configMapRef", "airflow-env"), ("secretRef", stack["minio"]["credentials_secret"])}
    for name in refs:  # what the template refers to exists in the stack
        find(rendered, "ConfigMap" if name[0] == "configMapRef" else "Secret", name[1])
    env = env_of(base)
    conn = env[f"AIRFLOW_CONN_{stack['airflow']['minio_conn_id'].upper()}"]
    for var in stack["minio"]["credentials_keys"]:
        assert f"$({var})" in conn, "connection credentials must be expanded from the Secret"
    sched = find(rendered, "Deployment", "airflow-scheduler")["spec"]["template"]["spec"]["containers"][0]
    assert conn == env_of(sched)[f"AIRFLOW_CONN_{stack['airflow']['minio_conn_id'].upper()}"], (
        "workers write remote logs through the same connection the UI reads them with"
    )


def test_worker_service_account_may_launch_the_spark_driver(rendered, template, stack):
    sa = template["spec"]["serviceAccountName"]
    assert sa == stack["airflow"]["worker_service_account"]
    find(rendered, "ServiceAccount", sa)
    bindings = [
        b
        for b in rendered
        if b["kind"] == "RoleBinding"
        and {"kind": "ServiceAccount", "name": sa, "namespace": stack["namespace"]} in b["subjects"]
    ]
    rules = [r for b in bindings for r in find(rendered, "Role", b["roleRef"]["name"])["rules"]]
    assert any("pods" in r["resources"] and {"create", "delete", "get", "watch"} <= set(r["verbs"]) for r in rules)
    assert any("pods/log" in r["resources"] and "get" in r["verbs"] for r in rules)
