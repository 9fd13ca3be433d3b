"""Typed records passed between modules (asr -> vad -> transcribe, postprocess -> the summary table). Rows of Spark
and pandas are converted at those edges; inside, code reads attributes, not dict keys."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import NamedTuple


class Word(NamedTuple):
    start: float
    end: float
    text: str  # with its leading space, as Whisper writes it (" Hello")


@dataclass(frozen=True)
class Segment:
    """A decoded segment (asr: in chunk time) or a cue cut from one (vad.split_at_regions: in call time)."""

    start: float
    end: float
    text: str
    avg_logprob: float
    no_speech_prob: float
    words: tuple[Word, ...] = ()
    compression_ratio: float = 0.0  # Whisper's repetition-loop signal (asr decides on a fallback decode by it)

    def shifted(self, offset: float) -> Segment:
        """The same segment `offset` seconds later (its words too)."""
        return replace(
            self,
            start=offset + self.start,
            end=offset + self.end,
            words=tuple(Word(offset + w.start, offset + w.end, w.text) for w in self.words),
        )


@dataclass(frozen=True)
class CallSummary:
    """One call's row of RUN/summary (schemas.SUMMARY, same fields in the same order)."""

    call_id: str
    name: str
    status: str  # 'transcribed' | 'no_speech'
    duration_s: float
    channels: int
    segments: int
    words: int
    redactions: int
    transcript_uri: str
