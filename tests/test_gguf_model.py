"""A model read from a GGUF file (calc/gguf_model.py): estimated exactly like a catalog model, its
weights the file's own tensor bytes (format gguf_file), on the API and the command line."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest
from gguf_files import GEMMA3_META, GEMMA3_TENSORS, LLAMA_META, LLAMA_TENSORS, catalog_as_gguf, nbytes, write

from calc.api import handle
from calc.gguf import read_gguf
from calc.gguf_model import compact_header

ROOT = Path(__file__).resolve().parents[1]
NO_EXTRAS = {"recommend": False, "curve": False}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def ask(data: bytes, **fields) -> dict:
    answer = handle({"gguf": b64(data), **NO_EXTRAS, **fields})
    assert answer["ok"], answer.get("error")
    return answer


def file_weights(answer: dict) -> int:
    return next(f["weights_bytes"] for f in answer["format_sizes"] if f["id"] == "gguf_file")


# (fixture, its tensor bytes by hand, KV bytes per token by hand (llama.cpp, F16 cache: 2 bytes))
FIXTURES = [
    pytest.param(
        LLAMA_META,
        LLAMA_TENSORS,
        # token_embd Q4_K: 1,000 rows of one 256-block, 144 bytes = 144,000; per layer: two F32 norms
        # 2 x 1,024, attn_q/k/output Q4_K 3 x 256 x 144, attn_v Q6_K 256 x 210, ffn_gate/up Q4_K
        # 2 x 512 x 144, ffn_down Q6_K 256 rows x 2 blocks x 210 = 421,376; output_norm 1,024;
        # output Q6_K 1,000 x 210 = 210,000
        144_000 + 2 * (2 * 1024 + 3 * 36_864 + 53_760 + 2 * 73_728 + 107_520) + 1024 + 210_000,
        # 2 layers x (K + V) 4 KV heads x 64 x 2 bytes
        2 * 2 * 4 * 64 * 2,
        id="llama",
    ),
    pytest.param(
        GEMMA3_META,
        GEMMA3_TENSORS,
        # Q8_0 blocks of 32 in 34 bytes (1.0625 bytes a weight), norms F32, tied embeddings (no output)
        512 * 256 * 34 // 32
        + 6 * (2 * 1024 + 2 * 128 * 4 + (256 * 512 + 2 * 256 * 256 + 512 * 256 + 3 * 256 * 1024) * 34 // 32)
        + 1024,
        # one global layer in six (the others keep 512 tokens): K + V, 2 KV heads x 128 x 2 bytes
        1 * 2 * 2 * 128 * 2,
        id="gemma3-gqa-sliding",
    ),
]


@pytest.mark.parametrize(("meta", "tensors", "weights", "kv_per_token"), FIXTURES)
def test_weights_are_the_files_tensor_bytes_and_kv_follows_the_metadata(meta, tensors, weights, kv_per_token):
    assert sum(nbytes(d, k) for _, d, k in tensors) == weights
    r = ask(write(meta, tensors, data=False), gpu="rtx-4090", gpus=1)
    assert r["request"]["quant"] == "gguf_file" and r["format"]["id"] == "gguf_file"
    assert file_weights(r) == weights
    assert r["kv_cache_bytes_per_token"] == kv_per_token
    assert r["model"]["total_params"] == sum(n for _, d, _ in tensors for n in [__import__("math").prod(d)])
    assert r["format"]["bits_per_weight"] == round(8 * weights / r["model"]["total_params"], 3)
    assert r["model"]["source"]["kind"] == "gguf" and r["model"]["custom"]
    assert "gguf_model" in [w["code"] for w in r["warnings"]]


def test_the_sliding_window_and_its_pattern_come_from_the_metadata():
    spec = ask(write(GEMMA3_META, GEMMA3_TENSORS, data=False))["model"]["spec"]
    assert spec["attention_layers"] == {"full": 1, "sliding": 5} and spec["sliding_window"] == 512
    assert (spec["kv_heads"], spec["head_dim"], spec["attention"], spec["tied_embeddings"]) == (2, 128, "gqa", True)
    assert spec["rope_scaling"] == "linear" and spec["context_length"] == 131072
    # a per-layer pattern (true = sliding) replaces the family's every-sixth rule
    meta = {**GEMMA3_META, "gemma3.attention.sliding_window_pattern": [True, False] * 3}
    assert ask(write(meta, GEMMA3_TENSORS, data=False))["model"]["spec"]["attention_layers"] == {"full": 3, "sliding": 3}


# A catalog model written as the GGUF llama.cpp makes of it at Q4_K_M (tests/gguf_files.py): read back,
# it is the same estimate as the catalog model's at q4_k_m, part for part.
SAME_AS_CATALOG = [
    ("llama-3.1-8b", "llama"),
    ("qwen2.5-7b", "qwen2"),
    ("qwen3-30b-a3b", "qwen3moe"),
    ("gemma-2-9b-it", "gemma2"),
    ("gemma-3-27b-it", "gemma3"),
    ("phi-3-mini-4k-instruct", "phi3"),
    ("mixtral-8x7b-v0.1", "llama"),
    ("deepseek-v2-lite", "deepseek2"),
    ("deepseek-v3", "deepseek2"),
    ("gpt-oss-20b", "gpt-oss"),
    ("olmo-2-1124-7b", "olmo2"),
    ("c4ai-command-r-v01", "command-r"),
    ("glm-4.5", "glm4moe"),  # with its NextN block (blk.92): in the file, not in the estimate
    ("glm-4.5-air", "glm4moe"),
]


# Gemma 3 27B's SigLIP tower and projector at 16 bits: 2 x (416,866,032 + 1152 x 5376 + 1152), as
# tests/test_golden.py GEMMA3_27B_VISION
VISION_TOWER_BYTES = {"gemma-3-27b-it": {"vllm": 846_120_672}}


@pytest.mark.parametrize(("model", "arch"), SAME_AS_CATALOG)
@pytest.mark.parametrize("engine", ["llama.cpp", "vllm"])
def test_a_gguf_of_a_catalog_model_estimates_like_the_catalog_model(model, arch, engine):
    setup = {"context": 32768, "batch": 2, "gpu": "h100-sxm", "gpus": 2, "engine": engine, **NO_EXTRAS}
    g = ask(catalog_as_gguf(model, arch), **setup)
    c = handle({"model": model, "quant": "q4_k_m", **setup})
    if engine in VISION_TOWER_BYTES.get(model, {}):
        # the catalog row's vision tower loads under vLLM; a GGUF holds the text model only
        tower = VISION_TOWER_BYTES[model][engine]
        assert c["memory"]["weights_bytes"] - g["memory"]["weights_bytes"] == tower
        return
    # (not max_context: the catalog caps it at the publisher's window, Qwen3's 32,768 below the
    # 40,960 its config and so its GGUF state)
    for key in ("memory", "per_gpu", "kv_cache_bytes_per_token", "fit", "max_batch", "speed"):
        assert g[key] == c[key], key
    for key in ("total_params", "active_params"):
        assert g["model"][key] == c["model"][key], key
    codes = [w["code"] for w in g["warnings"]]
    assert ("format_engine" in codes) == (engine != "llama.cpp")
    # the other formats are replayed from the architecture read, as for the catalog model
    assert (
        handle({"gguf": b64(catalog_as_gguf(model, arch)), "quant": "q8_0", **setup})["memory"]
        == (handle({"model": model, "quant": "q8_0", **setup})["memory"])
    )


def test_deepseek2_mla_ranks_from_files_converted_since_the_latent_cache():
    """Files converted since llama.cpp PR #12801 store the latent sizes as key_length / value_length
    (576 / 512, one KV head) and the per-head ones as key_length_mla / value_length_mla."""
    r = read_gguf(catalog_as_gguf("deepseek-v2-lite", "deepseek2"))
    meta = dict(r.metadata)
    meta |= {
        "deepseek2.attention.key_length_mla": meta["deepseek2.attention.key_length"],
        "deepseek2.attention.value_length_mla": meta["deepseek2.attention.value_length"],
        "deepseek2.attention.key_length": 576,
        "deepseek2.attention.value_length": 512,
        "deepseek2.attention.head_count_kv": 1,
    }
    new = write(meta, [(t.name, t.dims, t.ggml_type) for t in r.tensors], data=False)
    setup = {"context": 8192, "gpu": "h100-sxm", "gpus": 1}
    assert ask(new, **setup)["memory"] == handle({"model": "deepseek-v2-lite", "quant": "q4_k_m", **setup, **NO_EXTRAS})["memory"]


def test_op_gguf_asks_for_more_bytes_then_gives_the_compact_header():
    data = write(LLAMA_META, LLAMA_TENSORS)
    have, rounds = 64, 0
    while True:
        r = handle({"op": "gguf", "gguf": b64(data[:have]), "gguf_name": "tiny.gguf"})
        assert r["ok"], r
        if r["complete"]:
            break
        assert r["part"] == 0 and r["needed_bytes"] > have and r["header"] is None
        have, rounds = r["needed_bytes"], rounds + 1
    assert rounds <= 10 and have < len(data)
    assert r["model"]["name"] == "Tiny Llama" and r["model"]["source"]["file_type"] == "Q4_K_M"
    small = base64.b64decode(r["header"])
    assert len(small) < 4000 < len(write(LLAMA_META, LLAMA_TENSORS, data=False))  # the vocabulary is left out
    full, compact = ask(data[:have]), ask(small)
    assert full["memory"] == compact["memory"] and file_weights(full) == file_weights(compact)
    # an estimate from bytes that end inside the header says so
    cut = handle({"gguf": b64(data[:100])})
    assert cut["error"]["code"] == "truncated_gguf" and cut["error"]["field"] == "gguf"


def _split(meta: dict, tensors: list, parts: int) -> list[bytes]:
    """llama-gguf-split's layout: every part names its place; the first holds the metadata."""
    per = -(-len(tensors) // parts)
    out = []
    for i in range(parts):
        keys = {"split.no": i, "split.count": parts, "split.tensors.count": len(tensors)}
        out.append(write({**(meta if i == 0 else {}), **keys}, tensors[i * per : (i + 1) * per]))
    return out


def test_a_split_file_is_every_parts_tensors():
    parts = _split(LLAMA_META, LLAMA_TENSORS, 3)
    whole = ask(write(LLAMA_META, LLAMA_TENSORS))
    r = handle({"gguf": [b64(p) for p in parts], **NO_EXTRAS})
    assert r["ok"] and r["memory"] == whole["memory"] and file_weights(r) == file_weights(whole)
    assert handle({"gguf": b64(parts[0])})["error"]["code"] == "incomplete_gguf"
    assert "part 1 first" in handle({"gguf": [b64(p) for p in parts[1:]]})["error"]["message"]
    assert compact_header(tuple(parts)) == compact_header((write(LLAMA_META, LLAMA_TENSORS),))


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "calc", *args], capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_cli_estimates_a_gguf_file(tmp_path):
    path = tmp_path / "tiny-Q4_K_M.gguf"
    path.write_bytes(write(LLAMA_META, LLAMA_TENSORS))
    out = cli("estimate", "--model", str(path), "--gpu", "rtx-4090", "--json", "--no-recommend")
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout)
    assert r["model"]["source"] == {"kind": "gguf", "file": path.name, "file_type": "Q4_K_M", "architecture": "llama"}
    api = ask(write(LLAMA_META, LLAMA_TENSORS), gpu="rtx-4090", gpus=1, recommend=False)
    assert r["memory"] == api["memory"] and file_weights(r) == FIXTURES[0].values[2]
    text = cli("estimate", "--model", str(path), "--no-recommend", "--lang", "zh")
    assert text.returncode == 0 and "As stored in the file" in text.stdout and "GGUF" in text.stdout
    # another format replays llama.cpp's rules on the architecture the file describes
    assert cli("estimate", "--model", str(path), "--quant", "q8_0", "--no-recommend").stdout.splitlines()[1].startswith("Q8_0")


