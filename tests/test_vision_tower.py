"""A multimodal checkpoint's vision tower, counted where the engine loads it (issue 13).

vLLM and transformers load the vision encoder with the language model; llama.cpp loads one only from a
separate mmproj file, so there the tower is not counted and the answer says so.  Gemma 3's SigLIP tower
from its config.json vision_config (https://huggingface.co/google/gemma-3-27b-it/blob/main/config.json):
hidden 1,152, MLP 4,304, 27 layers, patch 14, image 896.
"""

from __future__ import annotations

import copy

import pytest

from calc import catalog
from calc.api import handle
from calc.architecture import parse_config

SIGLIP = {
    "model_type": "siglip_vision_model",
    "hidden_size": 1152,
    "intermediate_size": 4304,
    "num_hidden_layers": 27,
    "num_attention_heads": 16,
    "patch_size": 14,
    "image_size": 896,
    "vision_use_head": False,
}
H, MLP, P = 1152, 4304, 14
# patch conv (3 x 14 x 14 x 1152 + bias) + 64 x 64 positions + 27 x (q/k/v/out with biases, fc1, fc2,
# two LayerNorms) + post_layernorm
TOWER = 3 * P * P * H + H + (896 // P) ** 2 * H + 27 * (4 * (H * H + H) + H * MLP + MLP + MLP * H + H + 4 * H) + 2 * H
PROJECTOR = H * 5376 + H  # mm_input_projection_weight to Gemma 3 27B's hidden 5,376, mm_soft_emb_norm


def _config(vision=SIGLIP) -> dict:
    """Gemma 3 27B's config (the catalog row carries its published vision_config) with this one, or
    with none (vision None: the text model alone)."""
    cfg = copy.deepcopy(catalog.models()["gemma-3-27b-it"].config)
    cfg.pop("vision_config", None)
    if vision is not None:
        cfg["vision_config"] = vision
    return cfg


def test_siglip_tower_matches_the_published_size():
    """The Gemma 3 technical report: a 417M-parameter SigLIP vision encoder for the 4B, 12B and 27B."""
    assert TOWER == 416_866_032
    assert abs(TOWER - 417e6) <= 0.01 * 417e6
    assert parse_config(_config()).vision_params == TOWER + PROJECTOR


def _answer(engine: str, vision=SIGLIP) -> dict:
    r = handle(
        {"config": _config(vision), "engine": engine, "quant": "q4_k_m" if engine == "llama.cpp" else "bf16"}
        | {"context": 4096, "curve": False, "recommend": False}
    )
    assert r["ok"], r.get("error")
    return r


@pytest.mark.parametrize("engine", ["vllm", "transformers"])
def test_engines_that_load_the_tower_count_it_at_16_bits(engine):
    with_tower, text = _answer(engine), _answer(engine, vision=None)
    assert with_tower["memory"]["weights_bytes"] - text["memory"]["weights_bytes"] == 2 * (TOWER + PROJECTOR)
    assert "text_only" not in [w["code"] for w in with_tower["warnings"]]
    assert "text_only" in [w["code"] for w in text["warnings"]]


def test_llamacpp_leaves_the_tower_to_an_mmproj_file():
    with_tower, text = _answer("llama.cpp"), _answer("llama.cpp", vision=None)
    assert with_tower["memory"]["weights_bytes"] == text["memory"]["weights_bytes"]
    assert "text_only" in [w["code"] for w in with_tower["warnings"]]


def test_a_tower_not_counted_keeps_the_warning():
    r = _answer("vllm", vision={"model_type": "clip_vision_model", "hidden_size": 1024})
    assert "text_only" in [w["code"] for w in r["warnings"]]
    assert r["memory"]["weights_bytes"] == _answer("vllm", vision=None)["memory"]["weights_bytes"]


# Llama 4 Scout's vision_config (https://huggingface.co/meta-llama/Llama-4-Scout-17B-16E-Instruct/blob/main/config.json).
LLAMA4_VISION = {
    "model_type": "llama4_vision_model",
    "hidden_size": 1408,
    "intermediate_size": 5632,
    "num_hidden_layers": 34,
    "num_attention_heads": 16,
    "patch_size": 14,
    "image_size": 336,
    "num_channels": 3,
    "projector_input_dim": 4096,
    "projector_output_dim": 4096,
    "vision_output_dim": 4096,
    "pixel_shuffle_ratio": 0.5,
}
# unfold linear 3*14*14 x 1408 + class 1408 + (24*24 + 1) positions x 1408 + pre/post LayerNorms 4*1408
# + 34 x (q/k/v/o with biases 4*(1408^2 + 1408), fc1 1408*5632 + 5632, fc2 5632*1408 + 1408, 2 LayerNorms
# 4*1408) + adapter fc1 5632 x 4096, fc2 4096 x 4096 + projector 4096 x 5120 (the text hidden)
LLAMA4_TOWER = (
    588 * 1408
    + 1408
    + 577 * 1408
    + 4 * 1408
    + 34 * (4 * (1408 * 1408 + 1408) + 2 * 1408 * 5632 + 5632 + 1408 + 4 * 1408)
    + 5632 * 4096
    + 4096 * 4096
    + 4096 * 5120
)

# Mistral Small 3.1's (https://huggingface.co/mistralai/Mistral-Small-3.1-24B-Instruct-2503/blob/main/config.json):
# a Pixtral tower and the Mistral 3 projector, the text hidden 5,120.
PIXTRAL = {
    "model_type": "pixtral",
    "hidden_size": 1024,
    "intermediate_size": 4096,
    "num_hidden_layers": 24,
    "num_attention_heads": 16,
    "head_dim": 64,
    "patch_size": 14,
    "image_size": 1540,
    "num_channels": 3,
}
MISTRAL3_TEXT = {
    "model_type": "mistral",
    "hidden_size": 5120,
    "intermediate_size": 32768,
    "num_hidden_layers": 40,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "head_dim": 128,
    "vocab_size": 131072,
    "max_position_embeddings": 131072,
}
# patch_conv 3*14*14 x 1024 + ln_pre 1024 + 24 x (4 x 1024^2 + 3 x 1024*4096 + 2 norms) + projector:
# norm 1024, merging_layer 4096 x 1024, linear_1 1024 x 5120, linear_2 5120 x 5120 (no biases)
PIXTRAL_TOWER = 588 * 1024 + 1024 + 24 * (4 * 1024 * 1024 + 3 * 1024 * 4096 + 2 * 1024)
MISTRAL3_PROJECTOR = 1024 + 4096 * 1024 + 1024 * 5120 + 5120 * 5120

# Qwen2.5-VL-7B-Instruct's (https://huggingface.co/Qwen/Qwen2.5-VL-7B-Instruct/blob/main/config.json): a flat
# config (no text_config), its vision_config without a model_type.
QWEN25_VL = {
    "architectures": ["Qwen2_5_VLForConditionalGeneration"],
    "model_type": "qwen2_5_vl",
    "hidden_size": 3584,
    "intermediate_size": 18944,
    "num_hidden_layers": 28,
    "num_attention_heads": 28,
    "num_key_value_heads": 4,
    "vocab_size": 152064,
    "max_position_embeddings": 128000,
    "rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 24]},
    "torch_dtype": "bfloat16",
    "tie_word_embeddings": False,
    "vision_config": {
        "depth": 32,
        "hidden_act": "silu",
        "hidden_size": 1280,
        "intermediate_size": 3420,
        "num_heads": 16,
        "in_chans": 3,
        "out_hidden_size": 3584,
        "patch_size": 14,
        "spatial_merge_size": 2,
        "spatial_patch_size": 14,
        "window_size": 112,
        "fullatt_block_indexes": [7, 15, 23, 31],
        "tokens_per_second": 2,
        "temporal_patch_size": 2,
    },
}
# Conv3d 3*2*14*14 x 1280 + 32 x (2 RMSNorms 2*1280, qkv 1280 x 3840 + 3840, proj 1280^2 + 1280, gate/up/down
# 3 x 1280*3420 + 2*3420 + 1280) + merger: ln_q 1280, 5120 x 5120 + 5120, 5120 x 3584 + 3584
QWEN25_VL_TOWER = 1176 * 1280 + 32 * (2 * 1280 + 1280 * 3840 + 3840 + 1280 * 1280 + 1280 + 3 * 1280 * 3420 + 2 * 3420 + 1280)
QWEN25_VL_MERGER = 1280 + 5120 * 5120 + 5120 + 5120 * 3584 + 3584


def _llama4(vision=LLAMA4_VISION) -> dict:
    cfg = copy.deepcopy(catalog.models()["llama-4-scout-17b-16e-instruct"].config)
    if vision is not None:
        cfg["vision_config"] = vision
    return cfg


def _mistral3(vision=PIXTRAL, **outer) -> dict:
    cfg = {"architectures": ["Mistral3ForConditionalGeneration"], "model_type": "mistral3", "text_config": MISTRAL3_TEXT}
    cfg |= {"spatial_merge_size": 2, "multimodal_projector_bias": False, "vision_feature_layer": -1, **outer}
    if vision is not None:
        cfg["vision_config"] = vision
    return cfg


def _qwen(vision=True) -> dict:
    cfg = copy.deepcopy(QWEN25_VL)
    if not vision:
        del cfg["vision_config"]
    return cfg


@pytest.mark.parametrize(
    "config, want",
    [
        pytest.param(_llama4(), LLAMA4_TOWER, id="llama4"),
        pytest.param(_mistral3(), PIXTRAL_TOWER + MISTRAL3_PROJECTOR, id="mistral3-pixtral"),
        # biases on the projector's two linears: 5,120 each
        pytest.param(_mistral3(multimodal_projector_bias=True), PIXTRAL_TOWER + MISTRAL3_PROJECTOR + 2 * 5120, id="bias"),
        pytest.param(_qwen(), QWEN25_VL_TOWER + QWEN25_VL_MERGER, id="qwen2.5-vl"),
    ],
)
def test_more_towers_are_counted_by_their_modules(config, want):
    assert parse_config(config).vision_params == want


def test_the_hand_counts_add_up():
    """The sums above, once by hand: Llama 4's tower 871,932,416 elements, Mistral Small 3.1's Pixtral with
    its projector 438,958,080, Qwen2.5-VL-7B's ViT with its merger 676,550,144."""
    assert LLAMA4_TOWER == 871_932_416
    assert PIXTRAL_TOWER + MISTRAL3_PROJECTOR == 438_958_080
    assert QWEN25_VL_TOWER + QWEN25_VL_MERGER == 676_550_144


@pytest.mark.parametrize(
    "with_tower, without, want",
    [
        pytest.param(_llama4(), _llama4(None), LLAMA4_TOWER, id="llama4"),
        pytest.param(_mistral3(), _mistral3(None), PIXTRAL_TOWER + MISTRAL3_PROJECTOR, id="mistral3"),
        pytest.param(_qwen(), _qwen(False), QWEN25_VL_TOWER + QWEN25_VL_MERGER, id="qwen2.5-vl"),
    ],
)
def test_vllm_loads_these_towers_and_llamacpp_leaves_them_to_an_mmproj(with_tower, without, want):
    def weights(cfg, engine):
        quant = "q4_k_m" if engine == "llama.cpp" else "bf16"
        r = handle({"config": cfg, "engine": engine, "quant": quant, "context": 4096, "curve": False, "recommend": False})
        assert r["ok"], r.get("error")
        return r["memory"]["weights_bytes"], [w["code"] for w in r["warnings"]]

    (vllm, warned), (text, _) = weights(with_tower, "vllm"), weights(without, "vllm")
    assert vllm - text == 2 * want and "text_only" not in warned
    (cpp, cpp_warned), (cpp_text, _) = weights(with_tower, "llama.cpp"), weights(without, "llama.cpp")
    assert cpp == cpp_text and "text_only" in cpp_warned


def test_a_pixtral_tower_under_another_projector_is_not_counted():
    cfg = _mistral3(model_type="idefics3")
    assert parse_config(cfg).vision_params == 0


def test_a_tower_missing_a_field_names_it():
    vision = {k: v for k, v in LLAMA4_VISION.items() if k != "projector_input_dim"}
    r = handle({"config": _llama4(vision), "engine": "vllm", "quant": "bf16"})
    assert not r["ok"] and r["error"]["field"] == "config.vision_config.projector_input_dim"


# ---------------------------------------------------------------------------------------------
# llama.cpp's mmproj file (request field mmproj, --mmproj)


def _mmproj() -> str:
    import base64

    from gguf_files import MMPROJ_META, MMPROJ_TENSORS, write

    return base64.b64encode(write(MMPROJ_META, MMPROJ_TENSORS, data=False)).decode()


def _weights(**req) -> dict:
    r = handle({"model": "gemma-3-4b-it", "context": 4096, "curve": False, "recommend": False, **req})
    assert r["ok"], r.get("error")
    return r


def test_llamacpp_counts_an_mmproj_file_on_the_first_gpu():
    from gguf_files import MMPROJ_BYTES

    plain, with_mm = _weights(), _weights(mmproj=_mmproj(), mmproj_name="mmproj-F16.gguf")
    assert with_mm["memory"]["weights_bytes"] - plain["memory"]["weights_bytes"] == MMPROJ_BYTES
    codes = [w["code"] for w in with_mm["warnings"]]
    assert "mmproj_counted" in codes and "mmproj-F16.gguf" in with_mm["warnings"][codes.index("mmproj_counted")]["text"]
    # on two GPUs the projector sits with the first stage: only GPU 0 grows
    two, two_mm = _weights(gpu="rtx-4090", gpus=2), _weights(gpu="rtx-4090", gpus=2, mmproj=_mmproj())
    grown = [b["total_bytes"] - a["total_bytes"] for a, b in zip(two["per_gpu"], two_mm["per_gpu"], strict=True)]
    assert grown == [MMPROJ_BYTES, 0]


def test_other_engines_say_the_mmproj_is_not_theirs():
    plain, with_mm = _weights(engine="vllm", quant="awq"), _weights(engine="vllm", quant="awq", mmproj=_mmproj())
    assert with_mm["memory"] == plain["memory"]
    assert "mmproj_ignored" in [w["code"] for w in with_mm["warnings"]]


@pytest.mark.parametrize(
    "mmproj, code, words",
    [
        ("not base64", "bad_value", "base64"),
        ("R0dVRgMAAAA=", "truncated_gguf", "mmproj: "),
        (None, "bad_gguf", "not a multimodal projector (general.architecture is 'llama'"),
    ],
)
def test_a_bad_mmproj_names_the_field(mmproj, code, words):
    import base64

    from gguf_files import LLAMA_META, LLAMA_TENSORS, write

    if mmproj is None:
        mmproj = base64.b64encode(write(LLAMA_META, LLAMA_TENSORS, data=False)).decode()
    r = handle({"model": "gemma-3-4b-it", "mmproj": mmproj})
    assert not r["ok"] and (r["error"]["code"], r["error"]["field"]) == (code, "mmproj") and words in r["error"]["message"]


def test_the_cli_reads_a_local_mmproj(tmp_path):
    import json
    import subprocess
    import sys
    from pathlib import Path

    from gguf_files import MMPROJ_BYTES, MMPROJ_META, MMPROJ_TENSORS, write

    path = tmp_path / "mmproj-gemma-3-4b-F16.gguf"
    path.write_bytes(write(MMPROJ_META, MMPROJ_TENSORS))
    root = Path(__file__).resolve().parents[1]

    def run(*extra):
        args = [sys.executable, "-m", "calc", "estimate", "--model", "gemma-3-4b-it", "--json", "--no-recommend", *extra]
        return subprocess.run(args, capture_output=True, text=True, cwd=root, timeout=120)

    plain, with_mm = run(), run("--mmproj", str(path))
    assert with_mm.returncode == 0, with_mm.stderr
    grown = json.loads(with_mm.stdout)["memory"]["weights_bytes"] - json.loads(plain.stdout)["memory"]["weights_bytes"]
    assert grown == MMPROJ_BYTES
    missing = run("--mmproj", str(tmp_path / "none.gguf"))
    assert missing.returncode == 2 and "--mmproj: no such file" in missing.stderr
