"""The kind cluster itself, on real clusters of both profiles (pytest -m kind; `make kind-test`): created from the
users' kind-config.yaml by hack/cluster.sh, as `make up` does. On our CI (OFFLINE=1) the node image and every system
image are built from source by hack/offline-images.sh and pulls go through the local registry's mirrors.
Needs root-level Docker, kind and kubectl (make kind-test installs them)."""

from __future__ import annotations

import json
import os

import pytest
from kubernetes import client

from support import kind
from support.kind import ROOT, docker, run, unique

pytestmark = pytest.mark.kind

K8S_VERSION = "v1.36.1"
NODES = {"default": 2, "lite": 1}


@pytest.fixture(scope="module", params=["default", "lite"])
def cluster(request):
    with kind.cluster(request.param) as c:
        timings = ROOT / "out" / "kind-test" / "timings.json"
        timings.parent.mkdir(parents=True, exist_ok=True)
        data = json.loads(timings.read_text()) if timings.exists() else {}
        data[f"cluster_create_s_{c.profile}"] = round(c.create_s, 1)
        timings.write_text(json.dumps(data, indent=2))
        yield c


def two_nodes(cluster) -> tuple[str, str]:
    if cluster.profile == "lite":
        pytest.skip("the lite profile has one node")
    names = sorted(n.metadata.name for n in cluster.nodes())
    assert names == ["airwave-control-plane", "airwave-worker"]
    return names[0], names[1]


def test_all_nodes_ready_at_the_pinned_version(cluster):
    nodes = cluster.nodes()
    assert len(nodes) == NODES[cluster.profile]
    for n in nodes:
        ready = {c.type: c.status for c in n.status.conditions}["Ready"]
        assert ready == "True", f"{n.metadata.name} not Ready"
        assert n.status.node_info.kubelet_version == K8S_VERSION
        assert n.status.node_info.container_runtime_version.startswith("containerd://2.")


def test_kubelet_and_containerd_use_the_cgroupfs_driver(cluster):
    """kind-config.yaml's patches reach every node: runc's systemd driver on cgroup v1 fails busy pod starts."""
    for n in cluster.nodes():
        name = n.metadata.name
        raw = cluster.core.connect_get_node_proxy_with_path(name, "configz", _preload_content=False).data
        assert json.loads(raw)["kubeletconfig"]["cgroupDriver"] == "cgroupfs", name
        dump = docker("exec", name, "containerd", "config", "dump")
        assert "SystemdCgroup = false" in dump and "SystemdCgroup = true" not in dump, name


def test_cluster_dns_answers(cluster):
    phase, logs = cluster.run_pod(unique("dns"), "nslookup kubernetes.default.svc.cluster.local")
    assert phase == "Succeeded", logs
    api = cluster.core.read_namespaced_service("kubernetes", "default").spec.cluster_ip
    assert api in logs


def test_pod_on_worker_reaches_pod_on_control_plane_by_ip_and_service(cluster):
    control_plane, worker = two_nodes(cluster)
    token = unique("hello")
    name = unique("web")
    cluster.core.create_namespaced_pod(
        cluster.namespace,
        client.V1Pod(
            metadata=client.V1ObjectMeta(name=name, labels={"app": name}),
            spec=client.V1PodSpec(
                node_name=control_plane,
                tolerations=[client.V1Toleration(operator="Exists")],
                containers=[
                    client.V1Container(
                        name="web",
                        image=kind.TEST_IMAGE,
                        image_pull_policy="IfNotPresent",
                        command=[
                            "sh",
                            "-c",
                            f"mkdir /www && echo {token} > /www/index.html && exec httpd -f -p 8080 -h /www",
                        ],
                        ports=[client.V1ContainerPort(container_port=8080)],
                        readiness_probe=client.V1Probe(
                            tcp_socket=client.V1TCPSocketAction(port=8080), period_seconds=1
                        ),
                    )
                ],
            ),
        ),
    )
    cluster.core.create_namespaced_service(
        cluster.namespace,
        client.V1Service(
            metadata=client.V1ObjectMeta(name=name),
            spec=client.V1ServiceSpec(selector={"app": name}, ports=[client.V1ServicePort(port=80, target_port=8080)]),
        ),
    )
    ip = cluster.ready_ip(name)
    # Retries cover the seconds until kube-proxy has programmed the new Service.
    fetch = (
        "for i in $(seq 30); do timeout 5 wget -qO- {} && exit 0; sleep 1; done; exit 1"  # (-T crashes busybox 1.35)
    )
    for url in (f"http://{ip}:8080/", f"http://{name}.{cluster.namespace}.svc.cluster.local/"):
        phase, logs = cluster.run_pod(unique("client"), fetch.format(url), node=worker)
        assert phase == "Succeeded" and token in logs, f"{url}: {logs}"


