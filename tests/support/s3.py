"""The sandbox's MinIO from the host, through pyarrow's S3 filesystem (Tilt's sample-data upload, the tests, a look
at results). Run from the checkout with the project venv:

    .venv/bin/python -m tests.support.s3 upload sample_data s3://raw/sample_data/   upload a folder (skips unchanged)
    .venv/bin/python -m tests.support.s3 ls s3://runs/some/prefix/                  list keys under a prefix
    .venv/bin/python -m tests.support.s3 mb s3://raw                                create a bucket (ok if it exists)

Endpoint: stack/sandbox/sandbox.json minio.host_endpoint (http://localhost:9000 via kind-config.yaml), or
AIRWAVE_S3_ENDPOINT. Credentials: AIRWAVE_S3_ACCESS_KEY / AIRWAVE_S3_SECRET_KEY, otherwise the cluster's
minio-credentials Secret (read with the Kubernetes client, context kind-<cluster>). They are always handed to pyarrow
explicitly, so its AWS SDK never looks at the user's own AWS_* variables or ~/.aws: real AWS credentials cannot end up
in (or be sent to) the sandbox.
"""

from __future__ import annotations

import base64
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

from pyarrow import fs as pafs

from . import stackfiles

ROOT = Path(__file__).resolve().parents[2]
STACK = stackfiles.STACK  # defaults.json + sandbox.json


def cluster_credentials(api=None) -> tuple[str, str]:
    """(access key, secret key) from the cluster's Secret; `api`: a kubernetes ApiClient (default: the kind context)."""
    from kubernetes import client, config  # only needed when the keys are not given

    api = api or config.new_client_from_config(context=f"kind-{STACK['cluster_name']}")
    m = STACK["minio"]
    data = client.CoreV1Api(api).read_namespaced_secret(m["credentials_secret"], STACK["namespace"]).data
    keys = m["credentials_keys"]
    return (
        base64.b64decode(data[keys["AWS_ACCESS_KEY_ID"]]).decode(),
        base64.b64decode(data[keys["AWS_SECRET_ACCESS_KEY"]]).decode(),
    )


def credentials() -> tuple[str, str]:
    ak, sk = os.environ.get("AIRWAVE_S3_ACCESS_KEY"), os.environ.get("AIRWAVE_S3_SECRET_KEY")
    return (ak, sk) if ak and sk else cluster_credentials()


def filesystem(endpoint: str | None = None, keys: tuple[str, str] | None = None) -> pafs.S3FileSystem:
    u = urlsplit(endpoint or os.environ.get("AIRWAVE_S3_ENDPOINT") or STACK["minio"]["host_endpoint"])
    ak, sk = keys or credentials()
    return pafs.S3FileSystem(
        access_key=ak,
        secret_key=sk,
        endpoint_override=u.netloc,
        scheme=u.scheme,
        region=STACK["minio"]["region"],
        force_virtual_addressing=False,
        allow_bucket_creation=True,
    )  # for `mb`; pyarrow refuses by default


def split_uri(uri: str) -> tuple[str, str]:
    u = urlsplit(uri)
    if u.scheme not in ("s3", "s3a") or not u.netloc:
        raise SystemExit(f"not an s3:// URI: {uri}")
    return u.netloc, u.path.lstrip("/")


def stat(fs: pafs.S3FileSystem, bucket: str, prefix: str) -> dict[str, pafs.FileInfo]:
    """key -> FileInfo of every object under prefix (none if the prefix does not exist yet)."""
    try:
        infos = fs.get_file_info(pafs.FileSelector(f"{bucket}/{prefix}".rstrip("/"), recursive=True))
    except FileNotFoundError:
        return {}
    return {i.path[len(bucket) + 1 :]: i for i in infos if i.type == pafs.FileType.File}


def upload(fs: pafs.S3FileSystem, src: Path, bucket: str, prefix: str) -> tuple[int, int]:
    """Put every file under src that differs in size or is newer than its object (like `aws s3 sync`: S3 listings
    carry no content hash pyarrow exposes). Returns (uploaded, already there)."""
    have, n = stat(fs, bucket, prefix), 0
    for f in sorted(p for p in src.rglob("*") if p.is_file()):
        key, st = prefix + f.relative_to(src).as_posix(), f.stat()
        old = have.get(key)
        if old is None or old.size != st.st_size or st.st_mtime_ns > old.mtime_ns:
            with fs.open_output_stream(f"{bucket}/{key}") as out:
                out.write(f.read_bytes())
            n += 1
    return n, len(have)


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0] == "upload":
        bucket, prefix = split_uri(argv[2])
        n, had = upload(filesystem(), Path(argv[1]), bucket, prefix)
        print(f"uploaded {n} file(s) to s3://{bucket}/{prefix} ({had} already there)")
        return 0
    if len(argv) == 2 and argv[0] == "ls":
        bucket, prefix = split_uri(argv[1])
        for key, info in sorted(stat(filesystem(), bucket, prefix).items()):
            print(f"{info.size:>12}  s3://{bucket}/{key}")
        return 0
    if len(argv) == 2 and argv[0] == "mb":
        bucket, _ = split_uri(argv[1])
        fs = filesystem()
        there = fs.get_file_info(bucket).type != pafs.FileType.NotFound
        if not there:
            fs.create_dir(bucket)
        print(f"{'exists' if there else 'created'}: s3://{bucket}")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except OSError as e:  # pyarrow's S3 errors (MinIO down, refused credentials) say which, no traceback needed
        sys.exit(f"s3: {e}")
