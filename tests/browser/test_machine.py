"""Your machine on the page (issue 14): the link keeps the machine, the panel shows one bar per device
and the llama-server line the core gives, in English and Chinese; typing RAM brings the panel."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from util import wait_ready, wait_until

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("MACHINE_SHOTS")  # a folder: save screenshots there to look at them


@pytest.fixture(scope="module")
def page(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 1400}, locale="en-US", service_workers="block")
    p = ctx.new_page()
    yield p
    ctx.close()


QUERY = "?model=gpt-oss-120b&quant=mxfp4&ctx=32768&batch=1&engine=llama.cpp&gpu=rtx-5060-ti-16gb&n=1&ram=64GiB"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_link_with_ram_shows_the_machine(page, base_url, core, lang):
    page.goto(base_url + ("zh/index.html" if lang == "zh" else "") + QUERY)
    wait_ready(page)
    answer = core(
        {
            "op": "estimate",
            "model": "gpt-oss-120b",
            "quant": "mxfp4",
            "context": 32768,
            "batch": 1,
            "engine": "llama.cpp",
            "gpu": "rtx-5060-ti-16gb",
            "gpus": 1,
            "ram": "64GiB",
            "devices": "1xrtx-5060-ti-16gb",
            "lang": lang,
        }
    )
    assert page.is_visible("#machine-result")
    assert page.text_content("#machine-command") == answer["offload"]["command"]["llama_server"]
    assert page.locator("#machine-devices li").count() == 2
    assert page.get_attribute("#machine-devices li[data-device=CPU]", "class") == "device"
    assert page.input_value("#ram") == "64GiB"
    if SHOTS:
        page.locator("#machine-result").screenshot(path=f"{SHOTS}/machine-{lang}.png")


def test_typing_ram_and_layers_updates_link_and_command(page, base_url):
    page.goto(base_url + "?model=qwen3-30b-a3b&quant=q4_k_m&ctx=32768&batch=1&engine=llama.cpp&gpu=rtx-3060-12gb&n=1")
    wait_ready(page)
    assert page.is_hidden("#machine-result")
    page.click("#machine-settings summary")
    page.fill("#ram", "32GiB")
    assert page.is_disabled("#ngl")  # placement auto (like --fit) by default: the layer fields wait
    page.select_option("#place", "manual")
    page.fill("#ngl", "30")
    wait_until(page, "document.getElementById('machine-command').textContent.includes('-ngl 30')")
    wait_until(
        page,
        "location.search.includes('ram=32GiB') && location.search.includes('place=manual') && location.search.includes('ngl=30')",
    )
    assert page.is_visible("#machine-result")
    page.select_option("#place", "")  # back to auto: the planner's -ngl, the typed one kept in its box
    wait_until(page, "!location.search.includes('ngl=30') && !location.search.includes('place=')")
    wait_until(page, "!document.getElementById('machine-command').textContent.includes('-ngl 30')")
    assert page.is_disabled("#ngl") and page.input_value("#ngl") == "30"
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/machine-form.png", full_page=True)


def test_headline_answers_for_the_machine(page, base_url):
    """gpt-oss-120b on a 16 GB card: the GPU alone does not fit, the card with 64 GiB of RAM does, and
    the headline says so with the machine section."""
    page.goto(base_url + QUERY)
    wait_ready(page)
    assert page.get_attribute("[data-out=fit]", "class") == "fit fit-yes"
    assert page.text_content("[data-out=fit]").startswith("Fits this machine:")
    assert page.text_content("#machine-verdict") == "Fits this machine."
    page.fill("#ram", "16GiB")
    wait_until(page, "document.querySelector('[data-out=fit]').className === 'fit fit-no'")
    assert page.text_content("[data-out=fit]").startswith("Does not fit this machine: System RAM")
    assert page.text_content("#machine-verdict") == "Does not fit this machine."
    if SHOTS:
        page.locator("#answer").screenshot(path=f"{SHOTS}/machine-headline.png")
        page.locator("#machine-settings").screenshot(path=f"{SHOTS}/machine-settings.png")


def test_an_old_link_with_layers_is_manual(page, base_url):
    page.goto(base_url + "?model=qwen3-30b-a3b&quant=q4_k_m&gpu=rtx-3060-12gb&n=1&ram=32GiB&ngl=20")
    wait_ready(page)
    assert page.input_value("#place") == "manual" and not page.is_disabled("#ngl")
    wait_until(page, "document.getElementById('machine-command').textContent.includes('-ngl 20')")


def test_a_bad_machine_field_is_named_under_it(page, base_url):
    page.goto(base_url + "?model=llama-3.1-8b&quant=q4_k_m&gpu=rtx-4090&n=1&dev=rtx-9999")
    wait_ready(page)
    assert page.is_visible("#err-dev") and "rtx-9999" in page.text_content("#err-dev")


def test_a_typed_machine_error_is_in_chinese_on_the_chinese_page(page, base_url):
    """The core's machine errors come from the message catalogs in the page's language."""
    page.goto(base_url + "zh/index.html?model=llama-3.1-8b&quant=q4_k_m&gpu=rtx-4090&n=1&ram=32GiB")
    wait_ready(page)
    page.fill("#ram", "lots")
    wait_until(page, "!document.getElementById('err-ram').hidden")
    text = page.text_content("#err-ram")
    assert "系统内存须为容量" in text and "lots" in text and "must" not in text, text
    page.fill("#dev", "rtx-9999")
    wait_until(page, "!document.getElementById('err-dev').hidden")
    assert "未知的 GPU 'rtx-9999'" in page.text_content("#err-dev")


def test_bar_and_chart_follow_the_machine_not_the_gpu_select(page, base_url):
    """A GPU list unlike the GPU select: the bar's note and the chart's line name the machine's GPUs."""
    page.goto(
        base_url + "?model=gpt-oss-120b&quant=mxfp4&ctx=32768&engine=llama.cpp&gpu=h100-sxm&n=1&dev=rtx-5060-ti-16gb&ram=64GiB"
    )
    wait_ready(page)
    wait_until(page, "document.querySelector('#chart .cap-label') !== null")
    note = page.text_content("[data-out=bar-note]")
    assert page.is_visible("[data-out=bar-note]") and "RTX 5060 Ti 16GB" in note and "H100" not in note
    label = page.text_content("#chart .cap-label")
    assert label.startswith("Your machine's GPUs (1 × NVIDIA GeForce RTX 5060 Ti 16GB)"), label
    assert page.locator("#chart .mark-fit").count() == 0
    page.fill("#dev", "")
    page.fill("#ram", "")  # no machine: the select's GPUs again
    wait_until(page, "!location.search.includes('ram=') && !location.search.includes('dev=')")
    wait_until(page, "document.querySelector('[data-out=bar-note]').parentElement.hidden")
    assert page.text_content("#chart .cap-label").startswith("1 × NVIDIA H100")


