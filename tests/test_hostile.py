"""Hostile input: the JSON boundary and config.json import must answer everything, clearly.

People paste config.json files from anywhere and edit URL parameters by hand.  Whatever arrives,
:func:`calc.api.handle` and :func:`calc.api.handle_json` must return either a valid result (every
memory number a non-negative int, the whole answer JSON without NaN and encodable as UTF-8) or
``ok: false`` with a code, a message and a field naming the culprit where there is one; never an
exception, never ``internal_error`` (the boundary's catch-all for bugs).

Property tests (hypothesis, derandomized and database-free so every run draws the same cases; the
``max_examples`` below add up to more than 10,000) cover random request values, random request
text, random config.json dicts and texts, and catalog configs with one field changed at a time.
Table-driven tests pin the nastiest cases found.  Timing is bench/hostile.py's business, not this
file's.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import json
import struct

import hub_files
import pytest
from gguf_files import GEMMA3_META, GEMMA3_TENSORS, LLAMA_META, LLAMA_TENSORS, MMPROJ_META, MMPROJ_TENSORS, U64, write
from hypothesis import HealthCheck, Phase, assume, event, given, settings
from hypothesis import strategies as st

from calc import catalog
from calc.api import handle, handle_json
from calc.architecture import MAX_LAYERS
from calc.jsonsafe import MAX_CONFIG_CHARS
from calc.request import FIELDS, MAX_CONTEXT

# One profile for every property here: same cases on every run and machine, no example database
# (nothing written next to the checkout), no deadline (a first call on a 256-layer config builds its
# weight tables; bench/hostile.py reports how long that takes).
# The explain phase is left out: it writes patch files into the checkout.
HOSTILE = settings(
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=False,
    phases=(Phase.explicit, Phase.generate, Phase.shrink),
    suppress_health_check=list(HealthCheck),
)

NAN, INF = float("nan"), float("inf")
MEMORY_KEYS = ("weights_bytes", "kv_cache_bytes", "activations_bytes", "overhead_bytes", "total_bytes")


# ---------------------------------------------------------------------------------------------
# The one check every answer passes


def _count(value) -> bool:
    return type(value) is int and value >= 0


def check(answer) -> dict | None:
    """Assert `answer` is a well-formed result or error; return the error (None for a result).

    Inside a property it also records the outcome (``pytest --hypothesis-show-statistics`` lists
    how many cases reached a result and which errors the rest got)."""
    _outcome(answer)
    assert isinstance(answer, dict) and answer.get("schema") == 1
    text = json.dumps(answer, ensure_ascii=False, allow_nan=False)  # no NaN, no infinity, only JSON types
    text.encode("utf-8")  # no lone surrogate: the page and the CLI must be able to write it out
    if answer["ok"] is not True:
        assert answer["ok"] is False and set(answer) == {"ok", "schema", "error"}
        err = answer["error"]
        assert set(err) == {"code", "field", "message"}
        assert isinstance(err["code"], str) and err["code"], err
        assert err["code"] != "internal_error", err
        assert isinstance(err["message"], str) and err["message"].strip() and len(err["message"]) < 600, err
        assert err["field"] is None or (isinstance(err["field"], str) and len(err["field"]) < 200), err
        assert err["field"] != "" or err["code"] == "unknown_field", err  # "" only for a request key spelt ""
        return err
    if answer["op"] != "estimate":
        return None
    mem = answer["memory"]
    assert all(_count(mem[k]) for k in MEMORY_KEYS), mem
    assert mem["total_bytes"] == sum(mem[k] for k in MEMORY_KEYS[:4])
    for row in answer["per_gpu"] + answer["curve"]:
        assert all(_count(row[k]) for k in MEMORY_KEYS), row
    assert answer["per_gpu"]
    assert _count(answer["kv_cache_bytes_per_token"])
    if answer.get("range") is not None:  # the total moved by the engine's measured errors
        low, high = answer["range"]["low_bytes"], answer["range"]["high_bytes"]
        assert _count(low) and _count(high) and low <= mem["total_bytes"] <= high, answer["range"]
    model = answer["model"]
    assert _count(model["total_params"]) and model["total_params"] > 0
    assert _count(model["active_params"]) and model["active_params"] <= model["total_params"]
    if answer["fit"] is not None:
        assert _count(answer["fit"]["used_bytes"]) and _count(answer["fit"]["capacity_bytes"])
        assert isinstance(answer["fit"]["fits"], bool)
    for rec in answer["recommendations"]:
        assert _count(rec["used_bytes"]) and _count(rec["capacity_bytes"]) and _count(rec["count"])
    for key in ("max_context", "max_batch", "kv_capacity_tokens"):
        assert answer[key] is None or _count(answer[key]), (key, answer[key])
    speed = answer["speed"]
    shown = [speed[k] for k in ("decode_tokens_per_s", "decode_tokens_per_s_per_sequence", "prefill_seconds")]
    shown += [
        x
        for k in ("decode_range_tokens_per_s", "decode_range_tokens_per_s_per_sequence", "prefill_range_seconds")
        for x in speed[k] or ()
    ]
    shown += [band[k] for band in (speed["decode_efficiency"], speed["prefill_efficiency"]) if band for k in ("low", "high")]
    for value in shown:
        assert value is None or (isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0)
    for key in ("decode_range_tokens_per_s", "decode_range_tokens_per_s_per_sequence", "prefill_range_seconds"):
        assert speed[key] is None or speed[key][0] <= speed[key][1], (key, speed[key])
    return None


def _outcome(answer) -> None:
    with contextlib.suppress(Exception):  # outside a property (table tests) there is nothing to record
        event("result" if answer.get("ok") else f"error {answer['error']['code']}")


def check_json(text) -> dict | None:
    """handle_json's answer: JSON text that parses, is UTF-8 encodable, and passes check()."""
    out = handle_json(text)
    assert isinstance(out, str)
    out.encode("utf-8")
    return check(json.loads(out))


def roots(field: str) -> str:
    """The request field a dotted error field starts with ("config.text_config.x" -> "config")."""
    return field.split(".")[0].split("[")[0]


# ---------------------------------------------------------------------------------------------
# Values


