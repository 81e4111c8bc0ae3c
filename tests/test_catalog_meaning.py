"""Catalog rows are checked for meaning at load: each kind of mistake in a data file raises CatalogError
naming the file, the row and the field.  Every case loads a mutated copy of the shipped data."""

from __future__ import annotations

import copy
import json

import pytest

from calc import catalog
from calc.catalog import CatalogError
from calc.engines import engines

LOADERS = (catalog.dtypes, catalog.formats, catalog.kv_types, engines, catalog.gpus, catalog.models, catalog.speed_runs)
TABLES = {
    "dtypes.toml": "dtype",
    "formats.toml": "format",
    "kv_types.toml": "kv",
    "gpus.toml": "gpu",
    "models.json": "models",
    "speed_efficiency.toml": "run",
}


def _clear():
    for loader in LOADERS:
        loader.cache_clear()


@pytest.fixture
def fresh_catalog():
    """The loaders' caches emptied before the test and again after it, so that the shipped data is
    what every later test reads."""
    _clear()
    yield
    _clear()


def _real(file: str):
    """A deep copy of data file `file` as parsed."""
    if file == "models.json":
        return json.loads(catalog.read_data("models.json"))
    return copy.deepcopy(catalog.load_toml(file))


def _load_mutated(monkeypatch, file: str, mutate) -> None:
    """Loads every catalog with data file `file` replaced by the shipped copy after `mutate(rows)`."""
    data = _real(file)
    mutate(data[TABLES[file]])
    real_load_toml, real_read_data = catalog.load_toml, catalog.read_data
    monkeypatch.setattr(catalog, "_compiled", lambda name: None)
    monkeypatch.setattr(catalog, "load_toml", lambda name: data if name == file else real_load_toml(name))
    monkeypatch.setattr(catalog, "read_data", lambda name: json.dumps(data).encode() if name == file else real_read_data(name))
    for loader in LOADERS:
        loader()


def _row(rows: list, rid: str) -> dict:
    return next(r for r in rows if r["id"] == rid)


def _set(rid: str, key: str, value):
    def mutate(rows):
        _row(rows, rid)[key] = value

    return mutate


def _drop(rid: str, key: str):
    def mutate(rows):
        del _row(rows, rid)[key]

    return mutate


def _duplicate(rid: str, new_id: str):
    def mutate(rows):
        rows.append(dict(copy.deepcopy(_row(rows, rid)), id=new_id))

    return mutate


def _rule(rid: str, key: str, rules: list):
    def mutate(rows):
        _row(rows, rid)["rules"][key] = rules

    return mutate


def _official(rid: str, key: str, value):
    def mutate(rows):
        _row(rows, rid)["official"][key] = value

    return mutate


