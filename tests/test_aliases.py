"""Search aliases (calc/aliases.py): the other names of a catalog model that the page's search matches."""

from __future__ import annotations

import pytest

from calc.aliases import catalog_aliases, family_alias, model_aliases, normalize, tune_variant
from calc.api import handle


@pytest.fixture(scope="module")
def aliases() -> dict[str, list[str]]:
    return catalog_aliases(handle({"op": "catalog"})["models"])


@pytest.mark.parametrize(
    "text, normal",
    [
        ("Qwen/Qwen3-32B", "qwen qwen3 32b"),
        ("Llama-3.1-70B", "llama 3.1 70b"),
        ("  Gemma 3 27B IT ", "gemma 3 27b it"),
        ("OLMo 2 32B (0325)", "olmo 2 32b 0325"),
        ("meta-llama/Llama-3.3-70B-Instruct", "meta llama llama 3.3 70b instruct"),
        ("", ""),
    ],
)
def test_normalize(text, normal):
    assert normalize(text) == normal


@pytest.mark.parametrize(
    "family, alias",
    [("Llama 3.1", "Llama3.1"), ("Gemma 3", "Gemma3"), ("Phi-3", "Phi3"), ("OLMo 2", "OLMo2"), ("GLM-4.5", "GLM4.5")],
)
def test_family_written_as_one_word(family, alias):
    assert family_alias(family) == alias


@pytest.mark.parametrize("family", ["Qwen3", "Qwen2.5-Coder", "Mistral 7B", "Kimi K2", "DeepSeek-V3", "gpt-oss", "GLM-4-0414"])
def test_family_without_a_version_word_has_no_alias(family):
    assert family_alias(family) is None


@pytest.mark.parametrize(
    "tail, other",
    [
        ("Llama-3.3-70B-Instruct", "Llama-3.3-70B"),
        ("Llama-3.1-70B", "Llama-3.1-70B-Instruct"),
        ("Mistral-7B-v0.3", "Mistral-7B-Instruct-v0.3"),
        ("Mistral-7B-Instruct-v0.2", "Mistral-7B-v0.2"),
        ("Mixtral-8x7B-v0.1", "Mixtral-8x7B-Instruct-v0.1"),
        ("gemma-3-27b-it", "gemma-3-27b"),
        ("Phi-3-mini-4k-instruct", "Phi-3-mini-4k"),
        ("Qwen3-Coder-480B-A35B-Instruct", "Qwen3-Coder-480B-A35B"),
        ("DeepSeek-R1", None),
        ("phi-4", None),
    ],
)
def test_base_and_instruct_repos_name_each_other(tail, other):
    assert tune_variant(tail) == other


@pytest.mark.parametrize(
    "model, wanted",
    [
        ("llama-3.1-70b", ["Llama3.1", "Llama-3.1-70B-Instruct"]),
        ("llama-3.3-70b-instruct", ["Llama3.3", "Llama-3.3-70B"]),
        ("gemma-3-27b-it", ["Gemma3", "gemma-3-27b"]),
        ("qwen2.5-coder-32b-instruct", ["Qwen2.5-Coder-32B"]),
        ("mistral-7b-v0.3", ["Mistral-7B-Instruct-v0.3"]),
    ],
)
def test_catalog_models_get_their_aliases(aliases, model, wanted):
    assert aliases[model] == wanted


def test_no_alias_repeats_a_name_the_search_already_has(aliases):
    """Kimi-K2-Instruct without "-Instruct" is its family's name; the FP8 checkpoints' twins are
    catalog models: neither is an alias (it would cost bytes, or point away from the other model)."""
    assert aliases["kimi-k2-instruct"] == []
    assert aliases["qwen3-32b-fp8"] == []


def test_an_alias_never_names_another_model():
    rows = [
        {"id": "x-7b", "name": "X-7B", "family": "X", "repo": "org/X-7B"},
        {"id": "x-7b-instruct", "name": "X-7B-Instruct", "family": "X", "repo": "org/X-7B-Instruct"},
    ]
    assert catalog_aliases(rows) == {"x-7b": [], "x-7b-instruct": []}
    assert model_aliases(rows[0], set()) == ["X-7B-Instruct"]


def test_every_catalog_model_has_a_list_and_no_alias_is_empty(aliases):
    catalog = handle({"op": "catalog"})["models"]
    assert set(aliases) == {m["id"] for m in catalog}
    assert all(all(a.strip() for a in found) for found in aliases.values())
