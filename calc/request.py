"""The request: every field validated, every default filled in.  Errors name the field."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from calc import catalog
from calc.errors import CalcError

MAX_CONTEXT = 1 << 25  # 32M tokens: above every model's window (Llama 4 Scout: 10M)
MAX_BATCH = 4096
MAX_GPUS = 64

ENGINE_ALIASES = {"llamacpp": "llama.cpp", "llama_cpp": "llama.cpp", "llama-cpp": "llama.cpp", "hf": "transformers"}

DEFAULTS = {
    "op": "estimate",
    "model": catalog.DEFAULT_MODEL,
    "quant": "q4_k_m",
    "context": 32768,
    "batch": 1,
    "engine": "llama.cpp",
    "gpu": "h100-sxm",
    "gpus": 4,
    "kv_cache": "auto",
    "lang": "en",
    "curve": True,
    "recommend": True,
    "recommend_limit": 12,
}

FIELDS = ("op", "model", "config", "quant", "bpw", "kv_cache", "context", "batch", "engine", "gpu", "gpus",
          "flash_attention", "ubatch", "gpu_memory_utilization", "max_num_batched_tokens", "max_num_seqs",
          "lang", "curve", "recommend", "recommend_limit")


@dataclass(frozen=True)
class Request:
    op: str
    model: str
    config: object  # dict | str | None
    quant: str
    bpw: float | None
    kv_cache: str
    context: int
    batch: int
    engine: str
    gpu: str | None
    gpus: int
    flash_attention: bool | None
    ubatch: int | None
    gpu_memory_utilization: float | None
    max_num_batched_tokens: int | None
    max_num_seqs: int | None
    lang: str
    curve: bool
    recommend: bool
    recommend_limit: int  # how many recommendations to return, cheapest first (0 = every GPU that fits)

    def as_dict(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        if isinstance(self.config, (dict, str)):
            out["config"] = "custom"
        return out


def _int(raw: dict, key: str, lo: int, hi: int) -> int | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (isinstance(value, float) and not value.is_integer()):
        raise CalcError("bad_value", key, f"{key} must be a whole number")
    if not lo <= value <= hi:
        raise CalcError("out_of_range", key, f"{key} must be between {lo:,} and {hi:,}")
    return int(value)


def _float(raw: dict, key: str, lo: float, hi: float) -> float | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise CalcError("bad_value", key, f"{key} must be a number")
    if not lo <= value <= hi:
        raise CalcError("out_of_range", key, f"{key} must be between {lo:g} and {hi:g}")
    return float(value)


def _bool(raw: dict, key: str) -> bool | None:
    value = raw.get(key)
    if value is None or isinstance(value, bool):
        return value
    raise CalcError("bad_value", key, f"{key} must be true or false")


def _choice(raw: dict, key: str, table: dict, aliases: dict | None = None) -> str:
    value = raw.get(key, DEFAULTS.get(key))
    if not isinstance(value, str):
        raise CalcError("bad_value", key, f"{key} must be text")
    norm = value.strip().lower()
    norm = (aliases or {}).get(norm, norm)
    if norm not in table:
        raise CalcError(f"unknown_{key}", key, f"unknown {key} {value[:60]!r}")
    return table[norm].id if hasattr(table[norm], "id") else norm


def parse_request(raw) -> Request:
    """Validate a request dict and fill in defaults (see calc/api.py for the fields)."""
    if not isinstance(raw, dict):
        raise CalcError("bad_request", None, "the request must be a JSON object")
    unknown = [k for k in raw if k not in FIELDS]
    if unknown:
        raise CalcError("unknown_field", str(unknown[0])[:60], f"unknown request field {str(unknown[0])[:60]!r}")
    op = _choice(raw, "op", {"estimate": 0, "catalog": 0, "model": 0})
    config = raw.get("config")
    if config is not None and not isinstance(config, (dict, str)):
        raise CalcError("bad_config", "config", "config must be a JSON object or its text")
    model = DEFAULTS["model"]
    if config is None:
        model = _choice(raw, "model", catalog.models())
    elif raw.get("model") is not None:
        raise CalcError("conflicting_fields", "config", "give either model or config, not both")
    engine = _choice(raw, "engine", catalog.engines(), ENGINE_ALIASES)
    kv = raw.get("kv_cache", "auto")
    kv = _choice(raw, "kv_cache", {**catalog.kv_types(), "auto": 0}) if kv is not None else "auto"
    gpu = raw.get("gpu", DEFAULTS["gpu"])
    if gpu is not None and gpu != "":
        gpu = _choice(raw, "gpu", catalog.gpus())
    else:
        gpu = None
    quant = _choice(raw, "quant", catalog.formats())
    bpw = _float(raw, "bpw", 1.0, 16.0)
    if quant == "exl2" and bpw is None:
        bpw = 4.0  # exllamav2 convert.py -b default
    lang = _choice(raw, "lang", {"en": 0, "zh": 0})
    curve, recommend = _bool(raw, "curve"), _bool(raw, "recommend")
    return Request(
        op=op, model=model, config=config, quant=quant, bpw=bpw if quant == "exl2" else None, kv_cache=kv,
        context=_int(raw, "context", 1, MAX_CONTEXT) or DEFAULTS["context"],
        batch=_int(raw, "batch", 1, MAX_BATCH) or DEFAULTS["batch"],
        engine=engine, gpu=gpu, gpus=_int(raw, "gpus", 1, MAX_GPUS) or (DEFAULTS["gpus"] if "gpu" not in raw else 1),
        flash_attention=_bool(raw, "flash_attention"), ubatch=_int(raw, "ubatch", 1, 65536),
        gpu_memory_utilization=_float(raw, "gpu_memory_utilization", 0.05, 1.0),
        max_num_batched_tokens=_int(raw, "max_num_batched_tokens", 1, 1 << 22),
        max_num_seqs=_int(raw, "max_num_seqs", 1, 1 << 16),
        lang=lang, curve=DEFAULTS["curve"] if curve is None else curve,
        recommend=DEFAULTS["recommend"] if recommend is None else recommend,
        recommend_limit=DEFAULTS["recommend_limit"] if raw.get("recommend_limit") is None else _int(raw, "recommend_limit", 0, 10_000),
    )
