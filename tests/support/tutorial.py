"""The tutorial (docs/tutorial/NN-*.md) as the tests run it: each step's marked code blocks, in order.

- ```bash run``` what the reader types; ```bash check``` asserts what the step says they will see;
- ```python file=PATH``` a file the reader creates (written before the step's commands run);
- anything else is sample output, not run.
A step's first line says where it runs: `<!-- tutorial: embedded -->` (make test) or `<!-- tutorial: kind -->`
(the running sandbox, with make e2e); `<!-- tutorial: kind, tilt up -->` also needs Tilt watching the files, as
`make up` leaves it (the test starts one when none is running).
"""

from __future__ import annotations

import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TUTORIAL = ROOT / "docs" / "tutorial"
_BLOCK = re.compile(r"^```(\w+)([^\n]*)\n(.*?)^```\s*$", re.M | re.S)
_WHERE = re.compile(r"<!-- tutorial: (embedded|kind)(, tilt up)? -->")


@dataclass
class Block:
    kind: str  # run | check | file
    text: str
    path: str = ""


@dataclass
class Step:
    path: Path
    where: str
    tilt: bool = False  # needs a running `tilt up`
    blocks: list[Block] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.stem


def steps(where: str | None = None) -> list[Step]:
    out = []
    for md in sorted(TUTORIAL.glob("[0-9][0-9]-*.md")):
        text = md.read_text()
        m = _WHERE.search(text.split("\n", 1)[0])
        if not m:
            raise ValueError(f"{md}: first line must be <!-- tutorial: embedded|kind[, tilt up] -->")
        step = Step(md, m.group(1), tilt=bool(m.group(2)))
        for lang, info, body in _BLOCK.findall(text):
            words = info.split()
            if lang == "bash" and words[:1] in (["run"], ["check"]):
                step.blocks.append(Block(words[0], body))
            elif words and words[0].startswith("file="):
                step.blocks.append(Block("file", body, words[0][len("file=") :]))
        out.append(step)
    return [s for s in out if where is None or s.where == where]


def run(step: Step, block: Block, cwd: Path, env: dict[str, str], timeout: float) -> None:
    """One `run` or `check` block in bash (-euo pipefail), as the reader would type it; fails with its output."""
    t0 = time.monotonic()
    cmd = ["bash", "-euo", "pipefail", "-c", block.text]
    p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    print(f"[{step.name}] {block.kind} block: exit {p.returncode} in {time.monotonic() - t0:.0f}s\n{p.stdout[-2000:]}")
    out = (p.stdout[-4000:] + p.stderr[-4000:]).strip()
    assert p.returncode == 0, f"{step.name}: {block.kind} block failed\n{block.text}\n--- output ---\n{out}"
