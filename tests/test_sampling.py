"""Production sampling: deterministic for a seed, rate respected, only new audio, copies byte-identical."""

import json
import os
from datetime import UTC, datetime, timedelta

import pytest

from airwave import sampling

KEYS = [f"2026/06/01/call_{i:05d}.wav" for i in range(4000)]


def pick(seed, rate, keys=KEYS):
    return [k for k in keys if sampling.selected(seed, k, rate)]


def test_same_seed_same_sample_in_any_order():
    a = pick("s1", 0.1)
    assert a == pick("s1", 0.1)
    assert sorted(pick("s1", 0.1, list(reversed(KEYS)))) == sorted(a)


def test_different_seed_different_sample():
    assert set(pick("s1", 0.1)) != set(pick("s2", 0.1))


def test_rate_is_respected_and_monotonic():
    small, big = set(pick("s1", 0.05)), set(pick("s1", 0.25))
    assert 0.035 * len(KEYS) < len(small) < 0.065 * len(KEYS)
    assert 0.22 * len(KEYS) < len(big) < 0.28 * len(KEYS)
    assert small <= big  # raising the rate only adds calls
    assert pick("s1", 0.0) == [] and pick("s1", 1.0) == KEYS
    with pytest.raises(ValueError):
        sampling.selected("s", "k", 1.5)


START = datetime(2026, 6, 1, 10, tzinfo=UTC)
END = START + timedelta(hours=1)


def put(root, rel, when, data=None):
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data or rel.encode() * 3)
    os.utime(p, (when.timestamp(), when.timestamp()))


def test_sample_copies_new_audio_only(tmp_path):
    src, dst = tmp_path / "raw", tmp_path / "eval"
    inside = [f"d/call_{i:03d}.wav" for i in range(200)]
    for rel in inside:
        put(src, rel, START + timedelta(minutes=5))
    put(src, "d/old.wav", START - timedelta(seconds=1))  # arrived before the window
    put(src, "d/late.wav", END)  # the window is [start, end)
    put(src, "d/notes.txt", START + timedelta(minutes=1))  # not audio
    rec = sampling.sample(
        str(src), str(dst), start=START, end=END, rate=0.2, seed="x", manifest_uri=str(dst / "_samples" / "w.json")
    )
    expected = sorted(r for r in inside if sampling.selected("x", r, 0.2))
    assert rec["arrived"] == len(inside)
    assert sorted(s["path"] for s in rec["sampled"]) == expected and 20 < len(expected) < 60
    copied = sorted(str(p.relative_to(dst)) for p in dst.rglob("*.wav"))
    assert copied == expected
    assert all((dst / r).read_bytes() == (src / r).read_bytes() for r in expected)
    assert json.loads((dst / "_samples" / "w.json").read_text())["sampled"] == rec["sampled"]
    # A rerun of the same interval selects and copies the same files.
    again = sampling.sample(str(src), str(dst), start=START, end=END, rate=0.2, seed="x")
    assert again["sampled"] == rec["sampled"]
    assert sorted(str(p.relative_to(dst)) for p in dst.rglob("*.wav")) == expected
