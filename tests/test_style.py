"""The code style CI holds the tree to: ruff's lint rules and its formatter, configured in pyproject.toml."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def ruff() -> list[str]:
    """The ruff the test extras pin: the module in this interpreter, else the one on PATH."""
    try:
        import ruff as _  # noqa: F401 - only to see that it is installed here
    except ImportError:
        found = shutil.which("ruff")
        if found is None:
            pytest.fail("ruff is not installed: pip install -e '.[test]'")
        return [found]
    return [sys.executable, "-m", "ruff"]


@pytest.mark.parametrize("args", [["check", "."], ["format", "--check", "."]], ids=["lint", "format"])
def test_ruff(args):
    done = subprocess.run([*ruff(), *args], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]


def test_test_files_have_unique_basenames():
    """`python -m pytest` (the README's command) collects tests/ and tests/browser/ in one run with
    pytest's default import mode, which refuses two test modules of one basename (no __init__.py)."""
    names: dict[str, list[str]] = {}
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        names.setdefault(path.name, []).append(str(path.relative_to(ROOT)))
    assert {name: paths for name, paths in names.items() if len(paths) > 1} == {}
