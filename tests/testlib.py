"""Shared test helpers (import as `testlib`; `conftest` is ambiguous when several conftest.py files exist)."""

from pathlib import Path

import numpy as np

from support import make_sample_data  # noqa: F401  (re-exported: conftest's write_audio encodes with it)

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"


def tone(freq, seconds, rate, amp=0.5):
    t = np.arange(int(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)
