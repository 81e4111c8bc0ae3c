"""Download the micropip and packaging wheels that the pinned Pyodide expects (versions read from
node_modules/pyodide/pyodide-lock.json) into tests/browser/wheels/, through pip.

The npm package ships no package wheels, so the browser test that installs the calc wheel with
micropip.install() serves these to the page itself.  Run once before the tests (the README's test
command does).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
LOCK = HERE.parents[1] / "node_modules" / "pyodide" / "pyodide-lock.json"
WHEELS = HERE / "wheels"
PACKAGES = ("micropip", "packaging")
# sha256 of each wheel as published on the package index (pip checks it while downloading, and this
# script again before the tests use it).  Pyodide's lock lists the hash of its own rebuild of the
# wheel, which differs, so the published one is recorded here: a Pyodide bump that wants another
# version stops here until its hash is added.
SHA256 = {
    "micropip-0.11.1-py3-none-any.whl": "768de165adb8e66906039d8fec4127a57f522dfdf8e6fbff877a4616941ecfd3",
    "packaging-26.1-py3-none-any.whl": "5d9c0669c6285e491e0ced2eee587eaf67b670d94a19e94e3984a481aba6802f",
}


def wanted() -> dict[str, str]:
    """{package: wheel file name} as the Pyodide lock file names them."""
    lock = json.loads(LOCK.read_text("utf-8"))
    return {name: lock["packages"][name]["file_name"] for name in PACKAGES}


def verified(file_name: str) -> bool:
    """Whether the wheel is present with its recorded sha256 (one that differs is deleted)."""
    path = WHEELS / file_name
    if not path.is_file():
        return False
    if hashlib.sha256(path.read_bytes()).hexdigest() == SHA256[file_name]:
        return True
    path.unlink()
    return False


def main() -> int:
    files = wanted()
    unknown = [f for f in files.values() if f not in SHA256]
    if unknown:
        raise SystemExit(f"fetch_wheels.py: no recorded sha256 for {unknown}: add it to SHA256")
    if all(verified(f) for f in files.values()):
        return 0
    lock = json.loads(LOCK.read_text("utf-8"))
    python = ".".join(lock["info"]["python"].split(".")[:2])
    pins = [f"{name}=={lock['packages'][name]['version']} --hash=sha256:{SHA256[files[name]]}" for name in PACKAGES]
    requirements = Path(tempfile.mkdtemp()) / "wheels.txt"
    requirements.write_text("\n".join(pins) + "\n", "utf-8")
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
            "--require-hashes",
            "--dest",
            str(WHEELS),
            "-r",
            str(requirements),
        ],
        check=True,
    )
    missing = [f for f in files.values() if not verified(f)]
    if missing:
        raise SystemExit(f"fetch_wheels.py: pip did not produce {missing} with the recorded sha256")
    return 0


if __name__ == "__main__":
    sys.exit(main())
