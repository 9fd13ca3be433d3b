"""The DAGs run through Airflow for real (`airflow dags test` in a subprocess, SQLite, local Spark backend).

asr_pipeline runs the real stages (Spark local mode, the real model) on sample_data via the demo script; the
retention and sampling DAGs run on temporary stores.
"""

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

pytest.importorskip("airflow.sdk")

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory):
    base = tmp_path_factory.mktemp("airflow-e2e")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "AIRWAVE_"))}
    env.update(
        {
            "AIRFLOW_HOME": str(base / "home"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRWAVE_RUNS_BASE": str(base / "out"),
            "AIRWAVE_SPARK_BACKEND": "local",
            "VENV_BIN": str(BIN),
        }
    )
    r = subprocess.run([str(BIN / "airflow"), "db", "migrate"], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    env["_BASE"] = str(base)
    return env


def dags_test(env, dag_id, conf, *extra, timeout=300):
    r = subprocess.run(
        [str(BIN / "airflow"), "dags", "test", dag_id, *extra, "-c", json.dumps(conf)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    log = r.stdout + r.stderr
    assert r.returncode == 0 and "state=success" in log, log[-5000:]
    return log


def test_asr_pipeline_through_airflow_on_sample_data(airflow_env):
    """`make demo`'s script: the whole pipeline as an Airflow DAG run; check the transcripts it produced."""
    r = subprocess.run(
        [str(ROOT / "hack" / "airflow-demo.sh")], env=airflow_env, capture_output=True, text=True, timeout=900
    )
    assert r.returncode == 0, (r.stdout + r.stderr)[-6000:]
    runs = list((Path(airflow_env["_BASE"]) / "out" / "runs").iterdir())
    assert len(runs) == 1 and runs[0].name.startswith("manual__") and ":" not in runs[0].name
    run = runs[0]
    assert f"Results of this run: {run}" in r.stdout
    for stage in ("preprocess", "transcribe"):
        assert (run / stage / "_SUCCESS").exists()

    manifest = json.loads((ROOT / "sample_data" / "manifest.json").read_text())["calls"]
    calls = {p.stem: json.loads(p.read_text()) for p in (run / "calls").glob("*.json")}
    # Every referenced call has a transcript in every format; broken inputs have none.
    for name in manifest:
        stem = Path(name).stem
        assert stem in calls, f"no transcript for {name}"
        assert (run / "calls" / f"{stem}.srt").exists() and (run / "calls" / f"{stem}.vtt").exists()
    assert not any(s.startswith("broken_") for s in calls)
    # The transcripts say what was said (the real model ran), roles come from the stereo channels.
    card = calls["call_001_card_payment"]
    assert "billing team" in card["transcript"].lower()
    assert {c["role"] for c in card["channels"]} == {"agent", "customer"}
    # References exist in sample_data, so the evaluation task ran; the DAG run used the real model.
    report = json.loads((run / "eval" / "report.json").read_text())
    assert report["overall"]["words"] > 100 and report["overall"]["wer"] < 0.3


def test_spark_shape_sweep_dag_writes_a_frontier(airflow_env):
    """A tiny grid (2 shapes, 1 short call) through Airflow: one mapped Spark task per shape in the pool, then
    sweep.json with the frontier and the plot under the run's folder."""
    from airwave.cluster.specs import stack

    a = stack()["airflow"]
    r = subprocess.run(
        [str(BIN / "airflow"), "pools", "set", a["spark_pool"], str(a["spark_pool_slots"]), "Spark"],
        env=airflow_env,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    grid = {"executors": [1], "executor_cores": [2], "cpu_threads": [1, 2], "batch_size": [8]}
    log = dags_test(airflow_env, "spark_shape_sweep", {"sample_files": 1, "grid": grid}, timeout=600)
    assert log.count("starting task_id=transcribe_shape") == 2
    (run,) = [p.parent for p in (Path(airflow_env["_BASE"]) / "out" / "runs").glob("*/sweep.json")]
    doc = json.loads((run / "sweep.json").read_text())
    shapes = {s["shape"]: s for s in doc["shapes"]}
    assert set(shapes) == {"e1c2t1b8", "e1c2t2b8"}
    for s in shapes.values():
        assert s["wall_s"] > 0 and s["core_s"] > s["wall_s"] and s["memory_mb"] > 0 and s["wer"] is not None
    # spark.task.cpus = cpu_threads: 2 threads a model on 2 cores is one worker.
    assert (shapes["e1c2t1b8"]["task_slots"], shapes["e1c2t2b8"]["task_slots"]) == (2, 1)
    assert doc["frontier"] and doc["recommended"] in doc["frontier"]
    assert (run / "sweep.png").stat().st_size > 1000
    assert f"recommended shape: {doc['recommended']}" in log


def test_a_bad_grid_fails_the_sweep_before_any_spark_task(airflow_env):
    grid = {"executors": [1], "executor_cores": [1], "cpu_threads": [2], "batch_size": [8]}
    r = subprocess.run(
        [str(BIN / "airflow"), "dags", "test", "spark_shape_sweep", "-c", json.dumps({"grid": grid})],
        env=airflow_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    log = r.stdout + r.stderr
    assert r.returncode != 0 and "DagRun failed" in log, log[-3000:]
    assert "AirflowFailException: bad setting: grid has no valid shape" in log, log[-3000:]
    assert log.count("Task started") == 1 and "up_for_retry" not in log  # check_settings once, nothing after it


def test_audio_retention_dag(airflow_env, tmp_path):
    now = datetime.now(UTC)
    store = tmp_path / "raw"
    for rel, age in {"a/old.wav": 40, "a/new.wav": 1, "b/older.flac": 400}.items():
        p = store / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"audio")
        t = (now - timedelta(days=age)).timestamp()
        os.utime(p, (t, t))
    audit = tmp_path / "audit"
    conf = {"policies": [{"prefix": str(store), "keep_days": 30}], "audit_prefix": str(audit)}

    dags_test(airflow_env, "audio_retention", conf)  # dry run by default
    assert sorted(p.name for p in store.rglob("*.*")) == ["new.wav", "old.wav", "older.flac"]

    dags_test(airflow_env, "audio_retention", {**conf, "dry_run": False})
    assert sorted(p.name for p in store.rglob("*.*")) == ["new.wav"]
    records = [json.loads(p.read_text()) for p in sorted((audit / "retention").glob("*.json"))]
    assert sorted(r["dry_run"] for r in records) == [False, True]
    real = next(r for r in records if not r["dry_run"])
    assert sorted(Path(d["uri"]).name for d in real["deleted"]) == ["old.wav", "older.flac"]


def test_production_sampling_dag(airflow_env, tmp_path):
    # A manual run at 11:30 covers the last complete hour, [10:00, 11:00).
    logical = datetime(2026, 6, 1, 11, 30, tzinfo=UTC)
    src, dest = tmp_path / "raw", tmp_path / "eval"
    for rel, when in {
        "in1.wav": logical - timedelta(minutes=60),
        "in2.mp3": logical - timedelta(minutes=45),
        "before.wav": logical - timedelta(hours=2),
    }.items():
        src.mkdir(exist_ok=True)
        (src / rel).write_bytes(rel.encode())
        os.utime(src / rel, (when.timestamp(), when.timestamp()))
    dags_test(
        airflow_env, "production_sampling", {"source": str(src), "dest": str(dest), "rate": 1.0}, logical.isoformat()
    )
    assert sorted(p.name for p in dest.glob("*.*")) == ["in1.wav", "in2.mp3"]
    (manifest,) = (dest / "_samples").glob("*.json")
    assert manifest.name == "20260601T100000-20260601T110000.json"
    assert json.loads(manifest.read_text())["arrived"] == 2


@pytest.mark.parametrize(
    "conf, says",
    [
        ({"roles": "left=agent;right=customer"}, "separate mappings with ','"),
        (
            {"transcribe_cluster": {"executors": 1, "executor_cores": 2, "executor_memory": "4g"}},
            "missing driver_memory",
        ),
        ({"input": "/nonexistent/calls"}, "no such folder"),
    ],
)
def test_bad_settings_fail_the_run_at_once_before_any_spark_task(airflow_env, conf, says):
    runs = Path(airflow_env["_BASE"]) / "out" / "runs"
    before = set(runs.glob("*")) if runs.exists() else set()
    r = subprocess.run(
        [str(BIN / "airflow"), "dags", "test", "asr_pipeline", "-c", json.dumps(conf)],
        env=airflow_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    log = r.stdout + r.stderr
    assert r.returncode != 0 and "DagRun failed" in log, log[-3000:]
    assert "AirflowFailException: bad setting: " in log and says in log, log[-3000:]
    assert log.count("Task started") == 1 and "up_for_retry" not in log  # check_settings once, nothing after it
    assert (set(runs.glob("*")) if runs.exists() else set()) == before  # no stage wrote anything
