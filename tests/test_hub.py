"""The Hub's pieces read by the core (calc/hub.py): repo ids and URLs, the model API's file list,
the safetensors index and headers, and a Hub model's exact checkpoint bytes under format native."""

from __future__ import annotations

import base64
import json
import struct

import pytest
from gguf_files import LLAMA_META, LLAMA_TENSORS, write
from hub_files import (
    QWEN3_4B,
    QWEN3_4B_BYTES,
    QWEN3_4B_EMBED_BYTES,
    QWEN3_4B_LAYER_BYTES,
    header,
    llama_like_tensors,
    raw_header,
    shards,
)

from calc.api import handle
from calc.errors import CalcError
from calc.hub import (
    MAX_SAFETENSORS_HEADER,
    HubRef,
    SafetensorsTruncated,
    checkpoint_bytes,
    header_length,
    index_shards,
    listing,
    parse_ref,
    read_safetensors,
)

NO_EXTRAS = {"recommend": False, "curve": False}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@pytest.mark.parametrize(
    "text, revision, want",
    [
        ("Qwen/Qwen3-4B", None, ("Qwen/Qwen3-4B", "main", None)),
        ("  Qwen/Qwen3-4B  ", "v1.0", ("Qwen/Qwen3-4B", "v1.0", None)),
        ("https://huggingface.co/Qwen/Qwen3-4B", None, ("Qwen/Qwen3-4B", "main", None)),
        ("https://huggingface.co/Qwen/Qwen3-4B/", None, ("Qwen/Qwen3-4B", "main", None)),
        ("https://hf.co/Qwen/Qwen3-4B/tree/dev", None, ("Qwen/Qwen3-4B", "dev", None)),
        ("https://huggingface.co/Qwen/Qwen3-4B/tree/refs%2Fpr%2F3", None, ("Qwen/Qwen3-4B", "refs/pr/3", None)),
        (
            "https://huggingface.co/unsloth/Qwen3-4B-GGUF/blob/main/Qwen3-4B-Q4_K_M.gguf",
            None,
            ("unsloth/Qwen3-4B-GGUF", "main", "Qwen3-4B-Q4_K_M.gguf"),
        ),
        (
            "https://huggingface.co/unsloth/X-GGUF/resolve/abc123/UD-Q4_K_XL/X-UD-Q4_K_XL-00001-of-00002.gguf?download=true",
            None,
            ("unsloth/X-GGUF", "abc123", "UD-Q4_K_XL/X-UD-Q4_K_XL-00001-of-00002.gguf"),
        ),
        ("https://huggingface.co/Qwen/Qwen3-4B/tree/main", "main", ("Qwen/Qwen3-4B", "main", None)),
    ],
)
def test_repo_ids_and_hub_urls_normalise(text, revision, want):
    assert tuple(parse_ref(text, revision)[:3]) == want


@pytest.mark.parametrize(
    "text, revision, words",
    [
        ("Qwen3-4B", None, "owner/name"),
        ("a/b/c", None, "owner/name"),
        ("Qwen/Qwen3--4B", None, "letters"),
        ("https://example.com/Qwen/Qwen3-4B", None, "is not the Hub"),
        ("https://huggingface.co/datasets/foo/bar", None, "no model repo"),
        ("https://huggingface.co/Qwen", None, "no model repo"),
        ("https://huggingface.co/Qwen/Qwen3-4B/discussions/3", None, "not tree/"),
        ("https://huggingface.co/Qwen/Qwen3-4B/tree/main/sub", None, "names a folder"),
        ("https://huggingface.co/Qwen/Qwen3-4B/blob/main/../x.gguf", None, "not a path"),
        ("https://huggingface.co/Qwen/Qwen3-4B/tree/dev", "main", "names revision 'dev'"),
        ("Qwen/Qwen3-4B", "../x", "not a branch"),
    ],
)
def test_bad_references_say_what_is_wrong(text, revision, words):
    with pytest.raises(CalcError) as err:
        parse_ref(text, revision)
    assert words in err.value.message


def test_the_test_endpoint_counts_as_the_hub_only_when_given():
    url = "http://127.0.0.1:8123/org/model/resolve/main/m.gguf"
    assert parse_ref(url, endpoint="http://127.0.0.1:8123") == HubRef("org/model", "main", "m.gguf")
    with pytest.raises(CalcError):
        parse_ref(url)


