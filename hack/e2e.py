#!/usr/bin/env python3
"""End-to-end check of the running kind stack (`make e2e`), standard library + kubectl only.

1. logs in to Airflow's REST API (localhost:8080, SimpleAuthManager admin/admin),
2. optionally measures save-DAG -> parsed latency (--measure-dag-sync): pushes a probe DAG to the git
   server and polls the API until the dag-processor has it,
3. triggers `asr_pipeline` on the sample calls in MinIO, waits for the run (watching Spark executor pods),
4. asserts: run succeeded; a JSON transcript per sample call under the run's prefix in MinIO;
   executor pods were created during the run and are all gone afterwards (owned by the driver pod).
Exit code 0 only if every assertion holds.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import s3  # noqa: E402  (hack/s3.py)

ROOT = Path(__file__).resolve().parents[1]
STACK = json.loads((ROOT / "src" / "airwave" / "stack.json").read_text())
NS = STACK["namespace"]
CTX = f"kind-{STACK['cluster_name']}"
API = os.environ.get("AIRWAVE_AIRFLOW_URL", f"http://localhost:{STACK['airflow']['host_port']}")
KUBECTL = os.environ.get("KUBECTL", "kubectl")
DAG_ID = "asr_pipeline"


def log(msg: str) -> None:
    print(f"[e2e {time.strftime('%H:%M:%S')}] {msg}", flush=True)


class Airflow:
    def __init__(self, base: str, user: str, password: str):
        self.base = base.rstrip("/")
        body = json.dumps({"username": user, "password": password}).encode()
        req = urllib.request.Request(f"{self.base}/auth/token", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            self.token = json.load(r)["access_token"]

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        req = urllib.request.Request(f"{self.base}/api/v2{path}", method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": f"Bearer {self.token}",
                                              "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.load(r)

    def wait_dag(self, dag_id: str, timeout: float) -> float:
        t0 = time.monotonic()
        while True:
            try:
                self.call("GET", f"/dags/{dag_id}")
                return time.monotonic() - t0
            except urllib.error.HTTPError as e:
                if e.code != 404 or time.monotonic() - t0 > timeout:
                    raise
            time.sleep(0.5)


def kubectl(*args: str) -> str:
    return subprocess.run([KUBECTL, "--context", CTX, "-n", NS, *args], check=True, capture_output=True,
                          text=True).stdout


def pods(selector: str) -> set[str]:
    return set(kubectl("get", "pods", "-l", selector, "-o", "jsonpath={.items[*].metadata.name}").split())


def executor_pods() -> set[str]:
    return pods("spark-role=executor")


def measure_dag_sync(af: Airflow, timeout: float) -> float:
    """Seconds from `git push` of a new DAG file to the API listing it (push included)."""
    remote = f"http://localhost:{STACK['git_server']['host_port']}/{STACK['git_server']['repo']}"
    branch = STACK["git_server"]["branch"]
    dag_id = f"airwave_sync_probe_{int(time.time())}"
    with tempfile.TemporaryDirectory() as tmp:
        git = ["git", "-C", tmp, "-c", "user.name=e2e", "-c", "user.email=e2e@localhost"]
        subprocess.run(["git", "clone", "-q", "--depth", "1", "-b", branch, remote, tmp], check=True)
        probe = Path(tmp, "dags", "airwave_sync_probe.py")
        probe.write_text(
            "from airflow.sdk import DAG\n"
            f"with DAG({dag_id!r}, schedule=None, tags=['probe']):\n    pass\n")
        subprocess.run([*git, "add", "-A"], check=True)
        subprocess.run([*git, "commit", "-qm", "e2e: DAG sync probe"], check=True)
        t0 = time.monotonic()
        subprocess.run([*git, "push", "-q", remote, f"HEAD:{branch}"], check=True)
        af.wait_dag(dag_id, timeout)
        seconds = time.monotonic() - t0
        probe.unlink()  # leave the repo as it was
        subprocess.run([*git, "commit", "-qam", "e2e: remove probe"], check=True)
        subprocess.run([*git, "push", "-q", remote, f"HEAD:{branch}"], check=True)
    return seconds


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--timeout", type=float, default=float(os.environ.get("AIRWAVE_E2E_TIMEOUT", 1800)))
    ap.add_argument("--measure-dag-sync", action="store_true")
    ap.add_argument("--conf", default=os.environ.get("AIRWAVE_E2E_CONF"),
                    help="JSON params for the run (default: sample calls in MinIO, results to s3a://runs)")
    a = ap.parse_args()
    failures: list[str] = []

    af = Airflow(API, "admin", "admin")
    log(f"logged in to {API}")
    if a.measure_dag_sync:
        secs = measure_dag_sync(af, timeout=120)
        log(f"DAG sync latency (push -> parsed by Airflow): {secs:.1f} s (target < 15 s)")
        if secs >= 15:
            failures.append(f"DAG sync took {secs:.1f} s (target < 15 s)")

    af.wait_dag(DAG_ID, timeout=300)
    af.call("PATCH", f"/dags/{DAG_ID}", {"is_paused": False})
    conf = json.loads(a.conf) if a.conf else {
        "input": "s3a://raw/sample_data/",
        "runs_base": "s3a://runs",
        "refs": "s3a://raw/sample_data/manifest.json",
    }
    store = s3.client()
    before = set(store.list("runs"))
    run = af.call("POST", f"/dags/{DAG_ID}/dagRuns", {"logical_date": None, "conf": conf})
    run_id = run["dag_run_id"]
    log(f"triggered {DAG_ID} run {run_id} with {conf}")

    seen: set[str] = set()
    t0, state = time.monotonic(), run["state"]
    while state not in ("success", "failed"):
        if time.monotonic() - t0 > a.timeout:
            failures.append(f"run still {state} after {a.timeout:.0f} s")
            break
        time.sleep(3)
        seen |= executor_pods()
        state = af.call("GET", f"/dags/{DAG_ID}/dagRuns/{run_id}")["state"]
    log(f"run {run_id}: {state} after {time.monotonic() - t0:.0f} s; executor pods seen: {len(seen)}")
    if state != "success":
        failures.append(f"run ended {state}")
        tis = af.call("GET", f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances")["task_instances"]
        for ti in tis:
            log(f"  task {ti['task_id']}: {ti['state']}")

    # Transcripts: one JSON per sample call, named after the input file, under this run's prefix.
    new = sorted(k for k in set(store.list("runs")) - before if "/calls/" in k and k.endswith(".json"))
    calls = json.loads((ROOT / "sample_data" / "manifest.json").read_text())["calls"]
    missing = [c for c in calls if not any(Path(c).stem in Path(k).name for k in new)]
    log(f"{len(new)} transcript(s) written to s3://runs/")
    if missing:
        failures.append(f"no transcript in MinIO for: {', '.join(missing)}")

    if not seen:
        failures.append("no Spark executor pods were seen during the run")
    deadline = time.monotonic() + 120
    while (left := executor_pods()) and time.monotonic() < deadline:
        time.sleep(3)
    if left:
        failures.append(f"executor pods still present after the run: {sorted(left)}")
    if drivers := pods("app.kubernetes.io/component=spark-driver"):
        failures.append(f"Spark driver (task) pods still present after the run: {sorted(drivers)}")

    for f in failures:
        log(f"FAIL: {f}")
    log("PASS" if not failures else f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