# (kind of mistake, file, mutation, row named, field named, words the message has)
CASES = [
    ("unknown key", "gpus.toml", _set("h100-sxm", "memory_byts", 1), "h100-sxm", "memory_byts", "unknown field"),
    ("unknown key", "formats.toml", _set("awq", "embeds", "f16"), "awq", "embeds", "unknown field"),
    ("unknown key", "models.json", _set("phi-4", "sorces", []), "phi-4", "sorces", "unknown field"),
    ("unknown key", "models.json", _official("phi-4", "licence", "MIT"), "phi-4", "official", "key 'licence': unknown field"),
    ("wrong type", "dtypes.toml", _set("q8_0", "block_elems", 32.0), "q8_0", "block_elems", "expected int, got float"),
    ("wrong type", "gpus.toml", _set("h200", "memory_bytes", "141GB"), "h200", "memory_bytes", "expected int, got str"),
    ("wrong type", "gpus.toml", _set("h200", "bandwidth_bytes_per_s", True), "h200", "bandwidth_bytes_per_s", "expected float"),
    ("wrong type", "formats.toml", _set("fp8", "engines", "vllm"), "fp8", "engines", "expected list, got str"),
    ("wrong type", "kv_types.toml", _set("f16", "label", 16), "f16", "label", "expected str, got int"),
    ("wrong type", "models.json", _set("phi-4", "config", []), "phi-4", "config", "expected dict, got list"),
    ("enum value", "gpus.toml", _set("h200", "vendor", "nvida"), "h200", "vendor", "'nvida' is not one of amd, apple, nvidia"),
    ("enum value", "gpus.toml", _set("t4", "segment", "server"), "t4", "segment", "'server' is not one of"),
    ("enum value", "formats.toml", _set("q4_k_m", "family", "ggml"), "q4_k_m", "family", "'ggml' is not one of"),
    ("enum value", "models.json", _official("phi-4", "params_precision", "exact"), "phi-4", "official", "'exact' is not one of"),
    (
        "out of range",
        "gpus.toml",
        _set("apple-m4-max-128gb", "usable_fraction", 1.5),
        "apple-m4-max-128gb",
        "usable_fraction",
        "(0, 1]",
    ),
    ("out of range", "gpus.toml", _set("l4", "memory_bytes", 0), "l4", "memory_bytes", "must be positive"),
    ("out of range", "gpus.toml", _set("l4", "bandwidth_bytes_per_s", -3e11), "l4", "bandwidth_bytes_per_s", "must be positive"),
    ("out of range", "dtypes.toml", _set("q4_0", "block_bytes", 0), "q4_0", "block_bytes", "must be positive"),
    ("out of range", "dtypes.toml", _set("int8_channel", "per_row_bytes", -4), "int8_channel", "per_row_bytes", "negative"),
    ("out of range", "models.json", _official("phi-4", "context_length", 0), "phi-4", "official", "must be positive"),
    (
        "no source",
        "models.json",
        _official("qwen3-8b", "knowledge_cutoff", "2024-06"),
        "qwen3-8b",
        "official.knowledge_cutoff",
        "need",
    ),
    (
        "no source",
        "models.json",
        _official("qwen3-8b", "input_modalities", ["text"]),
        "qwen3-8b",
        "official.input_modalities",
        "needs",
    ),
    ("enum value", "models.json", _official("phi-4", "output_modalities", ["tts"]), "phi-4", "official", "'tts' is not one of"),
    ("bad date", "models.json", _official("phi-4", "knowledge_cutoff", "June 2024"), "phi-4", "official", "YYYY-MM"),
    ("bad date", "gpus.toml", _set("h200", "released", "2023-13"), "h200", "released", "YYYY-MM"),
    ("unknown dtype", "kv_types.toml", _set("q8_0", "dtype", "q8"), "q8_0", "dtype", "'q8' is not one of"),
    ("unknown dtype", "formats.toml", _set("awq", "linear", "awq_g12"), "awq", "linear", "'awq_g12' is not one of"),
    ("unknown dtype", "formats.toml", _set("q4_0", "base", "q4"), "q4_0", "base", "'q4' is not one of"),
    ("unknown dtype", "formats.toml", _rule("q4_k_m", "output", ["always=q6k"]), "q4_k_m", "rules", "unknown storage type 'q6k'"),
    (
        "unknown rule condition",
        "formats.toml",
        _rule("q4_k_m", "attn_v", ["experts8=q8_0", "morebits=q6_k"]),
        "q4_k_m",
        "rules",
        "unknown condition 'morebits' (known: always, more_bits,",
    ),
    ("unknown rule condition", "formats.toml", _rule("q3_k_m", "attn_v", ["first3=q5_k"]), "q3_k_m", "rules", "'first3'"),
    ("malformed rule", "formats.toml", _rule("q6_k", "output", ["q8_0"]), "q6_k", "rules", "is not 'condition=type'"),
    (
        "unknown rule tensor",
        "formats.toml",
        _rule("q4_k_m", "attnv", ["always=q6_k"]),
        "q4_k_m",
        "rules",
        "unknown tensor name 'attnv'",
    ),
    ("duplicate id", "formats.toml", _duplicate("q4_k_m", "q4_k_m"), "q4_k_m", "id", "duplicate id"),
    ("duplicate id", "gpus.toml", _duplicate("h200", "H200"), "H200", "id", "duplicate id"),
    ("duplicate id", "dtypes.toml", _duplicate("f16", "f16"), "f16", "id", "duplicate id"),
    ("duplicate id", "models.json", _duplicate("phi-4", "phi-4"), "phi-4", "id", "duplicate id"),
    ("missing required field", "kv_types.toml", _drop("f16", "source"), "f16", "source", "required field missing"),
    ("missing required field", "gpus.toml", _drop("a10", "vendor"), "a10", "vendor", "required field missing"),
    ("missing required field", "dtypes.toml", _drop("q6_k", "block_bytes"), "q6_k", "block_bytes", "required field missing"),
    ("missing required field", "formats.toml", _drop("gptq", "head"), "gptq", "head", "required for family 'gptq'"),
    ("missing required field", "formats.toml", _drop("q5_k_m", "base"), "q5_k_m", "base", "required for family 'gguf'"),
    ("missing required field", "models.json", _drop("phi-4", "config"), "phi-4", "config", "required field missing"),
    ("field the family does not use", "formats.toml", _set("fp8", "base", "fp8"), "fp8", "base", "not used by family 'fp8'"),
    ("field the family does not use", "formats.toml", _set("q8_0", "linear", "q8_0"), "q8_0", "linear", "not used by family"),
    ("unknown engine", "formats.toml", _set("awq", "engines", ["vllm", "exllama"]), "awq", "engines", "'exllama' is not one of"),
    ("unknown engine", "kv_types.toml", _set("fp8", "engines", ["vLLM"]), "fp8", "engines", "'vLLM' is not one of"),
    ("no engine", "kv_types.toml", _set("fp8", "engines", []), "fp8", "engines", "must not be empty"),
    ("unlisted missing figure", "gpus.toml", _drop("h200", "price_usd"), "h200", "price_usd", "neither given nor listed"),
    ("unknown missing figure", "gpus.toml", _set("h200", "missing", ["tflops"]), "h200", "missing", "'tflops' is not one of"),
    ("lone tile field", "dtypes.toml", _drop("fp8_block128", "tile_scale_bytes"), "fp8_block128", "tile_rows", "go together"),
    ("source not a URL", "gpus.toml", _set("h200", "source", "NVIDIA datasheet"), "h200", "source", "not an http(s) URL"),
    ("empty source", "formats.toml", _set("nf4", "source", " "), "nf4", "source", "must not be empty"),
    ("no source URL", "models.json", _set("phi-4", "sources", ["a test fixture"]), "phi-4", "sources", "no http(s) URL"),
    ("no source", "models.json", _set("phi-4", "sources", []), "phi-4", "sources", "must not be empty"),
    ("bad repo", "models.json", _set("phi-4", "repo", "phi-4"), "phi-4", "repo", "not a Hugging Face repo id"),
    # the speed measurements (calc/data/speed_efficiency.toml)
    (
        "faster than its ceiling",
        "speed_efficiency.toml",
        _set("pr4766-rtx4090-llama7b-f16", "size_bytes", 10**11),
        "pr4766-rtx4090-llama7b-f16",
        "decode_tokens_per_s",
        "cannot beat",
    ),
    (
        "faster than its ceiling",
        "speed_efficiency.toml",
        _set("pr4766-rtx4090-llama7b-f16", "params", 10**11),
        "pr4766-rtx4090-llama7b-f16",
        "prefill_tokens_per_s",
        "cannot beat",
    ),
    (
        "unknown GPU",
        "speed_efficiency.toml",
        _set("pr4766-rtx4090-llama7b-f16", "gpu", "rtx-4090-ti"),
        "pr4766-rtx4090-llama7b-f16",
        "gpu",
        "'rtx-4090-ti' is not one of",
    ),
    (
        "unknown engine",
        "speed_efficiency.toml",
        _set("pr4766-rtx4090-llama7b-f16", "engine", "llamacpp"),
        "pr4766-rtx4090-llama7b-f16",
        "engine",
        "'llamacpp' is not one of",
    ),
    (
        "no source",
        "speed_efficiency.toml",
        _drop("pr4766-rtx4090-llama7b-f16", "source"),
        "pr4766-rtx4090-llama7b-f16",
        "source",
        "required field missing",
    ),
    (
        "source not a URL",
        "speed_efficiency.toml",
        _set("pr4766-rtx4090-llama7b-f16", "source", "a forum"),
        "pr4766-rtx4090-llama7b-f16",
        "source",
        "not an http(s) URL",
    ),
    (
        "bad date",
        "speed_efficiency.toml",
        _set("pr4766-rtx4090-llama7b-f16", "date", "Jan 2024"),
        "pr4766-rtx4090-llama7b-f16",
        "date",
        "YYYY-MM",
    ),
    (
        "no speed",
        "speed_efficiency.toml",
        lambda rows: [_row(rows, "pr4766-rtx4090-llama7b-f16").pop(k) for k in ("decode_tokens_per_s", "prefill_tokens_per_s")],
        "pr4766-rtx4090-llama7b-f16",
        "decode_tokens_per_s",
        "needs decode_tokens_per_s or prefill_tokens_per_s",
    ),
    (
        "prefill without FLOPS",
        "speed_efficiency.toml",
        _set("pr2917-m2ultra-llama7b-q4_0", "prefill_tokens_per_s", 600.0),
        "pr2917-m2ultra-llama7b-q4_0",
        "prefill_tokens_per_s",
        "no bf16_tflops",
    ),
    (
        "duplicate id",
        "speed_efficiency.toml",
        _duplicate("pr4766-rtx4090-llama7b-f16", "pr4766-rtx4090-llama7b-f16"),
        "pr4766-rtx4090-llama7b-f16",
        "id",
        "duplicate id",
    ),
]


