"""A real kind cluster for the tests, made the way `make up` makes it (hack/cluster.sh), plus a small pod runner on
the official Kubernetes client. OFFLINE=1 (our CI) uses our node image and the registry mirrors."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from kubernetes import client, config
from kubernetes.client.rest import ApiException

ROOT = Path(__file__).resolve().parents[2]
CONTEXT = "kind-airwave"
# Preloaded in our node image; online clusters pull the upstream image instead.
TEST_IMAGE = os.environ.get("KIND_TEST_IMAGE") or (
    "localhost/airwave-busybox:1.35.0" if os.environ.get("OFFLINE") == "1" else "docker.io/library/busybox:1.37.0"
)


def run(
    *cmd: str, env: dict | None = None, input: str | None = None, timeout: float = 900
) -> subprocess.CompletedProcess:
    """Run a command from the checkout; fail with its output."""
    p = subprocess.run(
        cmd, cwd=ROOT, env={**os.environ, **(env or {})}, input=input, capture_output=True, text=True, timeout=timeout
    )
    if p.returncode:
        raise AssertionError(f"{' '.join(cmd)} exited {p.returncode}\n{p.stdout[-4000:]}\n{p.stderr[-4000:]}")
    return p


def docker(*args: str) -> str:
    return run("docker", *args).stdout


@dataclass
class Cluster:
    profile: str
    core: client.CoreV1Api
    namespace: str
    create_s: float

    def nodes(self) -> list[client.V1Node]:
        return self.core.list_node().items

    def run_pod(
        self,
        name: str,
        script: str,
        *,
        node: str | None = None,
        image: str = TEST_IMAGE,
        pull: str = "IfNotPresent",
        volumes: list | None = None,
        mounts: list | None = None,
        timeout: float = 180,
    ) -> tuple[str, str]:
        """Run `sh -c script` in a pod to completion; return (phase, logs)."""
        pod = client.V1Pod(
            metadata=client.V1ObjectMeta(name=name),
            spec=client.V1PodSpec(
                restart_policy="Never",
                node_name=node,
                volumes=volumes,
                tolerations=[client.V1Toleration(operator="Exists")],
                containers=[
                    client.V1Container(
                        name="main",
                        image=image,
                        image_pull_policy=pull,
                        command=["sh", "-c", script],
                        volume_mounts=mounts,
                    )
                ],
            ),
        )
        self.core.create_namespaced_pod(self.namespace, pod)
        phase = self.wait_pod(name, ("Succeeded", "Failed"), timeout)
        # raw bytes: the client's own decoding hands back "b'...'" for some logs
        log = self.core.read_namespaced_pod_log(name, self.namespace, _preload_content=False)
        return phase, log.data.decode()

    def wait_pod(self, name: str, phases: tuple[str, ...], timeout: float = 180) -> str:
        deadline = time.monotonic() + timeout
        while True:
            pod = self.core.read_namespaced_pod(name, self.namespace)
            if pod.status.phase in phases:
                return pod.status.phase
            if time.monotonic() > deadline:
                events = self.core.list_namespaced_event(
                    self.namespace, field_selector=f"involvedObject.name={name}"
                ).items
                raise AssertionError(
                    f"pod {name} is {pod.status.phase}, not {phases}, after {timeout}s: "
                    + "; ".join(f"{e.reason}: {e.message}" for e in events)
                )
            time.sleep(1)

    def ready_ip(self, name: str, timeout: float = 180) -> str:
        """Wait until the pod is Ready; its pod IP."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pod = self.core.read_namespaced_pod(name, self.namespace)
            if any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or []):
                return pod.status.pod_ip
            time.sleep(1)
        raise AssertionError(f"pod {name} not Ready after {timeout}s")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


@contextmanager
def cluster(profile: str) -> Iterator[Cluster]:
    """`hack/cluster.sh up` for the profile (default: 2 nodes, lite: 1), then `hack/cluster.sh down`."""
    env = {"AIRWAVE_PROFILE": "" if profile == "default" else profile}
    run("hack/cluster.sh", "down", env=env)  # a leftover cluster of the other profile would be reused
    start = time.monotonic()
    try:
        try:
            run("hack/cluster.sh", "up", env=env)
        except AssertionError:  # keep what the nodes logged, for CI
            subprocess.run(
                [
                    os.environ.get("KIND", str(ROOT / ".tools/bin/kind")),
                    "export",
                    "logs",
                    str(ROOT / "out/kind-logs"),
                    "--name",
                    "airwave",
                ],
                capture_output=True,
            )
            raise
        created = time.monotonic() - start
        core = client.CoreV1Api(config.new_client_from_config(context=CONTEXT))
        ns = unique("kind-test")
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
        wait_default_service_account(core, ns)
        yield Cluster(profile, core, ns, created)
    finally:
        if os.environ.get("KIND_TEST_KEEP") != "1":
            run("hack/cluster.sh", "down", env=env)


def wait_default_service_account(core: client.CoreV1Api, ns: str, timeout: float = 60) -> None:
    """Pods are refused until the controller manager has made the namespace's default ServiceAccount."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            core.read_namespaced_service_account("default", ns)
            return
        except ApiException as e:
            if e.status != 404 or time.monotonic() > deadline:
                raise
            time.sleep(1)
