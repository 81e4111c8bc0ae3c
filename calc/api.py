"""The one boundary: a JSON request in, a JSON result out; errors come back as data.

The page (through Pyodide), the CLI and the tests all call :func:`handle` (plain
dicts) or :func:`handle_json` (text).  Every number is in bytes, tokens,
parameters or seconds; units are chosen by whoever displays them.

Request (every key optional except where noted; unknown keys are an error)::

    {"op": "estimate",                 # "estimate" (default) | "view" | "catalog" | "model"
     "model": "qwen3-coder-480b-a35b-instruct",   # slug or HF repo id, case-insensitive
     "config": {...} | "<config.json text>",      # a custom model instead of "model"
     "quant": "native",                # weight format id, see `python -m calc quants`
     "bpw": 4.0,                       # bits per weight, only for quant "exl2"
     "kv_cache": "f16",                # KV-cache type; default: the engine's own default
     "context": 8192,                  # tokens per sequence
     "batch": 1,                       # sequences held at once
     "engine": "llama.cpp",            # "llama.cpp" | "vllm" | "transformers"
     "gpu": "rtx-4090", "gpus": 1,     # the GPU setup the result is checked against
     "flash_attention": true,          # llama.cpp only
     "ubatch": 512,                    # llama.cpp only: physical batch of the compute buffer
     "gpu_memory_utilization": 0.9,    # vllm only
     "max_num_batched_tokens": 8192,   # vllm only
     "lang": "en",                     # "en" | "zh": language of warning texts
     "curve": true,                    # include memory-against-context points
     "recommend": true}                # include the recommended GPU setups

Result of "estimate" (``ok`` true)::

    {"ok": true, "schema": 1, "op": "estimate",
     "request": {...every field, defaults filled in...},
     "model": {"id", "repo", "name", "total_params", "active_params",
               "official_total_params", "official_active_params", "custom", "spec": {...}},
     "format": {"id", "label", "bits_per_weight"},
     "kv_cache": {"id", "label"},
     "memory": {"weights_bytes", "kv_cache_bytes", "activations_bytes",
                "overhead_bytes", "total_bytes"},
     "range": {"low_bytes", "high_bytes", "comparisons"} | null,   # total moved by the largest
                                        # errors measured against real runs (null: engine not validated)
     "kv_cache_bytes_per_token": int,
     "per_gpu": [{"gpu_index", "weights_bytes", "kv_cache_bytes", "activations_bytes",
                  "overhead_bytes", "total_bytes", "capacity_bytes"}],
     "fit": {"gpu", "gpus", "capacity_bytes", "used_bytes", "fits", "headroom_bytes"},
     "max_context": int | null, "max_batch": int | null, "best_format": str | null,
     "kv_capacity_tokens": int | null, "max_concurrency": float | null,   # vllm
     "speed": {"decode_tokens_per_s", "prefill_seconds", "basis"},
     "recommendations": [{"gpu", "name", "vendor", "count", "capacity_bytes",
                          "used_bytes", "headroom_fraction", "price_usd"}],
     "curve": [{"context", "weights_bytes", "kv_cache_bytes", "activations_bytes",
                "overhead_bytes", "total_bytes"}],
     "warnings": [{"code", "params", "text"}]}

Result of "view": ``{"ok": true, "schema": 1, "op": "view", "view": {...}}``, the same estimate as
the page shows it, every word and number formatted in ``lang`` (documented in calc/present.py).

Failure::

    {"ok": false, "schema": 1, "error": {"code", "field", "message"}}

``field`` is the request field at fault, dotted below ``config`` for config.json fields
("config.text_config.hidden_size", "config.quantization_config.weight_block_size"), or null.
Codes: bad_json, bad_request (not an object), unknown_field, bad_value (wrong type),
out_of_range (a request value, a config size larger than any model the calculator handles, a
config over 5 MB or over 10^14 parameters), unknown_<field> (model, quant, engine, ...),
conflicting_fields, bad_config (config.json malformed or inconsistent), missing_field, and
internal_error (a bug: the answer is still data, and tests/test_hostile.py hunts for these).
"""

