"""Warning texts in English and Chinese (calc/data/messages/<lang>.toml), by code."""

from __future__ import annotations

from functools import cache

from calc.catalog import load_toml

LANGS = ("en", "zh")


@cache
def messages(lang: str) -> dict[str, str]:
    """The [warning] table of one language."""
    return load_toml(f"messages/{lang}.toml")["warning"]


def t(code: str, lang: str, params: dict) -> str:
    """The text of warning `code` in `lang` (English when missing), placeholders filled from params."""
    table = messages(lang if lang in LANGS else "en")
    template = table.get(code) or messages("en")[code]
    return template.format(**params)
