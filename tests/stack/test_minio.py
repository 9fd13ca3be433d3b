"""The object-store half of the stack against a real MinIO server on this machine (tests/support/localstack.py):
tests/support/s3.py (pyarrow, what Tilt and `make e2e` use from the host), airwave.storage on s3a://, and
`airwave run` with s3a:// input and output through Spark's hadoop-aws + AWS SDK v2 jars (the ones the Spark
image bakes in). Needs `hack/tools.sh minio jars apiserver` (make test runs it)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest
from kubernetes import client as k8s

from airwave import retention, sampling, storage
from support import localstack, s3

from .conftest import ROOT

SAMPLE = ROOT / "sample_data"
MANIFEST = json.loads((SAMPLE / "manifest.json").read_text())
JARS = ROOT / "stack" / "images" / "spark" / "jars"


@pytest.fixture(scope="module")
def minio(tmp_path_factory):
    with localstack.minio(tmp_path_factory.mktemp("minio"), buckets=["raw", "runs"]) as env:
        yield env


@pytest.fixture
def s3env(minio, monkeypatch):
    for k, v in minio.items():
        monkeypatch.setenv(k, v)
    return minio


def test_s3_tool_uploads_only_what_changed(minio, tmp_path):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("alpha")
    (src / "sub" / "b.bin").write_bytes(os.urandom(5000))
    assert "uploaded 2 file(s)" in localstack.s3(minio, "upload", str(src), "s3://raw/t1/")
    assert "uploaded 0 file(s)" in localstack.s3(minio, "upload", str(src), "s3://raw/t1/")
    (src / "a.txt").write_text("ALPHA")  # same size, new bytes: must go up again
    assert "uploaded 1 file(s)" in localstack.s3(minio, "upload", str(src), "s3://raw/t1/")
    listing = localstack.s3(minio, "ls", "s3://raw/t1/")
    assert "s3://raw/t1/a.txt" in listing and "s3://raw/t1/sub/b.bin" in listing and "5000" in listing
    assert localstack.s3(minio, "mb", "s3://raw").startswith("exists")
    assert localstack.s3(minio, "mb", "s3://fresh").startswith("created")


def test_s3_tool_rejects_wrong_credentials(minio, tmp_path):
    (tmp_path / "x").write_text("x")
    with pytest.raises(RuntimeError, match="SIGNATURE_DOES_NOT_MATCH|INVALID_ACCESS_KEY_ID"):
        localstack.s3({**minio, "AIRWAVE_S3_SECRET_KEY": "wrong"}, "upload", str(tmp_path), "s3://raw/nope/")


def test_s3_tool_takes_the_cluster_secret_never_the_users_aws_credentials(minio, tmp_path, monkeypatch):
    """With no AIRWAVE_S3_* keys the tool reads the minio-credentials Secret of context kind-<cluster> (here: a real
    API server on this machine) and authenticates with that, while the environment is full of someone's AWS
    settings (keys, profile, credentials and config files, endpoint) that MinIO refuses."""
    stack = s3.STACK
    for k in ("AIRWAVE_S3_ACCESS_KEY", "AIRWAVE_S3_SECRET_KEY"):
        monkeypatch.delenv(k, raising=False)
    aws = tmp_path / "aws"
    aws.write_text(
        "[default]\naws_access_key_id = AKIAUSERKEY\naws_secret_access_key = user-secret\n"
        "[profile default]\nregion = eu-west-1\n"
    )
    users_aws = {
        "AWS_ACCESS_KEY_ID": "AKIAUSERKEY",
        "AWS_SECRET_ACCESS_KEY": "user-secret",
        "AWS_SESSION_TOKEN": "t",
        "AWS_PROFILE": "default",
        "AWS_SHARED_CREDENTIALS_FILE": str(aws),
        "AWS_CONFIG_FILE": str(aws),
        "AWS_ENDPOINT_URL": minio["AIRWAVE_S3_ENDPOINT"],
        "AWS_REGION": "eu-west-1",
    }
    # the control: whatever picks its credentials from this environment is refused
    probe = (
        "import pyarrow.fs as f, sys; f.S3FileSystem(endpoint_override=sys.argv[1], scheme='http')"
        ".get_file_info(f.FileSelector('raw'))"
    )
    r = subprocess.run(
        [sys.executable, "-c", probe, minio["AIRWAVE_S3_ENDPOINT"].removeprefix("http://")],
        env={**os.environ, **users_aws},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode and "INVALID_ACCESS_KEY_ID" in r.stderr, r.stderr[-2000:]

    (tmp_path / "up").mkdir()
    (tmp_path / "up" / "x.txt").write_text("from the sandbox keys")
    with localstack.apiserver(tmp_path / "apiserver") as (url, token, ca):
        cfg = k8s.Configuration()
        cfg.host, cfg.ssl_ca_cert, cfg.api_key = url, ca, {"authorization": f"Bearer {token}"}
        core = k8s.CoreV1Api(k8s.ApiClient(cfg))
        core.create_namespace(k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name=stack["namespace"])))
        keys = stack["minio"]["credentials_keys"]
        core.create_namespaced_secret(
            stack["namespace"],
            k8s.V1Secret(
                metadata=k8s.V1ObjectMeta(name=stack["minio"]["credentials_secret"]),
                string_data={
                    keys["AWS_ACCESS_KEY_ID"]: minio["AWS_ACCESS_KEY_ID"],
                    keys["AWS_SECRET_ACCESS_KEY"]: minio["AWS_SECRET_ACCESS_KEY"],
                },
            ),
        )
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "current-context": "elsewhere",
                    "clusters": [{"name": "local", "cluster": {"server": url, "certificate-authority": ca}}],
                    "users": [{"name": "admin", "user": {"token": token}}],
                    "contexts": [
                        {"name": f"kind-{stack['cluster_name']}", "context": {"cluster": "local", "user": "admin"}},
                        {"name": "elsewhere", "context": {"cluster": "local", "user": "nobody"}},
                    ],
                }
            )
        )
        out = localstack.s3(
            {**users_aws, "AIRWAVE_S3_ENDPOINT": minio["AIRWAVE_S3_ENDPOINT"], "KUBECONFIG": str(kubeconfig)},
            "upload",
            str(tmp_path / "up"),
            "s3://raw/keys/",
        )
    assert "uploaded 1 file(s)" in out
    fs = s3.filesystem(minio["AIRWAVE_S3_ENDPOINT"], (minio["AWS_ACCESS_KEY_ID"], minio["AWS_SECRET_ACCESS_KEY"]))
    with fs.open_input_stream("raw/keys/x.txt") as f:
        assert f.read() == b"from the sandbox keys"


def test_storage_round_trip_on_s3a(s3env):
    base = "s3a://runs/storage-test"
    storage.write_text(storage.join(base, "a", "x.json"), '{"k": 1}')
    storage.write_bytes(storage.join(base, "a", "b", "y.bin"), b"\x00\x01")
    assert storage.read_bytes(storage.join(base, "a", "x.json")) == b'{"k": 1}'
    assert storage.exists(storage.join(base, "a", "b", "y.bin"))
    listed = storage.list_files(storage.join(base, "a"))
    assert sorted(u.rsplit("/", 1)[-1] for u in listed) == ["x.json", "y.bin"]
    storage.remove_tree(storage.join(base, "a"))
    assert not storage.exists(storage.join(base, "a", "x.json"))


def test_retention_and_sampling_on_s3a(s3env):
    """The audio_retention / production_sampling logic on MinIO: object mtimes come from S3 listings, deletes stay
    inside the policy's prefix (a sibling whose name merely starts the same is untouched), a sample copies across."""
    for key in ("ret/a.wav", "ret/deep/b.wav", "ret-keep/c.wav"):
        storage.write_bytes(f"s3a://raw/{key}", b"RIFF" + key.encode())
    now = datetime.now(UTC)
    rec = sampling.sample(
        "s3a://raw/ret/",
        "s3a://runs/eval/ret/",
        start=now - timedelta(hours=1),
        end=now + timedelta(hours=1),
        rate=1.0,
        seed="s",
        manifest_uri="s3a://runs/eval/m.json",
    )
    assert sorted(x["path"] for x in rec["sampled"]) == ["a.wav", "deep/b.wav"]
    assert storage.read_bytes("s3a://runs/eval/ret/deep/b.wav") == b"RIFFret/deep/b.wav"

    later = now + timedelta(days=2)
    pol = [{"prefix": "s3a://raw/ret", "keep_days": 1}]
    dry = retention.apply(pol, now=later)
    assert dry["deleted_count"] == 2 and storage.exists("s3a://raw/ret/a.wav")
    rec = retention.apply(pol, now=later, dry_run=False, audit_uri="s3a://runs/audit/r.json")
    assert sorted(d["uri"] for d in rec["deleted"]) == ["s3a://raw/ret/a.wav", "s3a://raw/ret/deep/b.wav"]
    assert not storage.exists("s3a://raw/ret/a.wav") and storage.exists("s3a://raw/ret-keep/c.wav")
    assert json.loads(storage.read_bytes("s3a://runs/audit/r.json"))["deleted_count"] == 2
    assert retention.apply(pol, now=now)["deleted_count"] == 0


