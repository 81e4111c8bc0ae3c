"""calc/jsonsafe.py: bounded JSON reading, and the config.json errors built on it."""

from __future__ import annotations

import pytest

from calc.errors import CalcError
from calc.jsonsafe import (
    MAX_CONFIG_CHARS,
    MAX_JSON_CONTAINERS,
    MAX_JSON_DEPTH,
    MAX_JSON_DIGITS,
    MAX_JSON_VALUES,
    JsonTooLarge,
    config_from_text,
    config_json_problem,
    config_too_deep,
    read_json,
)


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def _nested_list(depth: int) -> list:
    out: list = []
    for _ in range(depth - 1):
        out = [out]
    return out


# (text, the value read, or the exception and a part of its message)
READ = [
    (_nested(MAX_JSON_DEPTH), _nested_list(MAX_JSON_DEPTH), None),
    (_nested(MAX_JSON_DEPTH + 1), JsonTooLarge, "nested more than"),
    ("[" + "{}," * MAX_JSON_CONTAINERS + "{}]", JsonTooLarge, "lists and objects"),
    ('["' + "[" * 5000 + '"]', ["[" * 5000], None),  # brackets inside a string do not nest
    ("1" * MAX_JSON_DIGITS, int("1" * MAX_JSON_DIGITS), None),
    ("1" * (MAX_JSON_DIGITS + 1), JsonTooLarge, "digits"),
    ("[" + "1," * MAX_JSON_VALUES + "1]", [1] * (MAX_JSON_VALUES + 1), None),
    ("[" + "1," * (MAX_JSON_VALUES + 1) + "1]", JsonTooLarge, "values"),
    (b'{"a": 1}', {"a": 1}, None),
    ("{nope}", ValueError, "Expecting property name"),
]


@pytest.mark.parametrize("text,expected,message", READ, ids=range(len(READ)))
def test_read_json(text, expected, message):
    if isinstance(expected, type):
        with pytest.raises(expected, match=message):
            read_json(text)
    else:
        assert read_json(text) == expected


def test_bad_json_is_not_too_large():
    with pytest.raises(ValueError, match="Expecting value") as exc:
        read_json("[1,")
    assert not isinstance(exc.value, JsonTooLarge)


# (config text, error code or None, a part of the message)
CONFIG_TEXT = [
    ('\ufeff{"a": 1}\n', None, ""),
    ('{"a": 1}' + " " * MAX_CONFIG_CHARS, "out_of_range", "larger than 5 MB"),
    ("[1]", "bad_config", "a JSON object"),
    ('{"a": ' + "1" * (MAX_JSON_DIGITS + 1) + "}", "out_of_range", "digits"),
    ('{"a": ' + _nested(MAX_JSON_DEPTH + 1) + "}", "out_of_range", "nested more than"),
    ('{"a": }', "bad_config", "not valid JSON"),
]


@pytest.mark.parametrize("text,code,message", CONFIG_TEXT, ids=range(len(CONFIG_TEXT)))
def test_config_from_text(text, code, message):
    if code is None:
        assert config_from_text(text) == {"a": 1}
        return
    with pytest.raises(CalcError) as exc:
        config_from_text(text)
    assert (exc.value.code, exc.value.field) == (code, "config")
    assert message in str(exc.value)


def _deep_dict(depth: int) -> dict:
    out = leaf = {}
    for _ in range(depth):
        leaf["x"] = {}
        leaf = leaf["x"]
    return out


def test_config_too_deep_names_where():
    assert config_too_deep(_deep_dict(MAX_JSON_DEPTH)) is None
    err = config_too_deep(_deep_dict(MAX_JSON_DEPTH + 1))
    assert (err.code, err.field) == ("bad_config", "config.x.x.x.x")  # the path is kept to 4 levels


@pytest.mark.parametrize(
    "config,field,message",
    [
        ({"a": {"b": object()}}, "config.a.b", "must be a JSON value"),
        ({"a": [1, {2: 3}]}, "config.a[1]", "key that is not text"),
        ({"a": 10**5000}, "config.a", "too long to be a size"),
    ],
)
def test_config_json_problem_names_the_field(config, field, message):
    err = config_json_problem(config)
    assert (err.code, err.field) == ("bad_config", field)
    assert message in str(err)
