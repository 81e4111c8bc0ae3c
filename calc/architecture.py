"""config.json -> Architecture: the numbers a memory estimate needs, for every family we know.

Hugging Face configs spell the same idea many ways (num_local_experts, n_routed_experts,
num_experts...), and several layer patterns are implied by the model type rather than written
down.  This module is the one place that reads config.json; everything downstream uses the
normalised :class:`Architecture`.  A missing or malformed field raises CalcError naming it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from calc.errors import CalcError, clean, show
from calc.jsonsafe import MAX_CONFIG_CHARS, config_from_text

# Layer kinds.  FULL holds a KV cache for every token; SLIDING for the last `sliding_window`
# tokens; CHUNKED for tokens of the current `attention_chunk` (Llama 4); LINEAR (gated delta net)
# and MAMBA keep a fixed-size state per sequence.
FULL, SLIDING, CHUNKED, LINEAR, MAMBA = "full", "sliding", "chunked", "linear", "mamba"

# tie_word_embeddings when config.json leaves it out: the transformers config class default.
# PretrainedConfig defaults to True; these classes set False (their configuration_*.py).
_UNTIED_BY_DEFAULT = {
    "llama",
    "mistral",
    "mixtral",
    "qwen2",
    "qwen2_moe",
    "qwen3",
    "qwen3_moe",
    "qwen3_next",
    "deepseek_v2",
    "deepseek_v3",
    "kimi_k2",
    "phi3",
    "olmo2",
    "glm4_moe",
    "gpt_oss",
    "jamba",
    "llama4_text",
    "minimax_m2",
    "falcon",
}

# Models whose configs carry sliding_window but do not use it unless use_sliding_window is true
# (configuration_qwen2.py / qwen3: "use_sliding_window": false in every released config).
_SLIDING_FLAG_REQUIRED = {"qwen2", "qwen2_moe", "qwen3", "qwen3_moe"}


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

    model_type: str
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
    **dict.fromkeys(("hidden_size", "n_embd", "d_model"), _DIM),
    **dict.fromkeys(
        (
            "intermediate_size",
            "intermediate_size_mlp",
            "ffn_hidden_size",
            "moe_intermediate_size",
            "shared_expert_intermediate_size",
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


def _layer_kinds(f: _Fields, model_type: str, layers: int) -> tuple:
    """Which attention each layer uses, from layer_types or the family's fixed pattern."""
    types = f.list("layer_types")
    if types is not None:
        if len(types) != layers:
            raise CalcError("bad_config", f._name("layer_types"), f"layer_types has {len(types)} entries for {layers} layers")
        table = {
            "full_attention": FULL,
            "sliding_attention": SLIDING,
            "linear_attention": LINEAR,
            "chunked_attention": CHUNKED,
            "mamba": MAMBA,
            "attention": FULL,
        }
        for i, t in enumerate(types):
            if not isinstance(t, str) or t not in table:
                raise CalcError(
                    "bad_config",
                    f._name("layer_types"),
                    f"{f._path('layer_types')}[{i}] is {show(t)}, not one of {', '.join(table)}",
                )
        return tuple(table[t] for t in types)
    if model_type == "qwen3_next":  # configuration_qwen3_next.py: full attention every 4th layer
        every = f.int("full_attention_interval", default=4)
        return tuple(FULL if (i + 1) % every == 0 else LINEAR for i in range(layers))
    if model_type == "jamba":  # configuration_jamba.py: attention at attn_layer_offset + k * period
        period, offset = f.int("attn_layer_period", default=8), f.int("attn_layer_offset", default=4, minimum=0)
        return tuple(FULL if i % period == offset else MAMBA for i in range(layers))
    if model_type == "gemma2":  # modeling_gemma2.py: even layers slide (is_sliding = not bool(layer_idx % 2))
        return tuple(SLIDING if i % 2 == 0 else FULL for i in range(layers))
    if model_type in ("gemma3", "gemma3_text"):  # configuration_gemma3.py: every 6th layer global
        every = f.int("sliding_window_pattern", default=6)
        return tuple(FULL if (i + 1) % every == 0 else SLIDING for i in range(layers))
    if model_type in ("llama4", "llama4_text") and f.has("attention_chunk_size"):
        nope = f.int_list("no_rope_layers")  # 1 = RoPE (chunked) layer, 0 = global NoPE layer
        if nope is not None and len(nope) == layers:
            return tuple(CHUNKED if n else FULL for n in nope)
        every = f.int("no_rope_layer_interval", default=4)  # configuration_llama4.py default
        return tuple(FULL if (i + 1) % every == 0 else CHUNKED for i in range(layers))
    window = f.cfg.get("sliding_window")
    uses_window = window is not None and (model_type not in _SLIDING_FLAG_REQUIRED or f.bool("use_sliding_window", False))
    return tuple((SLIDING if uses_window else FULL) for _ in range(layers))


