"""docs/tutorial: every embedded step, run in order in a fresh copy of the repository, as a newcomer would
(tests/support/tutorial.py reads the blocks). The kind steps run on the sandbox with make e2e."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from support import tutorial
from testlib import ROOT

# What a fresh clone has, plus what `make` would otherwise build again: the venv, the pinned tools, the s3a jars.
SHARED = (".venv", ".tools", "stack/images/spark/jars")


def test_every_step_is_numbered_marked_and_has_commands():
    steps = tutorial.steps()
    assert [s.name[:2] for s in steps] == [f"{i:02d}" for i in range(1, len(steps) + 1)]
    assert len(steps) == 8
    for s in steps:
        assert any(b.kind == "run" for b in s.blocks) or s.where == "kind", s.name
        if s.where == "embedded":
            assert any(b.kind == "check" for b in s.blocks), f"{s.name}: nothing asserts what the reader sees"


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    installed = ROOT / ".venv" / ".installed"
    if not installed.exists() or any(
        (ROOT / f).stat().st_mtime > installed.stat().st_mtime for f in ("pyproject.toml", "constraints.txt")
    ):  # else make, in the copy, would reinstall the shared venv from the copy
        pytest.fail("the venv is older than pyproject.toml/constraints.txt: run `make env` first")
    dst = tmp_path_factory.mktemp("tutorial") / "airwave"
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split("\n")
    for f in filter(None, files):
        src = ROOT / f
        if src.is_file():
            (dst / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst / f)  # mtimes kept: make sees .venv as up to date
    for s in SHARED:
        if (ROOT / s).exists():
            shutil.rmtree(dst / s, ignore_errors=True)  # a tracked placeholder may have made the folder
            (dst / s).parent.mkdir(parents=True, exist_ok=True)
            (dst / s).symlink_to(ROOT / s)
    return dst


@pytest.mark.slow
@pytest.mark.parametrize("step", tutorial.steps("embedded"), ids=lambda s: s.name)
def test_embedded_step(step, clone):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "AIRWAVE_"))}
    for b in step.blocks:
        if b.kind == "file":
            (clone / b.path).parent.mkdir(parents=True, exist_ok=True)
            (clone / b.path).write_text(b.text)
    for b in step.blocks:
        if b.kind == "file":
            continue
        tutorial.run(step, b, clone, env, timeout=1200)
