"""The presentation module (calc/present.py): the one number formatter, and the view the page
prints at build time and fills in the browser, checked through calc.api's op "view"."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

from calc import catalog, i18n, present
from calc.api import handle
from calc.i18n import texts

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = json.loads((ROOT / "tests/browser/golden_requests.json").read_text())
OK_REQUESTS = [c["request"] for c in GOLDEN if handle(c["request"])["ok"]]


@pytest.mark.parametrize(
    ("value", "digits", "text"),
    [
        (0.25, 1, "0.3"),  # exactly 0.25: half away from zero, as Intl.NumberFormat does
        (0.35, 1, "0.3"),  # 0.35 is 0.34999... in binary
        (1234567.5, 0, "1,234,568"),
        (2.5, 0, "3"),
        (0, 1, "0.0"),
        (262144, 0, "262,144"),
        (114.649, 1, "114.6"),
    ],
)
def test_number_format_rounds_like_intl(value, digits, text):
    assert present.num(value, digits) == text


@pytest.mark.parametrize(
    ("call", "text"),
    [
        (lambda: present.gib(2**30), "1.0"),
        (lambda: present.gib(3 * 2**29, 2), "1.50"),
        (lambda: present.gib(0), "0.0"),
        (lambda: present.pct(0.125), "13%"),
        (lambda: present.pct(0.07), "7%"),
        (lambda: present.pct(0.1234, 2), "12.34%"),
        (lambda: present.tokens_label(512), "512"),
        (lambda: present.tokens_label(4096), "4k"),
        (lambda: present.tokens_label(2**20), "1M"),
    ],
)
def test_units(call, text):
    assert call() == text


@pytest.mark.parametrize(
    ("source", "url"),
    [
        ("https://example.org/a.json", "https://example.org/a.json"),
        ("https://example.org/a.json (a copy of the config)", "https://example.org/a.json"),
        ("a log, see http://example.org/x", "http://example.org/x"),
        ({"url": "https://example.org/b"}, "https://example.org/b"),
        ("no link here", None),
        (None, None),
    ],
)
def test_source_url(source, url):
    assert present.source_url(source) == url


def test_nice_step():
    assert [present.nice_step(top, 5) for top in (1.0, 9.0, 12.0, 320.0, 648.0)] == [0.2, 2.0, 2.5, 100.0, 200.0]


def view(request: dict) -> dict:
    answer = handle({**request, "op": "view"})
    assert answer["ok"], answer.get("error")
    return answer["view"]


def test_default_view_hand_checked():
    """The default request (Qwen3-Coder 480B, Q4_K_M, 32k, llama.cpp, 4 x H100 SXM), its numbers
    written from the estimate by hand."""
    estimate = handle({})
    v = view({})
    gib = lambda b: f"{b / 2**30:,.1f}"  # noqa: E731 - none of these numbers sits on a rounding tie
    assert v["text"]["total"] == gib(estimate["memory"]["total_bytes"])
    fit = estimate["fit"]
    assert v["text"]["fit"] == (
        f"Fits on 4 × NVIDIA H100 SXM 80GB: {gib(fit['used_bytes'])} of {gib(fit['capacity_bytes'])} GiB used, "
        f"{gib(fit['headroom_bytes'])} GiB free."
    )
    assert v["text"]["max-context"] == f"{estimate['max_context']:,} tokens"
    assert v["text"]["ctx-max"] == "This model was trained for up to 262,144 tokens."
    assert v["text"]["kv-default"] == "Engine default (F16)"
    assert v["fits"] is True
    assert [w["code"] for w in v["warnings"]] == [w["code"] for w in estimate["warnings"]]
    assert [(r["gpu"], r["count"]) for r in v["recs"]] == [(r["gpu"], r["count"]) for r in estimate["recommendations"]]
    rows = {r["key"]: r["value"] for r in v["spec"]["rows"]}
    assert rows["total_params"] == "480.2B (official: 480B)"
    assert rows["attention"] == "Grouped-query (GQA)" and rows["hidden_size"] == "6,144"
    assert "attention_layers" not in rows  # one kind of layer only
    s = estimate["speed"]  # llama.cpp's fit on CUDA (tests/test_speed.py)
    low, high = (f"{x:,.0f}" for x in s["decode_range_tokens_per_s_per_sequence"])
    assert v["text"]["speed"] == f"≈ {low}–{high} tokens/s per sequence"
    assert v["text"]["speed-total"] == ""  # one sequence
    low, high = (f"{x:,.2f}" for x in s["prefill_range_seconds"])
    assert v["text"]["ttft"] == f"≈ {low}–{high} s to prefill 32,768 tokens"
    assert v["text"]["speed-note"].startswith("Decode: 100% of the memory bandwidth plus 121 µs per layer, fitted to 42")
    assert v["text"]["summary"] == (
        "Qwen3-Coder-480B-A35B-Instruct · Q4_K_M · 32,768 tokens · 1 sequence · llama.cpp · 4 × NVIDIA H100 SXM 80GB"
    )


# The format list's options: (request, format, text), sizes written from the estimate's format_sizes by hand.
FORMAT_OPTIONS = [
    ({"model": "llama-3.1-8b"}, "q4_k_m", "Q4_K_M · {q4_k_m} GiB"),
    ({"model": "llama-3.1-8b"}, "awq", "AWQ 4-bit: not loaded by llama.cpp"),
    ({"model": "llama-3.1-8b", "engine": "vllm", "quant": "native"}, "awq", "AWQ 4-bit · {awq} GiB"),
    ({"model": "llama-3.1-8b", "engine": "vllm", "quant": "native"}, "q4_k_m", "Q4_K_M: not loaded by vLLM"),
    ({"model": "llama-3.1-8b", "lang": "zh"}, "native", "原生（按发布版本） · {native} GiB"),
    ({"model": "llama-3.1-8b", "engine": "vllm", "quant": "native", "lang": "zh"}, "q4_k_m", "Q4_K_M：vLLM 不能加载"),
]


@pytest.mark.parametrize(("request_", "fmt", "text"), FORMAT_OPTIONS)
def test_format_list_names_each_size_or_why_not(request_, fmt, text):
    sizes = {f["id"]: f"{f['weights_bytes'] / 2**30:,.1f}" for f in handle(request_)["format_sizes"]}
    assert view(request_)["formats"][fmt] == text.format(**sizes)


def test_format_sizes_follow_the_weights():
    """Every format the engine loads is sized, in catalog order, and the chosen one's size is the
    answer's weights (llama.cpp keeps the embeddings on the host, so the GPU holds less)."""
    answer = handle({"model": "llama-3.1-8b", "engine": "vllm", "quant": "fp8"})
    ids = [f["id"] for f in answer["format_sizes"]]
    assert ids == [f.id for f in catalog.formats().values() if "vllm" in f.engines]
    chosen = next(f for f in answer["format_sizes"] if f["id"] == "fp8")
    assert chosen["weights_bytes"] == answer["memory"]["weights_bytes"]
    assert chosen["bits_per_weight"] == answer["format"]["bits_per_weight"]


