"""The JSON boundary and the command line: shapes, defaults, errors as data, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from calc.api import handle, handle_json
from calc.model import catalog_model

ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "calc", *args], cwd=ROOT, capture_output=True, text=True)


# (request, error code, field)
ERRORS = [
    ({"model": "no-such-model"}, "unknown_model", "model"),
    ({"model": "llama-3.1-8b", "context": 0}, "out_of_range", "context"),
    ({"model": "llama-3.1-8b", "context": "lots"}, "bad_value", "context"),
    ({"model": "llama-3.1-8b", "batch": 1.5}, "bad_value", "batch"),
    ({"model": "llama-3.1-8b", "quant": "q9_z"}, "unknown_quant", "quant"),
    ({"model": "llama-3.1-8b", "engine": "ollama"}, "unknown_engine", "engine"),
    ({"model": "llama-3.1-8b", "gpu": "voodoo-5"}, "unknown_gpu", "gpu"),
    ({"model": "llama-3.1-8b", "kv_cache": "q3"}, "unknown_kv_cache", "kv_cache"),
    ({"model": "llama-3.1-8b", "gpus": 0}, "out_of_range", "gpus"),
    ({"model": "llama-3.1-8b", "colour": "red"}, "unknown_field", "colour"),
    ({"model": "llama-3.1-8b", "config": {"hidden_size": 4096}}, "conflicting_fields", "config"),
    ({"config": "{not json"}, "bad_config", "config"),
    ({"config": {"hidden_size": 4096, "num_hidden_layers": 32, "num_attention_heads": 32}}, "missing_field", "config.vocab_size"),
    (
        {"config": {"hidden_size": -1, "num_hidden_layers": 32, "num_attention_heads": 32, "vocab_size": 1000}},
        "bad_config",
        "config.hidden_size",
    ),
    (
        {"config": {"hidden_size": "big", "num_hidden_layers": 32, "num_attention_heads": 32, "vocab_size": 1000}},
        "bad_config",
        "config.hidden_size",
    ),
    (
        {
            "config": {
                "hidden_size": 4096,
                "num_hidden_layers": 32,
                "num_attention_heads": 32,
                "num_key_value_heads": 5,
                "vocab_size": 1000,
            }
        },
        "bad_config",
        "config.num_key_value_heads",
    ),
    (
        {
            "config": {
                "hidden_size": 2048,
                "num_hidden_layers": 4,
                "num_attention_heads": 16,
                "vocab_size": 1000,
                "num_local_experts": 8,
            }
        },
        "missing_field",
        "config.num_experts_per_tok",
    ),
    ([1, 2, 3], "bad_request", None),
]


@pytest.mark.parametrize("request_,code,field", ERRORS, ids=[e[1] + ":" + str(e[2]) for e in ERRORS])
def test_errors_come_back_as_data(request_, code, field):
    answer = handle(request_)
    assert answer["ok"] is False
    assert (answer["error"]["code"], answer["error"]["field"]) == (code, field)
    assert answer["error"]["message"]
    assert json.loads(handle_json(json.dumps(request_))) == answer


def test_bad_json_text():
    answer = json.loads(handle_json("{oops"))
    assert answer["ok"] is False and answer["error"]["code"] == "bad_json"


def test_json_text_round_trip_equals_dict_call():
    request_ = {"model": "gemma-3-27b-it", "quant": "q8_0", "context": 65536, "gpu": "rtx-5090"}
    assert json.loads(handle_json(json.dumps(request_))) == json.loads(json.dumps(handle(request_)))


def test_defaults():
    r = handle({})
    assert r["ok"] and r["model"]["id"] == "qwen3-coder-480b-a35b-instruct"
    assert r["request"]["context"] == 32768 and r["fit"]["gpu"] == "h100-sxm" and r["fit"]["gpus"] == 4
    assert len(r["curve"]) >= 11 and r["recommendations"]


def test_repo_id_is_case_insensitive():
    a = handle({"model": "qwen/QWEN3-8b"})
    b = handle({"model": "qwen3-8b"})
    assert a["ok"] and a["memory"] == b["memory"] and a["model"]["id"] == "qwen3-8b"


def test_custom_config_equals_catalog_model():
    """A catalog model's own config.json pasted as text gives the same numbers."""
    config = catalog_model("llama-3.1-8b")
    from calc import catalog

    text = json.dumps(catalog.models()["llama-3.1-8b"].config)
    base = {"quant": "q4_k_m", "context": 8192, "gpu": "rtx-4090", "gpus": 1}
    custom = handle({**base, "config": text})
    known = handle({**base, "model": "llama-3.1-8b"})
    assert custom["ok"] and custom["model"]["custom"] and custom["memory"] == known["memory"]
    assert custom["model"]["total_params"] == config.params.total
    assert any(w["code"] == "custom_model" for w in custom["warnings"])


