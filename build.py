#!/usr/bin/env python3
"""Build the static site into dist/ (or --out DIR).

    python build.py [--out DIR] [--serve [PORT]]

Renders web/templates/*.j2 once per language in web/i18n/, pre-computing the
default estimate with the same core the browser runs (calc.api.handle), zips
the calc package reproducibly (calc-<sha256[:8]>.zip), builds its wheel under
wheels/ with the build backend (setuptools), copies the pinned Pyodide core
from node_modules/pyodide by an allow-list, writes build-info.json and the
service worker (service_worker.py).  Two builds of the same tree are
byte-identical: fixed timestamps, sorted zip entries.  With --serve it then
serves the folder on http://127.0.0.1:PORT/ (8000 by default; devserver.py).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

from bench.accuracy import page_report
from calc import present
from calc.api import handle
from calc.i18n import texts
from calc.request import MAX_BATCH, MAX_CONTEXT, MAX_GPUS
from devserver import serve
from service_worker import write_service_worker

ROOT = Path(__file__).resolve().parent
WEB = ROOT / "web"
DIST = ROOT / "dist"
CALC = ROOT / "calc"
PYODIDE_SRC = ROOT / "node_modules" / "pyodide"
PYODIDE_FILES = ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip", "pyodide-lock.json")
LANGS = ("en", "zh")  # the first one is served at the root, the others under /<lang>/
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
ZIP_EPOCH = 315532800  # ZIP_DATE as a Unix time (UTC)
WHEEL_SOURCES = ("pyproject.toml", "README.md", "LICENSE", "calc")  # what the build backend reads


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options: only the output folder."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DIST, help="output folder (default: dist/)")
    parser.add_argument(
        "--serve",
        nargs="?",
        type=int,
        const=8000,
        metavar="PORT",
        help="after building, serve the folder on localhost (default port 8000)",
    )
    return parser.parse_args(argv)


def fail(message: str) -> None:
    """Stop the build with a message that says what to do."""
    raise SystemExit(f"build.py: error: {message}")


def versions() -> dict:
    """The calc version (pyproject.toml) and the Pyodide version (its package.json): read once, here."""
    for name in ("package.json", *PYODIDE_FILES):
        if not (PYODIDE_SRC / name).is_file():
            fail(f"node_modules/pyodide/{name} missing: run `npm ci`")
    pyodide = json.loads((PYODIDE_SRC / "package.json").read_text("utf-8"))["version"]
    calc = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["version"]
    return {"calc": calc, "pyodide": pyodide}


def call_core(request: dict) -> dict:
    """Run one request through calc.api.handle, exactly as the page does; fail loudly on ok:false."""
    answer = handle(request)
    if not answer.get("ok"):
        fail(f"calc.api.handle({request!r}) failed: {answer.get('error')}")
    return answer


def environment():
    """The Jinja environment: strict undefined, autoescape, the core's number formatter as filters."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=FileSystemLoader(WEB / "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(gib=present.gib, num=present.num, pct=present.pct, log2=math.log2, fill=present.fill)
    return env


def load_strings() -> dict[str, dict]:
    """The page's own strings per language, from web/i18n/<lang>.toml (app.js gets these)."""
    return {lang: tomllib.loads((WEB / "i18n" / f"{lang}.toml").read_text("utf-8")) for lang in LANGS}


def labels(lang: str, page: dict) -> dict:
    """What the templates print: the page's strings and the core's result words (calc/i18n.py)."""
    core = texts(lang)
    return {**page, **{key: core[key] for key in ("result", "spec", "values")}}


def accuracy_report() -> dict:
    """The accuracy section's data (bench.accuracy.page_report), each record's link found as the spec card's are."""
    return page_report(present.source_url)


def render_pages(info: dict, calc_zip: str) -> dict[str, str]:
    """index.html for every language ({path: html}): form from the catalog op, first result from the
    view op (the same view the worker returns)."""
    env, strings, pages = environment(), load_strings(), {}
    catalog = call_core({"op": "catalog"})
    accuracy = accuracy_report()
    defaults = {k: v for k, v in catalog["defaults"].items() if k != "op"}
    for lang in LANGS:
        view = call_core({**defaults, "op": "view", "lang": lang})["view"]
        prefix = "" if lang == LANGS[0] else "../"
        page = env.get_template("index.html.j2").render(
            lang=lang,
            langs=LANGS,
            t=labels(lang, strings[lang]),
            strings=strings[lang],
            prefix=prefix,
            info=info,
            calc_zip=calc_zip,
            catalog=catalog,
            defaults=defaults,
            view=view,
            accuracy=accuracy,
            limits={"ctx": (1, MAX_CONTEXT), "batch": (1, MAX_BATCH), "n": (1, MAX_GPUS)},
        )
        pages["index.html" if lang == LANGS[0] else f"{lang}/index.html"] = page
    return pages


# What the page never reads: the validation records and their comparison (bench/accuracy.py and the tests use them), the
# command line, and the TOML sources once their parsed copies are in (see package_files).
RUNTIME_EXCLUDE = ("calc/data/validation.json", "calc/validation.py", "calc/cli.py", "calc/__main__.py")
# Prose that models.json keeps for people (notes, caveats) and the core never reads.
MODEL_PROSE = ("notes", "unverified")


def package_files(runtime: bool = False) -> list[tuple[str, bytes]]:
    """(archive name, content) for every file of calc/, sorted, without caches.  Every TOML data
    file also goes in parsed, as calc/data/compiled/<name>.json (calc.catalog.load_toml reads it).
    runtime=True leaves out what the page never reads (RUNTIME_EXCLUDE)."""
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
            (name, content)
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


def copy_pyodide(out: Path) -> None:
    """Copy the allow-listed Pyodide core files into pyodide/."""
    (out / "pyodide").mkdir(parents=True, exist_ok=True)
    for name in PYODIDE_FILES:
        shutil.copyfile(PYODIDE_SRC / name, out / "pyodide" / name)


def copy_assets(out: Path) -> None:
    """Copy web/css and web/js as they are (no bundler, no minifier)."""
    for folder in ("css", "js"):
        for path in sorted((WEB / folder).rglob("*")):
            if path.is_file():
                target = out / path.relative_to(WEB)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)


def main(argv: list[str] | None = None) -> int:
    """Build everything into a fresh output folder; return 0 (errors exit with a message)."""
    args = parse_args(argv)
    out: Path = args.out.resolve()
    info = versions()
    calc_zip, calc_data = bundle_calc()
    pages = render_pages(info, calc_zip)  # everything that can fail runs before the old output goes
    if out.exists() and any(out.iterdir()):
        if not (out / "build-info.json").is_file():
            fail(f"{out} is not empty and holds no earlier build: refusing to delete it")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    copy_pyodide(out)
    (out / calc_zip).write_bytes(calc_data)
    wheel = build_wheel(out)
    copy_assets(out)
    for path, text in pages.items():
        (out / path).parent.mkdir(parents=True, exist_ok=True)
        (out / path).write_text(text, "utf-8")
    build_info = {**info, "calc_zip": calc_zip, "wheel": wheel, "langs": list(LANGS), "pyodide_files": list(PYODIDE_FILES)}
    (out / "build-info.json").write_text(json.dumps(build_info, indent=2, sort_keys=True) + "\n", "utf-8")
    write_service_worker(out)
    print(f"built {out} (calc {info['calc']}, pyodide {info['pyodide']}, {calc_zip})")
    if args.serve is not None:
        serve(out, args.serve)
    return 0


if __name__ == "__main__":
    sys.exit(main())
