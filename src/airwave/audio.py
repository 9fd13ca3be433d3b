"""Decode any audio container into 16 kHz float32 channels (PyAV/FFmpeg). Pure: no Spark."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

import av
import numpy as np

# Role settings live in airwave.settings (checked before any cluster starts); re-exported for the stages.
from .settings import DEFAULT_ROLES, MONO, parse_roles  # noqa: F401

SAMPLE_RATE = 16000
# Containers whose header states the exact length, so a short read means the file was cut off.
# (MP3/Ogg/M4A durations are estimates; a cut there shows up as a decode error or a missing index.)
_EXACT_LENGTH_FORMATS = {"wav", "w64", "aiff", "flac", "caf"}


class DecodeError(Exception):
    """The input is not usable audio. `reason` is a short machine-readable code, str() the detail."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason


@dataclass
class Decoded:
    channels: list[np.ndarray]  # one float32 array per source channel, at SAMPLE_RATE
    source_format: str  # container/codec, e.g. "wav/pcm_mulaw"
    source_rate: int
    source_channels: int
    duration_s: float
    sha256: str


def decode(data: bytes, rate: int = SAMPLE_RATE, max_s: float | None = None) -> Decoded:
    """Decode `data`, keep channels separate and resample each to `rate` Hz mono float32.

    `max_s`: a recording longer than this is rejected (`too_long`) as soon as its header or its decoded audio says so,
    so the memory decoding takes stays bounded whatever the codec."""
    sha = hashlib.sha256(data).hexdigest()
    if not data:
        raise DecodeError("empty", "file is empty (0 bytes)")
    try:
        container = av.open(io.BytesIO(data), mode="r")
    except av.error.FFmpegError as e:
        raise DecodeError("not_audio", f"not a readable media file: {e.strerror or e}") from None
    with container:
        if not container.streams.audio:
            raise DecodeError("no_audio_stream", f"container '{container.format.name}' has no audio stream")
        stream = container.streams.audio[0]
        n_ch = stream.codec_context.channels
        if n_ch < 1:
            raise DecodeError("bad_header", "audio stream declares no channels")
        fmt = f"{container.format.name.split(',')[0]}/{stream.codec_context.name}"
        # Planar float keeps channels apart; one resampler per file (PyAV frees it with the container).
        # More than two channels: FFmpeg's unordered "N channels" layout (PyAV 16's AudioLayout takes no int).
        layout = "stereo" if n_ch == 2 else ("mono" if n_ch == 1 else f"{n_ch} channels")
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
        declared = float(container.duration) / av.time_base if container.duration else None
        if max_s and declared and declared > max_s:
            raise DecodeError(
                "too_long",
                f"{fmt}: {declared / 60:.1f} min is over the {max_s / 60:g}-minute limit "
                "(--max-input-minutes / AIRWAVE_MAX_INPUT_MINUTES)",
            )
        parts: list[np.ndarray] = []
        n = 0
        try:
            for frame in container.decode(stream):
                for f in resampler.resample(frame):
                    parts.append(f.to_ndarray())
                    n += parts[-1].shape[1]
                if max_s and n > max_s * rate:
                    raise DecodeError(
                        "too_long",
                        f"{fmt}: over the {max_s / 60:g}-minute limit "
                        "(--max-input-minutes / AIRWAVE_MAX_INPUT_MINUTES); decoding stopped",
                    )
            parts.extend(f.to_ndarray() for f in resampler.resample(None))
        except av.error.FFmpegError as e:
            raise DecodeError(
                "corrupt", f"decoding failed after {sum(p.shape[1] for p in parts) / rate:.2f}s: {e.strerror or e}"
            ) from None
        src_rate = stream.codec_context.sample_rate
    if not parts:
        raise DecodeError("no_samples", f"{fmt}: no audio samples could be decoded")
    pcm = np.concatenate(parts, axis=1).astype(np.float32, copy=False)
    duration = pcm.shape[1] / rate
    if declared and fmt.split("/")[0] in _EXACT_LENGTH_FORMATS and duration < 0.95 * declared - 0.05:
        raise DecodeError(
            "truncated",
            f"{fmt}: header declares {declared:.2f}s but only {duration:.2f}s of audio is present (file cut off)",
        )
    return Decoded([np.ascontiguousarray(pcm[c]) for c in range(pcm.shape[0])], fmt, src_rate, n_ch, duration, sha)


def role_of(channel: int, n_channels: int, roles: dict[int, str]) -> str:
    """Role of a channel. A mono recording holds both parties mixed down, so it gets the `mono` role."""
    return roles.get(channel, f"channel_{channel}") if n_channels > 1 else roles.get(MONO, "mixed")


def to_pcm16(audio: np.ndarray) -> bytes:
    return (np.clip(audio, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


def from_pcm16(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32767.0
