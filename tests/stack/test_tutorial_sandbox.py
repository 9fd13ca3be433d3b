"""docs/tutorial's kind steps on the running sandbox (make e2e, after make up): every `bash run` and `bash check`
block in order, from the repository root, as the reader runs them — including the Airflow UI and MinIO console
checks in headless Chromium (tests/support/ui.py), whose screenshots go to out/tutorial/img/. A step that needs
Tilt watching the files (the stage edit loop) gets the reader's running `tilt up`, or one started for it."""

from __future__ import annotations

import contextlib
import os

import pytest

from support import sandbox, tutorial, ui
from testlib import ROOT

pytestmark = [pytest.mark.kind, pytest.mark.e2e]  # make test skips it; make e2e runs it
# Steps with commands to run (8, `make down`, is CI's own last step).
STEPS = [s for s in tutorial.steps("kind") if any(b.kind in ("run", "check") for b in s.blocks)]


@contextlib.contextmanager
def source_kept():
    """The step edits src/ as the reader would and undoes it; whatever it leaves changed is put back here."""
    before = {p: p.read_bytes() for p in (ROOT / "src").rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    try:
        yield
    finally:
        for p, data in before.items():
            if not p.exists() or p.read_bytes() != data:
                p.write_bytes(data)


@pytest.mark.parametrize("step", STEPS, ids=lambda s: s.name)
def test_sandbox_step(step):
    if (why := ui.available()) and any(c in b.text for b in step.blocks for c in ("check-ui", "check-console")):
        pytest.fail(f"the tutorial's UI check needs a browser here: {why}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRWAVE_")}
    with contextlib.ExitStack() as stack:
        if step.tilt:
            stack.enter_context(sandbox.tilt_up(ROOT / "out" / "tutorial" / "tilt.log"))
            stack.enter_context(source_kept())  # inside: Tilt settles after the source is back
        for b in step.blocks:
            if b.kind == "file":
                pytest.fail(f"{step.name}: a kind step creates files through its commands, not `file=` blocks")
            tutorial.run(step, b, ROOT, env, timeout=2400)
