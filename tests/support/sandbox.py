"""The running sandbox (`make up`) as the e2e tests see it, through the ecosystem's clients: Airflow's REST API with
the official `apache-airflow-client`, MinIO with pyarrow's S3 filesystem (the cluster's own credentials, never the
user's AWS ones), pods with the official Kubernetes client."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests
from airflow_client import client as af
from kubernetes import client as k8s
from kubernetes import config as kconfig
from pyarrow import fs as pafs

from . import stackfiles
from .s3 import cluster_credentials, filesystem

ROOT = Path(__file__).resolve().parents[2]
STACK = stackfiles.STACK  # defaults.json + sandbox.json
NS = STACK["namespace"]
CONTEXT = f"kind-{STACK['cluster_name']}"
AIRFLOW_URL = f"http://localhost:{STACK['airflow']['host_port']}"
# The tasks whose work runs on Spark executors (evaluate goes through the same operator but is plain Python in its
# driver pod: it starts no executors).
SPARK_TASKS = ("preprocess", "transcribe", "postprocess")


def log(msg: str) -> None:
    print(f"[e2e {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def api_client() -> k8s.ApiClient:
    return kconfig.new_client_from_config(context=CONTEXT)


def kube() -> k8s.CoreV1Api:
    return k8s.CoreV1Api(api_client())


class Airflow:
    """Airflow 3's public REST API (SimpleAuthManager admin/admin: a JWT from /auth/token, then the official client)."""

    def __init__(self, base: str = AIRFLOW_URL, user: str = "admin", password: str = "admin"):
        self.base = base
        r = requests.post(f"{base}/auth/token", json={"username": user, "password": password}, timeout=30)
        r.raise_for_status()
        self.client = af.ApiClient(af.Configuration(host=base, access_token=r.json()["access_token"]))
        self.dags = af.DAGApi(self.client)
        self.runs = af.DagRunApi(self.client)
        self.tis = af.TaskInstanceApi(self.client)
        self.import_errors = af.ImportErrorApi(self.client)

    def wait_dag(self, dag_id: str, timeout: float) -> float:
        """Seconds until the API knows the DAG (the dag-processor parsed it)."""
        t0 = time.monotonic()
        while True:
            try:
                self.dags.get_dag(dag_id)
                return time.monotonic() - t0
            except af.ApiException as e:
                if e.status != 404 or time.monotonic() - t0 > timeout:
                    raise
            time.sleep(0.5)

    def trigger(self, dag_id: str, conf: dict) -> str:
        self.dags.patch_dag(dag_id, af.DAGPatchBody(is_paused=False))
        run = self.runs.trigger_dag_run(dag_id, af.TriggerDAGRunPostBody(logical_date=None, conf=conf))
        return run.dag_run_id

    def run_state(self, dag_id: str, run_id: str) -> str:
        return str(self.runs.get_dag_run(dag_id, run_id).state.value)

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str]:
        tis = self.tis.get_task_instances(dag_id, run_id).task_instances
        return {ti.task_id: (ti.state.value if ti.state else "none") for ti in tis}

    def wait_run(self, dag_id: str, run_id: str, timeout: float, on_poll=None) -> str:
        t0 = time.monotonic()
        while True:
            state = self.run_state(dag_id, run_id)
            if state in ("success", "failed"):
                return state
            if time.monotonic() - t0 > timeout:
                return f"still {state} after {timeout:.0f} s"
            if on_poll:
                on_poll()
            time.sleep(3)


def minio() -> pafs.S3FileSystem:
    """MinIO through its host port, with the credentials of the cluster's Secret."""
    return filesystem(STACK["minio"]["host_endpoint"], cluster_credentials(api_client()))


def read_json(fs: pafs.FileSystem, path: str) -> dict:
    with fs.open_input_stream(path) as f:
        return json.loads(f.read())


def list_files(fs: pafs.FileSystem, path: str) -> list[str]:
    try:
        infos = fs.get_file_info(pafs.FileSelector(path, recursive=True))
    except FileNotFoundError:
        return []
    return sorted(i.path for i in infos if i.type == pafs.FileType.File)


