"""Download the micropip and packaging wheels that the pinned Pyodide expects (versions read from
node_modules/pyodide/pyodide-lock.json) into tests/browser/wheels/, through pip.

The npm package ships no package wheels, so the browser test that installs the calc wheel with
micropip.install() serves these to the page itself.  Run once before the tests (the README's test
command does).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
LOCK = HERE.parents[1] / "node_modules" / "pyodide" / "pyodide-lock.json"
WHEELS = HERE / "wheels"
PACKAGES = ("micropip", "packaging")


def wanted() -> dict[str, str]:
    """{package: wheel file name} as the Pyodide lock file names them."""
    lock = json.loads(LOCK.read_text("utf-8"))
    return {name: lock["packages"][name]["file_name"] for name in PACKAGES}


def main() -> int:
    files = wanted()
    if all((WHEELS / f).is_file() for f in files.values()):
        return 0
    lock = json.loads(LOCK.read_text("utf-8"))
    python = ".".join(lock["info"]["python"].split(".")[:2])
    pins = [f"{name}=={lock['packages'][name]['version']}" for name in PACKAGES]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary=:all:",
            "--python-version",
            python,
            "--dest",
            str(WHEELS),
            *pins,
        ],
        check=True,
    )
    missing = [f for f in files.values() if not (WHEELS / f).is_file()]
    if missing:
        raise SystemExit(f"fetch_wheels.py: pip did not produce {missing}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
