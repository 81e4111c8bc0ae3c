"""build.py: the files it writes, strictness, single-sourced versions, reproducibility."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import subprocess
import sys
import tomllib
import zipfile
from html import unescape
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import build  # noqa: E402
import package  # noqa: E402
from calc import catalog  # noqa: E402

PAGES = ("index.html", "zh/index.html")


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("build") / "dist"
    assert build.main(["--out", str(out)]) == 0
    return out


def files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def flat_keys(table: dict, prefix: str = "") -> set[str]:
    keys = set()
    for key, value in table.items():
        keys |= flat_keys(value, f"{prefix}{key}.") if isinstance(value, dict) else {prefix + key}
    return keys


def test_expected_files(dist):
    names = set(files(dist))
    info = json.loads((dist / "build-info.json").read_text())
    expected = {
        *PAGES,
        "robots.txt",
        "404.html",
        "css/site.css",
        "build-info.json",
        "sw.js",
        info["calc_zip"],
        info["snapshot"]["file"],
        info["stdlib"]["file"],
        info["wheel"],
        *(f"pyodide/{n}" for n in build.PYODIDE_FILES),
        *(f"js/{p.name}" for p in (ROOT / "web/js").glob("*.js")),
        *(f"{lang}models/{m}index.html" for lang in ("", "zh/") for m in ["", *(f"{r.id}/" for r in catalog.model_rows())]),
    }
    assert names == expected
    assert re.fullmatch(r"calc-[0-9a-f]{8}\.zip", info["calc_zip"])
    assert info["wheel"] == f"wheels/llm_vram_calc-{info['calc']}-py3-none-any.whl"


def test_pages_fully_rendered(dist):
    for page in PAGES:
        html = (dist / page).read_text("utf-8")
        assert "{{" not in html and "{%" not in html, page
        assert "Content-Security-Policy" in html
        assert "cdn.jsdelivr" not in html and "unpkg" not in html
        # No inline script: every <script> has a src or is a JSON data block.
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag or 'type="application/json"' in tag, tag
        assert " style=" not in html and "<style" not in html


def test_languages(dist):
    assert '<html lang="en"' in (dist / "index.html").read_text("utf-8")
    assert '<html lang="zh-CN"' in (dist / "zh/index.html").read_text("utf-8")
    en, zh = (tomllib.loads((ROOT / f"web/i18n/{lang}.toml").read_text("utf-8")) for lang in ("en", "zh"))
    assert flat_keys(en) == flat_keys(zh)


def test_accuracy_rows_count_comparisons_in_the_singular_too(dist):
    """An engine row resting on one record (ik_llama.cpp today) reads "1 comparison", the others plural."""
    rows = re.findall(r"\((\d+) (comparisons?)\)</li>", (dist / "index.html").read_text("utf-8"))
    assert rows and all((word == "comparison") == (n == "1") for n, word in rows), rows


def test_pyodide_version_single_sourced(dist, tmp_path, monkeypatch):
    """The Pyodide version comes from node_modules/pyodide/package.json alone: a build against a
    package that says another version names that one, and the real one nowhere in its own files."""
    real = json.loads((ROOT / "node_modules/pyodide/package.json").read_text())["version"]
    assert json.loads((dist / "build-info.json").read_text())["pyodide"] == real
    for name in build.PYODIDE_FILES:
        assert (dist / "pyodide" / name).read_bytes() == (ROOT / "node_modules/pyodide" / name).read_bytes()
    other = tmp_path / "pyodide"
    other.mkdir()
    for name in build.PYODIDE_FILES:
        (other / name).symlink_to(ROOT / "node_modules/pyodide" / name)
    (other / "package.json").write_text(json.dumps({"version": "0.0.1-test"}))
    monkeypatch.setattr(build, "PYODIDE_SRC", other)
    assert build.main(["--out", str(tmp_path / "out")]) == 0
    own = {k: v for k, v in files(tmp_path / "out").items() if not k.startswith(("pyodide/", "wheels/", "calc-", "snapshot-"))}
    assert json.loads(own["build-info.json"])["pyodide"] == "0.0.1-test"
    assert json.loads(own["build-info.json"])["snapshot"]["pyodide"] == "0.0.1-test"  # the page will not restore it
    assert b"0.0.1-test" in own["index.html"]
    assert [name for name, data in own.items() if real.encode() in data] == []


def test_two_builds_identical(dist, tmp_path):
    assert build.main(["--out", str(tmp_path / "again")]) == 0
    assert files(tmp_path / "again") == files(dist)


def test_calc_zip_reproducible(dist):
    info = json.loads((dist / "build-info.json").read_text())
    data = (dist / info["calc_zip"]).read_bytes()
    assert info["calc_zip"] == f"calc-{hashlib.sha256(data).hexdigest()[:8]}.zip"
    with zipfile.ZipFile(dist / info["calc_zip"]) as archive:
        names = archive.namelist()
        assert names == sorted(names)
        assert "calc/api.py" in names and "calc/data/compiled/models.json.json" in names
        assert not [n for n in names if n.endswith(".toml") or n in package.RUNTIME_EXCLUDE]
        assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
        assert {i.date_time for i in archive.infolist()} == {package.ZIP_DATE}


def test_wheel_installs_and_imports(dist, tmp_path):
    """The published wheel is a valid pure-Python wheel: RECORD hashes match and calc imports from it."""
    info = json.loads((dist / "build-info.json").read_text())
    wheel = dist / info["wheel"]
    with zipfile.ZipFile(wheel) as archive:
        record = archive.read(f"llm_vram_calc-{info['calc']}.dist-info/RECORD").decode().splitlines()
        for line in record:
            name, digest, size = line.rsplit(",", 2)
            if digest:
                assert size == str(len(archive.read(name)))
        assert "Tag: py3-none-any" in archive.read(f"llm_vram_calc-{info['calc']}.dist-info/WHEEL").decode()
    code = (
        "import calc.api, sys; assert calc.api.__file__.startswith(sys.argv[1]); print(calc.api.handle({'op': 'catalog'})['ok'])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(wheel)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(wheel)},
        check=True,
    )
    assert out.stdout.strip() == "True"


def test_prerendered_result_is_the_core_view(dist):
    """The first paint prints the view the worker would return for the default request."""
    from calc.api import handle

    catalog = handle({"op": "catalog"})
    defaults = {k: v for k, v in catalog["defaults"].items() if k != "op"}
    for page, lang in zip(PAGES, ("en", "zh"), strict=True):
        html = (dist / page).read_text("utf-8")
        blob = re.search(r'<script type="application/json" id="initial-view">(.*?)</script>', html, re.S).group(1)
        expected = json.loads(json.dumps(handle({**defaults, "op": "view", "lang": lang})["view"]))
        assert json.loads(blob) == expected
        for slot in ("total", "range", "fit", "max-context", "speed"):
            shown = re.search(rf'data-out="{slot}"[^>]*>([^<]+)<', html).group(1)
            assert unescape(shown) == expected["text"][slot], slot


def test_page_catalog_carries_the_search_aliases(dist):
    """The catalog the page embeds is the catalog op's, each model with its aliases (calc/aliases.py,
    build time only: the page's bundle leaves the module out)."""
    from calc.aliases import catalog_aliases
    from calc.api import handle

    models = handle({"op": "catalog"})["models"]
    for page in (*PAGES, "models/llama-3.1-70b/index.html"):
        html = (dist / page).read_text("utf-8")
        embedded = json.loads(re.search(r'<script type="application/json" id="catalog">(.*?)</script>', html, re.S).group(1))
        assert [m["aliases"] for m in embedded["models"]] == list(catalog_aliases(models).values())
        assert "Llama3.1" in next(m for m in embedded["models"] if m["id"] == "llama-3.1-70b")["aliases"]
    info = json.loads((dist / "build-info.json").read_text())
    assert "calc/aliases.py" not in zipfile.ZipFile(dist / info["calc_zip"]).namelist()


