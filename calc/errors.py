"""The one error type of the core: a code, the request field it concerns, and a message.

Also the two helpers every error message uses to quote what it was given: :func:`show` (a short,
safe rendering of any value) and :func:`clean` (text safe to put in a result).
"""

from __future__ import annotations


class CalcError(ValueError):
    """A problem with the input, reported to the caller as data.

    ``code`` is stable (tests and the page key on it), ``field`` names the request or config.json
    field at fault (dotted for nested ones), ``message`` is an English sentence for people.
    ``text`` and ``params``, where set, are its [error] id in calc/data/messages and the values of
    its placeholders, so the answer can give it in the request's language (calc/i18n.py fail).
    """

    def __init__(self, code: str, field: str | None, message: str, text: str | None = None, params: dict | None = None):
        super().__init__(message)
        self.code = code
        self.field = field
        self.message = message
        self.text = text
        self.params = params or {}


def clean(text: str, limit: int = 200) -> str:
    """`text` cut to `limit` characters, lone surrogates (which no UTF-8 output can carry) as U+FFFD."""
    text = text[:limit]
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in text)
    return text


def show(value, limit: int = 40) -> str:
    """A short rendering of any input value for an error message: never slow, never raises.

    Containers are named rather than printed (a pasted 5 MB list, or one nested a thousand deep,
    must not end up in a message); huge integers are given by their size (str() of an int with
    more than 4300 digits raises); text is quoted, cut and cleaned.
    """
    if value is None or isinstance(value, bool):
        return "null" if value is None else ("true" if value else "false")
    if isinstance(value, int):
        if value.bit_length() > 64:
            return f"a {'negative ' if value < 0 else ''}number of about {int(value.bit_length() * 0.30103) + 1} digits"
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        text = repr(value[:limit])  # repr escapes lone surrogates and control characters
        return text[:-1] + "...'" if len(value) > limit else text
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "a list"
    return f"a {type(value).__name__}"
