"""bench/throughput.py's WER comparison: per-call errors of both sides, and the paired bootstrap interval."""

import json

from bench import throughput
from bench.throughput import call_errors, paired_difference


def test_a_difference_within_call_to_call_spread_gets_an_interval_across_zero():
    # airwave better on one call, worse on another: the sign depends on which calls were drawn.
    mixed = {"a": [10, 2, 100], "b": [2, 10, 100], "c": [5, 6, 100]}
    d = paired_difference(mixed)
    assert d["points"] == 0.33 and d["ci95"][0] < 0 < d["ci95"][1] and d["calls"] == 3
    assert paired_difference(mixed) == d  # seeded: the same report every time


def test_a_difference_on_every_call_gets_an_interval_on_one_side():
    better = {c: [10, 4, 100] for c in "abcdef"}
    assert paired_difference(better) == {"points": -6.0, "ci95": [-6.0, -6.0], "calls": 6}
    assert paired_difference({}) == {}


def test_copies_of_a_call_count_as_one_call_and_both_sides_use_the_same_references():
    ref = {"channels": {"agent": "hello there", "customer": "hi"}, "turns": []}
    manifest = {"calls": {"copy00_x.wav": ref, "copy01_x.wav": ref}}
    plain = {n: {"0": [[0.0, 1.0, "hello bear"]], "1": [[1.0, 2.0, "hi"]]} for n in manifest["calls"]}
    ours = [
        {"call_id": n, "role": r, "substitutions": s, "deletions": 0, "insertions": 0}
        for n in manifest["calls"]
        for r, s in (("agent", 0), ("customer", 1))
    ]
    errs = call_errors(plain, {"per_channel": ours, "ordered_per_call": {}}, manifest)
    assert errs == {"channel": {"x.wav": [2, 2, 6]}, "ordered": {}}


def test_copies_of_a_corpus_get_distinct_names_and_the_same_references(tmp_path, monkeypatch):
    src = tmp_path / "set"
    src.mkdir()
    (src / "a.wav").write_bytes(b"RIFF-a")
    (src / "notes.txt").write_text("not a call")  # not in the manifest: not copied
    refs = {"a.wav": {"channels": {"agent": "hi"}}}
    (src / "manifest.json").write_text(json.dumps({"calls": refs}))
    monkeypatch.setattr(throughput, "WORK", tmp_path / "work")
    folder, refs_path, manifest = throughput.open_corpus(src, 20.0, copies=3)
    assert sorted(p.name for p in folder.iterdir()) == ["copy00_a.wav", "copy01_a.wav", "copy02_a.wav"]
    assert (folder / "copy02_a.wav").read_bytes() == b"RIFF-a"
    assert manifest == {"calls": {f"copy0{i}_a.wav": refs["a.wav"] for i in range(3)}}
    assert json.loads(refs_path.read_text()) == manifest and refs_path.parent != folder
    assert throughput.open_corpus(src, 20.0) == (src, src / "manifest.json", {"calls": refs})  # one copy: as it is