def _moe_layers(f: _Fields, model_type: str, layers: int, experts: int) -> tuple:
    """Which layers have a mixture-of-experts MLP."""
    if not experts:
        return (False,) * layers
    if f.has("first_k_dense_replace"):  # DeepSeek, GLM-4.5, Kimi K2
        first = f.int("first_k_dense_replace", minimum=0)
        freq = f.int("moe_layer_freq", default=1)
        return tuple(i >= first and i % freq == 0 for i in range(layers))
    if model_type == "jamba":
        period, offset = f.int("expert_layer_period", default=2), f.int("expert_layer_offset", default=1, minimum=0)
        return tuple(i % period == offset for i in range(layers))
    if model_type in ("llama4", "llama4_text"):
        step = f.int("interleave_moe_layer_step", default=1)
        return tuple((i + 1) % step == 0 for i in range(layers))
    dense_only = set(f.int_list("mlp_only_layers") or [])
    step = f.int("decoder_sparse_step", default=1)
    return tuple(i not in dense_only and (i + 1) % step == 0 for i in range(layers))


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
        for key in ("tie_word_embeddings", "torch_dtype", "quantization_config"):
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


def _position(f: _Fields, model_type: str) -> tuple[str, str]:
    """Position embedding kind and rope scaling type."""
    scaling = f.cfg.get("rope_scaling")
    kind = ""
    if isinstance(scaling, dict):
        rs = _Fields(scaling, f._path("rope_scaling") + ".")
        kind = rs.str("rope_type") or rs.str("type")
    if model_type == "falcon" and f.bool("alibi", False):
        return "alibi", ""
    if model_type in ("llama4", "llama4_text"):
        return "rope+nope", kind
    return "rope", kind


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


def _norms(model_type: str, f: _Fields) -> tuple[int, str, bool]:
    """Norm tensors per layer, the norm kind, and whether it has a bias (modeling_*.py)."""
    if model_type in ("gemma2", "gemma3", "gemma3_text"):
        return 4, "rmsnorm", False  # input, post_attention, pre_feedforward, post_feedforward
    if model_type == "olmo2":
        return 2, "rmsnorm", False  # post_attention, post_feedforward
    if model_type == "glm4":  # modeling_glm4.py: input, post_self_attn, post_attention, post_mlp
        return 4, "rmsnorm", False
    if model_type == "cohere":
        return 1, "layernorm", False  # one input_layernorm; parallel attention and MLP
    if model_type == "falcon":
        two = f.bool("new_decoder_architecture", False)
        return (2 if two else 1), "layernorm", True
    return 2, "rmsnorm", False


