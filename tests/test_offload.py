"""Your machine (issue 14): llama.cpp placement per device, hand-computed; the planner; invariants;
the four setups; bad input.

The tiny MoE model below, stored as GGUF F16 (F32 for vectors), has per repeating layer:
    attn_q, attn_output   256 x 256 x 2 B = 131,072 each       attn_k, attn_v  128 x 256 x 2 = 65,536 each
    attn_q_norm, k_norm   64 x 4 = 256 each                    ffn_gate_inp    4 x 256 x 4 = 4,096
    attn_norm, ffn_norm   256 x 4 = 1,024 each
    ffn_{gate,up,down}_exps  4 experts x 128 x 256 x 2 = 262,144 each
so D (all but the routed experts) = 399,872 and E (the routed experts) = 786,432 bytes; of these the
matrices are M = 1,179,648 and the vectors V = 6,656.  token_embd 1024 x 256 x 2 = 524,288 (always on the
host); the output layer is output.weight 524,288 + output_norm 1,024 = 525,312.
KV per layer at 1,024 tokens, F16: 1,024 cells x (K 2 x 64 + V 2 x 64) x 2 B = 524,288.
"""

from __future__ import annotations

import re

import pytest

from calc import offload
from calc.api import handle
from calc.errors import CalcError
from calc.estimate import setup
from calc.machine import machine, parse_devices, parse_size
from calc.request import parse_request

GIB = 2**30
TINY_MOE = {
    "model_type": "qwen3_moe",
    "hidden_size": 256,
    "num_hidden_layers": 4,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "head_dim": 64,
    "vocab_size": 1024,
    "intermediate_size": 512,
    "moe_intermediate_size": 128,
    "num_experts": 4,
    "num_experts_per_tok": 2,
    "tie_word_embeddings": False,
}
D, E, M, V = 399_872, 786_432, 1_179_648, 6_656
EMBED, OUT, KV = 524_288, 525_312, 524_288
L = D + E


def _run(devices="24GiB", **knobs):
    req = parse_request({"config": TINY_MOE, "quant": "f16", "context": 1024, "devices": devices, "ram": "64GiB", **knobs})
    s = setup(req)
    tensors = offload.llama_tensors(s.model, s.plan.weights, "f16", None)
    m = machine(req.devices, req.ram)
    parts, lay = offload.evaluate(s.plan, tensors, m, offload.settings_of(req), req.context, req.batch)
    return s, tensors, m, parts, lay


def test_tiny_model_bytes_are_as_hand_computed():
    _s, tensors, *_ = _run()
    assert sum(t.bytes for t in tensors if t.layer == 0) == D + E
    assert sum(t.bytes for t in tensors if t.layer == 0 and t.expert) == E
    assert sum(t.bytes for t in tensors if t.layer == 0 and t.matrix) == M
    assert next(t.bytes for t in tensors if t.name == "token_embd.weight") == EMBED
    assert sum(t.bytes for t in tensors if t.layer == 4) == OUT


