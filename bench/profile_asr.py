#!/usr/bin/env python3
"""Where the ASR time goes: encoder, decoder (generate), word alignment, features, VAD and decoding of the audio,
for airwave's chunked, batched path and for the plain script's `WhisperModel.transcribe`, on the same files, in one
process, one thread each (so the numbers are per core and add up), with the allocator settings Spark gives its
Python workers (airwave.spark.WORKER_MALLOC) for both, unless --malloc default. Counts 30 s-equivalent encoder
windows (the encoder's cost grows with the frames it is given) and the tokens the decoder generates and aligns.
--costs adds the model's unit costs on one thread: the encoder per audio second at several window lengths, and the
decoder per generated token at several batch sizes.

    .venv/bin/python -m bench.profile_asr CORPUS [--limit N] [--costs]
"""

import argparse
import collections
import json
import os
import sys
import time
from pathlib import Path

T: collections.Counter = collections.Counter()
N: collections.Counter = collections.Counter()


def timed(key, fn):
    def wrapper(*a, **kw):
        t = time.perf_counter()
        try:
            return fn(*a, **kw)
        finally:
            T[key] += time.perf_counter() - t
            N[key] += 1

    return wrapper


class Counted:
    """Times the CTranslate2 Whisper model's calls (a C++ object: wrap it rather than patch it)."""

    def __init__(self, model):
        self._model = model

    def __getattr__(self, name):
        value = getattr(self._model, name)
        if name == "encode":

            def encode(features, *a, **kw):
                N["encoder_windows"] += features.shape[0] * features.shape[-1] / 3000
                return timed("encode", value)(features, *a, **kw)

            return encode
        if name == "generate":

            def generate(*a, **kw):
                out = timed("generate", value)(*a, **kw)
                lengths = [len(r.sequences_ids[0]) for r in out]
                N["tokens"] += sum(lengths)
                N["decoder_steps"] += max(lengths, default=0)  # a batch runs until its longest sequence ends
                return out

            return generate
        if name == "align":

            def align(features, start, text_tokens, *a, **kw):
                N["aligned_tokens"] += sum(len(t) for t in text_tokens)
                return timed("align", value)(features, start, text_tokens, *a, **kw)

            return align
        return value


class TimedCall:
    """A callable object (faster-whisper's feature extractor) with its calls timed and its attributes kept."""

    def __init__(self, key, obj):
        self._key, self._obj = key, obj

    def __call__(self, *a, **kw):
        return timed(self._key, self._obj)(*a, **kw)

    def __getattr__(self, name):
        return getattr(self._obj, name)


def main() -> None:
    import numpy as np
    from faster_whisper import WhisperModel

    from airwave import asr, vad
    from airwave.audio import decode

    p = argparse.ArgumentParser()
    p.add_argument("corpus", type=Path)
    p.add_argument("--limit", type=int, default=0, help="only the first N files")
    p.add_argument("--malloc", choices=("worker", "default"), default="worker", help="glibc malloc settings")
    p.add_argument("--costs", action="store_true", help="also time the encoder and decoder per unit of work")
    a = p.parse_args()
    from airwave.spark import WORKER_MALLOC
    from bench import worker_malloc_env

    if a.malloc == "worker" and os.environ.get("GLIBC_TUNABLES") != WORKER_MALLOC:
        os.execve(sys.executable, [sys.executable, "-m", "bench.profile_asr", *sys.argv[1:]], worker_malloc_env())
    refs = json.loads((a.corpus / "manifest.json").read_text())["calls"]
    names = sorted(refs)[: a.limit or None]
    report = {}
    # airwave: decode, VAD + turns + packing, then batched transcription of all chunks
    T.clear(), N.clear()
    t0 = time.perf_counter()
    decoded = [timed("decode", decode)((a.corpus / n).read_bytes()) for n in names]
    chunks = [c for d in decoded for cs in timed("vad", vad.chunk_call)(d.channels) for c in cs]
    cfg = asr.AsrConfig(cpu_threads=1)
    model = asr.load_model(cfg)
    model.model = Counted(model.model)
    encode_each = model.encode
    model.encode = lambda f: (
        N.update(encoder_windows=(f[None] if f.ndim == 2 else f).shape[0] * f.shape[-1] / 3000),
        timed("encode", encode_each)(f),
    )[1]
    model.feature_extractor = TimedCall("features", model.feature_extractor)
    asr.transcribe_chunks([c.audio for c in chunks], cfg)
    report["airwave"] = {
        **_summary(time.perf_counter() - t0),
        "chunks": len(chunks),
        "speech_s": round(sum(c.speech_s for c in chunks), 1),
    }
    # plain: what bench/plain_whisper.py does per channel
    T.clear(), N.clear()
    t0 = time.perf_counter()
    plain = WhisperModel(
        asr.resolve_model(cfg.model)[0], device="cpu", compute_type="int8", cpu_threads=1, local_files_only=True
    )
    plain.model = Counted(plain.model)
    plain.feature_extractor = TimedCall("features", plain.feature_extractor)
    for d in decoded:
        for ch in d.channels:
            segs, _ = plain.transcribe(np.asarray(ch), beam_size=1, vad_filter=True, language="en")
            list(segs)
    report["plain"] = _summary(time.perf_counter() - t0)
    audio = sum(len(d.channels) * d.duration_s for d in decoded)
    print(f"{len(names)} files, {audio / 60:.1f} min of channel audio; seconds on one thread:")
    keys = ["decode", "vad", "features", "encode", "generate", "align", "total_s"]
    counts = ["encoder_windows", "generate_calls", "tokens", "decoder_steps", "aligned_tokens"]
    print(f"{'':<10}" + "".join(f"{k:>10}" for k in keys) + "".join(f"{k:>16}" for k in counts))
    for side, r in report.items():
        print(f"{side:<10}" + "".join(f"{r.get(k, 0):>10.2f}" for k in keys) + "".join(f"{r[k]:>16g}" for k in counts))
    if a.costs:
        report["costs"] = unit_costs(asr.resolve_model(cfg.model)[0], cfg.compute_type)
    print(json.dumps(report))