def test_chinese_view_is_written_in_chinese():
    v = view({"lang": "zh"})
    assert v["text"]["fit"].startswith("可以放入 4 × NVIDIA H100 SXM 80GB")
    assert v["text"]["kv-default"] == "引擎默认（F16）"
    assert {r["key"]: r["label"] for r in v["spec"]["rows"]}["layers"] == "层数"
    assert v["text"]["summary"] == (
        "Qwen3-Coder-480B-A35B-Instruct · Q4_K_M · 32,768 token · 1 个序列 · llama.cpp · 4 × NVIDIA H100 SXM 80GB"
    )


def test_no_fit_and_no_recommendations():
    v = view({"model": "deepseek-v3", "quant": "native", "gpu": "rtx-4090", "gpus": 1, "recommend": False})
    assert v["fits"] is False and v["text"]["fit"].startswith("Does not fit on 1 × NVIDIA GeForce RTX 4090")
    assert v["text"]["max-context"] == "none: the model does not fit"
    assert v["recs"] == []


def test_bar_is_the_fullest_gpu_against_its_own_capacity():
    """Split over GPUs, the bar is one GPU's: the fullest per_gpu entry against its usable memory, so a
    split that does not fit never draws below the capacity mark."""
    for gpus in (2, 4):
        request = {"model": "llama-3.1-70b", "quant": "q4_k_m", "gpu": "rtx-4090", "gpus": gpus, "engine": "vllm"}
        v, answer = view(request), handle(request)
        fullest = max(answer["per_gpu"], key=lambda g: g["total_bytes"])
        scale = max(fullest["total_bytes"], answer["fit"]["capacity_bytes"])
        weights = next(s for s in v["bar"]["segments"] if s["part"] == "weights")
        assert weights["width"] == f"{1000 * fullest['weights_bytes'] / scale:.2f}"
        assert v["bar"]["cap"] == f"{1000 * answer['fit']['capacity_bytes'] / scale:.2f}"
        drawn = sum(float(s["width"]) for s in v["bar"]["segments"])
        assert (drawn > float(v["bar"]["cap"])) == (not answer["fit"]["fits"])


