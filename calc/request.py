"""The request: every field validated, every default filled in.  Errors name the field."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, fields
from typing import Annotated

from calc import catalog
from calc.engines import engine_for, engines
from calc.errors import CalcError, clean, show
from calc.i18n import fail

MAX_CONTEXT = 1 << 25  # 32M tokens: above every model's window (Llama 4 Scout: 10M)
MAX_BATCH = 4096
MAX_GPUS = 64

# The header bytes a request may carry: real headers are a few MB (a 262k-token vocabulary is most of
# them), and as base64 they stay inside calc/api.py's MAX_REQUEST_CHARS.
MAX_GGUF_BYTES = 20 * 2**20
MAX_GGUF_PARTS = 256
FILE_FORMAT = "gguf_file"  # the weights as a GGUF file stores them (calc/gguf_model.py)

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


@dataclass(frozen=True)
class Request:
    """A request with every default filled in; each field's documentation is its Annotated text.
    The JSON request has the same keys, each optional (the defaults are in DEFAULTS)."""

    op: Annotated[
        str,
        '"estimate" (default), "view" (the page\'s words and numbers), "catalog", "model", "gguf" '
        '(read a GGUF header: calc/result.py GgufAnswer) or "hub" (a repo id or URL and its file list read: HubAnswer)',
    ]
    model: Annotated[str, "catalog slug or Hugging Face repo id, case-insensitive"]
    config: Annotated[object, "a custom model instead of model: config.json as an object or its text"]
    gguf: Annotated[
        tuple | None,
        "a model read from a GGUF file instead of model: the first bytes of the file (its header), base64, or a list "
        "of them, one per part of a split file in order (at most 256); at most 20 MiB in all (op gguf says how "
        "many bytes a header needs, and gives the compact header to send instead)",
    ]
    gguf_name: Annotated[str | None, "the GGUF file's name, shown as the model's source (at most 200 characters)"]
    hub: Annotated[
        object,
        "a model fetched from the Hugging Face Hub: a repo id or Hub URL, or an object {repo, revision, file, sha}; "
        "with config (its config.json) and safetensors, or with gguf (a GGUF file of the repo); model.source says "
        'kind "hub" with the repo and revision',
    ]
    safetensors: Annotated[
        tuple | None,
        "with hub and config: the first bytes of each safetensors shard, base64 (8 bytes of header length, then the "
        "header), at most 4,096 shards and 20 MiB in all: the checkpoint's exact bytes under quant native",
    ]
    hub_listing: Annotated[object, 'op "hub": the Hub\'s model API answer (with siblings) or tree API list, read into files']
    mmproj: Annotated[
        tuple | None,
        "llama.cpp --mmproj: the header (first bytes, base64) of a multimodal projector GGUF file (general.architecture "
        "clip), added to any model: its tensor bytes are counted on the first GPU under llama.cpp; other engines load "
        "the checkpoint's own vision tower and leave it out",
    ]
    mmproj_name: Annotated[str | None, "the mmproj file's name, for the warnings (at most 200 characters)"]
    quant: Annotated[
        str,
        'weight format id (python -m calc quants); with gguf, default "gguf_file": as stored in the file; with '
        'safetensors, default "native": the checkpoint as released, its bytes from the headers',
    ]
    bpw: Annotated[float | None, "bits per weight, for quant exl2 only (default 4.0)"]
    kv_cache: Annotated[str, 'KV-cache type id, or "auto": the engine\'s default']
    context: Annotated[int, "tokens per sequence: the prompt and the generated tokens together"]
    prompt_tokens: Annotated[
        int | None,
        "transformers: tokens of the prompt, prefilled in one forward pass (default: the whole context); with "
        "new_tokens, context = prompt_tokens + new_tokens",
    ]
    new_tokens: Annotated[
        int | None,
        "transformers: generate(max_new_tokens=...), tokens generated after the prompt one at a time (default: "
        "context - prompt_tokens, 0 when neither is given)",
    ]
    batch: Annotated[int, "sequences held at once"]
    engine: Annotated[str, '"llama.cpp", "vllm" or "transformers"']
    engine_version: Annotated[str | None, "the engine's release (catalog engines[].versions); null: the newest"]
    gpu: Annotated[str | None, "GPU id the answer is checked against; null: none, recommendations only"]
    gpus: Annotated[int, "how many of gpu"]
    flash_attention: Annotated[bool | None, "llama.cpp: flash attention (default on)"]
    ubatch: Annotated[int | None, "llama.cpp: n_ubatch, the physical batch of the compute buffer"]
    swa_full: Annotated[bool | None, "llama.cpp --swa-full: sliding-window layers cache every token (default off)"]
    gpu_memory_utilization: Annotated[float | None, "vLLM: fraction of each GPU it reserves (default 0.9)"]
    max_num_batched_tokens: Annotated[int | None, "vLLM: tokens of the profiling pass (default by GPU size)"]
    max_num_seqs: Annotated[int | None, "vLLM: sequences of the profiler's sampler pass (default by GPU size)"]
    devices: Annotated[
        tuple | None,
        "your machine's GPUs (answer field offload): catalog ids or short names, counts and sizes, as text "
        '"rtx-4090,rtx-3090", "2xh100", "24GiB" or a list; a unified-memory machine (Apple, strix-halo-128gb, '
        "dgx-spark) alone; null: no machine answer (given ram or an offload setting with gpu: gpus x gpu)",
    ]
    ram: Annotated[str | int | None, 'system RAM: "128GiB" (GB = GiB: memory is sold in binary sizes) or bytes']
    ram_bandwidth: Annotated[
        str | float | None, 'RAM bandwidth: GB/s, or a preset of calc/data/memory.toml ("ddr5-5600-2ch", the default)'
    ]
    gpu_share: Annotated[float | None, "unified memory: the share of the pool the GPU may use (default the catalog's)"]
    n_gpu_layers: Annotated[int | None, "llama.cpp -ngl: the last N repeating layers (N > layers: the output too) on GPUs"]
    cpu_moe: Annotated[bool | None, "llama.cpp --cpu-moe: every routed expert in RAM"]
    n_cpu_moe: Annotated[int | None, "llama.cpp --n-cpu-moe N: the routed experts of the first N layers in RAM"]
    override_tensor: Annotated[
        tuple | None, 'llama.cpp -ot: "<regex>=<device>" items (text with commas, or a list), device CPU, CUDA0, ...'
    ]
    tensor_split: Annotated[tuple | None, 'llama.cpp -ts: one proportion per GPU ("3,1" or a list)']
    split_mode: Annotated[str | None, 'llama.cpp --split-mode: "layer" (default), "row" or "none"']
    no_kv_offload: Annotated[bool | None, "llama.cpp --no-kv-offload: the KV cache in RAM"]
    fit: Annotated[
        bool | None, "plan the settings like llama.cpp --fit (default: on unless a placement setting is given); vLLM: always"
    ]
    fit_goal: Annotated[str | None, '"layers" (keep the context, most on GPU; default) or "context" (from the window down)']
    cpu_offload_gb: Annotated[float | None, "vLLM --cpu-offload-gb: GiB of weights per GPU kept in RAM"]
    kv_cache_memory: Annotated[int | None, "vLLM --kv-cache-memory-bytes: the KV pool per GPU instead of what utilization leaves"]
    block_size: Annotated[int | None, "vLLM --block-size: tokens per KV block (default 16)"]
    lang: Annotated[str, '"en" or "zh": language of warnings and of the view']
    curve: Annotated[bool, "include memory-against-context points"]
    recommend: Annotated[bool, "include the recommended GPU setups"]
    recommend_limit: Annotated[int, "how many recommendations to return, cheapest first (0: every setup that holds it)"]

    def as_dict(self) -> dict:
        out = {name: getattr(self, name) for name in NAMES}
        if isinstance(self.config, (dict, str)):
            out["config"] = "custom"
        if self.gguf is not None:
            out["gguf"] = f"{sum(map(len, self.gguf)):,} bytes of GGUF header"
        if self.hub is not None:
            out["hub"] = {"repo": self.hub.repo, "revision": self.hub.revision, "file": self.hub.file, "sha": self.hub.sha}
        if self.safetensors is not None:
            out["safetensors"] = f"{len(self.safetensors):,} safetensors headers, {sum(map(len, self.safetensors)):,} bytes"
        if self.hub_listing is not None:
            out["hub_listing"] = "given"
        if self.mmproj is not None:
            out["mmproj"] = f"{len(self.mmproj[0]):,} bytes of mmproj header"
        return out


NAMES = tuple(f.name for f in fields(Request))  # in order (dataclasses.fields rebuilds its tuple at every call)
FIELDS = frozenset(NAMES)  # the keys a JSON request may have
# The request fields engines read for their settings (Engine.settings): None where the request is silent.
ENGINE_KNOBS = (
    "flash_attention",
    "ubatch",
    "swa_full",
    "kv_cache",
    "gpu_memory_utilization",
    "max_num_batched_tokens",
    "max_num_seqs",
    "prompt_tokens",
)


# URL parameters arrive as text: a whole number or a decimal written in ASCII digits ("²".isdigit()
# is true but int() refuses it; int() of 5000 digits raises too, so long ones are out of range unread).
_INT_TEXT = re.compile(r"[+-]?[0-9]+")
_FLOAT_TEXT = re.compile(r"[+-]?(?:[0-9]{1,30}(?:\.[0-9]{0,30})?|\.[0-9]{1,30})(?:[eE][+-]?[0-9]{1,3})?")


def _int(raw: dict, key: str, lo: int, hi: int) -> int | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, str) and _INT_TEXT.fullmatch(value.strip()):
        digits = value.strip()
        if len(digits) > 30:
            raise fail("out_of_range", key, "int_range", field=key, lo=f"{lo:,}", hi=f"{hi:,}", value=show(value))
        value = int(digits)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (isinstance(value, float) and not value.is_integer()):
        raise fail("bad_value", key, "whole", field=key, value=show(value))
    if not lo <= value <= hi:
        raise fail("out_of_range", key, "int_range", field=key, lo=f"{lo:,}", hi=f"{hi:,}", value=show(value))
    return int(value)


def _float(raw: dict, key: str, lo: float, hi: float) -> float | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, str) and _FLOAT_TEXT.fullmatch(value.strip()):
        value = float(value.strip())
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (isinstance(value, float) and not math.isfinite(value)):
        raise fail("bad_value", key, "number", field=key, value=show(value))
    if not lo <= value <= hi:  # compared before float(): float() of a huge int overflows
        raise fail("out_of_range", key, "float_range", field=key, lo=f"{lo:g}", hi=f"{hi:g}", value=show(value))
    return float(value)


def _bool(raw: dict, key: str) -> bool | None:
    value = raw.get(key)
    if value is None or isinstance(value, bool):
        return value
    raise fail("bad_value", key, "bool", field=key, value=show(value))


def _choice(raw: dict, key: str, table: dict, aliases: dict | None = None) -> str:
    value = raw.get(key, DEFAULTS.get(key))
    if not isinstance(value, str):
        raise fail("bad_value", key, "text", field=key, value=show(value))
    norm = value.strip().lower()
    norm = (aliases or {}).get(norm, norm)
    if norm not in table:
        raise fail(f"unknown_{key}", key, "unknown", field=key, value=show(value, 60))
    return table[norm].id if hasattr(table[norm], "id") else norm


def _gguf(raw: dict, key: str = "gguf", parts: int = MAX_GGUF_PARTS) -> tuple[bytes, ...] | None:
    """The `gguf` (or `safetensors`) field decoded: one bytes per part, each base64 text."""
    value = raw.get(key)
    if value is None:
        return None
    texts = value if isinstance(value, list) else [value]
    if not texts or len(texts) > parts or not all(isinstance(t, str) for t in texts):
        raise CalcError("bad_value", key, f"{key} must be base64 text or a list of 1 to {parts:,} of them, got {show(value)}")
    if sum(len(t) for t in texts) > 4 * -(-MAX_GGUF_BYTES // 3) + 4 * len(texts):
        raise CalcError("out_of_range", key, f"{key} holds more than {MAX_GGUF_BYTES // 2**20} MiB of header")
    import binascii

    try:
        return tuple(binascii.a2b_base64(t, strict_mode=True) for t in texts)
    except (binascii.Error, ValueError):
        raise CalcError("bad_value", key, f"{key} must be base64 text (RFC 4648, with padding)") from None


def _hub(raw: dict):
    """The `hub` field: a repo id or URL, or {repo, revision, file, sha} -> calc/hub.py HubRef."""
    value = raw.get("hub")
    if value is None:
        return None
    from calc.hub import MAX_NAME, HubRef, parse_ref

    if isinstance(value, str):
        return parse_ref(value)
    if not isinstance(value, dict):
        raise CalcError("bad_value", "hub", f"hub must be a repo id or an object with repo, got {show(value)}")
    extra = [k for k in value if k not in ("repo", "revision", "file", "sha")]
    if extra:
        raise CalcError("unknown_field", "hub", f"unknown hub field {show(extra[0], 40)}")
    for k in ("revision", "file", "sha"):
        if value.get(k) is not None and not isinstance(value[k], str):
            raise CalcError("bad_value", f"hub.{k}", f"hub.{k} must be text, got {show(value[k])}")
    ref = parse_ref(value.get("repo") if isinstance(value.get("repo"), str) else "", value.get("revision"))
    file = value.get("file") or ref.file
    if file is not None and (len(file) > MAX_NAME or ".." in file.split("/")):
        raise CalcError("bad_value", "hub.file", f"hub.file is not a path inside the repo: {show(file, 60)}")
    sha = value.get("sha")
    return HubRef(ref.repo, ref.revision, file, clean(sha, 80) if sha else None)


_OT = re.compile(r"(.+)=([A-Za-z]+[0-9]{0,2})")
OFFLOAD_KNOBS = ("ram", "ram_bandwidth", "gpu_share", "n_gpu_layers", "cpu_moe", "n_cpu_moe", "override_tensor")
OFFLOAD_KNOBS += ("tensor_split", "split_mode", "no_kv_offload", "fit", "fit_goal", "cpu_offload_gb", "kv_cache_memory")
OFFLOAD_KNOBS += ("block_size",)


def _items(raw: dict, key: str) -> list | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        value = [v for v in re.split(r"[,/]" if key == "tensor_split" else ",", value) if v.strip()]
    if not isinstance(value, list) or not value or len(value) > 128:
        raise fail("bad_value", key, "items", field=key, value=show(value))
    return value


def _offload(raw: dict, gpu: str | None, gpus: int) -> dict:
    """The machine fields (see Request): checked here, the machine itself built by calc/machine.py."""
    from calc import machine

    devices = raw.get("devices")
    given = [k for k in OFFLOAD_KNOBS if raw.get(k) is not None]
    if devices is None and given:
        if gpu is None:
            raise fail("missing_field", given[0], "needs_devices", field=given[0])
        devices = f"{gpus}x{gpu}"
    out = dict.fromkeys(OFFLOAD_KNOBS)
    out["devices"] = None
    if devices is None:
        return out
    try:
        m = machine.machine(devices, raw.get("ram"), raw.get("ram_bandwidth"), _float(raw, "gpu_share", 0.05, 1.0))
    except CalcError as exc:  # devices made of gpu x gpus: the fault is in gpus (too many for one machine)
        if exc.field == "devices" and raw.get("devices") is None:
            if exc.text is not None and "field" in exc.params:
                raise fail(exc.code, "gpus", exc.text, **{**exc.params, "field": "gpus x gpu"}) from None
            raise CalcError(exc.code, "gpus", exc.message.replace("devices", "gpus x gpu"), exc.text, exc.params) from None
        raise
    out["devices"] = tuple(devices) if isinstance(devices, list) else tuple(x.strip() for x in devices.split(","))
    out["ram"] = raw.get("ram")
    out["ram_bandwidth"] = raw.get("ram_bandwidth")
    out["gpu_share"] = _float(raw, "gpu_share", 0.05, 1.0)
    out["n_gpu_layers"] = _int(raw, "n_gpu_layers", -1, 100_000)
    if out["n_gpu_layers"] == -1:
        out["n_gpu_layers"] = None  # llama.cpp: -1 is every layer (auto)
    out["cpu_moe"] = _bool(raw, "cpu_moe")
    out["n_cpu_moe"] = _int(raw, "n_cpu_moe", 0, 100_000)
    ot = _items(raw, "override_tensor")
    if ot is not None:
        pairs = []
        for item in ot:
            if isinstance(item, str) and len(item) > 200:
                raise fail("out_of_range", "override_tensor", "ot_long", field="override_tensor", max=200)
            match = _OT.fullmatch(item.strip()) if isinstance(item, str) else None
            if not match:
                raise fail("bad_value", "override_tensor", "ot_item", field="override_tensor", value=show(item, 60))
            pairs.append((match[1], match[2]))
        out["override_tensor"] = tuple(pairs)
    ts = _items(raw, "tensor_split")
    if ts is not None:
        vals = [_float({"tensor_split": v}, "tensor_split", 0.0, 1e6) for v in ts]
        if not any(vals):
            raise fail("bad_value", "tensor_split", "ts_zero", field="tensor_split")
        if len(vals) != len(m.gpus):
            raise fail("bad_value", "tensor_split", "ts_count", field="tensor_split", n=len(vals), gpus=len(m.gpus))
        out["tensor_split"] = tuple(vals)
    if raw.get("split_mode") is not None:
        out["split_mode"] = _choice(raw, "split_mode", {"layer": 0, "row": 0, "none": 0})
    out["no_kv_offload"] = _bool(raw, "no_kv_offload")
    out["fit"] = _bool(raw, "fit")
    if raw.get("fit_goal") is not None:
        out["fit_goal"] = _choice(raw, "fit_goal", {"layers": 0, "context": 0})
    out["cpu_offload_gb"] = _float(raw, "cpu_offload_gb", 0.0, 100_000.0)
    out["kv_cache_memory"] = _int(raw, "kv_cache_memory", 2**20, 2**50)
    out["block_size"] = _int(raw, "block_size", 1, 256)
    return out


def _lengths(raw: dict) -> tuple[int, int | None]:
    """(context, prompt tokens or None) from context, prompt_tokens and new_tokens: any two set the third;
    context alone is all prompt (None).  The prompt is at least one token; none exceeds MAX_CONTEXT."""
    context = _int(raw, "context", 1, MAX_CONTEXT)
    prompt = _int(raw, "prompt_tokens", 1, MAX_CONTEXT)
    new = _int(raw, "new_tokens", 0, MAX_CONTEXT)
    if prompt is not None and new is not None:
        if context is not None and context != prompt + new:
            message = f"context ({context:,}) must be prompt_tokens + new_tokens ({prompt + new:,}), or leave one out"
            raise CalcError("conflicting_fields", "context", message)
        if prompt + new > MAX_CONTEXT:
            raise CalcError("out_of_range", "new_tokens", f"prompt_tokens + new_tokens must be at most {MAX_CONTEXT:,}")
        return prompt + new, prompt
    context = context or DEFAULTS["context"]
    if prompt is not None:
        if prompt > context:
            raise CalcError("out_of_range", "prompt_tokens", f"prompt_tokens ({prompt:,}) is more than context ({context:,})")
        return context, prompt
    if new is not None:
        if new >= context:
            raise CalcError("out_of_range", "new_tokens", f"new_tokens ({new:,}) leaves no prompt in context ({context:,})")
        return context, context - new
    return context, None


def parse_request(raw) -> Request:
    """Validate a request dict and fill in defaults (the fields: Request)."""
    if not isinstance(raw, dict):
        raise CalcError("bad_request", None, "the request must be a JSON object")
    unknown = [k for k in raw if k not in FIELDS]
    if unknown:
        name = clean(unknown[0], 60) if isinstance(unknown[0], str) else show(unknown[0])
        raise CalcError("unknown_field", name, f"unknown request field {show(unknown[0], 60)}")
    op = _choice(raw, "op", {"estimate": 0, "view": 0, "catalog": 0, "model": 0, "gguf": 0, "hub": 0})
    config = raw.get("config")
    if config is not None and not isinstance(config, (dict, str)):
        raise CalcError("bad_config", "config", f"config must be a JSON object or its text, got {show(config)}")
    gguf = _gguf(raw)
    mmproj = _gguf(raw, "mmproj", 1)
    mmproj_name = raw.get("mmproj_name")
    if mmproj_name is not None and not isinstance(mmproj_name, str):
        raise CalcError("bad_value", "mmproj_name", f"mmproj_name must be text, got {show(mmproj_name)}")
    name = raw.get("gguf_name")
    if name is not None and not isinstance(name, str):
        raise CalcError("bad_value", "gguf_name", f"gguf_name must be text, got {show(name)}")
    hub = _hub(raw)
    from calc.hub import MAX_SHARDS

    safetensors = _gguf(raw, "safetensors", MAX_SHARDS)
    if safetensors is not None and (hub is None or config is None):
        raise CalcError("missing_field", "safetensors", "safetensors headers need hub and config: the repo and its config.json")
    if hub is not None and op not in ("hub", "catalog") and config is None and gguf is None:
        raise CalcError("missing_field", "hub", "a Hub model needs its config (config.json) or gguf (a GGUF file's header)")
    model = DEFAULTS["model"]
    if gguf is not None and config is not None:
        raise CalcError("conflicting_fields", "gguf", "give either gguf or config, not both")
    if config is None and gguf is None and hub is None:
        model = _choice(raw, "model", catalog.models())
    elif raw.get("model") is not None:
        which = "config" if config is not None else "gguf" if gguf is not None else "hub"  # op "hub": hub alone
        raise CalcError("conflicting_fields", which, f"give either model or {which}, not both")
    engine = _choice(raw, "engine", engines(), ENGINE_ALIASES)
    version = raw.get("engine_version")
    if version is not None:
        if not isinstance(version, str):
            raise CalcError("bad_value", "engine_version", f"engine_version must be text, got {show(version)}")
        version = version.strip() or None
        engine_for(engine, version)  # an unknown release is an error naming engine_version
    kv = raw.get("kv_cache", "auto")
    auto = kv is None or (isinstance(kv, str) and kv.strip().lower() == "auto")
    kv = "auto" if auto else _choice(raw, "kv_cache", catalog.kv_types())
    gpu = raw.get("gpu", DEFAULTS["gpu"])
    gpu = _choice(raw, "gpu", catalog.gpus()) if gpu is not None and gpu != "" else None
    if raw.get("quant") is None and (gguf is not None or safetensors is not None):
        quant = FILE_FORMAT if gguf is not None else "native"  # the file fixes the format
    else:
        quant = _choice(raw, "quant", catalog.formats())
    if quant == FILE_FORMAT and gguf is None:
        raise CalcError("bad_value", "quant", f"quant {FILE_FORMAT} (as stored in the file) needs a GGUF file: give gguf")
    bpw = _float(raw, "bpw", 1.0, 16.0)
    if quant == "exl2" and bpw is None:
        bpw = 4.0  # exllamav2 convert.py -b default
    lang = _choice(raw, "lang", {"en": 0, "zh": 0})
    context, prompt = _lengths(raw)
    curve, recommend = _bool(raw, "curve"), _bool(raw, "recommend")
    return Request(
        op=op,
        model=model,
        config=config,
        gguf=gguf,
        gguf_name=clean(name.strip(), 200) or None if name is not None else None,
        hub=hub,
        safetensors=safetensors,
        hub_listing=raw.get("hub_listing"),
        mmproj=mmproj,
        mmproj_name=clean(mmproj_name.strip(), 200) or None if mmproj_name is not None else None,
        quant=quant,
        bpw=bpw if quant == "exl2" else None,
        kv_cache=kv,
        context=context,
        prompt_tokens=prompt,
        new_tokens=None if prompt is None else context - prompt,
        batch=_int(raw, "batch", 1, MAX_BATCH) or DEFAULTS["batch"],
        engine=engine,
        engine_version=version,
        gpu=gpu,
        gpus=_int(raw, "gpus", 1, MAX_GPUS) or (DEFAULTS["gpus"] if "gpu" not in raw else 1),
        flash_attention=_bool(raw, "flash_attention"),
        ubatch=_int(raw, "ubatch", 1, 65536),
        swa_full=_bool(raw, "swa_full"),
        gpu_memory_utilization=_float(raw, "gpu_memory_utilization", 0.05, 1.0),
        max_num_batched_tokens=_int(raw, "max_num_batched_tokens", 1, 1 << 22),
        max_num_seqs=_int(raw, "max_num_seqs", 1, 1 << 16),
        **_offload(raw, gpu, _int(raw, "gpus", 1, MAX_GPUS) or 1),
        lang=lang,
        curve=DEFAULTS["curve"] if curve is None else curve,
        recommend=DEFAULTS["recommend"] if recommend is None else recommend,
        recommend_limit=DEFAULTS["recommend_limit"]
        if raw.get("recommend_limit") is None
        else _int(raw, "recommend_limit", 0, 10_000),
    )