def test_cli_reads_every_part_of_a_split_file(tmp_path):
    for i, data in enumerate(_split(LLAMA_META, LLAMA_TENSORS, 2), 1):
        (tmp_path / f"tiny-{i:05d}-of-00002.gguf").write_bytes(data)
    out = cli("estimate", "--model", str(tmp_path / "tiny-00001-of-00002.gguf"), "--json", "--no-recommend")
    assert out.returncode == 0, out.stderr
    assert file_weights(json.loads(out.stdout)) == FIXTURES[0].values[2]
    (tmp_path / "tiny-00002-of-00002.gguf").unlink()
    missing = cli("estimate", "--model", str(tmp_path / "tiny-00001-of-00002.gguf"))
    assert missing.returncode == 2 and "no such file" in missing.stderr and len(missing.stderr.splitlines()) == 1
    second = cli("estimate", "--model", str(tmp_path / "tiny-00001-of-00002.gguf").replace("00001-of", "00003-of"))
    assert second.returncode == 2


# (what is wrong, metadata changes, error code, words of the message)
BAD_METADATA = [
    ("unknown architecture", {"general.architecture": "rwkv7"}, "unsupported_gguf", "'rwkv7' is not one"),
    ("no architecture", {"general.architecture": None}, "bad_gguf", "no general.architecture"),
    ("no block count", {"llama.block_count": None}, "bad_gguf", "no llama.block_count"),
    ("text for a number", {"llama.embedding_length": "256"}, "bad_gguf", "llama.embedding_length = '256'"),
    ("absurd layers", {"llama.block_count": 10**9}, "out_of_range", "at most 256"),
    ("absurd gpt-oss layers", {"general.architecture": "gpt-oss", "gpt-oss.block_count": 10**9}, "out_of_range", "at most 256"),
    ("per-layer heads that differ", {"llama.attention.head_count_kv": [4, 2]}, "unsupported_gguf", "differs between layers"),
    ("per-layer array of the wrong length", {"llama.attention.head_count_kv": [4, 4, 4]}, "bad_gguf", "for 3 layers"),
    ("heads not a multiple", {"llama.attention.head_count_kv": 3}, "bad_config", "must be a multiple"),
    ("more experts used than exist", {"llama.expert_count": 2, "llama.expert_used_count": 4}, "bad_config", "larger than"),
]


