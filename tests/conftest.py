import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a test that reaches for the hub must fail, not download

_spec = importlib.util.spec_from_file_location("make_sample_data", ROOT / "hack" / "make_sample_data.py")
make_sample_data = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_sample_data)


@pytest.fixture
def write_audio(tmp_path):
    """Encode float32 audio (channels, samples) to a file with PyAV: write_audio(name, audio, rate, fmt, codec)."""
    def _write(name, audio, rate, fmt="wav", codec="pcm_s16le", sample_fmt="s16"):
        path = tmp_path / name
        make_sample_data.encode(path, np.asarray(audio, np.float32), rate, fmt, codec, sample_fmt)
        return path
    return _write


def tone(freq, seconds, rate, amp=0.5):
    t = np.arange(int(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)
