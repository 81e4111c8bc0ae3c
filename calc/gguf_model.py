"""A model read from a GGUF file: its header (calc/gguf.py) -> the Model the estimator uses.

The architecture comes from llama.cpp's metadata keys (src/llama-arch.cpp LLM_KV_*: `<arch>.block_count`,
`<arch>.attention.head_count_kv`, ...), mapped onto the config.json keys calc/architecture.py reads, so
a GGUF model goes through the same family table as a catalog model.  The weights are the file's own:
every tensor's stored bytes (its ggml type's blocks) summed per layer, embeddings and output head,
under the format "gguf_file" ("as stored in the file"); the parameter count is the tensors' elements.
Other formats of the same model are replayed from the architecture like any config's.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import replace

from calc.architecture import MAX_LAYERS, parse_config
from calc.cache import lru
from calc.errors import CalcError, clean, show
from calc.formats import WeightBytes, grouped_bytes
from calc.gguf import Gguf, GgufTruncated, compact, read_gguf
from calc.tensors import ParamCounts, enumerate_tensors

FILE_FORMAT = "gguf_file"  # calc/data/formats.toml: the weights as the file stores them

# llama.cpp architecture (general.architecture) -> the config.json model_type whose family row
# (calc/families.py) describes it.  "llama" with experts is Mixtral's layout; "deepseek2" with the
# router's score bias (exp_probs_b) is DeepSeek-V3's.
ARCHS = {
    "llama": "llama",
    "qwen2": "qwen2",
    "qwen2moe": "qwen2_moe",
    "qwen3": "qwen3",
    "qwen3moe": "qwen3_moe",
    "gemma2": "gemma2",
    "gemma3": "gemma3_text",
    "phi3": "phi3",
    "deepseek2": "deepseek_v2",
    "gpt-oss": "gpt_oss",
    "olmo2": "olmo2",
    "command-r": "cohere",
    "glm4moe": "glm4_moe",
}

# At most this many tensors in a GGUF model (DeepSeek-V3's file has 1,025; an old Mixtral file
# with one tensor per expert about 1,000), refused before they are read: a header of 20 MiB could
# claim 600,000, seconds to walk.
MAX_FILE_TENSORS = 20_000

_LAYER = re.compile(r"^blk\.(\d+)\.")
_EMBED = re.compile(r"^token_embd\.")
_HEAD = re.compile(r"^output\.")
_EXPERT = re.compile(r"_exps\b|\.ffn_(?:gate|up|down)\.\d+\.")  # merged experts, or one tensor per expert (old files)


def _bad(message: str) -> CalcError:
    return CalcError("bad_gguf", "gguf", f"the GGUF file's metadata {message}")


class _Meta:
    """Typed reads of `<arch>.` metadata keys; errors name the key."""

    def __init__(self, g: Gguf, arch: str):
        self.meta, self.arch = g.metadata, arch

    def key(self, name: str) -> str:
        return f"{self.arch}.{name}"

    def get(self, name: str):
        return self.meta.get(self.key(name))

    def int(self, name: str, layers: int = 0, required: bool = False) -> int | None:
        """A whole number, or a per-layer array of them that holds one value (llama.cpp writes
        head_count_kv and feed_forward_length per layer for some models)."""
        value = self.get(name)
        if value is None:
            if required:
                raise _bad(f"has no {self.key(name)}")
            return None
        if isinstance(value, list) and value and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            if layers and len(value) != layers:
                raise _bad(f"gives {self.key(name)} for {len(value)} layers, not {layers}")
            if len(set(value)) > 1:
                raise CalcError(
                    "unsupported_gguf",
                    "gguf",
                    f"{self.key(name)} differs between layers ({', '.join(map(str, sorted(set(value))))}); "
                    "this calculator models one value for every layer",
                )
            value = value[0]
        if isinstance(value, bool) or not isinstance(value, int):
            raise _bad(f"has {self.key(name)} = {show(value)}, not a whole number")
        return value

    def str(self, name: str) -> str | None:
        value = self.get(name)
        return clean(value, 80) if isinstance(value, str) else None


def _tensor(g: Gguf, name: str):
    return next((t for t in g.tensors if t.name == name), None)


def config_from_gguf(g: Gguf) -> dict:
    """The config.json keys calc/architecture.py reads, from a GGUF header's metadata."""
    arch = g.architecture
    if not isinstance(arch, str) or not arch:
        raise _bad("has no general.architecture")
    if arch not in ARCHS:
        raise CalcError(
            "unsupported_gguf",
            "gguf",
            f"GGUF architecture {clean(arch, 40)!r} is not one this calculator reads yet (it reads {', '.join(ARCHS)})",
        )
    m = _Meta(g, arch)
    layers = m.int("block_count", required=True)
    if layers > MAX_LAYERS:  # before any per-layer list is made of it
        raise CalcError("out_of_range", "gguf", f"{m.key('block_count')} must be at most {MAX_LAYERS}, got {layers:,}")
    cfg: dict = {
        "model_type": ARCHS[arch],
        "num_hidden_layers": layers,
        "hidden_size": m.int("embedding_length", required=True),
        "num_attention_heads": m.int("attention.head_count", layers, required=True),
        "torch_dtype": "float16" if g.file_type == "F16" else "float32" if g.file_type == "F32" else "bfloat16",
    }
    embd = _tensor(g, "token_embd.weight")
    if embd is None or len(embd.dims) != 2:
        raise _bad("names no 2-D token_embd.weight tensor")
    cfg["vocab_size"] = embd.dims[1]  # ne[0] is the embedding width, ne[1] the vocabulary
    cfg["tie_word_embeddings"] = _tensor(g, "output.weight") is None
    name = g.metadata.get("general.name")
    if isinstance(name, str) and name:
        cfg["_name_or_path"] = name
    for key, value in (
        ("num_key_value_heads", m.int("attention.head_count_kv", layers)),
        ("head_dim", m.int("attention.key_length")),
        ("intermediate_size", m.int("feed_forward_length", layers)),
        ("max_position_embeddings", m.int("context_length")),
        ("sliding_window", m.int("attention.sliding_window")),
        ("num_experts", m.int("expert_count")),
        ("num_experts_per_tok", m.int("expert_used_count")),
        ("moe_intermediate_size", m.int("expert_feed_forward_length")),
        ("shared_expert_intermediate_size", m.int("expert_shared_feed_forward_length")),
    ):
        if value is not None:
            cfg[key] = value
    if cfg.get("num_experts") == 0:
        cfg.pop("num_experts")
        cfg.pop("num_experts_per_tok", None)
    if arch == "llama" and cfg.get("num_experts"):
        cfg["model_type"] = "mixtral"  # Mixtral GGUFs load as LLM_ARCH_LLAMA with experts
    if arch == "llama":
        cfg.pop("sliding_window", None)  # LLM_ARCH_LLAMA attends to every token (Mistral 7B v0.1 included)
    pattern = m.get("attention.sliding_window_pattern")
    if isinstance(pattern, list) and len(pattern) == layers and all(isinstance(p, bool) for p in pattern):
        cfg["layer_types"] = ["sliding_attention" if p else "full_attention" for p in pattern]
    elif isinstance(pattern, int) and not isinstance(pattern, bool) and pattern > 0:
        cfg["sliding_window_pattern"] = pattern  # gemma3: every pattern-th layer global
    if arch == "gpt-oss":
        _gpt_oss(g, cfg, layers, "layer_types" in cfg)
    names = {t.name for t in g.tensors}
    if "blk.0.attn_output.bias" in names:
        cfg["attention_bias"] = True  # biases on q, k, v and o (gpt-oss)
    elif "blk.0.attn_q.bias" in names or "blk.0.attn_qkv.bias" in names:
        cfg["qkv_bias"] = True
    if "blk.0.ffn_up.bias" in names or "blk.0.ffn_down.bias" in names:
        cfg["mlp_bias"] = True
    if arch.startswith("qwen") and "sliding_window" in cfg:
        cfg["use_sliding_window"] = False  # llama.cpp's qwen2/qwen3 attend to every token
    scaling = m.str("rope.scaling.type")
    if scaling and scaling != "none":
        cfg["rope_scaling"] = {"rope_type": scaling}
    if arch == "deepseek2":
        _deepseek2(m, g, cfg)
    if arch == "glm4moe":
        _glm4moe(m, names, cfg)
    _nextn(m, cfg, layers)
    return cfg


