"""Retention on a temporary store with aged objects."""

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest

from airwave import retention

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def put(root, rel, age_days):
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(b"x" * 10)
    t = (NOW - timedelta(days=age_days)).timestamp()
    os.utime(p, (t, t))
    return p


@pytest.fixture
def store(tmp_path):
    root = tmp_path / "store"
    files = {
        "raw/old.wav": 40,
        "raw/new.wav": 5,
        "raw/deep/older.mp3": 100,
        "raw/edge.wav": 29.9,
        "raw2/old.wav": 400,  # a sibling whose name starts with "raw": outside the policy
        "outside.wav": 400,
        "runs/r1/preprocess/chunks/part-0.parquet": 20,
        "runs/r1/preprocess/_SUCCESS": 20,
        "runs/r1/calls/a.json": 20,  # a transcript: not an intermediate, must stay
        "runs/r2/transcribe/segments/part-0.parquet": 3,
    }
    for rel, age in files.items():
        put(root, rel, age)
    return root


def policies(root):
    return [
        {"prefix": str(root / "raw"), "keep_days": 30},
        {"prefix": f"file://{root}/runs", "keep_days": 14, "include": ["*/preprocess/*", "*/transcribe/*"]},
    ]


def remaining(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


EXPIRED = {
    "raw/old.wav",
    "raw/deep/older.mp3",
    "runs/r1/preprocess/chunks/part-0.parquet",
    "runs/r1/preprocess/_SUCCESS",
}


def test_dry_run_deletes_nothing_but_reports(store, tmp_path):
    before = remaining(store)
    audit = tmp_path / "audit" / "dry.json"
    rec = retention.apply(policies(store), now=NOW, audit_uri=str(audit), run_id="r")  # dry_run is the default
    assert rec["dry_run"] is True
    assert remaining(store) == before
    would = {d["uri"].split(str(store) + "/", 1)[1] for d in rec["deleted"]}
    assert would == EXPIRED
    recorded = json.loads(audit.read_text())
    assert recorded["deleted_count"] == len(EXPIRED) and recorded["status"] == "dry_run"


def test_real_run_deletes_exactly_the_expired_and_records_them(store, tmp_path):
    before = set(remaining(store))
    audit = tmp_path / "audit" / "real.json"
    rec = retention.apply(policies(store), now=NOW, dry_run=False, audit_uri=str(audit), run_id="r")
    assert set(remaining(store)) == before - EXPIRED
    recorded = json.loads(audit.read_text())
    assert recorded["dry_run"] is False
    assert {d["uri"].split(str(store) + "/", 1)[1] for d in recorded["deleted"]} == EXPIRED
    assert recorded["deleted_bytes"] == 10 * len(EXPIRED)
    # The done-marker goes first, so an interrupted deletion never leaves a stage looking complete.
    runs = [d["uri"] for d in rec["deleted"] if "/runs/" in d["uri"]]
    assert runs[0].endswith("/_SUCCESS")
    # Idempotent: a second run finds nothing more.
    assert retention.apply(policies(store), now=NOW, dry_run=False)["deleted_count"] == 0


def test_prefix_match_is_a_directory_match(store):
    rec = retention.apply([{"prefix": str(store / "raw"), "keep_days": 0}], now=NOW, dry_run=False)
    assert all("/raw/" in d["uri"] for d in rec["deleted"])
    assert (store / "raw2" / "old.wav").exists() and (store / "outside.wav").exists()


@pytest.mark.parametrize("prefix", ["/", "file:///", "///"])
def test_refuses_a_filesystem_root(prefix):
    with pytest.raises(ValueError, match="root"):
        retention.apply([{"prefix": prefix, "keep_days": 1}], now=NOW, dry_run=True)


def test_refuses_negative_keep_days(store):
    with pytest.raises(ValueError):
        retention.apply([{"prefix": str(store / "raw"), "keep_days": -1}], now=NOW)


def test_missing_prefix_is_empty_not_an_error(tmp_path):
    assert retention.apply([{"prefix": str(tmp_path / "nope"), "keep_days": 1}], now=NOW)["deleted_count"] == 0


# --- The audit record is written ahead of the deletes, so a crash half-way still says what went. ---


class DeleteHook:
    """A real filesystem whose delete_file first calls `before(path)`: to fail, slow down or look at the record."""

    def __init__(self, fs, before):
        self.fs, self.before = fs, before

    def __getattr__(self, name):
        return getattr(self.fs, name)

    def delete_file(self, path):
        self.before(path)
        self.fs.delete_file(path)


def hook_deletes(monkeypatch, before):
    real = retention._root
    monkeypatch.setattr(retention, "_root", lambda uri: (DeleteHook(real(uri)[0], before), *real(uri)[1:]))


def many(root, n):
    """n expired objects under raw/many (more than one batch) besides the fixture's; returns their relative paths."""
    return {str(put(root, f"raw/many/{i:04d}.wav", 40).relative_to(root)) for i in range(n)}


def rel(root, entries):
    return {d["uri"].split(str(root) + "/", 1)[1] for d in entries}


def test_success_writes_the_record_ahead_of_every_delete(store, tmp_path, monkeypatch):
    expired = EXPIRED | many(store, 150)
    audit = tmp_path / "audit" / "ok.json"
    seen = []  # (path being deleted, the record on disk at that moment)
    hook_deletes(monkeypatch, lambda path: seen.append((path, json.loads(audit.read_text()))))
    rec = retention.apply(policies(store), now=NOW, dry_run=False, audit_uri=str(audit), run_id="r")

    first = seen[0][1]
    assert first["status"] == "in_progress" and first["deleted"] == [] and rel(store, first["planned"]) == expired
    for path, on_disk in seen:  # nothing is deleted before the record names it as in flight
        assert "file://" + path in {d["uri"] for d in on_disk["deleting"]}
    assert len({len(r["deleted"]) for _, r in seen}) > 1  # rewritten between batches
    final = json.loads(audit.read_text())
    assert final == rec
    assert final["status"] == "complete" and final["deleting"] == [] and "error" not in final
    assert rel(store, final["deleted"]) == rel(store, final["planned"]) == expired
    assert final["deleted_count"] == len(expired) and not set(remaining(store)) & expired


def test_a_crash_half_way_leaves_a_failed_record_of_exactly_what_went(store, tmp_path, monkeypatch):
    planned = EXPIRED | many(store, 150)
    before = set(remaining(store))
    calls = []

    def fail_after_130(path):
        calls.append(path)
        if len(calls) > 130:  # in the second batch
            raise PermissionError(f"denied: {path}")

    hook_deletes(monkeypatch, fail_after_130)
    audit = tmp_path / "audit" / "crash.json"
    with pytest.raises(PermissionError):
        retention.apply(policies(store), now=NOW, dry_run=False, audit_uri=str(audit), run_id="r")

    gone = before - set(remaining(store))
    assert len(gone) == 130
    record = json.loads(audit.read_text())
    assert record["status"] == "failed" and record["error"].startswith("PermissionError: denied: ")
    assert rel(store, record["deleted"]) == gone and record["deleted_count"] == 130
    assert rel(store, record["planned"]) == planned  # names the rest too
    assert rel(store, record["deleting"]) <= planned - gone  # at most the object whose delete raised


KILL_CHILD = """
import sys, time
from datetime import datetime
from airwave import retention

class Slow:
    def __init__(self, fs): self.fs = fs
    def __getattr__(self, name): return getattr(self.fs, name)
    def delete_file(self, path): time.sleep(0.005); self.fs.delete_file(path)

real = retention._root
retention._root = lambda uri: (Slow(real(uri)[0]), *real(uri)[1:])
retention.apply([{"prefix": sys.argv[1], "keep_days": 30}], now=datetime.fromisoformat(sys.argv[2]),
                dry_run=False, audit_uri=sys.argv[3], run_id="killed")
"""


def test_a_kill_9_half_way_leaves_every_deleted_object_in_the_record(tmp_path):
    store = tmp_path / "store"
    planned = many(store, 300)
    for i in range(5):
        put(store, f"raw/fresh/{i}.wav", 1)
    before = set(remaining(store))
    audit = tmp_path / "audit" / "killed.json"
    src = os.path.dirname(os.path.dirname(retention.__file__))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")]))}
    child = subprocess.Popen(
        [sys.executable, "-c", KILL_CHILD, str(store / "raw"), NOW.isoformat(), str(audit)], env=env
    )
    try:
        deadline = time.monotonic() + 8
        while not (audit.exists() and json.loads(audit.read_text())["deleted"]):  # a batch done: kill inside the next
            assert child.poll() is None and time.monotonic() < deadline, "the child ended before it could be killed"
            time.sleep(0.01)
        child.send_signal(signal.SIGKILL)
        assert child.wait(5) == -signal.SIGKILL
    finally:
        child.kill()

    gone = before - set(remaining(store))
    record = json.loads(audit.read_text())  # written atomically, so whole even after kill -9
    assert record["status"] == "in_progress" and rel(store, record["planned"]) == planned
    assert rel(store, record["deleted"]) <= gone <= rel(store, record["deleted"]) | rel(store, record["deleting"])
    assert 0 < len(gone) < len(planned)  # killed half-way, and nothing outside the plan went