def unit_costs(model_path: str, compute_type: str, repeat: int = 3) -> dict:
    """The model's unit costs on one thread, on random features (the cost does not depend on the audio): the
    encoder's ms per audio second by window length, and generate's ms per decoding step and per token by batch size
    (EOT suppressed, so every sequence runs the same number of steps; 20 s windows)."""
    import ctranslate2
    import numpy as np
    import tokenizers

    m = ctranslate2.models.Whisper(model_path, device="cpu", compute_type=compute_type, intra_threads=1)
    rng = np.random.default_rng(0)

    def best(fn) -> float:
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        return min(times)

    out: dict = {"encoder_ms_per_audio_s": {}, "generate": {}}
    for secs in (5, 10, 15, 20, 30):
        sv = ctranslate2.StorageView.from_array(rng.standard_normal((1, 80, secs * 100), dtype=np.float32))
        m.encode(sv)
        out["encoder_ms_per_audio_s"][secs] = round(best(lambda sv=sv: m.encode(sv)) / secs * 1000, 2)
    vocab = tokenizers.Tokenizer.from_file(str(Path(model_path) / "tokenizer.json"))
    sot, eot = vocab.token_to_id("<|startoftranscript|>"), vocab.token_to_id("<|endoftext|>")
    for bs in (1, 8, 16):
        feats = ctranslate2.StorageView.from_array(rng.standard_normal((bs, 80, 2000), dtype=np.float32))
        enc = ctranslate2.StorageView.from_array(np.asarray(m.encode(feats, to_cpu=True)))
        runs = {}
        for max_length in (3, 43):

            def gen(n=max_length, enc=enc, bs=bs):
                return m.generate(enc, [[sot]] * bs, beam_size=1, max_length=n, suppress_tokens=[-1, eot])

            steps = len(gen()[0].sequences_ids[0])
            runs[max_length] = (best(gen), steps)
        (t0, s0), (t1, s1) = runs[3], runs[43]
        step_ms = (t1 - t0) / (s1 - s0) * 1000
        out["generate"][bs] = {"ms_per_step": round(step_ms, 2), "ms_per_token": round(step_ms / bs, 2)}
    print("encoder, ms per audio second by window (s):", out["encoder_ms_per_audio_s"])
    print("generate at 20 s windows, by batch size:", out["generate"])
    return out


def _summary(total: float) -> dict:
    return {
        **{k: round(v, 2) for k, v in T.items()},
        "total_s": round(total, 2),
        "encoder_windows": round(N["encoder_windows"], 1),
        "generate_calls": N["generate"],
        **{k: N[k] for k in ("tokens", "decoder_steps", "aligned_tokens")},
    }


if __name__ == "__main__":
    main()
