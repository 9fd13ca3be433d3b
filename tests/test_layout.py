"""The run layout, its done-markers, and the stage schemas (no Spark started here)."""

import dataclasses

import pytest

from airwave import layout, schemas
from airwave.records import CallSummary


def test_every_path_of_a_run():
    run = "s3a://b/runs/r1"
    assert [layout.chunks(run), layout.calls_table(run), layout.rejects(run)] == [
        f"{run}/preprocess/chunks",
        f"{run}/preprocess/calls",
        f"{run}/preprocess/rejects",
    ]
    assert [layout.segments(run), layout.transcribe_stats(run)] == [
        f"{run}/transcribe/segments",
        f"{run}/transcribe/stats.json",
    ]
    assert [layout.transcripts(run), layout.transcript(run, "sub/a", "srt"), layout.summary(run)] == [
        f"{run}/calls",
        f"{run}/calls/sub/a.srt",
        f"{run}/summary",
    ]
    assert [layout.report(run), layout.eval_report(run), layout.run_json(run)] == [
        f"{run}/report.json",
        f"{run}/eval/report.json",
        f"{run}/run.json",
    ]
    assert [layout.marker(run, s) for s in layout.STAGES] == [
        f"{run}/preprocess/_SUCCESS",
        f"{run}/transcribe/_SUCCESS",
        f"{run}/calls/_SUCCESS",
    ]
    # a sweep location; plain joins, so Airflow templates pass through untouched
    tpl = "{{ params.out }}"
    assert [layout.sample_audio(tpl), layout.sample_refs(tpl), layout.shape_run(tpl, "e1c2t1b8")] == [
        f"{tpl}/sample/audio",
        f"{tpl}/sample/refs.json",
        f"{tpl}/shapes/e1c2t1b8",
    ]
    assert [layout.sweep_json(run), layout.sweep_png(run)] == [f"{run}/sweep.json", f"{run}/sweep.png"]


def test_a_stage_withdraws_its_own_marker_every_later_one_and_the_reports(tmp_path):
    run = str(tmp_path / "run")
    for stage in layout.STAGES:
        layout.publish(run, stage)
    (tmp_path / "run" / "report.json").write_text("{}")
    (tmp_path / "run" / "eval").mkdir()
    (tmp_path / "run" / "eval" / "report.json").write_text("{}")
    layout.unpublish(run, "transcribe")
    assert [layout.published(run, s) for s in layout.STAGES] == [True, False, False]
    assert not (tmp_path / "run" / "report.json").exists() and not (tmp_path / "run" / "eval" / "report.json").exists()
    layout.require(run, "preprocess")
    with pytest.raises(SystemExit, match=r"the transcribe stage has not finished \(no transcribe/_SUCCESS\)"):
        layout.require(run, "transcribe")


def test_stage_schemas_fit_together():
    assert set(schemas.names(schemas.REJECTS)) <= set(schemas.names(schemas.CALLS))
    assert schemas.names(schemas.CHUNKS)[:4] == schemas.names(schemas.SEGMENTS)[:2] + ["role", "chunk_idx"]
    assert schemas.names(schemas.SUMMARY) == [f.name for f in dataclasses.fields(CallSummary)]
