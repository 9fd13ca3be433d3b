"""`airwave` command line: run | stage {preprocess,transcribe,postprocess} | eval | sweep.

`airwave stage ...` is what spark-submit (and so Airflow) calls: spark-submit <path of airwave/__main__.py> stage ...
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from . import settings
from .asr import AsrConfig
from .settings import DEFAULT_EXCLUDE, DEFAULT_ROLES, SettingsError


def _asr_args(p: argparse.ArgumentParser) -> None:
    d = AsrConfig()
    p.add_argument(
        "--model",
        default=settings.environment().model or d.model,
        help="model name (tiny.en ships with the package; others under $AIRWAVE_MODELS_DIR) or a folder",
    )
    p.add_argument("--beam-size", type=int, default=d.beam_size)
    p.add_argument(
        "--device",
        default=d.device,
        choices=settings.DEVICES,
        help="where the model runs (cuda: an NVIDIA GPU, float16 by default)",
    )
    p.add_argument("--compute-type", help="CTranslate2 compute type (default: int8 on cpu, float16 on cuda)")
    p.add_argument("--batch-size", type=int, default=d.batch_size, help="chunks per encoder/decoder call")
    p.add_argument("--cpu-threads", type=int, default=0, help="threads per model (default: spark.task.cpus)")
    p.add_argument(
        "--encoder-pad-s",
        type=float,
        default=d.encoder_pad_s,
        help="pad each batch only to its longest clip plus this many seconds (default %(default)s); 0: Whisper's "
        "30 s encoder windows for each chunk's first pass (slower, see README: Performance)",
    )


def _limit_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--max-input-mb",
        type=float,
        help=f"larger files are rejected as too_large (default: ${settings.MAX_INPUT_ENV} or {settings.MAX_INPUT_MB})",
    )
    p.add_argument(
        "--max-input-minutes",
        type=float,
        help=f"longer recordings are rejected as too_long (default: "
        f"${settings.MAX_MINUTES_ENV} or {settings.MAX_INPUT_MINUTES})",
    )


def _asr_config(a) -> AsrConfig:
    return AsrConfig(
        model=a.model,
        beam_size=a.beam_size,
        batch_size=a.batch_size,
        cpu_threads=a.cpu_threads,
        device=a.device,
        compute_type=a.compute_type or settings.default_compute_type(a.device),
        encoder_pad_s=a.encoder_pad_s,
    )


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="airwave", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="all three stages on INPUT, results under --out")
    r.add_argument("input", help="folder or prefix with audio (local path, file://, s3://)")
    r.add_argument("--out", required=True, help="run location; results go to OUT/calls/")
    r.add_argument("--roles", default=DEFAULT_ROLES, help="channel -> role map (default: %(default)s)")
    r.add_argument("--refs", help="reference manifest.json: also compute WER")
    r.add_argument("--exclude", default=DEFAULT_EXCLUDE, help="file-name globs that are not inputs (%(default)s)")
    _limit_args(r)
    _asr_args(r)
    s = sub.add_parser("stage", help="one stage (what spark-submit / Airflow runs)")
    ss = s.add_subparsers(dest="stage", required=True)
    pre = ss.add_parser("preprocess")
    pre.add_argument("--input", required=True)
    pre.add_argument("--out", required=True)
    pre.add_argument("--roles", default=DEFAULT_ROLES)
    pre.add_argument("--exclude", default=DEFAULT_EXCLUDE)
    _limit_args(pre)
    tr = ss.add_parser("transcribe")
    tr.add_argument("--out", required=True)
    tr.add_argument(
        "--chunks-from",
        help="read the preprocessed chunks of this run instead of OUT's own (a shape "
        "sweep preprocesses its sample once)",
    )
    _asr_args(tr)
    post = ss.add_parser("postprocess")
    post.add_argument("--out", required=True)
    e = sub.add_parser("eval", help="WER of a run against reference transcripts")
    e.add_argument("run", help="run location (the --out of `airwave run`)")
    e.add_argument("--refs", required=True, help="manifest.json with reference transcripts")
    _sweep_args(sub)
    return p


def _sweep_args(sub) -> None:
    from .sweep import DEFAULT_GRID, WER_TOLERANCE

    grid = json.dumps(DEFAULT_GRID, separators=(",", ":"))
    sw = sub.add_parser(
        "sweep",
        help="the transcribe stage on a sample under a grid of Spark cluster shapes: "
        "wall time, core-seconds, memory and WER per shape, the Pareto frontier, a recommendation",
    )
    sw.add_argument("input", help="folder or prefix with audio; the sample is taken from its files with a reference")
    sw.add_argument("--out", required=True, help="sweep location: OUT/sweep.json, OUT/sweep.png, OUT/shapes/<id>/")
    sw.add_argument("--refs", required=True, help="reference manifest.json (WER per shape)")
    sw.add_argument(
        "--grid",
        default=grid,
        help="JSON lists of executors, executor_cores, cpu_threads, batch_size (default: %(default)s)",
    )
    sw.add_argument(
        "--sample",
        type=int,
        default=2,
        help="the first N input files that have a reference; 0 = all (default: %(default)s)",
    )
    sw.add_argument(
        "--wer-tolerance",
        type=float,
        default=WER_TOLERANCE,
        help="shapes within this much of the best WER compete on time and cost (default: %(default)s)",
    )
    sw.add_argument("--executor-memory", default="4g")
    sw.add_argument("--driver-memory", default="2g")
    d = AsrConfig()
    sw.add_argument("--model", default=settings.environment().model or d.model)
    sw.add_argument("--beam-size", type=int, default=d.beam_size)
    sw.add_argument("--compute-type", default="", help="CTranslate2 compute type (default: the stage's)")
    sr = sub.add_parser("sweep-report", help="sweep.json / sweep.png of a sweep whose shapes ran (the DAG's last step)")
    sr.add_argument("run", help="sweep location (its shapes/<id>/ and sample/refs.json)")
    sr.add_argument("--grid", required=True)
    sr.add_argument("--wer-tolerance", type=float, default=WER_TOLERANCE)


def check(a) -> None:
    """Every setting of this command line, before any Spark session (and so any cluster) starts."""
    if a.cmd in ("sweep", "sweep-report"):
        from .sweep import check_args

        check_args(a)
        return
    if a.cmd == "eval":
        settings.check_location(a.run, "run")
        settings.check_refs(a.refs)
        return
    if getattr(a, "out", None):
        settings.check_location(a.out, "--out")
    if getattr(a, "chunks_from", None):
        settings.check_location(a.chunks_from, "--chunks-from")
    if a.cmd == "run" or a.stage == "preprocess":
        settings.check_input(a.input, a.exclude)
        settings.check_out_apart(a.out, a.input)
        settings.parse_roles(a.roles)
        settings.max_input_bytes(a.max_input_mb)
        settings.max_input_seconds(a.max_input_minutes)
    if a.cmd == "run" and a.refs:
        settings.check_refs(a.refs)
    if a.cmd == "run" or a.stage == "transcribe":
        from .asr import resolve_model

        settings.check_asr(
            a.beam_size, a.compute_type, a.batch_size, a.cpu_threads, device=a.device, encoder_pad_s=a.encoder_pad_s
        )
        resolve_model(a.model)


def main(argv: list[str] | None = None) -> int:
    try:
        a = parser().parse_args(argv)  # defaults from the environment: a bad variable is a SettingsError too
        check(a)
    except SettingsError as e:
        print(f"airwave: error: {e}", file=sys.stderr)
        return settings.SETTINGS_ERROR_EXIT
    if a.cmd == "eval":
        from .evaluate import evaluate

        rep = evaluate(a.run, a.refs)
        _print_eval(rep)
        return 0
    if a.cmd in ("sweep", "sweep-report"):
        from . import sweep

        return sweep.main(a)
    from . import spark as sp
    from .jobs import postprocess, transcribe

    session = sp.session(f"airwave-{a.stage if a.cmd == 'stage' else 'run'}")
    try:
        if a.cmd == "stage":
            if a.stage == "preprocess":
                stats = _preprocess(session, a)
            elif a.stage == "transcribe":
                stats = transcribe.run(session, a.out, _asr_config(a), chunks_from=a.chunks_from)
            else:
                stats = postprocess.run(session, a.out)
                stats = {k: v for k, v in stats.items() if k not in ("per_call", "rejects")}
            print(json.dumps({"stage": a.stage, **stats}))
            return 0
        return _run_all(session, a)
    finally:
        sp.stop(session)


def _preprocess(session: Any, a: argparse.Namespace) -> dict[str, Any]:
    from .jobs import preprocess

    return preprocess.run(
        session,
        a.input,
        a.out,
        roles=a.roles,
        exclude=a.exclude,
        max_input_mb=a.max_input_mb,
        max_input_minutes=a.max_input_minutes,
    )


def _run_all(session, a) -> int:
    from . import storage
    from .jobs import postprocess, transcribe

    t0 = time.time()
    timings = {}

    def step(i, name, fn):
        print(f"[{i}/3] {name} ...", flush=True)
        t = time.time()
        out = fn()
        timings[name] = round(time.time() - t, 2)
        print(f"[{i}/3] {name} done in {timings[name]:.1f}s", flush=True)
        return out

    pre = step(
        1,
        "preprocess",
        lambda: _preprocess(session, a),
    )
    tr = step(2, "transcribe", lambda: transcribe.run(session, a.out, _asr_config(a)))
    rep = step(3, "postprocess", lambda: postprocess.run(session, a.out))
    wall = time.time() - t0
    audio = pre["channel_audio_s"]
    run = {
        "input": a.input,
        "out": storage.normalize(a.out),
        "wall_s": round(wall, 2),
        "stages_s": timings,
        "calls": rep["calls"],
        "rejected": rep["rejected"],
        "audio_s": pre["audio_s"],
        "channel_audio_s": audio,
        "speech_s": pre["speech_s"],
        "chunks": tr["chunks"],
        "workers": tr["workers"],
        "cpu_threads": tr["cpu_threads"],
        "model": tr["model"],
        "xrealtime": round(audio / wall, 2),
    }
    storage.write_text(storage.join(a.out, "run.json"), json.dumps(run, indent=2) + "\n")
    rows = [
        ("calls transcribed", rep["calls"]),
        ("  of which no speech", rep["no_speech"]),
        ("rejected inputs", rep["rejected"]),
        ("excluded files (--exclude)", pre["excluded"]),
        ("audio minutes", f"{pre['audio_s'] / 60:.2f}"),
        ("channel-audio minutes", f"{audio / 60:.2f}"),
        ("wall time", f"{wall:.1f}s"),
        ("x-realtime (channel audio / wall)", f"{audio / wall:.1f}x"),
        ("model", tr["model"]),
        ("workers x threads", f"{tr['workers']} x {tr['cpu_threads']}"),
    ]
    print("\n" + "\n".join(f"  {k:<36}{v}" for k, v in rows))
    for r in rep["rejects"]:
        print(f"  rejected: {r['call_id']}: {r['reason']} ({r['detail']})")
    print(f"\nTranscripts: {rep['outputs']}/  (JSON, SRT, VTT per call; report: {storage.join(a.out, 'report.json')})")
    if a.refs:
        from .evaluate import evaluate

        _print_eval(evaluate(a.out, a.refs))
    return 0


def _print_eval(rep: dict) -> None:
    o, ordered = rep["overall"], rep["ordered"]
    print(f"\nWER per channel: {o['wer']:.1%} over {o['words']} reference words ({rep['normaliser']})")
    if ordered["wer"] is not None:
        print(f"WER in turn order (channels merged by start time): {ordered['wer']:.1%} over {ordered['words']} words")
    print(f"  {'':<40} {'per channel':>11} {'in order':>9}")
    for c, s in rep["per_call"].items():
        in_order = rep["ordered_per_call"].get(c, {}).get("wer")
        print(f"  {c:<40} {_pct(s['wer']):>11} {_pct(in_order):>9}")


def _pct(x) -> str:
    return "-" if x is None else f"{x:.1%}"


if __name__ == "__main__":
    sys.exit(main())
