#!/usr/bin/env python3
"""GPU vs CPU: `airwave run --device cuda` (float16) against `--device cpu` (int8) on the bench corpus, one machine.

Prints channel-audio seconds per wall-second (xRT), WER per channel and WER in turn order for each device. Needs a
CUDA GPU that CTranslate2 can use (CUDA 12 + cuDNN 9); the settings check refuses `--device cuda` without one.
On a GPU the batch is larger (--gpu-batch-size): batching is what a GPU is for. Results: .bench/gpu.json.

    .venv/bin/python -m bench.gpu [--corpus DIR | --minutes 20] [--gpu-batch-size 32]
"""

import argparse
import json
import os
import sys
from pathlib import Path

from bench.throughput import WORK, channel_audio_s, open_corpus, timed


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--corpus", type=Path)
    p.add_argument("--minutes", type=float, default=20.0)
    p.add_argument("--gpu-batch-size", type=int, default=32)
    a = p.parse_args()
    import ctranslate2

    if ctranslate2.get_cuda_device_count() < 1:
        sys.exit("bench/gpu.py: CTranslate2 sees no CUDA device on this machine; run it where there is a GPU")
    corpus, refs, manifest = open_corpus(a.corpus, a.minutes)
    audio_s = channel_audio_s(corpus, manifest["calls"])
    res = {"channel_audio_s": round(audio_s, 1), "cores": os.cpu_count()}
    for device, extra in (("cpu", []), ("cuda", ["--batch-size", str(a.gpu_batch_size)])):
        out = WORK / f"out-{device}"
        wall, _ = timed(
            [
                sys.executable,
                "-m",
                "airwave",
                "run",
                str(corpus),
                "--out",
                str(out),
                "--refs",
                str(refs),
                "--device",
                device,
                *extra,
            ]
        )
        ev = json.loads((out / "eval" / "report.json").read_text())
        run = json.loads((out / "run.json").read_text())
        res[device] = {
            "wall_s": round(wall, 2),
            "xrt": round(audio_s / wall, 1),
            "wer": ev["overall"]["wer"],
            "ordered_wer": ev["ordered"]["wer"],
            "stages_s": run["stages_s"],
        }
    res["speedup"] = round(res["cuda"]["xrt"] / res["cpu"]["xrt"], 2)
    (WORK / "gpu.json").write_text(json.dumps(res, indent=2))
    print(f"{audio_s / 60:.1f} min of channel audio, {res['cores']} cores")
    print(f"{'device':<8}{'wall s':>8}{'xRT':>8}{'WER/channel':>13}{'WER in order':>14}  stages")
    for d in ("cpu", "cuda"):
        r = res[d]
        print(f"{d:<8}{r['wall_s']:>8.1f}{r['xrt']:>8.1f}{r['wer']:>13.1%}{r['ordered_wer']:>14.1%}  {r['stages_s']}")
    print(f"cuda / cpu xRT: {res['speedup']:.2f}x")


if __name__ == "__main__":
    main()
