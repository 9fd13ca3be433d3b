import os

import pytest

from airwave import storage


def test_normalize():
    assert storage.normalize("/a/b") == "file:///a/b"
    assert storage.normalize("rel") == "file://" + os.path.abspath("rel")
    assert storage.normalize("file:///x/y") == "file:///x/y"
    assert storage.normalize("s3://bucket/k") == "s3a://bucket/k"
    # names are kept verbatim: nothing after # or ? is cut, nothing is percent-decoded
    assert storage.normalize("/in/call#1.wav") == "file:///in/call#1.wav"
    assert storage.normalize("file:///in/what?.wav") == "file:///in/what?.wav"
    assert storage.normalize("s3://b/x/100%20 sure#2?.wav") == "s3a://b/x/100%20 sure#2?.wav"
    assert storage.normalize("file:/in/a:b.wav") == "file:///in/a:b.wav"  # Hadoop's form
    assert storage.relative("s3a://b/in/sub/call#1.wav", "s3://b/in/") == "sub/call#1.wav"
    assert storage.relative("/in/a?.wav", "/in/a?.wav") == "a?.wav"
    with pytest.raises(ValueError, match="unsupported"):
        storage.normalize("gs://b/k")


def test_write_read_list_remove(tmp_path):
    base = str(tmp_path / "run")
    storage.write_text(storage.join(base, "calls", "a.json"), "{}")
    storage.write_bytes(storage.join(base, "calls", "sub", "b.srt"), b"x")
    assert storage.read_bytes(storage.join(base, "calls", "a.json")) == b"{}"
    assert storage.list_files(base) == [f"file://{tmp_path}/run/calls/a.json", f"file://{tmp_path}/run/calls/sub/b.srt"]
    assert not [p for p in os.listdir(tmp_path / "run" / "calls") if ".tmp-" in p]  # no temp files left behind
    storage.remove_tree(storage.join(base, "calls"))
    assert storage.list_files(base) == [] and not storage.exists(storage.join(base, "calls"))
    assert storage.list_files(str(tmp_path / "nothing")) == []


def test_write_table_replaces_the_table_and_reads_back_chosen_columns(tmp_path):
    from airwave import schemas

    uri = storage.join(str(tmp_path), "preprocess", "rejects")
    rows = [
        {"source": "file:///in/a#1.wav", "call_id": "a#1.wav", "reason": "unsupported_format", "detail": "not audio"},
        {"source": "file:///in/b.wav", "call_id": "b.wav", "reason": None, "detail": None},
    ]
    storage.write_table(uri, rows, schemas.REJECTS)
    storage.write_table(uri, rows[:1], schemas.REJECTS)  # a rerun replaces the table: no rows left from the first
    assert storage.read_table(uri, ["call_id", "reason"]) == [{"call_id": "a#1.wav", "reason": "unsupported_format"}]
    assert os.listdir(tmp_path / "preprocess" / "rejects") == ["part-00000.parquet"]
    with pytest.raises(KeyError):  # a column type the driver's tables do not use is refused, not guessed
        schemas.arrow_schema("pcm binary")
