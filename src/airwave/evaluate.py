"""WER of a run against reference transcripts: Whisper's English normaliser + jiwer, per channel and in turn order."""

from __future__ import annotations

import json
import re

import jiwer
from whisper_normalizer.english import EnglishTextNormalizer

from . import layout, storage

_norm = EnglishTextNormalizer()


def normalise(text: str) -> str:
    # ASR writes digit strings with arbitrary grouping ("4-1-1-1", "4111 1111", "555-234-5678"); the Whisper
    # normaliser keeps those groups (and spells some digits out), so join digits first: one string, one word.
    text = re.sub(r"(?<=\d)[\s,.-]+(?=\d)", "", text)
    return " ".join(re.sub(r"(?<=\d) (?=\d)", "", _norm(text)).split())


def load_segments(run_uri: str) -> list[dict]:
    """The run's raw ASR segments (unredacted: WER measures the recogniser), in call-time order per call."""
    import pyarrow.dataset as ds

    fs, path = storage.filesystem(layout.segments(run_uri))
    t = ds.dataset(path, filesystem=fs, format="parquet").to_table().to_pylist()
    return sorted(t, key=lambda r: (r["call_id"], r["start_s"], r["channel"], r["chunk_idx"], r["seg_idx"]))


def hypotheses(segments: list[dict]) -> tuple[dict[tuple[str, str], str], dict[str, str]]:
    """(call_id, role) -> that channel's text in time order; call_id -> the whole call read in start-time order
    across channels (what the transcript shows)."""
    per_channel: dict[tuple[str, str], list[str]] = {}
    ordered: dict[str, list[str]] = {}
    for r in segments:
        per_channel.setdefault((r["call_id"], r["role"]), []).append(r["text"])
        ordered.setdefault(r["call_id"], []).append(r["text"])
    return ({k: " ".join(v) for k, v in per_channel.items()}, {k: " ".join(v) for k, v in ordered.items()})


def ordered_reference(ref: dict) -> str | None:
    """The call's reference read in turn order: its `turns` (by start time where given), or the one channel of a
    mono file. None for a multi-channel reference without turns (its order is unknown)."""
    if ref.get("turns"):
        turns = sorted(enumerate(ref["turns"]), key=lambda it: (it[1].get("start", 0.0), it[0]))
        return " ".join(t["text"] for _, t in turns)
    if len(ref["channels"]) == 1:
        return next(iter(ref["channels"].values()))
    return None


def _score(refs: list[str], hyps: list[str]) -> dict:
    pairs = [(r, h) for r, h in zip(refs, hyps, strict=False) if r]
    if not pairs:
        return {"wer": None, "words": 0}
    o = jiwer.process_words([r for r, _ in pairs], [h for _, h in pairs])
    words = o.hits + o.substitutions + o.deletions
    return {
        "wer": round(o.wer, 4),
        "words": words,
        "substitutions": o.substitutions,
        "deletions": o.deletions,
        "insertions": o.insertions,
    }


def evaluate(run_uri: str, refs_uri: str) -> dict:
    from .settings import check_refs

    refs = check_refs(refs_uri)
    layout.require(run_uri, "transcribe")  # only segments of a finished stage are scored
    hyps, ordered_hyps = hypotheses(load_segments(run_uri))
    per_channel, per_call, ordered, all_r, all_h, ord_r, ord_h = [], {}, {}, [], [], [], []
    for call_id, ref in sorted(refs.get("calls", {}).items()):
        cr, ch = [], []
        for role, text in sorted(ref["channels"].items()):
            r, h = normalise(text), normalise(hyps.get((call_id, role), ""))
            per_channel.append({"call_id": call_id, "role": role, **_score([r], [h]), "reference": r, "hypothesis": h})
            cr.append(r)
            ch.append(h)
        per_call[call_id] = _score([" ".join(cr)], [" ".join(ch)])
        all_r += cr
        all_h += ch
        in_order = ordered_reference(ref)
        if in_order is not None:
            r, h = normalise(in_order), normalise(ordered_hyps.get(call_id, ""))
            ordered[call_id] = _score([r], [h])
            ord_r.append(r)
            ord_h.append(h)
    silent = {c: c not in ordered_hyps for c in refs.get("silent", [])}
    # "overall" scores each channel on its own; "ordered" scores each call read in start-time order across
    # channels against the turns in order, which is what a reader of the transcript sees.
    report = {
        "schema": "airwave.eval-report",
        "schema_version": "1.1",
        "normaliser": "whisper EnglishTextNormalizer",
        "overall": _score(all_r, all_h),
        "ordered": _score(ord_r, ord_h),
        "per_call": per_call,
        "ordered_per_call": ordered,
        "per_channel": per_channel,
        "silent_calls_empty": silent,
    }
    storage.write_text(layout.eval_report(run_uri), json.dumps(report, indent=2) + "\n")
    return report