# (request, verdict, the fit line's first words) - one row per state
VERDICTS = [
    ({}, "yes", "Fits on 4 × NVIDIA H100 SXM"),
    (
        {"model": "llama-3.1-8b", "quant": "q4_k_m", "context": 23040, "gpu": "rtx-4060-ti-8gb", "gpus": 1},
        "tight",
        "Tight on 1 ×",
    ),
    ({"model": "deepseek-v3", "quant": "native", "gpu": "rtx-4090", "gpus": 1}, "no", "Does not fit on 1 ×"),
    ({"model": "llama-3.1-70b", "quant": "awq", "engine": "vllm", "gpu": "rtx-4090", "gpus": 3}, "cannot", "Cannot run on 3 ×"),
    ({"gpu": None}, "none", "No GPU chosen"),  # the API and the CLI may leave the GPU out; the page never does
]


@pytest.mark.parametrize(("request_", "state", "words"), VERDICTS, ids=[v[1] for v in VERDICTS])
def test_verdict_has_its_states(request_, state, words):
    """Tight: under 5% of the fullest GPU free (4.4% here); cannot: vLLM's tensor parallelism does not
    divide 64 heads over 3 GPUs, whatever the memory says."""
    v = view({**request_, "recommend": False})
    assert v["verdict"] == state and v["text"]["fit"].startswith(words)
    assert v["fits"] is (state in ("yes", "tight"))


# gpt-oss-120b (MXFP4_MOE, 32k) with the page's GPU a single RTX 4080: 60.3 GiB, so the GPU alone does not
# fit; your machine, the same 4080 and RAM, is what the headline answers for.
MACHINE = {"model": "gpt-oss-120b", "quant": "mxfp4_moe", "gpu": "rtx-4080", "gpus": 1, "devices": "rtx-4080"}
MACHINE_VERDICTS = [
    (
        {"ram": "64GiB"},
        "en",
        "yes",
        "Fits this machine: 14.8 GiB on the GPUs, 46.4 GiB in system RAM.",
        "1 × NVIDIA GeForce RTX 4080 16GB + 64 GiB RAM",
    ),
    (
        {"ram": "64GiB"},
        "zh",
        "yes",
        "这台机器放得下：GPU 上 14.8 GiB，系统内存中 46.4 GiB。",
        "1 × NVIDIA GeForce RTX 4080 16GB + 64 GiB 内存",
    ),
    ({"ram": "16GiB"}, "en", "no", "Does not fit this machine: System RAM needs 46.4 GiB, 16.0 GiB usable.", "+ 16 GiB RAM"),
    ({"devices": "apple-m4-max-128gb"}, "en", "yes", "Fits this machine:", "1 × Apple M4 Max (40-core GPU) 128GB"),
]


