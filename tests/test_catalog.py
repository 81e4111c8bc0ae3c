"""Completeness over every catalog row: models, GPUs, formats, KV types, engines, warning texts."""

from __future__ import annotations

import base64
import re
import tomllib
from pathlib import Path

import pytest
from gguf_files import LLAMA_META, LLAMA_TENSORS, MMPROJ_META, MMPROJ_TENSORS, write

from calc import catalog, i18n
from calc.api import handle
from calc.model import active_as_officially_counted, catalog_model

ROOT = Path(__file__).resolve().parents[1]
MODEL_IDS = [row.id for row in catalog.model_rows()]
ENGINE_QUANT = {"llama.cpp": "q4_k_m", "vllm": "native", "transformers": "native"}


def test_catalog_sizes():
    assert len(MODEL_IDS) >= 58
    assert len(catalog.gpus()) >= 40
    required_formats = {
        "native",
        "fp32",
        "bf16",
        "fp16",
        "fp8",
        "int8",
        "awq",
        "gptq",
        "nf4",
        "mxfp4",
        "nvfp4",
        "exl2",
        "f16",
        "q8_0",
        "q6_k",
        "q5_k_m",
        "q5_k_s",
        "q5_0",
        "q4_k_m",
        "q4_k_s",
        "q4_0",
        "iq4_xs",
        "iq4_nl",
        "q3_k_l",
        "q3_k_m",
        "q3_k_s",
        "iq3_m",
        "iq3_xxs",
        "q2_k",
        "iq2_m",
        "iq2_xs",
        "iq2_xxs",
        "iq1_s",
    }
    assert required_formats <= set(catalog.formats())
    assert {"f32", "f16", "bf16", "fp8", "q8_0", "q5_1", "q5_0", "q4_1", "q4_0", "iq4_nl"} <= set(catalog.kv_types())
    required_gpus = {
        "rtx-3060-12gb",
        "rtx-5090",
        "rtx-a6000",
        "rtx-6000-ada",
        "rtx-pro-6000-blackwell",
        "t4",
        "l4",
        "a10",
        "l40s",
        "a100-40gb-sxm",
        "a100-80gb-sxm",
        "h100-pcie",
        "h100-sxm",
        "h100-nvl",
        "h200",
        "b200",
        "b300",
        "rx-7900-xtx",
        "mi210",
        "mi250x",
        "mi300x",
        "mi325x",
        "mi355x",
    }
    assert required_gpus <= set(catalog.gpus())
    assert any(g.vendor == "apple" and g.usable_fraction < 1 for g in catalog.gpus().values())


@pytest.mark.parametrize("model", MODEL_IDS)
@pytest.mark.parametrize("engine", list(ENGINE_QUANT))
def test_every_model_estimates_on_every_engine(model, engine):
    r = handle(
        {
            "model": model,
            "engine": engine,
            "quant": ENGINE_QUANT[engine],
            "context": 8192,
            "gpu": "h200",
            "gpus": 8,
            "curve": False,
            "recommend": False,
        }
    )
    assert r["ok"], r.get("error")
    assert r["memory"]["weights_bytes"] > 0 and r["kv_cache_bytes_per_token"] >= 0


@pytest.mark.parametrize("model", MODEL_IDS)
def test_spec_card_and_sources(model):
    row = catalog.models()[model]
    assert row.sources, model
    spec = handle({"op": "model", "model": model})["model"]["spec"]
    for key in (
        "architecture",
        "attention",
        "context_length",
        "layers",
        "hidden_size",
        "attention_heads",
        "kv_heads",
        "head_dim",
        "activation",
        "normalization",
        "position_embedding",
    ):
        assert spec.get(key) not in (None, ""), (model, key)
    assert spec["architecture"] in ("dense", "moe", "hybrid", "hybrid-moe")
    assert spec["attention"] in ("mha", "gqa", "mqa", "mla")


def _tolerance(official: float, text: str | None, precision: str | None) -> float:
    """1% for precise figures; for rounded ones, half a unit of the last digit written plus 1%;
    nominal size labels ("A3B", "40B") only to 30%."""
    if precision == "precise":
        return 0.01 * official
    if precision == "nominal":
        return 0.30 * official
    m = re.match(r"\s*([\d.]+)\s*([BT])", text or "")
    decimals = len(m.group(1).split(".")[1]) if m and "." in m.group(1) else 0
    unit = 1e12 if m and m.group(2) == "T" else 1e9
    return 0.5 * 10**-decimals * unit + 0.01 * official


@pytest.mark.parametrize("model", MODEL_IDS)
def test_derived_params_match_official(model):
    m = catalog_model(model)
    checked = 0
    for key, derived in (("total", m.params.total), ("active", active_as_officially_counted(m))):
        official = m.official.get(f"{key}_params")
        if not official:
            continue
        precision = m.official.get(f"{key}_params_precision") or m.official.get("params_precision")
        assert abs(derived - official) <= _tolerance(official, m.official.get(f"{key}_params_text"), precision), (
            key,
            derived,
            official,
            precision,
        )
        checked += 1
    assert checked == 2 or not {"total_params", "active_params"} & set(m.official), model  # both or none


