"""The Spark conf and driver pod the SparkClusterOperator generates (airwave.cluster.specs) match
what stack/ deploys: namespace, service account + RBAC, executor pod template ConfigMap, MinIO
service/ports/secret, image and ports."""

from __future__ import annotations

import posixpath
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml

from airwave.cluster import specs

from .conftest import K8S_VERSIONS, find

SPARK_NEEDS = {"pods", "services", "configmaps"}  # executors, their headless service, their config map


@pytest.fixture(scope="module")
def conf():
    return specs.kubernetes_spark_conf(
        app_name="airwave-e2e", shape=specs.ClusterShape(executors=2), pod_name_prefix="airwave-e2e-abc"
    )


@pytest.fixture(scope="module")
def driver(conf):
    args = specs.driver_container_args(conf, ["stage", "preprocess"], app_name="airwave-e2e")
    return specs.driver_pod_spec(args=args, shape=specs.ClusterShape(executors=2))


def test_namespace_and_service_account_match_the_rbac(rendered, conf, driver, stack):
    ns = conf["spark.kubernetes.namespace"]
    sa = conf["spark.kubernetes.authenticate.driver.serviceAccountName"]
    assert ns == stack["namespace"] == driver["metadata"]["namespace"]
    assert driver["spec"]["serviceAccountName"] == sa
    assert find(rendered, "ServiceAccount", sa)["metadata"]["namespace"] == ns
    bindings = [
        b
        for b in rendered
        if b["kind"] == "RoleBinding" and {"kind": "ServiceAccount", "name": sa, "namespace": ns} in b["subjects"]
    ]
    assert [b["roleRef"]["name"] for b in bindings] == [stack["spark"]["role"]]
    role = find(rendered, "Role", stack["spark"]["role"])
    assert role["metadata"]["namespace"] == ns, "a Role in the driver's namespace, not cluster-wide"
    granted = {
        res
        for r in role["rules"]
        for res in r["resources"]
        if r["apiGroups"] == [""] and {"create", "get", "list", "watch", "delete"} <= set(r["verbs"])
    }
    assert SPARK_NEEDS <= granted
    # limited: core group only, no wildcard, nothing beyond what the driver needs
    assert {res for r in role["rules"] for res in r["resources"]} == SPARK_NEEDS | {"persistentvolumeclaims"}
    assert all(r["apiGroups"] == [""] and "*" not in r["verbs"] for r in role["rules"])
    assert not [d for d in rendered if d["kind"] in ("ClusterRole", "ClusterRoleBinding")]


def test_executor_pod_template_comes_from_the_configmap(rendered, conf, driver, stack):
    path = conf["spark.kubernetes.executor.podTemplateFile"]
    assert path == stack["spark"]["executor_pod_template_path"]
    cm = find(rendered, "ConfigMap", stack["spark"]["executor_pod_template_configmap"])
    container = driver["spec"]["containers"][0]
    (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == posixpath.dirname(path)]
    (vol,) = [v for v in driver["spec"]["volumes"] if v["name"] == mount["name"]]
    assert vol["configMap"]["name"] == cm["metadata"]["name"]
    keys = [i["key"] for i in vol["configMap"].get("items", [])] or list(cm["data"])
    assert posixpath.basename(path) in keys and set(keys) <= set(cm["data"])
    template = yaml.safe_load(cm["data"][posixpath.basename(path)])
    names = [c["name"] for c in template["spec"]["containers"]]
    assert conf["spark.kubernetes.executor.podTemplateContainerName"] in names


def test_object_store_points_at_the_minio_service(rendered, conf, stack):
    endpoint = urlsplit(conf["spark.hadoop.fs.s3a.endpoint"])
    host, ns = endpoint.hostname.split(".")[:2]
    svc = find(rendered, "Service", host)
    assert ns == svc["metadata"]["namespace"] == stack["namespace"]
    assert endpoint.port in {p["port"] for p in svc["spec"]["ports"]}
    assert conf["spark.hadoop.fs.s3a.path.style.access"] == "true"
    secret = find(rendered, "Secret", stack["minio"]["credentials_secret"])
    refs = {k: v for k, v in conf.items() if k.startswith("spark.kubernetes.executor.secretKeyRef.")}
    assert refs, "executors need the object-store credentials"
    for value in refs.values():
        name, key = value.split(":")
        assert name == secret["metadata"]["name"] and key in secret["stringData"]


def test_driver_pod_image_and_ports(conf, driver, stack):
    image = f"{stack['images']['spark']}:{stack['images']['tag']}"
    assert conf["spark.kubernetes.container.image"] == image == driver["spec"]["containers"][0]["image"]
    ports = {p["containerPort"] for p in driver["spec"]["containers"][0]["ports"]}
    for key, name in (
        ("spark.driver.port", "driver_port"),
        ("spark.blockManager.port", "block_manager_port"),
        ("spark.ui.port", "ui_port"),
    ):
        assert int(conf[key]) == stack["spark"][name] and stack["spark"][name] in ports
    assert conf["spark.kubernetes.driver.pod.name"] == "$(POD_NAME)"  # executors owned by the task pod


def test_driver_can_be_launched_by_the_airflow_worker(rendered, driver, stack):
    """KubernetesPodOperator runs in the worker pod (or the triggerer) and creates the driver pod."""
    ns = driver["metadata"]["namespace"]
    for sa in (stack["airflow"]["worker_service_account"], "airflow-triggerer"):
        roles = [
            b["roleRef"]["name"]
            for b in rendered
            if b["kind"] == "RoleBinding" and {"kind": "ServiceAccount", "name": sa, "namespace": ns} in b["subjects"]
        ]
        rules = [r for name in roles for r in find(rendered, "Role", name)["rules"]]
        assert any("pods" in r["resources"] and "create" in r["verbs"] for r in rules), sa


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_generated_pods_validate(driver, version):
    pod = yaml.safe_load(yaml.safe_dump(driver))
    pod["metadata"]["name"] = "driver"
    kubernetes_validate.validate(pod, version, strict=True)
    template = specs.executor_pod_template(node_selector={"gpu": "true"}, resources_limits={"nvidia.com/gpu": "1"})
    template.setdefault("metadata", {})["name"] = "template"
    kubernetes_validate.validate(template, version, strict=True)