@pytest.mark.parametrize(("label", "changes", "code", "words"), BAD_METADATA, ids=[b[0] for b in BAD_METADATA])
def test_bad_metadata_is_a_clear_error_naming_the_gguf(label, changes, code, words):
    meta = {k: v for k, v in {**LLAMA_META, **changes}.items() if v is not None}
    r = handle({"gguf": b64(write(meta, LLAMA_TENSORS, data=False))})
    assert not r["ok"] and r["error"]["code"] == code and r["error"]["field"] == "gguf", r
    assert words in r["error"]["message"]


def test_gguf_file_format_is_only_for_a_gguf_model():
    r = handle({"model": "llama-3.1-8b", "quant": "gguf_file"})
    assert r["error"]["code"] == "bad_value" and r["error"]["field"] == "quant"
    assert "gguf_file" not in [f["id"] for f in handle({"model": "llama-3.1-8b", **NO_EXTRAS})["format_sizes"]]
    both = handle({"model": "llama-3.1-8b", "gguf": b64(write(LLAMA_META, LLAMA_TENSORS, data=False))})
    assert both["error"]["code"] == "conflicting_fields"


@pytest.mark.parametrize(("lang", "label"), [("en", "As stored in the file"), ("zh", "按文件存储")])
def test_the_page_view_names_the_format_and_not_a_pasted_config(lang, label):
    view = handle({"op": "view", "gguf": b64(write(LLAMA_META, LLAMA_TENSORS, data=False)), "lang": lang})["view"]
    assert view["formats"]["gguf_file"].startswith(label + " · ")
    assert view["spec"]["custom"] is False  # the spec card's "pasted config.json" line is not shown
    gguf = next(w["text"] for w in view["warnings"] if w["code"] == "gguf_model")
    assert "Tiny Llama" in gguf and "Q4_K_M" in gguf  # no file name given: the model's own
