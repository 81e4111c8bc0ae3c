"""Model pages (build.py render_model_pages, calc/model_page.py): one per catalog model and
language, every VRAM table cell what calc.api.handle answers, the facts right, every link resolving."""

from __future__ import annotations

import json
import re
import sys
from html import unescape
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import build  # noqa: E402
from calc import catalog, model_page, present  # noqa: E402
from calc.api import handle  # noqa: E402

MODELS = [row.id for row in catalog.model_rows()]


@pytest.fixture(scope="module")
def pages() -> dict[str, str]:
    return build.render_model_pages(build.page_inputs(build.versions(), "calc-test.zip"))


def _tables(html: str) -> dict[tuple[str, str], list[str]]:
    """{(table id, format id): [weights, cell, ...]} of a model page's VRAM tables."""
    out = {}
    for table, body in re.findall(r'<table class="vram-table" data-table="([^"]+)">(.*?)</table>', html, re.S):
        for fmt, row in re.findall(r'<tr data-format="([^"]+)"[^>]*>(.*?)</tr>', body, re.S):
            out[(table, fmt)] = [unescape(c) for c in re.findall(r"<td>([^<]*)</td>", row)]
    return out


def _json(html: str, element_id: str):
    found = re.search(rf'<script type="application/json" id="{element_id}">(.*?)</script>', html, re.S)
    return json.loads(unescape(found.group(1)))


@pytest.mark.parametrize("model_id", MODELS)
def test_every_model_has_both_pages_and_their_cells_are_the_cores(pages, model_id):
    model = handle({"op": "model", "model": model_id})["model"]
    asked = model_page.requests(model_id, model["spec"]["context_length"])
    for lang in ("en", "zh"):
        html = pages[f"{'' if lang == 'en' else 'zh/'}models/{model_id}/index.html"]
        tables = _tables(html)
        assert ("default", "q4_k_m") in tables and ("vllm", "native") in tables, (model_id, lang)
        for (table, fmt), values in tables.items():
            answers = [handle(asked["cells"][(table, fmt, c)]) for c in asked["contexts"]]
            expected = [present.gib(answers[0]["memory"]["weights_bytes"])] + [
                present.gib(a["memory"]["total_bytes"]) for a in answers
            ]
            assert values == expected, (model_id, lang, table, fmt)


@pytest.mark.parametrize("model_id", MODELS)
def test_the_calculator_starts_at_the_model_on_its_cheapest_setup(pages, model_id):
    """The page's calculator: the form, the data app.js starts from and the pre-rendered result all
    belong to one state, this model at Q4_K_M on the first setup the page lists."""
    for lang in ("en", "zh"):
        html = pages[f"{'' if lang == 'en' else 'zh/'}models/{model_id}/index.html"]
        defaults = _json(html, "catalog")["defaults"]
        assert defaults["model"] == model_id and defaults["quant"] == "q4_k_m"
        assert re.search(rf'<option value="{re.escape(model_id)}"[^>]*selected>', html)
        first = re.search(r'<ol class="recs"><li data-gpu="([^"]+)" data-count="(\d+)"', html)
        if first:
            assert (defaults["gpu"], defaults["gpus"]) == (first.group(1), int(first.group(2)))
        request = {k: v for k, v in defaults.items() if k != "op"}
        view = handle({**request, "op": "view", "lang": lang})["view"]
        assert _json(html, "initial-view") == json.loads(json.dumps(view))
        total = re.search(r'<span data-out="total"[^>]*>([^<]+)</span>', html).group(1)
        assert unescape(total) == view["text"]["total"]


def test_qwen3_coder_page_gets_the_reference_pages_mistakes_right(pages):
    """The page this project was modelled on swaps total and active parameters, calls GQA 96/8
    multi-head attention and RoPE absolute position embedding."""
    text = unescape(re.sub(r"<[^>]+>", " ", pages["models/qwen3-coder-480b-a35b-instruct/index.html"]))
    text = re.sub(r"\s+", " ", text)
    for fact in (
        "Total parameters 480.2B",
        "Active parameters 35.5B",
        "Grouped-query (GQA)",
        "Position embedding RoPE",
        "Context length 262,144",
        "Experts 160",
        "Active experts 8",
        "Layers 62",
        "Hidden size 6,144",
        "Attention heads 96",
        "KV heads 8",
        "Head dimension 128",
    ):
        assert fact in text, fact
    assert "Multi-head" not in text and "Absolute" not in text


def test_index_lists_every_model_in_both_languages(pages):
    for index in ("models/index.html", "zh/models/index.html"):
        listed = re.findall(r'<th scope="row"><a href="([^"/]+)/index.html">', pages[index])
        names = {row.id: row.name.lower() for row in catalog.model_rows()}
        assert listed == sorted(MODELS, key=names.get)  # by name, as its header says


@pytest.mark.parametrize("model_id", MODELS)
def test_publisher_facts_only_where_stated_and_with_their_source(pages, model_id):
    """Modalities and knowledge cutoff appear on a model's page exactly when the catalog row has the
    publisher's statement, each linked to where it is stated; no row otherwise (no guessing)."""
    official = next(r for r in catalog.model_rows() if r.id == model_id).official
    for lang in ("en", "zh"):
        html = pages[f"{'' if lang == 'en' else 'zh/'}models/{model_id}/index.html"]
        for key, source in (("knowledge_cutoff", "knowledge_cutoff_source"), ("modalities", "modalities_source")):
            row = re.search(rf'<dd data-spec="{key}"><span class="spec-value">([^<]+)</span> <a class="src" href="([^"]+)"', html)
            stated = "input_modalities" if key == "modalities" else key
            assert bool(row) == (stated in official), (model_id, lang, key)
            if row:
                assert unescape(row.group(2)) == official[source]
                if key == "knowledge_cutoff":
                    assert row.group(1) == official["knowledge_cutoff"]


# (model, language, facts shown): hand-checked against the publishers' model cards
FACTS = [
    ("llama-3.1-8b", "en", {"knowledge_cutoff": "2023-12", "modalities": "text → text"}),
    ("llama-4-scout-17b-16e-instruct", "en", {"knowledge_cutoff": "2024-08", "modalities": "text, image → text"}),
    ("gpt-oss-120b", "zh", {"knowledge_cutoff": "2024-06", "modalities": "文本 → 文本"}),
    ("qwen3-coder-480b-a35b-instruct", "en", {}),  # Qwen states neither
]


@pytest.mark.parametrize(("model_id", "lang", "facts"), FACTS, ids=[f[0] for f in FACTS])
def test_publisher_facts_read_as_written(pages, model_id, lang, facts):
    html = pages[f"{'' if lang == 'en' else 'zh/'}models/{model_id}/index.html"]
    shown = dict(re.findall(r'<dd data-spec="(knowledge_cutoff|modalities)"><span class="spec-value">([^<]+)</span>', html))
    assert {k: unescape(v) for k, v in shown.items()} == facts


@pytest.mark.parametrize(("lang", "joint"), [("en", "12GB. "), ("zh", "12GB。单")])
def test_summary_sentences_join_as_the_language_writes_them(pages, lang, joint):
    """English sentences are joined by a space, Chinese ones by none (no space after 。)."""
    page = pages[("zh/" if lang == "zh" else "") + "models/gpt-oss-120b/index.html"]
    summary = unescape(re.search(r'<p class="model-summary"[^>]*>(.*?)</p>', page, re.S).group(1))
    assert joint in summary and "。 " not in summary, summary