def _glm4moe(m: _Meta, names: set, cfg: dict) -> None:
    """llama.cpp LLM_ARCH_GLM4_MOE (llama-model.cpp, PR #14939): the first leading_dense_block_count layers
    dense, expert_shared_count shared experts of the routed width, q/k norms where the file has them
    (GLM-4.5, not -Air), rope over rope.dimension_count of each head (partial_rotary_factor)."""
    cfg["first_k_dense_replace"] = m.int("leading_dense_block_count") or 0
    cfg["n_shared_experts"] = m.int("expert_shared_count") or 0
    cfg["use_qk_norm"] = "blk.0.attn_q_norm.weight" in names
    rope, head = m.int("rope.dimension_count"), cfg.get("head_dim")
    if rope and head:
        cfg["partial_rotary_factor"] = rope / head


def _nextn(m: _Meta, cfg: dict, layers: int) -> None:
    """The multi-token-prediction blocks at the end of block_count: llama.cpp runs, caches and loads
    only the first block_count - nextn_predict_layers (llama-model.cpp LLM_ARCH_GLM4_MOE: TENSOR_SKIP on
    i >= n_layer - nextn_predict_layers, n_layer_kv_from_start = n_layer - nextn_predict_layers)."""
    nextn = m.int("nextn_predict_layers") or 0
    if not 0 < nextn < layers:
        return
    cfg["num_hidden_layers"] = layers - nextn
    cfg["num_nextn_predict_layers"] = nextn
    if isinstance(cfg.get("layer_types"), list):
        cfg["layer_types"] = cfg["layer_types"][: layers - nextn]


