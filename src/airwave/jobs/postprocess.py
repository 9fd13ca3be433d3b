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


def run(spark, out_uri: str) -> dict:
    import pandas as pd

    base = storage.normalize(out_uri)
    for stage in ("preprocess", "transcribe"):
        layout.require(base, stage)
    layout.unpublish(base, "postprocess")  # report.json and calls/_SUCCESS go before any transcript is replaced
    calls = spark.read.schema(schemas.CALLS).parquet(layout.calls_table(base)).filter("status = 'ok'")
    segments = spark.read.schema(schemas.SEGMENTS).parquet(layout.segments(base))
    names = output_names([r.call_id for r in calls.select("call_id").collect()])
    storage.remove_tree(layout.transcripts(base))  # this stage owns RUN/calls: a rerun replaces it whole
    call_cols = ["call_id", "source", "source_format", "source_rate", "source_channels", "duration_s", "sha256"]
    seg_cols = [c for c in segments.columns if c != "call_id"]
    # A call with no speech (silence) has no segments; the left join keeps it so it still gets (empty) outputs.
    joined = calls.select(*call_cols).join(segments, "call_id", "left")

    def per_call(pdf: pd.DataFrame) -> pd.DataFrame:
        call = {k: _py(pdf.iloc[0][k]) for k in call_cols}
        segs = [{k: _py(r[k]) for k in seg_cols} for _, r in pdf.iterrows() if pd.notna(r["text"])]
        doc, srt, vtt = build_call(call, segs)
        name = names[call["call_id"]]
        uri = layout.transcript(base, name, "json")
        storage.write_text(uri, dumps(doc))
        storage.write_text(layout.transcript(base, name, "srt"), srt)
        storage.write_text(layout.transcript(base, name, "vtt"), vtt)
        row = CallSummary(
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
        return pd.DataFrame([asdict(row)])

    summary = joined.groupBy("call_id").applyInPandas(per_call, schemas.SUMMARY)
    summary.write.mode("overwrite").parquet(layout.summary(base))
    rows = sorted(
        (CallSummary(**r.asDict()) for r in spark.read.schema(schemas.SUMMARY).parquet(layout.summary(base)).collect()),
        key=lambda r: r.call_id,
    )
    rejects = sorted(
        (r.asDict() for r in spark.read.schema(schemas.REJECTS).parquet(layout.rejects(base)).collect()),
        key=lambda r: r["call_id"],
    )
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
