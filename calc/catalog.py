"""The catalogs: models, GPUs, weight formats, storage types, KV-cache types, engines.

Each is a data file in calc/data with a source on every row, loaded once on first use,
validated, and indexed by lowercase id.  A bad row raises CatalogError naming the file and row.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import cache


class CatalogError(Exception):
    """A data file row is malformed (a bug in the shipped data, not in user input)."""


_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


def read_data(name: str) -> bytes:
    """A file under calc/data, from a folder or a zip alike (the module's own loader reads it; this
    costs none of importlib.resources' start-up, tens of milliseconds in Pyodide)."""
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
        raise CatalogError(f"{name}: no [[{table}]] rows")
    return rows


def _require(name: str, row: dict, keys: tuple) -> None:
    missing = [k for k in keys if k not in row]
    if missing:
        raise CatalogError(f"{name}: row {row.get('id')!r} lacks {', '.join(missing)}")


def _index(name: str, rows: list) -> dict:
    out = {}
    for row in rows:
        key = row.id.lower()
        if key in out:
            raise CatalogError(f"{name}: duplicate id {row.id!r}")
        out[key] = row
    return out


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


@cache
def dtypes() -> dict[str, Dtype]:
    rows = []
    for r in _toml("dtypes.toml", "dtype"):
        _require("dtypes.toml", r, ("id", "block_elems", "block_bytes", "source"))
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
    embed_on_host: bool = False

    @property
    def is_gguf(self) -> bool:
        return self.family == "gguf"


@cache
def formats() -> dict[str, Format]:
    known = dtypes()
    rows = []
    for r in _toml("formats.toml", "format"):
        _require("formats.toml", r, ("id", "label", "family", "engines", "source"))
        r = dict(r, engines=tuple(r["engines"]))
        fmt = Format(**r)
        used = [fmt.base] if fmt.is_gguf else [fmt.linear, fmt.embed, fmt.head, fmt.other]
        used += [rule.split("=", 1)[1] for rules in fmt.rules.values() for rule in rules]
        bad = [d for d in used if d and d != "bpw" and d not in known]
        if bad or (fmt.family not in ("native", "gguf") and not fmt.linear) or (fmt.is_gguf and not fmt.base):
            raise CatalogError(f"formats.toml: row {fmt.id!r} names unknown or missing storage types {bad}")
        rows.append(fmt)
    return _index("formats.toml", rows)


@dataclass(frozen=True)
class KvType:
    id: str
    label: str
    dtype: str
    engines: tuple
    source: str


@cache
def kv_types() -> dict[str, KvType]:
    rows = []
    for r in _toml("kv_types.toml", "kv"):
        _require("kv_types.toml", r, ("id", "label", "dtype", "engines", "source"))
        if r["dtype"] not in dtypes():
            raise CatalogError(f"kv_types.toml: row {r['id']!r} names unknown dtype {r['dtype']!r}")
        rows.append(KvType(**dict(r, engines=tuple(r["engines"]))))
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

    @property
    def usable_bytes(self) -> int:
        """Memory a model may use: all of it on discrete GPUs, the wired-memory limit on Apple."""
        return int(self.memory_bytes * self.usable_fraction)


_GPU_FIELDS = set(Gpu.__dataclass_fields__)


@cache
def gpus() -> dict[str, Gpu]:
    rows = []
    for r in _toml("gpus.toml", "gpu"):
        _require("gpus.toml", r, ("id", "name", "vendor", "segment", "memory_bytes", "bandwidth_bytes_per_s", "source"))
        gpu = Gpu(**{k: (tuple(v) if k == "missing" else v) for k, v in r.items() if k in _GPU_FIELDS})
        if gpu.memory_bytes <= 0 or gpu.bandwidth_bytes_per_s <= 0 or not 0 < gpu.usable_fraction <= 1:
            raise CatalogError(f"gpus.toml: row {gpu.id!r} has a non-positive size or bandwidth")
        rows.append(gpu)
    return _index("gpus.toml", rows)


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


@cache
def models() -> dict[str, ModelRow]:
    data = _compiled("models.json") or json.loads(read_data("models.json"))
    rows = []
    for r in data["models"]:
        _require("models.json", r, ("id", "repo", "config", "sources"))
        if not r["sources"]:
            raise CatalogError(f"models.json: row {r['id']!r} has no source")
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
    by_repo = {row.repo.lower(): row for row in rows}
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
