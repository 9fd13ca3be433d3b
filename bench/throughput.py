#!/usr/bin/env python3
"""Throughput benchmark: `airwave run` vs a plain sequential faster-whisper script, same files, same cores, one run.

Corpus: `--corpus DIR` (a folder with a reference manifest.json, e.g. the development set that
tests/support/make_dev_set.py writes; `--copies N`: N copies of it, to see how the ratio grows with the input), or
by default sample_data's decodable calls with references, replicated until the corpus holds at least --minutes of
channel audio. Runs (a) bench/plain_whisper.py and (b) `airwave run` on it and
prints, for both: channel-audio seconds per wall-second (xRT), WER per channel, and WER in turn order (each call's
segments of all channels merged by start time, against the reference turns in order), airwave's WER minus the plain
script's with a 95% paired-bootstrap interval over calls, then the xRT ratio.
Wall times include process start and model load for both, and neither includes scoring: `airwave run` is timed
without --refs and its WER computed afterwards (airwave.evaluate), as the plain script's is. Before the timed runs
each side runs once, untimed, on the corpus's smallest file (warm_up: one-time costs are not throughput; their walls
are printed). Results also go to .bench/results.json.

    .venv/bin/python -m bench.throughput [--corpus DIR [--copies N]] [--minutes 20] [--repeat 1]
"""

import argparse
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import jiwer

from airwave.audio import decode
from airwave.evaluate import _score, evaluate, normalise, ordered_reference
from bench import worker_malloc_env

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
WORK = ROOT / ".bench"
CHANNEL_OF_ROLE = {"agent": 0, "customer": 1, "mixed": 0}  # airwave's default role map: left=agent,right=customer


def channel_audio_s(folder: Path, names) -> float:
    return sum(len(d.channels) * d.duration_s for d in (decode((folder / n).read_bytes()) for n in names))


def replicate(folder: Path, refs: dict, copies: int, dest: Path) -> dict:
    """`copies` copies of each referenced file of `folder` in `dest` (named copyNN_<name>: one call for the
    bootstrap, see _unit); returns their reference manifest."""
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    manifest: dict = {"calls": {}}
    for i in range(copies):
        for name, ref in refs.items():
            dst = f"copy{i:02d}_{name}"
            shutil.copy(folder / name, dest / dst)
            manifest["calls"][dst] = ref
    return manifest


def replicate_sample(minutes: float) -> tuple[Path, dict]:
    refs = json.loads((SAMPLE / "manifest.json").read_text())["calls"]
    copies = math.ceil(minutes * 60 / channel_audio_s(SAMPLE, refs))
    manifest = replicate(SAMPLE, refs, copies, WORK / "corpus")
    (WORK / "refs.json").write_text(json.dumps(manifest))
    return WORK / "corpus", manifest


def open_corpus(folder: Path | None, minutes: float, copies: int = 1) -> tuple[Path, Path, dict]:
    """(audio folder, its reference manifest, the manifest): `folder` as it is or `copies` times over, or replicated
    sample_data. More copies of one corpus show how the ratio grows with the input (Spark's fixed costs amortised)."""
    if folder:
        folder = folder.resolve()
        refs = folder / "manifest.json"
        manifest = json.loads(refs.read_text())
        if copies <= 1:
            return folder, refs, manifest
        dest = WORK / f"{folder.name}-x{copies}"
        manifest = replicate(folder, manifest["calls"], copies, dest)
        refs = WORK / f"{dest.name}-refs.json"
        refs.write_text(json.dumps(manifest))
        return dest, refs, manifest
    corpus, manifest = replicate_sample(minutes)
    return corpus, WORK / "refs.json", manifest


def corpus_label(folder: Path | None, copies: int, manifest: dict) -> str:
    if folder:
        return str(folder) + (f" x {copies}" if copies > 1 else "")
    return f"sample_data x {len(manifest['calls']) // len(json.loads((SAMPLE / 'manifest.json').read_text())['calls'])}"


def plain_cmd(folder: Path) -> list[str]:
    return [sys.executable, str(ROOT / "bench" / "plain_whisper.py"), str(folder)]


def airwave_cmd(folder: Path, out: Path, *options: str) -> list[str]:
    return [sys.executable, "-m", "airwave", "run", str(folder), "--out", str(out), *options]


def warm_up(corpus: Path, names) -> dict:
    """One untimed run of each side on the corpus's smallest file, before the timed runs: what a machine pays once is
    not throughput (airwave's class-data archive, which `make env` writes and a first run writes otherwise, ~25 s;
    the OS's file caches of the model, the jars and the modules, for both sides). Returns the two walls."""
    folder = WORK / "warmup"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    name = min(names, key=lambda n: ((corpus / n).stat().st_size, n))
    shutil.copy(corpus / name, folder / Path(name).name)
    plain_s = timed(plain_cmd(folder))[0]
    airwave_s = timed(airwave_cmd(folder, WORK / "out-warmup"))[0]
    return {"file": name, "plain_s": round(plain_s, 2), "airwave_s": round(airwave_s, 2)}