@pytest.mark.parametrize(
    ("kind", "file", "mutate", "row", "field", "words"),
    CASES,
    ids=[f"{c[0]}-{c[1]}-{c[3]}-{c[4]}" for c in CASES],
)
def test_a_bad_row_names_file_row_and_field(fresh_catalog, monkeypatch, kind, file, mutate, row, field, words):
    with pytest.raises(CatalogError) as caught:
        _load_mutated(monkeypatch, file, mutate)
    err = caught.value
    assert (err.file, err.row, err.field) == (file, row, field), str(err)
    assert str(err).startswith(f"{file}: row {row!r} field {field!r}: "), str(err)
    assert words in str(err), str(err)


def test_misspelt_table_is_rejected(fresh_catalog, monkeypatch):
    data = dict(_real("kv_types.toml"))
    data["kvs"] = data.pop("kv")
    monkeypatch.setattr(
        catalog, "load_toml", lambda name, real=catalog.load_toml: data if name == "kv_types.toml" else real(name)
    )
    with pytest.raises(CatalogError) as caught:
        catalog.kv_types()
    assert (caught.value.file, caught.value.field) == ("kv_types.toml", "kvs")


def test_the_shipped_catalogs_load(fresh_catalog):
    for loader in LOADERS:
        assert loader()


def test_every_source_is_given():
    """Each model row cites at least one http(s) URL; every GPU, format, storage-type and KV row a source."""
    for row in catalog.model_rows():
        assert any(s.startswith(("https://", "http://")) for s in row.sources), row.id
    for table in (catalog.gpus(), catalog.formats(), catalog.dtypes(), catalog.kv_types()):
        for row in table.values():
            assert row.source.strip(), row.id
    for run in catalog.speed_runs():
        assert run.source.startswith("https://"), run.id
