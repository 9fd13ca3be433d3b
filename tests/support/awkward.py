"""Inputs with the names real recording exports have: `#`, `?`, `%`, spaces, unicode, `+`, `&`, quotes, `:`, the same
stem in two folders and with two extensions (differing in case too), upper-case extensions; plus a file over the
size limit, a sidecar with an upper-case extension, and (local files only) a name that is not UTF-8.

Each input is a real recording from sample_data with words of its own, so a test can tell one transcript from
another: two inputs merged into one call, or one lost, shows up as missing words.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"
# name -> (source in sample_data, output name under calls/, a word the source says)
CALLS = {
    "call#1.wav": ("voicemail_pcm.wav", "call#1", "appointment"),
    "call#2.wav": ("voicemail_alaw.wav", "call#2", "moment"),
    "sub/call#1.mp3": ("voicemail_mp3.mp3", "sub/call#1", "support"),
    "what?.flac": ("voicemail_flac.flac", "what?", "subscription"),
    "dup.ogg": ("voicemail_ogg.ogg", "dup.ogg", "package"),  # same stem as Dup.m4a, except for case
    "Dup.m4a": ("voicemail_m4a.m4a", "Dup.m4a", "internet"),
    "100% sure & a+b 'q' \"d\".wav": ("voicemail_pcm.wav", "100% sure & a+b 'q' \"d\"", "appointment"),
    "ünïcode café:colon.WAV": ("voicemail_alaw.wav", "ünïcode café:colon", "moment"),
    "deep/sp ace?x=1#frag.MP3": ("voicemail_flac.flac", "deep/sp ace?x=1#frag", "subscription"),
}
MAX_INPUT_MB = 0.3  # the stereo call below is 0.41 MiB
TOO_LARGE = {"big call.wav": "call_002_address_change.wav"}
SIDECARS = {"notes.TXT": b"not audio, and excluded by *.txt whatever its case\n"}
NOT_UTF8 = b"bad\xff name.wav"  # local file systems only: S3 keys are UTF-8


def populate(put: Callable[[str, bytes], None], local_root: Path | None = None) -> dict:
    """Write the inputs through `put(relative name, bytes)`; returns what a run must produce from them."""
    for name, (src, _, _) in CALLS.items():
        put(name, (SAMPLE / src).read_bytes())
    for name, src in TOO_LARGE.items():
        put(name, (SAMPLE / src).read_bytes())
    for name, data in SIDECARS.items():
        put(name, data)
    rejects = {name: "too_large" for name in TOO_LARGE}
    if local_root is not None:
        with open(os.path.join(os.fsencode(local_root), NOT_UTF8), "wb") as f:
            f.write((SAMPLE / "voicemail_ogg.ogg").read_bytes())
        rejects[NOT_UTF8.decode("utf-8", "backslashreplace")] = "unsupported_name"
    return {"calls": {n: (out, word) for n, (_, out, word) in CALLS.items()}, "rejects": rejects}


def local_put(root: Path) -> Callable[[str, bytes], None]:
    def put(name: str, data: bytes) -> None:
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)

    return put


def check_run(report: dict, transcripts: dict[str, dict], expected: dict) -> None:
    """One transcript per input, named after it, saying that input's words; the rest rejected with their reason."""
    from airwave.evaluate import normalise

    assert {c["call_id"]: c["name"] for c in report["per_call"]} == {
        n: out for n, (out, _) in expected["calls"].items()
    }
    assert {r["call_id"]: r["reason"] for r in report["rejects"]} == expected["rejects"]
    assert set(transcripts) == {out for out, _ in expected["calls"].values()}
    for name, (out, word) in expected["calls"].items():
        doc = transcripts[out]
        assert doc["call_id"] == name and doc["source"]["source"].endswith("/" + name), doc["source"]
        assert word in normalise(doc["transcript"]), (name, doc["transcript"])
    json.dumps(report)  # the report stays plain JSON whatever the names
