#!/usr/bin/env python3
"""Build the static site into dist/ (or --out DIR).

    python build.py [--out DIR] [--serve [PORT]]

Renders web/templates/*.j2 once per language in web/i18n/, pre-computing the
default estimate with the same core the browser runs (calc.api.handle), zips
the calc package reproducibly (calc-<sha256[:8]>.zip), publishes it as a
pure-Python wheel under wheels/, copies the pinned Pyodide core from
node_modules/pyodide by an allow-list and writes build-info.json.  Two builds
of the same tree are byte-identical: no timestamps, sorted zip entries.
With --serve it then serves the folder on http://127.0.0.1:PORT/ (8000 by default).
"""
from __future__ import annotations

import argparse
import base64
import functools
import hashlib
import http.server
import io
import json
import math
import re
import shutil
import sys
import tomllib
import zipfile
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent
WEB = ROOT / "web"
DIST = ROOT / "dist"
CALC = ROOT / "calc"
PYODIDE_SRC = ROOT / "node_modules" / "pyodide"
PYODIDE_FILES = ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip", "pyodide-lock.json")
LANGS = ("en", "zh")  # the first one is served at the root, the others under /<lang>/
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
GIB = 2**30


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options: only the output folder."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DIST, help="output folder (default: dist/)")
    parser.add_argument("--serve", nargs="?", type=int, const=8000, metavar="PORT",
                        help="after building, serve the folder on localhost (default port 8000)")
    return parser.parse_args(argv)


