"""config.json -> Architecture: the numbers a memory estimate needs, for every family we know.

Hugging Face configs spell the same idea many ways (num_local_experts, n_routed_experts,
num_experts...), and several layer patterns are implied by the model type rather than written
down.  This module is the one place that reads config.json; what each model type implies is its
row in calc/families.py, which this module folds with the config into the flags of the normalised
:class:`Architecture`.  Everything downstream uses those flags, never the model type.  A missing or
malformed field raises CalcError naming it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from calc.errors import CalcError, clean, show
from calc.families import (
    CHUNKED,
    EXPERTS_DENSE_WIDTH,
    EXPERTS_INTERMEDIATE_SIZE,
    FULL,
    LINEAR,
    MAMBA,
    SLIDING,
    AtOffset,
    EveryNth,
    Family,
    family,
)
from calc.jsonsafe import MAX_CONFIG_CHARS, config_from_text
from calc.quant_config import NativeQuant, native_quant


@dataclass(frozen=True)
class MLA:
    """DeepSeek multi-head latent attention dimensions."""

    q_lora_rank: int  # 0 when queries are projected directly (DeepSeek-V2-Lite)
    kv_lora_rank: int
    qk_nope_head_dim: int
    qk_rope_head_dim: int
    v_head_dim: int


@dataclass(frozen=True)
class LinearAttention:
    """Qwen3-Next gated delta net dimensions."""

    num_key_heads: int
    key_head_dim: int
    num_value_heads: int
    value_head_dim: int
    conv_kernel: int


@dataclass(frozen=True)
class Mamba:
    """Mamba (Jamba) mixer dimensions."""

    d_inner: int
    d_state: int
    d_conv: int
    dt_rank: int


@dataclass(frozen=True)
class Architecture:
    """A decoder-only language model, normalised from its config.json."""

    model_type: str  # descriptive (the spec card shows it); logic uses the flags below
    hidden: int
    layers: int
    vocab: int
    heads: int
    kv_heads: int
    head_dim: int  # query/key head size
    v_head_dim: int
    intermediate: int  # dense MLP width
    gated_mlp: bool  # gate + up + down (SwiGLU/GeGLU) rather than up + down
    tied_embeddings: bool
    max_context: int
    layer_kinds: tuple  # one of FULL/SLIDING/CHUNKED/LINEAR/MAMBA per layer
    moe_layers: tuple  # True where the layer's MLP is a mixture of experts
    sliding_window: int
    attention_chunk: int
    experts: int
    experts_active: int
    moe_intermediate: int
    shared_intermediate: int  # total width of always-on shared experts (0 if none)
    shared_expert_gate: bool  # Qwen2-MoE style sigmoid gate on the shared expert
    qkv_bias: bool
    o_bias: bool
    mlp_bias: bool
    expert_bias: bool  # gpt-oss: biases on expert projections and the router
    router_score_bias: bool  # DeepSeek-V3 style e_score_correction_bias on the router (GGUF exp_probs_b)
    qk_norm: str  # "", "head" (per head_dim) or "full" (OLMo 2: per projection width)
    norms_per_layer: int
    norm_has_bias: bool
    q_gate: bool  # Qwen3-Next: q_proj also emits an output gate (2x width)
    attn_sinks: bool
    fused_qkv: bool
    mla: MLA | None
    linear: LinearAttention | None
    mamba: Mamba | None
    activation: str
    norm: str
    position: str
    rope_scaling: str
    dtype: str
    quant_method: str  # "", "fp8", "mxfp4", ... from quantization_config
    quant_block: int  # fp8 weight_block_size (0 when per-tensor)
    mtp_layers: int
    multimodal: bool
    llamacpp_70b: bool  # llama.cpp classifies the GGUF as LLM_TYPE_70B (80 layers of a llama or qwen2 arch)
    llamacpp_ignores_window: bool  # llama.cpp caches every token of every layer whatever sliding_window says
    learned_positions: int = 0  # rows of a learned absolute position table (GPT-2, OPT; 0: none)
    head_bias: bool = False  # the output projection has a bias (Phi-2)
    embed_dim: int = 0  # token embedding width when it differs from hidden (OPT-350m: project_in/out); 0: hidden
    vision_params: int = 0  # elements of the vision tower and its projector, for the towers _TOWERS counts
    mmproj_bytes: int = 0  # tensor bytes of a llama.cpp mmproj file given with the model (request field mmproj)
    # The multi-token-prediction blocks a GGUF of this model holds after its decoder layers (blk.<layers>..):
    # counted in the file and in llama.cpp's layer split (-ngl, -ts), never loaded (calc/engines/llamacpp.py).
    gguf_mtp_blocks: int = 0
    mmproj_name: str = ""  # its file name
    native: NativeQuant | None = None  # the checkpoint's storage as released (calc/quant_config.py); None: torch_dtype

    @property
    def is_moe(self) -> bool:
        return self.experts > 0

    @property
    def attention_family(self) -> str:
        """'mla', 'mha', 'mqa' or 'gqa'."""
        if self.mla:
            return "mla"
        if self.kv_heads == self.heads:
            return "mha"
        return "mqa" if self.kv_heads == 1 else "gqa"

    @property
    def kind_counts(self) -> dict:
        out: dict = {}
        for k in self.layer_kinds:
            out[k] = out.get(k, 0) + 1
        return out


# ---------------------------------------------------------------------------------------------
# Reading fields

# Largest accepted value of each size, far above every released model's (the largest today:
# 126 layers, hidden 16,384, 262,144-token vocabularies, 512 experts) but small enough that an
# estimate stays a few milliseconds of arithmetic: layers and tensors are enumerated one by one,
# so 10^13 layers would run for hours.  A larger value is an out_of_range error naming the field.
MAX_LAYERS = 256
_DIM = 1 << 18  # hidden sizes, MLP widths, latent ranks
_MAXIMA = {
    **dict.fromkeys(("num_hidden_layers", "n_layer", "num_layers", "num_nextn_predict_layers"), MAX_LAYERS),
    **dict.fromkeys(("hidden_size", "n_embd", "d_model", "word_embed_proj_dim"), _DIM),
    **dict.fromkeys(
        (
            "intermediate_size",
            "intermediate_size_mlp",
            "ffn_hidden_size",
            "moe_intermediate_size",
            "shared_expert_intermediate_size",
            "n_inner",
            "ffn_dim",
        ),
        1 << 20,
    ),
    **dict.fromkeys(
        (
            "num_attention_heads",
            "n_head",
            "num_key_value_heads",
            "num_kv_heads",
            "head_dim",
            "linear_num_key_heads",
            "linear_num_value_heads",
            "linear_key_head_dim",
            "linear_value_head_dim",
        ),
        1 << 14,
    ),
    **dict.fromkeys(
        ("q_lora_rank", "kv_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim", "mamba_d_state", "mamba_dt_rank"),
        1 << 16,
    ),
    **dict.fromkeys(
        ("num_experts", "num_local_experts", "n_routed_experts", "num_experts_per_tok", "experts_per_token", "moe_topk"), 1 << 14
    ),
    "vocab_size": 1 << 24,
    "n_shared_experts": 1 << 10,
    "mamba_expand": 1 << 6,
    **dict.fromkeys(("mamba_d_conv", "linear_conv_kernel_dim"), 1 << 10),
}
_MAX_OTHER = 10**13  # context lengths, windows, layer periods and offsets: cheap at any size
_MAX_TEXT = 200  # characters kept of a text field (names, dtypes, activations are shown, not parsed)


class _Fields:
    """Typed access to a config dict; errors name the config.json field (``config.`` + dotted path)."""

    def __init__(self, cfg: dict, prefix: str, inherited: frozenset = frozenset()):
        self.cfg = cfg
        self.prefix = prefix
        self.inherited = inherited  # keys copied in from the outer config (text_config models)

    def _path(self, key: str) -> str:
        return key if key in self.inherited else self.prefix + key

    def _name(self, key: str) -> str:
        return "config." + self._path(key)

    def has(self, key: str) -> bool:
        return self.cfg.get(key) is not None

    def key(self, *keys: str) -> str:
        """The first of `keys` the config sets (the one an error about the value should name)."""
        return next((k for k in keys if self.cfg.get(k) is not None), keys[0])

    def int(self, *keys: str, default: int | None = None, minimum: int = 1, maximum: int | None = None) -> int:
        for key in keys:
            value = self.cfg.get(key)
            if value is None:
                continue
            path = self._path(key)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or (isinstance(value, float) and not value.is_integer())
            ):  # NaN and infinities are not integers
                raise CalcError("bad_config", self._name(key), f"{path} must be a whole number, got {show(value)}")
            top = maximum if maximum is not None else _MAXIMA.get(key, _MAX_OTHER)
            if value < minimum:
                raise CalcError("bad_config", self._name(key), f"{path} must be at least {minimum}, got {show(value)}")
            if value > top:
                raise CalcError(
                    "out_of_range",
                    self._name(key),
                    f"{path} must be at most {top:,} (larger than any model this calculator handles), got {show(value)}",
                )
            return int(value)
        if default is None:
            raise CalcError("missing_field", self._name(keys[0]), f"config.json has no {self._path(keys[0])}")
        return default

    def bool(self, key: str, default: bool) -> bool:
        value = self.cfg.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise CalcError("bad_config", self._name(key), f"{self._path(key)} must be true or false, got {show(value)}")
        return value

    def str(self, key: str, default: str = "") -> str:
        value = self.cfg.get(key)
        if value is None:
            return default
        if not isinstance(value, str):
            raise CalcError("bad_config", self._name(key), f"{self._path(key)} must be text, got {show(value)}")
        return clean(value, _MAX_TEXT)

    def list(self, key: str) -> list | None:
        value = self.cfg.get(key)
        if value is None:
            return None
        if not isinstance(value, list):
            raise CalcError("bad_config", self._name(key), f"{self._path(key)} must be a list, got {show(value)}")
        return value

    def int_list(self, key: str) -> list | None:
        """A list of whole numbers (layer indices, 0/1 flags)."""
        value = self.list(key)
        if value is not None and not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            raise CalcError("bad_config", self._name(key), f"{self._path(key)} must be a list of whole numbers")
        return value


def load_config(config) -> dict:
    """Accept a dict, JSON text, or a path to a config.json file (Python callers); return the dict."""
    if isinstance(config, dict):
        return config
    if isinstance(config, str):
        text = config.strip()
        if not text.startswith(("{", "\ufeff")):
            try:
                with open(text, encoding="utf-8") as fh:
                    text = fh.read(MAX_CONFIG_CHARS + 1)
            except (OSError, ValueError) as exc:  # ValueError: a NUL or a lone surrogate in the name, bad UTF-8
                raise CalcError(
                    "bad_config",
                    "config",
                    f"cannot read config file {show(config, 80)}: {clean(getattr(exc, 'strerror', None) or str(exc), 120)}",
                ) from None
        return config_from_text(text)
    raise CalcError("bad_config", "config", f"config must be a JSON object or its text, got {show(config)}")


# ---------------------------------------------------------------------------------------------
# Layer patterns


_LAYER_TYPES = {
    "full_attention": FULL,
    "sliding_attention": SLIDING,
    "linear_attention": LINEAR,
    "chunked_attention": CHUNKED,
    "mamba": MAMBA,
    "attention": FULL,
}


def _pattern(f: _Fields, pattern: EveryNth | AtOffset, layers: int) -> tuple:
    """A family's layer pattern (calc/families.py) laid over `layers` layers, reading its config keys."""
    if isinstance(pattern, AtOffset):
        period = f.int(pattern.period_key, default=pattern.period)
        offset = f.int(pattern.offset_key, default=pattern.offset, minimum=0)
        return tuple(pattern.hit if i % period == offset else pattern.miss for i in range(layers))
    if pattern.flags_key:
        flags = f.int_list(pattern.flags_key)
        if flags is not None and len(flags) == layers:
            return tuple(pattern.miss if n else pattern.hit for n in flags)
    skip = set(f.int_list(pattern.except_key) or []) if pattern.except_key else set()
    every = f.int(pattern.n_key, default=pattern.n) if pattern.n_key else pattern.n
    return tuple(pattern.hit if i not in skip and (i + 1) % every == 0 else pattern.miss for i in range(layers))


