"""The shape sweep's pure parts: the grid, the frontier, the recommendation, the plot, the settings checks."""

import json

import pytest

from airwave import sweep
from airwave.cluster import specs
from airwave.settings import SettingsError
from testlib import SAMPLE


def test_expand_is_the_product_without_more_threads_than_cores():
    shapes = sweep.expand({"executors": [2, 1], "executor_cores": [1, 2], "cpu_threads": [1, 2], "batch_size": 8})
    assert [s.id for s in shapes] == ["e1c1t1b8", "e1c2t1b8", "e1c2t2b8", "e2c1t1b8", "e2c2t1b8", "e2c2t2b8"]
    s = shapes[-1]
    assert (s.cores, s.spark_conf()) == (4, {"spark.task.cpus": "2"})
    # JSON text (the CLI's --grid) and digit strings (templated params) work the same way.
    assert sweep.expand('{"executors": ["1"], "executor_cores": [4], "cpu_threads": [4, 2], "batch_size": [16]}') == [
        sweep.Shape(1, 4, 2, 16),
        sweep.Shape(1, 4, 4, 16),
    ]


@pytest.mark.parametrize(
    "grid, says",
    [
        ("{executors: [1]}", "grid is not JSON"),
        ([1, 2], "grid must be an object"),
        ({"executors": [1], "executor_cores": [1], "cpu_threads": [1]}, "missing batch_size"),
        ({**sweep.DEFAULT_GRID, "memory": ["2g"]}, "unknown memory"),
        ({**sweep.DEFAULT_GRID, "batch_size": []}, "grid.batch_size is empty"),
        ({**sweep.DEFAULT_GRID, "executors": [0]}, "grid.executors must be an integer >= 1"),
        ({**sweep.DEFAULT_GRID, "executor_cores": [1.5]}, "grid.executor_cores must be an integer >= 1"),
        ({**sweep.DEFAULT_GRID, "executor_cores": [1], "cpu_threads": [2]}, "cpu_threads (threads per model"),
        (
            {
                "executors": list(range(1, 9)),
                "executor_cores": [1, 2, 4, 8],
                "cpu_threads": [1],
                "batch_size": [4, 8, 16],
            },
            "96 shapes, more than 64",
        ),
    ],
)
def test_a_bad_grid_is_a_settings_error(grid, says):
    with pytest.raises(SettingsError) as e:
        sweep.expand(grid)
    assert says in str(e.value)


def row(shape, wall, cores, wer):
    return {"shape": shape, "wall_s": wall, "core_s": wall * cores, "wer": wer}


def test_frontier_is_pareto_among_shapes_near_the_best_wer():
    rows = [
        row("slow1", 100, 1, 0.080),
        row("fast2", 60, 2, 0.080),
        row("fast4", 40, 4, 0.082),
        row("waste", 70, 4, 0.080),  # slower and dearer than fast2: dominated
        row("tie", 60, 2, 0.081),  # equal to fast2 on both: neither dominates the other
        row("cheap_bad", 50, 1, 0.200),
    ]  # the cheapest, but its WER is out of the race
    front = sweep.frontier(rows, wer_tolerance=0.005)
    assert [r["shape"] for r in front] == ["fast4", "fast2", "tie", "slow1"]
    assert [r["shape"] for r in sweep.frontier(rows, wer_tolerance=0.0)] == ["fast2", "slow1"]
    assert [r["shape"] for r in sweep.frontier(rows, wer_tolerance=1.0)] == ["fast4", "cheap_bad"]
    assert sweep.frontier([{"shape": "x", "wall_s": 1, "core_s": 1, "wer": None}]) == []


def test_recommend_takes_the_cheapest_shape_within_ten_percent_of_the_fastest():
    front = [row("fast4", 40, 4, 0.08), row("fast2", 43, 2, 0.08), row("slow1", 80, 1, 0.08)]
    assert sweep.recommend(front)["shape"] == "fast2"  # 43 s <= 44 s, half the core-seconds
    assert sweep.recommend(front, slack=0.05)["shape"] == "fast4"
    assert sweep.recommend(front, slack=2.0)["shape"] == "slow1"
    assert sweep.recommend([]) is None


