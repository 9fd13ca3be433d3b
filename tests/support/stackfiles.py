"""The sandbox's two description files, merged for the tests and tools that need both:
src/airwave/cluster/defaults.json (the names the package uses at run time, shipped in the wheel) and
stack/sandbox/sandbox.json (the kind sandbox's layout: cluster name, ports, registry, pinned images). A section such
as `minio` is split between them; no key is in both (tests/stack/test_consistency.py)."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULTS_JSON = ROOT / "src" / "airwave" / "cluster" / "defaults.json"
SANDBOX_JSON = ROOT / "stack" / "sandbox" / "sandbox.json"


def load() -> dict:
    stack = json.loads(DEFAULTS_JSON.read_text())
    for key, value in json.loads(SANDBOX_JSON.read_text()).items():
        stack[key] = {**stack[key], **value} if isinstance(value, dict) and key in stack else value
    return stack


STACK = load()
