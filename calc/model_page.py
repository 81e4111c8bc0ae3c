"""Model pages' views (build.py writes a static page per catalog model): the requests a page asks the
core, the VRAM tables from their answers, the calculator's starting state, the models index's rows.

Build-time only: the page bundle leaves this module out (package.py RUNTIME_EXCLUDE); the words
come from the core's messages ([model_page]) and every number is formatted by calc.present.
"""

from __future__ import annotations

from calc.i18n import texts
from calc.present import fill, gib, num, rec_row, spec_card

# The VRAM tables' rows: (format, engine).  The first table holds the formats people look up, each
# under its default engine (the first engine formats.toml lists for it); the second the GPU formats
# vLLM loads.  A row the engine cannot load for this model (a format_engine warning) is left out.
# Columns: these contexts where the model's window allows, and the window itself.
TABLES = {
    "default": (
        ("native", "vllm"),
        ("fp8", "vllm"),
        ("q8_0", "llama.cpp"),
        ("q6_k", "llama.cpp"),
        ("q5_k_m", "llama.cpp"),
        ("q4_k_m", "llama.cpp"),
        ("q3_k_m", "llama.cpp"),
        ("q2_k", "llama.cpp"),
    ),
    "vllm": tuple((fmt, "vllm") for fmt in ("native", "fp8", "int8", "awq", "gptq", "nvfp4")),
}
CONTEXTS = (4096, 32768, 131072)
TYPICAL_CONTEXT = 32768  # the summary's, the setups' and the page calculator's context (or the window)
SETUP_FORMAT, SETUP_ENGINE = "q4_k_m", "llama.cpp"  # the setups' and the page calculator's


def requests(model_id: str, window: int) -> dict:
    """The requests a model page shows: {"contexts": [...], "cells": {(table, format, context): request},
    "setups": request}."""
    contexts = sorted({c for c in CONTEXTS if c < window} | {window})
    base = {"model": model_id, "gpu": None, "curve": False, "recommend": False}
    cells = {
        (table, fmt, ctx): {**base, "quant": fmt, "engine": engine, "context": ctx}
        for table, rows in TABLES.items()
        for fmt, engine in rows
        for ctx in contexts
    }
    typical = min(TYPICAL_CONTEXT, window)
    setups = {
        **base,
        "quant": SETUP_FORMAT,
        "engine": SETUP_ENGINE,
        "context": typical,
        "recommend": True,
        "recommend_limit": 5,
    }
    return {"contexts": contexts, "cells": cells, "setups": setups}


def calculator_defaults(defaults: dict, setups: dict) -> dict:
    """The page calculator's starting state: the site's defaults (the catalog op's) with this model at
    the setups' format, engine and context, on the first (cheapest) setup when there is one."""
    asked = setups["request"]
    state = {**defaults, "model": asked["model"], "quant": asked["quant"], "engine": asked["engine"]}
    state["context"] = asked["context"]
    if setups["recommendations"]:
        state["gpu"], state["gpus"] = setups["recommendations"][0]["gpu"], setups["recommendations"][0]["count"]
    return state


def _loads(answer: dict) -> bool:
    """An answer for a format the engine loads (no format_engine warning) and that is not an error."""
    return answer.get("ok") and not any(w["code"] == "format_engine" for w in answer["warnings"])


def _vram_rows(table: str, answers: dict, contexts: list[int]) -> list[dict]:
    """One VRAM table's rows: each loadable format's label, weights and total per context."""
    rows = []
    for fmt, _engine in TABLES[table]:
        cells = [answers[(table, fmt, c)] for c in contexts]
        if not all(_loads(a) for a in cells):
            continue
        rows.append(
            {
                "format": fmt,
                "engine": cells[0]["engine"]["id"],
                "label": cells[0]["format"]["label"],
                "engine_label": cells[0]["engine"]["label"],
                "weights": gib(cells[0]["memory"]["weights_bytes"]),
                "cells": [gib(a["memory"]["total_bytes"]) for a in cells],
            }
        )
    return rows