def timed(cmd: list[str], env: dict | None = None) -> tuple[float, str]:
    t = time.perf_counter()
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t
    if r.returncode:
        sys.exit(f"{cmd[:3]} failed:\n{r.stderr[-3000:]}")
    return wall, r.stdout


def plain_texts(segs: dict, ref: dict) -> tuple[dict[str, str], str]:
    """The plain script's text of one call per reference role, and the call read in turn order (its segments of
    all channels merged by start time)."""
    per_role = {role: " ".join(s[2] for s in segs.get(str(CHANNEL_OF_ROLE[role]), [])) for role in ref["channels"]}
    merged = sorted((s[0], int(ch), s[2]) for ch, ss in segs.items() for s in ss)
    return per_role, " ".join(t for *_, t in merged)


def plain_wer(hyp: dict, manifest: dict) -> tuple[dict, dict]:
    """The plain script's WER per channel, and in turn order."""
    refs, hyps, ord_refs, ord_hyps = [], [], [], []
    for name, ref in manifest["calls"].items():
        per_role, in_turns = plain_texts(hyp.get(name, {}), ref)
        for role, text in ref["channels"].items():
            refs.append(normalise(text))
            hyps.append(normalise(per_role[role]))
        in_order = ordered_reference(ref)
        if in_order is not None:
            ord_refs.append(normalise(in_order))
            ord_hyps.append(normalise(in_turns))
    return _score(refs, hyps), _score(ord_refs, ord_hyps)


def _errors(r: str, h: str) -> tuple[int, int]:
    """(errors, reference words) of one hypothesis against its reference."""
    if not r:
        return 0, 0
    o = jiwer.process_words(r, h)
    return o.substitutions + o.deletions + o.insertions, o.hits + o.substitutions + o.deletions


def _unit(name: str) -> str:
    """Copies of one call (replicate's copyNN_ names) are one call: not independent draws."""
    return re.sub(r"^copy\d+_", "", name)


def call_errors(plain_hyp: dict, report: dict, manifest: dict) -> dict[str, dict[str, list[int]]]:
    """Per kind ("channel", "ordered"), per call: [plain errors, airwave errors, reference words], from the same
    normalised texts the WERs above are computed from."""
    out: dict[str, dict[str, list[int]]] = {"channel": {}, "ordered": {}}
    ours = {(c["call_id"], c["role"]): c for c in report["per_channel"]}
    for name, ref in manifest["calls"].items():
        per_role, in_turns = plain_texts(plain_hyp.get(name, {}), ref)
        for role, text in ref["channels"].items():
            e, n = _errors(normalise(text), normalise(per_role[role]))
            c = ours[(name, role)]
            _add(out["channel"], _unit(name), e, c["substitutions"] + c["deletions"] + c["insertions"], n)
        in_order = ordered_reference(ref)
        if in_order is not None and name in report["ordered_per_call"]:
            e, n = _errors(normalise(in_order), normalise(in_turns))
            c = report["ordered_per_call"][name]
            _add(out["ordered"], _unit(name), e, c["substitutions"] + c["deletions"] + c["insertions"], n)
    return out


def _add(table: dict[str, list[int]], key: str, plain: int, ours: int, words: int) -> None:
    row = table.setdefault(key, [0, 0, 0])
    for i, v in enumerate((plain, ours, words)):
        row[i] += v


