"""The Python examples of the README and the manual (``docs/*.md``) run as written.

Each page's ``python`` blocks run in order in one fresh interpreter, in an empty folder with
its own cache (a block whose first line is ``# NAME.py`` is written to that file instead, as
the page asks the reader to do). A block that cannot run here says so in its first line,
``# not run: <why>``. The default suite compiles every block; the ``long`` run executes them.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FILE_BLOCK = re.compile(r"# (\w+\.py)\n")


def blocks(page):
    return re.findall(r"^```python\n(.*?)^```", page.read_text(encoding="utf-8"),
                      re.DOTALL | re.MULTILINE)


EXAMPLES = [page for page in PAGES if blocks(page)]


def test_every_example_compiles_or_says_why_it_is_not_run():
    assert EXAMPLES, "no examples found"
    for page in EXAMPLES:
        for number, block in enumerate(blocks(page), 1):
            compile(block, f"{page.name} block {number}", "exec")
            first = block.splitlines()[0]
            assert not first.startswith("# not run") or len(first) > len("# not run: "), (
                f"{page.name} block {number}: say why it is not run")


@pytest.mark.long
@pytest.mark.parametrize("page", EXAMPLES, ids=lambda page: page.name)
def test_examples_run_as_written(page, tmp_path):
    sweeps = tmp_path / "experiments" / "sweeps"  # examples refer to repository paths
    sweeps.mkdir(parents=True)
    shutil.copy(ROOT / "experiments" / "sweeps" / "example.toml", sweeps)
    script = []
    for block in blocks(page):
        if block.startswith("# not run"):
            continue
        name = FILE_BLOCK.match(block)
        if name:
            (tmp_path / name.group(1)).write_text(block, encoding="utf-8")
        else:
            script.append(block)
    if not script:
        pytest.skip(f"{page.name}: no block runs here")
    env = {**os.environ, "BRAINCONV_CACHE": str(tmp_path / "cache"), "MPLBACKEND": "Agg"}
    done = subprocess.run([sys.executable, "-c", "\n".join(script)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"{page.name}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