def parse_config(config) -> Architecture:
    """Normalise a Hugging Face config.json (dict, text or path) into an Architecture."""
    raw = load_config(config)
    cfg, prefix, inherited, multimodal = _text_config(raw)
    f = _Fields(cfg, prefix, inherited)
    model_type = _model_type(cfg, f)

    hidden = f.int("hidden_size", "n_embd", "d_model")
    layers = f.int("num_hidden_layers", "n_layer", "num_layers")
    heads = f.int("num_attention_heads", "n_head")
    if model_type == "falcon" and not f.bool("new_decoder_architecture", False):
        # modeling_falcon.py FalconAttention: num_kv_heads applies only to the new decoder
        # architecture; the old one is multi-query (one KV head) when multi_query, else MHA.
        kv_heads = 1 if f.bool("multi_query", True) else heads
    else:
        kv_heads = f.int("num_key_value_heads", "num_kv_heads", default=heads)
    if kv_heads > heads or heads % kv_heads:
        kv_key, heads_key = f.key("num_key_value_heads", "num_kv_heads"), f._path(f.key("num_attention_heads", "n_head"))
        raise CalcError(
            "bad_config", f._name(kv_key), f"{heads_key} ({heads}) must be a multiple of {f._path(kv_key)} ({kv_heads})"
        )
    head_dim = f.int("head_dim", default=hidden // heads if hidden >= heads else 0)
    vocab = f.int("vocab_size")
    experts, active = _experts(f)
    mla = _mla(f)
    kinds = _layer_kinds(f, model_type, layers)
    gated = model_type not in ("falcon",)
    default_inter = 4 * hidden if model_type == "falcon" else None
    intermediate = (
        f.int("intermediate_size_mlp", "intermediate_size", "ffn_hidden_size", default=default_inter)
        if model_type in ("llama4", "llama4_text")
        else f.int("intermediate_size", "ffn_hidden_size", default=default_inter)
    )
    if model_type in ("llama4", "llama4_text"):  # intermediate_size is the expert width there
        moe_inter = f.int("intermediate_size")
    elif model_type in ("mixtral", "jamba", "gpt_oss", "minimax_m2", "minimax"):
        moe_inter = intermediate  # these use intermediate_size for each expert
    else:
        moe_inter = f.int("moe_intermediate_size", default=intermediate) if experts else 0
    shared = 0
    if experts:
        if f.has("n_shared_experts"):
            shared = f.int("n_shared_experts", minimum=0) * moe_inter
        elif f.has("shared_expert_intermediate_size"):
            shared = f.int("shared_expert_intermediate_size", minimum=0)
        elif model_type in ("llama4", "llama4_text"):
            shared = moe_inter  # one shared expert of the routed width (modeling_llama4.py Llama4TextMoe)
    norms, norm_kind, norm_bias = _norms(model_type, f)
    qk_norm = ""
    if model_type == "olmo2":
        qk_norm = "full"
    elif model_type in ("qwen3", "qwen3_moe", "qwen3_next", "gemma3", "gemma3_text") or f.bool("use_qk_norm", False):
        qk_norm = "head"
    attn_bias = f.bool("attention_bias", False)
    quant_method, quant_block = _quant(f)
    position, rope_scaling = _position(f, model_type)
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
        gated_mlp=gated,
        tied_embeddings=f.bool("tie_word_embeddings", model_type not in _UNTIED_BY_DEFAULT),
        max_context=max_ctx,
        layer_kinds=kinds,
        moe_layers=_moe_layers(f, model_type, layers, experts),
        sliding_window=window,
        attention_chunk=chunk,
        experts=experts,
        experts_active=active,
        moe_intermediate=moe_inter,
        shared_intermediate=shared,
        shared_expert_gate=model_type in ("qwen2_moe", "qwen3_next") and shared > 0,
        qkv_bias=attn_bias or f.bool("qkv_bias", model_type == "qwen2") or (model_type == "falcon" and f.bool("bias", False)),
        o_bias=attn_bias and model_type not in ("glm4_moe", "glm4"),
        mlp_bias=f.bool("mlp_bias", False) or (model_type == "falcon" and f.bool("bias", False)),
        expert_bias=model_type == "gpt_oss",
        qk_norm=qk_norm,
        norms_per_layer=norms,
        norm_has_bias=norm_bias,
        q_gate=model_type == "qwen3_next",
        attn_sinks=model_type == "gpt_oss",
        fused_qkv=model_type in ("phi3", "falcon"),
        mla=mla,
        linear=_linear(f, kinds),
        mamba=_mamba(f, kinds, hidden),
        activation=f.str("hidden_activation") or f.str("hidden_act", "gelu" if model_type == "falcon" else "silu"),
        norm=norm_kind,
        position=position,
        rope_scaling=rope_scaling,
        dtype=f.str("torch_dtype") or f.str("dtype") or "bfloat16",
        quant_method=quant_method,
        quant_block=quant_block,
        mtp_layers=f.int("num_nextn_predict_layers", default=0, minimum=0),
        multimodal=multimodal,
    )
