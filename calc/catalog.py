"""The catalogs: models, GPUs, weight formats, storage types, KV-cache types, engines.

Each is a data file in calc/data with a source on every row, loaded once on first use,
validated, and indexed by lowercase id.  Validation is for meaning, not only presence: each row is
checked against its file's table of fields (DTYPE_FIELDS, FORMAT_FIELDS, KV_FIELDS, GPU_FIELDS,
MODEL_FIELDS, SPEED_RUN_FIELDS: type, required or not, allowed values, ranges; a key not in the table is an error), GGUF
rule conditions against the predicate table the evaluator runs (calc.formats.GGUF_CONDITIONS), and
every name of a storage type or engine against those catalogs.  A bad row raises CatalogError naming
the file, the row and the field.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache


class CatalogError(Exception):
    """A data file row is malformed (a bug in the shipped data, not in user input).

    `file`, `row` (the row's id) and `field` say where, when the loader knows; the message names them too:
    "formats.toml: row 'q4_k_m' field 'rules': unknown condition 'morebits' (known: always, ...)"."""

    def __init__(self, message: str, *, file: str | None = None, row: str | None = None, field: str | None = None):
        super().__init__(message)
        self.file, self.row, self.field = file, row, field


def _bad(file: str, row, field: str | None, problem: str) -> CatalogError:
    """The CatalogError for `problem` in `field` of row `row` (its id) of data file `file`."""
    where = f"{file}: row {row!r}" + (f" field {field!r}" if field else "")
    return CatalogError(f"{where}: {problem}", file=file, row=row, field=field)


_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


@cache
def read_data(name: str) -> bytes:
    """A file under calc/data, from a folder or a zip alike (the module's own loader reads it; this
    costs none of importlib.resources' start-up, tens of milliseconds in Pyodide).  Kept once read:
    the page's memory snapshot (snapshot.py) reads every file before it is taken, and the files are
    not there after a restore."""
    return __loader__.get_data(os.path.join(_DATA, *name.split("/")))


def _compiled(name: str):
    """The parsed copy of data file `name` that build.py puts in the page's bundle, or None."""
    try:
        return json.loads(read_data("compiled/" + name.replace("/", "__") + ".json"))
    except OSError:
        return None


def load_toml(name: str) -> dict:
    """A TOML data file (path under calc/data), parsed.  The page's bundle carries each one already
    parsed as data/compiled/<name>.json (build.py writes it; json is C code in Pyodide, tomllib is
    pure Python and costs tens of milliseconds at start-up there); the source tree has only TOML."""
    compiled = _compiled(name)
    if compiled is not None:
        return compiled
    import tomllib  # only where the parsed copy is absent: tomllib costs ~30 ms to import in Pyodide

    return tomllib.loads(read_data(name).decode("utf-8"))


def _toml(name: str, table: str) -> list[dict]:
    rows = load_toml(name).get(table)
    if not isinstance(rows, list) or not rows:
        raise CatalogError(f"{name}: no [[{table}]] rows", file=name)
    return rows


def _index(name: str, rows: list) -> dict:
    out = {}
    for row in rows:
        key = row.id.lower()
        if key in out:
            raise _bad(name, row.id, "id", f"duplicate id (ids are compared in lowercase: {out[key].id!r} comes first)")
        out[key] = row
    return out


# ---------------------------------------------------------------------------------------------
# Meaning: each data file's rows against a schema of fields.  A field has a type, whether it is
# required, and checks of its value; a key the schema does not name is an error (a typo'd key must
# not load silently as a default).


@dataclass(frozen=True)
class _Field:
    """One field of a catalog row: its type (float accepts int; bool is never a number), whether a row
    must have it, and checks, each value -> a problem ("" when the value is fine)."""

    type: type
    required: bool = False
    checks: tuple = ()


def _need(kind: type, *checks) -> _Field:
    return _Field(kind, True, checks)


def _may(kind: type, *checks) -> _Field:
    return _Field(kind, False, checks)


def _type_ok(value, kind: type) -> bool:
    if isinstance(value, bool):
        return kind is bool
    return isinstance(value, (int, float)) if kind is float else isinstance(value, kind)


def _positive(v) -> str:
    return "" if v > 0 else f"must be positive, got {v!r}"


def _not_negative(v) -> str:
    return "" if v >= 0 else f"must not be negative, got {v!r}"


def _fraction(v) -> str:
    """A share in (0, 1]."""
    return "" if 0 < v <= 1 else f"must be a fraction in (0, 1], got {v!r}"


def _filled(v) -> str:
    return "" if v.strip() else "must not be empty"


def _one_of(allowed) -> Callable:
    """The value is one of `allowed` (a collection, or a function giving one when the check runs)."""

    def check(v) -> str:
        known = allowed() if callable(allowed) else allowed
        return "" if v in known else f"{v!r} is not one of {', '.join(sorted(known))}"

    return check


def _each(kind: type, *checks) -> Callable:
    """Every item of a list is a `kind` and passes `checks`."""

    def check(items) -> str:
        for item in items:
            if not _type_ok(item, kind):
                return f"item {item!r} is a {type(item).__name__}, not a {kind.__name__}"
            problem = next((p for p in (c(item) for c in checks) if p), "")
            if problem:
                return f"item {problem}"
        return ""

    return check


def _url(v) -> str:
    return "" if v.startswith(("https://", "http://")) else f"{v!r} is not an http(s) URL"


def _month(v) -> str:
    """YYYY-MM or YYYY-MM-DD."""
    parts = v.split("-")
    ok = len(parts) in (2, 3) and all(p.isdigit() for p in parts) and len(parts[0]) == 4 and 1 <= int(parts[1]) <= 12
    return "" if ok else f"{v!r} is not a date as YYYY-MM or YYYY-MM-DD"


def _fault(row: dict, schema: dict) -> tuple[str, str] | None:
    """The first (field, problem) of `row` against `schema` {field: _Field}, or None."""
    for key, value in row.items():
        spec = schema.get(key)
        if spec is None:
            return key, f"unknown field (known: {', '.join(schema)})"
        if not _type_ok(value, spec.type):
            return key, f"expected {spec.type.__name__}, got {type(value).__name__} {value!r}"
        for check in spec.checks:
            problem = check(value)
            if problem:
                return key, problem
    missing = next((key for key, spec in schema.items() if spec.required and key not in row), None)
    return (missing, "required field missing") if missing else None


def _table(schema: dict) -> Callable:
    """A nested table (models.json's `official`) checked against its own schema."""

    def check(v) -> str:
        fault = _fault(v, schema)
        return f"key {fault[0]!r}: {fault[1]}" if fault else ""

    return check


def _checked(file: str, row, schema: dict) -> dict:
    """`row` (a parsed data-file table) when it matches `schema`; else CatalogError naming the file,
    the row's id and the first field at fault."""
    if not isinstance(row, dict):
        raise _bad(file, None, None, f"a row is a {type(row).__name__}, not a table")
    fault = _fault(row, schema)
    if fault:
        raise _bad(file, row.get("id"), *fault)
    return row


def _rows(file: str, table: str, schema: dict) -> list[dict]:
    """The [[table]] rows of TOML data file `file`, each checked against `schema`; any other top-level
    key is an error (a misspelt [[table]] would otherwise drop its rows)."""
    data = load_toml(file)
    for key in data:
        if key != table:
            raise _bad(file, None, key, f"unknown table (expected [[{table}]])")
    rows = data.get(table)
    if not isinstance(rows, list) or not rows:
        raise CatalogError(f"{file}: no [[{table}]] rows", file=file)
    return [_checked(file, r, schema) for r in rows]


def _engine_ids() -> set:
    """The engine ids formats and KV types may name: the rows of engines.toml that calc/engines loads."""
    from calc.engines import engines  # the engines import this module for its loaders

    return set(engines())


def _dtype_ids() -> set:
    return set(dtypes())


# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dtype:
    id: str
    block_elems: int
    block_bytes: int
    per_row_bytes: int = 0
    per_col_bytes: int = 0
    tile_rows: int = 0
    tile_scale_bytes: int = 0
    source: str = ""

    def tensor_bytes(self, rows: int, cols: int, count: int = 1) -> int:
        """Bytes of `count` [rows x cols] tensors.

        rows * (ceil(cols / block_elems) * block_bytes + per_row_bytes) + cols * per_col_bytes,
        plus tile_scale_bytes per (tile_rows x block_elems) tile for 2-D block scales (FP8 128x128).
        """
        blocks = -(-cols // self.block_elems)
        size = rows * (blocks * self.block_bytes + self.per_row_bytes) + cols * self.per_col_bytes
        if self.tile_rows:
            size += -(-rows // self.tile_rows) * blocks * self.tile_scale_bytes
        return count * size


DTYPE_FIELDS = {
    "id": _need(str, _filled),
    "block_elems": _need(int, _positive),  # elements per block
    "block_bytes": _need(int, _positive),  # bytes per block, scales included
    "per_row_bytes": _may(int, _not_negative),
    "per_col_bytes": _may(int, _not_negative),
    "tile_rows": _may(int, _positive),  # 2-D block scales: rows per tile, with tile_scale_bytes
    "tile_scale_bytes": _may(int, _positive),
    "source": _need(str, _filled),
}


@cache
def dtypes() -> dict[str, Dtype]:
    rows = []
    for r in _rows("dtypes.toml", "dtype", DTYPE_FIELDS):
        if ("tile_rows" in r) != ("tile_scale_bytes" in r):
            lone = "tile_rows" if "tile_rows" in r else "tile_scale_bytes"
            raise _bad("dtypes.toml", r["id"], lone, "tile_rows and tile_scale_bytes go together")
        rows.append(Dtype(**r))
    return _index("dtypes.toml", rows)


@dataclass(frozen=True)
class Format:
    id: str
    label: str
    family: str
    engines: tuple
    source: str
    linear: str = ""
    embed: str = ""
    head: str = ""
    other: str = ""
    base: str = ""
    rules: dict = field(default_factory=dict)
    expert_type: str = ""  # GGUF: the type of every routed-expert tensor, rules aside (MXFP4_MOE)
    embed_on_host: bool = False
    # may be the best format that fits; false where more bits do not mean better: the _L/_XL variants'
    # extra bits sit in the embeddings and output (Q3_K_XL outweighs IQ4_XS yet is a Q3), the legacy
    # Q4_1/Q5_1 outweigh Q4_K_M/Q5_K_M at a higher perplexity (llama-quantize's QUANT_OPTIONS table,
    # tools/quantize/quantize.cpp), and ternary types are for models trained ternary
    suggest: bool = True

    @property
    def is_gguf(self) -> bool:
        return self.family == "gguf"


# Format families and the storage-type fields each one's rows give: "native" reads the checkpoint's own
# config (calc/formats.py _native_types, calc/quant_config.py), "file" a GGUF file's own tensor bytes (calc/gguf_model.py),
# "gguf" a base type and llama.cpp's per-tensor rules, every other
# family one storage type per tensor kind.
_KIND_FIELDS = ("linear", "embed", "head", "other")
FORMAT_FAMILIES = {
    "native": (),
    "file": (),
    "float": _KIND_FIELDS,
    "fp8": _KIND_FIELDS,
    "int8": _KIND_FIELDS,
    "awq": _KIND_FIELDS,
    "gptq": _KIND_FIELDS,
    "bnb": _KIND_FIELDS,
    "mxfp4": _KIND_FIELDS,
    "nvfp4": _KIND_FIELDS,
    "exl2": _KIND_FIELDS,
    "gguf": ("base", "rules", "expert_type"),
}
_TYPE_FIELDS = (*_KIND_FIELDS, "base", "rules", "expert_type")
_OPTIONAL_TYPE_FIELDS = ("rules", "expert_type")


def _gguf_rules(rules: dict) -> str:
    """formats.toml `rules`: {tensor name: ["condition=type", ...]}, each name one llama.cpp tests, each
    condition one of calc.formats.GGUF_CONDITIONS (the table the evaluator runs), each type a dtype."""
    from calc.formats import GGUF_CONDITIONS, GGUF_RULE_KEYS, parse_rule  # formats.py imports this module

    known = dtypes()
    for key, items in rules.items():
        if key not in GGUF_RULE_KEYS:
            return f"unknown tensor name {key!r} (known: {', '.join(GGUF_RULE_KEYS)})"
        if not isinstance(items, list):
            return f"{key}: expected a list of 'condition=type', got {type(items).__name__}"
        for rule in items:
            if not isinstance(rule, str) or rule.count("=") != 1:
                return f"{key}: rule {rule!r} is not 'condition=type'"
            cond, target = parse_rule(rule)
            if cond not in GGUF_CONDITIONS:
                return f"unknown condition {cond!r} (known: {', '.join(GGUF_CONDITIONS)})"
            if target not in known:
                return f"{key}: rule {rule!r} names unknown storage type {target!r}"
    return ""


def _storage_or_bpw(v) -> str:
    """A linear-layer storage type: a dtype, or "bpw" for the request's bits per weight (EXL2)."""
    return "" if v == "bpw" else _one_of(_dtype_ids)(v)


FORMAT_FIELDS = {
    "id": _need(str, _filled),
    "label": _need(str, _filled),
    "family": _need(str, _one_of(FORMAT_FAMILIES)),
    "engines": _need(list, _each(str, _one_of(_engine_ids))),  # engines that load it (may be none: EXL2)
    "source": _need(str, _filled),
    "linear": _may(str, _storage_or_bpw),
    "embed": _may(str, _one_of(_dtype_ids)),
    "head": _may(str, _one_of(_dtype_ids)),
    "other": _may(str, _one_of(_dtype_ids)),
    "base": _may(str, _one_of(_dtype_ids)),
    "rules": _may(dict, _gguf_rules),
    "expert_type": _may(str, _one_of(_dtype_ids)),
    "embed_on_host": _may(bool),
    "suggest": _may(bool),
}


@cache
def formats() -> dict[str, Format]:
    rows = []
    for r in _rows("formats.toml", "format", FORMAT_FIELDS):
        takes = FORMAT_FAMILIES[r["family"]]
        for key in _TYPE_FIELDS:
            if key in r and key not in takes:
                raise _bad(
                    "formats.toml", r["id"], key, f"not used by family {r['family']!r} (it takes {', '.join(takes) or 'none'})"
                )
            if key not in r and key in takes and key not in _OPTIONAL_TYPE_FIELDS:
                raise _bad("formats.toml", r["id"], key, f"required for family {r['family']!r}")
        rows.append(Format(**dict(r, engines=tuple(r["engines"]))))
    return _index("formats.toml", rows)


@dataclass(frozen=True)
class KvType:
    id: str
    label: str
    dtype: str
    engines: tuple
    source: str


def _some(v) -> str:
    return "" if v else "must not be empty"


KV_FIELDS = {
    "id": _need(str, _filled),
    "label": _need(str, _filled),
    "dtype": _need(str, _one_of(_dtype_ids)),
    "engines": _need(list, _some, _each(str, _one_of(_engine_ids))),
    "source": _need(str, _filled),
}


@cache
def kv_types() -> dict[str, KvType]:
    rows = [KvType(**dict(r, engines=tuple(r["engines"]))) for r in _rows("kv_types.toml", "kv", KV_FIELDS)]
    return _index("kv_types.toml", rows)


@dataclass(frozen=True)
class Gpu:
    id: str
    name: str
    vendor: str
    segment: str
    memory_bytes: int
    bandwidth_bytes_per_s: float
    source: str
    bf16_tflops: float = 0.0
    usable_fraction: float = 1.0
    price_usd: float = 0.0
    released: str = ""
    missing: tuple = ()  # fields no source gives (left at 0 rather than guessed)
    framework_memory_bytes: int = 0  # total torch.cuda.mem_get_info() reports (0: not measured)
    framework_memory_note: str = ""  # where that total was read
    aliases: tuple = ()  # short names a device list may use ("h100"), each unique (calc/machine.py)
    unified: bool = False  # CPU and GPU share one memory (Apple: always; Strix Halo, DGX Spark)
    recommend: bool = True  # offered in the recommended setups (false: hardware input only, issue 14)

    @property
    def is_unified(self) -> bool:
        """One memory pool for CPU and GPU: Apple silicon, or a row marked unified."""
        return self.unified or self.vendor == "apple"

    @property
    def usable_bytes(self) -> int:
        """Memory a model may use: all of it on discrete GPUs, the wired-memory limit on Apple."""
        return int(self.memory_bytes * self.usable_fraction)

    @property
    def framework_bytes(self) -> int:
        """The device total a framework sizes from (PyTorch's torch.cuda.mem_get_info total, a few
        hundred MiB under nvidia-smi's), where a log gave it; else the usable memory."""
        return self.framework_memory_bytes or self.usable_bytes


_GPU_FIELDS = set(Gpu.__dataclass_fields__)
GPU_VENDORS = ("nvidia", "amd", "apple")
GPU_SEGMENTS = ("consumer", "workstation", "datacenter", "apple")
_GPU_OPTIONAL_FIGURES = ("bf16_tflops", "price_usd")  # each given, or listed in `missing`

GPU_FIELDS = {
    "id": _need(str, _filled),
    "name": _need(str, _filled),
    "vendor": _need(str, _one_of(GPU_VENDORS)),
    "segment": _need(str, _one_of(GPU_SEGMENTS)),
    "memory_bytes": _need(int, _positive),
    "memory_note": _may(str),
    "usable_fraction": _may(float, _fraction),  # share of memory_bytes a model may use (Apple: wired limit)
    "bandwidth_bytes_per_s": _need(float, _positive),
    "bf16_tflops": _may(float, _positive),
    "price_usd": _may(float, _positive),
    "price_note": _may(str),
    "released": _may(str, _month),
    "source": _need(str, _url),
    "missing": _may(list, _each(str, _one_of(_GPU_OPTIONAL_FIGURES))),
    "framework_memory_bytes": _may(int, _positive),  # torch.cuda.mem_get_info() total, from a log
    "framework_memory_note": _may(str, _filled),  # the log it was read from
    "aliases": _may(list, _each(str, _filled)),
    "unified": _may(bool),
    "recommend": _may(bool),
}


@cache
def gpus() -> dict[str, Gpu]:
    rows = []
    for r in _rows("gpus.toml", "gpu", GPU_FIELDS):
        for key in _GPU_OPTIONAL_FIGURES:
            if (key in r) == (key in r.get("missing", ())):
                problem = "given and listed in missing" if key in r else "neither given nor listed in missing"
                raise _bad("gpus.toml", r["id"], key, problem)
        if ("framework_memory_bytes" in r) != ("framework_memory_note" in r):
            raise _bad("gpus.toml", r["id"], "framework_memory_note", "framework_memory_bytes and its note come together")
        rows.append(Gpu(**{k: (tuple(v) if k in ("missing", "aliases") else v) for k, v in r.items() if k in _GPU_FIELDS}))
    return _index("gpus.toml", rows)


@dataclass(frozen=True)
class SpeedRun:
    """One published speed measurement (calc/data/speed_efficiency.toml): an engine on one GPU with a
    model file of `size_bytes`, its decode (batch 1) and prefill tokens per second as measured."""

    id: str
    engine: str
    backend: str
    gpu: str
    model: str
    format: str
    size_bytes: int
    params: int
    layers: int
    source: str
    date: str
    decode_tokens_per_s: float | None = None
    prefill_tokens_per_s: float | None = None
    note: str = ""
    quote: str = ""

    def decode_fraction(self) -> float | None:
        """Measured decode over its roofline: tokens/s x bytes read per token / the GPU's bandwidth."""
        if self.decode_tokens_per_s is None:
            return None
        return self.decode_tokens_per_s * self.size_bytes / gpus()[self.gpu].bandwidth_bytes_per_s

    def prefill_fraction(self) -> float | None:
        """Measured prefill over its ceiling: tokens/s x 2 FLOPs per parameter / the GPU's dense BF16 FLOPS."""
        if self.prefill_tokens_per_s is None:
            return None
        return self.prefill_tokens_per_s * 2 * self.params / (gpus()[self.gpu].bf16_tflops * 1e12)


def _gpu_ids() -> set:
    return set(gpus())


SPEED_RUN_FIELDS = {
    "id": _need(str, _filled),
    "engine": _need(str, _one_of(_engine_ids)),
    "backend": _need(str, _filled),  # the engine's GPU backend as the run names it (CUDA, Metal, Vulkan)
    "gpu": _need(str, _one_of(_gpu_ids)),
    "model": _need(str, _filled),  # the model as the benchmark table names it
    "format": _need(str, _filled),
    "size_bytes": _need(int, _positive),  # tensor bytes of the model file: what one decode step reads
    "params": _need(int, _positive),
    "layers": _need(int, _positive),  # the model's blocks: each costs a step its fixed time (calc/speed.py)
    "decode_tokens_per_s": _may(float, _positive),  # batch 1 (llama-bench tg128)
    "prefill_tokens_per_s": _may(float, _positive),  # llama-bench pp512
    "source": _need(str, _url),  # the thread the measurement is published in
    "date": _need(str, _month),
    "note": _may(str),
    "quote": _may(str, _filled),  # the table row as published
}


@cache
def speed_runs() -> tuple[SpeedRun, ...]:
    """The measurements of calc/data/speed_efficiency.toml, each checked for meaning: a decode or a
    prefill figure at least, a prefill figure only on a GPU with FLOPS, and a share of the roofline in
    (0, 1] (a run faster than its ceiling is a wrong row: the size, the GPU or the speed)."""
    file, out, seen = "speed_efficiency.toml", [], set()
    for r in _rows(file, "run", SPEED_RUN_FIELDS):
        if r["id"].lower() in seen:
            raise _bad(file, r["id"], "id", "duplicate id")
        seen.add(r["id"].lower())
        if "decode_tokens_per_s" not in r and "prefill_tokens_per_s" not in r:
            raise _bad(file, r["id"], "decode_tokens_per_s", "a run needs decode_tokens_per_s or prefill_tokens_per_s")
        if "prefill_tokens_per_s" in r and not gpus()[r["gpu"]].bf16_tflops:
            raise _bad(file, r["id"], "prefill_tokens_per_s", f"gpus.toml gives no bf16_tflops for {r['gpu']!r}")
        run = SpeedRun(**r)
        for key, share in (("decode_tokens_per_s", run.decode_fraction()), ("prefill_tokens_per_s", run.prefill_fraction())):
            if share is not None and not 0 < share <= 1:
                raise _bad(file, r["id"], key, f"{share:.3f} of the roofline: a run cannot beat its ceiling")
        out.append(run)
    return tuple(out)


@dataclass(frozen=True)
class ModelRow:
    """A catalog model: its config.json plus the facts a model page shows."""

    id: str
    repo: str
    name: str
    family: str
    config: dict
    official: dict
    sources: tuple
    notes: tuple


def _repo(v) -> str:
    owner, _, name = v.partition("/")
    return "" if owner and name and "/" not in name else f"{v!r} is not a Hugging Face repo id (owner/name)"


def _has_url(sources) -> str:
    """At least one source is a URL (the others may describe where a value was read)."""
    return "" if any(not _url(s) for s in sources) else "no http(s) URL among the sources"


_PRECISIONS = ("precise", "rounded", "nominal")  # models.json _about: how a parameter count was printed
_TEXT = _may(str)
_COUNT = _may(int, _positive)
MODALITIES = ("text", "image", "audio", "video")  # what a model takes in or gives out
OFFICIAL_FIELDS = {
    "total_params": _COUNT,
    "total_params_text": _TEXT,
    "total_params_note": _TEXT,
    "total_params_with_vision": _COUNT,
    "active_params": _COUNT,
    "active_params_text": _TEXT,
    "active_params_precision": _may(str, _one_of(_PRECISIONS)),
    "active_params_excludes": _may(list, _each(str, _filled)),
    "active_params_excludes_source": _TEXT,
    "params_precision": _may(str, _one_of(_PRECISIONS)),
    "params_source": _TEXT,
    "params_note": _TEXT,
    "params_scope": _TEXT,
    "embedding_params": _COUNT,
    "non_embedding_params_count": _COUNT,
    "non_embedding_params_text": _TEXT,
    "vision_encoder_params": _COUNT,
    "dense": _may(bool),
    "context_length": _COUNT,
    "context_length_extended": _COUNT,
    "context_length_note": _TEXT,
    "license": _TEXT,
    "license_note": _TEXT,
    "license_url": _may(str, _url),
    "release_date": _may(str, _month),
    "release_note": _TEXT,
    # Facts only a publisher can state (model pages show them), each with the URL that states it
    # and, in *_note, the publisher's words.
    "knowledge_cutoff": _may(str, _month),
    "knowledge_cutoff_source": _may(str, _url),
    "knowledge_cutoff_note": _TEXT,
    "input_modalities": _may(list, _some, _each(str, _one_of(MODALITIES))),
    "output_modalities": _may(list, _some, _each(str, _one_of(MODALITIES))),
    "modalities_source": _may(str, _url),
    "modalities_note": _TEXT,
}
# A publisher fact and the field that must give its source.
SOURCED_FACTS = {
    "knowledge_cutoff": "knowledge_cutoff_source",
    "input_modalities": "modalities_source",
    "output_modalities": "modalities_source",
}

MODEL_FIELDS = {
    "id": _need(str, _filled),
    "repo": _need(str, _repo),
    "name": _may(str, _filled),
    "family": _may(str),
    "config": _need(dict),  # config.json as published; read by calc/architecture.py like a pasted one
    "official": _may(dict, _table(OFFICIAL_FIELDS)),
    "sources": _need(list, _some, _each(str, _filled), _has_url),
    "notes": _may(list, _each(str, _filled)),
    "unverified": _may(list, _each(str, _filled)),  # config keys or facts no source confirmed
    "implicit_defaults": _may(list, _each(str, _filled)),  # config keys whose transformers default applies
    "derived": _may(dict),  # Falcon: attention/MLP numbers computed from its own config keys
}


@cache
def models() -> dict[str, ModelRow]:
    data = _compiled("models.json") or json.loads(read_data("models.json"))
    for key in data:
        if key not in ("_about", "models"):
            raise _bad("models.json", None, key, "unknown top-level key (expected _about, models)")
    if not isinstance(data.get("models"), list) or not data["models"]:
        raise CatalogError("models.json: no models", file="models.json")
    rows = []
    for r in data["models"]:
        _checked("models.json", r, MODEL_FIELDS)
        for fact, source in SOURCED_FACTS.items():
            if fact in r.get("official", {}) and source not in r["official"]:
                raise _bad("models.json", r["id"], f"official.{fact}", f"needs official.{source}, the URL that states it")
        rows.append(
            ModelRow(
                id=r["id"],
                repo=r["repo"],
                name=r.get("name") or r["repo"].split("/")[-1],
                family=r.get("family", ""),
                config=r["config"],
                official=r.get("official", {}),
                sources=tuple(r["sources"]),
                notes=tuple(r.get("notes", ())),
            )
        )
    index = _index("models.json", rows)
    by_repo = {}
    for row in rows:
        if row.repo.lower() in by_repo:
            raise _bad("models.json", row.id, "repo", f"repo {row.repo!r} is also row {by_repo[row.repo.lower()].id!r}")
        by_repo[row.repo.lower()] = row
    return {**by_repo, **index}


def model_rows() -> list[ModelRow]:
    """Each catalog model once, in file order."""
    seen, out = set(), []
    for row in models().values():
        if row.id not in seen:
            seen.add(row.id)
            out.append(row)
    return out


DEFAULT_MODEL = "qwen3-coder-480b-a35b-instruct"


@cache
def accuracy() -> dict:
    """{engine: {part: {"max_error", "n"}}}: the largest error measured per part of the breakdown
    (calc/data/accuracy.json, written from the validation records by python -m bench.accuracy --write)."""
    data = _compiled("accuracy.json") or json.loads(read_data("accuracy.json"))
    return data["engines"]
