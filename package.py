"""The calc package as the site ships it: the bundle the page unpacks and the wheel for micropip.

Both are reproducible: sorted entries, fixed timestamps (1980-01-01, the first date a zip can hold)
and permissions, SOURCE_DATE_EPOCH for the build backend.
"""

from __future__ import annotations

import ast
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
CALC = ROOT / "calc"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
ZIP_EPOCH = 315532800  # ZIP_DATE as a Unix time (UTC)
WHEEL_SOURCES = ("pyproject.toml", "README.md", "LICENSE", "calc")  # what the build backend reads


def fail(message: str) -> None:
    """Stop the build with a message that says what to do."""
    raise SystemExit(f"build.py: error: {message}")


# What the page never reads: the validation records and their comparison (bench/accuracy.py and the tests use
# them), the command line and its Hub client, the model pages' views and the search aliases (build time only), and the TOML
# sources once their parsed copies are in (see package_files).
RUNTIME_EXCLUDE = (
    "calc/data/validation.json",
    "calc/data/transformers_validation.json",
    "calc/validation.py",
    "calc/cli.py",
    "calc/hubfetch.py",
    "calc/__main__.py",
    "calc/model_page.py",
    "calc/aliases.py",
)
# Prose that models.json keeps for people (notes, caveats) and the core never reads.
MODEL_PROSE = ("notes", "unverified")


def strip_docs(source: bytes) -> bytes:
    """Python source without its comments and docstrings (ast.unparse of the same code): what the page
    runs reads neither, and they are a third of the archive's bytes.  Annotated field texts stay."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body:
            first = body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return (ast.unparse(tree) + "\n").encode("utf-8")


def package_files(runtime: bool = False) -> list[tuple[str, bytes]]:
    """(archive name, content) for every file of calc/, sorted, without caches.  Every TOML data
    file also goes in parsed, as calc/data/compiled/<name>.json (calc.catalog.load_toml reads it).
    runtime=True leaves out what the page never reads (RUNTIME_EXCLUDE, comments and docstrings)."""
    files = [
        p
        for p in CALC.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc" and not p.name.startswith(".")
    ]
    if not (CALC / "api.py").is_file():
        fail("calc/api.py missing")
    out = [(p.relative_to(ROOT).as_posix(), p.read_bytes()) for p in sorted(files)]
    data = CALC / "data"
    for path in sorted(data.rglob("*.toml")):
        table = tomllib.loads(path.read_text("utf-8"))
        name = path.relative_to(data).as_posix().replace("/", "__")
        out.append((f"calc/data/compiled/{name}.json", json.dumps(table, sort_keys=True, separators=(",", ":")).encode()))
    if runtime:
        models = json.loads((data / "models.json").read_text("utf-8"))
        models = {"models": [{k: v for k, v in m.items() if k not in MODEL_PROSE} for m in models["models"]]}
        out = [
            (name, strip_docs(content) if name.endswith(".py") else content)
            for name, content in out
            if name not in RUNTIME_EXCLUDE and not name.endswith(".toml") and name != "calc/data/models.json"
        ]
        out.append(("calc/data/compiled/models.json.json", json.dumps(models, sort_keys=True, separators=(",", ":")).encode()))
    return sorted(out)


def write_zip(entries: list[tuple[str, bytes]]) -> bytes:
    """A reproducible zip: entries in the given order, fixed timestamps and permissions."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, data in entries:
            member = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            member.external_attr = 0o644 << 16
            member.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(member, data, compresslevel=9)
    return buffer.getvalue()


def bundle_calc() -> tuple[str, bytes]:
    """calc-<sha256[:8]>.zip, what the page unpacks: (name, content)."""
    data = write_zip(package_files(runtime=True))
    return f"calc-{hashlib.sha256(data).hexdigest()[:8]}.zip", data


def build_wheel(out: Path) -> str:
    """Build the calc wheel (for micropip) with the build backend pyproject.toml names, into out/wheels/;
    return its path in out.  The backend runs in a subprocess on a copy of WHEEL_SOURCES, so no build/
    or *.egg-info is left in the tree and no file from an earlier build gets in; SOURCE_DATE_EPOCH
    (the caller's, else 1980-01-01, the first date a zip can hold) fixes the timestamps."""
    backend = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["build-system"]["build-backend"]
    (out / "wheels").mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name in WHEEL_SOURCES:
            source, target = ROOT / name, Path(tmp) / name
            if source.is_dir():
                shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*"))
            else:
                shutil.copyfile(source, target)
        hook = f"import sys, {backend} as b; print(b.build_wheel(sys.argv[1]))"
        env = {**os.environ, "SOURCE_DATE_EPOCH": os.environ.get("SOURCE_DATE_EPOCH", str(ZIP_EPOCH))}
        done = subprocess.run([sys.executable, "-c", hook, str(out / "wheels")], cwd=tmp, env=env, capture_output=True, text=True)
    if done.returncode:
        fail(f"the build backend ({backend}) failed: run `pip install -e '.[build]'`\n{done.stderr[-2000:]}")
    return f"wheels/{done.stdout.split()[-1]}"
