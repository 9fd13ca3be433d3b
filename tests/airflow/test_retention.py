"""Retention on a temporary store with aged objects."""
import json
import os
from datetime import datetime, timedelta, timezone

import pytest

from airwave import retention

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)


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
        "raw/old.wav": 40, "raw/new.wav": 5, "raw/deep/older.mp3": 100, "raw/edge.wav": 29.9,
        "raw2/old.wav": 400,  # a sibling whose name starts with "raw": outside the policy
        "outside.wav": 400,
        "runs/r1/preprocess/chunks/part-0.parquet": 20, "runs/r1/preprocess/_SUCCESS": 20,
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


EXPIRED = {"raw/old.wav", "raw/deep/older.mp3", "runs/r1/preprocess/chunks/part-0.parquet",
           "runs/r1/preprocess/_SUCCESS"}


def test_dry_run_deletes_nothing_but_reports(store, tmp_path):
    before = remaining(store)
    audit = tmp_path / "audit" / "dry.json"
    rec = retention.apply(policies(store), now=NOW, audit_uri=str(audit), run_id="r")  # dry_run is the default
    assert rec["dry_run"] is True
    assert remaining(store) == before
    would = {d["uri"].split(str(store) + "/", 1)[1] for d in rec["deleted"]}
    assert would == EXPIRED
    assert json.loads(audit.read_text())["deleted_count"] == len(EXPIRED)


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