def test_page_catalog_is_what_the_scripts_read(dist):
    """The embedded catalog keeps, of each list, the fields build.PAGE_CATALOG names and no other:
    every id of the catalog op, none of the GPUs' figures or sources the form already printed."""
    from calc.api import handle

    catalog = handle({"op": "catalog"})
    html = (dist / "index.html").read_text("utf-8")
    embedded = json.loads(re.search(r'<script type="application/json" id="catalog">(.*?)</script>', html, re.S).group(1))
    assert set(embedded) == {"defaults", *build.PAGE_CATALOG}
    assert embedded["defaults"] == catalog["defaults"]
    for key, fields in build.PAGE_CATALOG.items():
        assert [row["id"] for row in embedded[key]] == [row["id"] for row in catalog[key]], key
        assert all(set(row) == set(fields) for row in embedded[key]), key
    engine = embedded["engines"][0]
    assert engine["versions"] == [{"id": v["id"]} for v in catalog["engines"][0]["versions"]]


def test_snapshot_is_what_build_info_and_the_page_say(dist):
    """The snapshot ships gzip-compressed under its hash; build-info and the worker's boot data (the
    boot script's data-calc, build-info block) give its uncompressed length and sha256."""
    info = json.loads((dist / "build-info.json").read_text())
    snap = info["snapshot"]
    raw = gzip.decompress((dist / snap["file"]).read_bytes())
    digest = hashlib.sha256(raw).hexdigest()
    assert snap == {"file": f"snapshot-{digest[:16]}.bin.gz", "bytes": len(raw), "sha256": digest, "pyodide": info["pyodide"]}
    stdlib = info["stdlib"]["file"].removeprefix("pyodide/")
    boot = json.loads(build.worker_boot(info["calc_zip"], snap, stdlib))
    assert boot == {"zip": info["calc_zip"], "snapshot": snap, "stdlib": stdlib}
    html = (dist / "index.html").read_text("utf-8")
    data = unescape(re.search(r'data-calc="([^"]+)"', html).group(1))
    assert json.loads(data) == boot
    assert json.loads(re.search(r'id="build-info">([^<]+)<', html).group(1))["worker"] == data


