"""The in-cluster git server (stack/git-server/server.py) run locally: hack/push-dags.sh pushes the
working tree's dags/ + src/ to it, a shallow clone (what git-sync does) gets them back, and a push
larger than git's post buffer (chunked transfer encoding) goes through."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from support import localstack

from .conftest import ROOT, stack_json


@pytest.fixture()
def server(tmp_path):
    with localstack.git_server(tmp_path / "git") as url:
        yield url


def git(*args, cwd=None):
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


def tracked(root: Path) -> set[str]:
    return {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and ".git" not in p.parts and ".egg-info" not in str(p)
    }


def test_push_dags_then_shallow_clone(server, tmp_path):
    env = dict(os.environ, DAGS_MIRROR=str(tmp_path / "mirror"))
    for _ in range(2):  # the second push has nothing new and must still succeed
        out = subprocess.run(
            [str(ROOT / "hack/push-dags.sh"), server], env=env, check=True, capture_output=True, text=True
        ).stdout
        assert "pushed" in out
    clone = tmp_path / "clone"
    git("clone", "-q", "--depth", "1", "-b", stack_json()["git_server"]["branch"], server, str(clone))
    # the repo mirrors the working tree's dags/ and src/ (what Airflow's dags folder and PYTHONPATH point at)
    assert tracked(clone / "src") == tracked(ROOT / "src") and "airwave/cluster/defaults.json" in tracked(clone / "src")
    assert tracked(clone / "dags") - {".keep"} == (tracked(ROOT / "dags") if (ROOT / "dags").is_dir() else set())
    defaults = "src/airwave/cluster/defaults.json"  # the DAGs import airwave, which reads it
    assert (clone / defaults).read_bytes() == (ROOT / defaults).read_bytes()


def test_large_push_uses_chunked_encoding_and_fetch_sees_it(server, tmp_path):
    work = tmp_path / "work"
    git("init", "-q", "-b", "main", str(work))
    (work / "big.bin").write_bytes(os.urandom(3 * 1024 * 1024))  # > http.postBuffer (1 MiB)
    git("add", "-A", cwd=work)
    git("commit", "-qm", "big", cwd=work)
    git("push", "-q", "--force", server, "HEAD:main", cwd=work)
    head = git("rev-parse", "HEAD", cwd=work).strip()
    assert git("ls-remote", server, "refs/heads/main").split()[0] == head


def test_concurrent_pushes_all_succeed(server, tmp_path):
    # Tilt's dags-push fires on the same file change that a user (or the tutorial) pushes by hand: the two runs share
    # the mirror repo and must not delete each other's copy of dags/ (a CI `make e2e` failed on exactly that).
    env = dict(os.environ, DAGS_MIRROR=str(tmp_path / "mirror"))
    cmd = [str(ROOT / "hack/push-dags.sh"), server]
    procs = [
        subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(6)
    ]
    errs = [p.communicate()[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 6, errs
    clone = tmp_path / "clone"
    git("clone", "-q", "--depth", "1", "-b", stack_json()["git_server"]["branch"], server, str(clone))
    assert tracked(clone / "src") == tracked(ROOT / "src")
