"""Warning texts in English and Chinese (calc/data/messages/<lang>.toml), by code."""

from __future__ import annotations

import tomllib
from functools import lru_cache
from importlib import resources

LANGS = ("en", "zh")


@lru_cache(maxsize=None)
def messages(lang: str) -> dict[str, str]:
    """The [warning] table of one language."""
    data = resources.files("calc").joinpath("data", "messages", f"{lang}.toml").read_bytes()
    return tomllib.loads(data.decode("utf-8"))["warning"]


def t(code: str, lang: str, params: dict) -> str:
    """The text of warning `code` in `lang` (English when missing), placeholders filled from params."""
    table = messages(lang if lang in LANGS else "en")
    template = table.get(code) or messages("en")[code]
    return template.format(**params)