def test_qwen3_coder_facts():
    r = handle({"op": "model", "model": "Qwen/Qwen3-Coder-480B-A35B-Instruct"})["model"]
    s = r["spec"]
    assert (s["attention"], s["attention_heads"], s["kv_heads"], s["head_dim"], s["layers"]) == ("gqa", 96, 8, 128, 62)
    assert s["architecture"] == "moe" and s["position_embedding"].startswith("rope")
    assert round(r["total_params"] / 1e9) == 480 and round(r["active_params"] / 1e9) == 35
    assert r["total_params"] > r["active_params"]


def test_deepseek_is_mla_and_sliding_models_say_so():
    assert handle({"op": "model", "model": "deepseek-v3"})["model"]["spec"]["attention"] == "mla"
    assert handle({"op": "model", "model": "gemma-3-27b-it"})["model"]["spec"]["sliding_window"] == 1024
    assert handle({"op": "model", "model": "qwen3-next-80b-a3b-instruct"})["model"]["spec"]["architecture"] == "hybrid-moe"


@pytest.mark.parametrize("gpu", list(catalog.gpus()))
def test_gpu_rows(gpu):
    g = catalog.gpus()[gpu]
    assert g.source.startswith("https://"), gpu
    assert g.memory_bytes >= 7.5 * 2**30 and g.bandwidth_bytes_per_s > 1e11
    assert g.bf16_tflops > 0 or "bf16_tflops" in g.missing
    assert g.price_usd > 0 or "price_usd" in g.missing
    assert g.vendor in ("nvidia", "amd", "apple") and g.segment in ("consumer", "workstation", "datacenter", "apple")


@pytest.mark.parametrize("fmt", list(catalog.formats()))
def test_format_rows_estimate(fmt):
    f = catalog.formats()[fmt]
    assert f.source
    engine = "llama.cpp" if f.is_gguf else f.engines[0] if f.engines else "transformers"
    # gguf_file is a GGUF file's own bytes: it takes a file (tests/test_gguf_model.py has the rest)
    model = {"gguf": base64.b64encode(write(LLAMA_META, LLAMA_TENSORS, data=False)).decode()}
    model = model if fmt == "gguf_file" else {"model": "llama-3.1-8b"}
    r = handle({**model, "quant": fmt, "engine": engine, "context": 4096, "curve": False, "recommend": False})
    assert r["ok"], r.get("error")
    bpw = r["format"]["bits_per_weight"]
    assert 1.5 < bpw <= 32.5, (fmt, bpw)


@pytest.mark.parametrize("kv", list(catalog.kv_types()))
def test_kv_rows(kv):
    k = catalog.kv_types()[kv]
    assert k.source and k.engines and k.dtype in catalog.dtypes()


def test_every_dtype_has_a_source():
    for d in catalog.dtypes().values():
        assert d.source and d.block_elems > 0 and d.block_bytes > 0, d.id


def test_engine_constants_are_cited():
    text = (ROOT / "calc/data/engines.toml").read_text()
    for line in text.splitlines():
        if re.match(r"^\w+\s*=\s*[\d.]+\s*(#|$)", line) or re.match(r"^\w+\s*=\s*(true|false)", line):
            assert "#" in line, line


