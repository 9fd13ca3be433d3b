"""Production sampling: copy a deterministic fraction of newly arrived calls into an evaluation prefix.

"Deterministic" means the decision for a call depends only on (seed, its path under the source prefix): the same
call is always in or always out at a given rate, whatever the order or batch it arrives in, and raising the rate
only adds calls. "Newly arrived" = modified inside the run's data interval [start, end).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from pyarrow import fs as pafs

from airwave import retention, storage

AUDIO_EXTENSIONS = (".wav", ".mp3", ".flac", ".ogg", ".opus", ".m4a", ".aac", ".wma", ".amr", ".au", ".webm")


def score(seed: str, key: str) -> float:
    """Uniform in [0, 1), a pure function of (seed, key)."""
    h = hashlib.sha256(f"{seed}\0{key}".encode()).digest()
    return int.from_bytes(h[:8], "big") / 2**64


def selected(seed: str, key: str, rate: float) -> bool:
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"rate must be within [0, 1], got {rate}")
    return score(seed, key) < rate


def arrivals(source: str, start: datetime, end: datetime) -> list[tuple[str, retention.Obj]]:
    """(path relative to source, object) for audio objects modified in [start, end)."""
    out = []
    for o in retention.list_objects(source):
        rel = retention._inside(o.uri, source)
        if rel and rel.lower().endswith(AUDIO_EXTENSIONS) and start <= o.mtime < end:
            out.append((rel, o))
    return out


def sample(
    source: str,
    dest: str,
    *,
    start: datetime,
    end: datetime,
    rate: float,
    seed: str,
    dry_run: bool = False,
    manifest_uri: str | None = None,
) -> dict:
    """Copy the selected arrivals to dest/<same relative path>; returns (and writes) a manifest of the sample.

    Re-running the same interval copies the same files again (overwrites): idempotent.
    """
    found = arrivals(source, start, end)
    picked = [(rel, o) for rel, o in found if selected(seed, rel, rate)]
    if not dry_run:
        src_fs, _ = storage.filesystem(source)
        dst_fs, _ = storage.filesystem(dest)
        for rel, o in picked:
            target = storage.join(dest, rel)
            dst_path = storage.filesystem(target)[1]
            dst_fs.create_dir(dst_path.rsplit("/", 1)[0], recursive=True)
            pafs.copy_files(
                storage.filesystem(o.uri)[1], dst_path, source_filesystem=src_fs, destination_filesystem=dst_fs
            )
    record = {
        "source": source,
        "dest": dest,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "rate": rate,
        "seed": seed,
        "dry_run": dry_run,
        "arrived": len(found),
        "sampled": [{"path": rel, "size": o.size, "source_uri": o.uri} for rel, o in picked],
    }
    if manifest_uri:
        storage.write_text(manifest_uri, json.dumps(record, indent=2) + "\n")
    return record
