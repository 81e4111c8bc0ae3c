"""The engine modules (calc/engines/): their rows are checked at load, their rules give the numbers
worked out by hand here, and an engine with another release's constants changes only those."""

from __future__ import annotations

import dataclasses
import re

import pytest

from calc import catalog
from calc.api import handle
from calc.catalog import CatalogError
from calc.engines import KINDS, engine_for, engines, llamacpp, releases, transformers, vllm
from calc.engines.base import Engine

# Each engine's row without its releases, at its newest release (what from_row reads).
ROWS = {
    row["id"]: {**{k: v for k, v in row.items() if k != "release"}, "version": row["release"][0]["version"]}
    for row in catalog.load_toml("engines.toml")["engine"]
}


def test_every_row_is_its_modules_engine():
    assert set(engines()) == set(KINDS) == set(ROWS)
    for engine_id, engine in engines().items():
        assert type(engine) is KINDS[engine_id]
        assert dataclasses.asdict(engine) == {f.name: ROWS[engine_id].get(f.name, f.default) for f in dataclasses.fields(engine)}


@pytest.mark.parametrize(
    "engine_id, change, message",
    [
        ("llama.cpp", {"splt": "layer"}, "row 'llama.cpp' field 'splt': unknown field"),
        ("vllm", {"split": "tensors"}, "row 'vllm' field 'split': 'tensors' is not one of layer, tensor"),
        ("llama.cpp", {"output_rows": "rows"}, "row 'llama.cpp' field 'output_rows': 'rows' is not one of ubatch, sequences"),
        ("vllm", {"block_size": "16"}, "row 'vllm' field 'block_size': '16' is not a int"),
        ("vllm", {"block_size": True}, "row 'vllm' field 'block_size': True is not a int"),
        ("transformers", {"overhead_bytes": -1}, "row 'transformers' field 'overhead_bytes': -1 is negative"),
        ("llama.cpp", {"mla_v_cached": 0}, "row 'llama.cpp' field 'mla_v_cached': 0 is not a bool"),
        ("vllm", {"label": None}, "row 'vllm' field 'label': missing"),
    ],
)
def test_a_bad_row_names_the_row_and_field(engine_id, change, message):
    row = {k: v for k, v in {**ROWS[engine_id], **change}.items() if v is not None}
    with pytest.raises(CatalogError, match="^engines.toml: " + message.replace("(", r"\(").replace(")", r"\)")):
        KINDS[engine_id].from_row(row)


def test_a_row_without_a_module_is_refused(monkeypatch):
    raw = catalog.load_toml("engines.toml")["engine"]
    rows = [*raw, {**raw[1], "id": "sglang"}]
    monkeypatch.setattr("calc.engines.load_toml", lambda name: {"engine": rows})
    engines.cache_clear()
    try:
        with pytest.raises(CatalogError, match="row 'sglang' field 'id': no engine module"):
            engines()
    finally:
        engines.cache_clear()


# (context, batch, window, ctx_pad, ubatch) -> cells, worked by hand
@pytest.mark.parametrize(
    "args, cells",
    [
        ((1000, 1, 0, 256, 512), 1024),  # pad(1000, 256)
        ((4096, 2, 0, 256, 512), 8192),
        ((32768, 1, 4096, 256, 512), 4608),  # pad(4096 + 512) = 4608 < 32768
        ((2000, 1, 4096, 256, 512), 2048),  # the full cache is smaller
        ((100, 3, 0, 1, 512), 300),
    ],
)
def test_llamacpp_cells(args, cells):
    assert llamacpp.cells(*args) == cells


# (context, batch, window, block, max_num_batched_tokens) -> cells
@pytest.mark.parametrize(
    "args, cells",
    [
        ((1000, 1, 0, 16, 2048), 1008),  # 63 blocks
        ((1000, 4, 0, 16, 2048), 4032),
        ((32768, 1, 4096, 16, 2048), 6144 + 16),  # pad(4095 + 2048, 16) = 6144, plus one block
        ((5000, 1, 4096, 16, 2048), 5008),  # the window plus a step covers the context: pad(5000)
    ],
)
def test_vllm_cells(args, cells):
    assert vllm.cells(*args) == cells


