"""docs/tutorial's kind steps on the running sandbox (make e2e, after make up): every `bash run` and `bash check`
block in order, from the repository root, as the reader runs them — including the Airflow UI check in headless
Chromium (tests/support/ui.py), whose screenshot goes to out/tutorial/img/."""

from __future__ import annotations

import os

import pytest

from support import tutorial, ui
from testlib import ROOT

pytestmark = [pytest.mark.kind, pytest.mark.e2e]  # make test skips it; make e2e runs it
# Steps with commands to run (8, `make down`, is CI's own last step).
STEPS = [s for s in tutorial.steps("kind") if any(b.kind in ("run", "check") for b in s.blocks)]


@pytest.mark.parametrize("step", STEPS, ids=lambda s: s.name)
def test_sandbox_step(step):
    if (why := ui.available()) and any("check-ui" in b.text for b in step.blocks):
        pytest.fail(f"the tutorial's UI check needs a browser here: {why}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRWAVE_")}
    for b in step.blocks:
        if b.kind == "file":
            pytest.fail(f"{step.name}: a kind step creates files through its commands, not `file=` blocks")
        tutorial.run(step, b, ROOT, env, timeout=2400)