class Handler(http.server.SimpleHTTPRequestHandler):
    """Static files with the MIME types Pyodide needs.  Content-hashed names (calc-<hash>.zip) are
    cached for a year; everything else is revalidated on every visit (the service worker keeps a
    versioned copy for repeat and offline visits)."""

    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm",
                      ".json": "application/json", ".whl": "application/zip", ".zip": "application/zip"}
    cache = True

    def end_headers(self):
        immutable = re.search(r"/calc-[0-9a-f]{8}\.zip(\?|$)", self.path)
        if not self.cache:
            self.send_header("Cache-Control", "no-store")
        elif immutable:
            self.send_header("Cache-Control", "public, max-age=31536000, immutable")
        else:
            self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def log_message(self, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    """A threaded static server that does not print a traceback when the browser drops a connection."""

    daemon_threads = True

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def make_server(folder: Path, port: int = 0, cache: bool = True) -> Server:
    """A server for `folder` on 127.0.0.1:port (0: a free port); call serve_forever() on it."""
    handler = functools.partial(type("Site", (Handler,), {"cache": cache}), directory=str(folder))
    return Server(("127.0.0.1", port), handler)


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
    sys.path.insert(0, str(ROOT))
    try:
        from calc.api import handle
    except ImportError as exc:
        fail(f"cannot import calc.api ({exc})")
    finally:
        sys.path.remove(str(ROOT))
    answer = handle(request)
    if not answer.get("ok"):
        fail(f"calc.api.handle({request!r}) failed: {answer.get('error')}")
    return answer


def fmt_gib(value: float, digits: int = 1) -> str:
    """Bytes as GiB with grouping, rounded half-up like Intl.NumberFormat (en-US and zh-CN agree)."""
    return fmt_num(value / GIB, digits)


def fmt_num(value: float, digits: int = 0) -> str:
    """A number with a fixed count of decimals and thousands separators, as Intl.NumberFormat writes it."""
    exact = Decimal(value).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    return f"{exact:,.{digits}f}"


def fmt_pct(fraction: float) -> str:
    """A fraction as a whole percentage ("12%"), as Intl.NumberFormat's percent style writes it."""
    return fmt_num(Decimal(fraction) * 100, 0) + "%"


def source_url(source) -> str | None:
    """The URL in a source entry (a URL, or text holding one); web/js/render.js sourceUrl does the same."""
    text = source if isinstance(source, str) else (source or {}).get("url", "") if isinstance(source, dict) else ""
    match = re.search(r"https?://\S+", text or "")
    return match.group(0) if match else None


def spec_source(spec: dict, key: str) -> str | None:
    """The source URL of one spec fact, where the core names one (fact_sources, or sources as a mapping)."""
    sources = spec.get("fact_sources") or spec.get("sources")
    return source_url(sources.get(key)) if isinstance(sources, dict) else None


def _label(t: dict, kind: str, code) -> str:
    """values.<kind>.<code> from the UI strings, or the code itself (web/js/render.js label)."""
    return t.get("values", {}).get(kind, {}).get(str(code), str(code))


def spec_value(spec: dict, key: str, t: dict) -> str | None:
    """One spec-card value as shown, or None (web/js/render.js specValue does the same)."""
    value = spec.get(key)
    if key == "attention_layers":
        kinds = list((value or {}).items())
        if len(kinds) < 2:
            return None
        return " + ".join(t["spec"]["layer_count"].format(n=fmt_num(n), kind=_label(t, "layer_kind", k)) for k, n in kinds)
    if value is None or value == "":
        return None
    if key == "position_embedding":
        base = _label(t, key, value)
        return f"{base} ({_label(t, 'rope_scaling', spec['rope_scaling'])})" if spec.get("rope_scaling") else base
    if key in ("architecture", "attention", "activation", "normalization"):
        return _label(t, key, value)
    return fmt_num(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def spec_source_list(spec: dict) -> list[str]:
    """Every distinct source URL of the spec card, in order."""
    sources = spec.get("sources") or []
    entries = sources.values() if isinstance(sources, dict) else sources
    return list(dict.fromkeys(u for u in map(source_url, entries) if u))


def environment():
    """The Jinja environment: strict undefined, autoescape, number filters."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(loader=FileSystemLoader(WEB / "templates"), autoescape=select_autoescape(["html", "j2"]),
                      undefined=StrictUndefined, keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(gib=fmt_gib, num=fmt_num, pct=fmt_pct, log2=math.log2, pct2=lambda x: fmt_num(Decimal(x) * 100, 2) + "%",
                       fill=lambda template, **params: template.format_map(params))
    env.globals.update(spec_source=spec_source, spec_source_list=spec_source_list, spec_value=spec_value)
    return env


def load_strings() -> dict[str, dict]:
    """UI strings per language from web/i18n/<lang>.toml."""
    return {lang: tomllib.loads((WEB / "i18n" / f"{lang}.toml").read_text("utf-8")) for lang in LANGS}


def accuracy_report() -> dict:
    """The accuracy section's data: calc.validation's table and counts, and every usable record with
    its model and source (run in CPython at build time: the page shows it, it does not compute it)."""
    sys.path.insert(0, str(ROOT))
    try:
        from calc import catalog, validation
    finally:
        sys.path.remove(str(ROOT))
    rows = validation.rows()
    records = []
    for rec in validation.records():
        if validation.usable(rec):
            model = catalog.models()[rec["mapping"]["model"]].name
            records.append({"model": model, "engine": validation.report_engine(rec), "url": source_url(rec["source"]),
                            "source": rec["source"]})
    baselines = {"total": "(a)", "weights": "(b)", "weights_file": "(b)", "kv_cache": "(b)"}
    return {"table": validation.table(rows), "summary": validation.summary(), "records": records, "baselines": baselines}


def render_pages(info: dict, calc_zip: str) -> dict[str, str]:
    """index.html for every language ({path: html}): form from the catalog op, first result from estimate."""
    env, strings, pages = environment(), load_strings(), {}
    catalog = call_core({"op": "catalog"})
    accuracy = accuracy_report()
    defaults = {k: v for k, v in catalog["defaults"].items() if k != "op"}
    for lang in LANGS:
        result = call_core({**defaults, "op": "estimate", "lang": lang})
        prefix = "" if lang == LANGS[0] else "../"
        page = env.get_template("index.html.j2").render(
            lang=lang, langs=LANGS, t=strings[lang], strings=strings[lang], prefix=prefix, info=info,
            calc_zip=calc_zip, catalog=catalog, defaults=defaults, result=result, accuracy=accuracy,
            gpu_names={g["id"]: g["name"] for g in catalog["gpus"]})
        pages["index.html" if lang == LANGS[0] else f"{lang}/index.html"] = page
    return pages


# What the page never reads: the validation records (bench/accuracy.py and the tests use them), the
# command line, and the TOML sources once their parsed copies are in (see package_files).
RUNTIME_EXCLUDE = ("calc/data/validation.json", "calc/cli.py", "calc/__main__.py")
# Prose that models.json keeps for people (notes, caveats) and the core never reads.
MODEL_PROSE = ("notes", "unverified")


def package_files(runtime: bool = False) -> list[tuple[str, bytes]]:
    """(archive name, content) for every file of calc/, sorted, without caches.  Every TOML data
    file also goes in parsed, as calc/data/compiled/<name>.json (calc.catalog.load_toml reads it).
    runtime=True leaves out what the page never reads (RUNTIME_EXCLUDE)."""
    files = [p for p in CALC.rglob("*") if p.is_file() and "__pycache__" not in p.parts
             and p.suffix != ".pyc" and not p.name.startswith(".")]
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
        out = [(name, content) for name, content in out
               if name not in RUNTIME_EXCLUDE and not name.endswith(".toml") and name != "calc/data/models.json"]
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


def build_wheel(out: Path, version: str) -> str:
    """Write wheels/llm_vram_calc-<version>-py3-none-any.whl (for micropip) and return its path in dist."""
    dist_info = f"llm_vram_calc-{version}.dist-info"
    meta = {
        "METADATA": f"Metadata-Version: 2.1\nName: llm-vram-calc\nVersion: {version}\nRequires-Python: >=3.11\n"
                    "Summary: How much GPU memory a large language model needs, and which GPUs can run it.\n",
        "WHEEL": "Wheel-Version: 1.0\nGenerator: build.py\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    entries = package_files() + [(f"{dist_info}/{k}", v.encode()) for k, v in meta.items()]
    record = "".join(
        f"{name},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},{len(data)}\n"
        for name, data in entries) + f"{dist_info}/RECORD,,\n"
    entries.append((f"{dist_info}/RECORD", record.encode()))
    path = f"wheels/llm_vram_calc-{version}-py3-none-any.whl"
    (out / "wheels").mkdir(parents=True, exist_ok=True)
    (out / path).write_bytes(write_zip(entries))
    return path


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


# Files the service worker keeps for offline use: everything but the wheel (for notebooks) and
# the build's own metadata.
OFFLINE_SKIP = ("wheels/", "build-info.json", "sw.js")


def write_service_worker(out: Path) -> None:
    """sw.js: its version is a hash of every other file of the build, so any change to the site
    gives a new cache and the old one is deleted when the new worker activates."""
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    digest = hashlib.sha256()
    for name in files:
        if name != "sw.js":
            digest.update(name.encode() + b"\0" + (out / name).read_bytes())
    keep = ["./"] + [f for f in files if not f.startswith(OFFLINE_SKIP)]
    keep.insert(1 + keep.index("zh/index.html") if "zh/index.html" in keep else 1, "zh/")
    text = environment().get_template("sw.js.j2").render(version=digest.hexdigest()[:16], files=keep)
    (out / "sw.js").write_text(text, "utf-8")


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
    wheel = build_wheel(out, info["calc"])
    copy_assets(out)
    for path, text in pages.items():
        (out / path).parent.mkdir(parents=True, exist_ok=True)
        (out / path).write_text(text, "utf-8")
    build_info = {**info, "calc_zip": calc_zip, "wheel": wheel, "langs": list(LANGS),
                  "pyodide_files": list(PYODIDE_FILES)}
    (out / "build-info.json").write_text(json.dumps(build_info, indent=2, sort_keys=True) + "\n", "utf-8")
    write_service_worker(out)
    print(f"built {out} (calc {info['calc']}, pyodide {info['pyodide']}, {calc_zip})")
    if args.serve is not None:
        server = make_server(out, args.serve)
        print(f"serving {out} on http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C stops)", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
