"""WER of a run against reference transcripts: Whisper's English normaliser + jiwer, per call and per channel."""
from __future__ import annotations

import json
import re

import jiwer
from whisper_normalizer.english import EnglishTextNormalizer

from . import storage

_norm = EnglishTextNormalizer()


def normalise(text: str) -> str:
    # ASR writes digit strings with arbitrary grouping ("4-1-1-1", "4111 1111", "555-234-5678"); the Whisper
    # normaliser keeps those groups (and spells some digits out), so join digits first: one string, one word.
    text = re.sub(r"(?<=\d)[\s,.-]+(?=\d)", "", text)
    return " ".join(re.sub(r"(?<=\d) (?=\d)", "", _norm(text)).split())


def load_hypotheses(run_uri: str) -> dict[tuple[str, str], str]:
    """(call_id, role) -> the channel's raw ASR text in time order (unredacted: WER measures the recogniser)."""
    import pyarrow.dataset as ds

    fs, path = storage.filesystem(storage.join(run_uri, "transcribe", "segments"))
    t = ds.dataset(path, filesystem=fs, format="parquet").to_table().to_pylist()
    t.sort(key=lambda r: (r["call_id"], r["role"], r["start_s"], r["chunk_idx"], r["seg_idx"]))
    out: dict[tuple[str, str], list[str]] = {}
    for r in t:
        out.setdefault((r["call_id"], r["role"]), []).append(r["text"])
    return {k: " ".join(v) for k, v in out.items()}


def _score(refs: list[str], hyps: list[str]) -> dict:
    pairs = [(r, h) for r, h in zip(refs, hyps) if r]
    if not pairs:
        return {"wer": None, "words": 0}
    o = jiwer.process_words([r for r, _ in pairs], [h for _, h in pairs])
    words = o.hits + o.substitutions + o.deletions
    return {"wer": round(o.wer, 4), "words": words, "substitutions": o.substitutions, "deletions": o.deletions,
            "insertions": o.insertions}


def evaluate(run_uri: str, refs_uri: str) -> dict:
    from .jobs import require
    from .settings import check_refs

    refs = check_refs(refs_uri)
    require(run_uri, "transcribe")  # only segments of a finished stage are scored
    hyps = load_hypotheses(run_uri)
    per_channel, per_call, all_r, all_h = [], {}, [], []
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
    silent = {c: not any(k[0] == c for k in hyps) for c in refs.get("silent", [])}
    report = {"schema": "airwave.eval-report", "schema_version": "1.0", "normaliser": "whisper EnglishTextNormalizer",
              "overall": _score(all_r, all_h), "per_call": per_call, "per_channel": per_channel,
              "silent_calls_empty": silent}
    storage.write_text(storage.join(run_uri, "eval", "report.json"), json.dumps(report, indent=2) + "\n")
    return report