def _layer_kinds(f: _Fields, fam: Family, layers: int) -> tuple:
    """Which attention each layer uses, from layer_types or the family's fixed pattern."""
    types = f.list("layer_types")
    if types is not None:
        if len(types) != layers:
            raise CalcError("bad_config", f._name("layer_types"), f"layer_types has {len(types)} entries for {layers} layers")
        for i, t in enumerate(types):
            if not isinstance(t, str) or t not in _LAYER_TYPES:
                raise CalcError(
                    "bad_config",
                    f._name("layer_types"),
                    f"{f._path('layer_types')}[{i}] is {show(t)}, not one of {', '.join(_LAYER_TYPES)}",
                )
        return tuple(_LAYER_TYPES[t] for t in types)
    pattern = fam.layer_pattern
    if pattern is not None and (not pattern.requires or f.has(pattern.requires)):
        return _pattern(f, pattern, layers)
    window = f.cfg.get("sliding_window")
    uses_window = window is not None and (not fam.sliding_needs_flag or f.bool("use_sliding_window", False))
    return tuple((SLIDING if uses_window else FULL) for _ in range(layers))


def _moe_layers(f: _Fields, fam: Family, layers: int, experts: int) -> tuple:
    """Which layers have a mixture-of-experts MLP."""
    if not experts:
        return (False,) * layers
    if f.has("first_k_dense_replace"):  # DeepSeek, GLM-4.5, Kimi K2
        first = f.int("first_k_dense_replace", minimum=0)
        freq = f.int("moe_layer_freq", default=1)
        return tuple(i >= first and i % freq == 0 for i in range(layers))
    return _pattern(f, fam.moe_layers, layers)


