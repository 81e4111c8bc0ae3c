"""A model ready to estimate: catalog row or custom config.json -> architecture, tensors, counts, spec card."""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cache

from calc import catalog
from calc.architecture import (
    CHUNKED,
    FULL,
    LINEAR,
    MAMBA,
    SLIDING,
    Architecture,
    parse_config,
)
from calc.cache import lru
from calc.errors import CalcError, clean, show
from calc.formats import WeightBytes
from calc.jsonsafe import MAX_CONFIG_CHARS, config_from_text, config_json_problem, config_too_deep, config_too_large
from calc.result import ModelInfo, Spec
from calc.tensors import ParamCounts, Tensor, count_params, enumerate_tensors

# A custom model may have at most this many parameters: 50 times the largest released (Kimi K2, 1T)
# and small enough that every byte count of an estimate stays an exact integer in JavaScript
# (below 2^53) for any weight format.
MAX_PARAMS = 10**14


@dataclass(frozen=True)
class Model:
    id: str
    repo: str
    name: str
    family: str
    arch: Architecture
    tensors: tuple[Tensor, ...]
    params: ParamCounts
    official: dict
    sources: tuple
    custom: bool
    key: str  # cache key: the catalog id, or "custom:" + a hash of the config text ("gguf:" of a GGUF header)
    stored: WeightBytes | None = None  # a GGUF file's own tensor bytes: the weights under format gguf_file
    source: dict | None = None  # where a model not in the catalog came from (calc/result.py ModelInfo.source)
    checkpoint: WeightBytes | None = None  # a Hub checkpoint's bytes from its safetensors headers: format native
    # What the core derives from this model (plans, weight tables, its answer block), by kind: kept
    # with the model, so evicting a custom model frees all of it (calc/estimate.py derived()).
    derived: dict = field(default_factory=dict, compare=False, repr=False)


@cache
def catalog_model(model_id: str) -> Model:
    """A catalog model by id or repo (case-insensitive)."""
    row = catalog.models()[model_id.lower()]
    arch = parse_config(row.config)
    tensors = enumerate_tensors(arch)
    return Model(
        row.id,
        row.repo,
        row.name,
        row.family,
        arch,
        tensors,
        count_params(arch, tensors),
        row.official,
        row.sources,
        False,
        row.id,
    )


_CUSTOM: OrderedDict = OrderedDict()  # key -> Model, the last few custom configs (a page edits one at a time)
_CUSTOM_SIZE = 32
# ... and at most this many tensors among them: what a model and everything derived from it hold
# grows with its tensor count (about 2.5 kB a tensor with its weight table for every format and a
# few plans; python -m bench.soak), so this bounds the custom models' memory near 50 MB whatever
# their size (a 256-layer MoE config has about 4,000 tensors, Llama 3.1 8B 291).
_CUSTOM_TENSORS = 20_000


def _tensor_count(m: Model) -> int:
    return len(m.tensors)


def _build_custom(cfg: dict, key: str) -> Model:
    arch = parse_config(cfg)
    tensors = enumerate_tensors(arch)
    params = count_params(arch, tensors)
    if params.total > MAX_PARAMS:
        raise CalcError(
            "out_of_range",
            "config",
            f"config.json describes a model of {params.total:.3g} parameters; this calculator handles up to {MAX_PARAMS:.0e}",
        )
    name = cfg.get("_name_or_path") or cfg.get("model_type")
    name = clean(name, 80) if isinstance(name, str) and name else "custom"
    return Model("custom", "", name, "custom", arch, tensors, params, {}, (), True, key, source={"kind": "config"})


def custom_model(config) -> Model:
    """A pasted config.json (dict or text); the last few are kept, by a hash of their text."""
    if isinstance(config, str):
        if len(config) > MAX_CONFIG_CHARS:
            raise config_too_large()
        text = config
    elif isinstance(config, dict):
        deep = config_too_deep(config)
        if deep:
            raise deep
        try:  # NaN and infinities pass here and are refused, by name, where a field must be a number
            text = json.dumps(config, sort_keys=True)
        except (TypeError, ValueError, RecursionError):
            raise config_json_problem(config) from None
        if len(text) > MAX_CONFIG_CHARS:
            raise config_too_large()
    else:
        raise CalcError("bad_config", "config", f"config must be a JSON object or its text, got {show(config)}")
    import hashlib  # custom models only: a few milliseconds to import in Pyodide

    key = "custom:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:20]
    return lru(
        _CUSTOM,
        key,
        lambda: _build_custom(config_from_text(text) if isinstance(config, str) else config, key),
        _CUSTOM_SIZE,
        _tensor_count,
        _CUSTOM_TENSORS,
    )


