"""Locations are URIs: local paths / file:// (the embedded default) or s3:// / s3a:// (MinIO in the cluster).

Spark reads and writes through Hadoop (file:, s3a:); plain-Python writes (per-call transcripts, reports) go through
pyarrow.fs, which speaks both. Stage code only ever sees URIs.
"""
from __future__ import annotations

import os
import posixpath
from urllib.parse import urlparse

from pyarrow import fs as pafs


def normalize(uri: str) -> str:
    """Local paths become absolute file:// URIs; s3:// becomes s3a:// (Hadoop's S3 client)."""
    u = urlparse(uri)
    if u.scheme in ("", "file"):
        return "file://" + os.path.abspath(u.path if u.scheme else uri)
    if u.scheme in ("s3", "s3a"):
        return "s3a://" + u.netloc + u.path
    raise ValueError(f"unsupported location {uri!r}: use a local path, file://, s3:// or s3a://")


def join(uri: str, *parts: str) -> str:
    return uri.rstrip("/") + "/" + "/".join(p.strip("/") for p in parts)


def filesystem(uri: str) -> tuple[pafs.FileSystem, str]:
    """(pyarrow filesystem, path inside it) for a location."""
    uri = normalize(uri)
    if uri.startswith("file://"):
        return pafs.LocalFileSystem(), uri[len("file://"):]
    endpoint = os.environ.get("AWS_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT_URL_S3")
    kw = {}
    if endpoint:  # MinIO: path-style addressing on a plain-http endpoint
        e = urlparse(endpoint)
        kw = dict(endpoint_override=e.netloc, scheme=e.scheme or "http", force_virtual_addressing=False)
    return pafs.S3FileSystem(region=os.environ.get("AWS_REGION", "us-east-1"), **kw), uri[len("s3a://"):]


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


def read_bytes(uri: str) -> bytes:
    fs, path = filesystem(uri)
    with fs.open_input_stream(path) as f:
        return f.read()


def exists(uri: str) -> bool:
    fs, path = filesystem(uri)
    return fs.get_file_info(path).type != pafs.FileType.NotFound


def remove_tree(uri: str) -> None:
    """Remove everything under a prefix (a stage replacing its own output)."""
    fs, path = filesystem(uri)
    if fs.get_file_info(path).type == pafs.FileType.Directory:
        fs.delete_dir(path)
    elif fs.get_file_info(path).type == pafs.FileType.File:
        fs.delete_file(path)


def list_files(uri: str) -> list[str]:
    """Every file under a prefix, as URIs, sorted."""
    fs, path = filesystem(uri)
    if fs.get_file_info(path).type == pafs.FileType.NotFound:
        return []
    base = normalize(uri)
    scheme = base[: base.index("://") + 3]
    return sorted(scheme + i.path for i in fs.get_file_info(pafs.FileSelector(path, recursive=True))
                  if i.type == pafs.FileType.File)