API = {
    "id": "org/model-GGUF",
    "sha": "0123456789abcdef0123456789abcdef01234567",
    "gated": False,
    "siblings": [
        {"rfilename": "README.md"},
        {"rfilename": "config.json"},
        {"rfilename": "model-00001-of-00002.safetensors"},
        {"rfilename": "model-00002-of-00002.safetensors"},
        {"rfilename": "model.safetensors.index.json"},
        {"rfilename": "model-Q4_K_M.gguf", "size": 100},
        {"rfilename": "model-IQ3_XS.gguf", "size": 50},
        {"rfilename": "model-Q6_K_L.gguf"},
        {"rfilename": "mmproj-model-f16.gguf"},
        {"rfilename": "UD-Q4_K_XL/model-UD-Q4_K_XL-00002-of-00002.gguf", "size": 7},
        {"rfilename": "UD-Q4_K_XL/model-UD-Q4_K_XL-00001-of-00002.gguf", "size": 5},
        {"rfilename": "BF16/model-BF16-00001-of-00003.gguf", "size": 5},
        {"rfilename": "BF16/model-BF16-00003-of-00003.gguf", "size": 5},
    ],
}


def test_the_model_api_listing_groups_gguf_files_by_quant_and_split():
    ls = listing(API)
    assert ls.config and ls.index == "model.safetensors.index.json" and not ls.gated
    assert ls.safetensors == ("model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors")
    assert ls.mmproj == ("mmproj-model-f16.gguf",)
    got = {g.quant: (g.files, g.size) for g in ls.gguf}
    assert got == {
        "UD-Q4_K_XL": (
            ("UD-Q4_K_XL/model-UD-Q4_K_XL-00001-of-00002.gguf", "UD-Q4_K_XL/model-UD-Q4_K_XL-00002-of-00002.gguf"),
            12,
        ),
        "IQ3_XS": (("model-IQ3_XS.gguf",), 50),
        "Q4_K_M": (("model-Q4_K_M.gguf",), 100),
        "Q6_K_L": (("model-Q6_K_L.gguf",), None),  # no size listed
    }  # BF16 lacks its part 2 in the listing: not offered


def test_the_tree_api_listing_reads_too_and_op_hub_answers_it():
    tree = [
        {"type": "directory", "path": "sub"},
        {"type": "file", "path": "config.json", "size": 700},
        {"type": "file", "path": "model.safetensors", "size": 8000},
    ]
    ls = listing(tree)
    assert ls.config and ls.safetensors == ("model.safetensors",) and ls.gguf == () and ls.index is None
    answer = handle({"op": "hub", "hub": "https://huggingface.co/org/model-GGUF/tree/v2", "hub_listing": API})
    assert answer["ok"], answer
    assert (answer["repo"], answer["revision"], answer["sha"]) == ("org/model-GGUF", "v2", API["sha"])
    assert answer["gguf"][0] == {"quant": "IQ3_XS", "files": ["model-IQ3_XS.gguf"], "size": 50}
    assert handle({"op": "hub", "hub": "Qwen/Qwen3-4B"})["listed"] is False


@pytest.mark.parametrize("bad", [{"siblings": 3}, "text", {"no": "siblings"}])
def test_a_listing_that_is_not_one_is_a_clear_error(bad):
    answer = handle({"op": "hub", "hub": "org/model", "hub_listing": bad})
    assert not answer["ok"] and answer["error"]["code"] == "bad_hub_listing"


def test_the_index_names_its_shards_once_each():
    files, index = shards(llama_like_tensors(QWEN3_4B), 3)
    assert index_shards(json.dumps(index)) == tuple(sorted(files))
    for bad, words in [
        ({"weight_map": {}}, "no weight_map"),
        ({"weight_map": {"a": "x.bin"}}, "maps a tensor to"),
        ({"weight_map": {"a": "../x.safetensors"}}, "not a path"),
        ("{", "not valid JSON"),
    ]:
        with pytest.raises(CalcError) as err:
            index_shards(bad)
        assert words in err.value.message


def test_a_header_is_read_in_two_steps_length_then_json():
    data = header([("a", "BF16", [3, 4]), ("b", "F32", [5])], {"format": "pt"}, pad=6)
    n = struct.unpack("<Q", data[:8])[0]
    assert header_length(data[:8]) == 8 + n == len(data)
    with pytest.raises(SafetensorsTruncated) as err:
        read_safetensors(data[:8])
    assert err.value.needed == len(data)
    tensors = read_safetensors(data)
    assert [(t.name, t.dtype, t.shape, t.nbytes) for t in tensors] == [("a", "BF16", (3, 4), 24), ("b", "F32", (5,), 20)]


