"""The stack's manifests and the pods our code generates, admitted by a real Kubernetes API server (v1.36.1, the
kind node's version; etcd + kube-apiserver on this machine via tests/support/localstack.py, no nodes, so nothing runs):
server-side validation and defaulting, the ServiceAccount admission plugin, and the RBAC authorizer deciding what
each service account may do. Needs `hack/tools.sh apiserver` (make test runs it)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time

import pytest
import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException
from kubernetes.dynamic import DynamicClient

from airwave.cluster import specs
from support import localstack

from .conftest import BASE, LITE, render, worker_pod

NS = specs.stack()["namespace"]


def api_client(server, as_user: str | None = None) -> client.ApiClient:
    url, token, ca = server[:3]
    cfg = client.Configuration()
    cfg.host, cfg.ssl_ca_cert = url, ca
    cfg.api_key = {"authorization": f"Bearer {token}"}
    c = client.ApiClient(cfg)
    if as_user:  # the admin token may impersonate: requests are then authorized as that user
        c.set_default_header("Impersonate-User", as_user)
    return c


def sa(name: str) -> str:
    return f"system:serviceaccount:{NS}:{name}"


@contextlib.contextmanager
def stack_server(workdir, path):
    """A fresh API server holding one profile's objects; yields (url, token, CA file, rendered, errors)."""
    rendered = render(path)
    with localstack.apiserver(workdir) as (url, token, ca):
        dyn = DynamicClient(api_client((url, token, ca)))
        errors = []
        for obj in rendered:  # for real: the later tests need the accounts, roles and config maps
            res = dyn.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
            try:
                res.create(body=obj, namespace=NS if res.namespaced else None)
            except ApiException as e:
                errors.append(f"{obj['kind']}/{obj['metadata']['name']}: {e.status} {e.reason} {e.body[:500]}")
        yield url, token, ca, rendered, errors


@pytest.fixture(scope="module", params=["base", "lite"])
def server(request, tmp_path_factory):
    with stack_server(
        tmp_path_factory.mktemp(f"apiserver-{request.param}"), BASE if request.param == "base" else LITE
    ) as srv:
        yield srv


def test_every_object_is_admitted(server):
    _, _, _, rendered, errors = server
    assert not errors
    dyn = DynamicClient(api_client(server))
    for obj in rendered:  # stored as sent, plus server-side defaults
        res = dyn.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
        got = res.get(name=obj["metadata"]["name"], namespace=NS if res.namespaced else None)
        assert got.metadata.labels["app.kubernetes.io/part-of"] == "airwave", obj["metadata"]["name"]


ALLOWED = {  # who may do what in the namespace; every other service account/verb/resource below must be denied
    "spark-driver": {
        (v, r)
        for r in ("pods", "services", "configmaps", "persistentvolumeclaims")
        for v in ("create", "get", "list", "watch", "delete", "deletecollection")
    },
    "airflow-worker": {(v, "pods") for v in ("create", "get", "list", "watch", "delete", "patch")}
    | {("get", "pods/log"), ("create", "pods/exec")},
    "airflow-scheduler": {(v, "pods") for v in ("create", "get", "list", "watch", "delete", "patch")},
}


@pytest.mark.parametrize("account", sorted(ALLOWED))
def test_rbac_grants_exactly_what_each_account_needs(server, account):
    authz = client.AuthorizationV1Api(api_client(server))

    def allowed(verb, resource, namespace=NS):
        res, _, sub = resource.partition("/")
        review = client.V1SubjectAccessReview(
            spec=client.V1SubjectAccessReviewSpec(
                user=sa(account),
                groups=["system:serviceaccounts", f"system:serviceaccounts:{NS}"],
                resource_attributes=client.V1ResourceAttributes(
                    namespace=namespace, verb=verb, resource=res, subresource=sub or None
                ),
            )
        )
        return authz.create_subject_access_review(review).status.allowed

    for verb, resource in sorted(ALLOWED[account]):
        assert allowed(verb, resource), f"{account} may not {verb} {resource}"
    for verb, resource in [
        ("get", "secrets"),
        ("list", "secrets"),
        ("create", "roles"),
        ("create", "rolebindings"),
        ("update", "deployments"),
        ("create", "serviceaccounts/token"),
    ]:
        assert not allowed(verb, resource), f"{account} may {verb} {resource}"
    assert not allowed("create", "pods", namespace="default"), f"{account} reaches outside {NS}"


