"""The sandbox's pinned MinIO image (sandbox.json upstream_images.minio, or MINIO_IMAGE) in a throwaway container
(testcontainers), with a real put/list/get through tests/support/s3.py: the image the cluster runs speaks what the
host-side helper sends. Marked `kind` (make kind-test): it needs Docker with the image already present, pulled or
built by `make offline-images`; nothing is pulled here."""

from __future__ import annotations

import os
import secrets

import pytest

from support.s3 import STACK, filesystem, stat, upload

pytestmark = pytest.mark.kind
IMAGE = os.environ.get("MINIO_IMAGE") or STACK["upstream_images"]["minio"]


@pytest.fixture(scope="module")
def minio():
    docker = pytest.importorskip("docker")
    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as e:
        pytest.skip(f'no Docker engine (eval "$(hack/docker-up.sh)" starts one): {e}')
    try:
        client.images.get(IMAGE)
    except docker.errors.ImageNotFound:
        pytest.skip(f"{IMAGE} is not present locally (make offline-images builds it); this test pulls nothing")
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.wait_strategies import HttpWaitStrategy

    user, password = "airwave-" + secrets.token_hex(4), secrets.token_hex(16)
    container = (
        DockerContainer(IMAGE)
        .with_command("server /data")
        .with_env("MINIO_ROOT_USER", user)
        .with_env("MINIO_ROOT_PASSWORD", password)
        .with_exposed_ports(9000)
        .waiting_for(HttpWaitStrategy(9000, "/minio/health/ready").with_startup_timeout(120))
    )
    # Ryuk (testcontainers' reaper) is an image of its own that cannot be pulled here; leaving the `with` removes the
    # container instead.
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
        with container:
            endpoint = f"http://{container.get_container_host_ip()}:{container.get_exposed_port(9000)}"
            yield filesystem(endpoint, (user, password))


def test_put_list_get_through_the_s3_helper(minio, tmp_path):
    minio.create_dir("raw")
    src = tmp_path / "calls"
    (src / "sub").mkdir(parents=True)
    (src / "a.wav").write_bytes(b"RIFF" + os.urandom(3000))
    (src / "sub" / "b c.json").write_text('{"k": 1}')
    assert upload(minio, src, "raw", "in/") == (2, 0)
    assert upload(minio, src, "raw", "in/") == (0, 2)  # unchanged: nothing goes up again
    assert {k: i.size for k, i in stat(minio, "raw", "in/").items()} == {"in/a.wav": 3004, "in/sub/b c.json": 8}
    with minio.open_input_stream("raw/in/a.wav") as f:
        assert f.read() == (src / "a.wav").read_bytes()
