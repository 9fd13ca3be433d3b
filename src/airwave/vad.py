"""Speech detection (Silero VAD, shipped with faster-whisper) and packing of speech into <=30 s chunks. Pure."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from faster_whisper.vad import VadOptions, get_speech_timestamps

from .audio import SAMPLE_RATE

MAX_CHUNK_S = 30.0  # Whisper's encoder window: every chunk is padded to 30 s, so fill it.


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
    opts = VadOptions(max_speech_duration_s=MAX_CHUNK_S, min_silence_duration_ms=min_silence_ms, speech_pad_ms=pad_ms)
    return [(r["start"], r["end"]) for r in get_speech_timestamps(audio, opts, sampling_rate=SAMPLE_RATE)]


def pack(audio: np.ndarray, regions: list[tuple[int, int]], max_s: float = MAX_CHUNK_S) -> list[Chunk]:
    """Greedily pack consecutive speech regions into chunks of at most `max_s` seconds of speech.

    Silence between regions is dropped (the encoder cost is per 30 s window, so a window full of speech is cheapest);
    `Chunk.regions` keeps the call-time position of every piece so timings can be mapped back.
    """
    max_n = int(max_s * SAMPLE_RATE)
    # VAD already caps regions at 30 s; split anyway so a smaller max_s is honoured too.
    pieces = [(p, min(p + max_n, e)) for s, e in regions for p in range(s, e, max_n)]
    groups: list[list[tuple[int, int]]] = []
    size = 0
    for s, e in pieces:
        if not groups or size + (e - s) > max_n:
            groups.append([])
            size = 0
        groups[-1].append((s, e))
        size += e - s
    return [Chunk(np.concatenate([audio[s:e] for s, e in g]), [(s / SAMPLE_RATE, e / SAMPLE_RATE) for s, e in g])
            for g in groups]


def chunk_channel(audio: np.ndarray, max_s: float = MAX_CHUNK_S) -> list[Chunk]:
    return pack(audio, speech_regions(audio), max_s)


SNAP_S = 0.3  # Whisper timestamps are coarse (20 ms steps, often late/early by a few hundred ms)


def to_call_time(t: float, regions: list[tuple[float, float]], is_end: bool = False) -> float:
    """Map a time inside a chunk's concatenated audio back to call time.

    Near a junction of two regions, an end time belongs to the region before it and a start time to the region
    after it, so a segment never stretches over the silence that was cut out.
    """
    offset = 0.0
    for k, (start, end) in enumerate(regions):
        length = end - start
        last = k == len(regions) - 1
        limit = offset + length + (SNAP_S if is_end else -SNAP_S)
        if t <= limit or last:
            return round(min(end, start + max(0.0, t - offset)), 3)
        offset += length
    return round(regions[-1][1], 3)
