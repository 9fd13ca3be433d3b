"""Pareto sweep of Spark cluster shapes for the transcribe stage: `airwave sweep` and the spark_shape_sweep DAG.

No Airflow here: the CLI and the DAG run the same steps. A sweep location RUN holds (layout.py)

    RUN/sample/audio/...     the sample: the first N input files that have a reference (copied, names kept)
    RUN/sample/refs.json     their references
    RUN/preprocess/          the sample, preprocessed once
    RUN/shapes/<id>/         one transcribe stage per shape, reading RUN's chunks: transcribe/{segments,stats.json},
                             eval/report.json
    RUN/sweep.json           per-shape results, the frontier, the recommended shape
    RUN/sweep.png            wall time vs core-seconds, the frontier highlighted

A shape is executors x executor_cores x cpu_threads (threads per model = spark.task.cpus) x batch_size; its id
reads `e1c2t1b8`. Per shape:
- wall_s: the transcribe stage inside its own Spark application, from reading the chunks to published segments
  (models loaded on the way), as the stage records it in stats.json: the same number under Airflow and the CLI,
  without JVM start-up or Airflow scheduling;
- core_s = wall_s x executors x executor_cores: what the cluster holds while it runs (the cost);
- memory_mb: peak RSS of the stage's Python processes (every worker's peak, summed, plus the driver's; the JVM is
  not counted), worker_peak_mb: the largest worker's;
- wer: against the sample's references (airwave.evaluate).

Frontier: among the shapes whose WER is within `wer_tolerance` (absolute: 0.005 = half a point) of the best WER,
those that no other such shape beats on both wall time and core-seconds. Recommended: the cheapest (fewest
core-seconds) frontier shape whose wall time is within 10% (TIME_SLACK) of the fastest frontier shape's.
"""

from __future__ import annotations

import io
import itertools
import json
import subprocess
import sys
from dataclasses import asdict, dataclass
from typing import Any

from . import layout, settings, storage
from .layout import sample_audio, sample_refs  # noqa: F401  (sample_audio: also the DAG's)
from .settings import DEFAULT_EXCLUDE, REFERENCES_SCHEMA, SettingsError

GRID_KEYS = ("executors", "executor_cores", "cpu_threads", "batch_size")
# 2 cores: one or two cores, one model thread or two, two batch sizes (6 shapes). A bigger machine or the kind
# stack takes a bigger grid as a param; nothing here assumes this one.
DEFAULT_GRID = {"executors": [1], "executor_cores": [1, 2], "cpu_threads": [1, 2], "batch_size": [4, 8]}
WER_TOLERANCE = 0.005
TIME_SLACK = 0.10
MAX_SHAPES = 64  # each shape is a Spark application: a typo like [1, 2, 4, 8, 16, 32] x 4 keys is refused
RULE = (
    "frontier: shapes within wer_tolerance of the best WER that no other such shape beats on both wall_s and "
    "core_s; recommended: the frontier shape with the fewest core_s whose wall_s is within time_slack of the "
    "fastest frontier shape"
)
EXAMPLE = json.dumps(DEFAULT_GRID, separators=(",", ":"))


@dataclass(frozen=True)
class Shape:
    executors: int
    executor_cores: int
    cpu_threads: int
    batch_size: int

    @property
    def id(self) -> str:
        return f"e{self.executors}c{self.executor_cores}t{self.cpu_threads}b{self.batch_size}"

    @property
    def cores(self) -> int:
        return self.executors * self.executor_cores

    def spark_conf(self) -> dict[str, str]:
        # One model per task slot with cpu_threads threads: slots = executor cores / spark.task.cpus.
        return {"spark.task.cpus": str(self.cpu_threads)}