@pytest.mark.parametrize("args, cells", [((1000, 2, 0), 2000), ((1000, 2, 512), 1024), ((300, 1, 512), 300)])
def test_transformers_cells(args, cells):
    assert transformers.cells(*args) == cells


@pytest.mark.parametrize(
    "gpu, batched, seqs",
    [("h100-sxm", 8192, 1024), ("h200", 8192, 1024), ("rtx-4090", 2048, 256), ("a100-80gb-sxm", 2048, 256), (None, 2048, 256)],
)
def test_vllm_batch_defaults_follow_the_gpu(gpu, batched, seqs):
    answer = handle(
        {"engine": "vllm", "quant": "native", "gpu": gpu, "gpus": 1 if gpu else None, "recommend": False, "curve": False}
    )
    assert answer["ok"], answer
    assert answer["engine"]["settings"] == {
        "gpu_memory_utilization": 0.9,
        "max_num_batched_tokens": batched,
        "max_num_seqs": seqs,
    }


@pytest.mark.parametrize(
    "engine_id, knobs",
    [
        ("llama.cpp", {"flash_attention", "ubatch", "swa_full"}),
        ("vllm", {"gpu_memory_utilization", "max_num_batched_tokens", "max_num_seqs"}),
    ],
)
def test_settings_hold_the_engines_own_knobs(engine_id, knobs):
    answer = handle({"engine": engine_id, "recommend": False, "curve": False})
    assert set(answer["engine"]["settings"]) == knobs


def test_overrides_change_only_what_they_name():
    base = engines()["vllm"]
    other = base.with_overrides(cuda_graph_bytes=0)
    assert type(other) is type(base) and other.cuda_graph_bytes == 0
    assert other.runtime_bytes() == base.runtime_bytes() - base.cuda_graph_bytes
    assert dataclasses.replace(other, cuda_graph_bytes=base.cuda_graph_bytes) == base
    with pytest.raises(CatalogError, match="field 'split'"):
        base.with_overrides(split="pipeline")


def test_only_vllm_has_a_pool_and_every_answer_names_its_fields():
    for engine_id in engines():
        r = handle({"engine": engine_id, "quant": "bf16", "model": "llama-3.1-8b", "gpu": "h100-sxm", "gpus": 1})
        assert {"kv_capacity_tokens", "max_concurrency", "kv_pool_bytes"} <= set(r)
        has_pool = r["kv_pool_bytes"] is not None
        assert has_pool == (type(engines()[engine_id]).pool is not Engine.pool)


# (engine, version, request changes, what the release changes, by hand)
RELEASE_CASES = [
    # 4,100 tokens without flash attention: padded to 256 since PR #17046 (4,352 cells), to 32 before (4,128)
    ("llama.cpp", None, {"flash_attention": False}, 4352),
    ("llama.cpp", "2025-11", {"flash_attention": False}, 4352),
    ("llama.cpp", "2025-08", {"flash_attention": False}, 4128),
    ("llama.cpp", "2025-08", {"flash_attention": True}, 4352),
    # before PR #15434 flash attention was off by default: the 32 padding applies unasked
    ("llama.cpp", "2025-07", {}, 4128),
    ("llama.cpp", "2026-01", {}, 4352),
    ("llama.cpp", "2026-05", {}, 4352),
    ("llama.cpp", "2025-04", {}, 4128),
]


@pytest.mark.parametrize("engine_id, version, change, cells", RELEASE_CASES)
def test_a_release_selects_its_rules(engine_id, version, change, cells):
    """Llama 3.1 8B keeps 131,072 KV bytes per cell (32 layers x 8 KV heads x 128 x 2 x f16)."""
    r = handle(
        {
            "model": "llama-3.1-8b",
            "engine": engine_id,
            "engine_version": version,
            "context": 4100,
            "kv_cache": "f16",
            "gpu": None,
            "curve": False,
            "recommend": False,
            **change,
        }
    )
    assert r["ok"], r.get("error")
    assert r["memory"]["kv_cache_bytes"] == cells * 131_072
    assert r["engine"]["version"] == (version or engine_for(engine_id).version)


