"""Multi-token-prediction (NextN) blocks (issues 14 and 15): in a GGUF's size and llama.cpp's layer
split, never in memory or the KV cache, hand-computed.

convert_hf_to_gguf.py Glm4MoeModel writes GLM-4.5's MTP layer as blk.<num_hidden_layers> and counts it
in block_count; llama.cpp's llama-model.cpp skips its tensors at load (TENSOR_SKIP: "model has unused
tensor ... -- ignoring"), gives it no KV cache (n_layer_kv_from_start = n_layer - nextn_predict_layers)
and splits -ngl / -ts over block_count + 1 slots.  DeepseekV2Model drops DeepSeek-V3's layer 61.

The tiny GLM-4.5-like model below, stored as GGUF F16 (F32 for vectors and the router), has per layer:
    attn_q, attn_output  256 x 256 x 2 B = 131,072 each     attn_k, attn_v  128 x 256 x 2 = 65,536 each
    two norms            256 x 4 = 1,024 each               ffn_gate_inp    4 x 256 x 4 = 4,096
    exp_probs_b          4 x 4 = 16                         ffn_{gate,up,down}_exps  4 x 128 x 256 x 2 = 262,144 each
so L = 1,185,808 bytes a layer, of which the routed experts E = 786,432.  Its MTP block (blk.4) is one
more such layer plus nextn.eh_proj 256 x 512 x 2 = 262,144, nextn.embed_tokens and
nextn.shared_head_head 1,024 x 256 x 2 = 524,288 each, and three norms of 1,024: MTP = 2,499,600.
token_embd 524,288 (on the host); the output layer output.weight 524,288 + output_norm 1,024 = 525,312.
KV per layer at 1,024 tokens, F16: 1,024 cells x (K 2 x 64 + V 2 x 64) x 2 B = 524,288.
"""

from __future__ import annotations

import re

import pytest

from calc import offload
from calc.api import handle
from calc.estimate import setup
from calc.families import family
from calc.formats import grouped_bytes, weight_bytes
from calc.gguf_model import gguf_model
from calc.machine import machine
from calc.model import catalog_model
from calc.request import parse_request
from calc.tensors import gguf_mtp_tensors
from tests import gguf_files

TINY_GLM = {
    "model_type": "glm4_moe",
    "hidden_size": 256,
    "num_hidden_layers": 4,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "head_dim": 64,
    "vocab_size": 1024,
    "intermediate_size": 512,
    "moe_intermediate_size": 128,
    "n_routed_experts": 4,
    "num_experts_per_tok": 2,
    "n_shared_experts": 0,
    "first_k_dense_replace": 0,
    "attention_bias": False,
    "tie_word_embeddings": False,
    "num_nextn_predict_layers": 1,
}
L, E, MTP = 1_185_808, 786_432, 2_499_600
EMBED, OUT, KV = 524_288, 525_312, 524_288


def _run(devices="24GiB", **knobs):
    req = parse_request({"config": TINY_GLM, "quant": "f16", "context": 1024, "devices": devices, "ram": "64GiB", **knobs})
    s = setup(req)
    tensors = offload.llama_tensors(s.model, s.plan.weights, "f16", None)
    parts, lay = offload.evaluate(s.plan, tensors, machine(req.devices, req.ram), offload.settings_of(req), 1024, 1)
    return s, parts, lay


def test_the_families_table_says_which_converter_keeps_the_block():
    assert family("glm4_moe").gguf_keeps_mtp  # Glm4MoeModel: block_count = num_hidden_layers + nextn
    assert not family("deepseek_v3").gguf_keeps_mtp  # DeepseekV2Model skip_mtp
    assert [catalog_model(m).arch.gguf_mtp_blocks for m in ("glm-4.5", "glm-4.5-air", "deepseek-v3")] == [1, 1, 0]
    assert catalog_model("deepseek-v3").arch.mtp_layers == 1  # in the checkpoint, not in its GGUF