def _gpt_oss(g: Gguf, cfg: dict, layers: int, has_pattern: bool) -> None:
    """gpt-oss: llama.cpp LLM_ARCH_OPENAI_MOE slides every other layer, from the first
    (hparams.set_swa_pattern(2)); every expert is as wide as the key the file gives; experts stored in
    MXFP4 are the checkpoint's own format (calc/formats.py keeps them so under every GGUF file type)."""
    if not has_pattern:
        cfg["layer_types"] = ["sliding_attention" if i % 2 == 0 else "full_attention" for i in range(layers)]
    if "intermediate_size" not in cfg and "moe_intermediate_size" in cfg:
        cfg["intermediate_size"] = cfg["moe_intermediate_size"]
    if any(t.ggml_type == "MXFP4" for t in g.tensors):
        cfg["quantization_config"] = {"quant_method": "mxfp4"}


def _deepseek2(m: _Meta, g: Gguf, cfg: dict) -> None:
    """MLA ranks (llama.cpp LLM_ARCH_DEEPSEEK2): key_length = qk_nope + qk_rope, value_length =
    v_head_dim, rope.dimension_count = qk_rope; files converted since llama.cpp PR #12801 store the
    latent sizes in key_length/value_length and the per-head ones in key_length_mla/value_length_mla."""
    rope = m.int("rope.dimension_count", required=True)
    key = m.int("attention.key_length_mla") or m.int("attention.key_length", required=True)
    value = m.int("attention.value_length_mla") or m.int("attention.value_length", required=True)
    if key <= rope:
        raise _bad(f"has {m.key('attention.key_length')} {key}, not above the rope dimension {rope}")
    cfg.update(
        kv_lora_rank=m.int("attention.kv_lora_rank", required=True),
        q_lora_rank=m.int("attention.q_lora_rank") or 0,
        qk_rope_head_dim=rope,
        qk_nope_head_dim=key - rope,
        v_head_dim=value,
        num_key_value_heads=cfg["num_attention_heads"],
    )
    cfg.pop("head_dim", None)
    if cfg.get("num_experts"):
        cfg["first_k_dense_replace"] = m.int("leading_dense_block_count") or 0
        cfg["n_shared_experts"] = m.int("expert_shared_count") or 0
        if any(t.name.endswith("exp_probs_b.bias") for t in g.tensors):
            cfg["model_type"] = "deepseek_v3"