# -- the grid -----------------------------------------------------------------------------------------------------
def parse_grid(grid) -> dict[str, list[int]]:
    """A grid (dict or its JSON text): each of GRID_KEYS -> a non-empty list of positive ints (a bare int counts)."""
    if isinstance(grid, str):
        try:
            grid = json.loads(grid)
        except json.JSONDecodeError as e:
            raise SettingsError(f"grid is not JSON ({e}); e.g. {EXAMPLE}") from None
    if not isinstance(grid, dict):
        raise SettingsError(f"grid must be an object of lists, e.g. {EXAMPLE}; got {grid!r}")
    missing = [k for k in GRID_KEYS if k not in grid]
    unknown = sorted(set(grid) - set(GRID_KEYS))
    if missing or unknown:
        raise SettingsError(
            f"grid: {settings.key_problems(missing, unknown)} (keys: {', '.join(GRID_KEYS)}; e.g. {EXAMPLE})"
        )
    out = {}
    for k in GRID_KEYS:
        values = grid[k] if isinstance(grid[k], list) else [grid[k]]
        if not values:
            raise SettingsError(f"grid.{k} is empty: give at least one value, e.g. {EXAMPLE}")
        out[k] = sorted({settings.positive_int(f"grid.{k}", v) for v in values})
    return out


def expand(grid) -> list[Shape]:
    """Every valid shape of the grid, in grid order. A model cannot have more threads than its executor has cores,
    so shapes with cpu_threads > executor_cores are left out."""
    g = parse_grid(grid)
    shapes = [Shape(*combo) for combo in itertools.product(*(g[k] for k in GRID_KEYS)) if combo[2] <= combo[1]]
    if not shapes:
        raise SettingsError(
            f"grid has no valid shape: cpu_threads (threads per model = spark.task.cpus) must be <= "
            f"executor_cores, got cpu_threads {g['cpu_threads']} and executor_cores "
            f"{g['executor_cores']}"
        )
    if len(shapes) > MAX_SHAPES:
        raise SettingsError(
            f"grid has {len(shapes)} shapes, more than {MAX_SHAPES} Spark applications; sweep fewer values"
        )
    return shapes


# -- settings -----------------------------------------------------------------------------------------------------
def check(
    *,
    input: str,
    out: str,
    refs: str,
    sample,
    grid,
    wer_tolerance=WER_TOLERANCE,
    executor_memory="4g",
    driver_memory="2g",
    model: str = "",
    beam_size=1,
    compute_type="int8",
    check_model: bool = True,
) -> list[Shape]:
    """Every setting of a sweep, before any Spark cluster starts (SettingsError). Returns the shapes."""
    settings.check_input(input)
    settings.check_out_apart(out, input)
    refs_doc = settings.check_refs(refs)
    settings.positive_int("sample", sample, minimum=0)
    shapes = expand(grid)
    try:
        tol = float(wer_tolerance)
    except (TypeError, ValueError):
        tol = -1.0
    if not 0 <= tol < 1:
        raise SettingsError(
            f"wer_tolerance must be a WER difference in [0, 1) (0.005 = half a point), got {wer_tolerance!r}"
        )
    settings.check_memory("executor_memory", executor_memory)
    settings.check_memory("driver_memory", driver_memory)
    settings.check_asr(beam_size or 1, compute_type)
    if not _referenced(input, refs_doc):
        raise SettingsError(
            f"input {input} has no file with a reference in {refs}: a sweep scores every shape "
            "against references; point refs at the input's manifest"
        )
    if check_model and model:
        from .asr import resolve_model

        resolve_model(model)
    return shapes


def check_args(a) -> None:
    """`airwave sweep` / `airwave sweep-report` command lines (cli.check)."""
    if a.cmd == "sweep-report":
        settings.check_location(a.run, "run")
        expand(a.grid)
        return
    check(input=a.input, out=a.out, refs=a.refs, sample=a.sample, **_options(a))


def _options(a) -> dict[str, Any]:
    """The settings `airwave sweep` shares between its check and its run."""
    keys = ("grid", "wer_tolerance", "executor_memory", "driver_memory", "model", "beam_size", "compute_type")
    return {k: getattr(a, k) for k in keys}