def test_plot_and_table_of_a_sweep():
    rows = [
        {
            **row(s, w, c, wer),
            "executors": 1,
            "executor_cores": c,
            "cpu_threads": 1,
            "batch_size": 8,
            "worker_peak_mb": 350.0,
            "memory_mb": 550.0 * c,
            "xrealtime": 60 / w,
        }
        for s, w, c, wer in [
            ("e1c1t1b8", 20, 1, 0.05),
            ("e1c2t1b8", 12, 2, 0.05),
            ("e1c2t1b4", 15, 2, 0.05),
            ("e1c2t2b8", 14, 2, 0.2),
        ]
    ]
    front = sweep.frontier(rows)
    ids = {r["shape"] for r in front}
    for r in rows:
        r.update(frontier=r["shape"] in ids, eligible=r["wer"] < 0.1)
    doc = {
        "shapes": rows,
        "frontier": [r["shape"] for r in front],
        "recommended": sweep.recommend(front)["shape"],
        "wer_tolerance": 0.005,
        "time_slack": 0.1,
        "run": "file:///x",
        "sample": {"calls": ["a.wav"], "channel_audio_s": 60.0},
    }
    assert doc["frontier"] == ["e1c2t1b8", "e1c1t1b8"] and doc["recommended"] == "e1c2t1b8"
    png = sweep.plot(doc)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) < 100_000
    text = sweep.summary(doc)
    assert "e1c2t1b8" in text and "<- recommended" in text and "recommended: e1c2t1b8" in text


def test_the_operator_and_the_cli_run_the_same_command_line_per_shape():
    s = sweep.Shape(2, 4, 2, 16)
    (kw,) = sweep.operator_kwargs("s3a://runs/runs/r1", [s], executor_memory="6g", driver_memory="2g", model="")
    assert kw == {
        "executors": 2,
        "executor_cores": 4,
        "executor_memory": "6g",
        "driver_memory": "2g",
        "spark_conf": {"spark.task.cpus": "2"},
        "application_args": sweep.stage_args("s3a://runs/runs/r1", s),
    }
    assert specs.drop_empty_options(kw["application_args"]) == [
        "stage",
        "transcribe",
        "--out",
        "s3a://runs/runs/r1/shapes/e2c4t2b16",
        "--chunks-from",
        "s3a://runs/runs/r1",
        "--cpu-threads",
        "2",
        "--batch-size",
        "16",
    ]
    # Mapped shapes share a task id and run side by side on Kubernetes: their executor pods must not clash.
    run = "manual__2026-01-01T00:00:00+00:00"
    prefixes = {specs.pod_name_prefix("transcribe_shape", run, 1, i) for i in range(3)}
    assert len(prefixes) == 3
    assert specs.pod_name_prefix("t", run, 1, -1) == specs.pod_name_prefix("t", run, 1)  # unmapped: unchanged


def test_settings_fail_before_any_cluster(tmp_path):
    good = dict(
        input=str(SAMPLE),
        out=str(tmp_path / "out"),
        refs=str(SAMPLE / "manifest.json"),
        sample=1,
        grid=sweep.DEFAULT_GRID,
    )
    assert len(sweep.check(**good, check_model=False)) == 6
    (tmp_path / "calls").mkdir()
    (tmp_path / "calls" / "other.wav").write_bytes((SAMPLE / "silence.wav").read_bytes())
    for change, says in [
        ({"grid": {"executors": [1]}}, "grid: missing executor_cores"),
        ({"sample": -1}, "sample must be an integer >= 0"),
        ({"wer_tolerance": "half"}, "wer_tolerance must be"),
        ({"executor_memory": "100m"}, "executor_memory must be Spark memory"),
        ({"refs": str(tmp_path / "none.json")}, "no such file"),
        ({"out": str(SAMPLE / "out")}, "inside the input"),
        ({"input": str(tmp_path / "calls")}, "has no file with a reference"),
    ]:
        with pytest.raises(SettingsError) as e:
            sweep.check(**{**good, **change}, check_model=False)
        assert says in str(e.value), (change, str(e.value))


def test_take_sample_copies_the_first_referenced_files_and_their_references(tmp_path):
    refs = json.loads((SAMPLE / "manifest.json").read_text())["calls"]
    s = sweep.take_sample(str(SAMPLE), str(tmp_path / "run"), str(SAMPLE / "manifest.json"), 2)
    first = sorted(refs)[:2]
    assert s["calls"] == first
    assert sorted(p.name for p in (tmp_path / "run" / "sample" / "audio").iterdir()) == first
    doc = json.loads((tmp_path / "run" / "sample" / "refs.json").read_text())
    assert doc["calls"] == {c: refs[c] for c in first}
    # A smaller sample replaces the previous one whole.
    sweep.take_sample(str(SAMPLE), str(tmp_path / "run"), str(SAMPLE / "manifest.json"), 1)
    assert [p.name for p in (tmp_path / "run" / "sample" / "audio").iterdir()] == first[:1]