def test_glm45_mtp_block_matches_the_published_file():
    """GLM-4.5's blk.92, by hand: attention 5120 -> 96 x 128 (q, o), 8 x 128 (k, v), q/k/v biases, q/k
    norms of 128, two norms; router 160 x 5120 + 160; experts 3 x 160 x 1536 x 5120; shared expert
    3 x 1536 x 5120; nextn.eh_proj 10240 x 5120, embed_tokens and shared_head_head 2 x 151552 x 5120,
    three norms of 5120.  ubergarm's GLM-4.5 GGUF (ik_llama.cpp issue #809) prints "model params =
    358.338 B" and "repeating layers = ... 356.786 B parameters": the catalog's 352,797,829,024 plus
    the block; and its F32 tensors among the 25 "unused" ones sum to 3,438,208 bytes."""
    a = catalog_model("glm-4.5").arch
    block = gguf_mtp_tensors(a)
    attention = 2 * 5120 * 12288 + 2 * 5120 * 1024 + (12288 + 2048) + 2 * 128 + 2 * 5120
    moe = 160 * 5120 + 160 + 3 * 160 * 1536 * 5120 + 3 * 1536 * 5120
    nextn = 10240 * 5120 + 2 * 151552 * 5120 + 3 * 5120
    assert sum(t.elements for t in block) == attention + moe + nextn == 5_539_962_272
    total = catalog_model("glm-4.5").params.total + 5_539_962_272
    assert round(total / 1e9, 3) == 358.338
    assert round((total - 2 * 151552 * 5120 - 5120) / 1e9, 3) == 356.786  # less token_embd, output, output_norm
    f32 = [t for t in block if t.rows == 1 or t.kind == "other"]
    logged = 20480 + 49152 + 4096 + 4096 + 512 + 512 + 20480 + 3276800 + 640 + 20480 + 20480 + 20480
    assert sum(4 * t.elements for t in f32) == logged == 3_438_208


@pytest.mark.parametrize(
    ("quant", "unloaded"),
    [
        ("f16", MTP),  # the GGUF holds the block
        ("native", 0),  # the checkpoint's safetensors as vLLM and transformers load them: no tensor made for it
        ("awq", 0),
    ],
)
def test_the_file_holds_the_block_and_memory_does_not(quant, unloaded):
    s = setup(parse_request({"config": TINY_GLM, "quant": "f16", "context": 1024}))
    w = weight_bytes(s.model.arch, s.model.tensors, quant, None)
    assert w.unloaded == unloaded
    assert w.total == sum(w.per_layer) + w.embed + w.head + w.final_norm + unloaded
    if quant == "f16":
        assert w.per_layer == (L,) * 4 and w.expert_per_layer == (E,) * 4
        assert w.loaded == 4 * L + EMBED + OUT
        fmt = next(f for f in handle({"config": TINY_GLM, "quant": "f16", "context": 1024})["format_sizes"] if f["id"] == "f16")
        assert fmt["weights_bytes"] == 4 * L + EMBED + OUT + MTP  # the file's size in the format list


# llama.cpp's split over block_count + 1 = 6 slots: layers 0-3, the MTP block 4 (no tensors, no KV), output 5.
#   i_gpu_start = max(6 - ngl, 0) (before PR #18148: max(5 - ngl, 0)); act = min(ngl, 6); slot il on GPU
#   when 0 <= il - i_gpu_start < act
OLD = {"engine_version": "2025-11"}
CASES = [
    ("default -ngl 6: every slot", {}, "24GiB", [4 * L + OUT, EMBED], [4 * KV, 0]),
    ("-ngl 6 = block_count + 1", {"n_gpu_layers": 6}, "24GiB", [4 * L + OUT, EMBED], [4 * KV, 0]),
    ("-ngl 5: the output, the MTP slot, layers 1-3", {"n_gpu_layers": 5}, "24GiB", [3 * L + OUT, EMBED + L], [3 * KV, KV]),
    ("-ngl 2: the output and the MTP slot", {"n_gpu_layers": 2}, "24GiB", [OUT, EMBED + 4 * L], [0, 4 * KV]),
    ("before #18148, -ngl 5: 4 layers + the MTP slot", {"n_gpu_layers": 5, **OLD}, "24GiB", [4 * L, EMBED + OUT], [4 * KV, 0]),
    ("before #18148, -ngl 2: slots 3 and 4", {"n_gpu_layers": 2, **OLD}, "24GiB", [L, EMBED + 3 * L + OUT], [KV, 3 * KV]),
    ("before #18148, -ngl 1: the MTP slot only", {"n_gpu_layers": 1, **OLD}, "24GiB", [0, EMBED + 4 * L + OUT], [0, 4 * KV]),
    # -ts 3,2: split point 0.6; slot il to GPU 0 while il / 6 < 0.6, so slots 0-3 (four layers), and GPU 1
    # gets the MTP slot and the output (over the 5 slots without the MTP block it would be layers 0-2)
    ("-ts 3,2", {"tensor_split": "3,2"}, "24GiB,24GiB", [4 * L, OUT, EMBED], [4 * KV, 0, 0]),
    # -ts 1,1: slots 0-2 on GPU 0, layer 3 + MTP + output on GPU 1
    ("-ts 1,1", {"tensor_split": "1,1"}, "24GiB,24GiB", [3 * L, L + OUT, EMBED], [3 * KV, KV, 0]),
]