# ---------------------------------------------------------------------------------------------
# Families


def _text_config(cfg: dict) -> tuple[dict, str, frozenset, bool]:
    """Multimodal repos (Gemma 3, Llama 4) keep the language model under text_config.

    Returns (the language model's config, the prefix naming its fields, the keys taken from the
    outer config, multimodal)."""
    inner = cfg.get("text_config")
    if isinstance(inner, dict) and ("hidden_size" in inner or "num_hidden_layers" in inner):
        merged = dict(inner)
        inherited = set()
        # model_type: a text_config may leave it out (Gemma 3 4B and 12B do); the outer type names a family
        # row of the same language model (calc/families.py gemma3 = gemma3_text)
        for key in ("tie_word_embeddings", "torch_dtype", "quantization_config", "model_type"):
            if key not in merged and key in cfg:
                merged[key] = cfg[key]
                inherited.add(key)
        return merged, "text_config.", frozenset(inherited), True
    return cfg, "", frozenset(), False


def _model_type(cfg: dict, f: _Fields) -> str:
    model_type = f.str("model_type")
    if not model_type:
        archs = f.list("architectures") or []
        if archs and not isinstance(archs[0], str):
            raise CalcError("bad_config", f._name("architectures"), f"{f._path('architectures')} must be a list of class names")
        model_type = clean(archs[0], _MAX_TEXT).removesuffix("ForCausalLM").lower() if archs else "llama"
    return model_type.lower()