def test_older_releases_change_what_they_say():
    """DeepSeek-V3 (MLA, 61 layers, kv_lora_rank 512 + rope 64): before PR #19067 llama.cpp kept a V row
    of 512 beside the 576-wide latent; vLLM V0 held 38 bytes per logit in its profiler, V1 8."""
    base = {"model": "deepseek-v3", "engine": "llama.cpp", "quant": "q2_k", "kv_cache": "f16", "context": 4096, "gpu": None}
    new, old = (handle({**base, "engine_version": v})["kv_cache_bytes_per_token"] for v in (None, "2025-11"))
    assert (new, old) == (61 * 576 * 2, 61 * (576 + 512) * 2)
    assert engine_for("vllm", "v0").sampler_bytes == 38 and engines()["vllm"].sampler_bytes == 8
    assert engine_for("vllm", "0.20").cuda_graph_bytes == 0 < engines()["vllm"].cuda_graph_bytes
    # V1 before 0.21, split at 0.17 (issue 15): the Triton top-k/top-p sampler of 0.17-0.20 holds 16 bytes
    # per logit in the profile, 0.8-0.16's sort 38; both keep CUDA graphs out of the budget
    assert [engine_for("vllm", v).sampler_bytes for v in ("0.20", "0.16")] == [16, 38]
    assert engine_for("vllm", "0.16").cuda_graph_bytes == 0
    qwen = {"model": "qwen3-14b", "engine": "vllm", "quant": "native", "context": 8192, "gpu": "h100-sxm", "curve": False}
    # 1,024 dummy sequences x 151,936 logits x (38 - 16) bytes more profile peak on 0.16: that much less pool
    pools = [handle({**qwen, "engine_version": v})["kv_pool_bytes"] for v in ("0.20", "0.16")]
    assert abs(pools[0] - pools[1] - 1024 * 151936 * 22) < 2**20


GEMMA3_12B = {"model": "gemma-3-12b-it", "engine": "llama.cpp", "quant": "q4_k_m", "kv_cache": "f16", "context": 32768}
GEMMA3_12B |= {"gpu": None, "curve": False, "recommend": False}


@pytest.mark.parametrize(
    "change, kv_mib",
    [
        # 8 full layers x 32,768 cells + 40 sliding layers x pad(1,024 + 512, 256) = 1,536 cells, each cell
        # 8 KV heads x 256 x (K + V) x 2 bytes = 8 KiB: 2,048 + 480 MiB
        ({}, 2048 + 480),
        ({"swa_full": False}, 2048 + 480),
        # --swa-full: every layer holds 32,768 cells, 48 x 256 MiB
        ({"swa_full": True}, 48 * 256),
        # builds before PR #13194 had no cache of their own for the sliding layers
        ({"engine_version": "2025-04"}, 48 * 256),
        ({"engine_version": "2025-07"}, 2048 + 480),
        # four sequences: the window is kept per sequence, 4 x 1,024 + 512 cells
        ({"batch": 4, "context": 8192}, 2048 + 40 * 4608 * 8 / 1024),
    ],
)
def test_swa_full_caches_every_token_of_the_sliding_layers(change, kv_mib):
    """Gemma 3 12B: 48 layers, every 6th global, window 1,024 (llama-kv-cache-iswa.cpp size_swa)."""
    r = handle({**GEMMA3_12B, **change})
    assert r["ok"], r.get("error")
    assert r["memory"]["kv_cache_bytes"] == kv_mib * 2**20
    assert r["engine"]["settings"]["swa_full"] is bool(change.get("swa_full"))