def test_trimmed_stdlib_is_part_of_the_stock_one_and_what_the_worker_boots_with(dist):
    """pyodide/calc_stdlib-<sha256[:16]>.zip holds stock modules without their docstrings and comments
    (sorted, fixed dates): those the calculator and Pyodide's start-up import, none of the big ones they do not;
    the page names it to the worker; the stock python_stdlib.zip ships beside it unchanged (the
    worker's fallback, the benchmark's bare boot) and is the one file of pyodide/ the service worker
    does not keep offline."""
    info = json.loads((dist / "build-info.json").read_text())
    entry = info["stdlib"]
    data = (dist / entry["file"]).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    assert entry["file"] == f"pyodide/calc_stdlib-{digest[:16]}.zip"
    assert (entry["bytes"], entry["sha256"]) == (len(data), digest)
    stock = zipfile.ZipFile(ROOT / "node_modules/pyodide/python_stdlib.zip")
    assert (dist / "pyodide/python_stdlib.zip").read_bytes() == (ROOT / "node_modules/pyodide/python_stdlib.zip").read_bytes()
    with zipfile.ZipFile(dist / entry["file"]) as trimmed:
        names = trimmed.namelist()
        assert names == sorted(names) and {i.date_time for i in trimmed.infolist()} == {package.ZIP_DATE}
        assert set(names) <= set(stock.namelist()) and all(len(trimmed.read(n)) <= max(1, len(stock.read(n))) for n in names)
        assert b"Basic statistics module" in stock.read("statistics.py")
        assert b"Basic statistics module" not in trimmed.read("statistics.py") and b"def fmean(" in trimmed.read("statistics.py")
    assert len(names) == entry["modules"]
    needed = ("encodings/__init__.py", "encodings/utf_8.py", "encodings/cp437.py", "_pyodide/_base.py", "pyodide/__init__.py")
    needed += ("asyncio/__init__.py", "json/__init__.py", "statistics.py", "fractions.py", "decimal.py", "urllib/parse.py")
    assert set(needed) <= set(names)
    for left_out in ("email/", "unittest/", "multiprocessing/", "xml/", "_pyrepl/", "pdb.py", "doctest.py", "tarfile.py"):
        assert not [n for n in names if n.startswith(left_out)], left_out
    assert len(data) < 0.25 * (dist / "pyodide/python_stdlib.zip").stat().st_size
    assert json.loads(unescape(re.search(r'data-calc="([^"]+)"', (dist / "index.html").read_text("utf-8")).group(1)))[
        "stdlib"
    ] == entry["file"].removeprefix("pyodide/")
    sw = (dist / "sw.js").read_text("utf-8")
    assert f'"{entry["file"]}"' in sw and '"pyodide/pyodide.asm.wasm"' in sw and "python_stdlib.zip" not in sw


