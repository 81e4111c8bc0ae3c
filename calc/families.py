"""Model families: every per-family quirk of a config.json, one row per `model_type`.

A Hugging Face config states sizes but leaves much implied by its model type: whether the MLP is gated,
how many norms a layer has, which layers slide, which keys hold the expert width, what
tie_word_embeddings defaults to.  calc/architecture.py reads the row of a config's model_type (DEFAULT for
a type not listed) and folds it with the config into the flags of an Architecture; nothing downstream
reads the model type.  A family that fits existing shapes is one more row in FAMILIES.

Each row cites where its values come from: the family's transformers configuration_*.py (defaults) and
modeling_*.py (tensors and layer patterns), or the llama.cpp source for the llama.cpp-only quirks.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

# Layer kinds.  FULL holds a KV cache for every token; SLIDING for the last `sliding_window`
# tokens; CHUNKED for tokens of the current `attention_chunk` (Llama 4); LINEAR (gated delta net)
# and MAMBA keep a fixed-size state per sequence.
FULL, SLIDING, CHUNKED, LINEAR, MAMBA = "full", "sliding", "chunked", "linear", "mamba"
LAYER_KINDS = (FULL, SLIDING, CHUNKED, LINEAR, MAMBA)

# Where a family keeps the width of one routed expert.
EXPERTS_OWN_KEY = "moe_intermediate_size"  # moe_intermediate_size, else the dense width
EXPERTS_DENSE_WIDTH = "dense"  # the dense MLP width (intermediate_size) is each expert's
EXPERTS_INTERMEDIATE_SIZE = "intermediate_size"  # intermediate_size, required (Llama 4: the dense width is another key)
EXPERT_WIDTHS = (EXPERTS_OWN_KEY, EXPERTS_DENSE_WIDTH, EXPERTS_INTERMEDIATE_SIZE)

NORMS = ("rmsnorm", "layernorm")
QK_NORMS = ("", "head", "full")  # none (unless use_qk_norm), per head_dim, per projection width (OLMo 2)
POSITIONS = ("rope", "rope+nope", "learned")  # learned: an absolute position table (GPT-2, OPT)

_HF = "https://github.com/huggingface/transformers/blob/main/src/transformers/models/"
_LLAMACPP_MODEL = "https://github.com/ggml-org/llama.cpp/blob/master/src/llama-model.cpp"


def _hf(family: str) -> tuple[str, str]:
    """The transformers configuration and modeling files of a family."""
    return (_HF + f"{family}/configuration_{family}.py", _HF + f"{family}/modeling_{family}.py")


@dataclass(frozen=True)
class EveryNth:
    """A layer pattern: layer i is `hit` when (i + 1) % n == 0, else `miss`.

    n is config[n_key] when set (n_key "" = fixed).  Layers listed in config[except_key] take `miss`.
    When config[flags_key] is a list with one entry per layer it decides instead: a true entry is
    `miss`, a zero is `hit`.  When `requires` names a key the config does not set, the pattern does not
    apply and the plain rule does (every layer sliding when sliding_window is set, else full)."""

    hit: object  # a layer kind, or True/False for the MoE pattern
    miss: object
    n: int
    n_key: str = ""
    except_key: str = ""
    flags_key: str = ""
    requires: str = ""


@dataclass(frozen=True)
class AtOffset:
    """A layer pattern: layer i is `hit` when i % period == offset, else `miss` (Jamba's layout).
    period and offset come from config[period_key] and config[offset_key], with these defaults."""

    hit: object
    miss: object
    period_key: str
    period: int
    offset_key: str
    offset: int
    requires: str = ""  # as EveryNth.requires


# The MoE layers when the config names none (first_k_dense_replace, which DeepSeek, GLM-4.5 and Kimi K2
# set, takes precedence over every pattern): every decoder_sparse_step-th layer, except those in
# mlp_only_layers (configuration_qwen2_moe.py; 1 and none by default: every layer).
DEFAULT_MOE_LAYERS = EveryNth(True, False, 1, n_key="decoder_sparse_step", except_key="mlp_only_layers")


@dataclass(frozen=True)
class Family:
    """What a model type implies beyond the sizes its config.json states.  Defaults are the common
    decoder (Llama-like: gated MLP, two RMSNorms per layer, RoPE) with PretrainedConfig's defaults."""

    sources: tuple[str, ...]
    # Defaults of the config class (configuration_*.py) when config.json leaves a key out.
    tied_default: bool = True  # tie_word_embeddings: PretrainedConfig defaults to True
    qkv_bias_default: bool = False  # qkv_bias (Qwen2: biases on q, k and v)
    activation: str = "silu"  # hidden_act
    ffn_default_ratio: int = 0  # intermediate_size = ratio * hidden when absent (0: the key is required)
    intermediate_keys: tuple[str, ...] = ("intermediate_size", "ffn_hidden_size")  # the dense MLP width, first set wins
    # Layer layout: which attention each layer has (None: the plain rule) and which layers are MoE.
    layer_pattern: EveryNth | AtOffset | None = None
    moe_layers: EveryNth | AtOffset = DEFAULT_MOE_LAYERS
    sliding_needs_flag: bool = False  # sliding_window applies only when use_sliding_window is true
    # Tensors (modeling_*.py).
    gated_mlp: bool = True  # gate + up + down (SwiGLU/GeGLU) rather than up + down
    norms_per_layer: int = 2
    norm: str = "rmsnorm"
    norm_bias: bool = False
    qk_norm: str = ""  # "" leaves it to the config's use_qk_norm
    output_bias: bool = True  # attention_bias also puts a bias on o_proj
    fused_qkv: bool = False
    q_gate: bool = False  # q_proj also emits an output gate (2x width)
    attn_sinks: bool = False
    expert_width: str = EXPERTS_OWN_KEY
    shared_expert_default: bool = False  # one shared expert of the routed width when the config names none
    shared_expert_gate: bool = False  # a sigmoid gate on the shared expert
    expert_bias: bool = False  # biases on the expert projections and the router
    router_score_bias: bool = False  # e_score_correction_bias on the router (noaux_tc routing)
    position: str = "rope"
    alibi_flag: str = ""  # a config flag that replaces RoPE by ALiBi
    bias_flag: str = ""  # a config flag that puts biases on the q/k/v and MLP projections
    new_decoder_flag: str = ""  # while this config flag is false: MQA (multi_query) or MHA, one norm per layer
    # Two-matrix MLP families (GPT-2, GPT-NeoX, OPT, Phi-2, StarCoder): biases on every projection
    # (q/k/v, output, MLP), unless linear_bias_flag names a config key that says otherwise.
    linear_bias: bool = False
    linear_bias_flag: str = ""
    linear_bias_flag_attention_only: bool = False  # the flag governs the attention biases only (GPT-NeoX)
    head_bias: bool = False  # the output projection (lm_head) has a bias (Phi-2)
    multi_query_flag: str = ""  # this config flag (default True, GPTBigCodeConfig) makes attention multi-query
    position_offset: int = 0  # rows of a learned position table beyond the window (OPT: 2)
    embed_proj_key: str = ""  # a config key for the token embedding width when it differs from hidden (OPT)
    # How llama.cpp loads the family (src/llama-model.cpp).
    # n_layer == 80 makes the GGUF an LLM_TYPE_70B, which llama-quant.cpp gives a larger attn_v type
    # (llama.cpp also calls an 80-layer LLM_ARCH_LLAMA without GQA a 65B; no such model is told apart here).
    llamacpp_70b_at_80_layers: bool = False
    llamacpp_ignores_window: bool = False  # llama.cpp caches every token despite sliding_window
    # convert_hf_to_gguf.py writes the checkpoint's multi-token-prediction (NextN) blocks into the GGUF
    # after the decoder layers and counts them in block_count (Glm4MoeModel: block_count =
    # num_hidden_layers + num_nextn_predict_layers); DeepseekV2Model (DeepSeek-V2/V3/R1, Kimi K2)
    # drops them (skip_mtp: model.layers.N for N >= num_hidden_layers is not converted).
    gguf_keeps_mtp: bool = False

    def __post_init__(self):
        """Reject a row whose enumerated values are not ones architecture.py understands."""
        problems = [
            (name, value, allowed)
            for name, value, allowed in (
                ("norm", self.norm, NORMS),
                ("qk_norm", self.qk_norm, QK_NORMS),
                ("position", self.position, POSITIONS),
                ("expert_width", self.expert_width, EXPERT_WIDTHS),
            )
            if value not in allowed
        ]
        if self.layer_pattern is not None and not {self.layer_pattern.hit, self.layer_pattern.miss} <= set(LAYER_KINDS):
            problems.append(("layer_pattern", self.layer_pattern, LAYER_KINDS))
        if {self.moe_layers.hit, self.moe_layers.miss} != {True, False}:
            problems.append(("moe_layers", self.moe_layers, (True, False)))
        messages = [f"family {name} is {value!r}, not one of {allowed}" for name, value, allowed in problems]
        if not self.sources:
            messages.append("family row has no source")
        if self.norms_per_layer < 1:
            messages.append(f"family norms_per_layer is {self.norms_per_layer}, not at least 1")
        if messages:
            raise ValueError("; ".join(messages))


# A model type not listed: the common decoder.
DEFAULT = Family(sources=_hf("llama"))

_LLAMA4_TEXT = Family(
    sources=_hf("llama4"),
    tied_default=False,
    intermediate_keys=("intermediate_size_mlp", "intermediate_size", "ffn_hidden_size"),
    # no_rope_layers: 1 = RoPE (chunked) layer, 0 = global NoPE layer; else every 4th layer is global.
    layer_pattern=EveryNth(
        FULL, CHUNKED, 4, n_key="no_rope_layer_interval", flags_key="no_rope_layers", requires="attention_chunk_size"
    ),
    moe_layers=EveryNth(True, False, 1, n_key="interleave_moe_layer_step"),
    expert_width=EXPERTS_INTERMEDIATE_SIZE,  # intermediate_size is the expert width, intermediate_size_mlp the dense
    shared_expert_default=True,  # Llama4TextMoe: one shared expert of the routed width
    position="rope+nope",
)

# GPT-2, the first two-matrix MLP family.  modeling_gpt2.py: fused c_attn (q, k, v), c_proj, c_fc,
# c_proj, all with biases; ln_1, ln_2 and ln_f LayerNorms with biases; wte tied to lm_head; wpe,
# n_positions rows.  n_inner None = 4 * n_embd (GPT2MLP).
_GPT2 = Family(
    sources=_hf("gpt2"),
    activation="gelu_new",
    ffn_default_ratio=4,
    intermediate_keys=("n_inner",),
    gated_mlp=False,
    norm="layernorm",
    norm_bias=True,
    fused_qkv=True,
    linear_bias=True,
    position="learned",
)


_GEMMA3 = Family(
    sources=_hf("gemma3"),
    layer_pattern=EveryNth(FULL, SLIDING, 6, n_key="sliding_window_pattern"),  # every 6th layer global
    norms_per_layer=4,  # input, post_attention, pre_feedforward, post_feedforward
    qk_norm="head",
)

_QWEN3 = Family(sources=_hf("qwen3") + _hf("qwen3_moe"), tied_default=False, sliding_needs_flag=True, qk_norm="head")

FAMILIES: dict[str, Family] = {
    "llama": Family(
        sources=(*_hf("llama"), _LLAMACPP_MODEL), tied_default=False, llamacpp_70b_at_80_layers=True
    ),  # LLM_ARCH_LLAMA case 80
    "mistral": Family(
        sources=(*_hf("mistral"), _LLAMACPP_MODEL), tied_default=False, llamacpp_70b_at_80_layers=True
    ),  # Mistral GGUFs load as LLM_ARCH_LLAMA
    "mixtral": Family(sources=_hf("mixtral"), tied_default=False, expert_width=EXPERTS_DENSE_WIDTH),
    # configuration_qwen2.py: every released config says "use_sliding_window": false.
    "qwen2": Family(
        sources=(*_hf("qwen2"), _LLAMACPP_MODEL),
        tied_default=False,
        qkv_bias_default=True,
        sliding_needs_flag=True,
        llamacpp_70b_at_80_layers=True,  # LLM_ARCH_QWEN2 case 80
    ),
    "qwen2_moe": Family(sources=_hf("qwen2_moe"), tied_default=False, sliding_needs_flag=True, shared_expert_gate=True),
    "qwen3": _QWEN3,
    "qwen3_moe": _QWEN3,
    "qwen3_next": Family(
        sources=_hf("qwen3_next"),
        tied_default=False,
        layer_pattern=EveryNth(FULL, LINEAR, 4, n_key="full_attention_interval"),  # full attention every 4th layer
        qk_norm="head",
        q_gate=True,
        shared_expert_gate=True,
    ),
    "deepseek_v2": Family(sources=_hf("deepseek_v2"), tied_default=False),
    "deepseek_v3": Family(sources=_hf("deepseek_v3"), tied_default=False, router_score_bias=True),
    "kimi_k2": Family(  # DeepSeek-V3's architecture under its own model type
        sources=("https://huggingface.co/moonshotai/Kimi-K2-Instruct/blob/main/configuration_deepseek.py",),
        tied_default=False,
        router_score_bias=True,
    ),
    # llama.cpp: "Phi SWA is currently disabled": LLM_ARCH_PHI3 sets swa_type NONE and n_swa 0
    # whatever the GGUF says, so every layer caches every token.
    "phi3": Family(
        sources=(*_hf("phi3"), "https://github.com/ggml-org/llama.cpp/pull/13676"),
        tied_default=False,
        fused_qkv=True,
        llamacpp_ignores_window=True,
    ),
    # modeling_olmo2.py: norms after attention and MLP only; q/k norms over the whole projection.
    "olmo2": Family(sources=_hf("olmo2"), tied_default=False, qk_norm="full"),
    # modeling_glm4.py: input, post_self_attn, post_attention, post_mlp norms; no o_proj bias.
    "glm4": Family(sources=_hf("glm4"), norms_per_layer=4, output_bias=False),
    # convert_hf_to_gguf.py Glm4MoeModel.__init__: "GLM4_MOE has num_hidden_layers + 1 actual layers
    # (including NextN layer)": the GGUF holds blk.<num_hidden_layers> (llama.cpp b6085+, PR #14939).
    "glm4_moe": Family(
        sources=(*_hf("glm4_moe"), "https://github.com/ggml-org/llama.cpp/blob/master/convert_hf_to_gguf.py"),
        tied_default=False,
        output_bias=False,
        router_score_bias=True,
        gguf_keeps_mtp=True,
    ),
    "gpt_oss": Family(
        sources=_hf("gpt_oss"),
        tied_default=False,
        expert_width=EXPERTS_DENSE_WIDTH,
        expert_bias=True,
        attn_sinks=True,
    ),
    # configuration_jamba.py: attention at attn_layer_offset + k * attn_layer_period, Mamba elsewhere;
    # experts at expert_layer_offset + k * expert_layer_period.
    "jamba": Family(
        sources=_hf("jamba"),
        tied_default=False,
        layer_pattern=AtOffset(FULL, MAMBA, "attn_layer_period", 8, "attn_layer_offset", 4),
        moe_layers=AtOffset(True, False, "expert_layer_period", 2, "expert_layer_offset", 1),
        expert_width=EXPERTS_DENSE_WIDTH,
    ),
    "llama4_text": _LLAMA4_TEXT,
    # The multimodal type, for a config that states the language model at its top level; only the text
    # config class is taken as untied.
    "llama4": replace(_LLAMA4_TEXT, tied_default=True),
    "minimax": Family(sources=_hf("minimax"), expert_width=EXPERTS_DENSE_WIDTH),
    "minimax_m2": Family(
        sources=("https://huggingface.co/MiniMaxAI/MiniMax-M2/blob/main/configuration_minimax_m2.py",),
        tied_default=False,
        expert_width=EXPERTS_DENSE_WIDTH,
    ),
    # modeling_falcon.py: plain two-matrix GELU MLP, LayerNorm with bias, fused query_key_value;
    # the old decoder has one input_layernorm (parallel attention and MLP), the new one two.
    "falcon": Family(
        sources=_hf("falcon"),
        tied_default=False,
        activation="gelu",
        ffn_default_ratio=4,
        gated_mlp=False,
        norm="layernorm",
        norm_bias=True,
        fused_qkv=True,
        alibi_flag="alibi",
        bias_flag="bias",
        new_decoder_flag="new_decoder_architecture",
    ),
    # modeling_gemma2.py: even layers slide (is_sliding = not bool(layer_idx % 2)); four norms per layer.
    "gemma2": Family(sources=_hf("gemma2"), layer_pattern=EveryNth(FULL, SLIDING, 2), norms_per_layer=4),
    "gemma3": _GEMMA3,
    "gemma3_text": _GEMMA3,
    # Two-matrix MLP families (_GPT2 and the rows below).
    "gpt2": _GPT2,
    # modeling_gpt_bigcode.py: GPT-2's layout with multi-query attention (c_attn emits q plus one K and
    # one V head when multi_query, which GPTBigCodeConfig defaults to True).
    "gpt_bigcode": replace(_GPT2, sources=_hf("gpt_bigcode"), activation="gelu_pytorch_tanh", multi_query_flag="multi_query"),
    # modeling_gpt_neox.py: fused query_key_value and dense with biases (attention_bias, default True),
    # dense_h_to_4h / dense_4h_to_h with biases, input and post_attention LayerNorms, a separate
    # embed_out (tie_word_embeddings defaults to False); partial RoPE (rotary_pct), no position table.
    "gpt_neox": Family(
        sources=_hf("gpt_neox"),
        tied_default=False,
        activation="gelu",
        gated_mlp=False,
        norm="layernorm",
        norm_bias=True,
        fused_qkv=True,
        linear_bias=True,
        linear_bias_flag="attention_bias",  # GPTNeoXConfig attention_bias=True; the MLP always has biases
        linear_bias_flag_attention_only=True,
    ),
    # modeling_opt.py: q/k/v/out_proj and fc1/fc2 with biases (enable_bias, default True),
    # self_attn_layer_norm and final_layer_norm per layer, a final LayerNorm; OPTLearnedPositionalEmbedding
    # keeps max_position_embeddings + 2 rows (offset 2); embeddings of word_embed_proj_dim with
    # project_in / project_out when it differs from hidden_size (OPT-350m); lm_head tied.
    "opt": Family(
        sources=_hf("opt"),
        activation="relu",
        intermediate_keys=("ffn_dim",),
        gated_mlp=False,
        norm="layernorm",
        norm_bias=True,
        linear_bias=True,
        linear_bias_flag="enable_bias",
        position="learned",
        position_offset=2,
        embed_proj_key="word_embed_proj_dim",
    ),
    # modeling_phi.py (Phi-1/1.5/2): q/k/v/dense and fc1/fc2 with biases, one input_layernorm (attention
    # and MLP in parallel), final_layernorm, lm_head with a bias; partial RoPE.
    "phi": Family(
        sources=_hf("phi"),
        tied_default=False,
        activation="gelu_new",
        gated_mlp=False,
        norms_per_layer=1,
        norm="layernorm",
        norm_bias=True,
        linear_bias=True,
        head_bias=True,
    ),
    # modeling_starcoder2.py: q/k/v/o and c_fc/c_proj with biases (use_bias, default True), two LayerNorms
    # with biases, RoPE; every layer slides when sliding_window is set.
    "starcoder2": Family(
        sources=_hf("starcoder2"),
        activation="gelu_pytorch_tanh",
        gated_mlp=False,
        norm="layernorm",
        norm_bias=True,
        linear_bias=True,
        linear_bias_flag="use_bias",
    ),
    # modeling_cohere.py: one input_layernorm (LayerNorm without bias); attention and MLP in parallel.
    "cohere": Family(sources=_hf("cohere"), norms_per_layer=1, norm="layernorm"),
}


def family(model_type: str) -> Family:
    """The row of a model type, or DEFAULT for one not listed."""
    return FAMILIES.get(model_type, DEFAULT)