LLAMA_131K = {"model": "llama-3.1-8b", "engine": "llama.cpp", "quant": "q4_k_m", "context": 131072, "gpus": 1}
LLAMA_131K |= {"gpu": "rtx-4090", "curve": False, "recommend": False}
# Llama 3.1 8B at 131,072 cells, ubatch 512, flash attention: F16 mask 131,072 x 512 x 2 = 128 MiB, then the
# largest phase: logits (128,256 x 512 + 2 x 4,096 x 512) x 4 = 266.5 MiB, or attention 512 x (4,096 + 2 x
# 32 x 128) x 4 = 24 MiB plus the F16 copies of one layer's K and V, 131,072 x (1,024 + 1,024) x 2 = 512 MiB
NO_SCRATCH, SCRATCH = (128 + 266.5) * 2**20, (128 + 24 + 512) * 2**20


@pytest.mark.parametrize(
    "change, compute",
    [
        ({"kv_cache": "q8_0"}, SCRATCH),
        ({"kv_cache": "q4_0"}, SCRATCH),
        ({"kv_cache": "bf16"}, SCRATCH),  # the MMA kernel reads F16 only: a BF16 cache is copied too
        ({"kv_cache": "f16"}, NO_SCRATCH),
        ({"kv_cache": "q8_0", "engine_version": "2026-01"}, NO_SCRATCH),  # before PR #23907: the CUDA pool
        ({"kv_cache": "q8_0", "gpu": "mi300x"}, SCRATCH),  # HIP builds share ggml-cuda
        ({"kv_cache": "q8_0", "gpu": "apple-m3-max-128gb"}, NO_SCRATCH),  # Metal reads the quantized cache
        ({"kv_cache": "q8_0", "gpu": None}, SCRATCH),  # no GPU given: a CUDA build assumed
    ],
)
def test_cuda_flash_attention_reserves_f16_copies_of_a_quantized_cache(change, compute):
    r = handle({**LLAMA_131K, **change})
    assert r["ok"], r.get("error")
    assert r["memory"]["activations_bytes"] == compute
    assert ("kv_f16_scratch" in {w["code"] for w in r["warnings"]}) == (compute == SCRATCH)


def test_unknown_release_is_an_error_naming_the_field():
    for engine_id, version in (("vllm", "0.99"), ("llama.cpp", "0.21"), ("transformers", "v0")):
        r = handle({"engine": engine_id, "engine_version": version})
        assert (r["ok"], r["error"]["code"], r["error"]["field"]) == (False, "unknown_engine_version", "engine_version")
    assert handle({"engine": "vllm", "engine_version": 21})["error"]["code"] == "bad_value"


def test_catalog_lists_each_engines_releases_newest_first():
    listed = {e["id"]: [v["id"] for v in e["versions"]] for e in handle({"op": "catalog"})["engines"]}
    assert listed == {e: [r.version for r in releases(e)] for e in engines()}
    assert all(v[0] == engines()[e].version for e, v in listed.items())


@pytest.mark.parametrize(
    "release, message",
    [
        ({"version": "x", "label": "x", "source": "u", "ctx_pad": "32"}, "'32' is not a int"),
        ({"version": "x", "label": "x", "source": "u", "ctx_pads": 32}, "field 'ctx_pads': unknown field"),
        ({"version": "x", "label": "x"}, "source missing or not text"),
        ({"version": "2026-01", "label": "x", "source": "u"}, "duplicate version '2026-01'"),
    ],
)
def test_a_bad_release_is_refused_at_load(monkeypatch, release, message):
    raw = catalog.load_toml("engines.toml")["engine"]
    rows = [{**raw[0], "release": [*raw[0]["release"], release]}, *raw[1:]]
    monkeypatch.setattr("calc.engines.load_toml", lambda name: {"engine": rows})
    engines.cache_clear()
    try:
        with pytest.raises(CatalogError, match=re.escape(message)):
            engines()
    finally:
        engines.cache_clear()