# Characters that break naive code: NUL and controls, quotes and backslashes, lone surrogates of
# both halves, a byte-order mark, direction overrides, line separators, combining marks, digits
# that str.isdigit() accepts and int() may not, full-width and CJK letters, an emoji.  Drawing from
# a list is far cheaper than hypothesis' full-Unicode strategy, which is mixed in now and then.
NASTY_CHARS = list("aZ09_-. /\\\"'{}[]:,") + [
    "\x00",
    "\x01",
    "\x1f",
    "\x7f",
    "\t",
    "\n",
    "\ud800",
    "\udbff",
    "\udc00",
    "\udfff",
    "\ufeff",
    "\u202e",
    "\u2028",
    "\u0301",
    "\u00b2",
    "\u0663",
    "\uff11",
    "\u6a21",
    "\U0001f999",
    "\ufffd",
    "\u00e9",
    "\u0130",
]
HOSTILE_TEXT = st.text(st.sampled_from(NASTY_CHARS), max_size=16) | st.text(max_size=8)

NASTY_NUMBERS = [
    0,
    -1,
    1,
    2,
    3,
    7,
    255,
    4096,
    2**31,
    2**53 + 1,
    2**63,
    10**13 + 1,
    10**20,
    10**400,
    -(10**400),
    0.0,
    -0.0,
    0.5,
    1.5,
    -2.5,
    4096.0,
    1e-300,
    5e-324,
    1e308,
    -1e308,
    1.7976931348623157e308,
    NAN,
    INF,
    -INF,
]
NASTY_TEXT = [
    "",
    " ",
    "0",
    "-1",
    "1e3",
    "4096",
    " 4096 ",
    "4096.0",
    "0x10",
    "\u00b2",
    "\u0663",
    "\uff11\uff12",
    "NaN",
    "Infinity",
    "null",
    "true",
    "\ud800",
    "\udfff\ud800",
    "\x00",
    "\u6a21\u578b",
    "\U0001f999",
    "\u202e",
    "a" * 5000,
    "9" * 5000,
    "{}",
    "[]",
    "auto",
    "llama",
    "../../etc/passwd",
    "/dev/zero",
    "C:\\con",
]
NASTY_OTHER = [None, True, False, [], [1], [[]], [None, None], {}, {"a": 1}, {"": None}, [0.5, NAN]]
NASTY = NASTY_NUMBERS + NASTY_TEXT + NASTY_OTHER

scalars = (
    st.none() | st.booleans() | st.integers() | st.integers(min_value=-(2**80), max_value=2**80) | st.floats() | HOSTILE_TEXT
)
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(HOSTILE_TEXT, inner, max_size=3), max_leaves=6
)
nasty = st.sampled_from(NASTY) | scalars | json_values
nasty_scalar = st.sampled_from(NASTY) | scalars  # cheaper to draw: where a config needs many values

# Values that are wrong for an integer field whatever its range: every config size must refuse
# them, naming the field.
NOT_A_SIZE = [
    -1,
    -4096,
    -(2**63),
    10**20,
    10**400,
    1e308,
    -1e308,
    0.5,
    4096.5,
    NAN,
    INF,
    -INF,
    "4096",
    "",
    True,
    False,
    [4096],
    {"value": 4096},
]
NOT_A_BOOL = [0, 1, "true", "false", "", [], {}, [True], 1.0, NAN]
NOT_TEXT = [0, 1, True, False, [], ["llama"], {}, {"a": "b"}, 1e308, NAN]
NOT_A_LIST = [0, 1, True, "full_attention", {}, {"0": "full_attention"}, NAN]


# ---------------------------------------------------------------------------------------------
# Requests


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


TINY_GGUF = write(LLAMA_META, LLAMA_TENSORS, data=False)
GEMMA_GGUF = write(GEMMA3_META, GEMMA3_TENSORS, data=False)
GGUF_VALUES = [
    _b64(TINY_GGUF),
    _b64(GEMMA_GGUF),
    _b64(TINY_GGUF[:500]),
    [_b64(TINY_GGUF)],
    [_b64(TINY_GGUF), _b64(GEMMA_GGUF)],
    "R0dVRg==",
    "not base64!",
    "",
]


def _ids(table: dict) -> list[str]:
    return sorted({row.id for row in table.values()})