def stored_weights(g: Gguf, layers: int) -> WeightBytes:
    """The file's tensor bytes as the memory plan groups them (calc/formats.py grouped_bytes): per
    decoder layer (blk.N.), the routed experts of each layer, token embeddings, output head, and the
    rest (output norm, rope factors, any layer past block_count such as a multi-token-prediction block)."""
    return grouped_bytes(((t.name, t.nbytes) for t in g.tensors), layers, _LAYER, _EXPERT, _EMBED, _HEAD)


def param_counts(g: Gguf, experts: int, active: int, layers: int | None = None) -> ParamCounts:
    """calc/tensors.py count_params over the file's tensors: total = every element but those of the
    blocks past `layers` (the multi-token-prediction blocks, left out as the catalog's counts leave
    them out); active = total less the idle share (E - k) / E of the routed experts' elements."""

    def kept(name: str) -> bool:
        hit = _LAYER.match(name)
        return layers is None or hit is None or int(hit.group(1)) < layers

    total = g.parameters - sum(t.elements for t in g.tensors if not kept(t.name))
    routed = sum(t.elements for t in g.tensors if _EXPERT.search(t.name) and kept(t.name))
    idle = routed * (experts - active) // experts if experts else 0
    embd = _tensor(g, "token_embd.weight")
    embedding = embd.elements if embd else 0
    tied = _tensor(g, "output.weight") is None
    return ParamCounts(total, total - idle, total - idle if tied else total - idle - embedding, embedding)


def decode_parts(parts: tuple[bytes, ...]) -> list[Gguf]:
    """The headers of a file, or of every part of a split one in order (split.no 0, 1, ...)."""
    out = []
    for i, data in enumerate(parts):
        try:
            g = read_gguf(data, MAX_FILE_TENSORS)
        except GgufTruncated as exc:
            exc.part = i
            raise
        out.append(g)
    return check_parts(out)


def check_parts(out: list[Gguf]) -> list[Gguf]:
    """The headers of every part of a model, checked: a whole file, or each part of a split one
    once, in order."""
    first = out[0].split
    count = first[1] if first else 1
    if first and first[0] != 0:
        raise CalcError("bad_gguf", "gguf", f"this is part {first[0] + 1} of a split model of {count}; give part 1 first")
    if count != len(out):
        raise CalcError(
            "incomplete_gguf",
            "gguf",
            f"the model is split into {count} files; give the header of every part, in order (got {len(out)})",
        )
    for i, g in enumerate(out[1:], 1):
        if g.split != (i, count):
            raise CalcError("bad_gguf", "gguf", f"GGUF part {i + 1} of {count} says it is {_part_name(g)}")
    if sum(len(g.tensors) for g in out) > MAX_FILE_TENSORS:
        raise CalcError("out_of_range", "gguf", f"the GGUF holds more than {MAX_FILE_TENSORS:,} tensors")
    return out


def _part_name(g: Gguf) -> str:
    return f"part {g.split[0] + 1} of {g.split[1]}" if g.split else "not a part of a split model"


_FILES: OrderedDict = OrderedDict()  # key -> Model, the last few GGUF files (a page keeps one at a time)
_FILES_SIZE = 8


def compact_header(parts: tuple[bytes, ...]) -> bytes:
    """The compact header (calc/gguf.py compact) of a file or of every part of a split one."""
    return compact(decode_parts(parts))


