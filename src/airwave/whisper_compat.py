"""Every faster-whisper internal airwave relies on, in one place (faster-whisper==1.2.1, pinned in pyproject.toml).

airwave decodes its own batches of speech chunks rather than calling BatchedInferencePipeline.transcribe (which would
run its own VAD and re-chunk them), so it uses parts faster-whisper does not promise to keep stable:
BatchedInferencePipeline.forward and its `last_speech_timestamp`, a hand-built TranscriptionOptions, the Tokenizer,
get_suppressed_tokens, the feature extractor, pad_or_trim, the VAD, a replaced WhisperModel.encode, and
WhisperModel.find_alignment with our own median filter width.
tests/test_whisper_compat.py fails on any other version, and on a change to these: re-check this module on a bump.
faster-whisper is imported inside the functions so that the driver (which never decodes) does not load it.
"""

from __future__ import annotations

import functools
from dataclasses import replace
from typing import Any

import numpy as np

from .records import Segment, Word

PINNED_VERSION = "1.2.1"
# A decode whose text compresses better than this is stuck repeating itself (BatchedInferencePipeline's default).
COMPRESSION_RATIO_THRESHOLD = 2.4


def compression_ratio(text: str) -> float:
    from faster_whisper.transcribe import get_compression_ratio

    return get_compression_ratio(text)  # 0.0 for ""


def load_model(
    path: str, *, device: str, compute_type: str, cpu_threads: int, encode_per_window: bool, align_median_width: int
) -> Any:
    """A WhisperModel from a local folder (never downloads). `encode_per_window`: run the encoder one 30 s window
    at a time instead of on the whole batch (the caller knows when that is faster). `align_median_width`: the
    median filter over the cross-attention weights that word alignment smooths before its DTW (faster-whisper: 7)."""
    from faster_whisper import WhisperModel

    model = WhisperModel(
        path, device=device, compute_type=compute_type, cpu_threads=cpu_threads, num_workers=1, local_files_only=True
    )
    if encode_per_window:
        # BatchedInferencePipeline calls model.encode(features) with the batch's features; replace it per instance.
        model.encode = functools.partial(_encode_each, model.model)
    # add_word_timestamps calls self.find_alignment without a width; replace it per instance.
    model.find_alignment = functools.partial(WhisperModel.find_alignment, model, median_filter_width=align_median_width)
    return model


def _encode_each(ct2_model, features: np.ndarray):
    import ctranslate2

    features = features[None] if features.ndim == 2 else features
    outs = [
        np.asarray(ct2_model.encode(ctranslate2.StorageView.from_array(np.ascontiguousarray(f[None])), to_cpu=False))
        for f in features
    ]
    return ctranslate2.StorageView.from_array(np.concatenate(outs))


def log_mel(model, audio: np.ndarray) -> np.ndarray:
    """Log-mel features of a clip, as BatchedInferencePipeline.transcribe computes them (last frame dropped)."""
    return model.feature_extractor(audio)[..., :-1]


def pad_frames(mel: np.ndarray, frames: int) -> np.ndarray:
    """Zero-pad (or cut) features to `frames` mel frames."""
    from faster_whisper.audio import pad_or_trim

    return pad_or_trim(mel, frames)


def option_values(beam_size: int, suppress_tokens) -> dict[str, Any]:
    """Every TranscriptionOptions field: what BatchedInferencePipeline.transcribe (faster-whisper 1.2.1) builds from
    its defaults, except our own choices (tests/test_whisper_compat.py holds the list): no VAD (the chunks come from
    the preprocess stage), English, temperature 0 only, timestamps and word timings on."""
    return dict(
        beam_size=beam_size,
        best_of=5,
        patience=1,
        length_penalty=1,
        repetition_penalty=1,
        no_repeat_ngram_size=0,
        log_prob_threshold=-1.0,
        no_speech_threshold=0.6,
        compression_ratio_threshold=COMPRESSION_RATIO_THRESHOLD,
        condition_on_previous_text=False,
        prompt_reset_on_temperature=0.5,
        temperatures=[0.0],
        initial_prompt=None,
        prefix=None,
        suppress_blank=True,
        suppress_tokens=suppress_tokens,
        without_timestamps=False,
        max_initial_timestamp=0.0,
        word_timestamps=True,
        prepend_punctuations="\"'“¿([{-",
        append_punctuations="\"'.。,，!！?？:：”)]}、",
        multilingual=False,
        max_new_tokens=None,
        clip_timestamps=None,
        hallucination_silence_threshold=None,
        hotwords=None,
    )


class BatchDecoder:
    """Decodes a batch of features (each a clip from its own start) with BatchedInferencePipeline.forward, English,
    greedy or beam search at temperature 0, with word timings."""

    def __init__(self, model, beam_size: int) -> None:
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import BatchedInferencePipeline, TranscriptionOptions, get_suppressed_tokens

        self.pipe = BatchedInferencePipeline(model)
        # Contact-center English: multilingual models are pinned to English rather than guessing per chunk.
        self.tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual, task="transcribe", language="en")
        self.options = TranscriptionOptions(**option_values(beam_size, get_suppressed_tokens(self.tokenizer, [-1])))

    def decode(self, features: np.ndarray, durations: list[float], max_new_tokens: int) -> list[list[Segment]]:
        """Per clip, its segments in clip time (text as decoded, blank ones included)."""
        meta = [{"offset": 0.0, "duration": d, "segments": []} for d in durations]
        self.pipe.last_speech_timestamp = 0.0  # a heuristic for the first word after a pause: batches are independent
        out = self.pipe.forward(features, self.tokenizer, meta, replace(self.options, max_new_tokens=max_new_tokens))
        return [
            [
                Segment(
                    start=float(s["start"]),
                    end=float(s["end"]),
                    text=s["text"],
                    avg_logprob=float(s["avg_logprob"]),
                    no_speech_prob=float(s["no_speech_prob"]),
                    words=tuple(Word(float(w["start"]), float(w["end"]), w["word"]) for w in s.get("words") or []),
                    compression_ratio=s["compression_ratio"],
                )
                for s in segs
            ]
            for segs in out
        ]


def transcribe_alone(model, audio: np.ndarray, beam_size: int) -> list[Segment]:
    """One clip through WhisperModel.transcribe (sequential decoding, no VAD), English, temperature 0, word timings."""
    segs, _ = model.transcribe(
        audio,
        language="en",
        beam_size=beam_size,
        temperature=0.0,
        vad_filter=False,
        condition_on_previous_text=False,
        word_timestamps=True,
    )
    return [
        Segment(
            start=float(s.start),
            end=float(s.end),
            text=s.text,
            avg_logprob=float(s.avg_logprob),
            no_speech_prob=float(s.no_speech_prob),
            compression_ratio=s.compression_ratio,
            words=tuple(Word(float(w.start), float(w.end), w.word) for w in s.words or []),
        )
        for s in segs
    ]


def speech_timestamps(
    audio: np.ndarray, *, sample_rate: int, max_speech_s: float, min_silence_ms: int, pad_ms: int
) -> list[tuple[int, int]]:
    """Silero VAD (shipped with faster-whisper): sample ranges holding speech."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    opts = VadOptions(max_speech_duration_s=max_speech_s, min_silence_duration_ms=min_silence_ms, speech_pad_ms=pad_ms)
    return [(r["start"], r["end"]) for r in get_speech_timestamps(audio, opts, sampling_rate=sample_rate)]