MODELS = [
    "llama-3.2-1b",
    "qwen3-0.6b",
    "gemma-3-1b-it",
    "deepseek-v2-lite",
    "jamba-v0.1",
    "gpt-oss-20b",
    "qwen3-next-80b-a3b-instruct",
    "falcon-7b",
    "phi-3-mini-4k-instruct",
    "olmo-2-1124-7b",
]
VALID = {
    "op": ["estimate", "estimate", "estimate", "model", "catalog", " Estimate ", "gguf"],
    "model": MODELS + ["Qwen/Qwen3-0.6B", "LLAMA-3.2-1B"],
    "quant": _ids(catalog.formats()) + ["Q4_K_M"],
    "bpw": [1, 1.0, 4.0, 8.5, 16, "4.5"],
    "kv_cache": _ids(catalog.kv_types()) + ["auto", None],
    "context": [1, 255, 4096, 32768, 131072, MAX_CONTEXT, "8192"],
    "batch": [1, 2, 16, 4096],
    "prompt_tokens": [1, 100, 4096, None],  # transformers: with context or new_tokens (issue 15)
    "new_tokens": [0, 1, 30000, None],
    "engine": ["llama.cpp", "vllm", "transformers", "llamacpp", "HF"],
    "engine_version": [None, "", "  "],  # every other release id belongs to one engine
    "gpu": _ids(catalog.gpus()) + [None, ""],
    "gpus": [1, 2, 3, 8, 16, 64],
    "flash_attention": [True, False, None],
    "ubatch": [1, 512, 65536],
    "swa_full": [True, False, None],
    "gpu_memory_utilization": [0.05, 0.5, 0.9, 1, 1.0],
    "max_num_batched_tokens": [1, 2048, 8192, 1 << 22],
    "max_num_seqs": [1, 256, 1 << 16],
    "lang": ["en", "zh", "ZH"],
    "curve": [True, False],
    "recommend": [True, False],
    "recommend_limit": [0, 1, 12, 10_000],
    # GGUF headers (tests/gguf_files.py): whole, cut short, split in two, not base64
    "gguf": GGUF_VALUES,
    "gguf_name": ["model.gguf", "", "\ud800.gguf", "x" * 500],
    # your machine (issue 14)
    "devices": ["rtx-4090", "4090,3090", "2xh100", "24GiB", "apple-m4-max-128gb", ["rtx-4090", "16GiB"], None],
    "ram": ["64GiB", "128GB", 2**36, None],
    "ram_bandwidth": ["ddr5-5600-2ch", 51.2, "460", None],
    "gpu_share": [0.5, 0.9, None],
    "n_gpu_layers": [0, 10, 999, -1, None],
    "cpu_moe": [True, False, None],
    "n_cpu_moe": [0, 5, 100, None],
    "override_tensor": ["exps=CPU", [r"blk\.(\d+)\.ffn_.*_exps=CPU"], "attn=CUDA0", None],
    "tensor_split": ["1", "3,1", [1, 1], None],
    "split_mode": ["layer", "row", "none", None],
    "no_kv_offload": [True, False, None],
    "fit": [True, False, None],
    "fit_goal": ["layers", "context", None],
    "cpu_offload_gb": [0, 4, 10.5, None],
    "kv_cache_memory": [2**30, 2**34, None],
    "block_size": [16, 32, None],
    # the Hub (issue 13): a repo id or URL, its safetensors headers (base64) and its file listing
    "hub": ["Qwen/Qwen3-4B", "https://huggingface.co/Qwen/Qwen3-4B/tree/main", {"repo": "a/b", "revision": "v1"}, None],
    "safetensors": [base64.b64encode(hub_files.header([("w", "BF16", [4, 4])])).decode(), "AAAA", "not base64", None],
    "hub_listing": [{"siblings": [{"rfilename": "config.json"}, {"rfilename": "m-Q4_K_M.gguf"}]}, [], {"siblings": 5}, None],
    # llama.cpp's mmproj file: a clip header, another GGUF, garbage
    "mmproj": [
        base64.b64encode(write(MMPROJ_META, MMPROJ_TENSORS, data=False)).decode(),
        base64.b64encode(write(LLAMA_META, LLAMA_TENSORS, data=False)).decode(),
        "AAAA",
        None,
    ],
    "mmproj_name": ["mmproj-F16.gguf", "x" * 500, 5, None],
}
REQUEST_FIELDS = [k for k in FIELDS if k != "config"]
assert set(REQUEST_FIELDS) == set(VALID)


@st.composite
def requests(draw) -> dict:
    """A request of a few fields, each a valid value or a hostile one, sometimes an unknown key."""
    keys = draw(st.lists(st.sampled_from(REQUEST_FIELDS), max_size=7, unique=True))
    req = {}
    for key in keys:
        req[key] = draw(st.sampled_from(VALID[key]) if draw(st.integers(0, 3)) else nasty)
    if draw(st.integers(0, 9)) == 0:
        req[draw(HOSTILE_TEXT)] = draw(nasty)
    return req


def _culprit_in(err: dict, req: dict) -> None:
    """An error field names a key of the request (dotted below it for config fields)."""
    if err["field"] is None:
        return
    from calc.errors import clean

    names = {clean(k, 60) for k in req if isinstance(k, str)}
    assert err["field"] in names or roots(err["field"]) in names, (err, list(req))


@settings(HOSTILE, max_examples=2000)
@given(model=st.sampled_from(MODELS), key=st.sampled_from(REQUEST_FIELDS), value=nasty)
def test_one_hostile_request_field_is_named(model, key, value):
    """Every field but one valid: the answer is a result, or an error naming exactly that field."""
    req = {"model": model, key: value}
    err = check(handle(req))
    if err is not None:
        assert err["field"] == key, (req, err)


@settings(HOSTILE, max_examples=1500)
@given(req=requests())
def test_random_requests(req):
    err = check(handle(req))
    if err is not None:
        _culprit_in(err, req)


@settings(HOSTILE, max_examples=800)
@given(req=requests())
def test_random_requests_as_json_text_answer_as_the_dict_call(req):
    try:
        text = json.dumps(req)
    except ValueError:  # an int of more digits than Python writes: no such text exists
        assume(False)
    out = check_json(text)
    assert json.loads(handle_json(text)) == json.loads(json.dumps(handle(json.loads(text))))
    if out is not None:
        _culprit_in(out, json.loads(text))


@settings(HOSTILE, max_examples=1200)
@given(
    text=HOSTILE_TEXT
    | st.text(st.sampled_from('{}[]":,0123456789.eE+-nultrufalsNIfiy \\'), max_size=60)
    | json_values.map(lambda v: json.dumps(v))
)
def test_random_request_text(text):
    check_json(text)


def test_non_text_and_non_object_requests():
    for value in (None, 5, [], "", "null", "[]", '"x"', "5", "NaN", "true", '[{"model": "qwen3-0.6b"}]'):
        err = check_json(value) if isinstance(value, (str, bytes)) or value is None else check(handle(value))
        assert err is not None and err["code"] in ("bad_json", "bad_request"), (value, err)
    for value in ([], 5, "x", None, ["model"], 1.5):
        err = check(handle(value))
        assert err["code"] == "bad_request" and err["field"] is None


# ---------------------------------------------------------------------------------------------
# Configs