@dataclass
class PodRecord:
    name: str
    role: str  # executor | driver | worker
    node: str | None
    owner: str | None  # the pod that owns it (executors: their driver)
    task_id: str | None
    run_id: str | None
    labels: dict = field(default_factory=dict)
    created: float | None = None  # epoch seconds
    running: float | None = None  # when its container started running
    images: list[str] = field(default_factory=list)
    phase: str | None = None
    ended: str = ""  # each terminated (init) container: name, exit code, reason and message


def classify(p: k8s.V1Pod) -> PodRecord | None:
    labels = p.metadata.labels or {}
    owners = [o.name for o in (p.metadata.owner_references or []) if o.kind == "Pod"]
    ann = p.metadata.annotations or {}
    if labels.get("spark-role") == "executor":
        role = "executor"
    elif labels.get("kubernetes_executor") == "True":
        role = "worker"
    elif labels.get("app.kubernetes.io/component") == "spark-driver" or labels.get("kubernetes_pod_operator"):
        role = "driver"
    else:
        return None
    started = [
        cs.state.running.started_at
        for cs in (p.status.container_statuses or [])
        if cs.state and cs.state.running and cs.state.running.started_at
    ]
    return PodRecord(
        p.metadata.name,
        role,
        p.spec.node_name,
        owners[0] if owners else None,
        labels.get("task_id") or ann.get("task_id"),
        labels.get("run_id") or ann.get("run_id"),
        labels,
        p.metadata.creation_timestamp.timestamp() if p.metadata.creation_timestamp else None,
        started[0].timestamp() if started else None,
        [c.image for c in p.spec.containers],
        p.status.phase,
        "; ".join(
            f"{cs.name} exit {t.exit_code} {t.reason or ''} {(t.message or '')[-200:]}".strip()
            for cs in [*(p.status.init_container_statuses or []), *(p.status.container_statuses or [])]
            if cs.state and (t := cs.state.terminated) and (t.exit_code or t.message)
        ),
    )


class PodWatch:
    """Polls the namespace every `period` s in the background and keeps every Spark/worker pod it has seen (the
    latest view of each): what ran where and who owned it, for asserting after the run."""

    def __init__(self, period: float = 2.0):
        self.core = kube()
        self.seen: dict[str, PodRecord] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self.period = period

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                for p in self.core.list_namespaced_pod(NS).items:
                    rec = classify(p)
                    if rec:
                        old = self.seen.get(rec.name)
                        if old and old.running and not rec.running:
                            rec.running = old.running  # keep what we saw (a finished pod has no running state)
                        self.seen[rec.name] = rec
            except Exception as e:  # noqa: BLE001 (a blip of the API server must not end the watch)
                log(f"pod watch: {e}")
            self._stop.wait(self.period)

    def __enter__(self) -> PodWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def role(self, role: str) -> list[PodRecord]:
        return [r for r in list(self.seen.values()) if r.role == role]


def spark_image(apps: k8s.AppsV1Api) -> tuple[str, bool]:
    """The Spark image the scheduler hands to every new task (AIRWAVE_SPARK_IMAGE, which Tilt rewrites after each
    build of airwave-spark), and whether the scheduler running with it is rolled out and available."""
    d = apps.read_namespaced_deployment("airflow-scheduler", NS)
    (c,) = [c for c in d.spec.template.spec.containers if c.name == "scheduler"]
    image = {e.name: e.value for e in c.env or []}["AIRWAVE_SPARK_IMAGE"]
    s = d.status
    ready = (s.observed_generation or 0) >= d.metadata.generation and (
        (s.updated_replicas or 0) == (s.available_replicas or 0) == (s.replicas or 0) == d.spec.replicas
    )
    return image, ready


TILT = os.environ.get("TILT") or str(ROOT / ".tools" / "bin" / "tilt")
TILT_PORT = int(os.environ.get("TILT_PORT") or 10350)


