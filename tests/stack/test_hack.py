"""hack/ scripts: syntax, stack.json lookups and overrides, the S3 signer, the Spark entrypoint."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from .conftest import ROOT, stack_json

sys.path.insert(0, str(ROOT / "hack"))
import s3  # noqa: E402

SHELL = sorted((ROOT / "hack").glob("*.sh")) + [ROOT / "stack/images/spark/entrypoint.sh"]


@pytest.mark.parametrize("script", SHELL, ids=lambda p: p.name)
def test_shell_scripts_parse_and_are_executable(script):
    subprocess.run(["bash", "-n", str(script)], check=True)
    assert script.name == "lib.sh" or os.access(script, os.X_OK)


def sh(code: str, **env) -> str:
    return subprocess.run(["bash", "-c", f". {ROOT}/hack/lib.sh; {code}"], check=True, capture_output=True, text=True,
                          env={**os.environ, **env}).stdout.strip()


def test_lib_reads_stack_json_and_env_overrides():
    st = stack_json()
    assert sh("sj images.airflow") == st["images"]["airflow"]
    assert sh("sj minio.buckets") == " ".join(st["minio"]["buckets"])
    assert sh("upstream_image minio", MINIO_IMAGE="") == st["upstream_images"]["minio"]
    assert sh("upstream_image minio", MINIO_IMAGE="mirror/minio:x") == "mirror/minio:x"
    assert sh('echo "$KUBE_CONTEXT"') == f"kind-{st['cluster_name']}"


def test_lite_profile_drops_the_worker_node():
    import yaml
    cluster_sh = (ROOT / "hack/cluster.sh").read_text()
    assert "sed '/^  - role: worker/,$d'" in cluster_sh
    out = subprocess.run(["sed", "/^  - role: worker/,$d", str(ROOT / "kind-config.yaml")], check=True,
                         capture_output=True, text=True).stdout
    lite = yaml.safe_load(out)
    assert [n["role"] for n in lite["nodes"]] == ["control-plane"]
    assert lite["nodes"][0]["extraPortMappings"] == yaml.safe_load((ROOT / "kind-config.yaml").read_text())["nodes"][0]["extraPortMappings"]


# AWS Signature V4: the published test-suite vectors (get-vanilla, query order) and S3's own example.
SUITE = dict(amz_date="20150830T123600Z", region="us-east-1", service="service", access_key="AKIDEXAMPLE",
             secret_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")


def test_sigv4_matches_published_vectors():
    a = s3.sigv4_authorization("GET", "example.amazonaws.com", "/", {}, {}, s3.EMPTY_SHA256, **SUITE)
    assert a.endswith("Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
    a = s3.sigv4_authorization("GET", "example.amazonaws.com", "/", {"Param2": "value2", "Param1": "value1"}, {},
                               s3.EMPTY_SHA256, **SUITE)
    assert a.endswith("Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500")
    a = s3.sigv4_authorization(
        "GET", "examplebucket.s3.amazonaws.com", "/test.txt", {},
        {"range": "bytes=0-9", "x-amz-content-sha256": s3.EMPTY_SHA256}, s3.EMPTY_SHA256, "20130524T000000Z",
        "us-east-1", "s3", "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    assert a == ("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                 "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                 "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")


def test_credentials_never_come_from_the_users_aws_env(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIA-REAL-USER-KEY")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "real-user-secret")
    monkeypatch.delenv("AIRWAVE_S3_ACCESS_KEY", raising=False)
    import base64
    secret = {"data": {k: base64.b64encode(v.encode()).decode()
                       for k, v in {"AWS_ACCESS_KEY_ID": "sandbox", "AWS_SECRET_ACCESS_KEY": "sandbox-secret"}.items()}}
    calls = []

    def fake_run(cmd, **kw):
        calls.append(cmd)
        return subprocess.CompletedProcess(cmd, 0, stdout=json.dumps(secret))
    monkeypatch.setattr(s3.subprocess, "run", fake_run)
    assert s3.credentials() == ("sandbox", "sandbox-secret")
    assert stack_json()["minio"]["credentials_secret"] in calls[0]
    assert f"kind-{stack_json()['cluster_name']}" in calls[0]


class FakeS3(BaseHTTPRequestHandler):
    """Just enough S3 for upload/list: PUT stores, GET ?list-type=2 lists 2 keys per page."""
    objects: dict[str, bytes] = {}

    def log_message(self, *a):
        pass

    def do_PUT(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        assert self.headers["x-amz-content-sha256"] == hashlib.sha256(body).hexdigest()
        assert self.headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=ak/")
        from urllib.parse import unquote
        self.objects[unquote(self.path).lstrip("/")] = body
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        from urllib.parse import parse_qs, urlsplit
        u = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        bucket = u.path.strip("/")
        keys = sorted(k[len(bucket) + 1:] for k in self.objects if k.startswith(bucket + "/"))
        keys = [k for k in keys if k.startswith(q.get("prefix", ""))]
        start = int(q.get("continuation-token", 0))
        page, more = keys[start:start + 2], start + 2 < len(keys)
        xml = ('<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
               + "".join(f"<Contents><Key>{escape(k)}</Key><Size>{len(self.objects[bucket + '/' + k])}</Size>"
                         f"<ETag>&quot;{hashlib.md5(self.objects[bucket + '/' + k]).hexdigest()}&quot;</ETag></Contents>"
                         for k in page)
               + f"<IsTruncated>{'true' if more else 'false'}</IsTruncated>"
               + (f"<NextContinuationToken>{start + 2}</NextContinuationToken>" if more else "")
               + "</ListBucketResult>").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(xml)))
        self.end_headers()
        self.wfile.write(xml)


def test_upload_and_paginated_list(tmp_path, monkeypatch, capsys):
    srv = ThreadingHTTPServer(("127.0.0.1", 0), FakeS3)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("AIRWAVE_S3_ENDPOINT", f"http://127.0.0.1:{srv.server_address[1]}")
        monkeypatch.setenv("AIRWAVE_S3_ACCESS_KEY", "ak")
        monkeypatch.setenv("AIRWAVE_S3_SECRET_KEY", "sk")
        src = tmp_path / "data"
        (src / "sub").mkdir(parents=True)
        for name in ("a.wav", "b.wav", "c.wav", "sub/d e.wav"):
            (src / name).write_bytes(name.encode())
        assert s3.main(["upload", str(src), "s3://raw/in/"]) == 0
        assert "uploaded 4 file(s)" in capsys.readouterr().out
        assert s3.client().list("raw", "in/") == {f"in/{n}": len(n) for n in ("a.wav", "b.wav", "c.wav", "sub/d e.wav")}
        assert s3.main(["upload", str(src), "s3://raw/in/"]) == 0  # unchanged files are skipped
        assert "uploaded 0 file(s)" in capsys.readouterr().out
    finally:
        srv.shutdown()


def test_spark_executor_entrypoint_builds_the_backend_command(tmp_path):
    java = tmp_path / "jdk/bin/java"
    java.parent.mkdir(parents=True)
    java.write_text('#!/bin/sh\nfor a in "$@"; do echo "$a"; done\n')
    java.chmod(0o755)
    env = {"PATH": os.environ["PATH"], "JAVA_HOME": str(tmp_path / "jdk"), "SPARK_HOME": "/opt/spark",
           "SPARK_EXECUTOR_MEMORY": "2g", "SPARK_DRIVER_URL": "spark://CoarseGrainedScheduler@10.0.0.5:7078",
           "SPARK_EXECUTOR_ID": "3", "SPARK_EXECUTOR_CORES": "1", "SPARK_APPLICATION_ID": "spark-app-1",
           "SPARK_EXECUTOR_POD_IP": "10.0.0.9", "SPARK_RESOURCE_PROFILE_ID": "0", "SPARK_EXECUTOR_POD_NAME": "ex-3",
           "SPARK_JAVA_OPT_10": "-Dten", "SPARK_JAVA_OPT_2": "-Dtwo", "SPARK_JAVA_OPT_0": "-Dzero"}
    out = subprocess.run([str(ROOT / "stack/images/spark/entrypoint.sh"), "executor"], env=env, check=True,
                         capture_output=True, text=True).stdout.splitlines()
    assert out[:3] == ["-Dzero", "-Dtwo", "-Dten"], "JVM options keep Spark's numeric order"
    assert out[3:7] == ["-Xms2g", "-Xmx2g", "-cp", "/opt/spark/conf:/opt/spark/jars/*"]
    assert out[7] == "org.apache.spark.scheduler.cluster.k8s.KubernetesExecutorBackend"
    args = dict(zip(out[8::2], out[9::2]))
    assert args == {"--driver-url": env["SPARK_DRIVER_URL"], "--executor-id": "3", "--cores": "1",
                    "--app-id": "spark-app-1", "--hostname": "10.0.0.9", "--resourceProfileId": "0",
                    "--podName": "ex-3"}
    # anything else is run as given (the driver pod's own command)
    assert subprocess.run([str(ROOT / "stack/images/spark/entrypoint.sh"), "echo", "hi"], capture_output=True,
                          text=True, check=True).stdout == "hi\n"
