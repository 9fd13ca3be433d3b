#!/usr/bin/env python3
"""Baseline: the plain sequential faster-whisper script a user would write first.

One process, one model (loaded once), files one after another: decode, split stereo, `transcribe` with VAD,
beam 1, CTranslate2's default thread count. Prints a JSON object {file: {channel_index: [[start, end, text], ...]}}
on stdout (the segments of each channel, in time order).

    python bench/plain_whisper.py FOLDER [--model PATH] [--compute-type int8]
"""

import argparse
import json
import sys
from pathlib import Path

import av
from faster_whisper import WhisperModel
from faster_whisper.audio import decode_audio

from airwave.asr import resolve_model  # only to find the same model folder offline


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("folder")
    p.add_argument("--model", default="tiny.en")
    p.add_argument("--compute-type", default="int8")
    a = p.parse_args()
    model = WhisperModel(resolve_model(a.model)[0], device="cpu", compute_type=a.compute_type, local_files_only=True)
    out = {}
    for f in sorted(Path(a.folder).rglob("*")):
        if not f.is_file() or f.suffix == ".json":
            continue
        with av.open(str(f)) as c:
            stereo = c.streams.audio[0].codec_context.channels == 2
        channels = decode_audio(str(f), split_stereo=True) if stereo else (decode_audio(str(f)),)
        out[f.relative_to(a.folder).as_posix()] = {
            i: [
                [s.start, s.end, s.text.strip()]
                for s in model.transcribe(ch, beam_size=1, vad_filter=True, language="en")[0]
            ]
            for i, ch in enumerate(channels)
        }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
