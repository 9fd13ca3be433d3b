"""Speech detection (Silero VAD, shipped with faster-whisper) and packing of speech into <=20 s chunks. Pure."""

from __future__ import annotations

import bisect
import itertools
from dataclasses import dataclass, replace

import numpy as np

from . import whisper_compat as whisper
from .audio import SAMPLE_RATE
from .records import Segment, Word

# Speech per chunk. The encoder gets a chunk plus asr.ENCODER_PAD_S, not Whisper's 30 s window: its cost per audio
# second grows with the window (self-attention), and 20 s windows made the transcribe stage ~20% faster at the same
# WER on both bench corpora (README: Performance); 15 s lost ~1-2 points.
MAX_CHUNK_S = 20.0


@dataclass
class Chunk:
    audio: np.ndarray  # speech regions of one channel, concatenated (silence between them removed)
    regions: list[tuple[float, float]]  # (start_s, end_s) of each region in call time

    @property
    def start_s(self) -> float:
        return self.regions[0][0]

    @property
    def end_s(self) -> float:
        return self.regions[-1][1]

    @property
    def speech_s(self) -> float:
        return len(self.audio) / SAMPLE_RATE


def speech_regions(audio: np.ndarray, min_silence_ms: int = 160, pad_ms: int = 200) -> list[tuple[int, int]]:
    """Sample ranges holding speech. Short silences split regions so packing can cut between words."""
    return whisper.speech_timestamps(
        audio, sample_rate=SAMPLE_RATE, max_speech_s=MAX_CHUNK_S, min_silence_ms=min_silence_ms, pad_ms=pad_ms
    )


def pack(audio: np.ndarray, regions: list[tuple[int, int]], max_s: float = MAX_CHUNK_S) -> list[Chunk]:
    """Greedily pack consecutive speech regions into chunks of at most `max_s` seconds of speech.

    Silence between regions is dropped (the encoder pays for every second it is given, so a window full of speech is
    cheapest); `Chunk.regions` keeps the call-time position of every piece so timings can be mapped back.
    """
    max_n = int(max_s * SAMPLE_RATE)
    # VAD already caps regions at MAX_CHUNK_S; split anyway so a smaller max_s is honoured too.
    pieces = [(p, min(p + max_n, e)) for s, e in regions for p in range(s, e, max_n)]
    groups: list[list[tuple[int, int]]] = []
    size = 0
    for s, e in pieces:
        if not groups or size + (e - s) > max_n:
            groups.append([])
            size = 0
        groups[-1].append((s, e))
        size += e - s
    return [
        Chunk(np.concatenate([audio[s:e] for s, e in g]), [(s / SAMPLE_RATE, e / SAMPLE_RATE) for s, e in g])
        for g in groups
    ]


TURN_GAP_S = 1.0  # a pause longer than this ends a turn even when the other side says nothing


def turns(
    channel_regions: list[list[tuple[int, int]]], max_gap_s: float = TURN_GAP_S, max_s: float = MAX_CHUNK_S
) -> list[list[tuple[int, int]]]:
    """Join each channel's speech regions into turns: consecutive regions of one speaker separated by a short pause
    in which no other channel speaks. VAD splits at every short silence (commas, breaths); a cue is cut at region
    boundaries (split_at_regions), so without this one sentence would read as several cues. A turn stays within
    `max_s` so that packing never has to split it."""
    gap, cap = int(max_gap_s * SAMPLE_RATE), int(max_s * SAMPLE_RATE)
    out = []
    for ch, regions in enumerate(channel_regions):
        others = [r for o, rs in enumerate(channel_regions) if o != ch for r in rs]
        merged: list[tuple[int, int]] = []
        for s, e in regions:
            if merged:
                ps, pe = merged[-1]
                quiet = not any(os < s and oe > pe for os, oe in others)  # nobody else speaks in the pause
                if s - pe <= gap and e - ps <= cap and quiet:
                    merged[-1] = (ps, e)
                    continue
            merged.append((s, e))
        out.append(merged)
    return out


def chunk_call(channels: list[np.ndarray], max_s: float = MAX_CHUNK_S) -> list[list[Chunk]]:
    """Each channel's speech, as turns packed into chunks of <= `max_s` seconds: one chunk list per channel."""
    regions = turns([speech_regions(a) for a in channels], max_s=max_s)
    return [pack(a, r, max_s) for a, r in zip(channels, regions, strict=False)]


def chunk_channel(audio: np.ndarray, max_s: float = MAX_CHUNK_S) -> list[Chunk]:
    return chunk_call([audio], max_s)[0]


def split_at_regions(segment: Segment, regions: list[tuple[float, float]]) -> list[Segment]:
    """Cut one decoded segment (chunk time, with word timings) into cues that each lie in one speech region.

    A chunk packs several regions (turns) of one channel, and Whisper may write one segment across them; in call
    time that segment would span the other speaker's turns in between. Each word goes to the region its midpoint
    falls in; consecutive words of one region make one cue, timed by its words and clipped to that region.
    A segment without word timings goes whole to the region of its midpoint.
    """
    words = segment.words or (Word(segment.start, segment.end, segment.text),)
    offsets = list(itertools.accumulate((e - s for s, e in regions[:-1]), initial=0.0))  # region starts, chunk time
    groups: list[tuple[int, list[Word]]] = []
    for w in words:
        k = max(0, bisect.bisect_right(offsets, (w.start + w.end) / 2) - 1)
        if not groups or groups[-1][0] != k:
            groups.append((k, []))
        groups[-1][1].append(w)
    cues = []
    for k, ws in groups:
        text = "".join(w.text for w in ws).strip()
        if not text:
            continue
        r_start, r_end = regions[k]
        start = min(r_end, r_start + max(0.0, ws[0].start - offsets[k]))
        end = max(start, min(r_end, r_start + max(0.0, ws[-1].end - offsets[k])))
        # A cue keeps its segment's scores; its words were in chunk time, so it carries none.
        cues.append(replace(segment, start=round(start, 3), end=round(end, 3), text=text, words=()))
    return cues
