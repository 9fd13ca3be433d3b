"""Preprocess (Spark): every object under INPUT -> decode -> channels -> 16 kHz -> VAD -> speech chunks <= 20 s.

Writes under RUN/preprocess/ (layout.py): `chunks/` (the manifest + PCM of each chunk), `calls/` (one row per input
object: its format, duration, sha256, status) and `rejects/` (inputs that could not be used, with the reason); their
schemas are schemas.CHUNKS, CALLS and REJECTS.
The driver lists the input (storage.list_inputs: any character a file system or S3 key allows stays in the call
id); each task reads its files itself, so only file names and sizes travel through Spark, never whole files.
"""

from __future__ import annotations

from .. import layout, schemas, storage
from ..audio import DecodeError, decode, role_of, to_pcm16
from ..settings import (
    DEFAULT_EXCLUDE,
    DEFAULT_ROLES,
    exclude_patterns,
    is_excluded,
    max_input_bytes,
    max_input_seconds,
    parse_roles,
)
from ..vad import chunk_call
from . import deal, keyed_accumulator


def relative_id(path: str, root: str) -> str:
    """Call id = the object's path relative to the input root ('sub/a.wav'): unique, readable, stable."""
    return storage.relative(path, root)


def process_file(path: str, content: bytes, root: str, roles: dict[int, str], max_s: float | None = None) -> list[dict]:
    """One input object -> a call row plus its chunk rows (or a call row saying why it was rejected)."""
    call = {"kind": "call", "call_id": relative_id(path, root), "source": path}
    try:
        d = decode(bytes(content), max_s=max_s)
    except DecodeError as e:
        return [{**call, "status": "rejected", "reason": e.reason, "detail": str(e), "n_chunks": 0}]
    except Exception as e:  # a decoder crash on odd input must not stop the run either
        return [
            {
                **call,
                "status": "rejected",
                "reason": "decoder_error",
                "detail": f"{type(e).__name__}: {e}",
                "n_chunks": 0,
            }
        ]
    meta = {"source_format": d.source_format, "duration_s": d.duration_s, "sha256": d.sha256}
    rows, speech = [], 0.0
    for ch, chunks in enumerate(chunk_call(d.channels)):
        for i, c in enumerate(chunks):
            rows.append(
                {
                    "kind": "chunk",
                    "call_id": call["call_id"],
                    "channel": ch,
                    "role": role_of(ch, len(d.channels), roles),
                    "chunk_idx": i,
                    "start_s": c.start_s,
                    "end_s": c.end_s,
                    "speech_s": c.speech_s,
                    "regions": [list(r) for r in c.regions],
                    "pcm": to_pcm16(c.audio),
                    **meta,
                }
            )
            speech += c.speech_s
    rows.append(
        {
            **call,
            **meta,
            "status": "ok",
            "source_rate": d.source_rate,
            "source_channels": len(d.channels),
            "n_chunks": len(rows),
            "speech_s": speech,
        }
    )
    return rows


def read_and_process(
    path: str, size: int, reason: str, detail: str, root: str, roles: dict[int, str], limit: int, max_s: float
) -> list[dict]:
    """One listed input -> rows; what cannot be read at all is rejected with its reason instead."""
    call = {"kind": "call", "call_id": relative_id(path, root), "source": path, "n_chunks": 0}
    if reason:  # the listing already knows: a name that is not UTF-8, a broken link ...
        return [{**call, "status": "rejected", "reason": reason, "detail": detail}]
    if size > limit:
        return [
            {
                **call,
                "status": "rejected",
                "reason": "too_large",
                "detail": f"{size} bytes ({size / 2**20:.1f} MiB) is over the {limit / 2**20:.3g} MiB limit "
                "(--max-input-mb / AIRWAVE_MAX_INPUT_MB)",
            }
        ]
    try:
        content = storage.read_bytes(path)
    except OSError as e:  # vanished or unreadable between listing and reading
        return [{**call, "status": "rejected", "reason": "unreadable", "detail": f"{type(e).__name__}: {e}"}]
    return process_file(path, content, root, roles, max_s)


