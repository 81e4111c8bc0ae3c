"""The typed answers (calc/result.py): every field declared, documented and always present; the
boundary hands out fresh data; every request option is documented and has a CLI flag."""

from __future__ import annotations

import copy
import typing
from dataclasses import fields as dataclass_fields

import pytest

from calc import cli, result
from calc.api import handle
from calc.request import Request


def _classes(cls, seen=None) -> set:
    """`cls` and every named tuple its fields hold (through lists and optionals)."""
    seen = set() if seen is None else seen
    seen.add(cls)
    for hint in typing.get_type_hints(cls).values():
        for arg in (hint, *typing.get_args(hint), *(a for t in typing.get_args(hint) for a in typing.get_args(t))):
            if isinstance(arg, type) and hasattr(arg, "_fields") and arg not in seen:
                _classes(arg, seen)
    return seen


ALL = sorted({c for a in result.ANSWERS for c in _classes(a)}, key=lambda c: c.__name__)


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_every_field_is_documented(cls):
    undocumented = [name for name, doc in result.fields(cls).items() if not doc.strip()]
    assert undocumented == []


def test_every_request_field_is_documented():
    hints = typing.get_type_hints(Request, include_extras=True)
    assert [f.name for f in dataclass_fields(Request) if not getattr(hints[f.name], "__metadata__", None)] == []


def _shape(value, cls) -> list[str]:
    """Where a JSON answer differs from its declared fields: keys missing or extra, at any depth."""
    if not isinstance(value, dict):
        return [f"{cls.__name__}: not an object"]
    hints = typing.get_type_hints(cls)
    problems = [f"{cls.__name__}: keys {sorted(value)} != {list(cls._fields)}"] if list(value) != list(cls._fields) else []
    for name in cls._fields:
        hint, v = hints[name], value.get(name)
        if typing.get_origin(hint) is list:  # list[Row]: every item a Row
            rows = [a for a in typing.get_args(hint) if hasattr(a, "_fields")]
            for item in v if rows else []:
                problems += _shape(item, rows[0])
            continue
        inner = [a for a in (hint, *typing.get_args(hint)) if hasattr(a, "_fields")]  # Row or Row | None
        if inner and v is not None:
            problems += _shape(v, inner[0])
    return problems


# (request, the answer class): every engine with and without a GPU, each op, a failure.
CASES = [
    ({"model": "llama-3.1-8b", "engine": "llama.cpp", "quant": "q4_k_m", "gpu": "rtx-4090", "gpus": 1}, result.Estimate),
    ({"model": "qwen3-30b-a3b", "engine": "vllm", "quant": "native", "gpu": "h100-sxm", "gpus": 2}, result.Estimate),
    ({"model": "deepseek-v3", "engine": "transformers", "quant": "bf16", "gpu": None}, result.Estimate),
    ({"model": "gemma-3-27b-it", "engine": "vllm", "quant": "native", "gpu": None, "recommend": False}, result.Estimate),
    ({"op": "model", "model": "gpt-oss-120b"}, result.ModelAnswer),
    ({"op": "view", "model": "llama-3.1-8b"}, result.ViewAnswer),
    ({"op": "catalog"}, result.CatalogAnswer),
    ({"model": "no-such-model"}, result.Failure),
    ({"context": -1}, result.Failure),
]


@pytest.mark.parametrize(("request_", "cls"), CASES, ids=lambda x: str(x)[:60])
def test_answer_has_exactly_the_declared_fields(request_, cls):
    assert _shape(handle(request_), cls) == []


def test_optional_fields_are_null_not_missing():
    answer = handle({"model": "llama-3.1-8b", "engine": "llama.cpp", "gpu": None})
    assert answer["fit"] is None and answer["max_context"] is None and answer["kv_pool_bytes"] is None
    assert answer["model"]["spec"]["experts_total"] is None and answer["model"]["spec"]["kv_lora_rank"] is None


@pytest.mark.parametrize(
    "request_",
    [{"model": "llama-3.1-8b"}, {"op": "model", "model": "deepseek-v3"}, {"op": "catalog"}, {"op": "view"}],
    ids=str,
)
def test_editing_an_answer_cannot_change_the_next(request_):
    first = handle(request_)
    saved = copy.deepcopy(first)

    def scribble(node):
        for key, value in list(node.items()) if isinstance(node, dict) else enumerate(node):
            if isinstance(value, (dict, list)):
                scribble(value)
            node[key] = 999
        if isinstance(node, list):
            node.append(999)

    scribble(first)
    assert handle(request_) == saved


# Request fields the CLI reaches without a flag of their own, and how.
CLI_OTHERWISE = {
    "op": "the sub-command (estimate; models, gpus, quants: catalog)",
    "config": "--model with a path",
    "gguf": "--model with a path to a .gguf",
    "gguf_name": "--model with a path to a .gguf",
    "hub": "--model with a repo id or Hub URL (and --revision, --file)",
    "safetensors": "--model with a repo id: its shards' headers, fetched",
    "hub_listing": "--model with a repo id: the model API's answer, fetched",
    "mmproj_name": "--mmproj: the file's name",
}


@pytest.mark.parametrize("name", [f.name for f in dataclass_fields(Request)])
def test_cli_offers_every_request_option(name):
    estimate = cli._parser()._subparsers._group_actions[0].choices["estimate"]
    dests = {a.dest for a in estimate._actions}
    assert name in dests or name in CLI_OTHERWISE


# (flags, request keys they set)
CLI_ROWS = [
    (["--max-num-seqs", "64"], {"max_num_seqs": 64}),
    (["--recommend-limit", "3"], {"recommend_limit": 3}),
    (["--no-recommend"], {"recommend": False}),
    (["--no-flash-attention"], {"flash_attention": False}),
    (["--flash-attention"], {"flash_attention": True}),
    (["--swa-full"], {"swa_full": True}),
    (["--no-swa-full"], {"swa_full": False}),
    (["--curve"], {"curve": True}),
    (["--quant", "exl2", "--bpw", "5.0"], {"quant": "exl2", "bpw": 5.0}),
]


@pytest.mark.parametrize(("flags", "expected"), CLI_ROWS, ids=lambda x: " ".join(x) if isinstance(x, list) else "")
def test_cli_flag_reaches_the_request(flags, expected):
    req = cli._request(cli._parser().parse_args(["estimate", "--model", "llama-3.1-8b", *flags]))
    assert {k: req.get(k) for k in expected} == expected
    echoed = handle(req)["request"]
    assert {k: echoed[k] for k in expected} == expected
