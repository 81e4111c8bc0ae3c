"""A model fetched from the Hugging Face Hub in the page (web/js/hub.js), against the fixture Hub on
localhost (tests/hub_fixture.py): a site built with --hub-endpoint/--hub-cdn pointing at it.  The
default site makes no request outside itself and its connect-src names only the Hub's hosts."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(Path(__file__).parent))
from gguf_files import LLAMA_META, LLAMA_TENSORS, MMPROJ_BYTES, MMPROJ_META, MMPROJ_TENSORS, write  # noqa: E402
from hub_files import QWEN3_4B_BYTES  # noqa: E402
from hub_fixture import LARGE, QWEN_REPO, QWEN_SHA, RATE_LIMITED, TOKEN, FixtureHub, Repo, qwen_files  # noqa: E402
from util import wait_ready, wait_until  # noqa: E402

import build  # noqa: E402
from calc import present  # noqa: E402
from devserver import make_server  # noqa: E402

pytestmark = pytest.mark.browser

REPO, SHA = QWEN_REPO, QWEN_SHA
OUTPUTS = {"total": "total_bytes", "weights": "weights_bytes", "kv_cache": "kv_cache_bytes"}


@pytest.fixture(scope="module")
def fixture_hub():
    server = FixtureHub()
    qwen = qwen_files()
    server.repos[REPO] = Repo(qwen, sha=SHA, revisions=("main", "v1"))
    server.repos["org/gated"] = Repo(qwen, gated=True)
    gguf = write(LLAMA_META, LLAMA_TENSORS, data=False)
    server.repos["org/tiny-GGUF"] = Repo(
        {
            "tiny-Q8_0.gguf": gguf,
            "tiny-Q4_K_M.gguf": (gguf, LARGE * 2),
            "mmproj-F16.gguf": write(MMPROJ_META, MMPROJ_TENSORS),
            "README.md": b"hi",
        },
        sha="b" * 40,
    )
    yield server
    server.close()


@pytest.fixture(scope="module")
def hub_site(fixture_hub, tmp_path_factory):
    """The site built with the fixture Hub as its endpoint and CDN, served on a free port."""
    out = tmp_path_factory.mktemp("hubsite") / "dist"
    cdn = f"http://127.0.0.1:{fixture_hub.cdn.server_address[1]}"
    assert build.main(["--out", str(out), "--hub-endpoint", fixture_hub.endpoint, "--hub-cdn", cdn]) == 0
    server = make_server(out, cache=False)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def hub_context(browser, hub_site, fixture_hub):
    """A context that lets the page reach its site and the fixture Hub, nothing else."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US", service_workers="block")
    allowed = (hub_site, fixture_hub.endpoint, f"http://127.0.0.1:{fixture_hub.cdn.server_address[1]}")
    ctx.outside = []
    ctx.route(
        "**/*", lambda r: r.continue_() if r.request.url.startswith(allowed) else (ctx.outside.append(r.request.url), r.abort())
    )
    yield ctx
    ctx.close()