def tilt_idle() -> bool | None:
    """Whether the `tilt up` serving TILT_PORT has finished every update it started (None: no Tilt there). A failed
    update is an error, not idle."""
    p = subprocess.run(
        [TILT, "get", "session", "Tiltfile", "--port", str(TILT_PORT), "-o", "json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if p.returncode:
        return None
    targets = json.loads(p.stdout)["status"].get("targets", [])
    updates = [t for t in targets if t["name"].endswith(":update")]
    failed = [t["name"] for t in updates if (t["state"].get("terminated") or {}).get("error")]
    assert not failed, f"Tilt updates failed: {failed} (see the Tilt UI or its log)"
    loaded = any(t["name"] == "tiltfile:update" and "terminated" in t["state"] for t in updates)
    return loaded and not [t for t in updates if "waiting" in t["state"] or "active" in t["state"]]


@contextmanager
def tilt_up(log_path: Path, timeout: float = 900):
    """A `tilt up` on the sandbox for the duration, as a reader's `make up` leaves running: the one already serving
    TILT_PORT, or one started here (and stopped after; stopping Tilt leaves the cluster as it is). Yields once Tilt
    has nothing left to update, and waits for that again before leaving."""

    def settle() -> None:
        t0 = time.monotonic()
        while not tilt_idle():
            assert proc is None or proc.poll() is None, f"tilt up exited; see {log_path}"
            assert time.monotonic() - t0 < timeout, f"Tilt still updating after {timeout:.0f} s; see {log_path}"
            time.sleep(2)

    proc = None
    if tilt_idle() is None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("w") as out:
            cmd = [TILT, "up", "--file", "Tiltfile", "--port", str(TILT_PORT)]
            proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        log(f"started tilt up (log: {log_path})")
        time.sleep(5)  # its first session: before that `tilt get session` finds nothing, or nothing started yet
    try:
        settle()
        yield
        time.sleep(5)  # Tilt's file watcher needs a moment to see the last edits (and their undoing)
        settle()
    finally:
        if proc:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(60)


def live_pods(core: k8s.CoreV1Api) -> list[PodRecord]:
    return [r for p in core.list_namespaced_pod(NS).items if (r := classify(p))]


# -- python -m tests.support.sandbox: the tutorial's commands on the running sandbox (docs/tutorial/04, 05) --------
LAST_RUN = ROOT / "out" / "tutorial" / "last_run.json"


def _cli(argv: list[str] | None = None) -> int:
    import argparse

    from airwave import layout
    from airwave.cluster.specs import safe_run_id

    p = argparse.ArgumentParser(prog="python -m tests.support.sandbox")
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("trigger", help="trigger a DAG run (as the UI's Trigger button does) and wait for its end")
    t.add_argument("dag_id")
    t.add_argument("--conf", default="{}", help="the run's conf, JSON")
    t.add_argument("--wait", type=float, default=1800, help="seconds to wait for the run to end")
    c = sub.add_parser("check-run", help="the last triggered run: every task succeeded, its transcripts in MinIO")
    c.add_argument("dag_id")
    c.add_argument("--transcripts", type=int, default=0, help="JSON transcripts expected under its calls/")
    c.add_argument("--spark-image", help="every Spark driver and executor pod of the run ran exactly this image")
    u = sub.add_parser("check-ui", help="the last run in the Airflow UI (headless Chromium): every task success")
    u.add_argument("dag_id")
    u.add_argument("--screenshot", type=Path, help="save the run's page as this PNG")
    m = sub.add_parser("check-console", help="the last run's transcripts in MinIO's console (headless Chromium)")
    m.add_argument("dag_id")
    m.add_argument("--transcripts", type=int, required=True, help="JSON transcripts the console must list")
    m.add_argument("--screenshot", type=Path, help="save the listing as this PNG")
    w = sub.add_parser("wait-dag", help="wait until Airflow has parsed a DAG")
    w.add_argument("dag_id")
    w.add_argument("--timeout", type=float, default=120)
    i = sub.add_parser("spark-image", help="the Spark image the next task gets (what Tilt deployed last)")
    i.add_argument("--changed-from", metavar="IMAGE", help="first wait until it is another image, rolled out")
    i.add_argument("--timeout", type=float, default=900)
    a = p.parse_args(argv)
    if a.cmd == "spark-image":
        apps, t0 = k8s.AppsV1Api(api_client()), time.monotonic()
        while True:
            image, ready = spark_image(apps)
            if ready and image != a.changed_from:
                break
            assert time.monotonic() - t0 < a.timeout, f"still {image} (rolled out: {ready}) after {a.timeout:.0f} s"
            time.sleep(2)
        print(image)
        if a.changed_from:
            print(f"rolled out after {time.monotonic() - t0:.0f} s", file=sys.stderr)
        return 0
    airflow = Airflow()
    if a.cmd == "wait-dag":
        print(f"{a.dag_id} parsed after {airflow.wait_dag(a.dag_id, a.timeout):.1f} s")
        return 0
    if a.cmd == "trigger":
        with PodWatch() as watch:
            run_id = airflow.trigger(a.dag_id, json.loads(a.conf))
            LAST_RUN.parent.mkdir(parents=True, exist_ok=True)
            LAST_RUN.write_text(json.dumps({"dag_id": a.dag_id, "run_id": run_id}))  # checkable if interrupted
            print(f"triggered {a.dag_id} run {run_id}", flush=True)
            state = airflow.wait_run(a.dag_id, run_id, a.wait)
        # What each of its Spark pods ran (they are gone once the run ends): for check-run --spark-image.
        spark = {p.name: p.images for p in watch.seen.values() if p.role in ("driver", "executor")}
        LAST_RUN.write_text(json.dumps({"dag_id": a.dag_id, "run_id": run_id, "spark_pods": spark}))
        print(f"{run_id}: {state}; tasks {airflow.task_states(a.dag_id, run_id)}")
        return 0 if state == "success" else 1
    last = json.loads(LAST_RUN.read_text())
    assert last["dag_id"] == a.dag_id, f"the last triggered run is of {last['dag_id']}"
    run_id = last["run_id"]
    # The sandbox's runs_base is s3a://runs: bucket `runs`, the run under runs/<run id>/ in it.
    calls = layout.transcripts(f"runs/{safe_run_id(run_id)}")
    if a.cmd == "check-run":
        states = airflow.task_states(a.dag_id, run_id)
        bad = {k: v for k, v in states.items() if v not in ("success", "skipped")}
        assert states and not bad, f"{run_id}: tasks not successful: {bad or states}"
        found = [f for f in list_files(minio(), f"runs/{calls}") if f.endswith(".json")]
        assert len(found) >= a.transcripts, f"{len(found)} transcripts in MinIO, expected {a.transcripts}"
        print(f"{run_id}: {len(states)} tasks succeeded; {len(found)} transcripts in MinIO")
        if a.spark_image:
            pods = last.get("spark_pods") or {}
            other = {name: images for name, images in pods.items() if images != [a.spark_image]}
            assert pods and not other, f"Spark pods of {run_id} not on {a.spark_image}: {other or 'none seen'}"
            print(f"its {len(pods)} Spark driver and executor pods all ran {a.spark_image}")
        return 0
    from . import ui  # the browser, only here

    if a.cmd == "check-console":
        console = f"http://localhost:{STACK['minio']['console_host_port']}"
        with ui.browser(height=1000) as d:
            ui.minio_login(d, console, *cluster_credentials(api_client()))
            names = ui.minio_objects(d, console, "runs", calls + "/", ".json")
            if a.screenshot:
                ui.screenshot(d, a.screenshot)
        assert len(names) == a.transcripts, f"the console lists {len(names)} transcripts: {sorted(names)}"
        print(f"MinIO's console lists {len(names)} transcripts under runs/{calls}/")
        return 0
    with ui.browser() as d:
        ui.login(d, airflow.base, "admin", "admin")
        shown = ui.run_states(d, airflow.base, a.dag_id, run_id, tasks=len(airflow.task_states(a.dag_id, run_id)))
        if a.screenshot:
            ui.screenshot(d, a.screenshot)
    bad = {k: v for k, v in shown.items() if v.lower() not in ("success", "skipped")}
    assert not bad, f"the UI shows tasks of {run_id} not successful: {bad}"
    print(f"the Airflow UI shows {run_id}: {shown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(_cli())