@pytest.mark.parametrize(("extra", "lang", "state", "fit", "summary"), MACHINE_VERDICTS, ids=lambda x: str(x)[:20])
def test_headline_answers_for_your_machine(extra, lang, state, fit, summary):
    """With your machine given, the headline's verdict is the machine's (the machine section's own
    verdict agrees) and the summary line names the machine, not the page's GPU."""
    v = handle({"op": "view", **MACHINE, **extra, "lang": lang})["view"]
    assert v["verdict"] == state and v["fits"] is (state == "yes")
    assert v["text"]["fit"].startswith(fit)
    assert v["machine"]["fits"] is (state == "yes")
    assert v["text"]["summary"].endswith(summary)
    if extra.get("devices"):  # one pool: the machine is its GPU, no RAM item
        assert "RAM" not in v["text"]["summary"]


# The same 4080 + 64 GiB: the GPU alone would read ~60-120 tokens/s with the whole model on it; the
# machine, experts in RAM, reads a fraction of that, and the headline must say what the section says.
MACHINE_SPEEDS = [
    ("en", "≈ {0}–{1} tokens/s per sequence", "≈ {2}–{3} s to prefill 32,768 tokens", ". Prefill"),
    ("zh", "每个序列约 {0}–{1} token/秒", "预填充 32,768 个 token 约需 {2}–{3} 秒", "。预填充"),
]


@pytest.mark.parametrize(("lang", "speed", "ttft", "joint"), MACHINE_SPEEDS)
def test_headline_speed_is_your_machines(lang, speed, ttft, joint):
    """With your machine given, the speed facts are the machine section's numbers (not the page's GPU
    holding the whole model), the GPU-only facts (longest context on the GPUs, most sequences, best
    format and its button) are hidden, and the section's two sentences join as the language writes them."""
    v = handle({"op": "view", **MACHINE, "ram": "64GiB", "lang": lang})["view"]
    section = re.findall(r"(\d[\d,.]*)–(\d[\d,.]*)", v["machine"]["speed"])  # decode, then prefill
    assert len(section) == 2 and joint in v["machine"]["speed"], v["machine"]["speed"]
    numbers = [*section[0], *section[1]]
    assert (v["text"]["speed"], v["text"]["ttft"]) == (speed.format(*numbers), ttft.format(*numbers))
    assert v["text"]["max-context"] == v["text"]["max-batch"] == v["text"]["best-format"] == ""
    assert v["apply_format"] is None and v["speed_sources"] == []
    gpu_only = handle({"op": "view", **{k: x for k, x in MACHINE.items() if k != "devices"}, "lang": lang})["view"]
    assert gpu_only["text"]["speed"] != v["text"]["speed"] and gpu_only["text"]["max-context"]


def test_spec_rows_of_a_hybrid_model_name_each_layer_kind():
    rows = {r["key"]: r["value"] for r in view({"model": "gemma-3-27b-it"})["spec"]["rows"]}
    assert rows["attention_layers"] == "10 full attention + 52 sliding window"


