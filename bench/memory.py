#!/usr/bin/env python3
"""Peak memory of one Spark Python worker on the multi-minute call: what an executor's Python side needs on top of
its JVM (spark.executor.memory covers the JVM only; on Kubernetes the pod limit must hold both).

Each step runs in a fresh process and reports its peak RSS (VmHWM), against an idle worker that has imported
the same modules (baseline) in the same run:
- preprocess: read the whole file, decode to 16 kHz float32 per channel, VAD, chunk (what preprocess does per file);
- transcribe: load tiny.en and transcribe that call's chunks (what transcribe does with a partition of chunks).
Preprocess again for the call repeated to --long-minutes, to show how the file size drives it (the input size limit,
AIRWAVE_MAX_INPUT_MB, bounds that side; a transcribe task holds a partition's chunks, not whole files).

    .venv/bin/python -m bench.memory [--call sample_data/call_004_long_billing_dispute.wav] [--long-minutes 30]
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import worker_malloc_env

ROOT = Path(__file__).resolve().parents[1]
CALL = ROOT / "sample_data" / "call_004_long_billing_dispute.wav"

STEP = r"""
import json, re, sys
from airwave.audio import decode, to_pcm16, from_pcm16
from airwave.vad import chunk_channel
from airwave.asr import AsrConfig, transcribe_chunks
step, path = sys.argv[1], sys.argv[2]
if step != "baseline":
    data = open(path, "rb").read()
    d = decode(data)
    chunks = [to_pcm16(c.audio) for ch in d.channels for c in chunk_channel(ch)]
    del data, d
    if step == "transcribe":
        transcribe_chunks([from_pcm16(c) for c in chunks], AsrConfig())
# VmHWM, not ru_maxrss: ru_maxrss survives exec, so a child would report its parent's peak.
hwm = re.search(r"VmHWM:\s+(\d+) kB", open("/proc/self/status").read()).group(1)
print(json.dumps({"peak_mb": int(hwm) / 1024}))
"""


def peak(step: str, path: Path) -> float:
    cmd = [sys.executable, "-c", STEP, step, str(path)]
    r = subprocess.run(cmd, capture_output=True, text=True, check=True, env=worker_malloc_env())
    return json.loads(r.stdout.strip().splitlines()[-1])["peak_mb"]


def repeated(call: Path, minutes: float, out: Path) -> Path:
    """The call back to back until it lasts `minutes` (16 kHz stereo mu-law WAV)."""
    import numpy as np

    from airwave.audio import decode
    from tests.support.make_sample_data import encode

    d = decode(call.read_bytes())
    one = np.stack(d.channels)
    reps = max(1, int(minutes * 60 // d.duration_s))
    encode(out, np.tile(one, reps), 16000, "wav", "pcm_mulaw", "s16")
    return out


def measure(call: Path, long_minutes: float) -> dict:
    base = peak("baseline", call)
    res = {"baseline_mb": round(base, 1), "calls": []}
    with tempfile.TemporaryDirectory() as tmp:
        for path in (call, repeated(call, long_minutes, Path(tmp) / "long.wav")):
            from airwave.audio import decode

            d = decode(path.read_bytes())
            row = {
                "file": path.name,
                "mb": round(path.stat().st_size / 2**20, 1),
                "minutes": round(d.duration_s / 60, 1),
                "channels": len(d.channels),
            }
            for step in ("preprocess", "transcribe") if path == call else ("preprocess",):
                row[f"{step}_peak_mb"] = round(peak(step, path), 1)
                row[f"{step}_over_baseline_mb"] = round(row[f"{step}_peak_mb"] - base, 1)
            res["calls"].append(row)
    return res


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--call", type=Path, default=CALL)
    p.add_argument("--long-minutes", type=float, default=30.0)
    a = p.parse_args()
    res = measure(a.call, a.long_minutes)
    out = ROOT / ".bench"
    out.mkdir(exist_ok=True)
    (out / "memory.json").write_text(json.dumps(res, indent=2))
    print(f"peak RSS of one Python worker (idle worker with the same imports: {res['baseline_mb']:.0f} MB)")
    print(f"{'file':<40}{'MiB':>6}{'min':>6}{'preprocess MB':>15}{'transcribe MB':>15}")
    for r in res["calls"]:
        tr = f"{r['transcribe_peak_mb']:>15.0f}" if "transcribe_peak_mb" in r else f"{'-':>15}"
        print(f"{r['file']:<40}{r['mb']:>6.1f}{r['minutes']:>6.1f}{r['preprocess_peak_mb']:>15.0f}{tr}")


if __name__ == "__main__":
    main()