def test_vllm_sizes_from_the_total_pytorch_reports():
    """vLLM multiplies gpu_memory_utilization by torch.cuda.mem_get_info's total: 79.22 GiB
    (81,121 MiB) on an H100 80GB (gpus.toml framework_memory_bytes), not nvidia-smi's 81,559 MiB;
    a GPU without a measured total keeps its catalog memory."""
    q = {"model": "llama-3.1-8b", "engine": "vllm", "quant": "native", "gpus": 1, "recommend": False, "curve": False}
    h100 = handle({**q, "gpu": "h100-sxm"})
    assert h100["per_gpu"][0]["capacity_bytes"] == int(81121 * 2**20 * 0.9)
    assert handle({**q, "gpu": "h200"})["per_gpu"][0]["capacity_bytes"] == int(catalog.gpus()["h200"].memory_bytes * 0.9)


FUSED = 2254857830  # 2.1 GiB: engines.toml non_torch_fusion_bytes
PLAIN = 268435456  # 0.25 GiB: non_torch_bytes


@pytest.mark.parametrize(
    "gpu, gpus, version, non_torch",
    [
        ("h100-sxm", 1, "0.20", PLAIN),  # one GPU: no all-reduce
        ("h100-sxm", 2, "0.20", FUSED),  # Hopper, TP 2: FlashInfer's workspace (llm-d's 0.19.0 logs, 2.06-2.11 GiB)
        ("h100-sxm", 4, "0.20", FUSED),
        ("h200", 8, "0.20", FUSED),
        ("b200", 2, "0.20", FUSED),  # capability 10.0
        ("h100-sxm", 2, "0.16", PLAIN),  # before PR #34299 the fusion was off by default
        ("h100-sxm", 2, "v0", PLAIN),
        ("l40s", 2, "0.20", PLAIN),  # capability 8.9: enable_allreduce_rms_fusion is false
        ("a100-80gb-sxm", 4, "0.20", PLAIN),  # capability 8.0
        ("mi300x", 2, "0.20", PLAIN),  # ROCm: no FlashInfer workspace
    ],
)
def test_vllm_non_torch_memory_follows_the_allreduce_fusion(gpu, gpus, version, non_torch):
    """Per GPU, release 0.20 adds no CUDA graph pool: overhead = non-torch memory, 2.1 GiB where vLLM
    0.17+ fuses all-reduce + RMSNorm (TP 2, 4 or 8 on capability 9.0 / 10.x), else 0.25 GiB."""
    q = {"model": "llama-3.1-8b", "engine": "vllm", "quant": "native", "gpu": gpu, "gpus": gpus}
    got = handle({**q, "engine_version": version, "recommend": False, "curve": False})
    assert {p["overhead_bytes"] for p in got["per_gpu"]} == {non_torch}


def test_vllm_fusion_only_at_flashinfers_world_sizes():
    """FI_SUPPORTED_WORLD_SIZES is (2, 4, 8): at other rank counts the pass turns itself off."""
    st = vllm.VllmSettings(0.9, 8192, 1024, allreduce_fusion=True)
    e = engine_for("vllm", "0.20")
    assert [e.runtime_bytes(tp, st) for tp in (1, 2, 3, 4, 6, 8, 16)] == [PLAIN, FUSED, PLAIN, FUSED, PLAIN, FUSED, PLAIN]
    assert e.runtime_bytes(2, dataclasses.replace(st, allreduce_fusion=False)) == PLAIN


@pytest.mark.parametrize(
    "gpu, pad_i, pad_h",
    [("a100-80gb-sxm", 2944, 3072), ("h100-sxm", 2880, 3072), ("b200", 3072, 3072), ("mi300x", 2880, 2880)],
)
def test_vllm_pads_mxfp4_experts_for_the_gpus_moe_backend(gpu, pad_i, pad_h):
    """gpt-oss-20b (24 layers x 32 experts, intermediate and hidden 2880): Marlin pads the
    intermediate to 128 and the hidden size to 256, Triton on Hopper the hidden side to 256,
    FlashInfer on B200 both to 256; off CUDA nothing.  Per expert: gate, up and down of
    pad_i x pad_h MXFP4 (17 bytes per 32) and the bf16 biases (2 pad_i + pad_h)."""
    q = {"model": "gpt-oss-20b", "engine": "vllm", "quant": "native", "recommend": False, "curve": False}
    padded = handle({**q, "gpu": gpu, "gpus": 1})["memory"]["weights_bytes"]
    plain = handle({**q, "gpu": None})["memory"]["weights_bytes"]
    per_expert = 3 * (pad_i * pad_h - 2880 * 2880) // 32 * 17 + (2 * (pad_i - 2880) + (pad_h - 2880)) * 2
    assert padded - plain == 24 * 32 * per_expert


