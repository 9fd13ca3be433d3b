"""faster-whisper internals that airwave.whisper_compat relies on. These fail on purpose when faster-whisper changes:
a new version may keep every public API and still break (or silently change) the batched decoding we build from its
internals."""

import dataclasses
import functools
import importlib.metadata
import inspect
import re
import tomllib

import numpy as np
import pytest
from faster_whisper import WhisperModel
from faster_whisper import transcribe as fw
from faster_whisper.audio import pad_or_trim
from faster_whisper.tokenizer import Tokenizer
from faster_whisper.vad import VadOptions, get_speech_timestamps

from airwave import whisper_compat
from airwave.asr import ALIGN_MEDIAN_WIDTH, SR, AsrConfig, load_model
from airwave.audio import decode
from airwave.vad import chunk_channel
from testlib import ROOT, SAMPLE

BUMP = (
    "faster-whisper changed under airwave.whisper_compat. On a version bump re-check, in "
    "src/airwave/whisper_compat.py: option_values against BatchedInferencePipeline.transcribe (the options it "
    "builds), BatchDecoder against BatchedInferencePipeline.forward (its arguments, the chunk metadata, the keys "
    "of the segments it returns, last_speech_timestamp), the encoder patch against WhisperModel.encode and "
    "generate_segment_batched, the alignment width against WhisperModel.find_alignment and add_word_timestamps, "
    "log_mel/pad_frames against how transcribe computes features, speech_timestamps "
    "against faster_whisper.vad; then set PINNED_VERSION, pyproject.toml and constraints.txt, run the slow "
    "tests (tests/jobs, tests/test_asr.py) and compare WER (make run-demo / make bench) with the old version."
)


def params(fn) -> list[str]:
    return list(inspect.signature(fn).parameters)


def test_installed_version_is_the_pinned_one():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    (pin,) = [m.group(1) for d in deps if (m := re.fullmatch(r"faster-whisper==(\S+)", d.strip()))]
    installed = importlib.metadata.version("faster-whisper")
    assert installed == pin == whisper_compat.PINNED_VERSION, (
        f"installed {installed}, pyproject.toml pins {pin}, whisper_compat was checked against "
        f"{whisper_compat.PINNED_VERSION}. {BUMP}"
    )


def test_transcription_options_are_every_field_we_fill():
    fields = {f.name for f in dataclasses.fields(fw.TranscriptionOptions)}
    ours = set(whisper_compat.option_values(1, ()))
    assert ours == fields, f"TranscriptionOptions fields added {fields - ours}, removed {ours - fields}. {BUMP}"


# Options we set ourselves; BatchedInferencePipeline.transcribe sets these from its arguments or hard-codes them.
OUR_CHOICES = {
    "beam_size",
    "suppress_tokens",
    "temperatures",
    "without_timestamps",
    "word_timestamps",
    "clip_timestamps",
    "condition_on_previous_text",
    "prompt_reset_on_temperature",
    "hallucination_silence_threshold",
    "max_initial_timestamp",
}


def test_the_other_options_are_batched_transcribes_defaults():
    defaults = {k: p.default for k, p in inspect.signature(fw.BatchedInferencePipeline.transcribe).parameters.items()}
    ours = whisper_compat.option_values(1, ())
    differ = {
        k: (v, defaults.get(k, "<no such argument>"))
        for k, v in ours.items()
        if k not in OUR_CHOICES and defaults.get(k, object()) != v
    }
    assert not differ, f"(ours, BatchedInferencePipeline.transcribe's default) differ: {differ}. {BUMP}"
    # what transcribe hard-codes, as we copy it (its source: these are not arguments)
    src = inspect.getsource(fw.BatchedInferencePipeline.transcribe)
    for hard in (
        "condition_on_previous_text=False",
        "prompt_reset_on_temperature=0.5",
        "hallucination_silence_threshold=None",
        "max_initial_timestamp=0.0",
    ):
        assert hard in src, f"BatchedInferencePipeline.transcribe no longer sets {hard}. {BUMP}"


def test_the_internals_we_call_have_the_signatures_we_use():
    expected = {
        fw.BatchedInferencePipeline.__init__: ["self", "model"],
        fw.BatchedInferencePipeline.forward: ["self", "features", "tokenizer", "chunks_metadata", "options"],
        fw.BatchedInferencePipeline.generate_segment_batched: ["self", "features", "tokenizer", "options"],
        WhisperModel.encode: ["self", "features"],
        WhisperModel.find_alignment: [
            "self",
            "tokenizer",
            "text_tokens",
            "encoder_output",
            "num_frames",
            "median_filter_width",
        ],
        Tokenizer.__init__: ["self", "tokenizer", "multilingual", "task", "language"],
        fw.get_suppressed_tokens: ["tokenizer", "suppress_tokens"],
        pad_or_trim: ["array", "length", "axis"],
        get_speech_timestamps: ["audio", "vad_options", "sampling_rate", "kwargs"],
    }
    for fn, names in expected.items():
        assert params(fn) == names, (
            f"{fn.__qualname__}{inspect.signature(fn)}, we call it as ({', '.join(names)}). {BUMP}"
        )
    vad = {f.name for f in dataclasses.fields(VadOptions)}
    assert {"max_speech_duration_s", "min_silence_duration_ms", "speech_pad_ms"} <= vad, f"VadOptions: {vad}. {BUMP}"
    sequential = set(params(WhisperModel.transcribe))
    assert {
        "language",
        "beam_size",
        "temperature",
        "vad_filter",
        "condition_on_previous_text",
        "word_timestamps",
    } <= sequential, f"WhisperModel.transcribe{inspect.signature(WhisperModel.transcribe)}. {BUMP}"
    assert {f.name for f in dataclasses.fields(fw.Segment)} >= {
        "start",
        "end",
        "text",
        "avg_logprob",
        "no_speech_prob",
        "compression_ratio",
        "words",
    }, BUMP
    assert {f.name for f in dataclasses.fields(fw.Word)} >= {"start", "end", "word"}, BUMP


