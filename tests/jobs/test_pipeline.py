"""`airwave run` over sample_data, end to end: real Spark (local mode), real tiny.en model, real files.

WER thresholds. The references are the TTS scripts. tiny.en scores 5.6% WER on LibriSpeech test-clean (Whisper
paper); our calls are 8 kHz mu-law telephony of synthetic voices, which is harder, and the measured result on this
set is 6.1% per channel (6.3% with each call read in turn order), with every call at or under 15%. The gates leave
room for CPU/int8 kernel differences between machines while still failing on real regressions (a lost utterance in
a 50-word call costs 10-20 points, a broken channel split or role map costs ~100): overall <= 15%, per call <= 30%;
in turn order at most 2 points above per channel (a call read out of order costs far more: 38.8% for the plain
script on this set).
"""

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from testlib import ROOT, SAMPLE

pytestmark = pytest.mark.slow
MANIFEST = json.loads((SAMPLE / "manifest.json").read_text())


def airwave(*args):
    r = subprocess.run([sys.executable, "-m", "airwave", *args], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r.stdout


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "out"
    stdout = airwave("run", str(SAMPLE), "--out", str(out), "--refs", str(SAMPLE / "manifest.json"))
    snapshot = _snapshot(out)
    return out, stdout, snapshot


def _snapshot(out: Path) -> dict:
    """Every transcript file's bytes, and every table's rows (sorted), of a run."""
    files = {
        p.relative_to(out / "calls").as_posix(): p.read_bytes()
        for p in sorted((out / "calls").rglob("*"))
        if p.is_file()
    }
    tables = {
        t: sorted(
            map(
                str,
                pq.read_table(out / t)
                .drop_columns([c for c in ("pcm",) if c in pq.read_table(out / t).column_names])
                .to_pylist(),
            )
        )
        for t in ("preprocess/chunks", "preprocess/calls", "preprocess/rejects", "transcribe/segments", "summary")
    }
    return {"files": files, "tables": tables}


def test_cli_prints_a_summary_table(run):
    _, stdout, _ = run
    for label in (
        "calls transcribed",
        "rejected inputs",
        "audio minutes",
        "wall time",
        "x-realtime",
        "WER per channel",
        "WER in turn order",
    ):
        assert label in stdout
    assert "Transcripts: file://" in stdout


def test_every_reference_call_is_transcribed_within_wer(run):
    out, _, _ = run
    rep = json.loads((out / "eval" / "report.json").read_text())
    assert set(rep["per_call"]) == set(MANIFEST["calls"])
    assert rep["overall"]["wer"] <= 0.15, rep["overall"]
    for call, score in rep["per_call"].items():
        assert score["wer"] <= 0.30, (call, score)
    for ch in rep["per_channel"]:  # both sides of every stereo call have their own transcript
        assert ch["hypothesis"], ch


def test_transcripts_read_in_turn_order(run):
    """Each call read in start-time order across channels scores (almost) as well as each channel on its own: cues
    are not merged across the other speaker's turns."""
    out, _, snap = run
    rep = json.loads((out / "eval" / "report.json").read_text())
    assert rep["ordered"]["words"] >= rep["overall"]["words"] - 5  # every call with a known order is scored
    assert rep["ordered"]["wer"] <= rep["overall"]["wer"] + 0.02, (rep["ordered"], rep["overall"])
    doc = json.loads(snap["files"]["call_002_address_change.json"])
    lines = doc["transcript"].splitlines()
    asked = next(i for i, t in enumerate(lines) if "phone number" in t)  # one line per turn, even across segments
    answered = next(i for i, t in enumerate(lines) if "call me at" in t)
    assert lines[asked].startswith("Agent:") and lines[answered].startswith("Customer:") and asked < answered


def test_no_cue_spans_two_speech_regions(run):
    """The multi-minute call: every segment lies inside one speech region (turn) of its own chunk."""
    out, _, _ = run
    call = "call_004_long_billing_dispute.wav"
    chunks = pq.read_table(out / "preprocess" / "chunks", columns=["call_id", "channel", "chunk_idx", "regions"])
    regions = {(r["channel"], r["chunk_idx"]): r["regions"] for r in chunks.to_pylist() if r["call_id"] == call}
    segs = [r for r in pq.read_table(out / "transcribe" / "segments").to_pylist() if r["call_id"] == call]
    assert len(segs) >= 33 and sum(len(v) for v in regions.values()) >= 25  # 33 turns in the script
    for s in segs:
        inside = [r for r in regions[(s["channel"], s["chunk_idx"])] if r[0] <= s["start_s"] <= s["end_s"] <= r[1]]
        assert len(inside) == 1, s


def test_outputs_are_named_after_inputs_with_roles(run):
    out, _, snap = run
    for name in MANIFEST["calls"]:
        stem = name.rsplit(".", 1)[0]
        assert {f"{stem}.json", f"{stem}.srt", f"{stem}.vtt"} <= set(snap["files"])
    doc = json.loads(snap["files"]["call_002_address_change.json"])
    assert doc["schema"] == "airwave.transcript" and {c["role"] for c in doc["channels"]} == {"agent", "customer"}
    starts = [s["start"] for s in doc["segments"]]
    assert starts == sorted(starts)
    srt = snap["files"]["call_002_address_change.srt"].decode()
    assert "Agent: " in srt and "Customer: " in srt
    assert "<v Customer>" in snap["files"]["call_002_address_change.vtt"].decode()


def test_pii_is_redacted_in_every_output(run):
    out, _, snap = run
    card = snap["files"]["call_001_card_payment.json"].decode()
    phone = snap["files"]["call_002_address_change.json"].decode()
    assert "[CREDIT_CARD]" in card or "[NUMBER]" in card
    assert "[PHONE]" in phone and "5678" not in phone
    for name, data in snap["files"].items():
        assert "4-1-1-1" not in data.decode() and "1111" not in data.decode(), name


def test_rejects_carry_reasons_and_the_run_goes_on(run):
    out, _, snap = run
    rejects = {r["call_id"]: r for r in pq.read_table(out / "preprocess" / "rejects").to_pylist()}
    assert {k: v["reason"] for k, v in rejects.items()} == MANIFEST["rejects"]
    assert all(r["detail"] for r in rejects.values())
    report = json.loads((out / "report.json").read_text())
    assert report["rejected"] == 3 and report["calls"] == len(MANIFEST["calls"]) + len(MANIFEST["silent"])
    assert not any(n.startswith("broken_") for n in snap["files"])


def test_silence_gives_an_empty_transcript(run):
    out, _, snap = run
    doc = json.loads(snap["files"]["silence.json"])
    assert doc["segments"] == [] and doc["transcript"] == "" and doc["duration"] == 5.0
    assert snap["files"]["silence.srt"] == b"" and snap["files"]["silence.vtt"] == b"WEBVTT\n\n"
    chunks = pq.read_table(out / "preprocess" / "chunks").to_pylist()
    assert not [c for c in chunks if c["call_id"] == "silence.wav"]


def test_rerun_into_the_same_output_is_identical_without_duplicates(run):
    out, _, first = run
    (out / "calls" / "stale.json").write_text("{}")  # a leftover must not survive: the stage owns its prefix
    airwave("run", str(SAMPLE), "--out", str(out))
    second = _snapshot(out)
    assert second["files"].keys() == first["files"].keys()
    assert second["files"] == first["files"]
    assert second["tables"] == first["tables"]
