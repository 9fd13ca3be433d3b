"""Per-call transcript outputs: versioned JSON (schema in transcript.schema.json), SRT and WebVTT. Pure."""

from __future__ import annotations

import itertools
import json
import math
from typing import Any

SCHEMA_ID = "airwave.transcript"
SCHEMA_VERSION = "1.0"


def _ts(seconds: float, marker: str) -> str:
    ms = int(round(max(0.0, seconds) * 1000))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{marker}{ms:03d}"


def label(role: str) -> str:
    return role.replace("_", " ").title()


def to_srt(segments: list[dict[str, Any]]) -> str:
    """SRT has no speaker markup: each cue is prefixed with the role ("Agent: ...")."""
    cues = [
        f"{i}\n{_ts(s['start'], ',')} --> {_ts(s['end'], ',')}\n{label(s['role'])}: {s['text']}\n"
        for i, s in enumerate(segments, 1)
    ]
    return "\n".join(cues)


def to_vtt(segments: list[dict[str, Any]]) -> str:
    """WebVTT with voice spans (<v Agent>); overlapping cues from two channels are legal in VTT."""
    cues = [
        f"{i}\n{_ts(s['start'], '.')} --> {_ts(s['end'], '.')}\n<v {label(s['role'])}>{_escape(s['text'])}\n"
        for i, s in enumerate(segments, 1)
    ]
    return "WEBVTT\n\n" + "\n".join(cues)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def transcript(
    call: dict[str, Any], segments: list[dict[str, Any]], redactions: list[dict[str, Any]], model_id: str
) -> dict[str, Any]:
    """The JSON document of one call. `segments` are in time order, already redacted.

    Field names follow AWS Transcribe / Deepgram where they have one: channels[], segments[] with start/end in float
    seconds, confidence in [0, 1] (exp of Whisper's average token log-probability).
    """
    channels: dict[int, dict[str, Any]] = {}
    for s in segments:
        ch = channels.setdefault(s["channel"], {"channel": s["channel"], "role": s["role"], "segments": []})
        ch["segments"].append(s["id"])
    for ch in channels.values():
        ch["transcript"] = " ".join(s["text"] for s in segments if s["channel"] == ch["channel"])
    # One line per turn: Whisper may end a segment mid-sentence ("... the best phone" / "number to reach you?"), and
    # a reader wants the turn whole; the segments (and SRT/VTT cues) keep their own times.
    turns = [list(t) for _, t in itertools.groupby(segments, key=lambda s: s["channel"])]
    return {
        "schema": SCHEMA_ID,
        "schema_version": SCHEMA_VERSION,
        "call_id": call["call_id"],
        "source": {k: call.get(k) for k in ("source", "source_format", "source_rate", "source_channels", "sha256")},
        "duration": round(call.get("duration_s") or 0.0, 3),
        "model": model_id,
        "transcript": "\n".join(f"{label(t[0]['role'])}: {' '.join(s['text'] for s in t)}" for t in turns),
        "channels": [channels[k] for k in sorted(channels)],
        "segments": [
            {
                "id": s["id"],
                "channel": s["channel"],
                "role": s["role"],
                "start": round(s["start"], 3),
                "end": round(s["end"], 3),
                "text": s["text"],
                "confidence": round(math.exp(min(0.0, s["avg_logprob"])), 4),
                "avg_logprob": round(s["avg_logprob"], 4),
                "no_speech_prob": round(s["no_speech_prob"], 4),
            }
            for s in segments
        ],
        "redactions": redactions,
    }


def dumps(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
