"""`make e2e`: the asr_pipeline DAG through Airflow's REST API on the running sandbox (`make up`), one ephemeral Spark
cluster per task (driver = the task's pod, executors = pods it owns), and the faults it must survive.

pytest -m e2e (also marked `kind`, so `make test` skips it). Needs the stack up; creates nothing but DAG runs and
their outputs under s3://runs/e2e-*/. Measurements (run wall, per-task cluster start, DAG sync latency) are printed
and written to out/e2e/metrics.json: measured, never asserted as timings.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import jiwer
import pyarrow.dataset as ds
import pytest
from kubernetes import client as k8s

from airwave.cluster.specs import safe_run_id
from airwave.evaluate import normalise
from airwave.redact import redact_segments
from support import sandbox as sb

pytestmark = [pytest.mark.kind, pytest.mark.e2e]

DAG = "asr_pipeline"
MANIFEST = json.loads((sb.ROOT / "sample_data" / "manifest.json").read_text())
TIMEOUT = float(os.environ.get("AIRWAVE_E2E_TIMEOUT", 1800))
# Two executors per stage, so each task's cluster spans both nodes of the default profile (the lite profile's one
# node runs one: see the `stack` fixture).
SHAPE = {"executors": 2, "executor_cores": 1, "executor_memory": "1g", "driver_memory": "1g"}
METRICS = sb.ROOT / "out" / "e2e" / "metrics.json"
GIT = sb.STACK["git_server"]
GIT_REMOTE = f"http://localhost:{GIT['host_port']}/{GIT['repo']}"


def record(key: str, value) -> None:
    METRICS.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(METRICS.read_text()) if METRICS.exists() else {}
    data[key] = value
    METRICS.write_text(json.dumps(data, indent=2) + "\n")
    sb.log(f"measured {key}: {json.dumps(value)}")


UNITS = {"B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "kB": 1e3, "MB": 1e6, "GB": 1e9}


@pytest.fixture(scope="module", autouse=True)
def node_memory():
    """Peak memory of each kind node container over the whole module (docker stats every ~5 s), recorded at the end."""
    peak: dict[str, float] = {}
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            out = subprocess.run(
                ["docker", "stats", "--no-stream", "--format", "{{.Name}} {{.MemUsage}}"],
                capture_output=True,
                text=True,
            ).stdout
            for line in out.splitlines():
                name, usage = line.split(" ", 1)
                m = re.match(r"([\d.]+)\s*([A-Za-z]+)", usage)
                if name.startswith(sb.STACK["cluster_name"] + "-") and m:
                    peak[name] = max(peak.get(name, 0), float(m.group(1)) * UNITS.get(m.group(2), 1))
            stop.wait(5)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    yield
    stop.set()
    t.join()
    if peak:
        record("peak_node_memory_gib", {k: round(v / 2**30, 2) for k, v in sorted(peak.items())})


@dataclass
class Run:
    run_id: str
    state: str
    wall_s: float
    prefix: str  # s3 path of the run's folder (bucket/...)
    tasks: dict[str, str]
    tries: dict[str, int]
    pods: list[sb.PodRecord]
    ti_start: dict[str, float]


@pytest.fixture(scope="module")
def stack():
    try:
        airflow = sb.Airflow()
    except Exception as e:  # noqa: BLE001
        pytest.fail(f"Airflow API at {sb.AIRFLOW_URL} does not answer ({e}): run `make up` first")
    airflow.wait_dag(DAG, timeout=300)
    core = sb.kube()
    if len(core.list_node().items) == 1:
        SHAPE["executors"] = 1
    return airflow, sb.minio(), core


def pipeline(airflow: sb.Airflow, name: str, fault=None) -> Run:
    """Trigger asr_pipeline on the sample calls in MinIO with results under s3://runs/<name>/; `fault(run_id,
    watch)` is called on every poll until it returns True (it has done its damage)."""
    conf = {
        "input": "s3a://raw/sample_data/",
        "runs_base": f"s3a://runs/{name}",
        "refs": "s3a://raw/sample_data/manifest.json",
        **{f"{t}_cluster": SHAPE for t in sb.SPARK_TASKS},
    }
    conf["transcribe_cluster"] = {**SHAPE, "executor_memory": "2g"}
    done = fault is None
    with sb.PodWatch() as watch:
        t0 = time.monotonic()
        run_id = airflow.trigger(DAG, conf)
        sb.log(f"{name}: triggered {run_id}")

        def poll():
            nonlocal done
            if not done:
                done = bool(fault(run_id, watch))

        state = airflow.wait_run(DAG, run_id, TIMEOUT, poll)
        wall = time.monotonic() - t0
    tis = airflow.tis.get_task_instances(DAG, run_id).task_instances
    run = Run(
        run_id,
        state,
        wall,
        f"runs/{name}/runs/{safe_run_id(run_id)}",
        {t.task_id: (t.state.value if t.state else "none") for t in tis},
        {t.task_id: t.try_number for t in tis},
        list(watch.seen.values()),
        {t.task_id: t.start_date.timestamp() for t in tis if t.start_date},
    )
    sb.log(
        f"{name}: {state} in {wall:.0f} s; tasks {run.tasks}; tries {run.tries}; "
        f"{sum(p.role == 'executor' for p in run.pods)} executor pods"
    )
    assert fault is None or done, f"{name}: the fault was never injected"
    return run


def transcripts(fs, run: Run) -> dict[str, dict]:
    files = sb.list_files(fs, f"{run.prefix}/calls")
    return {Path(f).name[: -len(".json")]: sb.read_json(fs, f) for f in files if f.endswith(".json")}


def wer(docs: dict[str, dict]) -> tuple[float, int]:
    """WER of the transcripts' per-channel text against the references (both PII-redacted and normalised)."""
    refs, hyps = [], []
    for name, call in MANIFEST["calls"].items():
        doc = docs[Path(name).stem]
        by_role = {c["role"]: c["transcript"] for c in doc["channels"]}
        for role, text in call["channels"].items():
            refs.append(normalise(redact_segments([text])[0][0]))
            hyps.append(normalise(by_role.get(role, "")))
    o = jiwer.process_words(refs, hyps)
    return o.wer, o.hits + o.substitutions + o.deletions


def assert_correct(fs, run: Run) -> dict[str, dict]:
    """Success, one transcript per sample call with the right words, rejects with reasons, no duplicates."""
    assert run.state == "success", f"run {run.run_id}: {run.state}, tasks {run.tasks}"
    docs = transcripts(fs, run)
    expected = {Path(n).stem for n in MANIFEST["calls"]} | {Path(n).stem for n in MANIFEST.get("silent", [])}
    assert set(docs) == expected, f"transcripts {sorted(docs)} != sample calls {sorted(expected)}"
    rate, words = wer(docs)
    sb.log(f"WER over sample_data: {rate:.1%} ({words} reference words)")
    assert words > 100 and rate <= 0.15, f"WER {rate:.1%} over {words} words"
    report = sb.read_json(fs, f"{run.prefix}/report.json")
    assert {r["call_id"]: r["reason"] for r in report["rejects"]} == MANIFEST["rejects"]
    assert all(r["detail"] for r in report["rejects"])
    segs = (
        ds.dataset(f"{run.prefix}/transcribe/segments", filesystem=fs, format="parquet")
        .to_table(columns=["call_id", "role", "chunk_idx", "seg_idx"])
        .to_pylist()
    )
    keys = [(s["call_id"], s["role"], s["chunk_idx"], s["seg_idx"]) for s in segs]
    assert len(keys) == len(set(keys)), "duplicate segments in transcribe/segments"
    return docs


def clusters(run: Run) -> dict[str, dict]:
    """task_id -> its driver pods and the executors each owned."""
    drivers = {p.name: p for p in run.pods if p.role == "driver"}
    out: dict[str, dict] = {}
    for e in (p for p in run.pods if p.role == "executor"):
        d = drivers.get(e.owner)
        assert d is not None, f"executor {e.name} is not owned by a driver pod of this run (owner {e.owner})"
        c = out.setdefault(d.task_id, {"drivers": set(), "executors": [], "nodes": set()})
        c["drivers"].add(d.name)
        c["executors"].append(e)
        c["nodes"].add(e.node)
    return out


@pytest.fixture(scope="module")
def baseline(stack) -> Run:
    airflow, fs, _ = stack
    return pipeline(airflow, f"e2e-{int(time.time())}")


# ---- the undisturbed run -----------------------------------------------------------------------------------------
def test_pipeline_run_succeeds_with_right_transcripts(stack, baseline):
    _, fs, _ = stack
    assert_correct(fs, baseline)
    assert all(s in ("success", "skipped") for s in baseline.tasks.values()), baseline.tasks
    record("e2e_run_wall_s", round(baseline.wall_s))


def test_each_spark_task_had_its_own_cluster_across_the_nodes(stack, baseline):
    _, _, core = stack
    nodes = {n.metadata.name for n in core.list_node().items}
    per_task = clusters(baseline)
    assert set(per_task) == set(sb.SPARK_TASKS), f"executors seen for {sorted(per_task)}"
    starts = {}
    for task, c in per_task.items():
        assert len(c["drivers"]) == 1, f"{task}: driver pods {c['drivers']}"
        assert len(c["executors"]) >= SHAPE["executors"], f"{task}: {len(c['executors'])} executors"
        assert c["nodes"] == nodes, f"{task}: executors ran on {c['nodes']}, nodes are {nodes}"
        running = [e.running for e in c["executors"] if e.running]
        if task in baseline.ti_start and len(running) >= SHAPE["executors"]:
            starts[task] = round(sorted(running)[SHAPE["executors"] - 1] - baseline.ti_start[task], 1)
    record("spark_cluster_start_s (task start -> executors running)", starts)


def test_nothing_is_left_running_after_the_run(stack, baseline):
    _, _, core = stack
    deadline = time.monotonic() + 120
    while (left := sb.live_pods(core)) and time.monotonic() < deadline:
        time.sleep(3)
    assert not left, f"pods left after the run: {[(p.role, p.name, p.phase, p.ended) for p in left]}"


# ---- edit loop -------------------------------------------------------------------------------------------------
def test_git_server_keeps_the_dag_repo_when_its_pod_is_replaced(stack):
    """Every task pod's git-sync clones from it: a new git-server pod must not start with an empty repo."""
    _, _, core = stack
    selector = "app.kubernetes.io/name=git-server"

    def head() -> str:
        out = subprocess.run(
            ["git", "ls-remote", GIT_REMOTE, GIT["branch"]], capture_output=True, text=True, timeout=30
        )
        return out.stdout.split()[0] if out.returncode == 0 and out.stdout else ""

    before = head()
    assert before, f"{GIT_REMOTE} has no {GIT['branch']}"
    old = {p.metadata.name for p in core.list_namespaced_pod(sb.NS, label_selector=selector).items}
    core.delete_collection_namespaced_pod(sb.NS, label_selector=selector)
    deadline, after = time.monotonic() + 180, ""
    while time.monotonic() < deadline:
        pods = core.list_namespaced_pod(sb.NS, label_selector=selector).items
        ready = [
            p
            for p in pods
            if p.metadata.name not in old
            and any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or [])
        ]
        if ready and (after := head()):
            break
        time.sleep(2)
    assert after == before, f"after the git-server pod was replaced, {GIT['branch']} is {after!r}, was {before!r}"


def test_dag_change_reaches_the_dag_processor_through_git_sync(stack):
    """Push a new DAG file to the in-cluster git server; measure push -> parsed (target < 15 s, reported)."""
    airflow, _, _ = stack
    dag_id = f"airwave_sync_probe_{int(time.time())}"
    with tempfile.TemporaryDirectory() as tmp:
        git = ["git", "-C", tmp, "-c", "user.name=e2e", "-c", "user.email=e2e@localhost"]
        subprocess.run(["git", "clone", "-q", "--depth", "1", "-b", GIT["branch"], GIT_REMOTE, tmp], check=True)
        probe = Path(tmp, "dags", "airwave_sync_probe.py")
        probe.write_text(
            f"from airflow.sdk import DAG\nwith DAG({dag_id!r}, schedule=None, tags=['probe']):\n    pass\n"
        )
        subprocess.run([*git, "add", "-A"], check=True)
        subprocess.run([*git, "commit", "-qm", "e2e: DAG sync probe"], check=True)
        t0 = time.monotonic()
        subprocess.run([*git, "push", "-q", GIT_REMOTE, f"HEAD:{GIT['branch']}"], check=True)
        airflow.wait_dag(dag_id, timeout=180)
        seconds = time.monotonic() - t0
        probe.unlink()  # leave the repo as it was
        subprocess.run([*git, "commit", "-qam", "e2e: remove probe"], check=True)
        subprocess.run([*git, "push", "-q", GIT_REMOTE, f"HEAD:{GIT['branch']}"], check=True)
    record("dag_sync_s (push -> parsed, target < 15)", round(seconds, 1))


# ---- security -------------------------------------------------------------------------------------------------
def can_i(verb: str, resource: str, namespace: str) -> bool:
    sar = k8s.V1SubjectAccessReview(
        spec=k8s.V1SubjectAccessReviewSpec(
            user=f"system:serviceaccount:{sb.NS}:{sb.STACK['spark']['service_account']}",
            groups=["system:serviceaccounts", f"system:serviceaccounts:{sb.NS}", "system:authenticated"],
            resource_attributes=k8s.V1ResourceAttributes(verb=verb, resource=resource, namespace=namespace),
        )
    )
    return k8s.AuthorizationV1Api(sb.api_client()).create_subject_access_review(sar).status.allowed


def test_spark_driver_cannot_read_secrets_or_leave_its_namespace():
    assert can_i("create", "pods", sb.NS) and can_i("delete", "pods", sb.NS)  # it runs its executors
    for verb in ("get", "list", "watch"):
        assert not can_i(verb, "secrets", sb.NS), f"spark driver may {verb} secrets"
    for ns in ("default", "kube-system"):
        for verb in ("create", "list", "delete"):
            assert not can_i(verb, "pods", ns), f"spark driver may {verb} pods in {ns}"


def _failed_run(airflow: sb.Airflow, conf: dict) -> tuple[str, dict, list[sb.PodRecord]]:
    with sb.PodWatch() as watch:
        run_id = airflow.trigger(DAG, conf)
        state = airflow.wait_run(DAG, run_id, 900)
    tis = {t.task_id: t for t in airflow.tis.get_task_instances(DAG, run_id).task_instances}
    sb.log(
        f"{run_id}: {state}; "
        + ", ".join(f"{k} {t.state.value if t.state else 'none'} (try {t.try_number})" for k, t in tis.items())
    )
    return state, tis, list(watch.seen.values())


def test_bad_settings_fail_at_once_before_any_spark_cluster(stack):
    """A roles typo: check_settings fails the run on its first try; no driver or executor pod is ever created."""
    airflow, _, _ = stack
    state, tis, pods = _failed_run(
        airflow,
        {"input": "s3a://raw/sample_data/", "runs_base": "s3a://runs/e2e-bad", "roles": "left=agent;right=customer"},
    )
    assert state == "failed"
    assert tis["check_settings"].state.value == "failed" and tis["check_settings"].try_number == 1
    assert tis["preprocess"].state.value == "upstream_failed"
    assert not [p for p in pods if p.role in ("driver", "executor")]


def test_a_setting_only_the_driver_can_check_is_not_retried(stack):
    """The model lives in the Spark image: the transcribe driver refuses a missing one before any executor starts,
    exits 2, and the task fails on its first try instead of retrying."""
    airflow, _, _ = stack
    state, tis, pods = _failed_run(
        airflow,
        {
            "input": "s3a://raw/sample_data/",
            "runs_base": "s3a://runs/e2e-bad-model",
            "model": "/no/such/model",
            "refs": "",
            **{f"{t}_cluster": {**SHAPE, "executors": 1} for t in sb.SPARK_TASKS},
        },
    )
    assert state == "failed" and tis["preprocess"].state.value == "success"
    assert tis["transcribe"].state.value == "failed" and tis["transcribe"].try_number == 1
    drivers = {p.name for p in pods if p.role == "driver" and p.task_id == "transcribe"}
    assert drivers and not [p for p in pods if p.role == "executor" and p.owner in drivers]


def test_uis_listen_on_localhost_only():
    out = subprocess.run(
        ["docker", "ps", "--format", "{{.Names}}\t{{.Ports}}"], capture_output=True, text=True, check=True
    ).stdout
    ours = [
        line
        for line in out.splitlines()
        if line.split("\t")[0].startswith((sb.STACK["cluster_name"] + "-", sb.STACK["registry"]["name"]))
    ]
    published = [p.strip() for line in ours for p in line.split("\t")[1].split(",") if "->" in p]
    assert published, out
    assert all(p.startswith("127.0.0.1:") for p in published), published


# ---- faults: each ends with correct, non-duplicated transcripts ------------------------------------------------
def running_executors(watch: sb.PodWatch, task: str) -> list[sb.PodRecord]:
    drivers = {p.name for p in watch.role("driver") if p.task_id == task}
    return [e for e in watch.role("executor") if e.owner in drivers and e.running]


def delete_app_pod(core, app: str, grace: int | None = None) -> None:
    """Delete the one pod of a Deployment (label app.kubernetes.io/name=app); its ReplicaSet starts a new one."""
    (pod,) = core.list_namespaced_pod(sb.NS, label_selector=f"app.kubernetes.io/name={app}").items
    sb.log(f"deleting {app} pod {pod.metadata.name}")
    core.delete_namespaced_pod(pod.metadata.name, sb.NS, grace_period_seconds=grace)


def same_transcripts(docs: dict, base: dict) -> None:
    assert {k: v["transcript"] for k, v in docs.items()} == {k: v["transcript"] for k, v in base.items()}


def test_fault_executor_pod_deleted_mid_transcribe(stack, baseline):
    airflow, fs, core = stack

    def kill_one_executor(run_id, watch):
        ex = running_executors(watch, "transcribe")
        if len(ex) >= SHAPE["executors"] and time.time() - max(e.running for e in ex) > 10:
            # With the pod's own grace period, as an eviction or preemption does: the kubelet stops it and Spark's
            # pod watch sees it fail at once. A force delete (grace 0) arrives as a deleted pod still "Running",
            # which Spark counts as running until its 30 s resync (apiPollingInterval): the replacement would race
            # the end of the stage.
            sb.log(f"deleting executor pod {ex[0].name}")
            core.delete_namespaced_pod(ex[0].name, sb.NS)
            return True
        return False

    run = pipeline(airflow, f"e2e-fault-executor-{int(time.time())}", kill_one_executor)
    same_transcripts(assert_correct(fs, run), transcripts(fs, baseline))
    assert run.tries["transcribe"] == 1, "Spark should have rescheduled the lost executor's tasks itself"
    assert len([e for e in run.pods if e.role == "executor"]) > len(
        [e for e in baseline.pods if e.role == "executor"]
    ), "no replacement executor was started"
    drivers = {p.name for p in run.pods if p.role == "driver" and p.task_id == "transcribe"}
    first, *later = sorted(e.created or 0 for e in run.pods if e.role == "executor" and e.owner in drivers)
    sb.log(f"transcribe executors created at +0 s and {[round(t - first) for t in later]} s")


def test_fault_driver_pod_deleted_mid_transcribe(stack, baseline):
    airflow, fs, core = stack

    def kill_driver(run_id, watch):
        if len(running_executors(watch, "transcribe")) >= SHAPE["executors"]:
            (d,) = [p for p in watch.role("driver") if p.task_id == "transcribe"]
            sb.log(f"deleting driver pod {d.name}")
            core.delete_namespaced_pod(d.name, sb.NS, grace_period_seconds=0)
            return True
        return False

    run = pipeline(airflow, f"e2e-fault-driver-{int(time.time())}", kill_driver)
    same_transcripts(assert_correct(fs, run), transcripts(fs, baseline))
    assert run.tries["transcribe"] >= 2, "Airflow should have retried transcribe"


def test_fault_minio_restarted_between_tasks(stack, baseline):
    airflow, fs, core = stack

    def restart_minio(run_id, watch):
        if airflow.task_states(DAG, run_id).get("preprocess") == "success":
            delete_app_pod(core, "minio")
            return True
        return False

    run = pipeline(airflow, f"e2e-fault-minio-{int(time.time())}", restart_minio)
    same_transcripts(assert_correct(fs, run), transcripts(fs, baseline))


def test_fault_scheduler_deleted_mid_run(stack, baseline):
    airflow, fs, core = stack

    def kill_scheduler(run_id, watch):
        if running_executors(watch, "transcribe"):
            delete_app_pod(core, "airflow-scheduler")
            return True
        return False

    run = pipeline(airflow, f"e2e-fault-scheduler-{int(time.time())}", kill_scheduler)
    same_transcripts(assert_correct(fs, run), transcripts(fs, baseline))