def test_custom_model_card_says_so():
    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": 2048,
        "intermediate_size": 5632,
        "num_hidden_layers": 22,
        "num_attention_heads": 32,
        "num_key_value_heads": 4,
        "vocab_size": 32000,
        "max_position_embeddings": 2048,
    }
    v = view({"config": config})
    assert v["spec"]["custom"] is True and v["state"]["context_length"] == 2048


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("request_", OK_REQUESTS, ids=range(len(OK_REQUESTS)))
def test_every_view_is_complete(request_, lang):
    """Every slot written, no placeholder left, no "None" shown, every link a URL, for every
    request the browser tests replay, in both languages."""
    v = view({**request_, "lang": lang})
    shown = [*v["text"].values(), *(w["text"] for w in v["warnings"])]
    shown += [x for r in v["recs"] for x in (r["name"], r["detail"])]
    shown += [x for r in v["spec"]["rows"] for x in (r["label"], r["value"])]
    for text in shown:
        assert isinstance(text, str) and not re.search(r"\{\w+\}|None|null|nan", text), text
    assert set(v["formats"]) == set(catalog.formats())
    for text in v["formats"].values():
        assert text and not re.search(r"\{\w+\}|None", text), text
    assert set(v["text"]) == {
        *present.PARTS,
        "summary",
        "total",
        "range",
        "fit",
        "max-context",
        "speed",
        "speed-total",
        "ttft",
        "speed-note",
        "model-name",
        "context",
        "ctx-max",
        "ctx-window",
        "kv-default",
        "bpw",
        "max-batch",
        "best-format",
        "kv-pool",
        "rec-apply",
        "bar-note",
    }
    for link in v["speed_sources"]:
        assert link["href"].startswith("https://") and link["text"] == present.thread_label(link["href"])
    assert [s["part"] for s in v["bar"]["segments"]] == list(present.PARTS)
    assert sum(float(s["width"]) for s in v["bar"]["segments"]) <= 1000.01
    for row in v["spec"]["rows"]:
        assert (row["source"] is None) == (row["title"] is None)
        assert row["source"] is None or row["source"].startswith(("https://", "http://"))
    chart = v["chart"]
    if chart:
        contexts = [p[0] for p in chart["points"]]
        assert contexts == sorted(contexts) and all(len(p) == 1 + len(present.PARTS) for p in chart["points"])
        assert chart["y_ticks"][0][0] == 0 and chart["y_ticks"][-1][0] >= chart["y_max"] - 1e-9
        assert max(sum(p[1:]) for p in chart["points"]) <= chart["y_max"] and chart["capacity"] <= chart["y_max"]


def test_message_catalogs_match_and_page_strings_stay_apart():
    """Both languages have the same result words with the same placeholders, and none of the core's
    tables shares a name with the page's own strings (build.py puts them side by side)."""

    def flat(table, prefix=""):
        out = {}
        for k, v in table.items():
            out.update(flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {prefix + k: v})
        return out

    en, zh = flat(i18n.texts("en")), flat(i18n.texts("zh"))
    assert set(en) == set(zh)
    for key in en:
        assert set(re.findall(r"{(\w+)}", en[key])) == set(re.findall(r"{(\w+)}", zh[key])), key
    page = tomllib.loads((ROOT / "web/i18n/en.toml").read_text("utf-8"))
    assert not set(page) & set(i18n.texts("en"))


def test_view_is_fresh_data():
    """A caller may change the view it got: the next one is unchanged."""
    first = view({})
    first["spec"]["rows"][0]["value"] = "changed"
    first["text"]["total"] = "changed"
    assert view({}) == handle({"op": "view"})["view"] != first


@pytest.mark.parametrize("code", ["constructor", "__proto__", "toString", "hasOwnProperty"])
def test_a_config_code_named_like_an_object_property_is_shown_as_itself(code):
    """A pasted config.json's hidden_act "constructor" once showed "Activation: Object" on the page:
    labels are looked up in the message catalog's own keys only."""
    cfg = {
        "model_type": "llama",
        "hidden_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "vocab_size": 128,
        "intermediate_size": 128,
        "hidden_act": code,
    }
    view = handle({"op": "view", "config": cfg, "quant": "f16", "lang": "en"})
    assert view["ok"], view.get("error")
    rows = {r["key"]: r["value"] for r in view["view"]["spec"]["rows"]}
    assert rows["activation"] == code


def test_the_answers_the_core_already_had_are_shown():
    """vLLM's KV pool and concurrency, the most sequences, the best format that fits (with the button's
    format when it is not the chosen one) and the bits per weight, each from the answer."""
    request = {"model": "qwen3-32b", "quant": "fp8", "context": 8192, "engine": "vllm", "gpu": "h100-sxm", "gpus": 1}
    v, a = view({**request, "recommend": False}), handle({**request, "recommend": False})
    assert v["text"]["kv-pool"] == (
        f"{a['kv_capacity_tokens']:,} tokens: {a['max_concurrency']:,.2f} sequences of 8,192 tokens at once"
    )
    assert v["text"]["max-batch"] == f"{a['max_batch']:,} of 8,192 tokens each"
    assert v["text"]["bpw"] == f"{a['format']['bits_per_weight']:.2f} (FP8, as stored, scales included)"
    assert a["best_format"] == "native" and v["text"]["best-format"] == "Native (as released)"
    assert v["apply_format"] == "native"
    llama = view({"model": "llama-3.1-8b", "quant": "native", "gpu": "h100-sxm", "recommend": False})
    assert llama["text"]["kv-pool"] == "" and llama["apply_format"] is None  # llama.cpp keeps no pool; native is best
    assert view({"model": "deepseek-v3", "gpu": "rtx-4090", "recommend": False})["text"]["best-format"] == ""


# (recommendation, its detail line) - hand-written from the catalog's capacity and launch price
REC_ROWS = [
    (
        {
            "gpu": "h100-sxm",
            "name": "NVIDIA H100 SXM 80GB",
            "count": 4,
            "capacity_bytes": 80 * 2**30,
            "headroom_fraction": 0.25,
            "price_usd": 100000,  # the whole setup's (result.Recommendation)
        },
        "80.0 GiB usable on each, 320.0 GiB in all; the fullest keeps 25% free; launch price $25,000 each, $100,000 in all",
    ),
    (
        {
            "gpu": "rtx-4090",
            "name": "NVIDIA GeForce RTX 4090 24GB",
            "count": 1,
            "capacity_bytes": 22 * 2**30,
            "headroom_fraction": 0.1,
            "price_usd": 1599,
        },
        "22.0 GiB usable; 10% free; launch price $1,599",
    ),
    (
        {"gpu": "x", "name": "X", "count": 2, "capacity_bytes": 2**30, "headroom_fraction": 0.5, "price_usd": None},
        "1.0 GiB usable on each, 2.0 GiB in all; the fullest keeps 50% free",
    ),
]


@pytest.mark.parametrize(("rec", "detail"), REC_ROWS, ids=["four", "one", "no price"])
def test_a_recommendation_says_per_gpu_total_and_price(rec, detail):
    assert present.rec_row(rec, texts("en")["result"])["detail"] == detail


def test_every_recommended_price_is_the_catalog_price_per_gpu():
    """From the core's answer to the words: "$X each" is the catalog's launch price of one GPU and
    "$Y in all" that times the count (the page once showed the setup's price as each GPU's)."""
    answer = handle({"model": "gpt-oss-120b", "gpu": "rtx-4090", "gpus": 4})
    r, gpus, checked = texts("en")["result"], catalog.gpus(), 0
    for rec in answer["recommendations"]:
        price = gpus[rec["gpu"]].price_usd
        if price and rec["count"] > 1:
            assert f"${price:,.0f} each, ${price * rec['count']:,.0f} in all" in present.rec_row(rec, r)["detail"]
            checked += 1
    assert checked >= 3


@pytest.mark.parametrize(
    ("tokens", "text"),
    [(131072, "128k"), (100000, "97.7k"), (10485760, "10M"), (3 * 2**19, "1.5M"), (900, "900"), (1024, "1k")],
)
def test_tokens_short(tokens, text):
    assert present.tokens_short(tokens) == text