def _t(dtype="BF16", shape=(2, 2), offsets=(0, 8)):
    return {"dtype": dtype, "shape": list(shape), "data_offsets": list(offsets)}


@pytest.mark.parametrize(
    "data, code, words",
    [
        (b"\x05\x00\x00", "truncated_safetensors", "needs 8 bytes"),
        (struct.pack("<Q", MAX_SAFETENSORS_HEADER + 1), "out_of_range", "more than the 16 MiB"),
        (struct.pack("<Q", 2**63) + b"{}", "out_of_range", "claims"),
        (struct.pack("<Q", 100) + b"{}", "truncated_safetensors", "needs 108 bytes"),
        (raw_header(b"[1, 2]"), "bad_safetensors", "start with '{'"),
        (raw_header(b'{"a": '), "bad_safetensors", "not valid JSON"),
        (raw_header(b"{\xff}"), "bad_safetensors", "not UTF-8"),
        (raw_header({}), "bad_safetensors", "no tensors"),
        (raw_header({"a": _t(dtype="Q4")}), "unsupported_safetensors", "dtype 'Q4'"),
        (raw_header({"a": _t(shape=(2, -1))}), "bad_safetensors", "has shape"),
        (raw_header({"a": _t(offsets=(8, 0))}), "bad_safetensors", "data_offsets"),
        (raw_header({"a": _t(offsets=(0, 9))}), "bad_safetensors", "needs 8 bytes but its data_offsets give 9"),
        (raw_header({"a": _t(), "b": _t(offsets=(4, 12))}), "bad_safetensors", "starts at 4, not at 8"),
        (raw_header({"a": _t(offsets=(8, 16))}), "bad_safetensors", "starts at 8, not at 0"),
        (raw_header({"__metadata__": 3, "a": _t()}), "bad_safetensors", "__metadata__"),
        (raw_header(b"[" * 100_000), "bad_safetensors", "start with"),
        (raw_header(b'{"a":' + b"[" * 100_000), "bad_safetensors", "not valid JSON"),
    ],
)
def test_bad_headers_are_clear_errors(data, code, words):
    with pytest.raises(CalcError) as err:
        read_safetensors(data, "model.safetensors")
    assert err.value.code == code and words in err.value.message, err.value.message


def test_qwen3_4b_checkpoint_bytes_are_its_published_total():
    tensors = read_safetensors(header(llama_like_tensors(QWEN3_4B)))
    ck = checkpoint_bytes([tensors], QWEN3_4B["num_hidden_layers"])
    w = ck.weights
    assert w.total == QWEN3_4B_BYTES
    assert w.per_layer == (QWEN3_4B_LAYER_BYTES,) * 36
    assert (w.embed, w.head, w.final_norm) == (QWEN3_4B_EMBED_BYTES, 0, 2560 * 2)
    assert ck.dtypes == {"BF16": QWEN3_4B_BYTES} and ck.tensors == 36 * 11 + 2


def test_experts_towers_and_extra_layers_are_grouped():
    names = [
        ("model.layers.0.mlp.experts.0.up_proj.weight", "BF16", [4, 4]),  # 32: layer 0, routed expert
        ("model.layers.0.mlp.shared_experts.up_proj.weight", "BF16", [4, 2]),  # 16: layer 0, not routed
        ("model.layers.2.self_attn.q_proj.weight", "BF16", [2, 2]),  # 8: past 2 layers (MTP): unloaded
        ("model.vision_tower.encoder.layers.0.mlp.fc1.weight", "F32", [2, 2]),  # 16: tower, the rest
        ("lm_head.weight", "F16", [3, 2]),  # 12
        ("model.embed_tokens.weight", "BF16", [3, 2]),  # 12
    ]
    ck = checkpoint_bytes([read_safetensors(header(names))], 2)
    w = ck.weights
    assert (w.per_layer, w.expert_per_layer, w.embed, w.head, w.final_norm) == ((48, 0), (32, 0), 12, 12, 16)
    assert ck.tower_bytes == 16 and w.unloaded == 8 and w.total == 96  # vLLM and transformers skip the MTP layer
    with pytest.raises(CalcError, match="in two shard files"):
        checkpoint_bytes([read_safetensors(header(names[:1])), read_safetensors(header(names[:1]))], 2)