ROWS = catalog.model_rows()
# Parser keys a random config draws from (every spelling calc/architecture.py reads).
CONFIG_INT_KEYS = [
    "hidden_size",
    "n_embd",
    "d_model",
    "num_hidden_layers",
    "n_layer",
    "num_layers",
    "num_attention_heads",
    "n_head",
    "num_key_value_heads",
    "num_kv_heads",
    "head_dim",
    "vocab_size",
    "intermediate_size",
    "ffn_hidden_size",
    "intermediate_size_mlp",
    "moe_intermediate_size",
    "num_experts",
    "num_local_experts",
    "n_routed_experts",
    "num_experts_per_tok",
    "experts_per_token",
    "moe_topk",
    "n_shared_experts",
    "shared_expert_intermediate_size",
    "first_k_dense_replace",
    "moe_layer_freq",
    "decoder_sparse_step",
    "kv_lora_rank",
    "q_lora_rank",
    "qk_nope_head_dim",
    "qk_rope_head_dim",
    "v_head_dim",
    "max_position_embeddings",
    "sliding_window",
    "attention_chunk_size",
    "full_attention_interval",
    "sliding_window_pattern",
    "attn_layer_period",
    "attn_layer_offset",
    "expert_layer_period",
    "expert_layer_offset",
    "interleave_moe_layer_step",
    "no_rope_layer_interval",
    "linear_num_key_heads",
    "linear_key_head_dim",
    "linear_num_value_heads",
    "linear_value_head_dim",
    "linear_conv_kernel_dim",
    "mamba_expand",
    "mamba_d_state",
    "mamba_d_conv",
    "mamba_dt_rank",
    "num_nextn_predict_layers",
]
CONFIG_BOOL_KEYS = [
    "tie_word_embeddings",
    "attention_bias",
    "qkv_bias",
    "mlp_bias",
    "use_qk_norm",
    "use_sliding_window",
    "new_decoder_architecture",
    "multi_query",
    "alibi",
    "bias",
]
CONFIG_TEXT_KEYS = ["model_type", "hidden_act", "hidden_activation", "torch_dtype", "dtype", "_name_or_path"]
MODEL_TYPES = sorted({str(r.config.get("model_type") or r.config.get("text_config", {}).get("model_type")) for r in ROWS}) + [
    "",
    "LLAMA",
    "unknown",
    "\u6a21\u578b",
    "\ud800",
]
SMALL = [0, 1, 2, 3, 4, 7, 8, 16, 64, 128, 256, 257, 4096, 8192, 1 << 18, (1 << 18) + 1, 1 << 20, 1 << 24, 10**13]
PLAUSIBLE = [v for v in SMALL if 0 < v <= 1 << 18]
BASE_CONFIG = {"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 128, "intermediate_size": 96}


@st.composite
def random_configs(draw) -> dict:
    """A small base config with a few parser keys set to plausible or hostile values."""
    cfg = {} if draw(st.integers(0, 9)) == 0 else dict(BASE_CONFIG)
    # Half the configs get only plausible sizes, so that many reach the memory model and not just the parser.
    sizes = (
        st.sampled_from(PLAUSIBLE) | st.integers(1, 40)
        if draw(st.booleans())
        else st.sampled_from(SMALL) | st.sampled_from(NOT_A_SIZE) | st.integers(-2, 40) | nasty_scalar
    )
    for key in draw(st.lists(st.sampled_from(CONFIG_INT_KEYS), max_size=6, unique=True)):
        cfg[key] = draw(sizes)
    for key in draw(st.lists(st.sampled_from(CONFIG_BOOL_KEYS), max_size=2, unique=True)):
        cfg[key] = draw(st.booleans() | st.sampled_from(NOT_A_BOOL))
    for key in draw(st.lists(st.sampled_from(CONFIG_TEXT_KEYS), max_size=2, unique=True)):
        cfg[key] = draw(st.sampled_from(MODEL_TYPES) | HOSTILE_TEXT | st.sampled_from(NOT_TEXT))
    if draw(st.integers(0, 4)) == 0:
        n = draw(st.integers(0, 4))
        cfg["layer_types"] = draw(
            st.lists(
                st.sampled_from(
                    [
                        "full_attention",
                        "sliding_attention",
                        "linear_attention",
                        "chunked_attention",
                        "mamba",
                        "attention",
                        "conv",
                        1,
                        None,
                    ]
                ),
                min_size=n,
                max_size=n,
            )
            | nasty
        )
    if draw(st.integers(0, 5)) == 0:
        cfg[draw(st.sampled_from(["mlp_only_layers", "no_rope_layers", "architectures"]))] = draw(
            st.lists(st.integers(-1, 3) | HOSTILE_TEXT, max_size=3) | nasty_scalar
        )
    if draw(st.integers(0, 5)) == 0:
        cfg[draw(st.sampled_from(["rope_scaling", "quantization_config", "text_config"]))] = draw(
            st.fixed_dictionaries(
                {},
                optional=dict.fromkeys(
                    ("rope_type", "type", "quant_method", "weight_block_size", "hidden_size", "num_hidden_layers"), nasty_scalar
                ),
            )
            | nasty
        )
    if draw(st.integers(0, 5)) == 0:
        cfg[draw(HOSTILE_TEXT)] = draw(nasty)  # an unknown key, maybe non-ASCII, maybe a lone surrogate
    return cfg


ENGINE_SETUPS = [
    {"engine": "vllm", "quant": "native", "gpu": None},
    {"engine": "transformers", "quant": "bf16", "gpu": None},
    {"engine": "llama.cpp", "quant": "q4_k_m", "gpu": None},
    {"engine": "llama.cpp", "quant": "iq2_xs", "gpu": None},
    {"engine": "vllm", "quant": "awq", "gpu": "h100-sxm", "gpus": 8, "recommend": False},
    {"engine": "llama.cpp", "quant": "q8_0", "gpu": "rtx-4090", "gpus": 2, "kv_cache": "q4_0"},
]


def _dumps(cfg: dict) -> str:
    try:
        return json.dumps(cfg)  # NaN and Infinity become JavaScript's literals, which json.loads reads
    except ValueError:  # an int too long to write: no such config text exists
        assume(False)


@settings(HOSTILE, max_examples=1800)
@given(cfg=random_configs(), setup=st.sampled_from(ENGINE_SETUPS), as_text=st.booleans())
def test_random_configs(cfg, setup, as_text):
    """Only the config is hostile: a result, or an error naming config or a field below it."""
    err = check(handle({**setup, "config": _dumps(cfg) if as_text else cfg}))
    if err is not None:
        assert err["field"] is not None and roots(err["field"]) == "config", err


def _language_model(cfg: dict) -> tuple[dict, str]:
    """The dict calc/architecture.py reads sizes from, and the dotted prefix naming its fields."""
    inner = cfg.get("text_config")
    if isinstance(inner, dict) and ("hidden_size" in inner or "num_hidden_layers" in inner):
        return inner, "text_config."
    return cfg, ""


def _mutations(row) -> list[tuple[str, str]]:
    """(path, kind) of every field of a catalog config worth changing: top level and text_config."""
    inner, prefix = _language_model(row.config)
    out = [(k, type(v).__name__) for k, v in row.config.items() if k != "text_config"]
    if prefix:
        out += [(prefix + k, type(v).__name__) for k, v in inner.items()]
    return out


MUTABLE = [(row.id, path, kind) for row in ROWS for path, kind in _mutations(row)]
BAD_FOR = {"int": NOT_A_SIZE, "float": [NAN, INF, "x", [1.0]], "bool": NOT_A_BOOL, "str": NOT_TEXT, "list": NOT_A_LIST}


def _set(cfg: dict, path: str, value) -> dict:
    out = copy.deepcopy(cfg)
    target = out
    parts = path.split(".")
    for part in parts[:-1]:
        target = target[part]
    if value is _DELETE:
        target.pop(parts[-1], None)
    else:
        target[parts[-1]] = value
    return out


_DELETE = object()


@settings(HOSTILE, max_examples=1800)
@given(target=st.sampled_from(MUTABLE), data=st.data(), setup=st.sampled_from(ENGINE_SETUPS[:4]), as_text=st.booleans())
def test_catalog_configs_with_one_field_changed(target, data, setup, as_text):
    """A real config with one field removed, made wrong, made absurd or made merely unusual.

    A value that no field of its type accepts (a negative size, NaN, a string for a flag...) is either
    ignored (the parser does not read that field) or refused by exactly that field's dotted name."""
    row_id, path, kind = target
    row = catalog.models()[row_id]
    bad = BAD_FOR.get(kind, [])
    how = data.draw(st.sampled_from(["bad", "bad", "nasty", "small", "delete"]), label="how")
    if how == "bad" and bad:
        value = data.draw(st.sampled_from(bad), label="value")
    elif how == "small":
        value = data.draw(st.sampled_from(SMALL) | st.integers(-3, 300), label="value")
    elif how == "delete":
        value = _DELETE
    else:
        value = data.draw(nasty, label="value")
    cfg = _set(row.config, path, value)
    err = check(handle({**setup, "config": _dumps(cfg) if as_text else cfg}))
    if err is None:
        return
    assert err["field"] is not None and roots(err["field"]) == "config", err
    if how == "bad" and bad and kind != "dict":
        assert err["field"] == "config." + path, (path, value, err)


@settings(HOSTILE, max_examples=500)
@given(
    row=st.sampled_from(ROWS),
    key=HOSTILE_TEXT.map(lambda k: "x_" + k)
    | st.sampled_from(["\u9690\u85cf\u5927\u5c0f", "hidden_size ", "Hidden_Size", "hidden_size\x00", "\ud800hidden_size", ""]),
    value=nasty,
    setup=st.sampled_from(ENGINE_SETUPS[:3]),
)
def test_unknown_config_keys_change_nothing(row, key, value, setup):
    cfg = dict(row.config, **{key: value})
    custom, known = handle({**setup, "config": cfg}), handle({**setup, "model": row.id})
    assert check(custom) is None, custom
    assert custom["memory"] == known["memory"]


def _mutate_text(text: str, data) -> str:
    how = data.draw(st.sampled_from(["cut", "insert", "number", "wrap", "pad", "dup"]), label="how")
    pos = data.draw(st.integers(0, len(text)), label="pos")
    if how == "cut":
        return text[:pos]
    if how == "insert":
        return (
            text[:pos]
            + data.draw(
                st.sampled_from(['"', "{", "}", "[", "]", ",", ":", "\\", "\x00", "\ud800", "NaN", "-", "1e999", "\ufeff"])
                | HOSTILE_TEXT,
                label="ins",
            )
            + text[pos:]
        )
    if how == "number":
        return text.replace(
            ": " + data.draw(st.sampled_from(["1", "2", "4", "8", "16", "32", "64", "128", "4096"])),
            ": "
            + data.draw(
                st.sampled_from(
                    [
                        "NaN",
                        "Infinity",
                        "-Infinity",
                        "1e999",
                        "-0",
                        "0.0",
                        "1e308",
                        "9" * 30,
                        "9" * 400,
                        "true",
                        "null",
                        "[]",
                        "{}",
                        '"8"',
                    ]
                )
            ),
            1,
        )
    if how == "wrap":
        return data.draw(
            st.sampled_from(["[{}]", '{{"text_config": {}}}', "\ufeff{}", "  \n{}\n  ", "{} {}", "{}x"]), label="wrap"
        ).replace("{}", text, 1)
    if how == "pad":
        return (
            text[:-1]
            + ', "'
            + data.draw(HOSTILE_TEXT, label="k").replace('"', "").replace("\\", "")
            + '": '
            + json.dumps(data.draw(json_values, label="v"))
            + "}"
        )
    return text[:-1] + ", " + text[1:]  # every key twice: json.loads keeps the last


@settings(HOSTILE, max_examples=900)
@given(row=st.sampled_from(ROWS), data=st.data(), setup=st.sampled_from(ENGINE_SETUPS[:3]))
def test_catalog_config_text_mangled(row, data, setup):
    text = _mutate_text(json.dumps(row.config, indent=1), data)
    err = check(handle({**setup, "config": text}))
    if err is not None:
        assert err["field"] is not None and roots(err["field"]) == "config", err
    check_json(json.dumps({**setup, "config": text}))


# ---------------------------------------------------------------------------------------------
# Nasty cases, one by one


LLAMA = catalog.models()["llama-3.2-1b"].config


def _cfg(**changes) -> dict:
    return {**copy.deepcopy(LLAMA), **changes}


def _nested(depth: int) -> dict:
    out = leaf = {}
    for _ in range(depth):
        leaf["x"] = {}
        leaf = leaf["x"]
    return out


# (request, error code or None for a valid result, error field)
CASES = [
    # request values
    ({"context": "\u00b2"}, "bad_value", "context"),  # "²".isdigit() is true, int() refuses it
    ({"context": "\u0663"}, "bad_value", "context"),  # Arabic-Indic 3: not an ASCII number
    ({"context": "9" * 5000}, "out_of_range", "context"),  # int() of 5000 digits raises
    ({"context": " 8192 "}, None, None),
    ({"context": "-5"}, "out_of_range", "context"),
    ({"context": 1e308}, "out_of_range", "context"),
    ({"context": INF}, "bad_value", "context"),
    ({"context": NAN}, "bad_value", "context"),
    ({"context": True}, "bad_value", "context"),
    ({"context": 4096.0}, None, None),
    ({"context": [4096]}, "bad_value", "context"),
    ({"batch": 10**400}, "out_of_range", "batch"),
    ({"gpu_memory_utilization": 10**400}, "out_of_range", "gpu_memory_utilization"),  # float(10**400) overflows
    ({"gpu_memory_utilization": "0.9"}, None, None),
    ({"gpu_memory_utilization": "nan"}, "bad_value", "gpu_memory_utilization"),
    ({"quant": "exl2", "bpw": -(10**400)}, "out_of_range", "bpw"),
    ({"gpus": False}, "bad_value", "gpus"),
    ({"curve": 1}, "bad_value", "curve"),
    ({"engine": {"id": "vllm"}}, "bad_value", "engine"),
    ({"model": "\ud800"}, "unknown_model", "model"),
    ({"\ud800": 1}, "unknown_field", "\ufffd"),  # the field is cleaned so the answer can be written as UTF-8
    ({"lang": "zh-\U0001f999"}, "unknown_lang", "lang"),
    # config as text: never a path to open
    ({"config": "/dev/zero"}, "bad_config", "config"),
    ({"config": "/dev/stdin"}, "bad_config", "config"),
    ({"config": "a\x00b"}, "bad_config", "config"),
    ({"config": "\ud800"}, "bad_config", "config"),
    ({"config": "[1, 2]"}, "bad_config", "config"),
    ({"config": ""}, "bad_config", "config"),
    # Pyodide's json.loads overflows the JavaScript stack (a fatal error) on 20,000 '[': refused unread
    ({"config": "{" * 100_000}, "out_of_range", "config"),
    ({"config": '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}"}, "out_of_range", "config"),
    ({"config": '{"a": ' + "[" * 65 + "]" * 65 + "}"}, "out_of_range", "config"),
    ({"config": '{"a": ' + "[" * 63 + "]" * 63 + "}"}, "missing_field", "config.hidden_size"),
    ({"config": json.dumps({**LLAMA, "a": [[1]] * 9000})}, None, None),  # many lists, shallow
    ({"config": json.dumps({**LLAMA, "a": [[1]] * 10_001})}, "out_of_range", "config"),
    ({"config": '{"hidden_size": ' + "9" * 5000 + "}"}, "out_of_range", "config"),  # int() is quadratic in the digits
    ({"config": '{"hidden_size": ' + "9" * 1000 + "}"}, "out_of_range", "config.hidden_size"),
    ({"config": "\ufeff" + json.dumps(LLAMA)}, None, None),  # a Windows editor's byte-order mark
    ({"config": json.dumps(_cfg(hidden_size=NAN))}, "bad_config", "config.hidden_size"),
    ({"config": json.dumps(LLAMA).replace('"hidden_size": 2048', '"hidden_size": 1e999')}, "bad_config", "config.hidden_size"),
    # config as a dict
    ({"config": _cfg(hidden_size=10**5000)}, "bad_config", "config.hidden_size"),
    ({"config": _cfg(hidden_size=10**400)}, "out_of_range", "config.hidden_size"),
    ({"config": _cfg(hidden_size=2048.0)}, None, None),
    ({"config": _cfg(hidden_size=True)}, "bad_config", "config.hidden_size"),
    ({"config": _cfg(hidden_size=1 << 19)}, "out_of_range", "config.hidden_size"),
    ({"config": _cfg(num_hidden_layers=10**12)}, "out_of_range", "config.num_hidden_layers"),  # used to loop 10^12 times
    ({"config": _cfg(num_hidden_layers=MAX_LAYERS + 1)}, "out_of_range", "config.num_hidden_layers"),
    ({"config": _cfg(num_hidden_layers=MAX_LAYERS)}, None, None),
    ({"config": _cfg(vocab_size=0)}, "bad_config", "config.vocab_size"),
    ({"config": _cfg(num_key_value_heads=3)}, "bad_config", "config.num_key_value_heads"),
    ({"config": _cfg(mystery={1, 2})}, "bad_config", "config.mystery"),
    ({"config": _cfg(x=b"bytes")}, "bad_config", "config.x"),
    ({"config": {**_cfg(), 1: "one"}}, "bad_config", "config"),  # json.dumps cannot sort int and str keys
    ({"config": _cfg(deep=_nested(5000))}, "bad_config", "config.deep.x.x.x"),
    ({"config": _cfg(deep=_nested(60))}, None, None),  # deep, but not too deep, and not read
    ({"config": _cfg(deep=_nested(70))}, "bad_config", "config.deep.x.x.x"),
    ({"config": _cfg(architectures=[["LlamaForCausalLM"]], model_type=None)}, "bad_config", "config.architectures"),
    ({"config": _cfg(rope_scaling={"rope_type": {"nested": [1]}})}, "bad_config", "config.rope_scaling.rope_type"),
    ({"config": _cfg(rope_scaling=[1, 2])}, None, None),  # not an object: no scaling
    ({"config": _cfg(quantization_config={"quant_method": 8})}, "bad_config", "config.quantization_config.quant_method"),
    (
        {"config": _cfg(quantization_config={"quant_method": "fp8", "weight_block_size": [0, 0]})},
        "bad_config",
        "config.quantization_config.weight_block_size",
    ),
    (
        {"config": _cfg(quantization_config={"quant_method": "fp8", "weight_block_size": "128"})},
        "bad_config",
        "config.quantization_config.weight_block_size",
    ),
    ({"config": _cfg(layer_types=[{"x": 1}] * 16)}, "bad_config", "config.layer_types"),
    ({"config": _cfg(layer_types=["full_attention"] * 17)}, "bad_config", "config.layer_types"),
    (
        {"config": _cfg(model_type="qwen2_moe", num_experts=4, num_experts_per_tok=2, mlp_only_layers=[[1]])},
        "bad_config",
        "config.mlp_only_layers",
    ),  # set() of lists raised TypeError
    ({"config": _cfg(num_local_experts=4, experts_per_token=8)}, "bad_config", "config.experts_per_token"),
    ({"config": _cfg(num_local_experts=4, num_experts_per_tok=0)}, "bad_config", "config.num_experts_per_tok"),
    ({"config": _cfg(num_local_experts=4)}, "missing_field", "config.num_experts_per_tok"),
    ({"config": _cfg(hidden_act="x" * 100_000, _name_or_path="\ud800" * 100)}, None, None),
    (
        {
            "config": _cfg(
                vocab_size=1 << 24,
                hidden_size=1 << 18,
                num_attention_heads=1 << 12,
                num_key_value_heads=1 << 12,
                intermediate_size=1 << 20,
                num_hidden_layers=MAX_LAYERS,
                num_local_experts=1 << 14,
                num_experts_per_tok=1,
            )
        },
        "out_of_range",
        "config",
    ),  # 10^17 parameters
    (
        {"config": {"text_config": {**LLAMA, "hidden_size": -1}, "model_type": "gemma3"}},
        "bad_config",
        "config.text_config.hidden_size",
    ),
    (
        {"config": {"text_config": {k: v for k, v in LLAMA.items() if k != "tie_word_embeddings"}, "tie_word_embeddings": "yes"}},
        "bad_config",
        "config.tie_word_embeddings",
    ),  # read from the outer config, and named there
    (
        {"config": {"text_config": "not an object", **{k: v for k, v in LLAMA.items() if k != "vocab_size"}}},
        "missing_field",
        "config.vocab_size",
    ),
    ({"config": []}, "bad_config", "config"),
    ({"config": 5}, "bad_config", "config"),
    ({"config": {}}, "missing_field", "config.hidden_size"),
]


@pytest.mark.parametrize("request_,code,field", CASES, ids=[f"{i}:{c[1]}:{c[2]}" for i, c in enumerate(CASES)])
def test_nasty_cases(request_, code, field):
    req = {"model": "llama-3.2-1b", **request_} if "config" not in request_ else {"engine": "vllm", **request_}
    err = check(handle(req))
    if code is None:
        assert err is None, err
    else:
        assert err is not None and (err["code"], err["field"]) == (code, field), err


def test_five_megabyte_config():
    """A config.json padded to just under 5 MB is read; one character more is refused, by size."""
    text = json.dumps(LLAMA)
    pad = MAX_CONFIG_CHARS - len(text) - len(', "padding": ""')
    big = text[:-1] + ', "padding": "' + "x" * pad + '"}'
    assert len(big) == MAX_CONFIG_CHARS
    answer = handle({"config": big, "engine": "vllm"})
    assert check(answer) is None
    assert answer["memory"] == handle({"model": "llama-3.2-1b", "engine": "vllm"})["memory"]
    bigger = big[:-2] + 'xx"}'
    err = check(handle({"config": bigger, "engine": "vllm"}))
    assert (err["code"], err["field"]) == ("out_of_range", "config")
    err = check(handle({"config": json.loads(bigger), "engine": "vllm"}))
    assert (err["code"], err["field"]) == ("out_of_range", "config")
    # json.loads of 5 MB of numbers takes 0.3 s: more values than any config holds are refused unread
    numbers = text[:-1] + ', "padding": [' + ",".join(["1e308"] * 99_000) + "]}"
    assert check(handle({"config": numbers, "engine": "vllm"})) is None
    err = check(handle({"config": numbers.replace("1e308]", "1e308" + ",1e308" * 2000 + "]"), "engine": "vllm"}))
    assert (err["code"], err["field"]) == ("out_of_range", "config")
    err = check_json(json.dumps({"config": json.loads(numbers.replace("1e308]", "1e308" + ",1e308" * 2000 + "]"))}))
    assert (err["code"], err["field"]) == ("out_of_range", None)  # the request text itself is refused unread


def test_deep_request_text():
    """Refused before json.loads sees it (Pyodide would overflow its stack), as text of any shape."""
    for text in (
        "[" * 100_000,
        '{"config": ' * 50_000,
        '{"config": {"a": ' + "[" * 100_000 + "]" * 100_000 + "}}",
        '{"config": {"a": ' + "[" * 65 + "]" * 65 + "}}",
        "[" * 65 + "]" * 65,
    ):
        err = check_json(text)
        assert err is not None and (err["code"], err["field"]) == ("out_of_range", None), (text[:30], err)
    err = check_json('{"config": {"a": ' + "[" * 60 + "]" * 60 + "}}")
    assert (err["code"], err["field"]) == ("missing_field", "config.hidden_size")
    # config.json as text is one string of the request: its brackets are the config's, not the request's
    err = check_json(json.dumps({"config": '{"a": ' + "[" * 70 + "]" * 70 + "}"}))
    assert (err["code"], err["field"]) == ("out_of_range", "config")
    err = check_json(json.dumps({"config": '{"a": "' + "[" * 70_000 + '", "b": "\\\\", "c": "\\"["}'}))
    assert (err["code"], err["field"]) == ("missing_field", "config.hidden_size")  # brackets in strings do not nest


def test_request_text_numbers():
    """A long number in the request text reaches its field when it can be read cheaply, else is refused unread."""
    err = check_json('{"model": "llama-3.2-1b", "context": 1' + "0" * 400 + "}")
    assert (err["code"], err["field"]) == ("out_of_range", "context")
    err = check_json('{"model": "llama-3.2-1b", "context": ' + "9" * 5000 + "}")
    assert (err["code"], err["field"]) == ("out_of_range", None)
    err = check_json('{"model": "llama-3.2-1b", "context": 1e999}')  # json reads it as infinity
    assert (err["code"], err["field"]) == ("bad_value", "context")
    err = check_json(" " * (6 * MAX_CONFIG_CHARS + 20_000) + "{}")
    assert (err["code"], err["field"]) == ("out_of_range", None)


def test_lone_surrogates_come_back_writable():
    answer = handle({"config": _cfg(_name_or_path="\ud800llama\udfff", hidden_act="\udc00"), "engine": "vllm"})
    assert check(answer) is None
    assert answer["model"]["name"] == "\ufffdllama\ufffd"
    out = handle_json(json.dumps({"config": _cfg(_name_or_path="\ud800"), "engine": "vllm", "\ud800": 1}))
    out.encode("utf-8")


AT_CAP = [
    ("num_hidden_layers", MAX_LAYERS),
    ("hidden_size", 1 << 18),
    ("num_attention_heads", 1 << 14),
    ("head_dim", 1 << 14),
    ("vocab_size", 1 << 24),
    ("intermediate_size", 1 << 20),
    ("max_position_embeddings", 10**13),
]


@pytest.mark.parametrize("key,value", AT_CAP, ids=[k for k, _ in AT_CAP])
def test_largest_accepted_sizes_compute(key, value):
    """Each size at its cap gives a valid answer at the longest context and most sequences, or, where
    the bytes pass 2^53 (past exact JavaScript integers), an out-of-range error naming the context:
    the caps stop absurd values only; one more is out of range, naming the field."""
    cfg = _cfg(**{key: value})
    for setup in ENGINE_SETUPS:
        answer = handle({**setup, "config": cfg, "context": MAX_CONTEXT, "batch": 4096})
        err = check(answer)
        assert err is None or (err["code"], err["field"]) == ("out_of_range", "context"), err
        assert check(handle({**setup, "config": cfg, "context": 131072})) is None
    err = check(handle({"config": _cfg(**{key: value + 1}), "engine": "vllm"}))
    assert (err["code"], err["field"]) == ("out_of_range", "config." + key)


# ---------------------------------------------------------------------------------------------
# GGUF headers (calc/gguf.py, calc/gguf_model.py): any bytes give a result or a clear error, fast


@settings(HOSTILE, max_examples=400)
@given(
    data=st.sampled_from([TINY_GGUF, GEMMA_GGUF]),
    cuts=st.lists(st.tuples(st.integers(0, len(GEMMA_GGUF)), st.integers(0, 255)), max_size=6),
    length=st.integers(0, len(GEMMA_GGUF)),
    op=st.sampled_from(["estimate", "gguf"]),
)
def test_mangled_gguf_headers(data, cuts, length, op):
    """Bytes of a header changed here and there and cut anywhere: a result, or an error naming gguf."""
    raw = bytearray(data)
    for at, byte in cuts:
        if at < len(raw):
            raw[at] = byte
    answer = handle({"op": op, "gguf": _b64(bytes(raw[:length] if length % 3 else raw)), "recommend": False})
    err = check(answer)
    assert err is None or err["field"] == "gguf", err


def _gguf_head(n_tensors: int, n_kv: int) -> bytes:
    return b"GGUF" + struct.pack("<IQQ", 3, n_tensors, n_kv)


def _kv(key: str, value: bytes) -> bytes:
    return struct.pack("<Q", len(key)) + key.encode() + value


LIMIT = 20 * 2**20  # calc/request.py MAX_GGUF_BYTES
# (what is wrong, the header, the error code): each refused within a second of CPython, unloaded
# (python -m bench.hostile times them)
GGUF_CASES = [
    (
        "600,000 tensors claimed and given",
        _gguf_head(635_000, 0) + (_kv("t", struct.pack("<IQIQ", 1, 32, 0, 0)) * 635_000),
        "bad_gguf",
    ),
    (
        "2.6 million empty strings",
        _gguf_head(0, 1) + _kv("k", struct.pack("<IIQ", 9, 8, (LIMIT - 64) // 8)) + bytes(LIMIT - 64),
        "bad_gguf",
    ),
    ("a 16 MiB string", _gguf_head(0, 1) + _kv("k", struct.pack("<IQ", 8, 2**24 + 1)), "bad_gguf"),
    ("an array of 10^15 u8", _gguf_head(0, 1) + _kv("k", struct.pack("<IIQ", 9, 0, 10**15)), "bad_gguf"),
    (
        "100,000 metadata keys",
        _gguf_head(0, 100_000) + b"".join(_kv(f"k{i}", struct.pack("<II", 4, i)) for i in range(100_000)),
        "bad_gguf",
    ),
    # 24 MB of u32: op gguf says it reads no more than 20 MiB; an estimate that the bytes end early
    (
        "a header past the limit",
        _gguf_head(0, 1) + _kv("k", struct.pack("<IIQ", 9, 4, 6_000_000)),
        ("truncated_gguf", "out_of_range"),
    ),
    ("a tensor of 2^40 x 2^40", write(LLAMA_META, [*LLAMA_TENSORS, ("big", (2**40, 2**40), "F32")], data=False), "out_of_range"),
    ("u64 block count", write({**LLAMA_META, "llama.block_count": U64(2**63)}, LLAMA_TENSORS, data=False), "out_of_range"),
    ("negative heads", write({**LLAMA_META, "llama.attention.head_count": -4}, LLAMA_TENSORS, data=False), "bad_config"),
    ("float context", write({**LLAMA_META, "llama.context_length": 4096.0}, LLAMA_TENSORS, data=False), "bad_gguf"),
    ("no tensors", write(LLAMA_META, [], data=False), "bad_gguf"),
]


@pytest.mark.parametrize(("label", "data", "code"), GGUF_CASES, ids=[c[0] for c in GGUF_CASES])
@pytest.mark.parametrize("op", ["estimate", "gguf"])
def test_hostile_gguf_headers_fail_clearly(label, data, code, op):
    err = check(handle({"op": op, "gguf": _b64(data), "recommend": False}))
    code = code if isinstance(code, str) else code[op == "gguf"]
    assert err is not None and (err["code"], err["field"]) == (code, "gguf"), err


def test_gguf_field_values_are_checked():
    for value, code in (
        (5, "bad_value"),
        ([], "bad_value"),
        ([1], "bad_value"),
        ("@@@@", "bad_value"),
        ("R0dVRg", "bad_value"),  # no padding
        ("A" * (4 * LIMIT // 3 + 16), "out_of_range"),
        ([_b64(TINY_GGUF)] * 257, "bad_value"),
    ):
        err = check(handle({"gguf": value}))
        assert (err["code"], err["field"]) == (code, "gguf"), (value if len(str(value)) < 50 else "long", err)
    err = check(handle({"op": "gguf"}))
    assert (err["code"], err["field"]) == ("missing_field", "op")
    err = check(handle({"gguf": _b64(TINY_GGUF), "gguf_name": 5}))
    assert (err["code"], err["field"]) == ("bad_value", "gguf_name")
