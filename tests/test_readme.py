"""The README's two commands are the ones CI and a new user run; its CLI example is real output."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text("utf-8")


def test_ci_runs_the_readme_test_command():
    test_cmd = re.search(r"## Run the tests\s+```sh\n(.+?)\n```", README, re.S).group(1).strip()
    assert test_cmd in (ROOT / ".ci/run").read_text("utf-8").splitlines()


def test_readme_cli_example_is_current():
    block = re.search(r"```console\n\$ (python -m calc estimate [^\n]+)\n(.*?)\n\.\.\.\n```", README, re.S)
    args = block.group(1).split()[3:]
    out = subprocess.run([sys.executable, "-m", "calc", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.startswith(block.group(2))


def test_layout_table_names_every_module():
    """A newcomer finds every module of the core from the README's layout table."""
    table = README[README.index("## Layout") : README.index("### Adding things")]
    modules = [p for p in (ROOT / "calc").glob("*.py") if not p.name.startswith("__")]
    packages = [p for p in (ROOT / "calc").iterdir() if (p / "__init__.py").exists()]
    missing = [p.name for p in modules if f"calc/{p.name}" not in table]
    missing += [p.name for p in packages if f"calc/{p.name}/" not in table]
    assert missing == []


def test_lock_pins_every_declared_dependency_with_hashes():
    """requirements.lock (what CI installs, hash-checked) pins each test and build dependency at the
    version pyproject.toml declares, and every package it lists carries hashes."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    declared = {d for extra in project["project"]["optional-dependencies"].values() for d in extra}
    declared |= set(project["build-system"]["requires"])
    lock = (ROOT / "requirements.lock").read_text("utf-8")
    pins = re.findall(r"^([A-Za-z0-9_.-]+==[^ \\]+) \\\n((?:    --hash=sha256:[0-9a-f]{64}[ \\\n]*)+)", lock, re.M)
    pinned = {name.lower() for name, _ in pins}
    assert pins and len(pins) == len(re.findall(r"^[A-Za-z0-9_.-]+==", lock, re.M))
    assert {d.lower() for d in declared} <= pinned
