"""Model pages (build.py render_model_pages, calc/present.py model_page): one per catalog model and
language, every VRAM table cell what calc.api.handle answers, the facts right, every link resolving."""

from __future__ import annotations

import re
import sys
from html import unescape
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import build  # noqa: E402
from calc import catalog, present  # noqa: E402
from calc.api import handle  # noqa: E402

MODELS = [row.id for row in catalog.model_rows()]


@pytest.fixture(scope="module")
def pages() -> dict[str, str]:
    return build.render_model_pages()


def _table(html: str) -> dict[str, list[str]]:
    """{format id: [weights, cell, ...]} of a model page's VRAM table."""
    rows = re.findall(r'<tr data-format="([^"]+)">(.*?)</tr>', html, re.S)
    return {fmt: [unescape(c) for c in re.findall(r"<td>([^<]*)</td>", body)] for fmt, body in rows}


@pytest.mark.parametrize("model_id", MODELS)
def test_every_model_has_both_pages_and_their_cells_are_the_cores(pages, model_id):
    model = handle({"op": "model", "model": model_id})["model"]
    asked = present.model_page_requests(model_id, model["spec"]["context_length"])
    for lang in ("en", "zh"):
        html = pages[f"{'' if lang == 'en' else 'zh/'}models/{model_id}/index.html"]
        table = _table(html)
        assert "q4_k_m" in table, (model_id, lang)
        for fmt, values in table.items():
            answers = [handle(asked["cells"][(fmt, c)]) for c in asked["contexts"]]
            expected = [present.gib(answers[0]["memory"]["weights_bytes"])] + [
                present.gib(a["memory"]["total_bytes"]) for a in answers
            ]
            assert values == expected, (model_id, lang, fmt)


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


def test_links_between_pages_resolve(pages):
    """Every relative link of a model page or index points at a page the build writes (the calculator's
    index.html pages come from render_pages) or a stylesheet it copies."""
    written = set(pages) | {"index.html", "zh/index.html", "css/site.css"}
    for path, html in pages.items():
        for href in re.findall(r'href="([^"#]+)"', html):
            if href.startswith(("http", "data:")):
                continue
            target = (Path(path).parent / href.split("?")[0]).as_posix()
            resolved = Path("/", target).resolve().as_posix().lstrip("/")
            assert resolved in written, (path, href)


def test_index_lists_every_model_in_both_languages(pages):
    for index in ("models/index.html", "zh/models/index.html"):
        listed = re.findall(r'<th scope="row"><a href="([^"/]+)/index.html">', pages[index])
        assert listed == MODELS