@pytest.mark.parametrize(
    "counts, ratio, groups",
    [
        ((10, 52), 1.5, (10, 7)),  # Gemma 3 27B: 1 full group + 6 sliding, the last padded by 8 layers
        ((4, 22), 1.5, (4, 7)),  # Gemma 3 1B: 1 + 6, 2 padding layers
        ((18, 18), 1.5, (18, 2)),  # gpt-oss-120b
        ((12, 12), 1.5, (12, 2)),  # gpt-oss-20b
        ((19, 18), 1.5, (19, 2)),  # gpt-oss-120b + an EAGLE layer (PR #29303): 19 full, 18 sliding + 1 padding
        ((20, 30), 1.5, (20, 3)),  # the source's FIXME: 20 full + 30 sliding is padded to 20 + 40
        ((62,), 1.5, (62, 1)),  # one layer type: one group
        ((10, 52), 0, (62, 1)),  # no hybrid allocator (V0): every layer in one group
    ],
)
def test_vllm_hybrid_allocator_groups(counts, ratio, groups):
    assert vllm.kv_cache_groups(counts, ratio) == groups


def test_vllm_hybrid_tokens_of_a_gemma_3_27b_log():
    """The ROCm 0.11 log's 109.86 GiB pool: 117,961,276,784 bytes // (16 tokens x 8,192 bytes per layer
    x 10 layers) = 89,997 blocks (the log's 89,994 is the unrounded pool's); // 7 groups x 16 = 205,696
    tokens, as printed."""
    assert vllm.hybrid_tokens(117_961_276_784, 16 * 128 * 2 * 2, 10, 7, 16) == 205_696


@pytest.mark.parametrize(
    "model, version, layers, layer_bytes",
    [
        ("gemma-3-27b-it", None, (10, 7), 16 * 128 * 2 * 2),  # 70 layer pages per printed token
        ("gemma-3-27b-it", "0.20", (10, 7), 16 * 128 * 2 * 2),
        ("gemma-3-27b-it", "v0", (62, 1), 16 * 128 * 2 * 2),  # V0: every layer, no grouping
        ("gpt-oss-20b", None, (12, 2), 8 * 64 * 2 * 2),  # 12 + 12: the same as counting every layer
    ],
)
def test_vllm_pool_tokens_follow_the_hybrid_allocator(model, version, layers, layer_bytes):
    """tokens = pool // (16 x layer bytes x layers per group) // groups x 16 on one H100."""
    q = {"model": model, "engine": "vllm", "quant": "native", "gpu": "h100-sxm", "gpus": 1, "context": 4096}
    got = handle({**q, "recommend": False, "curve": False, **({"engine_version": version} if version else {})})
    size, groups = layers
    blocks = got["kv_pool_bytes"] // (16 * layer_bytes * size)
    assert got["kv_capacity_tokens"] == blocks // groups * 16


@pytest.mark.parametrize("engine_id", sorted(KINDS))
def test_every_engine_names_a_placement(engine_id):
    """calc/offload.py places the model by Engine.placement alone: an engine module without one (the
    base class gives no default), or with one offload.py does not know, fails here."""
    from calc.offload import PLACEMENTS

    assert not hasattr(Engine, "placement")
    assert KINDS[engine_id].placement in PLACEMENTS


def test_the_placements_of_the_engines():
    assert {i: k.placement for i, k in KINDS.items()} == {"llama.cpp": "layers", "vllm": "pool", "transformers": "device_map"}
