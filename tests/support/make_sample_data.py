#!/usr/bin/env python3
"""Generate sample_data/: short synthetic contact-center calls with reference transcripts.

Needs the TTS tools `flite` and `espeak-ng` (apt-get install flite espeak-ng) and the project venv (PyAV, numpy).
The generated audio is committed, so `make demo` and the tests need no TTS tools; rerun this only to change the set.
Files that already exist are kept as they are (TTS builds differ between machines, so rebuilding would rewrite the
committed audio): a rerun writes only the new ones, and manifest.json. `--force` rebuilds every file.

    .venv/bin/python -m tests.support.make_sample_data sample_data [--force]   (from the checkout)
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
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
    # A multi-minute call: many turns, monologues and one-word answers, uneven pauses (LONG_GAPS), so each channel
    # has many speech regions and its speech spans several 30 s chunks. The agent channel changes voice twice: a
    # recorded notice at the start and a supervisor later on; the customer hands the phone to her husband once.
    "call_004_long_billing_dispute": [
        ("agent", "en-us", "This call may be recorded for quality and training purposes."),
        (
            "agent",
            "slt",
            "Good afternoon, thank you for calling the billing department. My name is Sarah. "
            "Who am I speaking with today?",
        ),
        (
            "customer",
            "rms",
            "Hi Sarah, my name is Maria Lopez. I am calling about my last bill, because I think "
            "I have been charged twice for the same month and I would like to understand what "
            "happened before I pay anything else.",
        ),
        (
            "agent",
            "slt",
            "I am sorry to hear that. I will look into it right away. Can I have your account number, please?",
        ),
        ("customer", "rms", "Yes. It is seven two zero four, nine one three, five five eight."),
        (
            "agent",
            "slt",
            "Thank you, Maria. I have found your account. "
            "I can see a bill from the third of March for eighty nine dollars.",
        ),
        ("customer", "rms", "Yes, that's right."),
        ("agent", "slt", "I can also see a second payment of eighty nine dollars taken on the fifth of March."),
        (
            "customer",
            "rms",
            "Exactly, that is the problem. I paid the first one online with my debit card, and then "
            "two days later the same amount came out of my bank account again by direct debit. "
            "I did not set up a direct debit, and nobody asked me about it. Now my bank account "
            "is overdrawn and the bank is charging me a fee for that as well.",
        ),
        ("agent", "slt", "Okay."),
        ("agent", "slt", "I understand. Let me check the payment history on your account. Please stay on the line."),
        ("customer", "rms", "Sure, no problem."),
        (
            "agent",
            "slt",
            "Thank you for waiting. It looks like a direct debit was added to your account when the "
            "new contract started in February. The system collected the monthly payment "
            "automatically, even though you had already paid the same bill with your card. "
            "So you are right, you were charged twice for the month of March.",
        ),
        ("customer", "rms", "So can I get my money back?"),
        (
            "agent",
            "slt",
            "Yes, you can. Because the refund is more than fifty dollars, my supervisor needs to "
            "approve it. Please hold while I transfer you.",
        ),
        ("customer", "rms", "Okay."),
        ("agent", "kal", "Hello, this is David, the billing supervisor. Sarah has explained the situation to me."),
        ("customer", "rms", "Hello David. Thank you for taking the call."),
        (
            "agent",
            "kal",
            "I have reviewed the account, and I agree that the second payment was taken by mistake. "
            "I have approved a refund of eighty nine dollars to the bank account it was taken from. "
            "I have also cancelled the direct debit, so it will not happen again. The refund "
            "should arrive within five working days.",
        ),
        ("customer", "rms", "That is good news. What about the fee that my bank charged me?"),
        ("agent", "kal", "How much was the bank fee?"),
        ("customer", "rms", "Hold on, my husband has the letter from the bank. I will pass you over to him."),
        ("customer", "awb", "Hello, the letter says the overdraft fee is twenty five dollars."),
        ("agent", "kal", "Thank you. I will add a credit of twenty five dollars to the account to cover that fee."),
        ("customer", "awb", "Thank you. Here is my wife again."),
        (
            "agent",
            "kal",
            "So, to confirm, you will receive a refund of eighty nine dollars within five working "
            "days, and a credit of twenty five dollars will show on your next bill. "
            "I can send you a confirmation by email. "
            "Which email address should I use?",
        ),
        ("customer", "rms", "Please use maria dot lopez at example dot com."),
        ("agent", "kal", "Done. Your reference number for this case is four four seven one."),
        ("customer", "rms", "Four four seven one. Thank you, I have written it down."),
        ("agent", "kal", "Is there anything else I can help you with today?"),
        ("customer", "rms", "No, that is everything. Thank you for sorting this out so quickly."),
        ("agent", "kal", "You are welcome. Have a good afternoon."),
        ("customer", "rms", "You too. Goodbye."),
    ],
}

# Pause after each turn of a call listed here, used in turn, cycling (other calls: GAP_S after every turn).
LONG_GAPS = (0.8, 1.4, 0.6, 2.2, 0.4, 1.1, 1.9, 0.7, 2.5, 0.5, 1.2, 0.9, 1.6, 0.4, 2.0, 1.0, 0.6, 1.8, 0.5, 1.3)
GAPS = {"call_004_long_billing_dispute": LONG_GAPS}

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


def tts(voice: str | tuple, text: str, rate: int) -> np.ndarray:
    """Speak `text` with a TTS engine and return float32 mono at `rate` Hz.

    `voice`: a VOICES key, or an (engine, name[, speed]) tuple (make_dev_set.py). Engines: flite, espeak-ng and
    festival (`name` is its voice function, e.g. voice_kal_diphone). `speed` > 1 speaks faster; without it each
    engine speaks at the pace sample_data was made with."""
    engine, name, *speed = VOICES[voice] if isinstance(voice, str) else voice
    with tempfile.NamedTemporaryFile(suffix=".wav") as tmp:
        stdin = None
        if engine == "flite":
            cmd = ["flite", "-voice", name, "-t", text, "-o", tmp.name]
            cmd += ["--setf", f"duration_stretch={1 / speed[0]:.3f}"] if speed else []
        elif engine == "espeak-ng":
            cmd = ["espeak-ng", "-v", name, "-s", str(round(150 * (speed[0] if speed else 1))), "-w", tmp.name, text]
        elif engine == "festival":
            # text2wave reads the text from stdin. Duration_Stretch slows diphone voices; HTS voices ignore it.
            cmd = ["text2wave", "-eval", f"({name})", "-o", tmp.name]
            cmd += ["-eval", f"(Parameter.set 'Duration_Stretch {1 / speed[0]:.3f})"] if speed else []
            stdin = text.encode()
        else:
            raise ValueError(f"unknown TTS engine {engine!r}")
        subprocess.run(cmd, input=stdin, check=True, capture_output=True)
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
        rs = av.AudioResampler(
            format=sample_fmt, layout=layout, rate=rate, frame_size=s.codec_context.frame_size or 1024
        )
        for f in rs.resample(frame) + rs.resample(None):
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)


def main(out: Path, force: bool = False) -> None:
    out.mkdir(parents=True, exist_ok=True)
    refs: dict = {"schema": "airwave.references/v1", "calls": {}, "rejects": {}, "silent": []}
    rate = 8000  # telephony

    def missing(fname: str) -> bool:
        """Whether `fname` is to be (re)written: absent, or --force. The reference is recorded either way."""
        if force or not (out / fname).exists():
            print(f"writing {fname}")
            return True
        return False

    for name, turns in CALLS.items():
        refs["calls"][f"{name}.wav"] = {
            "channels": {
                "agent": " ".join(x for r, _, x in turns if r == "agent"),
                "customer": " ".join(x for r, _, x in turns if r == "customer"),
            },
            # The conversation in order (turns do not overlap here), for WER of the transcript as it reads.
            "turns": [{"role": r, "text": x} for r, _, x in turns],
        }
        if not missing(f"{name}.wav"):
            continue
        gaps = GAPS.get(name, (GAP_S,))
        t = 0.5
        placed = []
        for i, (role, voice, text) in enumerate(turns):
            a = tts(voice, text, rate)
            placed.append((0 if role == "agent" else 1, int(t * rate), a))
            t += len(a) / rate + gaps[i % len(gaps)]
        stereo = np.zeros((2, int((t + 0.5) * rate)), dtype=np.float32)
        for ch, start, a in placed:
            stereo[ch, start : start + len(a)] += 0.8 * a / max(1e-6, np.abs(a).max())
        encode(out / f"{name}.wav", stereo, rate, "wav", "pcm_mulaw", "s16")
    for fname, (voice, text) in MONO.items():
        refs["calls"][fname] = {"channels": {"mixed": text}}
        if not missing(fname):
            continue
        a = tts(voice, text, 16000)
        a = (0.8 * a / np.abs(a).max())[None, :]
        ext = fname.rsplit(".", 1)[1]
        fmt, codec, sfmt = {
            "mp3": ("mp3", "libmp3lame", "s16p"),
            "flac": ("flac", "flac", "s16"),
            "ogg": ("ogg", "libvorbis", "fltp"),
            "m4a": ("ipod", "aac", "fltp"),
        }.get(ext, ("wav", "pcm_alaw" if "alaw" in fname else "pcm_s16le", "s16"))
        encode(out / fname, a, 16000, fmt, codec, sfmt)
    # Valid audio that is pure silence: must give no chunks and an empty transcript.
    if missing("silence.wav"):
        encode(out / "silence.wav", np.zeros((2, 8000 * 5), np.float32), 8000, "wav", "pcm_mulaw", "s16")
    refs["silent"].append("silence.wav")
    # Broken inputs: each must land in the rejects table with a reason, and the run must go on.
    if missing("broken_empty.wav"):
        (out / "broken_empty.wav").write_bytes(b"")
    if missing("broken_not_audio.mp3"):
        (out / "broken_not_audio.mp3").write_bytes(b"This is a text file, not audio.\n" * 20)
    if missing("broken_truncated.wav"):
        good = (out / "call_001_card_payment.wav").read_bytes()
        (out / "broken_truncated.wav").write_bytes(good[: len(good) // 5])
    refs["rejects"] = {
        "broken_empty.wav": "empty",
        "broken_not_audio.mp3": "not_audio",
        "broken_truncated.wav": "truncated",
    }
    (out / "manifest.json").write_text(json.dumps(refs, indent=2) + "\n")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", nargs="?", default="sample_data", type=Path)
    ap.add_argument("--force", action="store_true", help="rebuild every file, also those that exist")
    args = ap.parse_args()
    main(args.out, force=args.force)