def _referenced(input_uri: str, refs: dict, exclude: str = DEFAULT_EXCLUDE) -> list:
    """(call id, entry) of the readable input files that have a reference, sorted by call id."""
    root = storage.normalize(input_uri)
    pats = settings.exclude_patterns(exclude)
    found = []
    for e in storage.list_inputs(root):
        rel = storage.relative(e.uri, root)
        if not e.reason and rel in refs.get("calls", {}) and not settings.is_excluded(rel, pats):
            found.append((rel, e))
    return sorted(found, key=lambda x: x[0])


# -- steps --------------------------------------------------------------------------------------------------------
def take_sample(input_uri: str, run: str, refs_uri: str, n: int) -> dict:
    """Copy the first `n` input files that have a reference (0: all of them) to RUN/sample/audio/, their references
    to RUN/sample/refs.json. Replaces a previous sample whole."""
    refs = settings.check_refs(refs_uri)
    picked = _referenced(input_uri, refs)
    if int(n) > 0:
        picked = picked[: int(n)]
    if not picked:
        raise SettingsError(f"input {input_uri} has no file with a reference in {refs_uri}")
    run = storage.normalize(run)
    storage.remove_tree(layout.sample(run))
    for rel, e in picked:
        storage.write_bytes(storage.join(sample_audio(run), rel), storage.read_bytes(e.uri))
    doc = {"schema": REFERENCES_SCHEMA, "calls": {rel: refs["calls"][rel] for rel, _ in picked}}
    storage.write_text(sample_refs(run), json.dumps(doc, indent=2) + "\n")
    return {
        "calls": [rel for rel, _ in picked],
        "bytes": sum(e.size for _, e in picked),
        "audio": sample_audio(run),
        "refs": sample_refs(run),
    }


def stage_args(run: str, shape: Shape, model="", beam_size="", compute_type="") -> list[str]:
    """The airwave command line of one shape: transcribe RUN's chunks into RUN/shapes/<id>/ (empty options are
    dropped by the operator and by run_local: the CLI default)."""
    return [
        "stage",
        "transcribe",
        "--out",
        layout.shape_run(run, shape.id),
        "--chunks-from",
        run,
        "--cpu-threads",
        str(shape.cpu_threads),
        "--batch-size",
        str(shape.batch_size),
        "--model",
        str(model or ""),
        "--beam-size",
        str(beam_size or ""),
        "--compute-type",
        str(compute_type or ""),
    ]


def operator_kwargs(
    run: str, shapes: list[Shape], *, executor_memory: str, driver_memory: str, model="", beam_size="", compute_type=""
) -> list[dict]:
    """One SparkClusterOperator's arguments per shape (the DAG's expand_kwargs)."""
    return [
        {
            "executors": s.executors,
            "executor_cores": s.executor_cores,
            "executor_memory": executor_memory,
            "driver_memory": driver_memory,
            "spark_conf": s.spark_conf(),
            "application_args": stage_args(run, s, model, beam_size, compute_type),
        }
        for s in shapes
    ]


def collect(run: str, shapes: list[Shape]) -> list[dict]:
    """Per shape: its stage's stats.json and its WER against the sample's references."""
    from .evaluate import evaluate

    rows = []
    for s in shapes:
        out = layout.shape_run(run, s.id)
        layout.require(out, "transcribe")
        stats = json.loads(storage.read_bytes(layout.transcribe_stats(out)))
        overall = evaluate(out, sample_refs(run))["overall"]
        mem = stats["memory_mb"]
        rows.append(
            {
                "shape": s.id,
                **asdict(s),
                "wall_s": stats["wall_s"],
                "core_s": round(stats["wall_s"] * s.cores, 2),
                "memory_mb": round(mem["workers_sum"] + mem["driver"], 1),
                "worker_peak_mb": mem["worker_peak"],
                "worker_processes": mem["worker_processes"],
                "task_slots": stats["workers"],
                "wer": overall["wer"],
                "words": overall["words"],
                "chunks": stats["chunks"],
            }
        )
    return rows