from __future__ import annotations

import json

from calc import catalog
from calc.engines import engines
from calc.errors import CalcError, clean
from calc.estimate import estimate, resolve_model
from calc.jsonsafe import MAX_CONFIG_CHARS, JsonTooLarge, read_json
from calc.model import describe, model_rows_summary
from calc.present import view
from calc.request import DEFAULTS, Request, parse_request

SCHEMA = 1
# A request carries at most a 5 MB config.json, as text with every character escaped at worst.
MAX_REQUEST_CHARS = 6 * MAX_CONFIG_CHARS + 10_000


def _catalog() -> dict:
    """Everything the page's form lists: models, formats, KV types, engines, GPUs, and the defaults."""
    return {
        "defaults": dict(DEFAULTS),
        "models": model_rows_summary(),
        "formats": [
            {"id": f.id, "label": f.label, "family": f.family, "engines": list(f.engines)} for f in catalog.formats().values()
        ],
        "kv_types": [{"id": k.id, "label": k.label, "engines": list(k.engines)} for k in catalog.kv_types().values()],
        "engines": [{"id": e.id, "label": e.label, "default_kv_cache": e.default_kv_cache} for e in engines().values()],
        "gpus": [
            {
                "id": g.id,
                "name": g.name,
                "vendor": g.vendor,
                "segment": g.segment,
                "memory_bytes": g.memory_bytes,
                "usable_bytes": g.usable_bytes,
                "bandwidth_bytes_per_s": g.bandwidth_bytes_per_s,
                "bf16_tflops": g.bf16_tflops,
                "price_usd": g.price_usd or None,
                "source": g.source,
            }
            for g in catalog.gpus().values()
        ],
    }


def _run(req: Request) -> dict:
    if req.op == "catalog":
        return _catalog()
    if req.op == "model":
        return {"model": describe(resolve_model(req))}
    result = estimate(req)
    request = req.as_dict()
    request["kv_cache"] = result["kv_cache"]["id"]
    if req.op == "view":  # the page's words and numbers for this estimate (calc/present.py)
        return {"view": view({"request": request, **result}, req.lang)}
    return {"request": request, **result}


def _failure(code: str, field: str | None, message: str) -> dict:
    return {"ok": False, "schema": SCHEMA, "error": {"code": code, "field": field, "message": message}}


def handle(request) -> dict:
    """A request dict -> a result dict; never raises (errors come back as ``ok: false``)."""
    try:
        req = parse_request(request)
        body = _run(req)
    except CalcError as exc:
        return {"ok": False, "schema": SCHEMA, "error": exc.as_dict()}
    except RecursionError:
        return _failure("bad_config", "config", "config.json is nested too deeply")
    except Exception as exc:  # noqa: BLE001 - a bug; the page still gets an answer (tests/test_hostile.py hunts these)
        return _failure("internal_error", None, f"the calculator failed on this request ({type(exc).__name__}); please report it")
    return {"ok": True, "schema": SCHEMA, "op": req.op, **body}


def handle_json(text: str) -> str:
    """JSON text in, JSON text out: the function the page calls through Pyodide."""
    try:
        if isinstance(text, str) and len(text) > MAX_REQUEST_CHARS:
            raise JsonTooLarge(f"is longer than {MAX_REQUEST_CHARS:,} characters")
        request = read_json(text)
    except RecursionError:
        answer = _failure("bad_json", None, "the request is not valid JSON: it is nested too deeply")
    except JsonTooLarge as exc:
        answer = _failure("out_of_range", None, f"the request {exc}")
    except (TypeError, ValueError) as exc:
        answer = _failure("bad_json", None, f"the request is not valid JSON: {clean(str(exc), 120)}")
    else:
        answer = handle(request)
    try:
        return json.dumps(answer, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError):  # a bug (a NaN in a result); still an answer
        return json.dumps(_failure("internal_error", None, "the calculator produced an invalid result; please report it"))
