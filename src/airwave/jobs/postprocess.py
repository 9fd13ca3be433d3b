"""Post-process (Spark): segments -> per call, in time order across channels, with roles, PII redacted ->
RUN/calls/<input name>.{json,srt,vtt}, RUN/summary/ (one row per call, schemas.SUMMARY) and RUN/report.json.
"""

from __future__ import annotations

import json
import posixpath
from collections import Counter
from dataclasses import asdict

from .. import layout, schemas, storage
from ..formats import dumps, to_srt, to_vtt, transcript
from ..records import CallSummary
from ..redact import redact_segments

# Whisper's own rule for "this was not speech": high no-speech probability and low confidence.
NO_SPEECH_PROB, LOGPROB_FLOOR = 0.6, -1.0


def output_names(call_ids: list[str]) -> dict[str, str]:
    """Name outputs after the input file ('sub/a.wav' -> 'sub/a'); keep the extension where two inputs would clash:
    'a.wav' + 'a.mp3', or 'A.wav' + 'a.mp3' (one file on case-insensitive file systems, e.g. a Mac's)."""
    stems = {c: posixpath.splitext(c)[0] for c in call_ids}
    counts = Counter(s.casefold() for s in stems.values())
    return {c: (c if counts[s.casefold()] > 1 else s) for c, s in stems.items()}


def build_call(call: dict, segs: list[dict]) -> tuple[dict, str, str]:
    """Assemble one call: drop non-speech, order across channels, redact per channel. Returns (json, srt, vtt)."""
    segs = [
        {**s, "start": s["start_s"], "end": s["end_s"]}
        for s in segs
        if s["text"] and not (s["no_speech_prob"] > NO_SPEECH_PROB and s["avg_logprob"] < LOGPROB_FLOOR)
    ]
    for s in segs:
        s["text"] = " ".join(s["text"].split())  # normalise whitespace
    segs.sort(key=lambda s: (s["start"], s["channel"], s["chunk_idx"], s["seg_idx"]))
    for i, s in enumerate(segs):
        s["id"] = i
    redactions = []
    for ch in sorted({s["channel"] for s in segs}):
        mine = [s for s in segs if s["channel"] == ch]  # one channel, in time order
        texts, recs = redact_segments([s["text"] for s in mine])
        for s, t in zip(mine, texts, strict=False):
            s["text"] = t
        redactions += [
            {
                "type": r["type"],
                "channel": ch,
                "segment": mine[r["segment"]]["id"],
                "start": round(mine[r["segment"]]["start"], 3),
                "end": round(mine[r["segment"]]["end"], 3),
            }
            for r in recs
        ]
    redactions.sort(key=lambda r: (r["segment"], r["type"]))
    model_id = segs[0]["model_id"] if segs else call.get("model_id", "")
    doc = transcript(call, segs, redactions, model_id)
    return doc, to_srt(segs), to_vtt(segs)


CALL_COLS = ["call_id", "source", "source_format", "source_rate", "source_channels", "duration_s", "sha256"]


def write_call(base: str, call: dict, name: str, segs: list[dict]) -> dict:
    """Write one call's JSON, SRT and VTT under RUN/calls/; returns its summary row (records.CallSummary)."""
    doc, srt, vtt = build_call(call, segs)
    uri = layout.transcript(base, name, "json")
    storage.write_text(uri, dumps(doc))
    storage.write_text(layout.transcript(base, name, "srt"), srt)
    storage.write_text(layout.transcript(base, name, "vtt"), vtt)
    return asdict(
        CallSummary(
            call_id=call["call_id"],
            name=name,
            status="transcribed" if doc["segments"] else "no_speech",
            duration_s=call["duration_s"],
            channels=call["source_channels"],
            segments=len(doc["segments"]),
            words=sum(len(s["text"].split()) for s in doc["segments"]),
            redactions=len(doc["redactions"]),
            transcript_uri=uri,
        )
    )


def run(spark, out_uri: str) -> dict:
    import pandas as pd

    base = storage.normalize(out_uri)
    for stage in ("preprocess", "transcribe"):
        layout.require(base, stage)
    layout.unpublish(base, "postprocess")  # report.json and calls/_SUCCESS go before any transcript is replaced
    # The calls table is one small row per input: the driver reads it once for the calls to write, their output
    # names and the rejects (the rejects table holds the same rows), rather than joining it to the segments.
    table = storage.read_table(layout.calls_table(base), schemas.names(schemas.CALLS))
    ok = [r for r in table if r["status"] == "ok"]
    rejects = sorted((r for r in table if r["status"] == "rejected"), key=lambda r: r["call_id"])
    names = output_names([r["call_id"] for r in ok])
    calls = {r["call_id"]: ({k: r[k] for k in CALL_COLS}, names[r["call_id"]]) for r in ok}  # (call, output name)
    storage.remove_tree(layout.transcripts(base))  # this stage owns RUN/calls: a rerun replaces it whole
    segments = spark.read.schema(schemas.SEGMENTS).parquet(layout.segments(base))
    seg_cols = [c for c in segments.columns if c != "call_id"]
    # One copy per executor rather than one in every task's closure (a corpus can hold 100k calls).
    info = spark.sparkContext.broadcast(calls)

    def per_call(pdf: pd.DataFrame) -> pd.DataFrame:
        call, name = info.value[pdf["call_id"].iat[0]]
        segs = [{k: _py(r[k]) for k in seg_cols} for _, r in pdf.iterrows()]
        return pd.DataFrame([write_call(base, call, name, segs)])

    # collect() keeps one result per partition whatever was retried, so each call has one summary row.
    summary = {
        r.call_id: r.asDict() for r in segments.groupBy("call_id").applyInPandas(per_call, schemas.SUMMARY).collect()
    }
    for c in sorted(set(calls) - set(summary)):  # a call with no speech (silence) has no segments: empty outputs
        summary[c] = write_call(base, *calls[c], [])
    rows = [CallSummary(**summary[c]) for c in sorted(summary)]
    storage.write_table(layout.summary(base), [asdict(r) for r in rows], schemas.SUMMARY)
    report = {
        "schema": "airwave.run-report",
        "schema_version": "1.0",
        "calls": len(rows),
        "rejected": len(rejects),
        "no_speech": sum(r.status == "no_speech" for r in rows),
        "audio_s": round(sum(r.duration_s for r in rows), 3),
        "segments": sum(r.segments for r in rows),
        "redactions": sum(r.redactions for r in rows),
        "outputs": layout.transcripts(base),
        "per_call": [
            {
                "call_id": r.call_id,
                "name": r.name,
                "status": r.status,
                "duration_s": r.duration_s,
                "segments": r.segments,
                "redactions": r.redactions,
            }
            for r in rows
        ],
        "rejects": [{k: r[k] for k in ("call_id", "reason", "detail")} for r in rejects],
    }
    layout.publish(base, "postprocess")
    storage.write_text(layout.report(base), json.dumps(report, indent=2) + "\n")  # last: the run is done
    return report


def _py(v):
    """pandas/numpy scalars -> plain Python (for JSON)."""
    if v is None:
        return None
    if hasattr(v, "item"):
        return v.item()
    try:
        import pandas as pd

        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    return v