def frontier(results: list[dict], wer_tolerance: float = WER_TOLERANCE) -> list[dict]:
    """The Pareto-optimal shapes in (wall_s, core_s) among those within `wer_tolerance` of the best WER, fastest
    first. Shapes without a WER (nothing to score) never qualify."""
    scored = [r for r in results if r.get("wer") is not None]
    if not scored:
        return []
    best = min(r["wer"] for r in scored)
    eligible = [r for r in scored if r["wer"] <= best + wer_tolerance + 1e-9]
    front = [r for r in eligible if not any(_dominates(q, r) for q in eligible)]
    return sorted(front, key=lambda r: (r["wall_s"], r["core_s"], r["shape"]))


def _dominates(q: dict, r: dict) -> bool:
    return (
        q["wall_s"] <= r["wall_s"]
        and q["core_s"] <= r["core_s"]
        and (q["wall_s"] < r["wall_s"] or q["core_s"] < r["core_s"])
    )


def recommend(front: list[dict], slack: float = TIME_SLACK) -> dict | None:
    """The cheapest frontier shape whose wall time is within `slack` of the fastest one's."""
    if not front:
        return None
    fastest = min(r["wall_s"] for r in front)
    near = [r for r in front if r["wall_s"] <= fastest * (1 + slack) + 1e-9]
    return min(near, key=lambda r: (r["core_s"], r["wall_s"], r["shape"]))


def report(run: str, grid, wer_tolerance: float = WER_TOLERANCE) -> dict:
    """Collect every shape of the grid, compute the frontier, write RUN/sweep.json and RUN/sweep.png."""
    run = storage.normalize(run)
    shapes = expand(grid)
    rows = collect(run, shapes)
    front = frontier(rows, wer_tolerance)
    best = recommend(front)
    best_wer = min((r["wer"] for r in rows if r["wer"] is not None), default=None)
    ids = {r["shape"] for r in front}
    for r in rows:
        # best_wer is None only when every row's wer is: then no row is eligible
        r["eligible"] = best_wer is not None and r["wer"] is not None and r["wer"] <= best_wer + wer_tolerance + 1e-9
        r["frontier"] = r["shape"] in ids
    audio_s = _sample_audio_s(run)
    for r in rows:
        r["xrealtime"] = round(audio_s / r["wall_s"], 2) if r["wall_s"] else None
    sample = json.loads(storage.read_bytes(sample_refs(run)))
    doc = {
        "schema": "airwave.sweep",
        "schema_version": "1.0",
        "run": run,
        "grid": parse_grid(grid),
        "sample": {"calls": sorted(sample["calls"]), "channel_audio_s": round(audio_s, 2)},
        "wer_tolerance": wer_tolerance,
        "time_slack": TIME_SLACK,
        "rule": RULE,
        "shapes": rows,
        "frontier": [r["shape"] for r in front],
        "recommended": best["shape"] if best else None,
    }
    storage.write_text(layout.sweep_json(run), json.dumps(doc, indent=2) + "\n")
    storage.write_bytes(layout.sweep_png(run), plot(doc))
    return doc


def _sample_audio_s(run: str) -> float:
    """Channel-audio seconds of the sample (from the preprocess stage's per-call table)."""
    t = storage.read_table(layout.calls_table(run), ["duration_s", "source_channels"])
    return sum((r["duration_s"] or 0) * (r["source_channels"] or 0) for r in t)