def merged_header(headers: list[Gguf]) -> bytes:
    """The compact header of headers already read (the command line reads each part's itself)."""
    return compact(check_parts(headers))


def gguf_model(parts: tuple[bytes, ...], file_name: str | None = None):
    """The Model of a GGUF file from its header bytes (one per part of a split file, or the compact
    header of compact_header); the last few are kept, by a hash of the bytes given."""
    import hashlib  # GGUF models only: a few milliseconds to import in Pyodide

    digest = hashlib.sha256()
    for data in parts:
        digest.update(len(data).to_bytes(8, "little") + data)
    key = "gguf:" + digest.hexdigest()[:20] + ":" + (file_name or "")
    return lru(_FILES, key, lambda: _build(read_gguf(compact_header(parts)), key, file_name), _FILES_SIZE)


def _build(g: Gguf, key: str, file_name: str | None):
    from calc.model import MAX_PARAMS, Model  # model.py imports this module

    cfg = config_from_gguf(g)
    try:
        arch = parse_config(cfg)
    except CalcError as exc:  # name the GGUF, not a config.json field it never had
        raise CalcError(exc.code, "gguf", f"the GGUF file's metadata, read as config.json: {exc.message}") from None
    if arch.mtp_layers:  # the file holds them, whatever the family's converter does (calc/families.py)
        arch = replace(arch, gguf_mtp_blocks=arch.mtp_layers)
    params = param_counts(g, arch.experts, arch.experts_active, arch.layers)
    if params.total > MAX_PARAMS:
        raise CalcError(
            "out_of_range", "gguf", f"the GGUF file holds {params.total:.3g} parameters; the most is {MAX_PARAMS:.0e}"
        )
    source = {"kind": "gguf", "file": file_name, "file_type": g.file_type, "architecture": g.architecture}
    name = cfg.get("_name_or_path") or (file_name or "GGUF file").removesuffix(".gguf")
    return Model(
        "gguf-file",
        "",
        clean(name, 80),
        "gguf",
        arch,
        enumerate_tensors(arch),
        params,
        {},
        (),
        True,
        key,
        stored=stored_weights(g, arch.layers),
        source=source,
    )


# ---------------------------------------------------------------------------------------------
# A multimodal projector file (llama.cpp --mmproj)

_MMPROJ: OrderedDict = OrderedDict()  # (model key, mmproj digest) -> the model with it


def read_mmproj(data: bytes) -> Gguf:
    """An mmproj file's header: llama.cpp's vision (or audio) encoder and projector, written by
    convert_hf_to_gguf.py --mmproj with general.architecture "clip" (tools/mtmd/clip.cpp loads it,
    onto the GPU unless --no-mmproj-offload).  Errors name the request field mmproj."""
    try:
        g = read_gguf(data)
    except GgufTruncated as exc:
        raise CalcError("truncated_gguf", "mmproj", f"mmproj: {exc.message}") from None
    except CalcError as exc:
        raise CalcError(exc.code, "mmproj", f"mmproj: {exc.message}") from None
    if g.architecture != "clip":
        arch = show(g.architecture, 40)
        raise CalcError("bad_gguf", "mmproj", f"mmproj: not a multimodal projector (general.architecture is {arch}, not clip)")
    return g


def with_mmproj(model, data: bytes, file_name: str | None):
    """The model with an mmproj file added: its tensors' bytes as arch.mmproj_bytes, which an engine
    that loads mmproj files (llama.cpp) counts on the first GPU (calc/memory/plan.py)."""
    import dataclasses
    import hashlib

    key = f"{model.key}:mmproj:{hashlib.sha256(data).hexdigest()[:20]}:{file_name or ''}"

    def build():
        g = read_mmproj(data)
        arch = dataclasses.replace(model.arch, mmproj_bytes=g.tensor_bytes, mmproj_name=clean(file_name or "mmproj", 200))
        return dataclasses.replace(model, arch=arch, key=key, derived={})

    return lru(_MMPROJ, key, build, _FILES_SIZE)
