"""Bounded JSON: size, count, digit and depth limits on what a request or a pasted config.json may hold.

json.loads alone is not safe on hostile text: 5 MB of "1e308," takes 0.3 s, a 4,000-digit integer is
quadratic to convert, and 20,000 nested '[' make Pyodide's json.loads recurse until the JavaScript stack
overflows, killing the page's worker.  read_json refuses each of these quickly with JsonTooLarge, so any
text up to the size limits reads in tens of milliseconds in CPython and Pyodide alike.  A config given as
a Python dict is held to the same depth by config_too_deep before json.dumps recurses into it.
"""

from __future__ import annotations

import json
import re

from calc.errors import CalcError, clean, show

MAX_CONFIG_CHARS = 5_000_000  # a pasted config.json; the largest released ones are under 100 kB
MAX_JSON_VALUES = 100_000  # values (counted by commas) of a config or request: released configs hold hundreds
MAX_JSON_DIGITS = 1000  # digits of one integer: 10^400 still reaches its field and gets a range error naming it
MAX_JSON_DEPTH = 64  # lists and objects inside each other (released configs: 3)
MAX_JSON_CONTAINERS = 10_000  # lists and objects in all

_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)


class JsonTooLarge(ValueError):
    """Valid JSON, maybe, but more of it than any config or request needs (the reason is the message)."""


def _bounded_int(digits: str) -> int:
    """int(digits), refusing more than MAX_JSON_DIGITS digits: int() is quadratic in the digits
    (1,000 numbers of 4,000 digits take 0.1 s)."""
    if len(digits) > MAX_JSON_DIGITS:
        raise JsonTooLarge(f"holds a number of {len(digits):,} digits")
    return int(digits)


def _check_nesting(text: str) -> None:
    """Refuse JSON nested deeper than MAX_JSON_DEPTH before json.loads sees it.

    CPython raises RecursionError on deep JSON, but Pyodide's json.loads recurses until the
    JavaScript stack overflows, a fatal error that kills the page's worker (20,000 '[' do).  The
    depth is at most the number of '[' and '{', so most texts pass on two counts; otherwise the
    strings are cut out (a config.json's text inside a request is one string) and the remaining
    brackets, at most MAX_JSON_CONTAINERS of them, are walked."""
    opens = text.count("[") + text.count("{")
    if opens <= MAX_JSON_DEPTH:
        return
    text = _JSON_STRING.sub("", text)
    opens = text.count("[") + text.count("{")
    if opens <= MAX_JSON_DEPTH:
        return
    if opens > MAX_JSON_CONTAINERS:
        raise JsonTooLarge(f"holds more than {MAX_JSON_CONTAINERS:,} lists and objects")
    depth = deepest = 0
    for b in text.encode("utf-8", "surrogatepass").translate(None, _NOT_BRACKETS):
        depth += _STEP[b]
        if depth > deepest:
            deepest = depth
    if deepest > MAX_JSON_DEPTH:
        raise JsonTooLarge(f"is nested more than {MAX_JSON_DEPTH} levels deep")


def read_json(text: str):
    """json.loads with bounds on what makes it slow or crash, so that any text up to 5 MB reads in
    tens of milliseconds in CPython and Pyodide alike: at most MAX_JSON_VALUES values (5 MB of
    "1e308," would take 0.3 s), integers of at most MAX_JSON_DIGITS digits, nesting of at most
    MAX_JSON_DEPTH levels.  Raises JsonTooLarge, ValueError (not JSON) or RecursionError."""
    if isinstance(text, (bytes, bytearray)):
        text = text.decode("utf-8")
    if len(text) > 65536 and text.count(",") > MAX_JSON_VALUES:
        raise JsonTooLarge(f"holds more than {MAX_JSON_VALUES:,} values (a model's config.json holds a few hundred)")
    _check_nesting(text)
    return json.loads(text, parse_int=_bounded_int)


def config_too_large() -> CalcError:
    """The error for a config.json over MAX_CONFIG_CHARS characters (as text, or as a dict written out)."""
    return CalcError("out_of_range", "config", f"config.json is larger than {MAX_CONFIG_CHARS // 1_000_000} MB")


def config_from_text(text: str) -> dict:
    """The dict of a config.json's text (never a path: requests cannot make the core open files)."""
    if len(text) > MAX_CONFIG_CHARS:
        raise config_too_large()
    text = text.strip().lstrip("\ufeff")  # a byte-order mark from a Windows editor
    if not text.startswith("{"):
        raise CalcError("bad_config", "config", f"config must be the text of a config.json (a JSON object), got {show(text)}")
    try:
        value = read_json(text)
    except RecursionError:
        raise CalcError("bad_config", "config", "config.json is nested too deeply") from None
    except JsonTooLarge as exc:
        raise CalcError("out_of_range", "config", f"config.json {exc}") from None
    except ValueError as exc:
        raise CalcError("bad_config", "config", f"config.json is not valid JSON: {clean(str(exc), 120)}") from None
    if not isinstance(value, dict):
        raise CalcError("bad_config", "config", "config.json must be a JSON object")
    return value


def config_too_deep(config: dict) -> CalcError | None:
    """An error naming where a config dict nests deeper than MAX_JSON_DEPTH, before json.dumps recurses
    into it (in Pyodide, recursion that deep overflows the JavaScript stack and kills the runtime).
    A dict config may nest as deep as one given as text (released configs nest 3 levels)."""
    stack = [(config, "config", 0)]
    while stack:
        value, path, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return CalcError("bad_config", path, f"{path} is nested more than {MAX_JSON_DEPTH} levels deep")
        for k, v in value.items() if isinstance(value, dict) else enumerate(value):
            if isinstance(v, (dict, list)):
                part = (f".{clean(k, 60)}" if isinstance(k, str) else f"[{show(k)}]") if depth < 4 else ""
                stack.append((v, path + part, depth + 1))
    return None


def config_json_problem(config: dict) -> CalcError:
    """Why json.dumps refused a config dict, naming the field: a value that is not JSON, a key that
    is not text, an integer too long to write, or (failing those) nesting too deep to write."""
    stack = [(config, "config", 0)]
    deep = None
    while stack:
        value, path, depth = stack.pop()
        child = (lambda part, path=path: f"{path}{part}") if depth < 4 else (lambda part, path=path: path)  # 4 levels at most
        if isinstance(value, dict):
            for k, v in value.items():
                if not isinstance(k, str):
                    return CalcError("bad_config", path, f"{path} has a key that is not text: {show(k)}")
                stack.append((v, child("." + clean(k, 60)), depth + 1))
        elif isinstance(value, list):
            stack.extend((v, child(f"[{i}]"), depth + 1) for i, v in enumerate(value))
        elif isinstance(value, int) and not isinstance(value, bool):
            try:
                str(value)
            except ValueError:  # more digits than sys.get_int_max_str_digits()
                return CalcError("bad_config", path, f"{path} is {show(value)}, too long to be a size")
        elif not (value is None or isinstance(value, (str, float, bool))):
            return CalcError("bad_config", path, f"{path} must be a JSON value, got {show(value)}")
        if depth > MAX_JSON_DEPTH and deep is None:
            deep = CalcError("bad_config", path, f"{path} is nested too deeply")
    return deep or CalcError("bad_config", "config", "config must contain only JSON values")