def plot(doc: dict) -> bytes:
    """PNG: wall time vs core-seconds per shape, the frontier joined, the recommended shape starred."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.2), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    rows = doc["shapes"]
    tol = doc["wer_tolerance"] * 100
    # (label, rows, marker, color, size, zorder)
    groups: list[tuple[str, list[dict[str, Any]], str, str, float, float]] = [
        ("frontier", [r for r in rows if r["frontier"]], "o", "C0", 40, 3),
        (
            f"dominated (WER within {tol:g} pt of best)",
            [r for r in rows if r["eligible"] and not r["frontier"]],
            "o",
            "0.6",
            30,
            2,
        ),
        (f"WER over {tol:g} pt above best", [r for r in rows if not r["eligible"]], "x", "C3", 30, 2),
    ]
    for label, rs, marker, color, size, zorder in groups:
        if rs:
            xs, ys = [r["wall_s"] for r in rs], [r["core_s"] for r in rs]
            ax.scatter(xs, ys, label=label, marker=marker, color=color, s=size, zorder=zorder)
    front = sorted((r for r in rows if r["frontier"]), key=lambda r: r["wall_s"])
    ax.plot([r["wall_s"] for r in front], [r["core_s"] for r in front], color="C0", lw=1, zorder=1)
    best = next((r for r in rows if r["shape"] == doc["recommended"]), None)
    if best:
        ax.scatter(
            [best["wall_s"]],
            [best["core_s"]],
            marker="*",
            s=260,
            facecolors="none",
            edgecolors="C1",
            linewidths=1.5,
            zorder=4,
            label=f"recommended: {best['shape']}",
        )
    ax.set_xlabel("wall time of the transcribe stage (s)")
    ax.set_ylabel("core-seconds (wall x executors x cores)")
    s = doc["sample"]
    ax.set_title(
        f"Cluster shapes: {len(s['calls'])} calls, {s['channel_audio_s'] / 60:.1f} min of channel audio "
        "(e=executors c=cores t=threads b=batch)",
        fontsize=8,
    )
    ax.grid(alpha=0.3)
    ax.set_xlim(0, max(r["wall_s"] for r in rows) * 1.3)  # from 0: distances read as ratios; room for labels
    ax.set_ylim(0, max(r["core_s"] for r in rows) * 1.2)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, frameon=False)
    fig.tight_layout()
    _label(ax, rows)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _label(ax, rows: list[dict]) -> None:
    """Each point's shape id and WER, beside it where no earlier label is (close shapes are common)."""
    pt = 72 / ax.figure.dpi  # pixels -> points
    placed: list[tuple] = []
    for r in sorted(rows, key=lambda r: (-r["frontier"], r["wall_s"])):
        text = f"{r['shape']} ({r['wer']:.1%})" if r["wer"] is not None else r["shape"]
        x, y = (v * pt for v in ax.transData.transform((r["wall_s"], r["core_s"])))
        w, h = 3.6 * len(text), 8  # fontsize 7
        for dx, dy in ((4, 2), (4, -10), (-4 - w, 2), (-4 - w, -10), (4, 11), (4, -19), (-4 - w, 11), (-4 - w, -19)):
            box = (x + dx, y + dy, x + dx + w, y + dy + h)
            if not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in placed):
                break
        placed.append(box)
        ax.annotate(text, (r["wall_s"], r["core_s"]), textcoords="offset points", xytext=(dx, dy), fontsize=7)


def table(doc: dict) -> str:
    head = (
        f"  {'shape':<12}{'exec x cores':>13}{'threads':>8}{'batch':>6}{'wall s':>8}{'core-s':>8}{'x-rt':>7}"
        f"{'worker MB':>10}{'total MB':>9}{'WER':>7}"
    )
    lines = [head]
    for r in doc["shapes"]:
        mark = " <- recommended" if r["shape"] == doc["recommended"] else (" frontier" if r["frontier"] else "")
        wer = "-" if r["wer"] is None else f"{r['wer']:.1%}"
        lines.append(
            f"  {r['shape']:<12}{r['executors']:>7} x {r['executor_cores']:<3}{r['cpu_threads']:>8}"
            f"{r['batch_size']:>6}{r['wall_s']:>8.1f}{r['core_s']:>8.1f}{r['xrealtime'] or 0:>7.1f}"
            f"{r['worker_peak_mb']:>10.0f}{r['memory_mb']:>9.0f}{wer:>7}{mark}"
        )
    return "\n".join(lines)