def test_warnings_where_they_apply():
    def codes(**kw):
        return {w["code"] for w in handle({"curve": False, "recommend": False, **kw})["warnings"]}

    assert "context_exceeds_native" in codes(model="llama-3.1-8b", context=262144)
    assert "kv_type_unsupported" in codes(model="llama-3.1-8b", engine="vllm", kv_cache="q4_0", quant="awq")
    assert "quant_v_needs_flash" in codes(model="llama-3.1-8b", kv_cache="q8_0", flash_attention=False)
    assert "split_unsupported" in codes(model="phi-3-mini-4k-instruct", engine="vllm", quant="bf16", gpu="l4", gpus=3)
    assert "does_not_fit" in codes(model="llama-3.1-405b", quant="bf16", engine="vllm", gpu="rtx-4090", gpus=1)
    assert "mla_decompressed" in codes(model="deepseek-v3", engine="transformers", quant="bf16", gpu="h200", gpus=8)
    assert "context_exceeds_native" not in codes(model="llama-3.1-8b", context=131072)
    zh = handle({"model": "llama-3.1-8b", "context": 262144, "lang": "zh", "curve": False})
    assert any("原生" in w["text"] for w in zh["warnings"])


def test_catalog_op():
    c = handle({"op": "catalog"})
    assert c["ok"] and len(c["models"]) >= 58 and len(c["gpus"]) >= 40
    assert {"id", "name", "family", "context_length", "total_params", "active_params"} <= set(c["models"][0])
    assert c["defaults"]["model"] == "qwen3-coder-480b-a35b-instruct"


# -- command line ----------------------------------------------------------------------------


def test_cli_json_keys():
    out = cli(
        "estimate",
        "--model",
        "qwen3-coder-480b-a35b-instruct",
        "--quant",
        "q4_k_m",
        "--context",
        "262144",
        "--kv-cache",
        "f16",
        "--json",
    )
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout)
    assert r["kv_cache_bytes_per_token"] == 253_952
    assert r["memory"]["kv_cache_bytes"] == 62 * 2**30
    for key in ("weights_bytes", "kv_cache_bytes", "activations_bytes", "overhead_bytes", "total_bytes"):
        assert isinstance(r["memory"][key], int)
    assert r["model"]["total_params"] > r["model"]["active_params"] > 0
    assert isinstance(r["recommendations"], list) and r["recommendations"]


def test_cli_table_and_gpu(tmp_path):
    out = cli(
        "estimate",
        "--model",
        "deepseek-v3",
        "--quant",
        "native",
        "--context",
        "8192",
        "--engine",
        "vllm",
        "--gpu",
        "h200",
        "--gpus",
        "8",
    )
    assert out.returncode == 0 and "KV cache per token: 70,272 bytes" in out.stdout and "vLLM KV capacity" in out.stdout


