"""The core's texts in English and Chinese (calc/data/messages/<lang>.toml): the warnings returned
with each estimate, and the words of the page's result view (calc/present.py)."""

from __future__ import annotations

from functools import cache

from calc.catalog import load_toml
from calc.errors import CalcError

LANGS = ("en", "zh")


@cache
def texts(lang: str) -> dict:
    """Every table of one language's message catalog ("en" for a language it does not have)."""
    return load_toml(f"messages/{lang if lang in LANGS else 'en'}.toml")


def messages(lang: str) -> dict[str, str]:
    """The [warning] table of one language."""
    return texts(lang)["warning"]


def t(code: str, lang: str, params: dict, unified: bool = False) -> str:
    """The text of warning `code` in `lang` (English when missing), placeholders filled from params;
    on a unified-memory machine (one pool for CPU and GPU: Apple silicon, Strix Halo, DGX Spark) its
    `<code>_unified` text where the catalog has one (the warning's code stays `code`)."""
    table = messages(lang)
    template = (unified and table.get(f"{code}_unified")) or table.get(code) or messages("en")[code]
    return template.format(**params)


def error_text(text: str, lang: str, params: dict) -> str:
    """Error `text` of the [error] table in `lang`, placeholders filled from params; a {field}
    placeholder names the setting as that language's [error_field] table calls it (the request
    field itself when the table does not list it)."""
    table = texts(lang)
    values = dict(params)
    if "field" in values:
        values["field"] = table["error_field"].get(values["field"], values["field"])
    return (table["error"].get(text) or texts("en")["error"][text]).format(**values)


def fail(code: str, field: str | None, text: str, /, **params) -> CalcError:
    """A CalcError whose message is [error] `text` in English, with its id and params kept so that
    calc/api.py answers in the request's language (the Chinese page shows Chinese)."""
    return CalcError(code, field, error_text(text, "en", params), text, params)


def localized(exc: CalcError, lang: str) -> str:
    """The message of `exc` in `lang`: its catalog text where it has one, else its English message."""
    if exc.text is None or lang not in LANGS:
        return exc.message
    return error_text(exc.text, lang, exc.params)
