"""The core's texts in English and Chinese (calc/data/messages/<lang>.toml): the warnings returned
with each estimate, and the words of the page's result view (calc/present.py)."""

from __future__ import annotations

from functools import cache

from calc.catalog import load_toml

LANGS = ("en", "zh")


@cache
def texts(lang: str) -> dict:
    """Every table of one language's message catalog ("en" for a language it does not have)."""
    return load_toml(f"messages/{lang if lang in LANGS else 'en'}.toml")


def messages(lang: str) -> dict[str, str]:
    """The [warning] table of one language."""
    return texts(lang)["warning"]


def t(code: str, lang: str, params: dict) -> str:
    """The text of warning `code` in `lang` (English when missing), placeholders filled from params."""
    template = messages(lang).get(code) or messages("en")[code]
    return template.format(**params)
