"""Every input accounted for, on local files (the MinIO half is in tests/stack/test_minio.py): awkward names, files
over the size limit, bad settings that fail before Spark starts, and stages killed half-way."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from support import awkward
from testlib import ROOT, SAMPLE


def airwave(*args, timeout=600, env=None, **kw):
    return subprocess.run(
        [sys.executable, "-m", "airwave", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        **kw,
    )


def transcripts(calls: Path) -> dict[str, dict]:
    return {p.relative_to(calls).as_posix()[: -len(".json")]: json.loads(p.read_text()) for p in calls.rglob("*.json")}


@pytest.mark.slow
def test_awkward_names_each_get_their_own_transcript(tmp_path):
    inp = tmp_path / "in"
    expected = awkward.populate(awkward.local_put(inp), local_root=inp)
    r = airwave("run", str(inp), "--out", str(tmp_path / "out"), "--max-input-mb", str(awkward.MAX_INPUT_MB))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    awkward.check_run(report, transcripts(tmp_path / "out" / "calls"), expected)
    assert "rejected: big call.wav: too_large (427542 bytes" in r.stdout


def _refs(tmp_path, text: str) -> str:
    p = tmp_path / "refs.json"
    p.write_text(text)
    return str(p)


def _not_whisper(tmp_path) -> str:
    d = tmp_path / "model"
    d.mkdir()
    for f in ("model.bin", "config.json", "tokenizer.json"):
        (d / f).write_text("{}")
    return str(d)


BAD = {  # args -> what the message must say
    "input missing": (lambda t: [str(t / "nope")], "input .*nope: no such folder"),
    "input empty": (lambda t: [str(t / "empty")], "holds no files"),
    "input only sidecars": (lambda t: [str(t / "sidecars")], "holds no audio: all its 2 files match the exclude"),
    "refs missing": (lambda t: [str(SAMPLE), "--refs", str(t / "no.json")], "refs .*no such file"),
    "refs not json": (lambda t: [str(SAMPLE), "--refs", _refs(t, "{calls: 1")], "not valid JSON"),
    "refs wrong shape": (
        lambda t: [str(SAMPLE), "--refs", _refs(t, '{"schema": "airwave.references/v1", "calls": {"a.wav": "hello"}}')],
        "call 'a.wav' needs \"channels\"",
    ),
    "roles with ;": (lambda t: [str(SAMPLE), "--roles", "left=agent;right=customer"], "separate mappings with ','"),
    "roles twice": (lambda t: [str(SAMPLE), "--roles", "left=agent,0=customer"], "channel '0' is mapped twice"),
    "roles unknown channel": (lambda t: [str(SAMPLE), "--roles", "center=agent"], "unknown channel 'center'"),
    "beam_size 0": (lambda t: [str(SAMPLE), "--beam-size", "0"], "beam_size must be an integer >= 1"),
    "compute_type": (lambda t: [str(SAMPLE), "--compute-type", "int4"], "compute_type 'int4' is not"),
    "model not whisper": (lambda t: [str(SAMPLE), "--model", _not_whisper(t)], "not a CTranslate2"),
    "max input 0": (lambda t: [str(SAMPLE), "--max-input-mb", "0"], "max input size"),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_settings_fail_before_spark_starts(tmp_path, case):
    (tmp_path / "empty").mkdir()
    (tmp_path / "sidecars").mkdir()
    (tmp_path / "sidecars" / "manifest.json").write_text("{}")
    (tmp_path / "sidecars" / "README.MD").write_text("notes")
    make_args, says = BAD[case]
    out = tmp_path / "out"
    r = airwave("run", *make_args(tmp_path), "--out", str(out), timeout=60)
    assert r.returncode == 2, r.stdout + r.stderr
    assert re.search(says, r.stderr), r.stderr
    assert r.stderr.startswith("airwave: error: ") and "Traceback" not in r.stderr
    assert "[1/3]" not in r.stdout and not out.exists()  # no stage ran, nothing written


def test_out_inside_the_input_is_refused(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.wav").write_bytes((SAMPLE / "voicemail_pcm.wav").read_bytes())
    r = airwave("run", str(tmp_path / "in"), "--out", str(tmp_path / "in" / "results"), timeout=60)
    assert r.returncode == 2 and "is inside the input" in r.stderr, r.stderr
    assert not (tmp_path / "in" / "results").exists()


def test_listing_follows_folder_links_once_and_names_what_it_cannot_read(tmp_path):
    from airwave import storage

    inp, elsewhere = tmp_path / "in", tmp_path / "elsewhere"
    (inp / "sub").mkdir(parents=True)
    elsewhere.mkdir()
    (inp / "sub" / "a.wav").write_bytes(b"a")
    (elsewhere / "b.wav").write_bytes(b"bb")
    (inp / "linked").symlink_to(elsewhere)  # recordings mounted from elsewhere: walked
    (inp / "sub" / "loop").symlink_to(inp)  # a link back up the tree: walked once, no endless loop
    (inp / "gone.wav").symlink_to(tmp_path / "deleted.wav")
    os.mkfifo(inp / "pipe.wav")  # reading it would block forever
    got = {storage.relative(e.uri, str(inp)): (e.size, e.reason) for e in storage.list_inputs(str(inp))}
    assert got == {
        "sub/a.wav": (1, ""),
        "linked/b.wav": (2, ""),
        "gone.wav": (0, "unreadable"),
        "pipe.wav": (0, "unreadable"),
    }


def test_a_stage_fails_the_same_way(tmp_path):
    """spark-submit (and so Airflow) runs `airwave stage ...`: its exit code 2 is what makes a task not retry."""
    r = airwave("stage", "transcribe", "--out", str(tmp_path), "--compute-type", "fp8", timeout=60)
    assert r.returncode == 2 and "compute_type 'fp8'" in r.stderr


def _wait_for(pred, timeout, what):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return
        time.sleep(0.005)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
def test_postprocess_killed_mid_write_leaves_nothing_that_looks_complete(tmp_path):
    out = tmp_path / "out"
    r = airwave("run", str(SAMPLE), "--out", str(out))
    assert r.returncode == 0, r.stderr[-3000:]
    done = transcripts(out / "calls")
    assert (out / "report.json").exists() and (out / "calls" / "_SUCCESS").exists()

    for _attempt in range(3):  # SIGKILL as soon as the first transcript is written; retry if the stage won the race
        proc = subprocess.Popen(
            [sys.executable, "-m", "airwave", "stage", "postprocess", "--out", str(out)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            _wait_for(
                lambda: (
                    any(p.suffix in (".json", ".srt", ".vtt") for p in (out / "calls").rglob("*"))
                    if (out / "calls").exists() and not (out / "calls" / "_SUCCESS").exists()
                    else False
                ),
                120,
                "postprocess to start writing",
            )
        finally:
            os.killpg(proc.pid, signal.SIGKILL)  # the driver, its JVM and every Python worker, mid-write
            proc.wait()
        if not (out / "calls" / "_SUCCESS").exists():
            break
    else:
        pytest.fail("postprocess finished before it could be killed three times")
    assert any((out / "calls").rglob("*.*"))  # killed mid-write: some outputs are there, but unpublished
    assert not (out / "calls" / "_SUCCESS").exists() and not (out / "report.json").exists()
    assert not (out / "eval" / "report.json").exists()
    # A reader that needs the postprocess output is refused; the earlier stages stay published.
    from airwave import layout

    assert not layout.published(str(out), "postprocess") and layout.published(str(out), "transcribe")
    with pytest.raises(SystemExit, match="postprocess stage has not finished"):
        layout.require(str(out), "postprocess")

    r = airwave("stage", "postprocess", "--out", str(out))
    assert r.returncode == 0, r.stderr[-3000:]
    assert transcripts(out / "calls") == done  # the rerun publishes the same transcripts, nothing left over
    assert not [p for p in (out / "calls").rglob("*") if ".tmp-" in p.name]
    assert json.loads((out / "report.json").read_text())["calls"] == len(done)


@pytest.mark.slow
@pytest.mark.parametrize("stage", ["preprocess", "transcribe"])
def test_a_crashed_python_worker_is_retried_not_fatal(tmp_path, stage):
    """local[N,F]: a Python worker killed mid-stage costs one task attempt, not the run; every input still comes
    out once (preprocess sends its call rows to the driver from the tasks: a retried task's must not count twice)."""
    out, inputs = tmp_path / "out", SAMPLE
    if stage == "preprocess":  # three copies of sample_data: decoding lasts long enough to catch a worker at it
        inputs = tmp_path / "in"
        for i in range(3):
            shutil.copytree(SAMPLE, inputs / f"copy{i}", ignore=shutil.ignore_patterns("*.json", "*.md"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "airwave", "run", str(inputs), "--out", str(out)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    killed = []
    try:
        for line in proc.stdout:
            if line.startswith(f"[{1 + (stage == 'transcribe')}/3] {stage} ..."):
                break

        def workers():
            r = subprocess.run(
                ["pgrep", "-s", str(proc.pid), "-f", "airwave.spark_daemon"], capture_output=True, text=True
            )
            pids = [int(p) for p in r.stdout.split()]
            # the daemon forks one worker per task: the children of the daemon process
            return [c for p in pids for c in _children(p)]

        def busy():  # a worker running a task now (an idle, reused one would just be discarded by Spark)
            before = {p: _cpu_ticks(p) for p in workers()}
            time.sleep(0.5)
            return [p for p, t in before.items() if _cpu_ticks(p) - t > 10]  # > 0.1 s of CPU in 0.5 s

        _wait_for(lambda: killed.extend(busy()[:1]) or killed, 120, "a busy Python worker")
        os.kill(killed[0], signal.SIGKILL)
        rest = proc.stdout.read()
        assert proc.wait(timeout=600) == 0, rest[-3000:]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert killed and re.search(r"Lost task .*(Python worker exited unexpectedly|EOFException|crashed)", rest), rest[
        -3000:
    ]  # the kill really failed a task attempt, which was then retried
    report = json.loads((out / "report.json").read_text())
    manifest = json.loads((SAMPLE / "manifest.json").read_text())
    expected = set(manifest["calls"]) | set(manifest["silent"])
    if stage == "preprocess":
        expected = {f"copy{i}/{c}" for i in range(3) for c in expected}
    assert {c["call_id"] for c in report["per_call"]} == expected
    calls = pq.read_table(out / "preprocess" / "calls").column("call_id").to_pylist()
    files = [p.relative_to(inputs).as_posix() for p in inputs.rglob("*") if p.is_file() and p.suffix != ".json"]
    assert sorted(calls) == sorted(files)  # one row per input, the rejected ones too


def _cpu_ticks(pid: int) -> int:
    try:
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(f[11]) + int(f[12])  # utime + stime
    except OSError:
        return 0


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []
