"""Presentation: an estimate answer -> the view a person sees, every word and number formatted.

The view is plain JSON.  build.py prints it through Jinja for the first paint
(web/templates/_result.html.j2); in the browser the worker asks calc.api for op "view" and
web/js/render.js only puts its texts into slots and clones row templates; web/js/chart.js draws
the chart from its numbers.  The words come from calc/data/messages/<lang>.toml ([result], [spec],
[values.*]).  This module holds the one number formatter of the page.

    {"lang": "en",
     "text": {slot: text},        # every data-out slot of the result panel and spec card
     "fits": bool,                 # the verdict's colour
     "bar": {"segments": [{"part", "x", "width"}], "cap": x},   # SVG user units of a 1000-wide bar
     "warnings": [{"code", "text"}],
     "recs": [{"gpu", "count", "name", "detail"}],
     "formats": {format id: its option's text},   # the format list, sized for this model
     "speed_sources": [{"href", "text"}],   # the threads the speed range's measurements come from
     "spec": {"custom": bool (a pasted config.json), "rows": [{"key", "label", "value", "source", "title"}],
              "sources": [{"href", "text"}], "separator": text between source links},
     "chart": {...} | null,        # see chart()
     "state": {"kv_cache", "context", "context_length"}}   # what the page's controls need, not shown
"""

from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from calc import catalog
from calc.i18n import texts
from calc.recommend import HEADROOM

GIB = 2**30
PARTS = ("weights", "kv_cache", "activations", "overhead")
# The spec card's rows below the parameter counts, in order; a model without the fact has no row.
SPEC_KEYS = (
    "architecture",
    "attention",
    "attention_layers",
    "context_length",
    "layers",
    "hidden_size",
    "attention_heads",
    "kv_heads",
    "head_dim",
    "experts_total",
    "experts_active",
    "sliding_window",
    "vocab_size",
    "activation",
    "normalization",
    "position_embedding",
    "license",
    "release_date",
)
LABELLED = ("architecture", "attention", "activation", "normalization")  # codes shown by their values.<key> label
BAR_WIDTH = 1000  # the headline bar's viewBox width (web/templates/_result.html.j2)
CHART_HEADROOM = 1.08  # the chart's y axis reaches 8% above the highest point or the capacity
CHART_Y_TICKS = 5  # about this many gridlines on the y axis
CTX_LIMIT = 262144  # the context slider's maximum (web/js/state.js CTX_LIMIT): the chart's x axis reaches it


# -- numbers -------------------------------------------------------------------------------------


def num(value: float, digits: int = 0) -> str:
    """A number with exactly `digits` decimals, rounded half away from zero on its exact binary
    value, grouped in thousands with "," and "." for the decimal point: as Intl.NumberFormat writes
    it for en-US and zh-CN alike (so one formatter serves both languages)."""
    return _num(value, digits) if value else _write(value, digits)  # zero uncached: -0.0 == 0 writes "-0"


def _write(value: float, digits: int) -> str:
    exact = Decimal(value).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    return f"{exact:,.{digits}f}"


# A view writes some 270 numbers, most of them the same from one slider step to the next (the chart's
# points, the format sizes), and Decimal is slow in Pyodide.  The text depends on nothing but the
# exact value and `digits`, and equal non-zero keys (int, float or Decimal) are equal exact values,
# so a cached text is the one _write would give.
_num = lru_cache(maxsize=4096)(_write)


def gib(nbytes: float, digits: int = 1) -> str:
    """Bytes as GiB (2^30 bytes), the unit every label names."""
    return num(nbytes / GIB, digits)


def pct(fraction: float, digits: int = 0) -> str:
    """A fraction as a percentage ("12%"), computed in decimal so 0.125 shows as 13%."""
    return num(Decimal(fraction) * 100, digits) + "%"


def tokens_label(tokens: int) -> str:
    """A power-of-two token count as the chart's axis writes it: 512, 4k, 128k, 1M."""
    if tokens >= 2**20:
        return f"{tokens // 2**20}M"
    return f"{tokens // 2**10}k" if tokens >= 2**10 else str(tokens)


def tokens_short(tokens: int) -> str:
    """Any token count as briefly as a chart mark writes it: 128k, 97.7k, 10M, 1.5M, 900."""
    for unit, suffix in ((2**20, "M"), (2**10, "k")):
        if tokens >= unit:
            return num(tokens / unit, 0 if tokens % unit == 0 else 1) + suffix
    return num(tokens)


# -- sources -------------------------------------------------------------------------------------


def source_url(source) -> str | None:
    """The URL in a source entry (a URL, text holding one, or {"url": ...}), or None."""
    text = source.get("url", "") if isinstance(source, dict) else source if isinstance(source, str) else ""
    match = re.search(r"https?://\S+", text or "")
    return match.group(0) if match else None


def source_list(sources) -> list[str]:
    """Every distinct source URL of a list or mapping of source entries, in order."""
    entries = sources.values() if isinstance(sources, dict) else sources or []
    return list(dict.fromkeys(u for u in map(source_url, entries) if u))


# -- the view ------------------------------------------------------------------------------------


# A space between two CJK characters: a Chinese template's " {device} " around a device name that is
# itself Chinese ("统一内存的 CPU 部分") leaves one, and Chinese text never spaces two of its characters.
_CJK_GAP = re.compile(r"(?<=[\u3000-\u9fff\uff00-\uffef]) (?=[\u3000-\u9fff\uff00-\uffef])")


def fill(template: str, **params) -> str:
    """A message with its {name} placeholders filled, no space left between two CJK characters."""
    return _CJK_GAP.sub("", template.format_map(params))


def label(words: dict, kind: str, code) -> str:
    """values.<kind>.<code>, or the code itself (a code from a pasted config.json may have none)."""
    return words["values"].get(kind, {}).get(str(code), str(code))


def spec_value(spec: dict, key: str, words: dict) -> str | None:
    """One spec-card value as shown, or None when the model lacks the fact (a single kind of
    attention layer says nothing the attention row does not)."""
    value = spec.get(key)
    if key == "attention_layers":
        kinds = list((value or {}).items())
        if len(kinds) < 2:
            return None
        row = words["spec"]["layer_count"]
        return " + ".join(fill(row, n=num(n), kind=label(words, "layer_kind", k)) for k, n in kinds)
    if value is None or value == "":
        return None
    if key == "position_embedding":
        base = label(words, key, value)
        scaling = spec.get("rope_scaling")
        return f"{base} ({label(words, 'rope_scaling', scaling)})" if scaling else base
    if key in LABELLED:
        return label(words, key, value)
    return num(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def spec_card(model: dict, words: dict) -> dict:
    """The spec card: parameter counts, then one row per fact the model has, with its source."""
    spec, w = model.get("spec") or {}, words["spec"]
    facts = spec.get("fact_sources") or (spec.get("sources") if isinstance(spec.get("sources"), dict) else {})

    def row(key: str, value: str, url: str | None = None) -> dict:
        return {"key": key, "label": w[key], "value": value, "source": url, "title": f"{w['source']}: {url}" if url else None}

    def billions(n: int, official: str | None) -> str:
        text = fill(w["billions"], n=num(n / 1e9, 1))
        return f"{text} ({fill(w['official'], text=official)})" if official else text

    rows = [
        row("total_params", billions(model["total_params"], model.get("official_total_text"))),
        row("active_params", billions(model["active_params"], model.get("official_active_text"))),
    ]
    for key in SPEC_KEYS:
        value = spec_value(spec, key, words)
        if value is not None:
            rows.append(row(key, value, source_url(facts.get(key))))
    sources = [{"href": u, "text": u.replace("https://", "")} for u in source_list(spec.get("sources"))]
    # "custom": from a pasted config.json (a GGUF file's model says where it came from in a warning)
    pasted = bool(model.get("custom")) and (model.get("source") or {}).get("kind", "config") == "config"
    return {"custom": pasted, "rows": rows, "sources": sources, "separator": w["list_sep"]}


def bar(memory: dict, capacity: int) -> dict:
    """The headline bar of one GPU (the fullest: `memory` its {part}_bytes): one segment per part,
    set against the larger of its total and its usable `capacity`, and the capacity's mark.  Each
    segment runs between edges rounded to 0.01 units, so the printed widths add up to the bar."""
    scale = max(memory["total_bytes"], capacity)
    x, segments = 0.0, []
    for part in PARTS:
        end = x + (BAR_WIDTH * memory[f"{part}_bytes"] / scale if scale else 0)
        left, right = round(x, 2), round(end, 2)
        segments.append({"part": part, "x": f"{left:.2f}", "width": f"{right - left:.2f}"})
        x = end
    return {"segments": segments, "cap": f"{BAR_WIDTH * capacity / scale if scale else 0:.2f}"}


def nice_step(top: float, ticks: int) -> float:
    """The gridline step: the smallest of 1, 2, 2.5, 5, 10 x 10^k that makes at most `ticks` steps."""
    raw = top / ticks
    mag = 10 ** math.floor(math.log10(raw))
    return next(s for s in (m * mag for m in (1, 2, 2.5, 5, 10)) if s >= raw)


def chart(answer: dict, words: dict, gpu_name: str) -> dict | None:
    """The memory-against-context chart as numbers (GiB) and labels, or None without two points:
    points [context, weights, kv, activations, overhead] up to x_max (the larger of the model's
    window and the slider's CTX_LIMIT), the y axis top and ticks [GiB, label], the x ticks [tokens,
    label] at every power of two in range (the page thins them to fit its width), the labelled marks
    of the window and of the longest context that fits, each point's hover text, and the data table
    (context, the parts and the total, in GiB) the page offers beside the picture."""
    window = ((answer.get("model") or {}).get("spec") or {}).get("context_length")
    x_max = max(window or 0, CTX_LIMIT)
    points = sorted(
        (p for p in answer.get("curve") or [] if 0 < p["context"] <= x_max),
        key=lambda p: p["context"],
    )
    fit, r = answer["fit"], words["result"]
    if len(points) < 2 or not fit:  # no GPU: no capacity to draw against
        return None
    capacity = fit["capacity_bytes"] * fit["gpus"]  # the curve sums every GPU
    capacity_label = fill(r["chart_capacity"], count=fit["gpus"], gpu=gpu_name, capacity=gib(capacity))
    machine = bool(answer.get("offload"))
    if machine:  # your machine given: its GPUs' line, not that of the page's GPU select
        r = machine_words(answer, r)
        gpus, capacity = machine_gpus(answer, r)
        capacity_label = fill(r["chart_capacity_machine"], gpus=r["summary_plus"].join(gpus), capacity=gib(capacity))
    top = max(capacity, *(p["total_bytes"] for p in points)) / GIB * CHART_HEADROOM
    step = nice_step(top, CHART_Y_TICKS)
    y_max = math.ceil(top / step) * step
    y_ticks, v = [], 0.0
    while v <= y_max + 1e-9:
        y_ticks.append([v, num(v, 1 if step < 1 else 0)])
        v += step
    lo = points[0]["context"]
    x_ticks = [[2**e, tokens_label(2**e)] for e in range(math.ceil(math.log2(lo)), math.floor(math.log2(x_max)) + 1)]
    marks = []
    if window:
        marks.append({"kind": "window", "tokens": window, "label": fill(r["chart_window"], tokens=tokens_short(window))})
    most = None if machine else answer.get("max_context")  # the GPU select's, not the machine's
    if most and most <= x_max:  # past it only where max_position_embeddings is longer
        marks.append({"kind": "fit", "tokens": most, "label": fill(r["chart_fit"], tokens=tokens_short(most))})
    return {
        "points": [[p["context"], *(p[f"{part}_bytes"] / GIB for part in PARTS)] for p in points],
        "parts": [{"part": part, "label": r[part]} for part in PARTS],
        "capacity": capacity / GIB,
        "capacity_label": capacity_label,
        "capacity_short": fill(r["chart_capacity_short"], capacity=gib(capacity)),  # in the plot where the label is too wide
        "context": answer["request"]["context"],
        "x_min": lo,
        "x_max": x_max,
        "y_max": y_max,
        "y_ticks": y_ticks,
        "x_ticks": x_ticks,
        "x_label": r["chart_x"],
        "y_label": r["chart_y"],
        "marks": marks,
        "tips": [  # [shown on hover and focus, read out: with the parts]
            [
                fill(r["chart_point"], tokens=num(p["context"]), total=gib(p["total_bytes"])),
                fill(
                    r["chart_point_parts"],
                    tokens=num(p["context"]),
                    total=gib(p["total_bytes"]),
                    **{part: gib(p[f"{part}_bytes"]) for part in PARTS},
                ),
            ]
            for p in points
        ],
        "table": {
            "caption": r["chart_table"],
            "head": [r["chart_context"], *(r[part] for part in PARTS), r["chart_total"]],
            "rows": [[num(p["context"]), *(gib(p[f"{part}_bytes"]) for part in PARTS), gib(p["total_bytes"])] for p in points],
        },
    }


# The verdict's states and the message each is written with ([result] in calc/data/messages).
VERDICT_MESSAGES = {"yes": "fits", "tight": "tight", "no": "no_fit", "cannot": "cannot", "none": "no_gpu"}


def verdict(answer: dict) -> str:
    """ "cannot" when the engine cannot run the split (a split_unsupported warning), "no" when the
    fullest GPU needs more than it holds, "tight" when it has less than HEADROOM (5%, the
    recommendations' margin) of its capacity free, else "yes"; "none" without a GPU.  With your
    machine given (answer "offload") the answer is for it: "yes" when every device holds its part
    (the GPUs and the RAM, as placed or planned), else "no"."""
    if answer.get("offload"):
        return "yes" if answer["offload"]["fits"] else "no"
    fit = answer["fit"]
    if not fit:
        return "none"
    if any(w["code"] == "split_unsupported" for w in answer.get("warnings") or []):
        return "cannot"
    if not fit["fits"]:
        return "no"
    return "tight" if fit["headroom_bytes"] < HEADROOM * fit["capacity_bytes"] else "yes"


def headline_bar(answer: dict) -> dict:
    """The headline bar: the fullest GPU against its capacity; with your machine given, the whole run
    (the headline's total, the parts of the legend) against the capacity of the machine's GPUs, so the
    bar describes the machine and not the page's GPU select."""
    if answer.get("offload"):
        return bar(answer["memory"], machine_capacity(answer))
    return bar(fullest_gpu(answer), answer["fit"]["capacity_bytes"] if answer["fit"] else 0)


def bar_note(answer: dict, r: dict) -> str:
    """Which memory the headline bar is set against, with your machine given ("" otherwise)."""
    r = machine_words(answer, r)
    if not answer.get("offload"):
        return ""
    gpus, capacity = machine_gpus(answer, r)
    return fill(r["bar_machine"], gpus=r["summary_plus"].join(gpus), capacity=gib(capacity))


def fullest_gpu(answer: dict) -> dict:
    """The memory of the GPU that holds the most ({part}_bytes and total_bytes): per_gpu's fullest
    entry, or the whole estimate when there is no split to show."""
    return max(answer.get("per_gpu") or [answer["memory"]], key=lambda g: g["total_bytes"])


def range_text(rng: dict | None, r: dict, engine: str) -> str:
    """The measured range of the total, or why there is none."""
    if not rng:
        return fill(r["range_none"], engine=engine)
    low, high = gib(rng["low_bytes"], 2), gib(rng["high_bytes"], 2)
    return fill(r["range"], low=low, high=high, n=num(rng["comparisons"]), engine=engine)


def rate(low: float, high: float) -> tuple[str, str]:
    """A tokens/s range as shown: whole numbers from 10 up, one decimal below (both ends alike)."""
    digits = 0 if low >= 10 else 1
    return num(low, digits), num(high, digits)


def seconds(low: float, high: float) -> tuple[str, str]:
    """A range of seconds as shown, both ends with the decimals the shorter one needs: 3 below 0.1 s,
    2 below 10 s, 1 below 100 s, none from there."""
    digits = 3 if low < 0.1 else 2 if low < 10 else 1 if low < 100 else 0
    return num(low, digits), num(high, digits)


def speed_texts(answer: dict, r: dict, engine: str) -> dict:
    """The speed facts (calc/speed.py): decode per sequence ("speed"), decode of all sequences
    together when there are several ("speed-total"), the time to prefill the prompts ("ttft"), and
    what the numbers rest on ("speed-note"): the engine's measured share of each ceiling, or that
    there is none and the number is the ceiling itself.  Empty texts hide their rows; without a GPU
    "speed" says it is not estimated."""
    s, req = answer.get("speed") or {}, answer["request"]
    out = {"speed": r["speed_none"], "speed-total": "", "ttft": "", "speed-note": ""}
    if not s.get("decode_tokens_per_s"):
        return out
    batch, band, pre = req["batch"], s.get("decode_efficiency"), s.get("prefill_efficiency")
    backend = s.get("backend") or ""
    if s.get("decode_range_tokens_per_s_per_sequence"):
        low, high = rate(*s["decode_range_tokens_per_s_per_sequence"])
        out["speed"] = fill(r["speed_value"], low=low, high=high)
    else:
        tps = num(s["decode_tokens_per_s_per_sequence"], 1)
        out["speed"] = fill(r["speed_ceiling"], tps=tps, engine=engine, backend=backend)
    if batch > 1:
        if s.get("decode_range_tokens_per_s"):
            low, high = rate(*s["decode_range_tokens_per_s"])
            out["speed-total"] = fill(r["speed_total_value"], low=low, high=high, n=num(batch))
        else:
            out["speed-total"] = fill(r["speed_total_ceiling"], tps=num(s["decode_tokens_per_s"], 1), n=num(batch))
    tokens = req.get("prompt_tokens") or req["context"]
    prompt = num(tokens) if batch == 1 else f"{num(batch)} × {num(tokens)}"
    if s.get("prefill_range_seconds"):
        low, high = seconds(*s["prefill_range_seconds"])
        out["ttft"] = fill(r["ttft_value"], low=low, high=high, prompt=prompt)
    elif s.get("prefill_seconds"):
        floor = seconds(s["prefill_seconds"], s["prefill_seconds"])[0]
        out["ttft"] = fill(r["ttft_floor"], s=floor, prompt=prompt, engine=engine, backend=backend)
    if band:
        note = fill(
            r["speed_note"],
            engine=engine,
            backend=backend,
            share=pct(band["share"]),
            latency=num(band["layer_seconds"] * 1e6, 0),
            low=pct(band["low"]),
            high=pct(band["high"]),
            error=pct(band["median_error"], 1),
            n=num(band["runs"]),
        )
        if pre and s.get("prefill_seconds"):
            note += fill(
                r["speed_note_prefill"], share=pct(pre["share"]), low=pct(pre["low"]), high=pct(pre["high"]), n=num(pre["runs"])
            )
        out["speed-note"] = note + r["speed_note_end"]
    else:
        out["speed-note"] = fill(r["speed_note_none"], engine=engine, backend=backend)
    return out


def machine_speed_texts(answer: dict, r: dict) -> dict:
    """The speed facts for your machine (answer "offload"): the placement's decode range per sequence
    and, with several, in total, and its prefill, the figures the machine section shows, so the
    headline's speed is the machine's and not that of the page's GPUs holding the whole model."""
    r = machine_words(answer, r)
    o, req = answer["offload"], answer["request"]
    s, batch = o["speed"], req["batch"]
    out = {"speed": r["speed_none"], "speed-total": "", "ttft": "", "speed-note": r["speed_note_machine"]}
    if s["decode_range_tokens_per_s"]:
        low, high = s["decode_range_tokens_per_s"]
        one_low, one_high = rate(low / batch, high / batch)
        out["speed"] = fill(r["speed_value"], low=one_low, high=one_high)
        if batch > 1:
            all_low, all_high = rate(low, high)
            out["speed-total"] = fill(r["speed_total_value"], low=all_low, high=all_high, n=num(batch))
    if s["prefill_range_seconds"]:
        tokens = machine_prefill_tokens(answer)
        prompt = num(tokens) if batch == 1 else f"{num(batch)} × {num(tokens)}"
        low, high = seconds(*s["prefill_range_seconds"])
        out["ttft"] = fill(r["ttft_value"], low=low, high=high, prompt=prompt)
    return out


def machine_prefill_tokens(answer: dict) -> int:
    """The prompt of each sequence your machine's prefill estimate is for (calc/offload.py
    offload_speed, the answer's prefill_tokens)."""
    return answer["offload"]["speed"]["prefill_tokens"]


def speed_sources(answer: dict) -> list[dict]:
    """The threads the speed range's measurements come from, as links ({"href", "text"}); none for
    your machine, whose speed note points at the machine section."""
    if answer.get("offload"):
        return []
    s = answer.get("speed") or {}
    if not s.get("decode_tokens_per_s"):
        return []
    bands = [b for b in (s.get("decode_efficiency"), s.get("prefill_efficiency")) if b]
    urls = dict.fromkeys(u for b in bands for u in b["sources"])
    return [{"href": u, "text": thread_label(u)} for u in urls]


def thread_label(url: str) -> str:
    """A GitHub thread's short name ("ggml-org/llama.cpp #4766"); any other URL without its scheme."""
    found = re.fullmatch(r"https://github\.com/([\w.-]+/[\w.-]+)/(?:pull|issues|discussions)/(\d+)", url)
    return f"{found.group(1)} #{found.group(2)}" if found else re.sub(r"^https?://", "", url)


def _kv_label(kv_id: str, words: dict) -> str:
    """The "engine default" option's text: the KV type the engine chose for this request."""
    kv = catalog.kv_types().get(kv_id)
    name = kv.label if kv else words["result"]["kv_auto"] if kv_id == "auto" else kv_id
    return fill(words["result"]["kv_default"], kv=name)


def rec_row(rec: dict, r: dict) -> dict:
    """One recommended setup as shown: "4 x H100", then usable memory per GPU and in all, the free
    share of the fullest GPU and the launch price it is ordered by (when the catalog has one):
    price_usd is the whole setup's, so each GPU's is price_usd / count."""
    each, count = rec["capacity_bytes"], rec["count"]
    detail = fill(
        r["rec_detail"] if count > 1 else r["rec_detail_one"],
        capacity=gib(each),
        total=gib(each * count),
        headroom=pct(rec["headroom_fraction"]),
    )
    if rec.get("price_usd"):
        detail += fill(
            r["rec_price"] if count > 1 else r["rec_price_one"], price=num(rec["price_usd"] / count), total=num(rec["price_usd"])
        )
    return {"gpu": rec["gpu"], "count": count, "name": fill(r["rec_item"], count=count, name=rec["name"]), "detail": detail}


def format_label(format_id: str | None, words: dict) -> str:
    """A weight format's name in the view's language: values.format.<id>, else the catalog's label
    ("" for none)."""
    found = catalog.formats().get(format_id) if format_id else None
    return words["values"]["format"].get(format_id) or (found.label if found else "")


def format_options(answer: dict, lang: str) -> dict:
    """The text of every option of the format list: a format the engine loads with its weights' size
    for this model ("Q4_K_M · 4.6 GiB"), any other with why it cannot be chosen."""
    sizes = tuple((f["id"], f["weights_bytes"]) for f in answer.get("format_sizes") or [])
    return dict(_format_options(lang, answer["engine"]["label"], sizes))


@lru_cache(maxsize=64)
def _format_options(lang: str, engine: str, sizes: tuple) -> dict:
    """format_options of (language, engine label, (format id, weights bytes) of each loaded format):
    the texts depend on nothing else (the message catalog and the format table are fixed at load),
    and a model's sizes are the same at every context, batch and GPU, so each input of a session
    after the first finds them here (the caller copies the dict out)."""
    words = texts(lang)
    r, sizes = words["result"], dict(sizes)
    return {
        fid: fill(r["format_option"], format=format_label(fid, words), gib=gib(sizes[fid]))
        if fid in sizes
        else fill(r["format_unloaded"], format=format_label(fid, words), engine=engine)
        for fid in catalog.formats()
    }


def machine_fit_text(answer: dict, r: dict) -> str:
    """The headline's verdict for your machine: what sits on the GPUs and in RAM, or the first device
    that is short (its need and what it holds)."""
    r = machine_words(answer, r)
    rows = answer["offload"]["per_device"]
    over = next((d for d in rows if d["fits"] is False), None)
    if over:
        device = r["machine_ram"] if over["kind"] == "ram" else over["name"]
        return fill(r["no_fit_machine"], device=device, need=gib(over["total_bytes"]), capacity=gib(over["capacity_bytes"]))
    on_gpus = sum(d["total_bytes"] for d in rows if d["kind"] != "ram")
    in_ram = sum(d["total_bytes"] for d in rows if d["kind"] == "ram")
    return fill(r["fit_machine"], gpu=gib(on_gpus), ram=gib(in_ram))


def machine_words(answer: dict, r: dict) -> dict:
    """The [result] words for your machine: on a unified-memory machine (one pool: Apple silicon,
    Strix Halo, DGX Spark) each <key>_unified text stands in for <key>, which speaks of GPUs, system
    RAM and PCIe copies."""
    if not (answer.get("offload") and gpus_unified(answer)):
        return r
    return {**r, **{k.removesuffix("_unified"): v for k, v in r.items() if k.endswith("_unified")}}


def machine_capacity(answer: dict) -> int:
    """The bytes your machine's GPUs may fill in all (the RAM row left out)."""
    return sum(d["capacity_bytes"] or 0 for d in answer["offload"]["per_device"] if d["kind"] != "ram")


def machine_gpus(answer: dict, r: dict) -> tuple[list[str], int]:
    """Your machine's GPUs, equal ones counted ("2 x RTX 3090" in the words of rec_item), and the bytes they may fill in all."""
    names: dict = {}
    for d in answer["offload"]["per_device"]:
        if d["kind"] != "ram":
            names[d["name"]] = names.get(d["name"], 0) + 1
    return [fill(r["rec_item"], count=n, name=name) for name, n in names.items()], machine_capacity(answer)


def machine_label(answer: dict, r: dict) -> str:
    """Your machine in the summary line: its GPUs, equal ones counted, and the RAM."""
    gpus, _ = machine_gpus(answer, r)
    ram = answer["offload"]["per_device"][-1]
    size = ram["capacity_bytes"] if ram["kind"] == "ram" and ram["capacity_bytes"] else None
    if gpus_unified(answer):
        return r["summary_plus"].join(gpus)  # one pool: the machine is its GPU
    memory = fill(r["summary_ram"], size=gib(size, 0)) if size else r["machine_ram"]
    return r["summary_plus"].join([*gpus, memory])


def gpus_unified(answer: dict) -> bool:
    """A unified-memory machine (one pool): the RAM row's capacity is what the GPU leaves of it, not a size."""
    rows = answer["offload"]["per_device"]
    return any((g := catalog.gpus().get(d["id"] or "")) is not None and g.is_unified for d in rows if d["kind"] != "ram")


def summary(answer: dict, words: dict, gpu_name: str) -> str:
    """The line above the headline: what the number is for (model · format · context, with the prompt
    and generated tokens where the request splits it · sequences · engine · GPUs, or your machine when
    it is given)."""
    r, req, fit = words["result"], answer["request"], answer.get("fit")
    parts = [
        answer["model"]["name"],
        format_label(req["quant"], words),
        fill(r["summary_context"], tokens=num(req["context"]))
        + (
            fill(r["summary_split"], prompt=num(req["prompt_tokens"]), new=num(req["new_tokens"]))
            if req.get("prompt_tokens")
            else ""
        ),
        fill(r["summary_batch" if req["batch"] == 1 else "summary_batches"], n=num(req["batch"])),
        answer["engine"]["label"],
    ]
    if answer.get("offload"):
        parts.append(machine_label(answer, r))
    elif fit:
        parts.append(fill(r["rec_item"], count=fit["gpus"], name=gpu_name))
    return r["summary_sep"].join(parts)


def _runs(runs: list) -> str:
    return ", ".join(f"{a}" if a == b else f"{a}–{b}" for a, b in runs)


def machine_view(answer: dict, r: dict) -> dict | None:
    """Your machine (answer "offload"): a bar and texts per device, the placement, the plan, the speed
    and the command; None without devices."""
    r = machine_words(answer, r)
    o = answer.get("offload")
    if not o:
        return None
    rows = []
    for d in o["per_device"]:
        cap, total = d["capacity_bytes"], d["total_bytes"]
        if cap is None:
            text = fill(r["machine_device_nocap"], total=gib(total))
        elif total > cap:
            text = fill(r["machine_device_over"], total=gib(total), capacity=gib(cap), over=gib(total - cap))
        else:
            text = fill(r["machine_device"], total=gib(total), capacity=gib(cap))
        parts = fill(
            r["machine_parts"], weights=gib(d["weights_bytes"]), kv=gib(d["kv_cache_bytes"]), compute=gib(d["compute_bytes"])
        )
        scale = max(total, cap or 0) or 1
        rows.append(
            {
                "device": d["device"],
                "name": r["machine_ram"] if d["kind"] == "ram" else d["name"],
                "text": text,
                "parts": parts,
                "fill": round(BAR_WIDTH * total / scale, 2),
                "cap": round(BAR_WIDTH * (cap or 0) / scale, 2),
                "over": d["fits"] is False,
            }
        )
    lines = []
    p = o["placement"]
    if p:
        lines.append(
            r["machine_layers_sep"].join(fill(r["machine_layers"], runs=_runs(v), device=k) for k, v in p["layers"].items())
        )
        lines.append(fill(r["machine_output"], device=p["output_device"], embed=p["embeddings_device"]))
        if p["expert_layers_on_cpu"]:
            lines.append(fill(r["machine_experts"], runs=_runs(p["expert_layers_on_cpu"])))
    plan = o["plan"]
    if plan:
        if not plan["fits"] and plan["short_device"]:
            lines.append(fill(r["machine_plan_short"], device=plan["short_device"], short=gib(plan["short_bytes"], 2)))
        elif plan["goal"] == "max_model_len":  # the planner chose the context (vLLM's --max-model-len)
            lines.append(fill(r["machine_plan_vllm"], tokens=num(plan["context"])))
        elif plan["n_gpu_layers"] is not None:
            total = answer["model"]["spec"]["layers"] + 1
            lines.append(fill(r["machine_plan_layers"], n=plan["n_gpu_layers"], total=total))
        elif plan["n_cpu_moe"]:
            lines.append(fill(r["machine_plan_experts"], n=plan["n_cpu_moe"]))
        else:
            lines.append(r["machine_plan_all"])
        if plan["goal"] != "max_model_len" and plan["context"] != answer["request"]["context"]:
            lines[-1] += fill(r["machine_plan_context"], tokens=num(plan["context"]))
    s = o["speed"]
    speed = r["machine_speed_none"]
    if s["decode_range_tokens_per_s"]:
        low, high = rate(*s["decode_range_tokens_per_s"])
        speed = fill(r["machine_speed"], low=low, high=high, ceiling=num(s["decode_tokens_per_s"], 1))
    if s["prefill_range_seconds"]:
        low, high = seconds(*s["prefill_range_seconds"])
        tokens = machine_prefill_tokens(answer)
        speed += r["sentence_sep"] + fill(
            r["machine_prefill"], tokens=num(tokens * answer["request"]["batch"]), low=low, high=high
        )
    cmd = o["command"]
    return {
        "rows": rows,
        "lines": lines,
        "speed": speed,
        "verdict": r["machine_fits"] if o["fits"] else r["machine_not_fits"],
        "fits": o["fits"],
        "command": cmd["llama_server"] or cmd["vllm_serve"] or cmd["transformers"] or "",
    }


def view(answer: dict, lang: str) -> dict:
    """The view of an estimate answer (calc.api op "estimate", ok true) in `lang`."""
    words = texts(lang)
    r = words["result"]
    memory, fit, model = answer["memory"], answer["fit"], answer["model"]
    gpu = catalog.gpus().get(fit["gpu"]) if fit else None
    gpu_name = gpu.name if gpu else fit["gpu"] if fit else ""
    engine = answer["engine"]["label"]
    rng = answer.get("range")
    state = verdict(answer)
    limit = answer.get("max_context_limit")
    most = answer.get("max_context")
    window = (model.get("spec") or {}).get("context_length")
    machine = bool(answer.get("offload"))
    text = {
        "summary": summary(answer, words, gpu_name),
        "total": gib(memory["total_bytes"]),
        **{part: gib(memory[f"{part}_bytes"]) for part in PARTS},
        "range": fill(
            r["range"], low=gib(rng["low_bytes"], 2), high=gib(rng["high_bytes"], 2), n=num(rng["comparisons"]), engine=engine
        )
        if rng
        else fill(r["range_none"], engine=engine),
        "fit": machine_fit_text(answer, r)
        if answer.get("offload")
        else fill(
            r[VERDICT_MESSAGES[state]],
            engine=engine,
            count=fit["gpus"],
            gpu=gpu_name,
            used=gib(fit["used_bytes"]),
            capacity=gib(fit["capacity_bytes"]),
            headroom=gib(fit["headroom_bytes"]),
        )
        if fit
        else r["no_gpu"],
        # the GPU-only facts (longest context, most sequences, best format) hide for your machine,
        # whose plan and speed the machine section gives; the speed rows are the machine's
        "max-context": ""
        if machine
        else fill(r["max_context_all"] if most == limit else r["max_context_value"], tokens=num(most))
        if most
        else r["max_context_none"],
        **(machine_speed_texts(answer, r) if machine else speed_texts(answer, r, engine)),
        "bpw": fill(
            r["bpw_value"], bpw=num(answer["format"]["bits_per_weight"], 2), format=format_label(answer["format"]["id"], words)
        ),
        "max-batch": fill(r["max_batch_value"], n=num(answer["max_batch"]), tokens=num(answer["request"]["context"]))
        if answer.get("max_batch") and not machine
        else "",
        "best-format": "" if machine else format_label(answer.get("best_format"), words),
        "kv-pool": fill(
            r["kv_pool_value"],
            tokens=num(answer["kv_capacity_tokens"]),
            sequences=num(answer["max_concurrency"], 2),
            context=num(answer["request"]["context"]),
        )
        if answer.get("kv_capacity_tokens")
        else "",
        "model-name": model["name"],
        "context": num(answer["request"]["context"]),
        "ctx-max": fill(r["context_hint"], tokens=num(window)) if window else "",
        "ctx-window": fill(r["context_window_mark"], tokens=tokens_label(window)) if window else "",
        "kv-default": _kv_label(answer["request"]["kv_cache"], words),
        "rec-apply": (r["rec_apply_machine"] if machine else r["rec_apply"]) if answer.get("recommendations") else "",
        "bar-note": bar_note(answer, r),
    }
    recs = [rec_row(rec, r) for rec in answer.get("recommendations") or []]
    return {
        "lang": lang,
        "text": text,
        "fits": state in ("yes", "tight"),
        "verdict": state,
        # the "use it" button's format: the best one that fits, when it is not the chosen one
        "apply_format": best if (best := answer.get("best_format")) != answer["request"]["quant"] and not machine else None,
        "bar": headline_bar(answer),
        "warnings": [{"code": w["code"], "text": w["text"]} for w in answer.get("warnings") or []],
        "recs": recs,
        "formats": format_options(answer, lang),
        "speed_sources": speed_sources(answer),
        "spec": spec_card(model, words),
        "chart": chart(answer, words, gpu_name),
        "state": {"kv_cache": answer["request"]["kv_cache"], "context": answer["request"]["context"], "context_length": window},
        "machine": machine_view(answer, r),
    }
