import wave

import numpy as np
import pytest

from airwave.audio import SAMPLE_RATE, DecodeError, decode, from_pcm16, parse_roles, role_of, to_pcm16
from testlib import SAMPLE, tone

# Every format sample_data ships: (file, container/codec, channels, source rate)
FORMATS = [
    ("call_001_card_payment.wav", "wav/pcm_mulaw", 2, 8000),
    ("voicemail_alaw.wav", "wav/pcm_alaw", 1, 16000),
    ("voicemail_pcm.wav", "wav/pcm_s16le", 1, 16000),
    ("voicemail_mp3.mp3", "mp3/mp3float", 1, 16000),
    ("voicemail_flac.flac", "flac/flac", 1, 16000),
    ("voicemail_ogg.ogg", "ogg/vorbis", 1, 16000),
    ("voicemail_m4a.m4a", "mov/aac", 1, 16000),
]


@pytest.mark.parametrize("name,fmt,channels,rate", FORMATS)
def test_decodes_every_sample_format(name, fmt, channels, rate):
    d = decode((SAMPLE / name).read_bytes())
    assert (d.source_format, d.source_channels, d.source_rate) == (fmt, channels, rate)
    assert len(d.channels) == channels
    assert all(c.dtype == np.float32 and len(c) == len(d.channels[0]) for c in d.channels)
    assert d.duration_s == pytest.approx(len(d.channels[0]) / SAMPLE_RATE)
    assert 2.0 < d.duration_s < 30.0
    assert max(float(np.abs(c).max()) for c in d.channels) > 0.1  # real signal, not zeros


def test_stereo_is_split_into_channels(write_audio):
    left = tone(440, 1.0, 8000)
    path = write_audio("lr.wav", np.stack([left, np.zeros_like(left)]), 8000, codec="pcm_mulaw")
    d = decode(path.read_bytes())
    assert len(d.channels) == 2
    assert np.sqrt(np.mean(d.channels[0] ** 2)) > 0.2
    assert np.abs(d.channels[1]).max() < 0.01


def test_more_than_two_channels_decode_one_array_each(tmp_path):
    """A 3- or 6-channel recording decodes (it used to raise a TypeError from PyAV, which no reject caught)."""
    for n in (3, 6):
        audio = np.stack([tone(300 + 100 * i, 0.5, 8000) * (i + 1) / n for i in range(n)])
        path = tmp_path / f"multi{n}.wav"
        with wave.open(str(path), "wb") as w:  # the stdlib writes any channel count, interleaved
            w.setnchannels(n)
            w.setsampwidth(2)
            w.setframerate(8000)
            w.writeframes((audio.T * 32767).astype("<i2").tobytes())
        d = decode(path.read_bytes())
        assert len(d.channels) == n
        assert all(np.abs(c).max() > 0.05 for c in d.channels)


def test_resamples_to_16k_keeping_pitch(write_audio):
    path = write_audio("t.wav", tone(440, 2.0, 8000)[None, :], 8000)
    (ch,) = decode(path.read_bytes()).channels
    assert len(ch) == pytest.approx(2 * SAMPLE_RATE, abs=64)
    spectrum = np.abs(np.fft.rfft(ch))
    assert np.argmax(spectrum) * SAMPLE_RATE / len(ch) == pytest.approx(440, abs=2)


@pytest.mark.parametrize(
    "data,reason",
    [
        (b"", "empty"),
        (b"hello, this is a text file\n" * 40, "not_audio"),
        (bytes(range(256)) * 16, "not_audio"),
    ],
)
def test_undecodable_inputs_raise_with_reason(data, reason):
    with pytest.raises(DecodeError) as e:
        decode(data)
    assert e.value.reason == reason and str(e.value)


def test_truncated_wav_is_rejected():
    whole = (SAMPLE / "call_002_address_change.wav").read_bytes()
    with pytest.raises(DecodeError) as e:
        decode(whole[: len(whole) // 3])
    assert e.value.reason == "truncated" and "declares" in str(e.value)


def test_roles_are_configurable():
    assert parse_roles("left=agent,right=customer,mono=mixed") == {0: "agent", 1: "customer", -1: "mixed"}
    swapped = parse_roles("left=customer,right=agent")
    assert role_of(0, 2, swapped) == "customer" and role_of(1, 2, swapped) == "agent"
    assert role_of(0, 1, parse_roles("mono=caller")) == "caller"
    with pytest.raises(ValueError):
        parse_roles("middle=agent")


def test_pcm16_round_trip():
    a = tone(300, 0.1, 16000)
    assert np.allclose(from_pcm16(to_pcm16(a)), a, atol=1e-4)


@pytest.mark.parametrize("name, minutes", [("call_004_long_billing_dispute.wav", 3), ("voicemail_mp3.mp3", 0.05)])
def test_a_recording_over_the_length_limit_is_rejected_without_decoding_it_all(name, minutes):
    data = (SAMPLE / name).read_bytes()
    assert decode(data, max_s=minutes * 60 + 60).duration_s > minutes * 60
    with pytest.raises(DecodeError, match="minute limit") as e:
        decode(data, max_s=minutes * 60)
    assert e.value.reason == "too_long"
