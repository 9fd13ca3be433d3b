"""The Spark schemas of every stage's input and output, as DDL strings (no pyspark import needed to read them).

    preprocess:   the driver's listing of input files -> CHUNKS, CALLS, REJECTS
    transcribe:   CHUNKS -> SEGMENTS
    postprocess:  CALLS + SEGMENTS -> SUMMARY (+ the per-call transcripts, formats.py)

Column order is the order of the Parquet files; layout.py says where each table lives.
"""

from __future__ import annotations

import pyarrow as pa

# One audio chunk of one channel: <= 20 s (vad.MAX_CHUNK_S) of packed speech (16 kHz PCM16) and the call-time
# regions it came from.
CHUNKS = (
    "call_id string, channel int, role string, chunk_idx int, start_s double, end_s double, speech_s double, "
    "regions array<array<double>>, pcm binary, source_format string, duration_s double, sha256 string"
)
# One row per input object, transcribable (status 'ok') or not ('rejected', with reason and detail).
CALLS = (
    "call_id string, source string, status string, reason string, detail string, source_format string, "
    "source_rate int, source_channels int, duration_s double, sha256 string, n_chunks int, speech_s double"
)
REJECTS = "source string, call_id string, reason string, detail string"
# One cue: a decoded segment cut to one speech region, in call time.
SEGMENTS = (
    "call_id string, channel int, role string, chunk_idx int, seg_idx int, start_s double, end_s double, "
    "text string, avg_logprob double, no_speech_prob double, model_id string"
)
SUMMARY = (
    "call_id string, name string, status string, duration_s double, channels int, segments int, words int, "
    "redactions int, transcript_uri string"
)


def names(ddl: str) -> list[str]:
    """Column names of a DDL schema (ours have no struct types, so ', ' only ever separates columns)."""
    return [c.split()[0] for c in ddl.split(", ")]


def arrow_schema(ddl: str) -> pa.Schema:
    """The Arrow schema of a DDL of plain columns (the tables the driver writes: storage.write_table)."""
    types = {"string": pa.string(), "int": pa.int32(), "bigint": pa.int64(), "double": pa.float64()}
    return pa.schema([(c.split()[0], types[c.split()[1]]) for c in ddl.split(", ")])
