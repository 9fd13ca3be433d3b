"""The three Spark stages, and how a run's outputs are published.

Each stage ends by writing its done-marker; a reader trusts a stage's output only when that marker exists. A stage
that starts first removes its own marker and every later stage's (and the run reports built from them), so a stage
killed half-way, or a rerun killed half-way, never leaves outputs that look complete next to a stale marker.
"""
from __future__ import annotations

from .. import storage

STAGES = ("preprocess", "transcribe", "postprocess")
MARKERS = {"preprocess": "preprocess/_SUCCESS", "transcribe": "transcribe/_SUCCESS", "postprocess": "calls/_SUCCESS"}
# Written after the last marker; removed with it.
REPORTS = ("report.json", "eval/report.json")


def unpublish(run: str, stage: str) -> None:
    base = storage.normalize(run)
    for later in STAGES[STAGES.index(stage):]:
        storage.remove_tree(storage.join(base, MARKERS[later]))
    for report in REPORTS:
        storage.remove_tree(storage.join(base, report))


def publish(run: str, stage: str) -> None:
    storage.write_text(storage.join(storage.normalize(run), MARKERS[stage]), "")


def published(run: str, stage: str) -> bool:
    return storage.exists(storage.join(storage.normalize(run), MARKERS[stage]))


def require(run: str, stage: str) -> None:
    """Refuse to read a stage's output that its stage did not finish (SystemExit: a clear message, exit 1)."""
    if not published(run, stage):
        raise SystemExit(f"{storage.normalize(run)}: the {stage} stage has not finished (no {MARKERS[stage]}): "
                         f"run it first; its partial output is never read")