def test_cli_config_path(tmp_path):
    from calc import catalog

    path = tmp_path / "config.json"
    path.write_text(json.dumps(catalog.models()["qwen3-8b"].config))
    out = cli("estimate", "--model", str(path), "--quant", "q8_0", "--context", "4096", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["kv_cache_bytes_per_token"] == 36 * 8 * 128 * 2 * 2


@pytest.mark.parametrize(
    "args,needle",
    [
        (("estimate", "--model", "nope"), "unknown model"),
        (("estimate", "--model", "llama-3.1-8b", "--context", "-5"), "context"),
        (("estimate", "--model", "llama-3.1-8b", "--context", "many"), "invalid int"),
        (("estimate",), "--model"),
        (("fly",), "invalid choice"),
    ],
)
def test_cli_bad_input_one_line_no_traceback(args, needle):
    out = cli(*args)
    assert out.returncode != 0
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in out.stderr


# (file name, bytes written, what the one line says): files the command line cannot use.
BAD_FILES = [
    ("latin1.json", '{"model_type": "llama", "name": "caf\xe9"}'.encode("latin-1"), "is not UTF-8 text"),
    ("model.gguf", b"GGUF\x03\x00\x00\x00" + bytes(range(128, 256)), "claims 9,765,639,646,188,044,672 tensors"),
    ("huge.json", b" " * 5_000_001, "at most 5,000,000"),
]


@pytest.mark.parametrize(("name", "data", "needle"), BAD_FILES, ids=[r[0] for r in BAD_FILES])
def test_cli_unusable_file_exits_2_in_one_line(tmp_path, name, data, needle):
    path = tmp_path / name
    path.write_bytes(data)
    out = cli("estimate", "--model", str(path))
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2 and len(lines) == 1 and needle in lines[0] and "Traceback" not in out.stderr


@pytest.mark.parametrize(
    "args,needle",
    [
        (("estimate", "--model", "missing/config.json"), "no such file"),
        (("estimate", "--model", "llama-3.1-8b", "--gpus", "0"), "gpus must be between 1 and 64"),
        (("estimate", "--model", "llama-3.1-8b", "--gpus", "0", "--gpu", "rtx-4090"), "gpus must be between 1 and 64"),
    ],
)
def test_cli_bad_input_exits_2(args, needle):
    out = cli(*args)
    assert out.returncode == 2 and needle in out.stderr


def test_cli_terminal_that_cannot_show_the_answer_exits_2():
    """--lang zh on an ASCII terminal: one line saying so, not a UnicodeEncodeError traceback."""
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    args = ["estimate", "--model", "qwen3-8b", "--lang", "zh", "--context", "400000", "--gpu", "rtx-4090"]
    out = subprocess.run([sys.executable, "-m", "calc", *args], cwd=ROOT, capture_output=True, text=True, env=env)
    assert out.returncode == 2 and out.stdout == "" and "PYTHONIOENCODING=utf-8" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("command", ["models", "gpus", "quants"])
def test_cli_lists(command):
    table = cli(command)
    data = cli(command, "--json")
    assert table.returncode == 0 and data.returncode == 0
    assert json.loads(data.stdout)
    assert len(table.stdout.splitlines()) > 10


def test_results_past_exact_javascript_integers_are_refused():
    """32M tokens x 4096 sequences of a big KV cache is past 2^53 bytes: an error naming context."""
    r = handle({"model": "deepseek-v3", "engine": "transformers", "quant": "bf16", "context": 33_554_432, "batch": 4096})
    assert r["ok"] is False and (r["error"]["code"], r["error"]["field"]) == ("out_of_range", "context")


def test_curve_points_past_exact_javascript_integers_are_left_out():
    """The request fits under 2^53 bytes, its curve's longest contexts do not: those points are left out."""
    r = handle({"model": "deepseek-v3", "engine": "transformers", "quant": "bf16", "context": 1024, "batch": 4096})
    assert r["ok"] and r["curve"] and max(p["context"] for p in r["curve"]) < 2**20
    assert all(p["total_bytes"] <= 2**53 for p in r["curve"])


def test_cli_reads_a_gguf_header(tmp_path):
    """python -m calc gguf FILE: what the file holds, read from its header only (tests/test_gguf.py writes it)."""
    from test_gguf import META, TENSORS, write

    path = tmp_path / "model.gguf"
    path.write_bytes(write(META, TENSORS))
    out = cli("gguf", str(path), "--json")
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout)
    assert (r["architecture"], r["file_type"], r["tensors"], r["tensor_bytes"]) == (
        "llama",
        "Q4_K_M",
        4,
        2100 + 36864 + 1024 + 2720,
    )
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(path.read_bytes()[:100])
    for bad, needle in ((cut, "ends inside its GGUF header"), (tmp_path / "none.gguf", "no such file")):
        out = cli("gguf", str(bad))
        assert out.returncode == 2 and needle in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_a_repeated_request_is_answered_from_memory_with_the_same_text():
    """handle_json keeps its latest answers by request text (a slider drag repeats them): the
    same text gets the text a fresh answer has, at most ANSWERS_KEPT are kept, long requests never."""
    from calc import api

    api._ANSWERS.clear()
    texts = [json.dumps({"op": "view", "model": "llama-3.2-1b", "context": 1024 * (i + 1)}) for i in range(api.ANSWERS_KEPT + 1)]
    first = [api.handle_json(t) for t in texts]
    assert len(api._ANSWERS) == api.ANSWERS_KEPT and texts[0] not in api._ANSWERS
    assert api.handle_json(texts[-1]) is first[-1]
    assert api.handle_json(texts[-1]) == api._answer_json(texts[-1])
    assert api.handle_json(texts[0]) == first[0]  # made again, the same text
    long = json.dumps({"config": {"model_type": "llama", "pad": "x" * api.ANSWER_KEY_CHARS}})
    api.handle_json(long)
    assert long not in api._ANSWERS
