#!/usr/bin/env python3
"""Throughput benchmark: `airwave run` vs a plain sequential faster-whisper script, same files, same cores, one run.

Replicates sample_data's calls (the decodable ones with references) until the corpus holds at least
--minutes of channel audio, runs (a) bench/plain_whisper.py and (b) `airwave run` on it, and prints channel-audio
seconds per wall-second for both, their ratio, and the WER of both against the replicated references.
Results also go to .bench/results.json. Wall times include process start and model load for both.

    .venv/bin/python bench/throughput.py [--minutes 20] [--repeat 1]
"""
import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from airwave.audio import decode
from airwave.evaluate import _score, normalise

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
WORK = ROOT / ".bench"


def build_corpus(minutes: float) -> tuple[Path, dict, float]:
    refs = json.loads((SAMPLE / "manifest.json").read_text())["calls"]
    per_copy = sum(len(d.channels) * d.duration_s for d in (decode((SAMPLE / n).read_bytes()) for n in refs))
    copies = math.ceil(minutes * 60 / per_copy)
    corpus = WORK / "corpus"
    shutil.rmtree(corpus, ignore_errors=True)
    corpus.mkdir(parents=True)
    manifest = {"calls": {}}
    for i in range(copies):
        for name, ref in refs.items():
            dst = f"copy{i:02d}_{name}"
            shutil.copy(SAMPLE / name, corpus / dst)
            manifest["calls"][dst] = ref
    (WORK / "refs.json").write_text(json.dumps(manifest))
    return corpus, manifest, copies * per_copy


def timed(cmd: list[str]) -> tuple[float, str]:
    t = time.perf_counter()
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if r.returncode:
        sys.exit(f"{cmd[:3]} failed:\n{r.stderr[-3000:]}")
    return wall, r.stdout


def plain_wer(hyp: dict, manifest: dict) -> float:
    refs, hyps = [], []
    for name, ref in manifest["calls"].items():
        roles = list(ref["channels"])  # agent (left), customer (right); mono: one role
        for i, role in enumerate(roles):
            refs.append(normalise(ref["channels"][role]))
            hyps.append(normalise(hyp.get(name, {}).get(str(i), "")))
    return _score(refs, hyps)["wer"]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--minutes", type=float, default=20.0, help="channel-audio minutes in the corpus (>= 20)")
    p.add_argument("--repeat", type=int, default=1, help="alternate the two runs this many times; best wall counts")
    a = p.parse_args()
    corpus, manifest, audio_s = build_corpus(a.minutes)
    py = sys.executable
    airwave = [py, "-m", "airwave", "run", str(corpus), "--out", str(WORK / "out"), "--refs", str(WORK / "refs.json")]
    plain_walls, airwave_walls = [], []
    for _ in range(a.repeat):
        w, out = timed([py, str(ROOT / "bench" / "plain_whisper.py"), str(corpus)])
        plain_walls.append(w)
        plain_hyp = json.loads(out)
        w, _ = timed(airwave)
        airwave_walls.append(w)
    aw_eval = json.loads((WORK / "out" / "eval" / "report.json").read_text())["overall"]["wer"]
    run = json.loads((WORK / "out" / "run.json").read_text())
    res = {
        "cores": os.cpu_count(), "channel_audio_s": round(audio_s, 1), "files": len(manifest["calls"]),
        "plain": {"wall_s": round(min(plain_walls), 2), "xrt": round(audio_s / min(plain_walls), 2),
                  "wer": plain_wer(plain_hyp, manifest)},
        "airwave": {"wall_s": round(min(airwave_walls), 2), "xrt": round(audio_s / min(airwave_walls), 2),
                    "wer": aw_eval, "stages_s": run["stages_s"], "workers": run["workers"],
                    "cpu_threads": run["cpu_threads"]},
    }
    res["ratio"] = round(res["airwave"]["xrt"] / res["plain"]["xrt"], 2)
    (WORK / "results.json").write_text(json.dumps(res, indent=2))
    print(f"corpus: {res['files']} files, {audio_s / 60:.1f} min of channel audio, {res['cores']} cores")
    print(f"{'':<28}{'wall s':>8}{'audio-s/wall-s':>16}{'WER':>8}")
    for k, label in (("plain", "plain faster-whisper script"), ("airwave", "airwave run")):
        r = res[k]
        print(f"{label:<28}{r['wall_s']:>8.1f}{r['xrt']:>16.1f}{r['wer']:>8.1%}")
    print(f"ratio (airwave / plain): {res['ratio']:.2f}x   airwave stages: {run['stages_s']}")


if __name__ == "__main__":
    main()