# (knobs, devices, expected weights per device [GPUs..., host], expected KV per device)
CASES = [
    ("every layer (default -ngl)", {"fit": False}, "24GiB", [4 * L + OUT, EMBED], [4 * KV, 0]),
    ("-ngl 5 = n_layer + 1: output too", {"n_gpu_layers": 5}, "24GiB", [4 * L + OUT, EMBED], [4 * KV, 0]),
    ("-ngl 4: the output and the last three", {"n_gpu_layers": 4}, "24GiB", [3 * L + OUT, EMBED + L], [3 * KV, KV]),
    ("-ngl 2: the output and the last layer", {"n_gpu_layers": 2}, "24GiB", [L + OUT, EMBED + 3 * L], [KV, 3 * KV]),
    ("-ngl 1: the output only (PR #18148)", {"n_gpu_layers": 1}, "24GiB", [OUT, EMBED + 4 * L], [0, 4 * KV]),
    (
        "before PR #18148, -ngl 4: output on the host",
        {"n_gpu_layers": 4, "engine_version": "2025-11"},
        "24GiB",
        [4 * L, EMBED + OUT],
        [4 * KV, 0],
    ),
    (
        "ik_llama.cpp -ngl 2: the LAST two layers",
        {"n_gpu_layers": 2, "engine_version": "ik_llama.cpp"},
        "24GiB",
        [2 * L, EMBED + 2 * L + OUT],
        [2 * KV, 2 * KV],
    ),
    ("-ngl 0", {"n_gpu_layers": 0}, "24GiB", [0, EMBED + 4 * L + OUT], [0, 4 * KV]),
    ("--cpu-moe", {"cpu_moe": True}, "24GiB", [4 * D + OUT, EMBED + 4 * E], [4 * KV, 0]),
    ("--n-cpu-moe 3: the first three", {"n_cpu_moe": 3}, "24GiB", [4 * D + E + OUT, EMBED + 3 * E], [4 * KV, 0]),
    (
        "-ot layers 0-1 experts",
        {"override_tensor": r"blk\.(0|1)\.ffn_.*_exps=CPU"},
        "24GiB",
        [4 * D + 2 * E + OUT, EMBED + 2 * E],
        [4 * KV, 0],
    ),
    ("-ot exps=CPU", {"override_tensor": "exps=CPU"}, "24GiB", [4 * D + OUT, EMBED + 4 * E], [4 * KV, 0]),
    ("--no-kv-offload", {"no_kv_offload": True, "fit": False}, "24GiB", [4 * L + OUT, EMBED], [0, 4 * KV]),
    # two equal GPUs, split by free memory: cuts 0.5, 1; layer il at il/5 -> 0, 0, 0, 1, output 1
    ("two GPUs, default split", {"fit": False}, "24GiB,24GiB", [3 * L, L + OUT, EMBED], [3 * KV, KV, 0]),
    # -ts 1,3: cuts 0.25, 1 -> layers 0, 1 on GPU0; 2, 3 and the output on GPU1
    ("-ts 1,3", {"tensor_split": "1,3"}, "24GiB,24GiB", [2 * L, 2 * L + OUT, EMBED], [2 * KV, 2 * KV, 0]),
    # -ts 1,3 by mixed sizes: 8 and 24 GiB default to the same cuts as 1,3
    ("mixed sizes split by memory", {"fit": False}, "8GiB,24GiB", [2 * L, 2 * L + OUT, EMBED], [2 * KV, 2 * KV, 0]),
    # row split: each layer's matrices halved over the GPUs, its vectors and KV on the main GPU
    ("--split-mode row", {"split_mode": "row"}, "24GiB,24GiB", [4 * (M // 2 + V) + OUT, 4 * (M // 2), EMBED], [4 * KV, 0, 0]),
    ("--split-mode none", {"split_mode": "none"}, "24GiB,24GiB", [4 * L + OUT, 0, EMBED], [4 * KV, 0, 0]),
]


@pytest.mark.parametrize(("name", "knobs", "devices", "weights", "kv"), CASES, ids=[c[0] for c in CASES])
def test_placement_per_device(name, knobs, devices, weights, kv):
    _s, _t, _m, parts, _lay = _run(devices, **knobs)
    assert [p.weights for p in parts] == weights
    assert [p.kv for p in parts] == kv


def test_compute_buffers_follow_the_engine_and_the_output():
    s, _t, _m, parts, _lay = _run("24GiB,24GiB", fit=False)
    eng, plan = s.engine, s.plan
    assert parts[0].compute == eng.activations(plan, 1024, 1, 1, False)
    assert parts[1].compute == eng.activations(plan, 1024, 1, 1, True)  # the logits with the output layer
    assert parts[2].compute == (256 + 1024) * 512 * 4  # the host's input embeddings and KQ mask, F32
    assert [p.overhead for p in parts] == [eng.runtime_bytes(), eng.runtime_bytes(), 0]


def test_host_weights_are_copied_into_the_main_gpu_compute_buffer():
    """-ot exps=CPU with n_ubatch 512 >= 32: the largest host tensor (one expert tensor, 262,144 B)
    is copied to CUDA0 for the offloaded product, alive in the FFN phase:
        mask + max(logits, ffn + copy, attention)   (calc/engines/llamacpp.py compute_bytes)
    with u = 512, 1,024 cells, flash attention: mask 1,024 x 512 x 2 = 1,048,576; logits (1,024 x 512
    + 2 x 256 x 512) x 4 = 3,145,728; ffn 512 x (4 x 256 + 3 x 2 x 128) x 4 = 3,670,016."""
    s, _t, _m, parts, _lay = _run(override_tensor="exps=CPU")
    assert parts[0].compute == 1_048_576 + max(3_145_728, 3_670_016 + 262_144)
    assert s.engine.activations(s.plan, 1024, 1, 1, True) == 1_048_576 + 3_670_016
    _s, _t, _m, small, _lay = _run(override_tensor="exps=CPU", ubatch=16)
    assert small[0].compute == s.engine.activations(
        setup(parse_request({"config": TINY_MOE, "quant": "f16", "context": 1024, "ubatch": 16})).plan, 1024, 1, 1, True
    )


def _compute_q8(devices, **knobs):
    req = parse_request(
        {"config": TINY_MOE, "quant": "f16", "kv_cache": "q8_0", "context": 16384, "devices": devices, "ram": "64GiB", **knobs}
    )
    s = setup(req)
    tensors = offload.llama_tensors(s.model, s.plan.weights, "f16", None)
    parts, _lay = offload.evaluate(s.plan, tensors, machine(req.devices, req.ram), offload.settings_of(req), 16384, 1)
    return [p.compute for p in parts]


def test_quantized_kv_adds_f16_copies_where_cuda_runs_the_attention():
    """Q8_0 cache at 16,384 cells, ubatch 512, flash attention: mask 16,384 x 512 x 2 = 16 MiB; attention
    512 x (256 + 2 x 4 x 64) x 4 = 1.5 MiB plus one layer's K and V copied to F16, 16,384 x (128 + 128) x 2
    = 8 MiB, over the FFN's 3.5 MiB and the logits' 3 MiB.  Only a CUDA GPU holding the KV copies it:
    not with the KV in RAM (-nkvo), not on the host, not on Metal."""
    mask, attn, scratch = 16 * 2**20, 1_572_864, 8 * 2**20
    assert _compute_q8("24GiB", fit=False)[0] == mask + attn + scratch
    assert _compute_q8("24GiB", fit=False, no_kv_offload=True)[0] == mask + 3_670_016
    host = _compute_q8("24GiB", n_gpu_layers=0, fit=False)[-1]
    assert host == (256 + 16384) * 512 * 4 + mask + 3_670_016  # inputs and F32 mask, then the layers' work
    assert _compute_q8("apple-m3-max-128gb", fit=False)[0] == mask + 3_670_016


def test_swa_full_reaches_the_llama_server_command():
    o = _setup("gemma-3-12b-it", "q4_k_m", "rtx-4090", None, swa_full=True)
    assert "--swa-full" in o["command"]["llama_server"]
    assert "--swa-full" not in _setup("gemma-3-12b-it", "q4_k_m", "rtx-4090", None)["command"]["llama_server"]


def test_placement_answer_names_layers_and_experts():
    r = handle({"config": TINY_MOE, "quant": "f16", "context": 1024, "devices": "24GiB", "ram": "64GiB", "n_cpu_moe": 3})
    p = r["offload"]["placement"]
    assert p["layers"] == {"CUDA0": [[0, 3]]} and p["output_device"] == "CUDA0" and p["embeddings_device"] == "CPU"
    assert p["expert_layers_on_cpu"] == [[0, 2]]
    assert [(h["flag"], h["tensors"], h["bytes"]) for h in p["overrides"]] == [("n_cpu_moe", 3, E)] * 3
    dev = r["offload"]["per_device"]
    assert [d["device"] for d in dev] == ["CUDA0", "CPU"] and dev[1]["capacity_bytes"] == 64 * GIB


# ---------------------------------------------------------------------------------------------
# Invariants


@pytest.mark.parametrize("model", ["gpt-oss-20b", "llama-3.1-8b", "qwen3-30b-a3b"])
def test_more_layers_on_gpu_never_means_less_gpu_memory(model):
    req = parse_request({"model": model, "devices": "24GiB", "ram": "64GiB"})
    s = setup(req)
    tensors = offload.llama_tensors(s.model, s.plan.weights, req.quant, None)
    m = machine(req.devices, req.ram)
    n = s.model.arch.layers
    totals = []
    for ngl in range(n + 2):
        st = offload.DEFAULT_SETTINGS._replace(n_gpu_layers=ngl)
        totals.append(offload.evaluate(s.plan, tensors, m, st, 8192, 1)[0][0].total)
    assert totals == sorted(totals)
    if s.model.arch.experts:
        on_gpu = [
            offload.evaluate(s.plan, tensors, m, offload.DEFAULT_SETTINGS._replace(n_cpu_moe=k), 8192, 1)[0][0].total
            for k in range(n + 1)
        ]
        assert on_gpu == sorted(on_gpu, reverse=True)


PLANS = [
    ("gpt-oss-120b", "mxfp4", "rtx-5060-ti-16gb", "64GiB"),
    ("qwen3-235b-a22b", "q3_k_m", "rtx-4090", "128GiB"),
    ("qwen3-235b-a22b", "q3_k_m", "rtx-4090,rtx-3090", "128GiB"),
    ("deepseek-r1", "iq1_s", "rtx-4090", "128GiB"),
    ("llama-3.3-70b-instruct", "q4_k_m", "rtx-4090,rtx-3060-12gb", "64GiB"),
    ("llama-3.1-8b", "q4_k_m", "rtx-3060-12gb", "32GiB"),
    ("gpt-oss-20b", "mxfp4", "8GiB", "32GiB"),
]


@pytest.mark.parametrize(("model", "quant", "devices", "ram"), PLANS)
def test_the_plan_fits_its_devices(model, quant, devices, ram):
    r = handle({"model": model, "quant": quant, "devices": devices, "ram": ram, "context": 32768, "recommend": False})
    o = r["offload"]
    assert o["plan"]["fits"] and o["fits"]
    margin = o["plan"]["margin_bytes"]
    assert margin == 1024 * 2**20
    for d in o["per_device"]:
        room = d["capacity_bytes"] - (margin if d["kind"] == "gpu" else 0)
        assert d["total_bytes"] <= room, d


# ---------------------------------------------------------------------------------------------
# The four setups of the issue


def _setup(model, quant, devices, ram, **kw):
    r = handle({"model": model, "quant": quant, "devices": devices, "ram": ram, "context": 32768, "recommend": False, **kw})
    assert r["ok"], r
    return r["offload"]


@pytest.mark.parametrize(
    ("model", "quant", "devices", "ram", "flag"),
    [
        ("deepseek-r1", "iq1_s", "rtx-4090", "128GiB", "--n-cpu-moe"),
        ("qwen3-235b-a22b", "q3_k_m", "rtx-4090", "128GiB", "--n-cpu-moe"),
        ("qwen3-235b-a22b", "q4_k_m", "rtx-4090", "128GiB", "--n-cpu-moe"),
        ("gpt-oss-120b", "mxfp4", "rtx-5060-ti-16gb", "64GiB", "--n-cpu-moe"),
    ],
)
def test_moe_on_one_consumer_gpu_and_ram(model, quant, devices, ram, flag):
    o = _setup(model, quant, devices, ram, ram_bandwidth="ddr5-5600-2ch")
    assert o["fits"] and o["plan"]["n_cpu_moe"] > 0
    cmd = o["command"]["llama_server"]
    assert f"{flag} {o['plan']['n_cpu_moe']}" in cmd and "-c 32768" in cmd and "-fa on" in cmd
    low, high = o["speed"]["decode_range_tokens_per_s"]
    assert 0 < low < high < o["speed"]["decode_tokens_per_s"]
    assert o["speed"]["host_bytes_per_step"] > 0 and o["speed"]["prefill_seconds"] > 0


def test_qwen3_235b_q4_does_not_fit_a_4090_and_96gb_and_says_by_how_much():
    o = _setup("qwen3-235b-a22b", "q4_k_m", "rtx-4090", "96GiB")
    plan = o["plan"]
    assert not plan["fits"] and plan["short_device"] == "CPU" and plan["short_bytes"] > 0
    ram = o["per_device"][-1]
    assert plan["short_bytes"] == ram["total_bytes"] - ram["capacity_bytes"]


def test_decode_speed_is_bytes_over_bandwidth_on_each_side():
    """The tiny model with -ot exps=CPU on an RTX 4090 (1008 GB/s) and DDR4-3200 (51.2 GB/s), batch 1:
    top-2 of 4 experts are read, so the host reads E / 2 per layer; the GPU reads D per layer, the
    output layer and its KV (the embeddings' one row is left out)."""
    req = {"config": TINY_MOE, "quant": "f16", "context": 1024, "devices": "rtx-4090", "ram": "8GiB"}
    r = handle({**req, "ram_bandwidth": "ddr4-3200-2ch", "override_tensor": "exps=CPU"})
    s = r["offload"]["speed"]
    assert s["gpu_bytes_per_step"] == 4 * D + OUT + 4 * KV
    assert s["host_bytes_per_step"] == 4 * E // 2
    step = (4 * D + OUT + 4 * KV) / 1.008e12 + (4 * E // 2) / 5.12e10
    assert s["decode_tokens_per_s"] == round(1 / step, 2)


# ---------------------------------------------------------------------------------------------
# Hardware input


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("4090,3090", ["rtx-4090", "rtx-3090"]),
        ("2xh100", ["h100-sxm", "h100-sxm"]),
        ("2x24GiB", [None, None]),
        ("v100,a40,rtx-2080-ti", ["v100-32gb", "a40", "rtx-2080-ti"]),
    ],
)
def test_device_lists(text, ids):
    assert [g.id if g else None for g, _ in parse_devices(text)] == ids


def test_sizes_are_binary():
    assert parse_size("24GiB", "ram") == parse_size("24GB", "ram") == parse_size("24 G", "ram") == 24 * GIB
    assert parse_size(2**36, "ram") == 64 * GIB
    assert parse_size("64", "ram") == parse_size(" 64 ", "ram") == 64 * GIB  # text without a unit: GiB
    assert parse_size("1.5", "ram") == 3 * GIB // 2


def test_unified_memory_is_one_pool():
    m = machine("apple-m4-max-128gb")
    assert m.unified and m.gpus[0].capacity_bytes == int(128 * GIB * 0.75)
    assert machine("apple-m4-max-128gb", gpu_share=0.9).gpus[0].capacity_bytes == int(128 * GIB * 0.9)
    o = handle({"model": "llama-3.1-8b", "devices": "m3-max-128gb", "recommend": False})["offload"]
    gpu, host = o["per_device"]
    assert host["capacity_bytes"] == 128 * GIB - gpu["total_bytes"]
    assert machine("strix-halo").gpus[0].capacity_bytes == 96 * GIB and machine("dgx-spark").unified


def test_ram_presets_are_channels_times_rate():
    from calc.machine import ram_presets

    bw = {k: v["bandwidth_bytes_per_s"] for k, v in ram_presets().items()}
    assert bw == {
        "ddr4-3200-2ch": 2 * 3200e6 * 8,
        "ddr5-5600-2ch": 2 * 5600e6 * 8,
        "ddr5-4800-8ch": 8 * 4800e6 * 8,
        "ddr5-4800-12ch": 12 * 4800e6 * 8,
    }


def test_old_requests_have_no_machine_answer():
    assert handle({"model": "llama-3.1-8b", "gpu": "rtx-4090", "recommend": False})["offload"] is None


def test_new_gpus_are_not_recommended():
    recs = handle({"model": "llama-3.1-8b", "recommend_limit": 0})["recommendations"]
    assert not {r["gpu"] for r in recs} & {"v100-32gb", "a40", "rtx-2080-ti", "dgx-spark", "strix-halo-128gb"}


# ---------------------------------------------------------------------------------------------
# vLLM and transformers


def test_vllm_plan_and_command():
    o = _setup("llama-3.1-8b", "bf16", "2xrtx-4090", None, engine="vllm")
    plan, cmd = o["plan"], o["command"]["vllm_serve"]
    assert plan["fits"] and plan["context"] == 131072  # the pool holds the whole window at 0.9
    assert "--tensor-parallel-size 2" in cmd and "--max-model-len 131072" in cmd and "--gpu-memory-utilization 0.9" in cmd


def test_vllm_cpu_offload_moves_weights_to_ram():
    base = _setup("llama-3.1-8b", "bf16", "rtx-4090", "64GiB", engine="vllm")
    off = _setup("llama-3.1-8b", "bf16", "rtx-4090", "64GiB", engine="vllm", cpu_offload_gb=4)
    assert base["per_device"][0]["weights_bytes"] - off["per_device"][0]["weights_bytes"] == 4 * GIB
    assert off["per_device"][1]["weights_bytes"] == 4 * GIB and "--cpu-offload-gb 4" in off["command"]["vllm_serve"]


def test_transformers_snippet():
    o = _setup("llama-3.1-8b", "bf16", "rtx-4090", "64GiB", engine="transformers")
    assert 'device_map="auto"' in o["command"]["transformers"] and '"cpu": "64GiB"' in o["command"]["transformers"]


# ---------------------------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize(
    ("knobs", "field"),
    [
        ({"devices": "24GiB", "tensor_split": "1,1"}, "tensor_split"),
        ({"devices": "24GiB", "override_tensor": "exps(=CPU"}, "override_tensor"),
        ({"devices": "24GiB", "override_tensor": "exps=CUDA3"}, "override_tensor"),
        ({"devices": "24GiB", "override_tensor": "no-device-here"}, "override_tensor"),
        ({"devices": "rtx-9999"}, "devices"),
        ({"devices": "h100"}, None),  # an alias: fine
        ({"ram": "64GiB", "gpu": None}, "ram"),
        ({"devices": "24GiB", "ram": "lots"}, "ram"),
        ({"devices": "24GiB", "ram": "64GiB", "ram_bandwidth": "ddr9"}, "ram_bandwidth"),
        ({"devices": "24GiB", "ram": "64GiB", "ram_bandwidth": 10**400}, "ram_bandwidth"),  # float() overflows
        ({"devices": "24GiB", "split_mode": "diagonal"}, "split_mode"),
    ],
)
def test_bad_settings_are_named(knobs, field):
    r = handle({"config": TINY_MOE, "quant": "f16", "context": 1024, "recommend": False, **knobs})
    if field is None:
        assert r["ok"]
    else:
        assert not r["ok"] and r["error"]["field"] == field, r


@pytest.mark.parametrize(
    ("knobs", "code"),
    [
        ({"n_gpu_layers": 50}, "offload_too_many_layers"),
        ({"override_tensor": "attn_nothing=CPU"}, "override_matches_nothing"),
        ({"n_gpu_layers": 2, "fit": True}, "fit_user_set"),
        ({"ram": "1MiB", "n_gpu_layers": 0}, "ram_exceeded"),
    ],
)
def test_settings_that_do_little_are_warned(knobs, code):
    r = handle({"config": TINY_MOE, "quant": "f16", "context": 1024, "recommend": False, "devices": "24GiB", **knobs})
    assert code in [w["code"] for w in r["warnings"]]


def test_a_machine_error_is_a_calc_error():
    with pytest.raises(CalcError):
        machine("apple-m4-max-128gb,rtx-4090")


# ---------------------------------------------------------------------------------------------
# Command line


def test_cli_machine_flags(capsys):
    from calc import cli

    args = ["estimate", "--model", "qwen3-30b-a3b", "--gpu", "4090,3090", "--ram", "64GiB", "-ngl", "49"]
    assert cli.main([*args, "-ts", "1,1", "-ot", r"blk\.(0|1)\.ffn_.*_exps=CPU", "--no-recommend"]) == 0
    out = capsys.readouterr().out
    assert "your machine:" in out and "CUDA1 NVIDIA GeForce RTX 3090" in out
    assert "llama-server -m Qwen3-30B-A3B-Q4_K_M.gguf -c 32768 -np 1 -ngl 49 -ot 'blk\\.(0|1)\\.ffn_.*_exps=CPU' -ts 1,1" in out


def test_cli_machine_speed_is_rounded_as_the_page_shows_it(capsys):
    """gpt-oss-120b on a 16 GB 5060 Ti + 64 GiB: the machine's speed reads as the page's machine
    section does (whole tokens/s from 10 up, whole seconds from 100 s, the ceiling to 0.1), not
    12.73-20.86 and 146.396-155.906."""
    from calc import cli

    args = ["estimate", "--model", "gpt-oss-120b", "--quant", "mxfp4", "--gpu", "5060-ti-16gb", "--ram", "64GiB"]
    assert cli.main([*args, "--no-recommend"]) == 0
    out = capsys.readouterr().out
    shape = r"decode \(estimate\): \d\d-\d\d tokens/s \(ceiling \d+\.\d\)\nprefill \(estimate\): \d{3}-\d{3} s\n"
    assert re.search(shape, out), out


def test_cli_one_catalog_gpu_by_short_name_keeps_the_usual_fit(capsys):
    from calc import cli

    assert cli.main(["estimate", "--model", "llama-3.1-8b", "--gpu", "4090", "--no-recommend", "--json"]) == 0
    import json

    r = json.loads(capsys.readouterr().out)
    assert r["fit"]["gpu"] == "rtx-4090" and r["offload"]["per_device"][0]["id"] == "rtx-4090"


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["--gpu", "4090", "-ts", "1,1"], "tensor_split has 2 values but devices lists 1 GPUs"),
        (["--ram", "64GiB"], "need --gpu"),
        (["--gpu", "rtx-9999,4090"], "unknown GPU"),
    ],
)
def test_cli_machine_errors_name_the_setting(capsys, args, text):
    from calc import cli

    assert cli.main(["estimate", "--model", "llama-3.1-8b", *args]) == 2
    assert text in capsys.readouterr().err


