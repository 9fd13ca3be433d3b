"""Locations are URIs: local paths / file:// (the embedded default) or s3:// / s3a:// (MinIO in the cluster).

Spark writes its tables through Hadoop (file:, s3a:); inputs are listed and read, per-call transcripts and reports
written, and the small tables the driver holds anyway (one row per call) read and written, through pyarrow.fs, which
speaks both. Stage code only ever sees URIs.

A URI here is `scheme://` + the path or key exactly as the file system or S3 holds it: never percent-decoded and
never split at `#` or `?`, because real recording exports have those in file names (`call#1.wav`).
"""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlparse

from pyarrow import fs as pafs

from .schemas import arrow_schema

_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):(//)?(.*)$", re.S)


def normalize(uri: str) -> str:
    """Local paths become absolute file:// URIs; s3:// becomes s3a:// (Hadoop's S3 client). Hadoop's own
    `file:/abs` form is accepted too. Everything after the scheme is kept verbatim."""
    m = _SCHEME.match(uri)
    if not m or not (m.group(2) or m.group(1).lower() == "file"):  # no scheme: a local path
        return "file://" + os.path.abspath(uri)
    scheme, rest = m.group(1).lower(), m.group(3)
    if scheme == "file":
        return "file://" + os.path.abspath(rest)
    if scheme in ("s3", "s3a"):
        return "s3a://" + rest
    raise ValueError(f"unsupported location {uri!r}: use a local path, file://, s3:// or s3a://")


def relative(uri: str, root: str) -> str:
    """The path of `uri` under `root` ('sub/a.wav'); a root that is the file itself gives its name."""
    u, r = normalize(uri), normalize(root).rstrip("/")
    if u == r:
        return posixpath.basename(u)
    if not u.startswith(r + "/"):
        raise ValueError(f"{uri} is not under {root}")
    return u[len(r) + 1 :]


def join(uri: str, *parts: str) -> str:
    return uri.rstrip("/") + "/" + "/".join(p.strip("/") for p in parts)


def filesystem(uri: str) -> tuple[pafs.FileSystem, str]:
    """(pyarrow filesystem, path inside it) for a location."""
    uri = normalize(uri)
    if uri.startswith("file://"):
        return pafs.LocalFileSystem(), uri[len("file://") :]
    from .settings import environment  # here, not at the top: settings imports this module

    env = environment()
    kw = {}
    if env.s3_endpoint:  # MinIO: path-style addressing on a plain-http endpoint
        e = urlparse(env.s3_endpoint)
        kw = dict(endpoint_override=e.netloc, scheme=e.scheme or "http", force_virtual_addressing=False)
    return pafs.S3FileSystem(region=env.aws_region, **kw), uri[len("s3a://") :]


def write_bytes(uri: str, data: bytes) -> None:
    """Write a whole object. Locally via a temp file + rename, so a reader never sees half a file."""
    fs, path = filesystem(uri)
    fs.create_dir(posixpath.dirname(path), recursive=True)
    if isinstance(fs, pafs.LocalFileSystem):
        tmp = f"{path}.tmp-{os.getpid()}"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    else:  # an S3 PUT is atomic already
        with fs.open_output_stream(path) as f:
            f.write(data)


def write_text(uri: str, text: str) -> None:
    write_bytes(uri, text.encode("utf-8"))


def write_table(uri: str, rows: list[dict[str, Any]], ddl: str) -> None:
    """Replace the table at `uri` (a folder, as Spark writes one) with `rows` (the DDL's columns of each; other keys
    are left out) in one Parquet file. For the small tables the driver holds anyway: a Spark job to write one cost
    ~0.3 s of a run (docs/performance-log.md)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    buf = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pylist(rows, schema=arrow_schema(ddl)), buf)
    remove_tree(uri)
    write_bytes(join(uri, "part-00000.parquet"), buf.getvalue().to_pybytes())


def read_table(uri: str, columns: list[str]) -> list[dict[str, Any]]:
    """`columns` of a Parquet table (a folder written by Spark or write_table) as rows; only those columns are read."""
    import pyarrow.dataset as ds

    fs, path = filesystem(uri)
    table = ds.dataset(path, filesystem=fs, format="parquet").to_table(columns=columns)
    return cast(list[dict[str, Any]], table.to_pylist())


def read_bytes(uri: str) -> bytes:
    fs, path = filesystem(uri)
    with fs.open_input_stream(path) as f:
        return cast(bytes, f.read())  # pyarrow's NativeFile.read() is untyped


def exists(uri: str) -> bool:
    fs, path = filesystem(uri)
    return bool(fs.get_file_info(path).type != pafs.FileType.NotFound)


def remove_tree(uri: str) -> None:
    """Remove everything under a prefix (a stage replacing its own output)."""
    fs, path = filesystem(uri)
    if fs.get_file_info(path).type == pafs.FileType.Directory:
        fs.delete_dir(path)
    elif fs.get_file_info(path).type == pafs.FileType.File:
        fs.delete_file(path)


@dataclass(frozen=True)
class Entry:
    uri: str
    size: int
    reason: str = ""  # set when the object cannot be processed at all: its reject reason ...
    detail: str = ""  # ... and what a person needs to know


def list_inputs(uri: str) -> list[Entry]:
    """Every file under a location (or the file itself), with its size, sorted. Local folders are walked with os
    (pyarrow's listing fails outright on one name that is not UTF-8), following links to folders once each; what
    cannot be read comes back as an Entry with its reason instead of stopping the listing or being skipped."""
    base = normalize(uri)
    if base.startswith("file://"):
        root = base[len("file://") :]
        if not os.path.exists(root):
            raise FileNotFoundError(f"{uri}: no such folder or file")
        if not os.path.isdir(root):
            return [_local_entry(root)]
        out, seen = [], set()

        def unlistable(e: OSError) -> None:
            out.append(Entry("file://" + _shown(e.filename), 0, "unreadable", f"cannot list the folder: {e.strerror}"))

        for d, dirs, names in os.walk(root, onerror=unlistable, followlinks=True):
            real = os.path.realpath(d)
            if real in seen:  # a link back into the tree: walked once
                dirs[:] = []
                continue
            seen.add(real)
            out += [_local_entry(os.path.join(d, n)) for n in names]
        return sorted(out, key=lambda e: e.uri)
    fs, path = filesystem(base)
    info = fs.get_file_info(path)
    if info.type == pafs.FileType.File:
        return [Entry(base, info.size)]
    if info.type == pafs.FileType.NotFound:
        raise FileNotFoundError(f"{uri}: no such folder, prefix or file")
    return sorted(
        (
            Entry("s3a://" + i.path, i.size)
            for i in fs.get_file_info(pafs.FileSelector(path, recursive=True))
            if i.type == pafs.FileType.File
        ),
        key=lambda e: e.uri,
    )


def _shown(p: str) -> str:
    """A path as text; bytes that are not UTF-8 (os decodes them to surrogates) as \\xNN."""
    return os.fsencode(p).decode("utf-8", "backslashreplace")


def _local_entry(p: str) -> Entry:
    uri = "file://" + _shown(p)
    try:
        p.encode("utf-8")
    except UnicodeEncodeError:
        return Entry(uri, 0, "unsupported_name", "file name is not valid UTF-8")
    if os.path.islink(p) and not os.path.exists(p):
        return Entry(uri, 0, "unreadable", f"broken symbolic link to {_shown(os.readlink(p))}")
    if not os.path.isfile(p):  # a fifo would block the reader forever; sockets and devices are not recordings
        return Entry(uri, 0, "unreadable", "not a regular file (fifo, socket or device)")
    return Entry(uri, os.path.getsize(p))


def list_files(uri: str) -> list[str]:
    """Every file under a prefix, as URIs, sorted."""
    fs, path = filesystem(uri)
    if fs.get_file_info(path).type == pafs.FileType.NotFound:
        return []
    base = normalize(uri)
    scheme = base[: base.index("://") + 3]
    return sorted(
        scheme + i.path
        for i in fs.get_file_info(pafs.FileSelector(path, recursive=True))
        if i.type == pafs.FileType.File
    )