def paired_difference(calls: dict[str, list[int]], draws: int = 4000, seed: int = 0) -> dict:
    """airwave's WER minus the plain script's, in points, with a 95% interval from a paired bootstrap over calls
    (both sides scored on the same resampled calls): how far a WER difference of this size moves with the choice of
    calls. Single decodes are chaotic too: a small change to the input (e.g. 0.1 s more audio before each turn)
    moves the dev set's WER by about +-2 points (README, Performance)."""
    rows = list(calls.values())
    if not rows:
        return {}
    rng = random.Random(seed)

    def diff(sample) -> float:
        words = sum(r[2] for r in sample) or 1
        return 100 * (sum(r[1] for r in sample) - sum(r[0] for r in sample)) / words

    boot = sorted(diff([rng.choice(rows) for _ in rows]) for _ in range(draws))
    return {
        "points": round(diff(rows), 2),
        "ci95": [round(boot[int(0.025 * draws)], 2), round(boot[int(0.975 * draws) - 1], 2)],
        "calls": len(rows),
    }


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument(
        "--corpus",
        type=Path,
        help="folder with audio and a reference manifest.json (default: sample_data replicated to --minutes)",
    )
    p.add_argument("--minutes", type=float, default=20.0, help="channel-audio minutes of replicated sample_data")
    p.add_argument("--copies", type=int, default=1, help="run on this many copies of --corpus")
    p.add_argument("--repeat", type=int, default=1, help="alternate the two runs this many times; best wall counts")
    p.add_argument(
        "--encoder-pad-s",
        type=float,
        action="append",
        default=[],
        help="also run airwave with `--encoder-pad-s S` (0: Whisper's 30 s encoder windows); repeatable",
    )
    p.add_argument("--out", type=Path, default=WORK / "results.json")
    a = p.parse_args()
    corpus, refs_path, manifest = open_corpus(a.corpus, a.minutes, a.copies)
    audio_s = channel_audio_s(corpus, manifest["calls"])
    out = WORK / "out"
    airwave, plain = airwave_cmd(corpus, out), plain_cmd(corpus)
    # For reference, not the baseline: the plain script under the glibc malloc settings airwave's workers run with.
    plain_malloc_env = worker_malloc_env()
    warm = warm_up(corpus, manifest["calls"])
    plain_walls, plain_malloc_walls, airwave_walls = [], [], []
    for _ in range(a.repeat):
        w, stdout = timed(plain)
        plain_walls.append(w)
        plain_hyp = json.loads(stdout)
        plain_malloc_walls.append(timed(plain, plain_malloc_env)[0])
        w, _ = timed(airwave)
        airwave_walls.append(w)
    ev = evaluate(str(out), str(refs_path))
    run = json.loads((out / "run.json").read_text())
    plain_channel, plain_ordered = plain_wer(plain_hyp, manifest)
    res = {
        "corpus": corpus_label(a.corpus, a.copies, manifest),
        "cores": os.cpu_count(),
        "warmup": warm,
        "channel_audio_s": round(audio_s, 1),
        "files": len(manifest["calls"]),
        "plain": {
            "wall_s": round(min(plain_walls), 2),
            "xrt": round(audio_s / min(plain_walls), 2),
            "wer": plain_channel["wer"],
            "ordered_wer": plain_ordered["wer"],
            "words": plain_channel["words"],
        },
        "airwave": {
            "wall_s": round(min(airwave_walls), 2),
            "xrt": round(audio_s / min(airwave_walls), 2),
            "wer": ev["overall"]["wer"],
            "ordered_wer": ev["ordered"]["wer"],
            "words": ev["overall"]["words"],
            "stages_s": run["stages_s"],
            "workers": run["workers"],
            "cpu_threads": run["cpu_threads"],
            "speech_s": run["speech_s"],
            "chunks": run["chunks"],
        },
    }
    for pad in a.encoder_pad_s:
        pad_out = WORK / f"out-pad{pad:g}"
        w, _ = timed(airwave_cmd(corpus, pad_out, "--encoder-pad-s", str(pad)))
        pev = evaluate(str(pad_out), str(refs_path))
        res[f"airwave-pad{pad:g}"] = {
            "wall_s": round(w, 2),
            "xrt": round(audio_s / w, 2),
            "wer": pev["overall"]["wer"],
            "ordered_wer": pev["ordered"]["wer"],
        }
    errs = call_errors(plain_hyp, ev, manifest)
    res["wer_difference"] = {kind: paired_difference(calls) for kind, calls in errs.items()}
    res["plain-malloc"] = {
        "wall_s": round(min(plain_malloc_walls), 2),
        "xrt": round(audio_s / min(plain_malloc_walls), 2),
    }
    res["ratio"] = round(res["airwave"]["xrt"] / res["plain"]["xrt"], 2)
    res["ratio_same_malloc"] = round(res["airwave"]["xrt"] / res["plain-malloc"]["xrt"], 2)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(res, indent=2))
    print(
        f"corpus: {res['corpus']}: {res['files']} files, {audio_s / 60:.1f} min of channel audio, "
        f"{res['airwave']['words']} reference words, {res['cores']} cores"
    )
    print(f"warm-up, untimed ({warm['file']}): plain {warm['plain_s']:.1f} s, airwave {warm['airwave_s']:.1f} s")
    print(f"{'':<28}{'wall s':>8}{'xRT':>8}{'WER/channel':>13}{'WER in order':>14}")
    rows = [
        ("plain", "plain faster-whisper script"),
        ("plain-malloc", "  with airwave's malloc"),
        ("airwave", "airwave run"),
    ]
    rows += [(f"airwave-pad{p:g}", f"  --encoder-pad-s {p:g}") for p in a.encoder_pad_s]
    for k, label in rows:
        r = res[k]
        wers = f"{_pct(r.get('wer')):>13}{_pct(r.get('ordered_wer')):>14}"
        print(f"{label:<28}{r['wall_s']:>8.1f}{r['xrt']:>8.1f}{wers}")
    for kind, label in (("channel", "per channel"), ("ordered", "in turn order")):
        d = res["wer_difference"].get(kind)
        if d:
            print(
                f"WER {label}, airwave - plain: {d['points']:+.1f} points (95% interval {d['ci95'][0]:+.1f} to "
                f"{d['ci95'][1]:+.1f}, paired bootstrap over {d['calls']} calls)"
            )
    print(
        f"ratio (airwave xRT / plain xRT): {res['ratio']:.2f}x (against the plain script with airwave's malloc: "
        f"{res['ratio_same_malloc']:.2f}x)   airwave stages: {run['stages_s']}"
    )


def _pct(x) -> str:
    return "-" if x is None else f"{x:.1%}"


if __name__ == "__main__":
    main()