def hub_estimate(cfg, headers, **fields):
    req = {"hub": {"repo": "Qwen/Qwen3-4B", "revision": "main"}, "config": cfg, **NO_EXTRAS, **fields}
    if headers is not None:
        req["safetensors"] = [b64(h) for h in headers]
    answer = handle(req)
    assert answer["ok"], answer.get("error")
    return answer


def test_a_hub_model_with_headers_is_native_by_default_and_weighs_its_bytes():
    files, _ = shards(llama_like_tensors(QWEN3_4B), 2)
    answer = hub_estimate(QWEN3_4B, list(files.values()), engine="vllm")
    assert answer["request"]["quant"] == "native"
    assert answer["memory"]["weights_bytes"] == QWEN3_4B_BYTES
    src = answer["model"]["source"]
    assert src["kind"] == "hub" and (src["repo"], src["revision"]) == ("Qwen/Qwen3-4B", "main")
    assert (src["checkpoint_bytes"], src["dtypes"], src["files"]) == (QWEN3_4B_BYTES, {"BF16": QWEN3_4B_BYTES}, 2)
    assert answer["model"]["name"] == "Qwen3-4B"
    # a BF16 checkpoint's headers agree with the bytes replayed from its config
    replayed = hub_estimate(QWEN3_4B, None, engine="vllm", quant="native")
    assert replayed["memory"]["weights_bytes"] == QWEN3_4B_BYTES
    assert replayed["model"]["source"] == {"kind": "hub", "repo": "Qwen/Qwen3-4B", "revision": "main", "sha": None, "file": None}


def test_an_fp8_checkpoints_headers_count_its_scales():
    cfg = {**QWEN3_4B, "quantization_config": {"quant_method": "fp8", "weight_block_size": [128, 128]}}
    tensors = llama_like_tensors(QWEN3_4B, fp8=True)
    want = sum(-(-eval("*".join(map(str, s))) * {"BF16": 2, "F32": 4, "F8_E4M3": 1}[d] // 1) for _, d, s in tensors)
    answer = hub_estimate(cfg, [header(tensors)], engine="vllm")
    assert answer["memory"]["weights_bytes"] == want
    assert set(answer["model"]["source"]["dtypes"]) == {"F8_E4M3", "F32", "BF16"}
    # another format is still replayed from the architecture
    q4 = hub_estimate(cfg, [header(tensors)], quant="q4_k_m")
    assert q4["memory"]["weights_bytes"] < want


def test_a_hub_gguf_says_the_repo_and_the_file():
    data = write(LLAMA_META, LLAMA_TENSORS, data=False)
    answer = handle(
        {
            "hub": {"repo": "org/model-GGUF", "revision": "main", "file": "m-Q4_K_M.gguf"},
            "gguf": b64(data),
            "gguf_name": "m-Q4_K_M.gguf",
            **NO_EXTRAS,
        }
    )
    assert answer["ok"], answer
    src = answer["model"]["source"]
    assert (src["kind"], src["repo"], src["file"], src["architecture"]) == ("hub", "org/model-GGUF", "m-Q4_K_M.gguf", "llama")
    assert answer["request"]["quant"] == "gguf_file"


@pytest.mark.parametrize(
    "req, code, field",
    [
        ({"hub": "org/model"}, "missing_field", "hub"),
        ({"config": QWEN3_4B, "safetensors": ["AAAA"]}, "missing_field", "safetensors"),
        ({"hub": "org/model", "config": QWEN3_4B, "model": "qwen3-8b"}, "conflicting_fields", "config"),
        ({"op": "hub", "hub": "org/model", "model": "qwen3-8b"}, "conflicting_fields", "hub"),
        ({"hub": 5, "config": QWEN3_4B}, "bad_value", "hub"),
        ({"hub": {"repo": "org/model", "token": "x"}, "config": QWEN3_4B}, "unknown_field", "hub"),
        ({"hub": "org/model", "config": QWEN3_4B, "safetensors": ["!!"]}, "bad_value", "safetensors"),
        ({"hub": "org/model", "config": QWEN3_4B, "safetensors": [b64(b"\x01" * 8)]}, "out_of_range", "safetensors"),
        ({"op": "hub"}, "missing_field", "hub"),
        ({"op": "hub", "hub": "nope"}, "bad_hub_ref", "hub"),
    ],
)
def test_bad_hub_requests_name_the_field(req, code, field):
    answer = handle({**req, **NO_EXTRAS})
    assert not answer["ok"] and (answer["error"]["code"], answer["error"]["field"]) == (code, field), answer