# The chart's x axis, marks, points and table, by hand: every catalog window is a power of two; the x
# axis runs to the larger of the window and the slider's 262,144; Llama 3.1 8B keeps 32 layers x 8 KV
# heads x 128 x 2 (K and V) x 2 bytes = 128 KiB of F16 KV cache a token, so 32 GiB at 262,144 tokens;
# 8 x H100 hold 8 x 79.6474609375 = 637.1796875 GiB, whose 8% headroom (688.15) rounds up by steps of 200.
CHARTS = [
    (  # window 128k, under the slider's 256k: the axis runs to 256k, fits the whole window
        {"model": "llama-3.1-8b", "gpu": "rtx-4090", "gpus": 1, "quant": "q4_k_m", "engine": "llama.cpp", "context": 32768},
        262144,
        [2**k for k in range(10, 19)],
        [("window", 131072, "Model window 128k"), ("fit", 131072, "Fits up to 128k")],
        ("262,144", "32.0"),
        None,
    ),
    (  # window 10M, past the curve's old end (1M): points on to the window, the last 10M itself
        {"model": "llama-4-scout-17b-16e-instruct", "gpu": "h100-sxm", "gpus": 8, "quant": "q4_k_m", "engine": "llama.cpp"},
        10485760,
        [*(2**k for k in range(10, 24)), 10485760],
        # 8168448 / 2^20 = 7.79 (7.87 before the GGUF FFN rules counted blocks: Scout's Q6_K ffn_down layers
        # moved, so the last GPU's share of the layer split)
        [("window", 10485760, "Model window 10M"), ("fit", 8168448, "Fits up to 7.8M")],
        ("10,485,760", None),
        None,
    ),
    (  # capacity far above every point: the y axis still reaches it
        {"model": "llama-3.1-8b", "gpu": "h100-sxm", "gpus": 8, "quant": "q4_k_m", "engine": "llama.cpp", "context": 4096},
        262144,
        [2**k for k in range(10, 19)],
        [("window", 131072, "Model window 128k"), ("fit", 131072, "Fits up to 128k")],
        ("262,144", "32.0"),
        800,
    ),
]


@pytest.mark.parametrize(("request_", "x_max", "contexts", "marks", "last", "y_max"), CHARTS, ids=["128k", "10M", "capacity"])
def test_chart_reaches_the_window_with_marks_tips_and_table(request_, x_max, contexts, marks, last, y_max):
    c = view(request_)["chart"]
    assert c["x_max"] == x_max and c["x_min"] == 1024
    assert [p[0] for p in c["points"]] == contexts
    assert [(m["kind"], m["tokens"], m["label"]) for m in c["marks"]] == marks
    assert c["x_ticks"][-1][0] <= x_max < 2 * c["x_ticks"][-1][0]
    assert c["capacity"] <= c["y_max"] and (y_max is None or c["y_max"] == y_max)
    assert c["table"]["head"] == ["Context (tokens)", "Weights", "KV cache", "Activations", "Overhead", "Total"]
    rows = c["table"]["rows"]
    assert len(rows) == len(c["points"]) == len(c["tips"]) and rows[-1][0] == last[0]
    assert last[1] is None or rows[-1][2] == last[1]  # the KV cache column
    assert c["tips"][-1][0] == f"{rows[-1][0]} tokens: {rows[-1][5]} GiB"
    assert c["tips"][-1][1].startswith(c["tips"][-1][0] + " (weights ")


def test_chart_words_in_chinese():
    request = {"model": "llama-3.1-8b", "gpu": "rtx-4090", "gpus": 1, "quant": "q4_k_m", "engine": "llama.cpp", "lang": "zh"}
    c = view(request)["chart"]
    assert [m["label"] for m in c["marks"]] == ["模型窗口 128k", "最长可放入 128k"]
    assert c["table"]["head"] == ["上下文长度", "权重", "KV 缓存", "激活", "额外开销", "合计"]
    assert c["tips"][0][0] == f"上下文 1,024：共 {c['table']['rows'][0][5]} GiB"


MACHINE_VIEW = {"op": "view", "model": "gpt-oss-120b", "quant": "mxfp4", "context": 32768, "engine": "llama.cpp"}