# One request per warning the core can give (the message catalog's codes): each must come back
# with that warning, written out in both languages.
TINY_CONFIG = {
    "model_type": "llama",
    "hidden_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "vocab_size": 128,
    "intermediate_size": 128,
}
WARNING_REQUESTS = {
    # your machine (issue 14)
    "offload_not_moe": {"model": "llama-3.2-1b", "devices": "rtx-4090", "n_cpu_moe": 2},
    "offload_too_many_layers": {"model": "llama-3.2-1b", "devices": "rtx-4090", "n_gpu_layers": 200},
    "override_matches_nothing": {"model": "llama-3.2-1b", "devices": "rtx-4090", "override_tensor": "exps=CPU"},
    "fit_short": {"model": "deepseek-r1", "devices": "rtx-4090", "ram": "64GiB"},
    "fit_user_set": {"model": "llama-3.2-1b", "devices": "rtx-4090", "n_gpu_layers": 5, "fit": True},
    "ram_exceeded": {"model": "deepseek-r1", "devices": "rtx-4090", "ram": "64GiB"},
    "device_exceeded": {"model": "llama-3.3-70b-instruct", "devices": "rtx-4090", "n_gpu_layers": 81, "ram": "64GiB"},
    "ram_not_given": {"model": "gpt-oss-120b", "quant": "mxfp4", "devices": "rtx-4090"},
    "unified_ram_ignored": {"model": "llama-3.2-1b", "devices": "apple-m4-max-128gb", "ram": "64GiB"},
    "vllm_mixed_gpus": {"model": "llama-3.2-1b", "engine": "vllm", "quant": "bf16", "devices": "rtx-4090,rtx-3060-12gb"},
    "context_exceeds_native": {"model": "phi-4", "engine": "vllm", "quant": "awq", "context": 131072},
    "custom_model": {"config": TINY_CONFIG},
    "does_not_fit": {"model": "glm-4.5", "engine": "vllm", "quant": "awq", "gpu": "l40s", "gpus": 2},
    "embeddings_on_host": {"model": "llama-3.1-8b", "engine": "llama.cpp"},
    "gguf_model": {"gguf": base64.b64encode(write(LLAMA_META, LLAMA_TENSORS, data=False)).decode(), "gguf_name": "tiny.gguf"},
    "format_engine": {"model": "qwen3-32b", "engine": "llama.cpp", "quant": "exl2", "bpw": 5.5},
    "kv_type_unsupported": {"model": "llama-3.1-8b", "engine": "transformers", "kv_cache": "q8_0"},
    "mla_decompressed": {"model": "deepseek-r1", "engine": "transformers", "quant": "native", "gpu": "a100-80gb-sxm"},
    "quant_v_needs_flash": {"model": "llama-3.1-8b", "engine": "llama.cpp", "kv_cache": "q4_0", "flash_attention": False},
    "kv_f16_scratch": {"model": "llama-3.1-8b", "engine": "llama.cpp", "kv_cache": "q8_0", "gpu": "rtx-4090", "gpus": 1},
    "split_unsupported": {"model": "falcon-7b", "engine": "vllm", "quant": "awq", "gpu": "l40s", "gpus": 2},
    "text_only": {"model": "llama-4-scout-17b-16e-instruct", "engine": "vllm", "quant": "awq"},  # its tower is not counted
    "mmproj_counted": {
        "model": "gemma-3-4b-it",
        "mmproj": base64.b64encode(write(MMPROJ_META, MMPROJ_TENSORS, data=False)).decode(),
    },
    "mmproj_ignored": {
        "model": "gemma-3-4b-it",
        "engine": "vllm",
        "quant": "awq",
        "mmproj": base64.b64encode(write(MMPROJ_META, MMPROJ_TENSORS, data=False)).decode(),
    },
    "native_quant_unknown": {"config": {**TINY_CONFIG, "quantization_config": {"quant_method": "hqq"}}, "quant": "native"},
    "native_dtype_unknown": {"config": {**TINY_CONFIG, "torch_dtype": "complex64"}, "quant": "native"},
    "vllm_reserves": {"model": "phi-4", "engine": "vllm", "quant": "awq"},
    # a unified-memory machine's words (code without the suffix, its _unified text)
    "does_not_fit_unified": {"model": "qwen3-235b-a22b", "gpu": "apple-m3-max-64gb"},
    "embeddings_on_host_unified": {"model": "llama-3.1-8b", "devices": "apple-m4-max-128gb"},
    "fit_short_unified": {"model": "qwen3-235b-a22b", "devices": "apple-m3-ultra-96gb"},
    "ram_exceeded_unified": {"model": "qwen3-235b-a22b", "devices": "apple-m3-ultra-96gb"},
}


def test_warning_texts_complete_in_both_languages():
    en, zh = i18n.messages("en"), i18n.messages("zh")
    assert set(en) == set(zh) == set(WARNING_REQUESTS)
    for code in en:
        assert set(re.findall(r"{(\w+)}", en[code])) == set(re.findall(r"{(\w+)}", zh[code])), code


@pytest.mark.parametrize(("code", "lang"), [(c, lang) for c in WARNING_REQUESTS for lang in ("en", "zh")])
def test_every_warning_is_given_and_written_out(code, lang):
    answer = handle({**WARNING_REQUESTS[code], "lang": lang})
    assert answer["ok"], answer.get("error")
    base = code.removesuffix("_unified")
    warning = next((w for w in answer["warnings"] if w["code"] == base), None)
    assert warning is not None, [w["code"] for w in answer["warnings"]]
    assert warning["text"] and "{" not in warning["text"]
    assert warning["text"] == i18n.messages(lang)[code].format(**warning["params"])


def test_ui_strings_complete_in_both_languages():
    def flat(table, prefix=""):
        out = {}
        for k, v in table.items():
            out.update(flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {prefix + k: v})
        return out

    en = flat({**tomllib.loads((ROOT / "web/i18n/en.toml").read_text()), **i18n.texts("en")})
    zh = flat({**tomllib.loads((ROOT / "web/i18n/zh.toml").read_text()), **i18n.texts("zh")})
    assert set(en) == set(zh)
    joiners = {"result.sentence_sep"}  # what goes between two sentences: a space in English, nothing in Chinese
    for key in en:
        assert str(zh[key]).strip() or key in joiners, key
        assert set(re.findall(r"{(\w+)}", str(en[key]))) == set(re.findall(r"{(\w+)}", str(zh[key]))), key