def create_as(server, user: str, pod: dict) -> dict:
    """Create a pod as `user` with dry-run=All: admission and RBAC run, nothing is stored."""
    core = client.CoreV1Api(api_client(server, as_user=user))
    try:
        out = core.create_namespaced_pod(NS, pod, dry_run="All")
    except ApiException as e:
        pytest.fail(f"{user} could not create pod {pod['metadata'].get('name')}: {e.status} {e.body}")
    return core.api_client.sanitize_for_serialization(out)


def test_worker_pod_from_the_template_is_admitted_for_the_scheduler(server, tmp_path):
    args = ["python", "-m", "airflow.sdk.execution_time.execute_workload"]
    body = worker_pod(server[3], tmp_path, args, NS)  # what the KubernetesExecutor does per task
    out = create_as(server, sa("airflow-scheduler"), body)
    assert out["spec"]["serviceAccountName"] == specs.stack()["airflow"]["worker_service_account"]


def test_spark_driver_pod_is_admitted_for_the_airflow_worker(server):
    shape = specs.ClusterShape(executors=2)
    conf = specs.kubernetes_spark_conf(app_name="airwave-e2e", shape=shape, pod_name_prefix="airwave-e2e-abc")
    pod = specs.driver_pod_spec(
        args=specs.driver_container_args(conf, ["stage", "preprocess"], app_name="x"), shape=shape
    )
    pod = yaml.safe_load(yaml.safe_dump(pod))
    pod["metadata"]["name"] = "airwave-e2e-driver"
    out = create_as(server, sa("airflow-worker"), pod)  # KubernetesPodOperator runs in the worker pod
    assert out["spec"]["serviceAccountName"] == specs.stack()["spark"]["service_account"]
    with pytest.raises(pytest.fail.Exception, match="403"):  # the api-server's account only reads logs
        create_as(server, sa("airflow-api-server"), pod)


def test_executor_pod_is_admitted_for_the_spark_driver(server):
    """Roughly what Spark builds from the executor template: our template + image, resources, owner label."""
    pod = specs.executor_pod_template(node_selector={"kubernetes.io/os": "linux"})
    pod = yaml.safe_load(yaml.safe_dump(pod))
    pod.setdefault("metadata", {})["name"] = "airwave-e2e-abc-exec-1"
    pod["metadata"].setdefault("labels", {})["spark-role"] = "executor"
    (c,) = pod["spec"]["containers"]
    c.update(
        image=f"{specs.stack()['images']['spark']}:{specs.stack()['images']['tag']}",
        args=["executor"],
        resources={"requests": {"cpu": "1", "memory": "2867Mi"}, "limits": {"memory": "2867Mi"}},
    )
    pod["spec"]["serviceAccountName"] = specs.stack()["spark"]["service_account"]
    pod["spec"]["restartPolicy"] = "Never"
    create_as(server, sa("spark-driver"), pod)


SPARK_APP = """
import sys, time
from pyspark.sql import SparkSession
spark = SparkSession.builder.getOrCreate()
deadline = time.time() + 120
while time.time() < deadline and not __import__("os").path.exists(sys.argv[1]):
    time.sleep(0.5)
spark.stop()
"""