def test_a_mac_is_described_as_unified_memory(page, base_url):
    page.goto(base_url + "zh/index.html?model=qwen3-30b-a3b&quant=q4_k_m&ctx=32768&engine=llama.cpp&dev=m4-max-128gb")
    wait_ready(page)
    assert page.text_content("[data-out=fit]").startswith("这台机器放得下：统一内存的 GPU 份额中")
    assert page.text_content("#machine-devices li[data-device=CPU] .device-name") == "CPU · 统一内存的 CPU 部分"
    assert "无需经 PCIe" in page.text_content("#machine-speed") and "系统内存" not in page.text_content("#machine-result")


@pytest.mark.parametrize(("lang", "title"), [("en", "Your machine: GPUs, RAM and offload"), ("zh", "你的机器：GPU、内存与卸载")])
def test_the_machine_panel_title_names_no_engine(page, base_url, lang, title):
    """The panel serves every engine (vLLM's --cpu-offload-gb plan too): its title says no llama.cpp."""
    page.goto(base_url + ("zh/index.html" if lang == "zh" else "") + "?model=llama-3.1-8b&engine=vllm&gpu=rtx-4090&n=1")
    wait_ready(page)
    assert page.text_content("#machine-settings summary") == title


OVERLAPS = """(() => {
  const svg = document.querySelector('#chart svg');
  const box = (el) => el.getBBox();
  const left = 52, right = svg.viewBox.baseVal.width - 16;  // the plot (web/js/chart.js M)
  const labels = [...svg.querySelectorAll('.cap-label, .mark-label')].map(box);
  const ticks = [...svg.querySelectorAll('.tick-label')].map(box);
  const meet = (a, b) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
  const outside = labels.filter((b) => b.x < left - 1 || b.x + b.width > right + 1).length;
  const crossing = labels.filter((a, i) => ticks.some((t) => meet(a, t)) || labels.some((b, j) => j !== i && meet(a, b))).length;
  const item = document.querySelector('#chart .cap-item');
  return [outside, crossing, item ? item.textContent : ''];
})()"""


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_chart_labels_do_not_overlap_at_phone_width(browser, base_url, lang):
    """At 390 px a long capacity label ran over the y axis and off the picture: the plot now keeps
    its labels inside and apart, and the whole label goes to the legend."""
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, service_workers="block")
    p = ctx.new_page()
    try:
        for query, legend in ((QUERY, "RTX 5060 Ti 16GB"), ("?model=llama-3.1-8b&quant=q4_k_m&gpu=rtx-4090&n=1", "RTX 4090")):
            p.goto(base_url + ("zh/index.html" if lang == "zh" else "") + query)
            wait_ready(p)
            wait_until(p, "document.querySelector('#chart svg') !== null")
            outside, crossing, item = p.evaluate(OVERLAPS)
            assert (outside, crossing) == (0, 0) and legend in item, (outside, crossing, item)
            if SHOTS:
                p.locator("#chart-section").screenshot(path=f"{SHOTS}/chart-390-{lang}-{legend[-4:]}.png")
    finally:
        ctx.close()