@pytest.mark.parametrize(
    "model",
    [
        "gpt-oss-20b",
        "qwen3-30b-a3b",
        "deepseek-v2-lite",
        "jamba-v0.1",
        "gemma-3-12b-it",
        "qwen3-next-80b-a3b-instruct",
        "phi-3-mini-4k-instruct",
    ],
)
@pytest.mark.parametrize("devices", ["8GiB", "12GiB,8GiB", "apple-m4-16gb"])
def test_the_plan_fits_or_says_what_is_short(model, devices):
    r = handle({"model": model, "devices": devices, "ram": "32GiB", "context": 16384, "recommend": False, "curve": False})
    assert r["ok"], r
    o = r["offload"]
    plan, rows = o["plan"], o["per_device"]
    margins = [plan["margin_bytes"] if d["kind"] == "gpu" else 0 for d in rows]
    over = [d["device"] for d, m in zip(rows, margins, strict=True) if d["total_bytes"] + m > d["capacity_bytes"]]
    if plan["fits"]:
        assert over == [] and o["fits"]
    else:
        assert plan["short_device"] in over and plan["short_bytes"] > 0


def test_mapped_span_runs_from_the_first_to_the_last_host_tensor():
    """llama.cpp maps one range per file for the host tensors (llama_model_loader::get_mapping_range):
    GPU tensors between two host tensors are inside it, those after the last one are not."""
    from calc.offload import HOST, LTensor, mapped_span

    ts = (
        LTensor("token_embd.weight", -1, 100, True, False),
        LTensor("blk.0.attn_q.weight", 0, 10, True, False),
        LTensor("blk.0.ffn_up_exps.weight", 0, 50, True, True),
        LTensor("output.weight", 1, 30, True, False),
    )
    assert mapped_span(ts, [HOST, 0, HOST, 0]) == 100 + 10 + 50
    assert mapped_span(ts, [HOST, 0, 0, 0]) == 100
    assert mapped_span(ts, [0, 0, 0, 0]) == 0