@pytest.mark.slow
def test_spark_driver_creates_and_removes_its_executors_through_the_api(tmp_path_factory):
    """spark-submit (pyspark 4.3's own k8s backend) with the conf the operator generates, authenticated as the
    spark-driver service account, against the API server: the executor pods it asks for are admitted, owned by the
    driver pod, built from our executor template, and deleted when the application ends. No node runs them (nor the
    driver pod: Spark logs a timeout waiting for it to be ready and carries on, as it is meant to)."""
    tmp = tmp_path_factory.mktemp("spark-k8s")
    with stack_server(tmp / "api", BASE) as srv:
        url, token, ca, rendered, errors = srv
        assert not errors
        admin = client.CoreV1Api(api_client(srv))
        shape = specs.ClusterShape(executors=2, executor_cores=1, executor_memory="1g")
        conf = specs.kubernetes_spark_conf(app_name="airwave-k8s-test", shape=shape, pod_name_prefix="awtest")
        driver = specs.driver_pod_spec(args=["true"], shape=shape)
        driver["metadata"]["name"] = "awtest-driver"
        driver = admin.create_namespaced_pod(NS, driver)  # stays Pending: the owner of the executors

        # What the driver pod would find in /var/run/secrets/...: a token of its service account and the CA.
        sa_name = specs.stack()["spark"]["service_account"]
        req = client.AuthenticationV1TokenRequest(spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=3600))
        sa_token = admin.create_namespaced_service_account_token(sa_name, NS, req).status.token
        (tmp / "token").write_text(sa_token)
        template = yaml.safe_load(
            next(
                o
                for o in rendered
                if o["kind"] == "ConfigMap"
                and o["metadata"]["name"] == specs.stack()["spark"]["executor_pod_template_configmap"]
            )["data"]["executor-pod-template.yaml"]
        )
        (tmp / "template.yaml").write_text(yaml.safe_dump(template))
        conf.update(
            {  # what Kubernetes would substitute in the pod, and where the mounted files are here
                "spark.driver.host": "127.0.0.1",
                "spark.driver.bindAddress": "127.0.0.1",
                "spark.kubernetes.driver.pod.name": "awtest-driver",
                "spark.kubernetes.authenticate.caCertFile": ca,
                "spark.kubernetes.authenticate.oauthTokenFile": str(tmp / "token"),
                "spark.kubernetes.executor.podTemplateFile": str(tmp / "template.yaml"),
                "spark.driver.memory": "512m",
            }
        )
        (tmp / "app.py").write_text(SPARK_APP)
        cmd = specs.spark_submit_command(
            str(tmp / "app.py"),
            [str(tmp / "stop")],
            master=f"k8s://{url}",
            deploy_mode="client",
            conf=conf,
            name="airwave-k8s-test",
            spark_submit=specs.spark_submit_path(),
        )
        log = open(tmp / "spark.log", "w")
        proc = subprocess.Popen(
            cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            # no kubeconfig: the only credential is the service account's token
            env={**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "KUBECONFIG": str(tmp / "none")},
        )
        try:
            deadline = time.monotonic() + 120
            while len(pods := admin.list_namespaced_pod(NS, label_selector="spark-role=executor").items) < 2:
                assert proc.poll() is None and time.monotonic() < deadline, (tmp / "spark.log").read_text()[-4000:]
                time.sleep(1)
            for p in pods:
                assert p.metadata.name.startswith("awtest-exec-")
                (owner,) = p.metadata.owner_references
                assert (owner.kind, owner.name, owner.uid) == ("Pod", "awtest-driver", driver.metadata.uid)
                assert p.metadata.labels["app.kubernetes.io/component"] == "spark-executor"  # our template
                assert p.spec.automount_service_account_token is False
                (c,) = p.spec.containers
                assert c.image == f"{specs.stack()['images']['spark']}:{specs.stack()['images']['tag']}"
                assert c.image_pull_policy == "Always" and c.resources.requests["cpu"] == "1"
                assert c.resources.requests["memory"] == f"{1024 + int(1024 * 0.4)}Mi"  # 1g + 40 % for Python workers
                env = {e.name: e for e in c.env}
                assert env["AWS_ACCESS_KEY_ID"].value_from.secret_key_ref.name == "minio-credentials"
            (tmp / "stop").touch()
            assert proc.wait(timeout=120) == 0, (tmp / "spark.log").read_text()[-4000:]
            deadline = time.monotonic() + 60
            while admin.list_namespaced_pod(NS, label_selector="spark-role=executor").items:
                assert time.monotonic() < deadline, "executor pods outlived the application"
                time.sleep(1)
        finally:
            if proc.poll() is None:
                proc.kill()
