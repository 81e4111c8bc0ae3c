#!/usr/bin/env python3
"""Build the static site into dist/ (or --out DIR); with --serve, serve it (devserver.py).

    python build.py [--out DIR] [--site-url URL] [--hub-endpoint URL [--hub-cdn URL ...]] [--serve [PORT]]

Renders web/templates/*.j2 once per language with the default estimate's view (calc.present), adds
the calc bundle and wheel (package.py), the pinned Pyodide core by an allow-list, the trimmed standard
library the worker boots with (stdlib.py), the memory snapshot of the ready calculator (snapshot.py,
both made with Node), build-info.json and the service worker
(service_worker.py).  Two builds of the same tree are byte-identical.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

from bench.accuracy import page_report
from calc import model_page, present
from calc.aliases import catalog_aliases
from calc.api import handle
from calc.catalog import model_rows
from calc.hub import HUB
from calc.i18n import texts
from calc.request import MAX_BATCH, MAX_CONTEXT, MAX_GPUS
from devserver import serve
from package import build_wheel, bundle_calc
from service_worker import write_service_worker
from snapshot import WARM_PY, warm_requests
from snapshot import build as build_snapshot
from stdlib import trim as trim_stdlib

ROOT = Path(__file__).resolve().parent
WEB = ROOT / "web"
DIST = ROOT / "dist"
CALC = ROOT / "calc"
PYODIDE_SRC = ROOT / "node_modules" / "pyodide"
PYODIDE_FILES = ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip", "pyodide-lock.json")
LANGS = ("en", "zh")  # the first one is served at the root, the others under /<lang>/
# Where the Hub's /resolve/ redirects a download: its CDN and Xet storage hosts, all under these two
# domains (the Hub's list for firewalls: huggingface/hub-docs docs/hub/models-downloading.md, "downloading
# behind a proxy or firewall": cdn-lfs.hf.co, cdn-lfs-us-1.hf.co, us.aws.cdn.hf.co, cas-bridge.xethub.hf.co,
# cdn-lfs.huggingface.co, ...).  CSP checks every redirect's target against connect-src.
HUB_CDN = ("https://*.hf.co", "https://*.huggingface.co")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options: the output folder, the published address, serving."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DIST, help="output folder (default: dist/)")
    parser.add_argument(
        "--site-url",
        default=os.environ.get("SITE_URL") or None,
        help="the address the site is published at (default: $SITE_URL): absolute canonical links, sitemap.xml",
    )
    parser.add_argument(
        "--hub-endpoint",
        default=HUB,
        metavar="URL",
        help=f"the Hugging Face Hub the page fetches from (default {HUB}; the tests give a local fixture Hub)",
    )
    parser.add_argument(
        "--hub-cdn",
        action="append",
        metavar="URL",
        help="a host the Hub redirects downloads to, for the page's connect-src (repeatable; default: the Hub's "
        "CDN hosts with the default endpoint, none with another)",
    )
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


def origin(text: str, flag: str, wildcard: bool = False) -> str:
    """An http(s) origin for the page's connect-src, as given (no path, query or fragment; "*." only
    before a host of the CDN list)."""
    parts = urlsplit(text)
    host = parts.netloc.removeprefix("*.") if wildcard else parts.netloc
    if parts.scheme not in ("http", "https") or not host or "*" in host or parts.path.strip("/") or parts.query or parts.fragment:
        fail(f"{flag} {text!r}: give an origin like https://huggingface.co")
    if any(c in text for c in " ;,'\"\\"):
        fail(f"{flag} {text!r}: an origin has no spaces, quotes, commas or semicolons")
    return f"{parts.scheme}://{parts.netloc}"


def hub_config(endpoint: str, cdn: list[str] | None) -> dict:
    """The Hub the page fetches from: its endpoint (in build-info, for web/js/hub.js) and the
    Content-Security-Policy's connect-src, 'self' and exactly the Hub's hosts."""
    endpoint = origin(endpoint, "--hub-endpoint")
    hosts = [origin(c, "--hub-cdn", wildcard=True) for c in cdn] if cdn else list(HUB_CDN if endpoint == HUB else ())
    return {"endpoint": endpoint, "connect_src": " ".join(["'self'", endpoint, *hosts])}


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
    return {**page, **{key: core[key] for key in ("result", "spec", "values", "model_page", "hub")}}


def site_url(text: str | None) -> str | None:
    """The published address as given, checked and ending in "/" (None: not known)."""
    if not text:
        return None
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        fail(f"--site-url {text!r}: give the site's address, like https://example.org/calc/")
    return text if text.endswith("/") else text + "/"


# What web/js reads of the catalog (app.js, state.js, search.js), per list: the page embeds only these
# fields, the form itself is rendered from the whole catalog.
PAGE_CATALOG = {
    "models": ("id", "name", "repo", "family", "context_length", "aliases"),
    "formats": ("id", "engines"),
    "kv_types": ("id", "engines"),
    "engines": ("id", "versions"),
    "gpus": ("id",),
}


def page_catalog(catalog: dict) -> dict:
    """The catalog as the page embeds it: the defaults and, of each list, the fields in PAGE_CATALOG
    (an engine's versions by id): GPU prices, sources and the like are the form's, never read again."""
    out = {key: [{name: row[name] for name in fields} for row in catalog[key]] for key, fields in PAGE_CATALOG.items()}
    out["engines"] = [{**e, "versions": [{"id": v["id"]} for v in e["versions"]]} for e in out["engines"]]
    return {"defaults": catalog["defaults"], **out}


def with_aliases(catalog: dict) -> dict:
    """The catalog op's answer with each model's search aliases (calc/aliases.py), for the page's
    model search (web/js/search.js)."""
    aliases = catalog_aliases(catalog["models"])
    return {**catalog, "models": [{**m, "aliases": aliases[m["id"]]} for m in catalog["models"]]}


def worker_boot(calc_zip: str, snapshot: dict | None, stdlib: str | None = None) -> str:
    """What the page tells its worker (web/js/worker.js reads it as its name): the calc archive, the
    snapshot's file, length, sha256 and Pyodide version, and the trimmed stdlib's file name in pyodide/
    (None: the stock python_stdlib.zip), as JSON."""
    return json.dumps({"zip": calc_zip, "snapshot": snapshot, "stdlib": stdlib}, sort_keys=True, separators=(",", ":"))


def page_inputs(
    info: dict,
    calc_zip: str,
    site: str | None = None,
    snapshot: dict | None = None,
    hub: dict | None = None,
    stdlib: str | None = None,
) -> dict:
    """What every page is rendered from: versions, the calc bundle's name and the worker's boot data,
    the catalog (with search aliases), the strings, the published address (or None), the Hub
    (hub_config)."""
    catalog = with_aliases(call_core({"op": "catalog"}))
    return {
        "info": info,
        "calc_zip": calc_zip,
        "worker": worker_boot(calc_zip, snapshot, stdlib),
        "catalog": catalog,
        "strings": load_strings(),
        "site": site,
        "hub": hub or hub_config(HUB, None),
    }


def counterpart(path: str) -> str:
    """The same page in the other language: models/x/index.html <-> zh/models/x/index.html."""
    for lang in LANGS[1:]:
        if path.startswith(f"{lang}/"):
            return path[len(lang) + 1 :]
    return f"{LANGS[1]}/{path}"


def links(common: dict, path: str) -> dict:
    """A page's addresses: `other` its other-language twin relative to it (the language switch),
    `canonical` and `alternate` (the hreflang twin) absolute folder URLs when the site's address is
    known, else relative."""
    other = "../" * path.count("/") + counterpart(path)
    if not common["site"]:
        return {"canonical": "index.html", "alternate": other, "other": other}
    return {
        "canonical": common["site"] + path.removesuffix("index.html"),
        "alternate": common["site"] + counterpart(path).removesuffix("index.html"),
        "other": other,
    }


# The part of each engine's records a user reads first: its whole total where runs report one, else what
# the engine is checked on (vLLM's KV pool, the GGUF files' sizes).
HEADLINE_PARTS = ("total", "kv_pool", "peak", "weights_file")


def accuracy_report() -> dict:
    """The accuracy section's data (bench.accuracy.page_report), each record's link found as the spec
    card's are, and `plain`: one row per engine, its headline part (HEADLINE_PARTS) and largest error."""
    report = page_report(present.source_url)
    plain = {}
    for part in HEADLINE_PARTS:
        for row in report["table"]:
            if row["component"] == part and row["engine"] not in plain:
                plain[row["engine"]] = row
    return {**report, "plain": [plain[e] for e in dict.fromkeys(r["engine"] for r in report["table"]) if e in plain]}


def calculator_page(env, template: str, lang: str, common: dict, defaults: dict, **extra) -> str:
    """One page holding the calculator (index.html.j2 or a template extending it): the form from the
    catalog op with `defaults` selected, the first result from the view op for `defaults` (the same
    view the worker returns for that state), and the data app.js reads, its defaults included."""
    view = call_core({**defaults, "op": "view", "lang": lang})["view"]
    catalog = {**common["catalog"], "defaults": {**common["catalog"]["defaults"], **defaults}}
    return env.get_template(template).render(
        lang=lang,
        t=labels(lang, common["strings"][lang]),
        strings={**common["strings"][lang], "hub": texts(lang)["hub"]},
        hub=common["hub"],
        info=common["info"],
        calc_zip=common["calc_zip"],
        worker=common["worker"],
        catalog=catalog,
        page_catalog=page_catalog(catalog),
        defaults=defaults,
        view=view,
        limits={"ctx": (1, MAX_CONTEXT), "batch": (1, MAX_BATCH), "n": (1, MAX_GPUS)},
        **extra,
    )


def lang_base(lang: str) -> str:
    """The folder a language's pages live in, relative to the site root ("" or "zh/")."""
    return "" if lang == LANGS[0] else f"{lang}/"


def render_pages(common: dict) -> dict[str, str]:
    """index.html for every language ({path: html}), the calculator at the catalog's defaults."""
    env, pages = environment(), {}
    accuracy = accuracy_report()
    defaults = {k: v for k, v in common["catalog"]["defaults"].items() if k != "op"}
    for lang in LANGS:
        path = f"{lang_base(lang)}index.html"
        up = "../" * path.count("/")
        pages[path] = calculator_page(
            env, "index.html.j2", lang, common, defaults, root=up, models="models/", accuracy=accuracy, **links(common, path)
        )
    return pages


def render_model_pages(common: dict) -> dict[str, str]:
    """A page per catalog model and language (models/<id>/index.html, zh/models/<id>/index.html) and
    an index of them: the numbers from calc.api.handle, the words from calc.model_page.view, and
    the calculator preset to the model on its cheapest setup."""
    env, pages = environment(), {}
    site_defaults = {k: v for k, v in common["catalog"]["defaults"].items() if k != "op"}
    models = [call_core({"op": "model", "model": m["id"]})["model"] for m in common["catalog"]["models"]]
    official = {row.id: row.official for row in model_rows()}  # the publisher's facts (modalities, cutoff)
    views: dict = {lang: [] for lang in LANGS}
    calculators = {}
    for model in models:
        asked = model_page.requests(model["id"], model["spec"]["context_length"])
        answers = {key: handle(request) for key, request in asked["cells"].items()}
        setups = call_core(asked["setups"])
        calculators[model["id"]] = model_page.calculator_defaults(site_defaults, setups)
        for lang in LANGS:
            views[lang].append(model_page.view(model, answers, setups, asked["contexts"], lang, official[model["id"]]))
    for lang in LANGS:
        base = lang_base(lang)
        t = labels(lang, common["strings"][lang])
        for page in views[lang]:
            path = f"{base}models/{page['id']}/index.html"
            up = "../" * path.count("/")
            pages[path] = calculator_page(
                env,
                "model.html.j2",
                lang,
                common,
                calculators[page["id"]],
                root=up,
                models="../",
                home=f"{base}index.html",
                page=page,
                **links(common, path),
            )
        path = f"{base}models/index.html"
        pages[path] = env.get_template("models.html.j2").render(
            lang=lang,
            t=t,
            models=sorted(
                (model_page.index_row(page, model, lang) for page, model in zip(views[lang], models, strict=True)),
                key=lambda row: row["name"].lower(),
            ),
            root="../" * path.count("/"),
            home=f"{base}index.html",
            **links(common, path),
        )
    return pages


def render_site_files(common: dict, pages: dict[str, str]) -> dict[str, str]:
    """robots.txt, the 404 page and, when the site's address is known, sitemap.xml listing `pages`
    (every HTML page with its other-language twin)."""
    env, site = environment(), common["site"]
    out = {"robots.txt": "User-agent: *\nAllow: /\n" + (f"Sitemap: {site}sitemap.xml\n" if site else "")}
    langs = [{"t": labels(lang, common["strings"][lang]), "folder": lang_base(lang)} for lang in LANGS]
    base = urlsplit(site).path if site else "/"
    out["404.html"] = env.get_template("404.html.j2").render(langs=langs, base=base)
    if site:
        entries = []
        for path in sorted(p for p in pages if p.endswith(".html")):
            lang = next((lang for lang in LANGS[1:] if path.startswith(f"{lang}/")), LANGS[0])
            own, twin = links(common, path)["canonical"], links(common, counterpart(path))["canonical"]
            other = LANGS[1] if lang == LANGS[0] else LANGS[0]
            entries.append({"loc": own, "alternates": [{"lang": lang, "href": own}, {"lang": other, "href": twin}]})
        out["sitemap.xml"] = env.get_template("sitemap.xml.j2").render(pages=entries)
    return out


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
    stdlib_name, stdlib_data, stdlib = trim_stdlib(calc_data, PYODIDE_SRC, WARM_PY, warm_requests())
    snapshot_name, snapshot_data, snapshot = build_snapshot(calc_data, PYODIDE_SRC, info["pyodide"], stdlib_data)
    hub = hub_config(args.hub_endpoint, args.hub_cdn)
    common = page_inputs(info, calc_zip, site_url(args.site_url), snapshot, hub, stdlib_name)
    pages = {**render_pages(common), **render_model_pages(common)}
    pages.update(render_site_files(common, pages))  # all that can fail runs before the old output goes
    if out.exists() and any(out.iterdir()):
        if not (out / "build-info.json").is_file():
            fail(f"{out} is not empty and holds no earlier build: refusing to delete it")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    copy_pyodide(out)  # the stock python_stdlib.zip too: the worker's fallback, the benchmark's bare boot
    (out / stdlib["file"]).write_bytes(stdlib_data)
    (out / calc_zip).write_bytes(calc_data)
    (out / snapshot_name).write_bytes(snapshot_data)
    wheel = build_wheel(out)
    copy_assets(out)
    for path, text in pages.items():
        (out / path).parent.mkdir(parents=True, exist_ok=True)
        (out / path).write_text(text, "utf-8")
    build_info = {
        **info,
        "calc_zip": calc_zip,
        "snapshot": snapshot,
        "stdlib": stdlib,
        "wheel": wheel,
        "langs": list(LANGS),
        "pyodide_files": list(PYODIDE_FILES),
    }
    (out / "build-info.json").write_text(json.dumps(build_info, indent=2, sort_keys=True) + "\n", "utf-8")
    write_service_worker(out)
    print(f"built {out} (calc {info['calc']}, pyodide {info['pyodide']}, {calc_zip})")
    if args.serve is not None:
        serve(out, args.serve)
    return 0


if __name__ == "__main__":
    sys.exit(main())