def test_mapped_range_of_experts_on_cpu_is_the_file_less_the_output():
    """Qwen3-30B-A3B with every expert on CPU: the range spans the file from token_embd to the last
    expert tensor; past it lie blk.47's two norms, output_norm (2,048 F32 each) and output.weight
    (Q6_K: 151,936 x 2,048 / 256 blocks of 210 bytes), all on the GPU."""
    a = handle(
        {"model": "qwen3-30b-a3b", "quant": "q4_k_m", "devices": "rtx-4090", "n_gpu_layers": 99, "cpu_moe": True}
        | {"recommend": False, "curve": False}
    )
    rows = a["offload"]["per_device"]
    total = sum(d["weights_bytes"] for d in rows)
    assert rows[0]["mapped_bytes"] is None
    assert total - rows[-1]["mapped_bytes"] == 3 * 2048 * 4 + 151936 * 2048 // 256 * 210


ERROR_CASES = [  # (machine fields, field named, English words, Chinese words)
    ({"devices": "rtx-9999"}, "devices", "unknown GPU 'rtx-9999' in devices", "GPU 列表中有未知的 GPU 'rtx-9999'"),
    ({"devices": "4090", "ram": "lots"}, "ram", "ram must be a size like 24GiB", "系统内存须为容量"),
    ({"devices": "4090", "ram_bandwidth": "fast"}, "ram_bandwidth", "ram_bandwidth must be GB/s", "内存带宽须为 GB/s"),
    ({"devices": "4090", "tensor_split": "1,2"}, "tensor_split", "tensor_split has 2 values", "张量分配（-ts）有 2 个值"),
    ({"gpu": "rtx-4090", "gpus": 20, "ram": "64GiB"}, "gpus", "gpus x gpu: at most 16 GPUs", "一台机器最多 16 张"),
    ({"devices": "4090", "n_gpu_layers": "x"}, "n_gpu_layers", "n_gpu_layers must be a whole number", "GPU 层数（-ngl）须为整数"),
    ({"devices": "4090", "override_tensor": "exps=GPU7"}, "override_tensor", "unknown device 'GPU7'", "未知的设备 'GPU7'"),
    ({"devices": "m4-max-128gb,rtx-4090"}, "devices", "is one device; give it alone", "是单一设备，请单独给出"),
]


