"""The service worker: after one visit the calculator works with the network off, and a new build
replaces the old cache cleanly."""

from __future__ import annotations

import shutil
import threading

import pytest
from util import wait_ready, wait_until

from devserver import make_server
from service_worker import write_service_worker

pytestmark = pytest.mark.browser


def wait_controlled(page) -> None:
    wait_until(page, "navigator.serviceWorker.controller !== null", 120)


def cache_names(page) -> list[str]:
    return page.evaluate("caches.keys()")


def test_works_offline_after_one_visit(browser, base_url):
    ctx = browser.new_context(service_workers="allow")
    page = ctx.new_page()
    page.goto(base_url)
    wait_ready(page)
    wait_controlled(page)
    ctx.set_offline(True)
    page.reload()
    wait_ready(page)
    assert page.get_attribute("html", "data-state") == "ready"
    page.goto(base_url + "zh/?model=llama-3.1-8b&quant=q8_0&ctx=8192")  # another page and state, offline
    wait_ready(page)
    assert page.input_value("#model") == "llama-3.1-8b"
    ctx.close()


def test_new_build_replaces_the_cache(browser, built_site, tmp_path):
    """Serve a copy of the site, visit it, deploy a changed build into the same folder, and check the
    new worker takes over with only the new cache left and the new page served."""
    site = tmp_path / "site"
    shutil.copytree(built_site, site)
    server = make_server(site, cache=False)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    ctx = browser.new_context(service_workers="allow")
    page = ctx.new_page()
    page.goto(url)
    wait_ready(page)
    wait_controlled(page)
    page.reload()  # a returning visitor: the page is controlled from the start
    wait_ready(page)
    first = cache_names(page)
    assert len(first) == 1 and first[0].startswith(f"llm-vram-calc:{url}:")

    html = (site / "index.html").read_text("utf-8").replace("<title>", "<title>v2 ")
    (site / "index.html").write_text(html, "utf-8")
    write_service_worker(site)  # what a new deploy does: a new version for changed content
    page.evaluate("navigator.serviceWorker.getRegistration().then(r => r.update())")
    wait_until(page, f"caches.keys().then(k => k.length === 1 && k[0] !== {first[0]!r})")
    page.wait_for_selector("#notices .notice-update", state="attached", timeout=30_000)
    page.reload()
    wait_ready(page)
    assert page.title().startswith("v2 ")
    ctx.close()
    server.shutdown()


def test_two_copies_on_one_origin_keep_their_own_caches(browser, built_site, tmp_path):
    """A fork published beside the original (two paths of one github.io origin): visiting one never
    deletes the other's offline copy."""
    root = tmp_path / "origin"
    for name in ("a", "b"):
        shutil.copytree(built_site, root / name)
    server = make_server(root, cache=False)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{server.server_address[1]}/"
    ctx = browser.new_context(service_workers="allow")
    page = ctx.new_page()
    for name in ("a", "b"):
        page.goto(f"{origin}{name}/")
        wait_ready(page)
        wait_controlled(page)
        wait_until(page, f"caches.keys().then(k => k.some(n => n.startsWith('llm-vram-calc:{origin}{name}/:')))")
    names = cache_names(page)
    assert len(names) == 2 and all(any(n.startswith(f"llm-vram-calc:{origin}{x}/:") for n in names) for x in "ab")
    ctx.close()
    server.shutdown()


HOLD_REQUESTS = """
window.calcTimeouts = {requestMs: 600000};
window.__held = [];
const post = Worker.prototype.postMessage;
Worker.prototype.postMessage = function (message) {  // requests wait until the test lets them go
  if (window.__release) return post.call(this, message);
  window.__held.push(() => post.call(this, message));
};
window.__letGo = () => { window.__release = true; window.__held.splice(0).forEach((send) => send()); };
"""


def test_update_during_start_up_is_announced(browser, built_site, tmp_path):
    """A newer build that takes over while the calculator is still starting (its first answer held
    back here) is announced, and the notice stays once the calculator is ready."""
    site = tmp_path / "site"
    shutil.copytree(built_site, site)
    server = make_server(site, cache=False)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    ctx = browser.new_context(service_workers="allow")
    page = ctx.new_page()
    page.goto(url)
    wait_ready(page)
    wait_controlled(page)
    first = cache_names(page)
    ctx.add_init_script(HOLD_REQUESTS)
    page.reload()
    wait_until(page, "window.__held && window.__held.length > 0")  # starting: no answer yet
    assert page.get_attribute("html", "data-state") == "loading"
    html = (site / "index.html").read_text("utf-8").replace("<title>", "<title>v2 ")
    (site / "index.html").write_text(html, "utf-8")
    write_service_worker(site)
    page.evaluate("navigator.serviceWorker.getRegistration().then(r => r.update())")
    wait_until(page, f"caches.keys().then(k => k.length === 1 && k[0] !== {first[0]!r})")
    page.wait_for_selector("#notices .notice-update", state="attached", timeout=30_000)
    page.evaluate("window.__letGo()")
    wait_ready(page)
    assert page.locator("#notices .notice-update").count() == 1
    ctx.close()
    server.shutdown()