def test_a_link_never_paints_the_default_form_and_opens_its_engine_settings(browser, base_url):
    """Before app.js has put a link's settings in, the form (the page's defaults) is covered and a
    placeholder says the link is being read; then the form holds the link's model, format and
    context, and a link's engine setting (pt=) has its disclosure open."""
    ctx = browser.new_context(service_workers="block")
    p = ctx.new_page()
    held = []
    p.route("**/js/app.js", lambda route: held.append(route))
    try:
        p.goto(
            base_url + "?model=qwen3-32b&quant=native&ctx=8192&engine=transformers&pt=1000&gpu=h100-sxm&n=1",
            wait_until="commit",
        )
        p.wait_for_selector("#link-pending", state="visible")
        assert p.evaluate("getComputedStyle(document.getElementById('calc-form')).visibility") == "hidden"
        assert p.evaluate("getComputedStyle(document.getElementById('result-body')).visibility") == "hidden"
        assert p.text_content("#link-pending") == "Reading the settings of the link…"
        held[0].continue_()
        p.unroute("**/js/app.js")
        wait_ready(p)
        assert p.is_hidden("#link-pending") and p.is_visible("#calc-form")
        assert p.input_value("#model") == "qwen3-32b" and p.input_value("#ctx") == "8192"
        assert p.get_attribute("#engine-settings", "open") is not None and p.input_value("#pt") == "1000"
        p.goto(base_url)  # no link: nothing covered, the engine settings closed
        wait_ready(p)
        assert p.is_hidden("#link-pending") and p.get_attribute("#engine-settings", "open") is None
    finally:
        ctx.close()