# ---------------------------------------------------------------------------------------------
# Spec card


def _architecture_label(a: Architecture) -> str:
    hybrid = LINEAR in a.layer_kinds or MAMBA in a.layer_kinds
    if hybrid:
        return "hybrid-moe" if a.is_moe else "hybrid"
    return "moe" if a.is_moe else "dense"


def spec(m: Model) -> Spec:
    """The facts a model page shows, from config.json (architecture) and the official sources;
    a fact the model does not have (no sliding window, no MoE, no MLA) is None."""
    a, off = m.arch, m.official
    counts = a.kind_counts
    moe, mla = a.is_moe, a.mla
    return Spec(
        architecture=_architecture_label(a),
        attention=a.attention_family,
        attention_layers={k: counts.get(k, 0) for k in (FULL, SLIDING, CHUNKED, LINEAR, MAMBA) if counts.get(k)},
        context_length=off.get("context_length") if isinstance(off.get("context_length"), int) else a.max_context,
        max_position_embeddings=a.max_context,
        layers=a.layers,
        hidden_size=a.hidden,
        attention_heads=a.heads,
        kv_heads=1 if mla else a.kv_heads,
        head_dim=a.head_dim,
        vocab_size=a.vocab,
        intermediate_size=a.intermediate,
        activation=a.activation,
        normalization=a.norm,
        position_embedding=a.position,
        rope_scaling=a.rope_scaling,
        tied_embeddings=a.tied_embeddings,
        dtype=a.dtype,
        sliding_window=a.sliding_window or None,
        attention_chunk=a.attention_chunk or None,
        experts_total=a.experts if moe else None,
        experts_active=a.experts_active if moe else None,
        expert_intermediate_size=a.moe_intermediate if moe else None,
        shared_expert_intermediate_size=a.shared_intermediate if moe else None,
        kv_lora_rank=mla.kv_lora_rank if mla else None,
        qk_rope_head_dim=mla.qk_rope_head_dim if mla else None,
        q_lora_rank=mla.q_lora_rank if mla else None,
        v_head_dim=mla.v_head_dim if mla else None,
        checkpoint_quantization=a.quant_method or None,
        mtp_layers=a.mtp_layers or None,
        license=off.get("license") or None,
        release_date=off.get("release_date") or None,
        sources=tuple(s for s in m.sources if isinstance(s, str) and s.startswith("https://")),
    )


def describe(m: Model) -> ModelInfo:
    """The model block of an answer, built once per model (immutable: calc.result.to_json copies it out)."""
    block = m.derived.get("described")
    if block is None:
        block = m.derived["described"] = _describe(m)
    return block


def _headline(text: str | None) -> str | None:
    """The figure of an official parameter text, without its breakdown: "27B (1,416M embedding + ...)" -> "27B"."""
    return text.split(" (")[0].strip() if isinstance(text, str) else None


def _describe(m: Model) -> ModelInfo:
    return ModelInfo(
        id=m.id,
        repo=m.repo,
        name=m.name,
        family=m.family,
        custom=m.custom,
        source=m.source or {"kind": "catalog"},
        total_params=m.params.total,
        active_params=m.params.active,
        official_total_params=m.official.get("total_params"),
        official_active_params=m.official.get("active_params"),
        official_total_text=_headline(m.official.get("total_params_text")),
        official_active_text=_headline(m.official.get("active_params_text")),
        spec=spec(m),
    )


def model_rows_summary() -> list[dict]:
    """One line per catalog model for pickers: id, repo, name, family, context and parameter counts."""
    out = []
    for row in catalog.model_rows():
        m = catalog_model(row.id)
        facts = describe(m).spec
        out.append(
            {
                "id": m.id,
                "repo": m.repo,
                "name": m.name,
                "family": m.family,
                "context_length": facts.context_length,
                "architecture": facts.architecture,
                "total_params": m.params.total,
                "active_params": m.params.active,
            }
        )
    return out


def active_as_officially_counted(m: Model) -> int:
    """The derived active count under the vendor's own convention: official.active_params_excludes
    lists what the official figure leaves out ("input_embedding", "lm_head"; gpt-oss, GLM-4.5,
    MiniMax-M2, DeepSeek-V2-Lite), so the two can be compared like for like."""
    excludes = m.official.get("active_params_excludes") or ()
    active = m.params.active
    if "input_embedding" in excludes and not m.arch.tied_embeddings:
        active -= m.params.embedding
    if "lm_head" in excludes:
        active -= m.params.embedding
    return active