@pytest.mark.parametrize(
    ("select", "devices", "gpu_bytes"),
    [  # the select's GPU differs from the machine's: the bar and the chart follow the machine
        ("h100-sxm", "rtx-5060-ti-16gb", "rtx-5060-ti-16gb"),
        ("rtx-3060-12gb", "rtx-4090,rtx-3090", "rtx-4090+rtx-3090"),
    ],
)
def test_bar_and_chart_describe_the_machine(select, devices, gpu_bytes):
    gpus = catalog.gpus()
    capacity = sum(gpus[g].usable_bytes for g in gpu_bytes.split("+"))
    view = handle({**MACHINE_VIEW, "gpu": select, "gpus": 1, "devices": devices, "ram": "64GiB", "curve": True})["view"]
    total = handle({**MACHINE_VIEW, "op": "estimate", "gpu": select, "gpus": 1})["memory"]["total_bytes"]
    scale = max(total, capacity)
    assert view["bar"]["cap"] == f"{1000 * capacity / scale:.2f}"
    assert view["chart"]["capacity"] == capacity / 2**30
    names = [gpus[g].name for g in gpu_bytes.split("+")]
    assert all(n in view["chart"]["capacity_label"] and n in view["text"]["bar-note"] for n in names)
    assert gpus[select].name not in view["chart"]["capacity_label"] + view["text"]["bar-note"]
    assert [m["kind"] for m in view["chart"]["marks"]] == ["window"]  # "fits up to" was the select's
    assert view["text"]["rec-apply"].startswith("These setups hold the whole run on their GPUs")
    plain = handle({**MACHINE_VIEW, "gpu": select, "gpus": 1, "curve": True})["view"]
    assert plain["text"]["bar-note"] == "" and gpus[select].name in plain["chart"]["capacity_label"]


@pytest.mark.parametrize(
    ("lang", "unified", "separate"),
    [
        ("en", ["unified memory", "no weights are copied over PCIe"], ["System RAM", "streamed", "GPUs"]),
        ("zh", ["统一内存", "无需经 PCIe"], ["系统内存", "PCIe 传输）", "每张 GPU"]),
    ],
)
def test_a_unified_machine_is_one_pool_in_its_words(lang, unified, separate):
    """Apple silicon: the GPU's share of one unified memory and the CPU side of it, no PCIe copies;
    a card with system RAM keeps the GPU, RAM and PCIe words."""
    base = {"op": "view", "model": "qwen3-235b-a22b", "quant": "q4_k_m", "context": 32768, "engine": "llama.cpp"}
    base |= {"curve": True, "lang": lang, "ram": "128GiB"}

    def words(devices):
        v = handle({**base, "devices": devices})["view"]
        m = v["machine"]
        return " ".join(
            [
                v["text"]["fit"],
                v["text"]["bar-note"],
                v["text"]["speed-note"],
                v["chart"]["capacity_label"],
                *m["lines"],
                m["speed"],
                *(d["name"] for d in m["rows"]),
            ]
        )

    mac, card = words("m4-max-128gb"), words("rtx-4090")
    assert all(w in mac for w in unified) and not any(w in mac for w in separate), mac
    assert not any(w in card for w in unified) and all(w in card for w in separate[:2]), card


@pytest.mark.parametrize(
    ("template", "params", "text"),
    [
        ("{device} 需要 {need} GiB", {"device": "RTX 4090", "need": "3.0"}, "RTX 4090 需要 3.0 GiB"),
        ("{device} 需要 {need} GiB", {"device": "统一内存的 CPU 部分", "need": "3.0"}, "统一内存的 CPU 部分需要 3.0 GiB"),
        ("{device} needs {need} GiB", {"device": "CPU side", "need": "3.0"}, "CPU side needs 3.0 GiB"),
    ],
    ids=["latin-name", "chinese-name", "english"],
)
def test_fill_leaves_no_space_between_chinese_characters(template, params, text):
    assert present.fill(template, **params) == text
