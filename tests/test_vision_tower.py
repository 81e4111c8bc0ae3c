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
    cfg = copy.deepcopy(catalog.models()["gemma-3-27b-it"].config)
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
    r = _answer("vllm", vision={"model_type": "pixtral", "hidden_size": 1024})
    assert "text_only" in [w["code"] for w in r["warnings"]]
    assert r["memory"]["weights_bytes"] == _answer("vllm", vision=None)["memory"]["weights_bytes"]
