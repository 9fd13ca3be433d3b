"""Shared test helpers (import as `testlib`; `conftest` is ambiguous when several conftest.py files exist)."""
import importlib.util
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"

_spec = importlib.util.spec_from_file_location("make_sample_data", ROOT / "hack" / "make_sample_data.py")
make_sample_data = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_sample_data)


def tone(freq, seconds, rate, amp=0.5):
    t = np.arange(int(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)