def test_the_pipeline_uses_the_hooks_we_set():
    # forward carries last_speech_timestamp across calls (we reset it per batch); the batched pipeline encodes
    # through model.encode (which we replace on CPU) and computes features as log_mel does.
    assert "self.last_speech_timestamp" in inspect.getsource(fw.BatchedInferencePipeline.forward), BUMP
    assert fw.BatchedInferencePipeline(object()).last_speech_timestamp == 0.0, BUMP
    batched = inspect.getsource(fw.BatchedInferencePipeline.generate_segment_batched)
    assert "self.model.encode(features)" in batched, BUMP
    # word timings come from self.find_alignment (which we replace per instance), called without a width
    timestamps = " ".join(inspect.getsource(WhisperModel.add_word_timestamps).split())
    assert "self.find_alignment( tokenizer, text_tokens, encoder_output, num_frames )" in timestamps, BUMP
    assert "self.model.feature_extractor(chunk)[..., :-1]" in inspect.getsource(
        fw.BatchedInferencePipeline.transcribe
    ), BUMP


@pytest.fixture(scope="module")
def model():
    return load_model(AsrConfig())  # tiny.en on CPU: the encoder patched to one window at a time


def test_model_attributes_we_read(model):
    for attr in ("hf_tokenizer", "feature_extractor", "frames_per_second", "model"):
        assert hasattr(model, attr), f"WhisperModel has no {attr}. {BUMP}"
    assert isinstance(model.model.is_multilingual, bool), BUMP


def test_encoding_one_window_at_a_time_matches_the_batched_encoder(model):
    feats = np.random.default_rng(0).normal(0, 1, (3, 80, 3000)).astype(np.float32)
    ours = np.asarray(model.encode(feats))
    theirs = np.asarray(WhisperModel.encode(model, feats))
    assert ours.shape == theirs.shape, BUMP
    np.testing.assert_allclose(ours, theirs, atol=0.05, err_msg=BUMP)


def test_our_alignment_width_places_words_as_whispers_default_does(model, monkeypatch):
    # The median filter (asr.ALIGN_MEDIAN_WIDTH, faster-whisper's default 7) smooths attention before the DTW that
    # places words: a narrower one must decode the same words and place them about where 7 does.
    d = decode((SAMPLE / "call_004_long_billing_dispute.wav").read_bytes())
    clips = [c.audio for c in chunk_channel(d.channels[0])[:4]]
    dec = whisper_compat.BatchDecoder(model, beam_size=1)
    feats = np.stack([whisper_compat.pad_frames(whisper_compat.log_mel(model, c), 3000) for c in clips])

    def words():
        out = dec.decode(feats, [len(c) / SR for c in clips], 200)
        return [w for segs in out for s in segs for w in s.words]

    ours = words()
    assert model.find_alignment.keywords["median_filter_width"] == ALIGN_MEDIAN_WIDTH != 7
    monkeypatch.setattr(model, "find_alignment", functools.partial(WhisperModel.find_alignment, model))
    default = words()
    assert [w.text for w in ours] == [w.text for w in default] and len(ours) > 100
    shifts = sorted(max(abs(a.start - b.start), abs(a.end - b.end)) for a, b in zip(ours, default, strict=True))
    # call_004's first chunks: 191 words, half unmoved, 90% within one 20 ms frame, none by more than 0.2 s
    assert shifts[len(shifts) // 2] <= 0.02 and shifts[int(0.9 * len(shifts))] <= 0.06 and shifts[-1] <= 0.5, shifts


def test_forward_returns_the_segment_keys_we_read(model):
    d = decode((SAMPLE / "call_003_email_update.wav").read_bytes())
    clip = chunk_channel(d.channels[0])[0].audio
    dec = whisper_compat.BatchDecoder(model, beam_size=1)
    feats = np.stack([whisper_compat.pad_frames(whisper_compat.log_mel(model, clip), 3000)])
    out = dec.pipe.forward(
        feats,
        dec.tokenizer,
        [{"offset": 0.0, "duration": len(clip) / 16000, "segments": []}],
        dataclasses.replace(dec.options, max_new_tokens=100),
    )
    assert len(out) == 1 and out[0], BUMP
    for s in out[0]:
        assert {"start", "end", "text", "avg_logprob", "no_speech_prob", "compression_ratio", "words"} <= set(s), (
            set(s),
            BUMP,
        )
        for w in s["words"]:
            assert {"start", "end", "word"} <= set(w), (set(w), BUMP)
