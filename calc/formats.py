"""Weight formats: the storage type of every tensor, and the bytes that makes.

Non-GGUF formats map tensor kinds (linear / embed / head / other) to a storage type.  GGUF formats
replay llama.cpp's per-tensor choice (llama_tensor_get_type in src/llama-quant.cpp) from the rules
in formats.toml.  "native" reads the checkpoint's own config: torch_dtype, FP8 block scales,
MXFP4 experts.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from calc import catalog
from calc.architecture import Architecture
from calc.cache import lru
from calc.catalog import Dtype, Format
from calc.errors import CalcError
from calc.quant_config import native_quant, skipped
from calc.tensors import EMBED, HEAD, LINEAR_W, OTHER, Tensor, gguf_mtp_tensors

# llama-quant.cpp: a type whose block does not divide the row length falls back to one that does
# (the switch after "tensor cols ... are not divisible by"): K/IQ types -> legacy 32-element blocks.
GGUF_FALLBACK = {
    "q2_k": "iq4_nl",
    "q3_k": "iq4_nl",
    "iq2_xxs": "iq4_nl",
    "iq2_xs": "iq4_nl",
    "iq2_s": "iq4_nl",
    "iq3_xxs": "iq4_nl",
    "iq3_s": "iq4_nl",
    "iq1_s": "iq4_nl",
    "iq1_m": "iq4_nl",
    "iq4_xs": "iq4_nl",
    "q4_k": "q5_0",
    "q5_k": "q5_1",
    "q6_k": "q8_0",
    "tq1_0": "q4_0",  # ternary types -> Q4_0 (llama-quant.cpp tensor_type_fallback, 2025 and since)
    "tq2_0": "q4_0",
}

# convert_hf_to_gguf.py keeps these in F32 whatever the file type: 1-D tensors (norms, biases), the
# MoE router (FFN_GATE_INP) and SSM convolution/state tensors; llama-quantize leaves them alone.
_GGUF_F32_NAMES = ("ffn_gate_inp", "ssm_conv1d", "ssm_a", "ssm_d", "ssm_dt", "ssm_norm")


def use_more_bits(i: int, n: int) -> bool:
    """llama-quant.cpp use_more_bits: the first and last eighth, and every third layer between."""
    return i < n // 8 or i >= 7 * n // 8 or (i - n // 8) % 3 == 2


@dataclass(frozen=True)
class _RuleContext:
    n_gqa: int
    experts: int
    layers80: bool


# The tests llama-quant.cpp's llama_tensor_get_type makes, by the names formats.toml's rules use.  Each
# predicate takes (i, n, ctx): the tensor's index among the tensors of its rule key, how many there are,
# and the model-wide facts in _RuleContext.  catalog.formats() rejects a rule naming any other condition.
GGUF_CONDITIONS: dict[str, Callable[[int, int, _RuleContext], bool]] = {
    "always": lambda i, n, ctx: True,
    "more_bits": lambda i, n, ctx: use_more_bits(i, n),
    "first_eighth": lambda i, n, ctx: i < n // 8,  # i_layer < n_layer/8
    "first_sixteenth": lambda i, n, ctx: i < n // 16,  # i_layer < n_layer/16
    "first2": lambda i, n, ctx: i < 2,  # Q3_K_M attn_v: qs.i_attention_wv < 2
    "first4": lambda i, n, ctx: i < 4,  # Q4_K_S attn_v: qs.i_attention_wv < 4
    "gqa4": lambda i, n, ctx: ctx.n_gqa >= 4,  # qs.model.hparams.n_gqa() >= 4
    "experts4": lambda i, n, ctx: ctx.experts >= 4,  # qs.model.hparams.n_expert >= 4
    "experts8": lambda i, n, ctx: ctx.experts == 8,  # qs.model.hparams.n_expert == 8 (Mixtral-style)
    "layers80": lambda i, n, ctx: ctx.layers80,  # qs.model.type == LLM_TYPE_70B
    # IQ3_XS/IQ3_S attn_v: Q4_K when n_gqa >= 4, then the 70B bump of a Q4_K to Q5_K
    "gqa4_layers80": lambda i, n, ctx: ctx.n_gqa >= 4 and ctx.layers80,
    "middle": lambda i, n, ctx: n // 8 <= i < 7 * n // 8,  # IQ3_XS ffn_gate/ffn_up: i_layer in [n/8, 7n/8)
}

# The tensor names llama_tensor_get_type tests, whole (_RULE_NAMES) or as a prefix (_RULE_STEMS: ffn_down
# matches ffn_down_exps too); formats.toml rules are keyed by these.
_RULE_NAMES = ("output", "token_embd", "attn_v", "attn_k", "attn_q", "attn_output", "attn_qkv")
_RULE_STEMS = ("ffn_down", "ffn_gate", "ffn_up")
GGUF_RULE_KEYS = _RULE_NAMES + _RULE_STEMS


def parse_rule(rule: str) -> tuple[str, str]:
    """A formats.toml rule "condition=type" as (condition, type)."""
    cond, _, target = rule.partition("=")
    return cond, target


def _rule_key(name: str, tied: bool) -> str:
    """The llama-quant.cpp name test a tensor falls under (ffn_down matches ffn_down_exps too)."""
    if name == "token_embd" and tied:
        return "output"  # with no output tensor, token_embd takes the output's type
    if name in _RULE_NAMES:
        return name
    for stem in _RULE_STEMS:
        if name.startswith(stem):
            return stem
    return ""


@dataclass(frozen=True)
class _Slot:
    """A tensor as the GGUF rules see it: its rule key, its index among tensors of that key and
    how many there are; `fixed` when no rule applies (F32 tensors, gpt-oss's MXFP4 experts)."""

    tensor: Tensor
    key: str
    i: int
    n: int
    fixed: str


# The slots of the last few models' tensors (a model's weight tables for every format are built
# together, for the best-format answer); few, so an evicted custom model is not kept alive here.
_SLOTS: OrderedDict = OrderedDict()
_SLOTS_SIZE = 8


def _kept(cache: OrderedDict, tensors: tuple[Tensor, ...], make):
    """make(), kept in `cache` (calc/cache.py lru) by the identity of a model's tensor tuple, the last
    _SLOTS_SIZE models only; the tuple is kept beside its value, so its id is not reused while the
    entry lives."""
    return lru(cache, id(tensors), lambda: (tensors, make()), _SLOTS_SIZE)[1]


def _slots(a: Architecture, tensors: tuple[Tensor, ...]) -> list[_Slot]:
    """The format-independent half of llama_tensor_get_type for every tensor, once per model."""
    return _kept(_SLOTS, tensors, lambda: _make_slots(a, tensors))


def _make_slots(a: Architecture, tensors: tuple[Tensor, ...]) -> list[_Slot]:
    totals: dict[str, int] = {}
    for t in tensors:
        key = _rule_key(t.name, a.tied_embeddings)
        totals[key] = totals.get(key, 0) + 1
    # llama-quant.cpp sets n_ffn_down = n_ffn_gate = n_ffn_up to the GGUF's block count (hparams.n_layer;
    # n_layer_all, NextN/MTP blocks included, since the tensor_category refactor), not to the number of
    # tensors the name test matches: a MoE layer's ffn_down_exps and ffn_down_shexp are one layer of n.
    blocks = 1 + max((t.layer for t in tensors), default=-1)
    for stem in _RULE_STEMS:
        if stem in totals:
            totals[stem] = blocks
    seen: dict[str, int] = {}
    out = []
    for t in tensors:
        if t.kind == OTHER or t.rows == 1 or t.name.startswith(_GGUF_F32_NAMES):
            out.append(_Slot(t, "", 0, 0, "f32"))
            continue
        if a.quant_method == "mxfp4" and t.expert:
            out.append(_Slot(t, "", 0, 0, "mxfp4"))  # gpt-oss GGUFs keep the experts in MXFP4 at every file type
            continue
        key = _rule_key(t.name, a.tied_embeddings)
        i = seen.get(key, 0)
        seen[key] = i + 1
        if key in _RULE_STEMS and a.experts > 1:
            i = t.layer  # llama-quant.cpp layer_info(): MoE FFN tensors take the layer from their name
        out.append(_Slot(t, key, i, totals[key], ""))
    return out


def _rules(fmt: Format) -> dict[str, tuple]:
    """formats.toml rules of a GGUF format as {key: ((predicate, type), ...)} (conditions checked at load)."""
    out = {}
    for key, rules in fmt.rules.items():
        out[key] = tuple((GGUF_CONDITIONS[cond], target) for cond, target in map(parse_rule, rules))
    return out


def _gguf_types(a: Architecture, fmt: Format, tensors: tuple[Tensor, ...], moe_down_rules: bool = True) -> list[str]:
    """The GGUF storage type of each tensor, in order.  moe_down_rules=False replays llama-quantize
    before PR #4872 (2024-01-11, "Restore intended k-quants quantization mixes for MoE models"), whose
    ffn_down rules never matched MoE expert tensors: they kept the file type's base type."""
    ctx = _RuleContext(a.heads // a.kv_heads, a.experts, a.llamacpp_70b)
    dtypes = catalog.dtypes()
    rules = _rules(fmt)
    out = []
    for slot in _slots(a, tensors):
        if slot.fixed:
            out.append(slot.fixed)
            continue
        t, key = slot.tensor, slot.key
        if fmt.expert_type and t.expert and t.count > 1:
            out.append(fmt.expert_type)  # MXFP4_MOE: 3-D expert tensors (ne[2] > 1) in MXFP4, the rest Q8_0
            continue
        dtype = fmt.base
        skip = key == "ffn_down" and t.expert and not moe_down_rules
        for holds, target in () if skip else rules.get(key, ()):
            if holds(slot.i, slot.n, ctx):
                dtype = target
                break
        while t.cols % dtypes[dtype].block_elems:
            dtype = GGUF_FALLBACK.get(dtype, "f16")
        out.append(dtype)
    return out


# Our tensor names -> the Hugging Face module they come from (modeling_*.py), for a checkpoint's list of
# modules left unquantized (modules_to_not_convert, ignore, exclude_modules: calc/quant_config.py skipped).
_HF_MODULES = {
    "attn_q": "self_attn.q_proj",
    "attn_k": "self_attn.k_proj",
    "attn_v": "self_attn.v_proj",
    "attn_qkv": "self_attn.qkv_proj",
    "attn_output": "self_attn.o_proj",
    "attn_q_a": "self_attn.q_a_proj",
    "attn_q_b": "self_attn.q_b_proj",
    "attn_kv_a_mqa": "self_attn.kv_a_proj_with_mqa",
    "attn_kv_b": "self_attn.kv_b_proj",
    "ffn_gate": "mlp.gate_proj",
    "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
    "ffn_gate_exps": "mlp.experts.gate_proj",
    "ffn_up_exps": "mlp.experts.up_proj",
    "ffn_down_exps": "mlp.experts.down_proj",
    "ffn_gate_shexp": "mlp.shared_experts.gate_proj",
    "ffn_up_shexp": "mlp.shared_experts.up_proj",
    "ffn_down_shexp": "mlp.shared_experts.down_proj",
    "ffn_gate_inp": "mlp.gate",
    "ssm_in": "linear_attn.in_proj",
    "ssm_out": "linear_attn.out_proj",
}


def _hf_module(t: Tensor) -> str:
    if t.kind == HEAD:
        return "lm_head"
    if t.kind == EMBED:
        return "model.embed_tokens"
    return f"model.layers.{t.layer}.{_HF_MODULES.get(t.name, t.name)}"


def _native_types(a: Architecture, tensors: tuple[Tensor, ...]) -> list[Dtype]:
    """Storage of each tensor in the checkpoint as released (calc/quant_config.py NativeQuant): the
    quantized type on 2-D projections not named in the skip list (and on lm_head only where the config
    quantizes it), the experts' own type where it differs (MXFP4), torch_dtype for the rest."""
    nq = a.native or native_quant(None, a.dtype, "")
    out = []
    for t in tensors:
        d = nq.base
        if t.kind == LINEAR_W or (t.kind == HEAD and nq.head):
            if t.expert and nq.experts is not None:
                d = nq.experts
            elif nq.linear is not None and not (nq.skip and skipped(nq.skip, _hf_module(t))):
                d = nq.linear
        out.append(d)
    return out


def _kind_map(a: Architecture, fmt: Format) -> dict[str, str]:
    out = {LINEAR_W: fmt.linear, EMBED: fmt.embed, HEAD: fmt.head, OTHER: fmt.other}
    out["expert"] = fmt.linear
    return out


def bpw_dtype(bits: float) -> Dtype:
    """A storage type of `bits` per weight (EXL2's chosen average), in 1/8-bit steps over 64 elements."""
    return Dtype(id=f"bpw{bits:g}", block_elems=64, block_bytes=round(bits * 8), source="chosen bits per weight")


def tensor_types(
    a: Architecture, fmt: Format, tensors: tuple[Tensor, ...], bpw: float | None = None, moe_down_rules: bool = True
) -> list[Dtype]:
    """The storage type of every tensor under a format (moe_down_rules: see _gguf_types)."""
    known = catalog.dtypes()
    if fmt.is_gguf:
        return [known[d] for d in _gguf_types(a, fmt, tensors, moe_down_rules)]
    if fmt.id == "native":
        return _native_types(a, tensors)
    kinds = _kind_map(a, fmt)
    out = []
    for t in tensors:
        key = "expert" if t.expert and t.kind == LINEAR_W else t.kind
        name = kinds[key]
        if name == "bpw":
            if bpw is None:
                raise CalcError("missing_field", "bpw", f"format {fmt.id} needs bits per weight (bpw)")
            out.append(bpw_dtype(bpw))
        else:
            out.append(known[name])
    return out


@dataclass(frozen=True)
class WeightBytes:
    """Per-tensor bytes, summed the ways the memory model needs them."""

    per_layer: tuple  # bytes of each decoder layer
    embed: int  # token embedding table
    head: int  # output projection (0 when tied: see head_on_device)
    final_norm: int
    expert_per_layer: tuple  # bytes of the routed experts in each layer (for speed: top-k read)
    total: int  # every tensor stored, `unloaded` included: the file's size
    # Stored but never loaded by the engines: the multi-token-prediction blocks past the decoder
    # layers (llama.cpp skips them, TENSOR_SKIP; vLLM's load_weights skips "spec decode layers";
    # transformers builds num_hidden_layers layers).  In `total`, in no device's memory.
    unloaded: int = 0

    @property
    def loaded(self) -> int:
        """The bytes an engine loads: total - unloaded."""
        return self.total - self.unloaded


def grouped_bytes(
    named, layers: int, layer: re.Pattern, expert: re.Pattern, embed: re.Pattern, head: re.Pattern, rest: re.Pattern | None = None
) -> WeightBytes:
    """Stored tensors' bytes ((name, bytes) pairs, from a GGUF or safetensors header) grouped as the
    memory plan needs them: per decoder layer (`layer`'s first group, below `layers`) with its routed
    experts (`expert`), the token embeddings (`embed`), the output head (`head`), the rest (final
    norm and every name `rest` matches, checked first: a vision tower's names hold layers.N. too),
    and apart, as `unloaded`, any layer past `layers`: a multi-token-prediction block (GLM-4.5's
    model.layers.92 / blk.92, DeepSeek-V3's model.layers.61), which no engine loads by default."""
    per_layer, experts = [0] * layers, [0] * layers
    emb = out = other = unloaded = 0
    for name, n in named:
        if rest is not None and rest.search(name):
            other += n
            continue
        hit = layer.search(name)
        i = int(hit.group(1)) if hit else -1
        if 0 <= i < layers:
            per_layer[i] += n
            if expert.search(name):
                experts[i] += n
        elif hit:
            unloaded += n
        elif embed.search(name):
            emb += n
        elif head.search(name):
            out += n
        else:
            other += n
    total = sum(per_layer) + emb + out + other + unloaded
    return WeightBytes(tuple(per_layer), emb, out, other, tuple(experts), total, unloaded)


def file_tensors(a: Architecture, tensors: tuple[Tensor, ...], fmt: Format) -> tuple[Tensor, ...]:
    """The tensors a file of this format holds: the model's, and for a GGUF the multi-token-prediction
    blocks its converter keeps (calc/tensors.py gguf_mtp_tensors), last.  llama-quant.cpp sees them
    too: its layer count (n_layer_all) and attn_v count include them."""
    if not (fmt.is_gguf and a.gguf_mtp_blocks):
        return tensors
    return _kept(_FILE_TENSORS, tensors, lambda: tensors + gguf_mtp_tensors(a))


_FILE_TENSORS: OrderedDict = OrderedDict()


def weight_bytes(
    a: Architecture, tensors: tuple[Tensor, ...], format_id: str, bpw: float | None, moe_down_rules: bool = True
) -> WeightBytes:
    """Bytes of every tensor under a format, grouped by layer: sum of Dtype.tensor_bytes."""
    fmt = catalog.formats()[format_id]
    stored = file_tensors(a, tensors, fmt)
    types = tensor_types(a, fmt, stored, bpw, moe_down_rules)
    per_layer = [0] * a.layers
    experts = [0] * a.layers
    embed = head = final_norm = unloaded = 0
    for t, d in zip(stored, types, strict=True):
        b = d.tensor_bytes(t.rows, t.cols, t.count)
        if t.layer >= a.layers:
            unloaded += b
        elif t.layer >= 0:
            per_layer[t.layer] += b
            if t.expert:
                experts[t.layer] += b
        elif t.kind == EMBED:
            embed += b
        elif t.kind == HEAD:
            head += b
        else:
            final_norm += b
    total = sum(per_layer) + embed + head + final_norm + unloaded
    return WeightBytes(tuple(per_layer), embed, head, final_norm, tuple(experts), total, unloaded)


def effective_bpw(wb: WeightBytes, params: int) -> float:
    """Average bits per weight over the whole model: 8 * loaded bytes / parameters (both without
    the multi-token-prediction blocks the parameter counts leave out)."""
    return 8 * wb.loaded / params if params else 0.0