def test_snapshot_check_fails_the_build_on_a_module_the_stdlib_lacks(dist):
    """The snapshot is made and checked with the trimmed stdlib: one without a module the calculator
    imports (fractions, through statistics) stops the build instead of a visit."""
    import snapshot

    info = json.loads((dist / "build-info.json").read_text())
    trimmed = zipfile.ZipFile(dist / info["stdlib"]["file"])
    short = package.write_zip([(n, trimmed.read(n)) for n in trimmed.namelist() if n != "fractions.py"])
    calc_zip = (dist / info["calc_zip"]).read_bytes()
    with pytest.raises(SystemExit, match=r"snapshot.mjs failed:(.|\n)*fractions"):
        snapshot.build(calc_zip, ROOT / "node_modules/pyodide", info["pyodide"], short)


def test_own_assets_small(dist):
    # the calculator's own files; the model pages are pages of their own, never loaded by it
    skip = ("pyodide/", "wheels/", "calc-", "snapshot-", "models/", "zh/models/")
    own = {k: v for k, v in files(dist).items() if not k.startswith(skip)}
    total = sum(len(gzip.compress(v, 9)) for v in own.values())
    assert total <= 150 * 1024, total


def test_missing_pyodide_fails_loudly(tmp_path, monkeypatch):
    monkeypatch.setattr(build, "PYODIDE_SRC", tmp_path / "nowhere")
    with pytest.raises(SystemExit, match="run `npm ci`"):
        build.main(["--out", str(tmp_path / "out")])