@pytest.fixture
def page(hub_context, fixture_hub):
    fixture_hub.log.clear()
    p = hub_context.new_page()
    p.errors = []
    p.on("pageerror", lambda exc: p.errors.append(str(exc)))
    p.add_init_script(
        "window.__violations = []; document.addEventListener('securitypolicyviolation',"
        " e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    yield p
    assert p.errors == [] and p.evaluate("window.__violations") == []
    assert hub_context.outside == []
    p.close()


def expected(fixture_hub, monkeypatch, tmp_path, model, revision=None, file=None, mmproj=None) -> dict[str, str]:
    """What the page should show: the command line's request for the same model (calc/cli.py
    hub_request against the same fixture Hub), answered by calc.api.handle."""
    from calc.api import handle
    from calc.cli import hub_request

    monkeypatch.setenv("HF_ENDPOINT", fixture_hub.endpoint)
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    answer = handle({**hub_request(model, revision, file, mmproj), "op": "estimate", "lang": "en"})
    assert answer["ok"], answer
    return {key: present.gib(answer["memory"][field]) for key, field in OUTPUTS.items()}


def shown(page) -> dict[str, str]:
    return {key: page.text_content(f'#result-body [data-out="{key}"]') for key in OUTPUTS}


def fetched(page, words: str) -> None:
    """Wait for the fetch to end (#hub-field data-hub="done") with `words` in its status line, and
    for its estimate to be shown."""
    wait_until(page, "document.getElementById('hub-field').dataset.hub === 'done'")
    assert words in page.text_content("#hub-status")
    wait_ready(page)


def failed(page) -> str:
    wait_until(page, "document.getElementById('hub-field').dataset.hub === 'error'")
    return page.text_content("#hub-error")


def test_the_default_site_fetches_nothing_and_allows_only_the_hub(browser, base_url):
    """The page as published: no request leaves the site, even with the Hub input open and typed in;
    connect-src is 'self' and the Hub's hosts, nothing else."""
    ctx = browser.new_context(service_workers="block")
    outside = []
    ctx.route(
        "**/*", lambda r: r.continue_() if r.request.url.startswith(base_url) else (outside.append(r.request.url), r.abort())
    )
    p = ctx.new_page()
    p.goto(base_url)
    wait_ready(p)
    csp = p.get_attribute('meta[http-equiv="Content-Security-Policy"]', "content")
    connect = next(d for d in csp.split(";") if d.strip().startswith("connect-src")).split()[1:]
    assert connect == ["'self'", "https://huggingface.co", "https://*.hf.co", "https://*.huggingface.co"]
    assert json.loads(p.text_content("#build-info"))["hub"] == "https://huggingface.co"
    p.select_option("#model", "hub")
    p.fill("#hub", "Qwen/Qwen3-4B-Instruct-2507")
    p.fill("#rev", "main")
    assert p.is_visible("#hub-fetch") and "Nothing is fetched until you press Fetch" in p.text_content("#hub-help")
    assert p.text_content("#result-pending") == "Enter a repo id or Hub URL and press “Fetch from the Hub”."
    p.wait_for_timeout(300)
    assert outside == []
    ctx.close()


def test_a_repo_is_fetched_on_request_and_estimated_like_the_cli(page, hub_site, fixture_hub, monkeypatch, tmp_path):
    page.goto(hub_site)
    wait_ready(page)
    page.select_option("#model", "hub")
    page.wait_for_timeout(200)
    assert fixture_hub.log == []  # nothing until asked
    page.fill("#hub", REPO)
    page.click("#hub-fetch")
    fetched(page, f"Read from the Hub: {REPO} at main (commit {SHA[:12]})")
    log = list(fixture_hub.log)
    assert shown(page) == expected(fixture_hub, monkeypatch, tmp_path, REPO)
    assert page.text_content("#result-body [data-out=weights]") == present.gib(QWEN3_4B_BYTES)
    assert page.input_value("#quant") == "native" and page.is_hidden("#hub-file-field")
    wait_until(page, "location.search.includes('hub=Qwen%2FQwen3-4B-Instruct-2507')")  # written once it settles
    assert "model=hub&" in page.url and "quant=native" in page.url
    paths = [p for _, p, _ in log]
    assert paths[0] == f"/api/models/{REPO}/revision/main" and f"/{REPO}/resolve/{SHA}/config.json" in paths
    shard_reads = [h.get("Range") for role, p, h in log if role == "hub" and p.endswith(".safetensors")]
    assert len(shard_reads) == 4 and "bytes=0-7" in shard_reads and all(shard_reads)  # two small reads a shard
    assert [1 for role, _, _ in log if role == "cdn"]  # the large shard was redirected, and followed
    for _, _, headers in log:  # no cookies, no referrer, no token
        assert not {"Cookie", "Referer", "Authorization"} & set(headers), headers


def test_a_link_reproduces_a_hub_model_and_its_revision(page, hub_site, fixture_hub, monkeypatch, tmp_path):
    page.goto(f"{hub_site}?model=hub&hub={REPO}&rev=v1&ctx=8192")
    fetched(page, "at v1")
    assert page.input_value("#hub") == REPO and page.input_value("#rev") == "v1"
    assert f"/api/models/{REPO}/revision/v1" in [p for _, p, _ in fixture_hub.log]
    wait_until(page, "location.search.includes('rev=v1') && location.search.includes('ctx=8192')")
    # a repo id as the model key reads as the same thing
    page.goto(f"{hub_site}?model={REPO}")
    fetched(page, "Read from the Hub")
    assert shown(page) == expected(fixture_hub, monkeypatch, tmp_path, REPO)


def test_a_gguf_repo_offers_its_files(page, hub_site, fixture_hub, monkeypatch, tmp_path):
    page.goto(hub_site + "?model=hub")
    wait_ready(page)
    page.fill("#hub", "https://huggingface.co/org/tiny-GGUF")  # a Hub URL is read as its repo id
    page.press("#hub", "Enter")
    fetched(page, "Read from the Hub: org/tiny-GGUF")
    assert page.input_value("#file") == "tiny-Q4_K_M.gguf" and page.input_value("#quant") == "gguf_file"
    options = page.eval_on_selector_all("#file option", "os => os.map(o => o.textContent)")
    assert options == ["GGUF Q4_K_M: tiny-Q4_K_M.gguf (0 GiB)", "GGUF Q8_0: tiny-Q8_0.gguf (0 GiB)"]
    wait_until(page, "location.search.includes('file=tiny-Q4_K_M.gguf')")
    reads = [h.get("Range") for _, p, h in fixture_hub.log if p.endswith(".gguf")]
    assert reads and all(r and r.startswith("bytes=0-") for r in reads)
    assert shown(page) == expected(fixture_hub, monkeypatch, tmp_path, "org/tiny-GGUF", None, "tiny-Q4_K_M.gguf")
    page.select_option("#file", "tiny-Q8_0.gguf")
    wait_until(page, "location.search.includes('file=tiny-Q8_0.gguf')")
    wait_ready(page)
    assert "tiny-Q8_0.gguf" in page.text_content("#result")


def test_a_gated_repo_needs_the_token_which_stays_in_memory(page, hub_site, fixture_hub):
    page.goto(hub_site + "?model=hub")
    wait_ready(page)
    page.fill("#hub", "org/gated")
    page.click("#hub-fetch")
    error = failed(page)
    assert "401" in error and "access token" in error
    page.fill("#hub-token", TOKEN)
    page.click("#hub-fetch")
    fetched(page, "Read from the Hub: org/gated")
    assert page.is_hidden("#hub-error")
    assert TOKEN not in page.url and TOKEN not in page.evaluate("JSON.stringify({...localStorage, ...sessionStorage})")
    assert TOKEN not in page.input_value("#embed-code") + page.evaluate("document.getElementById('lang-switch').href")
    hub_hits = [h for role, _, h in fixture_hub.log if role == "hub"]
    assert any(h.get("Authorization") == f"Bearer {TOKEN}" for h in hub_hits)
    assert fixture_hub.requests("cdn") and all("Authorization" not in h for _, _, h in fixture_hub.requests("cdn"))


@pytest.mark.parametrize(
    "lang, repo, words",
    [
        ("", "nobody/nothing", "not found (404): check the repo id"),
        ("", RATE_LIMITED, "too many requests (429)"),
        ("zh/", "nobody/nothing", "未找到（404）"),
        ("zh/", RATE_LIMITED, "请求过多（429）"),
    ],
)
def test_failures_are_clear_and_keep_the_last_result(page, hub_site, lang, repo, words):
    page.goto(f"{hub_site}{lang}?model=hub&hub={REPO}")
    fetched(page, REPO)
    before = page.text_content("#result-body [data-out=total]")
    page.fill("#hub", repo)
    page.click("#hub-fetch")
    assert words in failed(page)
    assert page.text_content("#result-body [data-out=total]") == before and page.is_visible("#result-body")
    assert "hub=Qwen%2F" in page.url  # the link still says what is shown


@pytest.mark.parametrize("lang, words", [("", "Offline: the file list of"), ("zh/", "离线：无法获取")])
def test_offline_says_offline(page, hub_site, hub_context, lang, words):
    page.goto(f"{hub_site}{lang}?model=hub")
    wait_ready(page)
    page.fill("#hub", REPO)
    hub_context.set_offline(True)
    try:
        page.click("#hub-fetch")
        assert words in failed(page)
    finally:
        hub_context.set_offline(False)
    # a catalog model still works
    page.select_option("#model", "qwen3-8b")
    wait_ready(page)
    assert page.is_visible("#result-body")


def test_a_repo_mmproj_is_added_for_llamacpp(page, hub_site, fixture_hub, monkeypatch, tmp_path):
    page.goto(f"{hub_site}?model=hub&hub=org/tiny-GGUF&file=tiny-Q8_0.gguf")
    fetched(page, "org/tiny-GGUF")
    assert page.is_visible("#mmproj") and page.input_value("#mmproj") == ""
    assert page.eval_on_selector_all("#mmproj option", "os => os.map(o => o.value)") == ["", "mmproj-F16.gguf"]
    page.select_option("#mmproj", "mmproj-F16.gguf")
    wait_until(page, "location.search.includes('mmproj=mmproj-F16.gguf')")
    fetched(page, "org/tiny-GGUF")
    assert "mmproj-F16.gguf" in page.text_content("#result")  # the warning names it
    want = expected(fixture_hub, monkeypatch, tmp_path, "org/tiny-GGUF", None, "tiny-Q8_0.gguf", "mmproj-F16.gguf")
    assert shown(page) == want  # the tiny fixture's 48 KiB do not show in GiB: the header was read, and said
    reads = [h.get("Range") for _, p, h in fixture_hub.log if p.endswith("/mmproj-F16.gguf")]
    assert reads and all(r and r.startswith("bytes=0-") for r in reads)
    # the link brings it back
    page.goto(page.url)
    fetched(page, "org/tiny-GGUF")
    assert page.input_value("#mmproj") == "mmproj-F16.gguf" and shown(page) == want


def test_a_local_mmproj_beside_a_local_gguf(page, hub_site, tmp_path):
    import base64

    from calc.api import handle

    model = tmp_path / "tiny-Q8_0.gguf"
    model.write_bytes(write(LLAMA_META, LLAMA_TENSORS))
    mmproj = tmp_path / "mmproj-tiny-F16.gguf"
    mmproj.write_bytes(write(MMPROJ_META, MMPROJ_TENSORS))
    page.goto(hub_site + "?model=gguf-file")
    wait_ready(page)
    page.set_input_files("#gguf", str(model))
    page.wait_for_selector("#result-body", state="visible", timeout=60_000)
    wait_ready(page)
    page.set_input_files("#gguf-mmproj", str(mmproj))
    wait_until(page, "document.getElementById('result').textContent.includes('mmproj-tiny-F16.gguf')")
    wait_ready(page)
    request = {"gguf": base64.b64encode(model.read_bytes()).decode(), "gguf_name": model.name, "lang": "en"}
    request |= {"mmproj": base64.b64encode(mmproj.read_bytes()).decode(), "mmproj_name": mmproj.name}
    answer = handle(request)
    assert answer["ok"]
    assert shown(page) == {key: present.gib(answer["memory"][field]) for key, field in OUTPUTS.items()}
    plain = handle({k: v for k, v in request.items() if not k.startswith("mmproj")})
    assert answer["memory"]["weights_bytes"] - plain["memory"]["weights_bytes"] == MMPROJ_BYTES
