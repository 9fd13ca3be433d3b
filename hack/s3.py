#!/usr/bin/env python3
"""Minimal S3 client for the sandbox's MinIO, standard library only (no boto3/mc on the host).

    hack/s3.py upload sample_data s3://raw/sample_data/     upload a folder (skips unchanged files)
    hack/s3.py ls s3://runs/some/prefix/                    list keys under a prefix
    hack/s3.py mb s3://raw                                  create a bucket (no error if it exists)

Endpoint: stack.json minio.host_endpoint (http://localhost:9000 via kind-config.yaml), or
AIRWAVE_S3_ENDPOINT. Credentials: AIRWAVE_S3_ACCESS_KEY / AIRWAVE_S3_SECRET_KEY, otherwise read from
the cluster's minio-credentials Secret with kubectl. The user's own AWS_* variables and ~/.aws are
never read, so real AWS credentials cannot end up in (or be sent to) the sandbox.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STACK = json.loads((ROOT / "src" / "airwave" / "stack.json").read_text())
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def sigv4_authorization(method: str, host: str, path: str, query: dict[str, str], headers: dict[str, str],
                        payload_sha256: str, amz_date: str, region: str, service: str,
                        access_key: str, secret_key: str) -> str:
    """AWS Signature Version 4 `Authorization` header value. `headers` are the extra headers to sign
    (x-amz-date is added here; host is always signed)."""
    signed = {k.lower(): " ".join(v.strip().split()) for k, v in headers.items()}
    signed["host"] = host
    signed["x-amz-date"] = amz_date
    names = sorted(signed)
    canonical_query = "&".join(
        f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(v, safe='-_.~')}" for k, v in sorted(query.items()))
    canonical_request = "\n".join([
        method,
        urllib.parse.quote(path, safe="/-_.~"),
        canonical_query,
        "".join(f"{n}:{signed[n]}\n" for n in names),
        ";".join(names),
        payload_sha256,
    ])
    date = amz_date[:8]
    scope = f"{date}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical_request.encode()).hexdigest()])
    key = _hmac(_hmac(_hmac(_hmac(("AWS4" + secret_key).encode(), date), region), service), "aws4_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, SignedHeaders={';'.join(names)}, Signature={signature}"


def credentials() -> tuple[str, str]:
    ak, sk = os.environ.get("AIRWAVE_S3_ACCESS_KEY"), os.environ.get("AIRWAVE_S3_SECRET_KEY")
    if ak and sk:
        return ak, sk
    keys = STACK["minio"]["credentials_keys"]
    out = subprocess.run(
        [os.environ.get("KUBECTL", "kubectl"), "--context", f"kind-{STACK['cluster_name']}", "-n", STACK["namespace"],
         "get", "secret", STACK["minio"]["credentials_secret"], "-o", "json"],
        check=True, capture_output=True, text=True).stdout
    data = json.loads(out)["data"]
    return (base64.b64decode(data[keys["AWS_ACCESS_KEY_ID"]]).decode(),
            base64.b64decode(data[keys["AWS_SECRET_ACCESS_KEY"]]).decode())


class S3:
    def __init__(self, endpoint: str, access_key: str, secret_key: str, region: str):
        u = urllib.parse.urlsplit(endpoint)
        self.base, self.host = f"{u.scheme}://{u.netloc}", u.netloc
        self.ak, self.sk, self.region = access_key, secret_key, region

    def request(self, method: str, path: str, query: dict[str, str] | None = None, body: bytes = b"") -> bytes:
        query = query or {}
        payload = hashlib.sha256(body).hexdigest()
        amz_date = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        auth = sigv4_authorization(method, self.host, path, query, {"x-amz-content-sha256": payload}, payload,
                                   amz_date, self.region, "s3", self.ak, self.sk)
        url = self.base + urllib.parse.quote(path, safe="/-_.~")
        if query:
            url += "?" + urllib.parse.urlencode(sorted(query.items()), quote_via=urllib.parse.quote)
        req = urllib.request.Request(url, data=body if method == "PUT" else None, method=method, headers={
            "Authorization": auth, "x-amz-date": amz_date, "x-amz-content-sha256": payload})
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.read()

    def list(self, bucket: str, prefix: str = "") -> dict[str, int]:
        """key -> size for every object under prefix (ListObjectsV2, paginated)."""
        return {k: size for k, (size, _) in self.stat(bucket, prefix).items()}

    def stat(self, bucket: str, prefix: str = "") -> dict[str, tuple[int, str]]:
        """key -> (size, ETag) under prefix; a single-part PUT's ETag is the MD5 of its bytes."""
        out, token = {}, None
        ns = "{http://s3.amazonaws.com/doc/2006-03-01/}"
        while True:
            q = {"list-type": "2", "prefix": prefix}
            if token:
                q["continuation-token"] = token
            root = ET.fromstring(self.request("GET", f"/{bucket}", q))
            for c in root.iter(f"{ns}Contents"):
                out[c.findtext(f"{ns}Key")] = (int(c.findtext(f"{ns}Size")), c.findtext(f"{ns}ETag").strip('"'))
            token = root.findtext(f"{ns}NextContinuationToken")
            if root.findtext(f"{ns}IsTruncated") != "true" or not token:
                return out

    def put(self, bucket: str, key: str, body: bytes) -> None:
        self.request("PUT", f"/{bucket}/{key}", body=body)

    def make_bucket(self, bucket: str) -> bool:
        """True if created, False if it was there already (ours)."""
        try:
            self.request("PUT", f"/{bucket}")
            return True
        except urllib.error.HTTPError as e:
            if e.code == 409 and b"BucketAlreadyOwnedByYou" in e.read():
                return False
            raise


def split_uri(uri: str) -> tuple[str, str]:
    u = urllib.parse.urlsplit(uri)
    if u.scheme not in ("s3", "s3a") or not u.netloc:
        raise SystemExit(f"not an s3:// URI: {uri}")
    return u.netloc, u.path.lstrip("/")


def client() -> S3:
    m = STACK["minio"]
    return S3(os.environ.get("AIRWAVE_S3_ENDPOINT", m["host_endpoint"]), *credentials(), m["region"])


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0] == "upload":
        src, (bucket, prefix) = Path(argv[1]), split_uri(argv[2])
        s3 = client()
        have = s3.stat(bucket, prefix)
        n = 0
        for f in sorted(p for p in src.rglob("*") if p.is_file()):
            key, body = prefix + f.relative_to(src).as_posix(), f.read_bytes()
            if have.get(key) != (len(body), hashlib.md5(body).hexdigest()):
                s3.put(bucket, key, body)
                n += 1
        print(f"uploaded {n} file(s) to s3://{bucket}/{prefix} ({len(have)} already there)")
        return 0
    if len(argv) == 2 and argv[0] == "ls":
        bucket, prefix = split_uri(argv[1])
        for key, size in sorted(client().list(bucket, prefix).items()):
            print(f"{size:>12}  s3://{bucket}/{key}")
        return 0
    if len(argv) == 2 and argv[0] == "mb":
        bucket, _ = split_uri(argv[1])
        print(f"{'created' if client().make_bucket(bucket) else 'exists'}: s3://{bucket}")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except urllib.error.URLError as e:
        sys.exit(f"s3: {e} (is MinIO up? `make status`)")