def publisher_facts(official: dict, words: dict) -> list[dict]:
    """Spec-card rows for what only the publisher states (the catalog row's `official` block): the
    modalities ("text, image → text") and the knowledge cutoff, each linked to where it is stated;
    a fact the publisher does not state has no row."""
    w = words["model_page"]
    rows = []

    def row(key: str, value: str, url: str) -> dict:
        return {"key": key, "label": w[key], "value": value, "source": url, "title": f"{words['spec']['source']}: {url}"}

    if official.get("input_modalities"):
        kinds = [[words["values"]["modality"][m] for m in official[f"{side}_modalities"]] for side in ("input", "output")]
        sep = words["spec"]["list_sep"]
        rows.append(
            row(
                "modalities",
                fill(w["modality_flow"], input=sep.join(kinds[0]), output=sep.join(kinds[1])),
                official["modalities_source"],
            )
        )
    if official.get("knowledge_cutoff"):
        rows.append(row("knowledge_cutoff", official["knowledge_cutoff"], official["knowledge_cutoff_source"]))
    return rows


def view(model: dict, answers: dict, setups: dict, contexts: list[int], lang: str, official: dict | None = None) -> dict:
    """A model page's view: its title, description and summary, the VRAM tables (each cell the total
    of `answers[(table, format, context)]`, calc.api estimate answers), the smallest setups and the
    spec card, with the publisher's facts from the catalog row's `official` block."""
    words = texts(lang)
    w, r = words["model_page"], words["result"]
    name = model["name"]
    tables = [
        {"id": table, "heading": w[f"heading_{table}"], "note": w[f"note_{table}"], "rows": rows}
        for table in TABLES
        if (rows := _vram_rows(table, answers, contexts))
    ]
    typical = setups["request"]["context"]
    total = gib(setups["memory"]["total_bytes"])
    kv_1k = gib(setups["kv_cache_bytes_per_token"] * 1024, 2)
    recs = [rec_row(rec, r) for rec in setups["recommendations"]]
    summary = [
        fill(w["summary_fit"], tokens=num(typical), model=name, total=total, setup=recs[0]["name"])
        if recs
        else fill(w["summary_none"], tokens=num(typical), model=name, total=total),
        fill(w["summary_kv"], kv=kv_1k),
    ]
    if model["active_params"] < model["total_params"] * 0.9:
        summary.append(
            fill(w["summary_moe"], active=num(model["active_params"] / 1e9, 1), total=num(model["total_params"] / 1e9, 1))
        )
    return {
        "lang": lang,
        "id": model["id"],
        "name": name,
        "title": fill(w["title"], model=name),
        "description": fill(w["description"], model=name, q4=total, ctx=num(typical), kv=kv_1k),
        "q4_total": f"{total} GiB",  # the models index's column
        "q4_bytes": setups["memory"]["total_bytes"],
        "summary": r["sentence_sep"].join(summary),
        "columns": [fill(w["context"], tokens=num(c)) for c in contexts],
        "tables": tables,
        "setups": recs,
        "setups_heading": fill(w["heading_setups"], tokens=num(typical)),
        "spec": _with_facts(spec_card(model, words), publisher_facts(official or {}, words)),
    }


def index_row(page: dict, model: dict, lang: str) -> dict:
    """A row of the models index: what it shows (`name`, `family`, `params`, `released`, `context`,
    `q4`) and, as *_raw, the values its columns sort by (bytes, counts, ISO dates)."""
    words = texts(lang)
    released = model["spec"]["release_date"] or ""
    return {
        "id": model["id"],
        "name": model["name"],
        "family": model["family"],
        "params": fill(words["spec"]["billions"], n=num(model["total_params"] / 1e9, 1)),
        "params_raw": model["total_params"],
        "released": released or words["model_page"]["unknown"],
        "released_raw": released,
        "context": num(model["spec"]["context_length"]),
        "context_raw": model["spec"]["context_length"],
        "q4": page["q4_total"],
        "q4_raw": page["q4_bytes"],
        "search": " ".join((model["name"], model["id"], model["repo"], model["family"], model["spec"]["architecture"])).lower(),
    }


def _with_facts(card: dict, facts: list[dict]) -> dict:
    """The spec card with the publisher's facts after its own rows."""
    return {**card, "rows": card["rows"] + facts}