def _experts(f: _Fields) -> tuple[int, int]:
    experts = f.int("num_experts", "num_local_experts", "n_routed_experts", default=0, minimum=0)
    active_keys = ("num_experts_per_tok", "experts_per_token", "moe_topk")
    active = f.int(*active_keys, default=0, minimum=0) if experts else 0
    if experts and not active:
        raise CalcError(
            "missing_field" if not f.has(f.key(*active_keys)) else "bad_config",
            f._name(f.key(*active_keys)),
            f"a mixture-of-experts config needs {f._path(f.key(*active_keys))} of at least 1",
        )
    if active > experts:
        raise CalcError(
            "bad_config",
            f._name(f.key(*active_keys)),
            f"{f._path(f.key(*active_keys))} ({active}) is larger than the number of experts ({experts})",
        )
    return experts, active


def _mla(f: _Fields) -> MLA | None:
    if not f.has("kv_lora_rank"):
        return None
    return MLA(
        q_lora_rank=f.int("q_lora_rank", default=0, minimum=0),
        kv_lora_rank=f.int("kv_lora_rank"),
        qk_nope_head_dim=f.int("qk_nope_head_dim"),
        qk_rope_head_dim=f.int("qk_rope_head_dim"),
        v_head_dim=f.int("v_head_dim"),
    )


def _linear(f: _Fields, kinds: tuple) -> LinearAttention | None:
    if LINEAR not in kinds:
        return None
    return LinearAttention(
        num_key_heads=f.int("linear_num_key_heads"),
        key_head_dim=f.int("linear_key_head_dim"),
        num_value_heads=f.int("linear_num_value_heads"),
        value_head_dim=f.int("linear_value_head_dim"),
        conv_kernel=f.int("linear_conv_kernel_dim", default=4),
    )