@pytest.mark.parametrize(("fields", "field", "en", "zh"), ERROR_CASES)
def test_machine_errors_in_the_request_language(fields, field, en, zh):
    """The page's Chinese view gets machine errors in Chinese (calc/data/messages [error]); the English
    message, which the command line prints, is unchanged."""
    base = {"op": "view", "model": "qwen3-30b-a3b", "quant": "q4_k_m", "engine": "llama.cpp", **fields}
    got = {lang: handle({**base, "lang": lang})["error"] for lang in ("en", "zh")}
    assert got["en"]["field"] == got["zh"]["field"] == field
    assert en in got["en"]["message"]
    assert zh in got["zh"]["message"] and not re.search(r"must|unknown|needs", got["zh"]["message"]), got["zh"]


def test_every_error_text_the_core_raises_is_in_both_catalogs():
    """Each fail(code, field, "<id>", ...) of calc/ names an [error] text both languages have."""
    from pathlib import Path

    from calc.i18n import texts

    used = set()
    for path in Path(offload.__file__).parent.rglob("*.py"):
        used |= set(re.findall(r'\bfail\(\s*f?"[^"]*",\s*[^,]+,\s*"(\w+)"', path.read_text("utf-8")))
    assert len(used) >= 25
    for lang in ("en", "zh"):
        assert used <= set(texts(lang)["error"]), (lang, used - set(texts(lang)["error"]))


