#!/usr/bin/env python3
"""The Kubernetes Spark backend end to end, on one machine with Docker but no cluster (our CI has no registry, so
no kind node image): the asr_pipeline stages run as the operator would run them on Kubernetes, with a real API
server, the real Spark image and a real MinIO; only the kubelet is a stand-in.

- kube-apiserver + etcd (hack/localstack.py) on :443 hold the stack's base manifests; MinIO on :9000 uses the
  sandbox Secret's credentials and holds sample_data/.
- Each stage's driver pod is the one `specs.driver_pod_spec` builds, created as the airflow-worker account (what
  KubernetesPodOperator does). Spark in it, authenticated as spark-driver, creates the executor pods.
- The stand-in kubelet (`DockerKubelet`) runs every pod the API server holds as a `docker run --network host`
  container of its image: env (values, downward API, Secret and ConfigMap refs), `$(VAR)` expansion in args,
  ConfigMap volumes, the service-account token mount; it reports the pod Running/Succeeded/Failed and removes the
  container when the pod is deleted. Service names resolve to 127.0.0.1 (`--add-host`).

    DOCKER_HOST=... .venv/bin/python hack/k8s_backend_check.py [--image localhost:5001/airwave-spark:dev]
Needs: root (port 443), Docker with the Spark image (hack/image.sh spark), hack/tools.sh minio apiserver.
Exit 0 only if every stage succeeds, executor pods came and went, and every sample call has a transcript; the
WER against the references is printed. Measured on the 2-core CI machine: PASS in about 3 min (10 transcripts).
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml
from kubernetes import client
from kubernetes.dynamic import DynamicClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
import localstack  # noqa: E402

from airwave.airflow import specs  # noqa: E402

ROOT = localstack.ROOT
STACK = localstack.STACK
NS = STACK["namespace"]
SA_DIR = specs.SA_DIR
# Like a pod's /etc/hosts and cluster DNS: the (shared, host-network) hostname and the service names Spark and
# airwave call resolve to this machine.
HOSTS = [socket.gethostname(), "kubernetes.default.svc", f"{STACK['minio']['service']}.{NS}.svc.cluster.local"]


def log(msg: str) -> None:
    print(f"[k8s-check {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def api(url: str, token: str, ca: str, as_user: str | None = None) -> client.ApiClient:
    cfg = client.Configuration()
    cfg.host, cfg.ssl_ca_cert, cfg.api_key = url, ca, {"authorization": f"Bearer {token}"}
    c = client.ApiClient(cfg)
    if as_user:
        c.set_default_header("Impersonate-User", as_user)
    return c


class DockerKubelet:
    """Runs the namespace's pods as host-network containers (see the module doc)."""

    def __init__(self, core: client.CoreV1Api, ca: str, workdir: Path):
        self.core, self.ca, self.workdir = core, ca, workdir
        self.running: dict[str, str] = {}  # pod name -> container id
        self.seen: set[str] = set()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def resolve_env(self, pod, c) -> dict[str, str]:
        env: dict[str, str] = {}
        for src in c.env_from or []:
            ref = src.secret_ref or src.config_map_ref
            data = self.data("secret" if src.secret_ref else "configmap", ref.name)
            env.update({(src.prefix or "") + k: v for k, v in data.items()})
        for e in c.env or []:
            if e.value is not None:
                env[e.name] = re.sub(r"\$\((\w+)\)", lambda m: env.get(m.group(1), m.group(0)), e.value)
            elif e.value_from and e.value_from.field_ref:
                env[e.name] = {"status.podIP": "127.0.0.1", "metadata.name": pod.metadata.name,
                               "metadata.namespace": NS}[e.value_from.field_ref.field_path]
            elif e.value_from and (ref := e.value_from.secret_key_ref or e.value_from.config_map_key_ref):
                env[e.name] = self.data("secret" if e.value_from.secret_key_ref else "configmap", ref.name)[ref.key]
        return env

    def data(self, kind: str, name: str) -> dict[str, str]:
        if kind == "secret":
            s = self.core.read_namespaced_secret(name, NS)
            return {k: base64.b64decode(v).decode() for k, v in (s.data or {}).items()}
        return dict(self.core.read_namespaced_config_map(name, NS).data or {})

    def start(self, pod) -> None:
        name, (c,) = pod.metadata.name, pod.spec.containers
        env = self.resolve_env(pod, c)
        expand = lambda s: re.sub(r"\$\((\w+)\)", lambda m: env.get(m.group(1), m.group(0)), s)  # noqa: E731
        mounts = []
        vols = {v.name: v for v in pod.spec.volumes or []}
        for vm in c.volume_mounts or []:
            v, d = vols[vm.name], self.workdir / name / vm.name
            d.mkdir(parents=True, exist_ok=True)
            d.chmod(0o777)  # an emptyDir is writable by the container's (non-root) user
            if v.config_map:
                data = self.data("configmap", v.config_map.name)
                for item in v.config_map.items or [client.V1KeyToPath(key=k, path=k) for k in data]:
                    (d / item.path).write_text(data[item.key])
            elif v.projected:  # the service-account token volume the ServiceAccount admission plugin added
                req = client.AuthenticationV1TokenRequest(spec=client.V1TokenRequestSpec(audiences=[]))
                tok = self.core.create_namespaced_service_account_token(pod.spec.service_account_name, NS, req)
                (d / "token").write_text(tok.status.token)
                (d / "ca.crt").write_text(Path(self.ca).read_text())
                (d / "namespace").write_text(NS)
            mounts += ["-v", f"{d}:{vm.mount_path}"]
        cmd = ["docker", "run", "-d", "--network", "host", "--name", f"k8s-{name}",
               *[a for h in HOSTS for a in ("--add-host", f"{h}:127.0.0.1")], *mounts,
               *[a for k, v in env.items() for a in ("-e", f"{k}={v}")]]
        if c.command:
            cmd += ["--entrypoint", c.command[0], c.image, *map(expand, c.command[1:])]
        else:
            cmd += [c.image]
        cmd += [expand(a) for a in c.args or []]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode:
            log(f"kubelet: pod {name} failed to start: {r.stderr.strip()}")
            self.set_phase(name, "Failed")
            return
        self.running[name] = r.stdout.strip()
        self.set_phase(name, "Running")
        log(f"kubelet: started pod {name}")

    def set_phase(self, name: str, phase: str) -> None:
        body = {"status": {"phase": phase, "podIP": "127.0.0.1", "hostIP": "127.0.0.1",
                           "conditions": [{"type": "Ready", "status": "True" if phase == "Running" else "False"}]}}
        try:
            self.core.patch_namespaced_pod_status(name, NS, body)
        except client.ApiException as e:
            if e.status != 404:
                raise

    def loop(self) -> None:
        while not self.stop.is_set():
            pods = {p.metadata.name: p for p in self.core.list_namespaced_pod(NS).items}
            for name, p in pods.items():
                if name not in self.seen and p.status.phase in (None, "Pending"):
                    self.seen.add(name)
                    self.start(p)
            for name in list(self.running):
                cid = self.running[name]
                if name not in pods:  # deleted in the API: stop the container, like a kubelet
                    subprocess.run(["docker", "rm", "-f", cid], capture_output=True)
                    del self.running[name]
                    log(f"kubelet: removed pod {name}")
                    continue
                state = subprocess.run(["docker", "inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", cid],
                                       capture_output=True, text=True).stdout.split()
                if state and state[0] == "exited" and pods[name].status.phase == "Running":
                    self.set_phase(name, "Succeeded" if state[1] == "0" else "Failed")
            self.stop.wait(1)

    def logs(self, name: str) -> str:
        return subprocess.run(["docker", "logs", f"k8s-{name}"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True).stdout

    def cleanup(self) -> None:
        self.stop.set()
        self.thread.join(timeout=30)
        out = subprocess.run(["docker", "ps", "-aq", "--filter", "name=^k8s-"], capture_output=True, text=True)
        if ids := out.stdout.split():
            subprocess.run(["docker", "rm", "-f", *ids], capture_output=True)


def run_stage(core_admin, worker_core, kubelet, image: str, stage: str, app_args: list[str],
              shape: specs.ClusterShape) -> tuple[bool, int]:
    name = f"awcheck-{stage}"
    # All "pods" share this machine's one IP here, so Spark would take executors for neighbours on one host and
    # read each other's shuffle files from disk; they live in separate containers. Real pods have their own IPs.
    conf = specs.kubernetes_spark_conf(app_name=name, shape=shape, pod_name_prefix=name, image=image,
                                       extra={"spark.shuffle.readHostLocalDisk": "false"})
    pod = specs.driver_pod_spec(args=specs.driver_container_args(conf, app_args, app_name=name), shape=shape,
                                image=image)
    pod["metadata"]["name"] = f"{name}-driver"
    worker_core.create_namespaced_pod(NS, pod)  # as the airflow-worker account, like KubernetesPodOperator
    executors: set[str] = set()
    while (phase := core_admin.read_namespaced_pod(pod["metadata"]["name"], NS).status.phase) not in (
            "Succeeded", "Failed"):
        executors |= {p.metadata.name for p in core_admin.list_namespaced_pod(
            NS, label_selector="spark-role=executor").items}
        time.sleep(2)
    ok = phase == "Succeeded"
    log(f"stage {stage}: driver {phase}; executor pods seen: {sorted(executors)}")
    if not ok:
        print(kubelet.logs(pod["metadata"]["name"])[-6000:])
    return ok, len(executors)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--image", default=f"{STACK['images']['spark']}:{STACK['images']['tag']}")
    a = ap.parse_args()
    secret = next(d for d in yaml.safe_load_all((ROOT / "stack/minio/secret.yaml").read_text()))["stringData"]
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="airwave-k8s-check-") as t:
        tmp = Path(t)
        with localstack.minio(tmp / "minio", ["raw", "runs"], port=STACK["minio"]["port"],
                              user=secret["AWS_ACCESS_KEY_ID"], password=secret["AWS_SECRET_ACCESS_KEY"]) as s3env, \
                localstack.apiserver(tmp / "api", port=443) as (url, token, ca):
            localstack.s3(s3env, "upload", str(ROOT / "sample_data"), "s3://raw/sample_data/")
            admin = api(url, token, ca)
            dyn = DynamicClient(admin)
            rendered = [d for d in yaml.safe_load_all(subprocess.run(
                [str(localstack.TOOLS_BIN / "kustomize"), "build", str(ROOT / "stack/base")], check=True,
                capture_output=True, text=True).stdout) if d]
            for obj in rendered:
                if obj["kind"] in ("Deployment", "Job"):
                    continue  # Airflow, MinIO, git server: not what this check is about (no images for them here)
                res = dyn.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
                res.create(body=obj, namespace=NS if res.namespaced else None)
            core = client.CoreV1Api(admin)
            worker = client.CoreV1Api(api(url, token, ca, f"system:serviceaccount:{NS}:airflow-worker"))
            kubelet = DockerKubelet(core, ca, tmp / "pods")
            kubelet.thread.start()
            try:
                out = "s3a://runs/k8s-check"
                stages = [("preprocess", ["stage", "preprocess", "--input", "s3a://raw/sample_data/", "--out", out]),
                          ("transcribe", ["stage", "transcribe", "--out", out]),
                          ("postprocess", ["stage", "postprocess", "--out", out])]
                for stage, args in stages:
                    t0 = time.monotonic()
                    ok, n = run_stage(core, worker, kubelet, a.image, stage, args,
                                      specs.ClusterShape(executors=2, executor_cores=1, executor_memory="2g",
                                                         driver_memory="1g"))
                    log(f"stage {stage}: {time.monotonic() - t0:.0f} s")
                    if not ok:
                        failures.append(f"stage {stage} failed")
                        break
                    if n == 0:
                        failures.append(f"stage {stage}: no executor pods")
                deadline = time.monotonic() + 60
                while (left := core.list_namespaced_pod(NS, label_selector="spark-role=executor").items) and \
                        time.monotonic() < deadline:
                    time.sleep(2)
                if left:
                    failures.append(f"executor pods left: {[p.metadata.name for p in left]}")
                listing = localstack.s3(s3env, "ls", "s3://runs/k8s-check/calls/")
                calls = json.loads((ROOT / "sample_data/manifest.json").read_text())["calls"]
                missing = [c for c in calls if f"/calls/{Path(c).stem}.json" not in listing]
                log(f"transcripts in MinIO: {listing.count('.json')}; missing: {missing}")
                if missing:
                    failures.append(f"no transcript for {missing}")
                r = subprocess.run([sys.executable, "-m", "airwave", "eval", out, "--refs",
                                    "s3a://raw/sample_data/manifest.json"], env={**os.environ, **s3env},
                                   capture_output=True, text=True)
                overall = [ln for ln in r.stdout.splitlines() if ln.startswith("WER overall")]
                log(f"eval: {overall[0] if overall else r.stdout[-500:] + r.stderr[-500:]}")
            finally:
                kubelet.cleanup()
    for f in failures:
        log(f"FAIL: {f}")
    log("PASS" if not failures else f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