def test_pvc_on_default_storage_class_binds_and_keeps_data_across_pods(cluster):
    pvc = unique("data")
    cluster.core.create_namespaced_persistent_volume_claim(
        cluster.namespace,
        client.V1PersistentVolumeClaim(
            metadata=client.V1ObjectMeta(name=pvc),
            spec=client.V1PersistentVolumeClaimSpec(  # no storageClassName: the default class
                access_modes=["ReadWriteOnce"],
                resources=client.V1VolumeResourceRequirements(requests={"storage": "64Mi"}),
            ),
        ),
    )
    volumes = [
        client.V1Volume(name="data", persistent_volume_claim=client.V1PersistentVolumeClaimVolumeSource(claim_name=pvc))
    ]
    mounts = [client.V1VolumeMount(name="data", mount_path="/data")]
    token = unique("kept")
    phase, logs = cluster.run_pod(unique("writer"), f"echo {token} > /data/token", volumes=volumes, mounts=mounts)
    assert phase == "Succeeded", logs
    claim = cluster.core.read_namespaced_persistent_volume_claim(pvc, cluster.namespace)
    assert claim.status.phase == "Bound"
    assert cluster.core.read_persistent_volume(claim.spec.volume_name).spec.storage_class_name == "standard"
    phase, logs = cluster.run_pod(unique("reader"), "cat /data/token", volumes=volumes, mounts=mounts)
    assert phase == "Succeeded" and logs.strip() == token


@pytest.mark.parametrize("upstream", ["docker.io", "quay.io", "registry.k8s.io"])
def test_pod_pulls_an_upstream_name_through_the_local_registry(cluster, upstream):
    if os.environ.get("OFFLINE") != "1":
        pytest.skip("the registry mirrors are set up offline only (OFFLINE=1); online clusters pull upstream")
    if cluster.profile == "lite" and upstream != "docker.io":
        pytest.skip("one registry is enough for the lite profile")
    tag = unique("t")
    ref = f"{upstream}/airwave-test/mirror-check:{tag}"
    # An image of its own (a label makes its digest unique), pushed under its upstream name as offline-images does.
    run(
        "docker",
        "build",
        "-q",
        "-t",
        f"localhost:5001/{ref}",
        "-",
        env={"DOCKER_BUILDKIT": "0"},
        input=f"FROM {kind.TEST_IMAGE}\nLABEL airwave.test={tag}\n",
    )
    docker("push", f"localhost:5001/{ref}")
    try:
        digest = docker("inspect", "-f", "{{index .RepoDigests 0}}", f"localhost:5001/{ref}").strip().split("@")[1]
        name = unique("pull")
        phase, logs = cluster.run_pod(name, f"echo pulled {tag}", image=ref, pull="Always")
    finally:
        docker("rmi", f"localhost:5001/{ref}")
    assert phase == "Succeeded" and f"pulled {tag}" in logs
    # The kubelet ran exactly what the local registry holds under that name.
    status = cluster.core.read_namespaced_pod(name, cluster.namespace).status.container_statuses[0]
    assert status.image_id == f"{ref.rsplit(':', 1)[0]}@{digest}"


def test_cluster_sh_status_reports_the_cluster(cluster):
    out = run("hack/cluster.sh", "status").stdout
    assert "cluster:  airwave" in out and "registry: running" in out
    for n in cluster.nodes():
        assert n.metadata.name in out


def test_make_down_leaves_no_container_network_or_registry(cluster):
    run("make", "down")
    assert docker("ps", "-a", "-q", "--filter", "label=io.x-k8s.kind.cluster=airwave").strip() == ""
    assert docker("ps", "-a", "-q", "--filter", "name=^kind-registry$").strip() == ""
    assert "kind" not in docker("network", "ls", "--format", "{{.Name}}").split()
    assert "absent" in run("hack/cluster.sh", "status").stdout