def test_cli_headline_answers_for_the_machine(capsys):
    """With a machine the lines above its section are its verdict and speed (as the page's headline),
    not the GPU-only 'does NOT fit' and the whole model's speed on a GPU that cannot hold it."""
    from calc import cli

    args = ["estimate", "--model", "gpt-oss-120b", "--quant", "mxfp4", "--gpu", "5060-ti-16gb", "--ram", "64GiB"]
    assert cli.main([*args, "--no-recommend", "--batch", "2"]) == 0
    head, machine_part = capsys.readouterr().out.split("\nyour machine:\n")
    assert "does NOT fit" not in head and "  fit: " not in head and "decode (estimate):" not in head
    assert re.search(r"^Fits this machine: \d+\.\d GiB on the GPUs, \d+\.\d GiB in system RAM\.$", head, re.M), head
    total = re.search(r"^decode \(estimate\): (\d+)-(\d+) tokens/s \(ceiling", machine_part, re.M)
    per_seq = re.search(r"^decode \(estimate, your machine\): ([\d.]+)-([\d.]+) tokens/s per sequence$", head, re.M)
    over = re.search(r"^decode \(estimate, your machine\): (\d+)-(\d+) tokens/s over 2 sequences$", head, re.M)
    assert total and per_seq and over and over.groups() == total.groups(), head
    assert abs(float(per_seq[1]) * 2 - int(total[1])) <= 1  # per sequence: the total over 2, rounded
    prefill = re.search(r"^prefill \(estimate\): (\d+-\d+) s$", machine_part, re.M)[1]
    assert f"time to first token (estimate, your machine): {prefill} s for 2 x 32,768 tokens" in head