def test_refuses_to_delete_foreign_folder(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(SystemExit, match="refusing"):
        build.main(["--out", str(tmp_path)])
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_runtime_bundle_answers_like_the_source_tree(dist, tmp_path):
    """The page's archive (parsed data, no TOML, no prose) gives the same answers as calc/ itself."""
    info = json.loads((dist / "build-info.json").read_text())
    golden = json.loads((ROOT / "tests/browser/golden_requests.json").read_text())
    requests = json.dumps([case["request"] for case in golden] + [{"op": "catalog"}, {"op": "model", "model": "deepseek-v3"}])
    code = (
        "import json, sys, calc.api, calc.catalog as c; assert '.zip' in c.__file__; "
        "print(json.dumps([calc.api.handle(r) for r in json.loads(sys.argv[1])]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, requests],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(dist / info["calc_zip"])},
        check=True,
    )
    from calc.api import handle

    assert json.loads(out.stdout) == json.loads(json.dumps([handle(r) for r in json.loads(requests)]))


def test_pages_workflow_is_pinned_and_least_privilege():
    text = (ROOT / ".github/workflows/pages.yml").read_text("utf-8")
    uses = re.findall(r"uses:\s*(\S+)", text)
    assert uses and all(re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", u) for u in uses), uses
    top = text.split("jobs:")[0]
    assert re.search(r"^permissions:\n  contents: read\n", top, re.M)
    deploy = text.split("  deploy:")[1]
    assert "if: github.event_name == 'push' && github.ref == 'refs/heads/main'" in deploy
    assert "pages: write" in deploy and "id-token: write" in deploy
    assert "pages: write" not in text.split("  deploy:")[0]
    assert "bash .ci/run" in text
    assert "cancel-in-progress: true" not in text  # a deploy is never cancelled midway
    assert re.search(r"container: [\w.:-]+@sha256:[0-9a-f]{64}\n", text)  # the CI image by digest


def test_wheel_is_the_build_backends_and_leaves_the_tree_clean(dist, tmp_path):
    """The wheel comes from pyproject.toml's build backend (its packages, its licence file), built on a
    copy of the sources: building it adds nothing to the checkout (an editable install's *.egg-info
    may be there already)."""
    info = json.loads((dist / "build-info.json").read_text())
    with zipfile.ZipFile(dist / info["wheel"]) as archive:
        names = archive.namelist()
        meta = archive.read(f"llm_vram_calc-{info['calc']}.dist-info/METADATA").decode()
    assert f"llm_vram_calc-{info['calc']}.dist-info/licenses/LICENSE" in names
    assert "License-Expression: MIT" in meta and f"Version: {info['calc']}" in meta
    assert {n.split("/")[0] for n in names} == {"calc", f"llm_vram_calc-{info['calc']}.dist-info"}
    before = sorted(p.name for p in ROOT.iterdir())
    package.build_wheel(tmp_path)
    assert sorted(p.name for p in ROOT.iterdir()) == before


def test_wheel_timestamps_follow_source_date_epoch(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(1_700_000_000))  # 2023-11-14 22:13:20 UTC
    path = tmp_path / package.build_wheel(tmp_path)
    with zipfile.ZipFile(path) as archive:
        assert {i.date_time for i in archive.infolist()} == {(2023, 11, 14, 22, 13, 20)}


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    """A build for a known address (as the Pages workflow makes)."""
    out = tmp_path_factory.mktemp("published") / "dist"
    assert build.main(["--out", str(out), "--site-url", "https://example.org/calc"]) == 0
    return out


def test_a_build_for_a_known_address_links_absolutely_and_lists_every_page(published):
    """--site-url: canonical, hreflang and og:url are absolute folder URLs of that address, every
    HTML page (but 404.html) is in sitemap.xml with its twin, robots.txt names the sitemap, and
    404.html links from the site's root path."""
    site = "https://example.org/calc/"
    assert (published / "robots.txt").read_text() == f"User-agent: *\nAllow: /\nSitemap: {site}sitemap.xml\n"
    sitemap = (published / "sitemap.xml").read_text("utf-8")
    locs = re.findall(r"<loc>([^<]+)</loc>", sitemap)
    pages = sorted(p.relative_to(published).as_posix() for p in published.rglob("*.html") if p.name != "404.html")
    assert locs == [site + p.removesuffix("index.html") for p in pages]
    assert sitemap.count('hreflang="zh"') == sitemap.count('hreflang="en"') == len(pages)
    for path, twin in (("models/qwen3-8b/", "zh/models/qwen3-8b/"), ("zh/", "")):
        html = (published / path / "index.html").read_text("utf-8")
        assert f'<link rel="canonical" href="{site}{path}">' in html
        assert f'<meta property="og:url" content="{site}{path}">' in html
        assert f'href="{site}{twin}">' in html  # the hreflang twin
    not_found = (published / "404.html").read_text("utf-8")
    assert 'href="/calc/css/site.css"' in not_found and 'href="/calc/zh/models/index.html"' in not_found
    with pytest.raises(SystemExit):
        build.site_url("example.org/calc")


def test_no_broken_internal_link(dist):
    """A crawl of dist/: every href and src of every page names a file the build wrote (a folder
    its index.html), and every #fragment an id on the page it points at."""
    pages = {p.relative_to(dist).as_posix(): p.read_text("utf-8") for p in dist.rglob("*.html")}
    assert len(pages) > 100
    for path, html in pages.items():
        for link in re.findall(r'(?:href|src)="([^"]*)"', html):
            if link.startswith(("http:", "https:", "data:")) or link == "#":
                continue
            target, _, fragment = link.partition("#")
            target = target.split("?")[0]
            here = "/" if target.startswith("/") else Path("/", path).parent  # 404.html: from the site root
            resolved = Path(here, target).resolve().relative_to("/").as_posix() if target else path
            if (dist / resolved).is_dir():
                resolved = f"{resolved}/index.html".lstrip("/")
            assert (dist / resolved).is_file(), (path, link)
            if fragment and resolved.endswith(".html"):
                assert f'id="{fragment}"' in pages[resolved], (path, link)


def test_accuracy_section_has_the_speed_and_transformers_rows(dist):
    """Issue 15: the page's Accuracy section shows the tokens/s table (one row per engine, backend and
    kind of calc/speed.py accuracy) and transformers' peak, in both languages."""
    from calc import speed

    rows = speed.accuracy()
    for page, words in (
        ("index.html", ("Speed: tokens per second", "peak of a generate() run")),
        ("zh/index.html", ("速度：每秒 token 数", "generate() 运行的峰值")),
    ):
        html = (dist / page).read_text("utf-8")
        section = html[html.index('id="accuracy"') :]
        assert all(w in section for w in words)
        table = section[section.index("accuracy-speed") :]
        table = table[: table.index("</table>")]
        assert table.count("<tr>") == len(rows) + 1 and all(r["backend"] in table for r in rows)