def summary(doc: dict) -> str:
    s = doc["sample"]
    return (
        f"\nsample: {len(s['calls'])} calls, {s['channel_audio_s'] / 60:.2f} min of channel audio\n"
        f"{table(doc)}\n\nfrontier (WER within {doc['wer_tolerance'] * 100:g} pt of best): "
        f"{', '.join(doc['frontier']) or '-'}\nrecommended: {doc['recommended'] or '-'} (the cheapest frontier "
        f"shape within {doc['time_slack']:.0%} of the fastest's wall time)\n"
        f"results: {layout.sweep_json(doc['run'])}  plot: {layout.sweep_png(doc['run'])}"
    )


# -- without Airflow ----------------------------------------------------------------------------------------------
class SweepError(RuntimeError):
    """A shape's (or the preprocess's) Spark application failed."""


def run_local(
    input_uri: str,
    out: str,
    refs: str,
    *,
    grid,
    sample: int = 2,
    wer_tolerance: float = WER_TOLERANCE,
    executor_memory: str = "4g",
    driver_memory: str = "2g",
    model="",
    beam_size="",
    compute_type="",
    log=lambda msg: print(msg, flush=True),
) -> dict:
    """The sweep without Airflow: each step as its own `spark-submit --master local[N]`, as the operator's local
    backend runs it (the same argv and conf builders), then the same report."""
    from . import spark
    from .cluster.specs import ClusterShape

    shapes = expand(grid)
    run = storage.normalize(out)
    s = take_sample(input_uri, run, refs, sample)
    log(f"sample: {len(s['calls'])} files with references -> {s['audio']}")
    log("preprocess ...")
    _submit(
        ["stage", "preprocess", "--input", s["audio"], "--out", run],
        ClusterShape(1, spark.local_cores(), "2g", driver_memory),
        {},
        "preprocess",
    )
    for i, shape in enumerate(shapes, 1):
        _submit(
            stage_args(run, shape, model, beam_size, compute_type),
            ClusterShape(shape.executors, shape.executor_cores, executor_memory, driver_memory),
            shape.spark_conf(),
            shape.id,
        )
        stats = json.loads(storage.read_bytes(layout.transcribe_stats(layout.shape_run(run, shape.id))))
        log(
            f"[{i}/{len(shapes)}] {shape.id}: transcribe {stats['wall_s']:.1f}s on {stats['workers']} worker(s) x "
            f"{stats['cpu_threads']} thread(s)"
        )
    return report(run, grid, wer_tolerance)


def _submit(args: list[str], cluster, conf: dict[str, str], name: str) -> None:
    from . import spark
    from .cluster import specs

    option, archive = spark.class_archive()  # as the operator's local backend
    cmd = specs.spark_submit_command(
        specs.app_file(),
        specs.drop_empty_options(args),
        master=specs.local_master(cluster),
        conf=spark.add_driver_java_option(specs.local_spark_conf(cluster, conf), option),
        name=f"airwave-sweep-{name}",
        spark_submit=specs.spark_submit_path(),
    )
    r = subprocess.run(
        cmd, env=specs.local_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace"
    )
    if archive is not None:
        spark.publish_archive(archive, r.returncode == 0)
    if r.returncode != 0:
        raise SweepError(f"{name}: spark-submit exited with {r.returncode}\n{r.stdout[-4000:]}")


def main(a) -> int:
    """`airwave sweep` / `airwave sweep-report` (settings already checked by cli.check)."""
    if a.cmd == "sweep-report":
        doc = report(a.run, a.grid, a.wer_tolerance)
    else:
        try:
            doc = run_local(a.input, a.out, a.refs, sample=a.sample, **_options(a))
        except SweepError as e:
            print(f"airwave: error: {e}", file=sys.stderr, flush=True)
            return 1
    print(summary(doc), flush=True)
    return 0
