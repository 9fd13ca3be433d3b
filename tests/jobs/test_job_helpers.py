"""Helpers of the Spark jobs (pure, but for the one test marked slow, which starts Spark)."""

import pytest

from airwave import spark as sp
from airwave.audio import DEFAULT_ROLES, parse_roles
from airwave.jobs import ByKey, deal
from airwave.jobs.postprocess import build_call, output_names
from airwave.jobs.preprocess import process_file, relative_id
from airwave.jobs.transcribe import assign_partitions
from testlib import SAMPLE


def test_call_ids_are_paths_relative_to_the_input():
    assert relative_id("file:/data/in/sub/a.wav", "/data/in") == "sub/a.wav"
    assert relative_id("s3a://raw/calls/2026/x.mp3", "s3://raw/calls/") == "2026/x.mp3"


def test_output_names_follow_inputs_and_never_clash():
    assert output_names(["a.wav", "sub/b.mp3", "c.wav", "c.mp3"]) == {
        "a.wav": "a",
        "sub/b.mp3": "sub/b",
        "c.wav": "c.wav",
        "c.mp3": "c.mp3",
    }


def test_partitions_are_balanced_and_deterministic():
    keys = [(f"c{i}", 0, 0, float(s)) for i, s in enumerate([30, 30, 20, 10, 10, 5, 5])]
    a = assign_partitions(keys, 2)
    assert a == assign_partitions(list(reversed(keys)), 2)
    load = [sum(k[3] for k in keys if a[k[:3]] == p) for p in (0, 1)]
    assert load == [55.0, 55.0]


def test_deal_keeps_the_heaviest_items_apart_and_is_deterministic():
    files = [("a", 5), ("b", 100), ("c", 7), ("d", 100), ("e", 6), ("f", 1)]  # e.g. two long calls among short ones
    groups = deal(files, lambda f: f[1], 4)
    assert groups == [[("b", 100)], [("d", 100)], [("c", 7), ("f", 1)], [("e", 6), ("a", 5)]]
    assert deal(files, lambda f: f[1], 4) == groups
    assert sorted(f for g in deal(files, lambda f: f[1], 2) for f in g) == sorted(files)  # nothing lost or doubled


def test_keyed_accumulators_merge_per_key_so_retries_never_double_count():
    peaks = ByKey(max)  # transcribe's worker peaks
    a = peaks.addInPlace(peaks.zero({}), {"h:1": 300.0})
    a = peaks.addInPlace(a, {"h:1": 280.0, "h:2": 310.0})
    assert a == {"h:1": 300.0, "h:2": 310.0}
    rows = ByKey()  # preprocess's call rows: a task run again replaces its rows
    b = rows.addInPlace(rows.zero({}), {"a.wav": {"status": "ok"}})
    assert rows.addInPlace(b, {"a.wav": {"status": "ok"}}) == {"a.wav": {"status": "ok"}}


@pytest.mark.slow
def test_range_gives_partition_i_the_one_id_i():
    """Preprocess relies on it to give task i the files of group i, without a shuffle."""
    session = sp.session("test-groups")
    try:
        df = session.range(5, numPartitions=5)
        assert [[r.id for r in p] for p in df.rdd.glom().collect()] == [[0], [1], [2], [3], [4]]
        assert "Exchange" not in df._jdf.queryExecution().executedPlan().toString()
    finally:
        sp.stop(session)


def test_process_file_rows():
    roles = parse_roles(DEFAULT_ROLES)
    p = SAMPLE / "call_001_card_payment.wav"
    rows = process_file("file:" + str(p), p.read_bytes(), str(SAMPLE), roles)
    call = rows[-1]
    chunks = rows[:-1]
    assert call["kind"] == "call" and call["status"] == "ok" and call["n_chunks"] == len(chunks) >= 2
    assert {(c["channel"], c["role"]) for c in chunks} == {(0, "agent"), (1, "customer")}
    assert all(len(c["pcm"]) == round(c["speech_s"] * 16000) * 2 for c in chunks)
    (bad,) = process_file("file:/x/y.wav", b"", "/x", roles)
    assert (bad["status"], bad["reason"]) == ("rejected", "empty")


def test_build_call_orders_channels_redacts_and_drops_non_speech():
    seg = dict(chunk_idx=0, avg_logprob=-0.3, no_speech_prob=0.1, model_id="tiny.en")
    segs = [
        dict(seg, channel=1, role="customer", seg_idx=0, start_s=4.0, end_s=6.0, text="my  card is 4111"),
        dict(seg, channel=0, role="agent", seg_idx=0, start_s=0.5, end_s=3.0, text="Hello."),
        dict(seg, channel=1, role="customer", seg_idx=1, start_s=6.0, end_s=8.0, text="1111 1111 1111."),
        dict(
            seg,
            channel=0,
            role="agent",
            seg_idx=1,
            start_s=9.0,
            end_s=9.5,
            text="Thank you.",
            no_speech_prob=0.9,
            avg_logprob=-1.5,
        ),  # Whisper's "not speech" rule
    ]
    call = {
        "call_id": "a.wav",
        "source": "file:/a.wav",
        "source_format": "wav/pcm_mulaw",
        "source_rate": 8000,
        "source_channels": 2,
        "duration_s": 10.0,
        "sha256": "0" * 64,
    }
    doc, srt, vtt = build_call(call, segs)
    assert [s["text"] for s in doc["segments"]] == ["Hello.", "my card is [CREDIT_CARD]", "[CREDIT_CARD]."]
    assert [r["segment"] for r in doc["redactions"]] == [1, 2]
    assert srt.splitlines()[2] == "Agent: Hello." and "<v Customer>my card is [CREDIT_CARD]" in vtt
    assert "4111" not in srt + vtt + str(doc)