def run(
    spark,
    input_uri: str,
    out_uri: str,
    roles: str = DEFAULT_ROLES,
    exclude: str = DEFAULT_EXCLUDE,
    max_input_mb: float | None = None,
    max_input_minutes: float | None = None,
) -> dict:
    import pandas as pd

    from ..spark import task_slots

    root = storage.normalize(input_uri)
    role_map = parse_roles(roles)
    limit, max_s = max_input_bytes(max_input_mb), max_input_seconds(max_input_minutes)
    run_uri = storage.normalize(out_uri)
    layout.unpublish(run_uri, "preprocess")  # from here on, no reader takes this run's old outputs as current
    pats = exclude_patterns(exclude)
    listed = storage.list_inputs(root)
    inputs = [e for e in listed if not is_excluded(relative_id(e.uri, root), pats)]
    if not inputs:
        raise SystemExit(f"no input files under {input_uri}")
    chunk_cols, call_cols = schemas.names(schemas.CHUNKS), schemas.names(schemas.CALLS)
    found = keyed_accumulator(spark)  # {call_id: call row}: a task that runs again replaces its rows

    listing = [(e.uri, e.size, e.reason, e.detail) for e in inputs]
    groups = deal(listing, lambda f: f[1], min(len(inputs), task_slots(spark) * 2))

    def decode_groups(batches):
        for path, size, why, detail in (f for pdf in batches for g in pdf["id"] for f in groups[g]):
            rows = read_and_process(path, size, why, detail, root, role_map, limit, max_s)
            found.add({r["call_id"]: {c: r.get(c) for c in call_cols} for r in rows if r["kind"] == "call"})
            chunks = [[r[c] for c in chunk_cols] for r in rows if r["kind"] == "chunk"]
            yield pd.DataFrame(chunks, columns=chunk_cols)

    # Files are dealt to two tasks a slot by size, largest first, on the driver: a few long calls do not land in one
    # task by their names' hash (sample_data x 2 and the dev set: the stage ~1 s faster, docs/performance-log.md).
    # Task i decodes groups[i]: partition i of spark.range(n, numPartitions=n) holds the one id i, so no shuffle and
    # no Python RDD of the listing (which cost each task a second Python worker). The chunks are written as they are
    # decoded; the call rows (one per input, small) reach the driver through an accumulator and are written from
    # there (storage.write_table, without a Spark job): one pass, no cached copy of the audio.
    chunks = spark.range(len(groups), numPartitions=len(groups)).mapInPandas(decode_groups, schemas.CHUNKS)
    # Each write replaces its own prefix: a rerun or a retry never duplicates.
    chunks.write.mode("overwrite").parquet(layout.chunks(run_uri))
    calls = [found.value[k] for k in sorted(found.value)]
    if len(calls) != len(inputs):  # every listed input must come back as a call row, transcribable or rejected
        raise RuntimeError(f"preprocess: {len(inputs)} inputs but {len(calls)} call rows")
    storage.write_table(layout.calls_table(run_uri), calls, schemas.CALLS)
    rejected = [r for r in calls if r["status"] == "rejected"]
    storage.write_table(layout.rejects(run_uri), rejected, schemas.REJECTS)
    layout.publish(run_uri, "preprocess")
    stats = {
        "files": len(calls),
        "ok": sum(r["status"] == "ok" for r in calls),
        "rejected": sum(r["status"] == "rejected" for r in calls),
        "audio_s": sum(r["duration_s"] or 0.0 for r in calls),
        "channel_audio_s": sum((r["duration_s"] or 0.0) * (r["source_channels"] or 0) for r in calls),
        "speech_s": sum(r["speech_s"] or 0.0 for r in calls),
        "chunks": sum(r["n_chunks"] or 0 for r in calls),
    }
    return {**stats, "excluded": len(listed) - len(inputs)}
