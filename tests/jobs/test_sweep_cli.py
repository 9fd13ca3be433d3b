"""`airwave sweep` end to end without Airflow: real spark-submit per shape, real model, one short call, 2 shapes."""

import json
import subprocess
import sys

import pytest

from testlib import ROOT, SAMPLE

GRID = {"executors": [1], "executor_cores": [1, 2], "cpu_threads": [1], "batch_size": [8]}


def airwave(*args, timeout=600):
    return subprocess.run(
        [sys.executable, "-m", "airwave", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.slow
def test_sweep_measures_every_shape_and_names_a_frontier(tmp_path):
    out = tmp_path / "sweep"
    r = airwave(
        "sweep",
        str(SAMPLE),
        "--out",
        str(out),
        "--refs",
        str(SAMPLE / "manifest.json"),
        "--sample",
        "1",
        "--grid",
        json.dumps(GRID),
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    doc = json.loads((out / "sweep.json").read_text())
    assert [s["shape"] for s in doc["shapes"]] == ["e1c1t1b8", "e1c2t1b8"]
    assert doc["sample"]["calls"] == ["call_001_card_payment.wav"] and doc["sample"]["channel_audio_s"] > 30
    for s in doc["shapes"]:
        assert s["wall_s"] > 0 and s["core_s"] == pytest.approx(s["wall_s"] * s["executor_cores"], abs=0.02)
        assert s["memory_mb"] > s["worker_peak_mb"] > 100  # a worker holding tiny.en; the sum adds the driver
        assert 0 <= s["wer"] < 0.3 and s["words"] > 20  # the real model transcribed the sampled call
    two = doc["shapes"][1]
    assert two["task_slots"] == 2 and two["worker_processes"] == 2  # 2 cores, 1 thread a model: 2 workers
    assert doc["frontier"] and doc["recommended"] in doc["frontier"]
    assert (out / "sweep.png").read_bytes()[:4] == b"\x89PNG"
    # Each shape transcribed the one shared preprocess into its own folder.
    assert (out / "preprocess" / "_SUCCESS").exists() and not (out / "transcribe").exists()
    for s in doc["shapes"]:
        assert (out / "shapes" / s["shape"] / "transcribe" / "_SUCCESS").exists()
    assert f"recommended: {doc['recommended']}" in r.stdout and "frontier" in r.stdout


def test_a_bad_grid_fails_before_any_spark(tmp_path):
    r = airwave(
        "sweep",
        str(SAMPLE),
        "--out",
        str(tmp_path / "s"),
        "--refs",
        str(SAMPLE / "manifest.json"),
        "--grid",
        '{"executors": [1], "executor_cores": [1], "cpu_threads": [2], "batch_size": [8]}',
        timeout=120,
    )
    assert r.returncode == 2 and "cpu_threads (threads per model = spark.task.cpus) must be <=" in r.stderr, r.stderr
    assert not (tmp_path / "s").exists()
