"""Retention: per prefix, delete objects older than N days. Pure Python (pyarrow.fs), no Airflow.

Safety rules, because this deletes data:
- dry run unless told otherwise;
- only objects strictly under a configured prefix are ever considered (a prefix is matched as a directory,
  so `raw` never matches `raw2/...`), and a prefix may not be a filesystem root;
- every run writes an audit record (JSON) of exactly what it deleted, or would have deleted in a dry run;
- the record is written ahead of the deletes: first everything planned (status "in_progress"), then after each batch
  what is gone ("deleted") and the batch in flight ("deleting"), so even after a kill -9 half-way the objects gone are
  within deleted + deleting. It ends "complete", or "failed" with the error; a dry run writes one "dry_run" record.
"""

from __future__ import annotations

import fnmatch
import json
import posixpath
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from pyarrow import fs as pafs

from airwave import layout, storage


@dataclass(frozen=True)
class Policy:
    """Keep objects under `prefix` for `keep_days`. `include`: fnmatch patterns on the path relative to the
    prefix (`*` also crosses `/`), e.g. ["*/preprocess/*"] for intermediates only; empty = everything."""

    prefix: str
    keep_days: float
    include: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def parse(cls, d: dict) -> Policy:
        keep = float(d["keep_days"])
        if keep < 0:
            raise ValueError(f"keep_days must be >= 0: {d}")
        return cls(str(d["prefix"]), keep, tuple(d.get("include") or ()))


@dataclass(frozen=True)
class Obj:
    uri: str
    size: int
    mtime: datetime


def _root(uri: str) -> tuple[pafs.FileSystem, str, str]:
    """(filesystem, path inside it, URI scheme prefix) for a policy prefix, refusing roots."""
    fs, path = storage.filesystem(uri)
    path = path.rstrip("/")
    norm = storage.normalize(uri)
    scheme = norm[: norm.index("://") + 3]
    if posixpath.normpath("/" + path) == "/":  # "/", "file:///", "s3a://" ...: the root of a filesystem
        raise ValueError(f"refusing retention on a filesystem root: {uri!r}")
    return fs, path, scheme


def list_objects(prefix: str) -> list[Obj]:
    fs, path, scheme = _root(prefix)
    if fs.get_file_info(path).type != pafs.FileType.Directory:
        return []
    out = []
    for info in fs.get_file_info(pafs.FileSelector(path, recursive=True)):
        if info.type != pafs.FileType.File:
            continue
        mtime = info.mtime if info.mtime.tzinfo else info.mtime.replace(tzinfo=UTC)
        out.append(Obj(scheme + info.path, info.size, mtime))
    return sorted(out, key=lambda o: o.uri)


def _inside(uri: str, prefix: str) -> str | None:
    """The path of `uri` relative to `prefix`, or None if it is not strictly under it."""
    base = storage.normalize(prefix).rstrip("/") + "/"
    u = storage.normalize(uri)
    if not u.startswith(base) or len(u) == len(base):
        return None
    rel = u[len(base) :]
    if ".." in rel.split("/"):
        return None
    return rel


def expired(policy: Policy, objects: list[Obj], now: datetime) -> list[Obj]:
    cutoff = now - timedelta(days=policy.keep_days)
    out = []
    for o in objects:
        rel = _inside(o.uri, policy.prefix)
        if rel is None:
            continue  # never touch anything outside the configured prefix
        if policy.include and not any(fnmatch.fnmatchcase(rel, pat) for pat in policy.include):
            continue
        if o.mtime < cutoff:
            out.append(o)
    return out


BATCH = 100  # objects deleted between two audit writes: bounds both the write overhead and what a crash leaves open


def _save(record: dict, audit_uri: str | None) -> None:
    record["deleted_count"] = len(record["deleted"])
    record["deleted_bytes"] = sum(d["size"] for d in record["deleted"])
    if audit_uri:
        storage.write_text(audit_uri, json.dumps(record, indent=2) + "\n")


def apply(
    policies: list[dict],
    *,
    now: datetime | None = None,
    dry_run: bool = True,
    audit_uri: str | None = None,
    run_id: str = "",
) -> dict:
    """Enforce every policy; returns (and writes to `audit_uri`, if given) the audit record."""
    now = now or datetime.now(UTC)
    record: dict = {
        "run_id": run_id,
        "dry_run": dry_run,
        "now": now.isoformat(),
        "status": "dry_run" if dry_run else "in_progress",
        "policies": [],
        "planned": [],
        "deleting": [],
        "deleted": [],
    }
    todo: list[tuple[pafs.FileSystem, str, dict]] = []  # (filesystem, path, planned entry), in deletion order
    seen: set[str] = set()
    current: dict | None = None  # the object whose delete is under way
    try:
        # Plan everything before deleting anything, so the first record already names all that may go.
        for pol in (Policy.parse(p) for p in policies):
            fs, _, scheme = _root(pol.prefix)
            objs = list_objects(pol.prefix)
            doomed = expired(pol, objs, now)
            # Done-markers first: if a deletion is interrupted, a stage output must not look complete.
            doomed.sort(key=lambda o: (posixpath.basename(o.uri) != layout.MARKER, o.uri))
            for o in doomed:
                assert _inside(o.uri, pol.prefix) is not None  # belt and braces for the rule above
                if o.uri in seen:
                    continue  # overlapping prefixes: plan (and delete) an object once
                seen.add(o.uri)
                entry = {"uri": o.uri, "size": o.size, "mtime": o.mtime.isoformat(), "prefix": pol.prefix}
                record["planned"].append(entry)
                todo.append((fs, o.uri[len(scheme) :], entry))  # list_objects made uri = scheme + path
            record["policies"].append(
                {
                    "prefix": pol.prefix,
                    "keep_days": pol.keep_days,
                    "include": list(pol.include),
                    "objects": len(objs),
                    "expired": len(doomed),
                }
            )
        if dry_run:
            record["deleted"] = list(record["planned"])
            _save(record, audit_uri)
            return record
        for i in range(0, len(todo), BATCH):
            batch = todo[i : i + BATCH]
            record["deleting"] = [entry for _, _, entry in batch]
            _save(record, audit_uri)  # before the batch: a kill -9 inside it leaves it named as in flight
            for fs, path, entry in batch:
                current = entry
                fs.delete_file(path)
                current = None
                record["deleted"].append(entry)
                record["deleting"].remove(entry)
        record["status"] = "complete"
        _save(record, audit_uri)
        return record
    except BaseException as e:
        # Whatever failed: deleted = exactly what went; only the object being deleted, if any, is of unknown fate
        # (an S3 delete can time out after it took effect).
        record.update(status="failed", error=f"{type(e).__name__}: {e}", deleting=[current] if current else [])
        _save(record, audit_uri)
        raise