def _mamba(f: _Fields, kinds: tuple, hidden: int) -> Mamba | None:
    if MAMBA not in kinds:
        return None
    expand = f.int("mamba_expand", default=2)
    return Mamba(
        d_inner=expand * hidden,
        d_state=f.int("mamba_d_state", default=16),
        d_conv=f.int("mamba_d_conv", default=4),
        dt_rank=f.int("mamba_dt_rank", default=math.ceil(hidden / 16)),  # configuration_jamba.py: "auto" = ceil(hidden/16)
    )


def _position(f: _Fields, fam: Family) -> tuple[str, str]:
    """Position embedding kind and rope scaling type."""
    scaling = f.cfg.get("rope_scaling")
    kind = ""
    if isinstance(scaling, dict):
        rs = _Fields(scaling, f._path("rope_scaling") + ".")
        kind = rs.str("rope_type") or rs.str("type")
    if fam.alibi_flag and f.bool(fam.alibi_flag, False):
        return "alibi", ""
    return fam.position, kind


def _quant(f: _Fields) -> tuple[str, int]:
    q = f.cfg.get("quantization_config")
    if not isinstance(q, dict):
        return "", 0
    inner = _Fields(q, f._path("quantization_config") + ".")
    method = inner.str("quant_method").lower()
    block = inner.int_list("weight_block_size")
    if block and not 1 <= block[0] <= 1 << 16:
        raise CalcError(
            "bad_config",
            inner._name("weight_block_size"),
            f"{inner._path('weight_block_size')} must hold sizes between 1 and 65,536, got {show(block[0])}",
        )
    return method, block[0] if block else 0


def _new_decoder(f: _Fields, fam: Family) -> bool:
    """False for Falcon's old decoder (its new_decoder_architecture flag unset); True otherwise."""
    return not fam.new_decoder_flag or f.bool(fam.new_decoder_flag, False)


def _kv_heads(f: _Fields, fam: Family, heads: int) -> int:
    """KV heads.  modeling_falcon.py FalconAttention: num_kv_heads applies only to the new decoder
    architecture; the old one is multi-query (one KV head) when multi_query, else MHA."""
    if not _new_decoder(f, fam):
        return 1 if f.bool("multi_query", True) else heads
    if fam.multi_query_flag and f.bool(fam.multi_query_flag, True):  # GPTBigCodeConfig: multi_query=True
        return 1
    return f.int("num_key_value_heads", "num_kv_heads", default=heads)


def _expert_width(f: _Fields, fam: Family, experts: int, intermediate: int) -> int:
    """The width of one routed expert, from the key the family keeps it in (calc/families.py)."""
    if fam.expert_width == EXPERTS_INTERMEDIATE_SIZE:
        return f.int("intermediate_size")
    if fam.expert_width == EXPERTS_DENSE_WIDTH:
        return intermediate
    return f.int("moe_intermediate_size", default=intermediate) if experts else 0


def _shared_width(f: _Fields, fam: Family, experts: int, moe_inter: int) -> int:
    """Total width of the always-on shared experts: n_shared_experts x the routed width, or
    shared_expert_intermediate_size, or the family's default of one shared expert."""
    if not experts:
        return 0
    if f.has("n_shared_experts"):
        return f.int("n_shared_experts", minimum=0) * moe_inter
    if f.has("shared_expert_intermediate_size"):
        return f.int("shared_expert_intermediate_size", minimum=0)
    return moe_inter if fam.shared_expert_default else 0


def _vit_sizes(v: _Fields) -> tuple[int, int, int, int, int, int]:
    """A ViT vision_config's hidden, intermediate, layers, patch, image and channel sizes."""
    h = v.int("hidden_size", maximum=1 << 16)
    i = v.int("intermediate_size", maximum=1 << 18)
    layers = v.int("num_hidden_layers", maximum=MAX_LAYERS)
    p = v.int("patch_size", maximum=1 << 10)
    image = v.int("image_size", maximum=1 << 14)
    return h, i, layers, p, image, v.int("num_channels", default=3, maximum=64)


def _vit_layer(h: int, i: int) -> int:
    """Elements of one ViT encoder layer with biases (SigLIP, Llama 4): q/k/v/o 4*(h*h + h), fc1
    h*i + i, fc2 i*h + h, two LayerNorms 4*h."""
    return 4 * (h * h + h) + h * i + i + i * h + h + 4 * h