def test_machine_prefill_is_for_the_prompt(capsys):
    """--prompt-tokens sets what the machine's prefill is for, as it does without a machine: the
    compute is 2 x active params x prompt tokens, so 1,000 tokens take 1,000 / 32,768 of the 32k
    prompt's compute (the weights in RAM stream once per micro-batch: ceil(T / 512) passes), and the
    CLI headline names the 1,000 tokens (present.machine_prefill_tokens)."""
    from calc import cli

    base = {"model": "gpt-oss-120b", "quant": "mxfp4", "devices": "5060-ti-16gb", "ram": "64GiB", "context": 32768}
    whole = handle(base)["offload"]["speed"]
    short = handle({**base, "prompt_tokens": 1000})["offload"]["speed"]
    assert (whole["prefill_tokens"], short["prefill_tokens"]) == (32768, 1000)
    compute = lambda s: s["prefill_seconds"] - s["prefill_transfer_seconds"]  # noqa: E731
    assert compute(short) == pytest.approx(compute(whole) * 1000 / 32768, rel=1e-2)
    assert short["prefill_transfer_seconds"] == pytest.approx(whole["prefill_transfer_seconds"] * 2 / 64, rel=1e-2)
    assert short["decode_tokens_per_s"] == whole["decode_tokens_per_s"]  # decode reads the whole context's KV either way

    args = ["estimate", "--model", "gpt-oss-120b", "--quant", "mxfp4", "--gpu", "5060-ti-16gb", "--ram", "64GiB"]
    assert cli.main([*args, "--no-recommend", "--engine", "llama.cpp", "--prompt-tokens", "1000"]) == 0
    head = capsys.readouterr().out.split("\nyour machine:\n")[0]
    assert re.search(r"^time to first token \(estimate, your machine\): [\d.]+-[\d.]+ s for 1,000 tokens$", head, re.M), head