def _objects(prefix: str) -> dict[str, str]:
    """key -> md5 of every object under s3://runs/<prefix>."""
    fs, _ = storage.filesystem("s3a://runs/")
    out = {}
    for info in fs.get_file_info(pafs.FileSelector(f"runs/{prefix}", recursive=True)):
        if info.type.name == "File":
            with fs.open_input_stream(info.path) as f:
                out[info.path.removeprefix(f"runs/{prefix}")] = hashlib.md5(f.read()).hexdigest()
    return out


@pytest.mark.slow
def test_pipeline_reads_and_writes_minio_through_s3a(minio, monkeypatch):
    if not list(JARS.glob("hadoop-aws-*.jar")):
        pytest.fail(f"s3a jars missing in {JARS}: run `hack/tools.sh jars`")
    localstack.s3(minio, "upload", str(SAMPLE), "s3://raw/sample_data/")
    env = {**os.environ, **minio, "AIRWAVE_SPARK_JARS": str(JARS)}
    run = ["s3a://raw/sample_data/", "--out", "s3a://runs/t/run1", "--refs", "s3a://raw/sample_data/manifest.json"]

    def airwave():
        r = subprocess.run(
            [sys.executable, "-m", "airwave", "run", *run],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
        return r.stdout

    stdout = airwave()
    assert "Transcripts: s3a://runs/t/run1/calls" in stdout
    for k, v in minio.items():
        monkeypatch.setenv(k, v)
    first = _objects("t/run1/")
    for name in [*MANIFEST["calls"], *MANIFEST["silent"]]:
        stem = name.rsplit(".", 1)[0]
        assert {f"calls/{stem}.json", f"calls/{stem}.srt", f"calls/{stem}.vtt"} <= first.keys(), name
    assert not any(k.startswith("calls/broken_") for k in first)

    rep = json.loads(storage.read_bytes("s3a://runs/t/run1/eval/report.json"))
    assert set(rep["per_call"]) == set(MANIFEST["calls"]) and rep["overall"]["wer"] <= 0.15, rep["overall"]
    fs, path = storage.filesystem("s3a://runs/t/run1/preprocess/rejects")
    rejects = {r["call_id"]: r["reason"] for r in pq.read_table(path, filesystem=fs).to_pylist()}
    assert rejects == MANIFEST["rejects"]

    storage.write_text("s3a://runs/t/run1/calls/stale.json", "{}")  # a leftover must not survive a rerun
    airwave()
    second = _objects("t/run1/")
    calls = {k: v for k, v in first.items() if k.startswith("calls/")}
    assert {k: v for k, v in second.items() if k.startswith("calls/")} == calls  # same bytes, no duplicates


@pytest.mark.slow
def test_awkward_names_each_get_their_own_transcript_on_minio(minio, monkeypatch):
    """The local test's inputs (tests/support/awkward.py) as S3 keys: `#`, `?`, `%`, spaces, unicode, `:` ... are
    kept verbatim in keys, call ids and output keys; none merges with another or is lost."""
    from support import awkward

    for k, v in minio.items():
        monkeypatch.setenv(k, v)
    expected = awkward.populate(lambda name, data: storage.write_bytes(f"s3a://raw/awkward/{name}", data))
    env = {**os.environ, **minio, "AIRWAVE_SPARK_JARS": str(JARS)}
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "airwave",
            "run",
            "s3a://raw/awkward/",
            "--out",
            "s3a://runs/awkward",
            "--max-input-mb",
            str(awkward.MAX_INPUT_MB),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    calls = "s3a://runs/awkward/calls/"
    docs = {
        u[len(calls) : -len(".json")]: json.loads(storage.read_bytes(u))
        for u in storage.list_files(calls)
        if u.endswith(".json")
    }
    awkward.check_run(json.loads(storage.read_bytes("s3a://runs/awkward/report.json")), docs, expected)


def test_bad_s3_settings_are_caught_before_spark(s3env):
    """What `airwave run`, the operator and the DAG's check_settings check on s3a:// before any cluster starts."""
    from airwave import settings

    storage.write_text("s3a://raw/sidecars-only/manifest.json", "{}")
    storage.write_text("s3a://raw/bad-refs.json", '{"schema": "airwave.references/v1", "calls": []}')
    for uri, says in [
        ("s3a://raw/no-such-prefix/", "no such folder"),
        ("s3a://no-such-bucket/x/", "no such folder"),
        ("s3a://raw/sidecars-only/", "holds no audio"),
    ]:
        with pytest.raises(settings.SettingsError, match=says):
            settings.check_input(uri)
    with pytest.raises(settings.SettingsError, match="no such file"):
        settings.check_refs("s3a://raw/missing.json")
    with pytest.raises(settings.SettingsError, match='"calls" must be an object'):
        settings.check_refs("s3a://raw/bad-refs.json")
    storage.write_bytes("s3a://raw/one/call#1.wav", (SAMPLE / "voicemail_pcm.wav").read_bytes())
    assert settings.check_input("s3a://raw/one/") == 1