@pytest.mark.parametrize(("name", "knobs", "devices", "weights", "kv"), CASES, ids=[c[0] for c in CASES])
def test_the_split_counts_the_block_and_loads_nothing_of_it(name, knobs, devices, weights, kv):
    _s, parts, lay = _run(devices, fit=False, **knobs)
    assert [p.weights for p in parts] == weights
    assert [p.kv for p in parts] == kv
    assert len(lay.layer_dev) == 6  # 5 GGUF blocks + the output layer


def test_placement_and_command_count_the_block():
    r = handle({"config": TINY_GLM, "quant": "f16", "context": 1024, "devices": "24GiB", "ram": "64GiB", "fit": False})
    assert r["offload"]["placement"]["n_gpu_layers"] == 6
    assert r["offload"]["placement"]["layers"] == {"CUDA0": [[0, 3]]}  # the decoder layers; the MTP slot is no layer
    assert r["offload"]["placement"]["output_device"] == "CUDA0"
    assert re.search(r" -ngl 6 ", r["offload"]["command"]["llama_server"])
    warned = handle({"config": TINY_GLM, "quant": "f16", "context": 1024, "devices": "24GiB", "n_gpu_layers": 7})
    assert any(w["code"] == "offload_too_many_layers" and w["params"]["layers"] == 6 for w in warned["warnings"])


@pytest.mark.parametrize(
    ("name", "field"),
    [
        ("model.layers.3.mlp.experts.0.up_proj.weight", "layer"),  # a decoder layer
        ("model.layers.4.mlp.experts.0.up_proj.weight", "unloaded"),  # past num_hidden_layers: the MTP block
        ("model.layers.4.eh_proj.weight", "unloaded"),
        ("model.norm.weight", "final_norm"),
        ("model.embed_tokens.weight", "embed"),
        ("lm_head.weight", "head"),
    ],
)
def test_a_read_checkpoint_sets_the_block_apart(name, field):
    layer = re.compile(r"(?:^|\.)layers\.(\d+)\.")
    w = grouped_bytes([(name, 100)], 4, layer, re.compile(r"\.experts\."), re.compile("embed"), re.compile("lm_head"))
    got = {"layer": sum(w.per_layer), "unloaded": w.unloaded, "final_norm": w.final_norm, "embed": w.embed, "head": w.head}
    assert got == {k: 100 if k == field else 0 for k in got}
    assert w.total == 100


def test_a_gguf_file_with_a_nextn_block():
    """A llama file of 3 blocks whose last is a NextN block (nextn_predict_layers 1): 2 decoder layers,
    the block's bytes in the file and not in memory, KV for 2 layers, -ngl counts 3 + 1."""
    tensors = gguf_files.llama_tensors(3, 256, 512, 1000, 4, 4, 64)
    meta = {**gguf_files.LLAMA_META, "llama.block_count": 3, "llama.nextn_predict_layers": 1}
    m = gguf_model((gguf_files.write(meta, tensors, data=False),), "tiny.gguf")
    assert (m.arch.layers, m.arch.mtp_layers, m.arch.gguf_mtp_blocks) == (2, 1, 1)
    block = sum(gguf_files.nbytes(d, k) for n, d, k in tensors if n.startswith("blk.2."))
    everything = sum(gguf_files.nbytes(d, k) for _n, d, k in tensors)
    assert m.stored.unloaded == block and m.stored.total == everything
    assert m.stored.loaded == everything - block


def test_a_glm45_air_gguf_reads_as_the_catalog_row():
    """llama.cpp's glm4moe metadata (block_count 47, nextn_predict_layers 1, leading_dense_block_count 1,
    expert_shared_count 1): 46 decoder layers, the NextN block blk.46 in the file's bytes only, and the
    parameter count without it, as the catalog's."""
    c = catalog_model("glm-4.5-air")
    m = gguf_model((gguf_files.catalog_as_gguf("glm-4.5-air", "glm4moe"),), "GLM-4.5-Air-Q4_K_M.gguf")
    assert (m.arch.layers, m.arch.gguf_mtp_blocks, m.arch.moe_layers.index(True)) == (46, 1, 1)
    assert m.arch.shared_intermediate == c.arch.shared_intermediate == 1408
    want = weight_bytes(c.arch, c.tensors, "q4_k_m", None)
    assert (m.stored.unloaded, m.stored.total, m.stored.per_layer) == (want.unloaded, want.total, want.per_layer)
    assert m.params.total == c.params.total
