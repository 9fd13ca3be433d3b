#!/usr/bin/env python3
"""Generate sample_data/: short synthetic contact-center calls with reference transcripts.

Needs the TTS tools `flite` and `espeak-ng` (apt-get install flite espeak-ng) and the project venv (PyAV, numpy).
The generated audio is committed, so `make demo` and the tests need no TTS tools; rerun this only to change the set.

    .venv/bin/python hack/make_sample_data.py sample_data
"""
from __future__ import annotations

import io
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import av
import numpy as np

# Speaker voices: (engine, voice). Several voices so the model sees more than one timbre.
VOICES = {
    "kal": ("flite", "kal16"),
    "slt": ("flite", "slt"),
    "rms": ("flite", "rms"),
    "awb": ("flite", "awb"),
    "en-us": ("espeak-ng", "en-us"),
}

# Stereo telephony calls: agent on the left channel, customer on the right (the default role map).
CALLS = {
    "call_001_card_payment": [
        ("agent", "slt", "Thank you for calling the billing team. How can I help you today?"),
        ("customer", "rms", "Hi, I would like to pay my bill with a credit card."),
        ("agent", "slt", "Sure. Can I have the card number please?"),
        ("customer", "rms", "It is four one one one one one one one one one one one one one one one."),
        ("agent", "slt", "Thank you. The payment has been processed."),
    ],
    "call_002_address_change": [
        ("agent", "kal", "Good morning, you are speaking with customer support."),
        ("customer", "slt", "Hello, I moved last month and need to update my address."),
        ("agent", "kal", "No problem. What is the best phone number to reach you?"),
        ("customer", "slt", "You can call me at five five five, two three four, five six seven eight."),
        ("agent", "kal", "Great, I have updated your account. Is there anything else?"),
        ("customer", "slt", "No, that is all. Thank you very much."),
    ],
    "call_003_email_update": [
        ("agent", "awb", "Hello, thank you for waiting. How may I help?"),
        ("customer", "kal", "I never received my invoice by email."),
        ("agent", "kal", "I can send it again. Which email address should I use?"),
        ("customer", "awb", "Please send it to john dot smith at example dot com."),
        ("agent", "kal", "Done. You should receive it within a few minutes."),
    ],
}

# Mono recordings in other formats (voicemail-style, one speaker).
MONO = {
    "voicemail_mp3.mp3": ("rms", "Hi, this is a message for the support team. Please call me back about my order."),
    "voicemail_flac.flac": ("slt", "Hello, I am calling to cancel my subscription at the end of this month."),
    "voicemail_ogg.ogg": ("kal", "Good afternoon, I have a question about the delivery of my package."),
    "voicemail_m4a.m4a": ("awb", "Hi there, my internet connection has been down since yesterday evening."),
    "voicemail_alaw.wav": ("en-us", "Please call me back when you have a moment. Thank you."),
    "voicemail_pcm.wav": ("slt", "I would like to book an appointment for next Tuesday morning."),
}

GAP_S = 0.6  # pause between turns


def tts(voice: str, text: str, rate: int) -> np.ndarray:
    """Speak `text` with a TTS engine and return float32 mono at `rate` Hz."""
    engine, name = VOICES[voice]
    with tempfile.NamedTemporaryFile(suffix=".wav") as tmp:
        cmd = ["flite", "-voice", name, "-t", text, "-o", tmp.name] if engine == "flite" \
            else ["espeak-ng", "-v", name, "-s", "150", "-w", tmp.name, text]
        subprocess.run(cmd, check=True, capture_output=True)
        return decode_mono(Path(tmp.name).read_bytes(), rate)


def decode_mono(data: bytes, rate: int) -> np.ndarray:
    with av.open(io.BytesIO(data)) as c:
        rs = av.AudioResampler(format="flt", layout="mono", rate=rate)
        out = [f.to_ndarray().reshape(-1) for fr in c.decode(audio=0) for f in rs.resample(fr)]
        out += [f.to_ndarray().reshape(-1) for f in rs.resample(None)]
    return np.concatenate(out).astype(np.float32)


def encode(path: Path, audio: np.ndarray, rate: int, fmt: str, codec: str, sample_fmt: str) -> None:
    """Encode float32 audio (channels, samples) with PyAV."""
    layout = "stereo" if audio.shape[0] == 2 else "mono"
    with av.open(str(path), "w", format=fmt) as c:
        s = c.add_stream(codec, rate=rate, layout=layout)
        if codec not in ("pcm_mulaw", "pcm_alaw", "pcm_s16le"):
            s.bit_rate = 32000
        # packed float: interleave channels into one plane
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(audio.T).reshape(1, -1), format="flt", layout=layout)
        frame.sample_rate = rate
        rs = av.AudioResampler(format=sample_fmt, layout=layout, rate=rate, frame_size=s.codec_context.frame_size or 1024)
        for f in rs.resample(frame) + rs.resample(None):
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    refs: dict = {"schema": "airwave.references/v1", "calls": {}, "rejects": {}, "silent": []}
    rate = 8000  # telephony
    for name, turns in CALLS.items():
        t = 0.5
        placed = []
        for role, voice, text in turns:
            a = tts(voice, text, rate)
            placed.append((0 if role == "agent" else 1, int(t * rate), a))
            t += len(a) / rate + GAP_S
        stereo = np.zeros((2, int((t + 0.5) * rate)), dtype=np.float32)
        for ch, start, a in placed:
            stereo[ch, start:start + len(a)] += 0.8 * a / max(1e-6, np.abs(a).max())
        encode(out / f"{name}.wav", stereo, rate, "wav", "pcm_mulaw", "s16")
        refs["calls"][f"{name}.wav"] = {
            "channels": {
                "agent": " ".join(x for r, _, x in turns if r == "agent"),
                "customer": " ".join(x for r, _, x in turns if r == "customer"),
            }
        }
    for fname, (voice, text) in MONO.items():
        a = tts(voice, text, 16000)
        a = (0.8 * a / np.abs(a).max())[None, :]
        ext = fname.rsplit(".", 1)[1]
        fmt, codec, sfmt = {
            "mp3": ("mp3", "libmp3lame", "s16p"), "flac": ("flac", "flac", "s16"),
            "ogg": ("ogg", "libvorbis", "fltp"), "m4a": ("ipod", "aac", "fltp"),
        }.get(ext, ("wav", "pcm_alaw" if "alaw" in fname else "pcm_s16le", "s16"))
        encode(out / fname, a, 16000, fmt, codec, sfmt)
        refs["calls"][fname] = {"channels": {"mixed": text}}
    # Valid audio that is pure silence: must give no chunks and an empty transcript.
    encode(out / "silence.wav", np.zeros((2, 8000 * 5), np.float32), 8000, "wav", "pcm_mulaw", "s16")
    refs["silent"].append("silence.wav")
    # Broken inputs: each must land in the rejects table with a reason, and the run must go on.
    (out / "broken_empty.wav").write_bytes(b"")
    (out / "broken_not_audio.mp3").write_bytes(b"This is a text file, not audio.\n" * 20)
    good = (out / "call_001_card_payment.wav").read_bytes()
    (out / "broken_truncated.wav").write_bytes(good[: len(good) // 5])
    refs["rejects"] = {"broken_empty.wav": "empty", "broken_not_audio.mp3": "not_audio",
                       "broken_truncated.wav": "truncated"}
    (out / "manifest.json").write_text(json.dumps(refs, indent=2) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "sample_data"))