def _siglip(v: _Fields, raw: dict, text_hidden: int) -> int:
    """SigLIP (Gemma 3's tower; modeling_siglip.py SiglipVisionTransformer, h = hidden_size, i =
    intermediate_size, p = patch_size, n = (image_size / p)^2 patches): patch_embedding Conv2d
    c*p*p*h + h, position_embedding n*h, per layer q/k/v/out_proj 4*(h*h + h), fc1 h*i + i, fc2 i*h + h,
    layer_norm1/2 4*h, then post_layernorm 2*h (Gemma 3 sets vision_use_head false: no pooling head).
    Gemma 3's projector (modeling_gemma3.py Gemma3MultiModalProjector): mm_input_projection_weight
    h x text hidden and mm_soft_emb_norm h."""
    h, i, layers, p, image, c = _vit_sizes(v)
    n = (image // p) ** 2
    tower = c * p * p * h + h + n * h + layers * _vit_layer(h, i) + 2 * h
    if v.bool("vision_use_head", False):
        return 0  # a pooling head (SiglipMultiheadAttentionPoolingHead) is not counted: say so, count none
    return tower + h * text_hidden + h


def _pixtral(v: _Fields, raw: dict, text_hidden: int) -> int:
    """Pixtral (Mistral Small 3.x, Pixtral 12B; transformers modeling_pixtral.py PixtralVisionModel):
    patch_conv Conv2d c*p*p*h without bias, ln_pre RMSNorm h, per layer q/k/v/o_proj 4*h*h (no
    biases), a gated MLP gate/up/down 3*h*i (no biases) and attention_norm, ffn_norm 2*h; rotary
    positions have no weights.  The projector by the outer model_type: Mistral 3
    (modeling_mistral3.py Mistral3MultiModalProjector) norm h, patch_merger merging_layer
    h*s^2 x h (s = spatial_merge_size, default 2), linear_1 h*f x T and linear_2 T x T (f vision
    feature layers, T the text hidden), with biases when multimodal_projector_bias (default false);
    LLaVA (modeling_llava.py LlavaMultiModalProjector) linear_1 and linear_2 alone, biases by
    default (LlavaConfig multimodal_projector_bias true).  Another outer type: None (not counted)."""
    outer = str(raw.get("model_type") or "")
    if outer not in ("mistral3", "llava"):
        return 0
    h = v.int("hidden_size", maximum=1 << 16)
    i = v.int("intermediate_size", maximum=1 << 18)
    layers = v.int("num_hidden_layers", maximum=MAX_LAYERS)
    p = v.int("patch_size", maximum=1 << 10)
    c = v.int("num_channels", default=3, maximum=64)
    tower = c * p * p * h + h + layers * (4 * h * h + 3 * h * i + 2 * h)
    o = _Fields(raw, "")
    feature = raw.get("vision_feature_layer", -1)
    f = len(feature) if isinstance(feature, list) and feature else 1
    bias = o.bool("multimodal_projector_bias", outer == "llava")
    projector = h * f * text_hidden + text_hidden * text_hidden + (2 * text_hidden if bias else 0)
    if outer == "mistral3":
        s = o.int("spatial_merge_size", default=2, maximum=64)
        projector += h + h * s * s * h
    return tower + projector


def _llama4_vision(v: _Fields, raw: dict, text_hidden: int) -> int:
    """Llama 4's tower (transformers modeling_llama4.py Llama4VisionModel, h = hidden_size, i =
    intermediate_size, n = (image_size / p)^2): patch_embedding (Llama4UnfoldConvolution) a linear
    c*p*p x h without bias, class_embedding h, positional_embedding_vlm (n + 1)*h, layernorm_pre and
    layernorm_post 4*h, per layer q/k/v/o_proj 4*(h*h + h), fc1 h*i + i, fc2 i*h + h and two
    LayerNorms 4*h; vision_adapter (Llama4VisionPixelShuffleMLP's Llama4VisionMLP2) fc1 i x
    projector_input_dim and fc2 projector_output_dim^2, no biases; then the multi_modal_projector
    linear_1 vision_output_dim x text hidden, no bias."""
    h, i, layers, p, image, c = _vit_sizes(v)
    p_in = v.int("projector_input_dim", maximum=1 << 18)
    p_out = v.int("projector_output_dim", maximum=1 << 18)
    out = v.int("vision_output_dim", maximum=1 << 18)
    n = (image // p) ** 2
    tower = c * p * p * h + h + (n + 1) * h + 4 * h + layers * _vit_layer(h, i)
    return tower + i * p_in + p_out * p_out + out * text_hidden


def _qwen2_5_vl(v: _Fields, raw: dict, text_hidden: int) -> int:
    """Qwen2.5-VL's tower (transformers modeling_qwen2_5_vl.py Qwen2_5_VisionTransformerPretrainedModel,
    h = hidden_size, i = intermediate_size): patch_embed Conv3d c*t*p*p*h without bias (t =
    temporal_patch_size), per block norm1, norm2 (RMSNorm) 2*h, attn qkv h x 3h + 3h and proj h*h + h,
    a gated MLP gate/up/down 3*h*i + 2*i + h (biases); the merger (Qwen2_5_VLPatchMerger, m = h*s^2
    with s = spatial_merge_size) ln_q h, mlp m*m + m and m x out_hidden_size + out_hidden_size.
    Published configs name no vision_config.model_type: the outer model_type "qwen2_5_vl" selects it."""
    h = v.int("hidden_size", "embed_dim", maximum=1 << 16)
    i = v.int("intermediate_size", maximum=1 << 18)
    layers = v.int("depth", "num_hidden_layers", maximum=MAX_LAYERS)
    p = v.int("patch_size", "spatial_patch_size", maximum=1 << 10)
    t = v.int("temporal_patch_size", default=2, maximum=64)
    c = v.int("in_chans", "in_channels", default=3, maximum=64)
    s = v.int("spatial_merge_size", default=2, maximum=64)
    out = v.int("out_hidden_size", default=text_hidden, maximum=1 << 18)
    m = h * s * s
    tower = c * t * p * p * h + layers * (2 * h + 3 * h * h + 3 * h + h * h + h + 3 * h * i + 2 * i + h)
    return tower + h + m * m + m + m * out + out


# The towers counted, by vision_config.model_type (or, where the published vision_config names none, the
# outer model_type): elements of the tower and its projector into the language model.
_TOWERS = {
    "siglip_vision_model": _siglip,
    "pixtral": _pixtral,
    "llama4_vision_model": _llama4_vision,
    "qwen2_5_vl": _qwen2_5_vl,
}


def _vision_params(raw: dict, text_hidden: int) -> int:
    """Elements of a multimodal checkpoint's vision tower and projector, from its vision_config
    (_TOWERS); 0 for a tower not counted here (the answer then warns it is text only)."""
    v = raw.get("vision_config")
    if not isinstance(v, dict):
        return 0
    kind = str(v.get("model_type") or raw.get("model_type") or "")
    count = _TOWERS.get(kind) or _TOWERS.get(str(raw.get("model_type") or ""))
    return count(_Fields(v, "vision_config."), raw, text_hidden) if count else 0


def parse_config(config) -> Architecture:
    """Normalise a Hugging Face config.json (dict, text or path) into an Architecture."""
    raw = load_config(config)
    cfg, prefix, inherited, multimodal = _text_config(raw)
    multimodal = multimodal or isinstance(raw.get("vision_config"), dict)  # a flat one too (Qwen2.5-VL)
    f = _Fields(cfg, prefix, inherited)
    model_type = _model_type(cfg, f)
    fam = family(model_type)

    hidden = f.int("hidden_size", "n_embd", "d_model")
    layers = f.int("num_hidden_layers", "n_layer", "num_layers")
    heads = f.int("num_attention_heads", "n_head")
    kv_heads = _kv_heads(f, fam, heads)
    if kv_heads > heads or heads % kv_heads:
        kv_key, heads_key = f.key("num_key_value_heads", "num_kv_heads"), f._path(f.key("num_attention_heads", "n_head"))
        raise CalcError(
            "bad_config", f._name(kv_key), f"{heads_key} ({heads}) must be a multiple of {f._path(kv_key)} ({kv_heads})"
        )
    head_dim = f.int("head_dim", default=hidden // heads if hidden >= heads else 0)
    vocab = f.int("vocab_size")
    experts, active = _experts(f)
    mla = _mla(f)
    kinds = _layer_kinds(f, fam, layers)
    intermediate = f.int(*fam.intermediate_keys, default=fam.ffn_default_ratio * hidden or None)
    moe_inter = _expert_width(f, fam, experts, intermediate)
    shared = _shared_width(f, fam, experts, moe_inter)
    norms = fam.norms_per_layer if _new_decoder(f, fam) else 1  # Falcon's old decoder: one input_layernorm
    qk_norm = fam.qk_norm or ("head" if f.bool("use_qk_norm", False) else "")
    attn_bias = f.bool("attention_bias", False)
    quant_method, quant_block = _quant(f)
    linear_bias = fam.linear_bias and (not fam.linear_bias_flag or f.bool(fam.linear_bias_flag, True))
    mlp_linear_bias = fam.linear_bias and (fam.linear_bias_flag_attention_only or linear_bias)
    embed_dim = f.int(fam.embed_proj_key, default=hidden) if fam.embed_proj_key else hidden
    position, rope_scaling = _position(f, fam)
    max_ctx = f.int("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length", default=2048)
    window = f.int("sliding_window", default=4096) if SLIDING in kinds else 0
    chunk = f.int("attention_chunk_size", default=8192) if CHUNKED in kinds else 0
    if mla:
        head_dim, v_head_dim = mla.qk_nope_head_dim + mla.qk_rope_head_dim, mla.v_head_dim
    else:
        v_head_dim = head_dim
    if head_dim < 1:
        raise CalcError("bad_config", f._name("head_dim"), "head_dim could not be derived: set head_dim")
    return Architecture(
        model_type=model_type,
        hidden=hidden,
        layers=layers,
        vocab=vocab,
        heads=heads,
        kv_heads=kv_heads,
        head_dim=head_dim,
        v_head_dim=v_head_dim,
        intermediate=intermediate,
        gated_mlp=fam.gated_mlp,
        tied_embeddings=f.bool("tie_word_embeddings", fam.tied_default),
        max_context=max_ctx,
        layer_kinds=kinds,
        moe_layers=_moe_layers(f, fam, layers, experts),
        sliding_window=window,
        attention_chunk=chunk,
        experts=experts,
        experts_active=active,
        moe_intermediate=moe_inter,
        shared_intermediate=shared,
        shared_expert_gate=fam.shared_expert_gate and shared > 0,
        qkv_bias=linear_bias
        or attn_bias
        or f.bool("qkv_bias", fam.qkv_bias_default)
        or (bool(fam.bias_flag) and f.bool(fam.bias_flag, False)),
        o_bias=linear_bias or (attn_bias and fam.output_bias),
        mlp_bias=mlp_linear_bias or f.bool("mlp_bias", False) or (bool(fam.bias_flag) and f.bool(fam.bias_flag, False)),
        expert_bias=fam.expert_bias,
        router_score_bias=fam.router_score_bias,
        qk_norm=qk_norm,
        norms_per_layer=norms,
        norm_has_bias=fam.norm_bias,
        q_gate=fam.q_gate,
        attn_sinks=fam.attn_sinks,
        fused_qkv=fam.fused_qkv,
        mla=mla,
        linear=_linear(f, kinds),
        mamba=_mamba(f, kinds, hidden),
        activation=f.str("hidden_activation") or f.str("activation_function") or f.str("hidden_act", fam.activation),
        norm=fam.norm,
        position=position,
        rope_scaling=rope_scaling,
        dtype=f.str("torch_dtype") or f.str("dtype") or "bfloat16",
        quant_method=quant_method,
        quant_block=quant_block,
        mtp_layers=f.int("num_nextn_predict_layers", default=0, minimum=0),
        multimodal=multimodal,
        llamacpp_70b=fam.llamacpp_70b_at_80_layers and layers == 80,
        llamacpp_ignores_window=fam.llamacpp_ignores_window,
        gguf_mtp_blocks=f.int("num_nextn_predict_layers", default=0, minimum=0) if fam.gguf_keeps_mtp else 0,
        learned_positions=max_ctx + fam.position_offset if position == "learned" else 0,
        head_bias=fam.head_bias,
        embed_dim=embed_dim if embed_dim != hidden else 0,
        vision_params=_vision_params(raw, hidden) if multimodal else 0,
        native=native_quant(
            f.cfg.get("quantization_config"),
            f.str("torch_dtype") or f.str("dtype") or "bfloat16",
            f._path("quantization_config").removesuffix("quantization_config"),
        ),
    )
