"""Where everything of a run lives, and how a stage marks its output done. Every stage, `airwave eval` and the
shape sweep take their paths from here; storage.py does the I/O.

    RUN/preprocess/{chunks,calls,rejects}/   Parquet (schemas.CHUNKS, CALLS, REJECTS)
    RUN/preprocess/_SUCCESS
    RUN/transcribe/segments/                 Parquet (schemas.SEGMENTS)
    RUN/transcribe/stats.json                the stage's wall time and memory
    RUN/transcribe/_SUCCESS
    RUN/calls/<name>.{json,srt,vtt}          per-call transcripts
    RUN/calls/_SUCCESS
    RUN/summary/                             Parquet (schemas.SUMMARY)
    RUN/report.json, RUN/eval/report.json    run reports, written after the last marker
    RUN/run.json                             timings of `airwave run`

A sweep location is a run too (its preprocess), plus its sample and one run per shape (see sweep.py).

Each stage ends by writing its done-marker; a reader trusts a stage's output only when that marker exists. A stage
that starts first removes its own marker and every later stage's (and the run reports built from them), so a stage
killed half-way, or a rerun killed half-way, never leaves outputs that look complete next to a stale marker.

Path builders are plain joins (no normalisation), so they also build Airflow templates ("{{ ... }}/shapes/x").
"""

from __future__ import annotations

from . import storage

STAGES = ("preprocess", "transcribe", "postprocess")
MARKER = "_SUCCESS"  # Hadoop's name for "this folder is complete"; retention deletes markers first
# The folder each stage owns, and so where its marker lives.
STAGE_DIRS = {"preprocess": "preprocess", "transcribe": "transcribe", "postprocess": "calls"}


# -- preprocess ---------------------------------------------------------------------------------------------------
def chunks(run: str) -> str:
    return storage.join(run, "preprocess", "chunks")


def calls_table(run: str) -> str:
    """One row per input object (the preprocess stage's view of a call); not the transcripts (see `transcripts`)."""
    return storage.join(run, "preprocess", "calls")


def rejects(run: str) -> str:
    return storage.join(run, "preprocess", "rejects")


# -- transcribe ---------------------------------------------------------------------------------------------------
def segments(run: str) -> str:
    return storage.join(run, "transcribe", "segments")


def transcribe_stats(run: str) -> str:
    return storage.join(run, "transcribe", "stats.json")


# -- postprocess --------------------------------------------------------------------------------------------------
def transcripts(run: str) -> str:
    return storage.join(run, STAGE_DIRS["postprocess"])


def transcript(run: str, name: str, ext: str) -> str:
    """RUN/calls/<name>.<ext> ('sub/a', 'srt' -> RUN/calls/sub/a.srt)."""
    return storage.join(transcripts(run), f"{name}.{ext}")


def summary(run: str) -> str:
    return storage.join(run, "summary")


def report(run: str) -> str:
    return storage.join(run, "report.json")


def eval_report(run: str) -> str:
    return storage.join(run, "eval", "report.json")


def run_json(run: str) -> str:
    return storage.join(run, "run.json")


# Written after the last marker; withdrawn with any of them.
REPORTS = (report, eval_report)


# -- a sweep location ---------------------------------------------------------------------------------------------
def sample(run: str) -> str:
    return storage.join(run, "sample")


def sample_audio(run: str) -> str:
    return storage.join(sample(run), "audio")


def sample_refs(run: str) -> str:
    return storage.join(sample(run), "refs.json")


def shape_run(run: str, shape_id: str) -> str:
    """The run location of one shape's transcribe stage (it reads the sweep's own preprocess)."""
    return storage.join(run, "shapes", shape_id)


def sweep_json(run: str) -> str:
    return storage.join(run, "sweep.json")


def sweep_png(run: str) -> str:
    return storage.join(run, "sweep.png")


# -- done-markers -------------------------------------------------------------------------------------------------
def marker(run: str, stage: str) -> str:
    return storage.join(run, STAGE_DIRS[stage], MARKER)


def unpublish(run: str, stage: str) -> None:
    """Withdraw the reports, every later stage's marker and `stage`'s: call before replacing its output. In the
    reverse of the order they are written, so a stage killed part-way leaves no report or later marker standing on
    an earlier marker it has already removed."""
    base = storage.normalize(run)
    for report_of in REPORTS:
        storage.remove_tree(report_of(base))
    for later in reversed(STAGES[STAGES.index(stage) :]):
        storage.remove_tree(marker(base, later))


def publish(run: str, stage: str) -> None:
    storage.write_text(marker(storage.normalize(run), stage), "")


def published(run: str, stage: str) -> bool:
    return storage.exists(marker(storage.normalize(run), stage))


def require(run: str, stage: str) -> None:
    """Refuse to read a stage's output that its stage did not finish (SystemExit: a clear message, exit 1)."""
    if not published(run, stage):
        raise SystemExit(
            f"{storage.normalize(run)}: the {stage} stage has not finished (no "
            f"{STAGE_DIRS[stage]}/{MARKER}): run it first; its partial output is never read"
        )
