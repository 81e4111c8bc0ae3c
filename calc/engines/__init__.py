"""The inference engines, one module each: its settings with their defaults, how many tokens its KV
cache holds, its activation or compute-buffer rule, what one GPU may fill, what it loads and what
it warns about.  Their constants are rows of calc/data/engines.toml, checked at load.

    llamacpp.py       llama.cpp (ggml-org/llama.cpp)
    vllm.py           vLLM (vllm-project/vllm)
    transformers.py   Hugging Face transformers
    base.py           what every engine provides, and the row checks

Nothing outside this package asks which engine it holds: it calls the engine's methods, and
calc/offload.py places the model by the engine's `placement` (a key of calc.offload.PLACEMENTS).

An engine version is a setting: each engine row lists its releases ([[engine.release]], newest
first), each older one with the constants that changed since, cited; engine_for(id, version) is
the engine with that release's constants.
"""

from __future__ import annotations

from functools import cache
from typing import NamedTuple

from calc.catalog import CatalogError, load_toml
from calc.engines.base import ENGINES_FILE, Engine, Settings
from calc.engines.llamacpp import LlamaCpp
from calc.engines.transformers import Transformers
from calc.engines.vllm import Vllm
from calc.errors import CalcError, show

# engines.toml id -> the module's class that implements that engine.
KINDS: dict[str, type[Engine]] = {"llama.cpp": LlamaCpp, "vllm": Vllm, "transformers": Transformers}


class Release(NamedTuple):
    """One release of an engine, as engines.toml lists it."""

    version: str  # its id, as a request names it (engine_version)
    label: str  # which builds or versions it covers
    source: str  # where the change that starts it is recorded
    changes: dict  # constants that differ from the newest release's


RELEASE_KEYS = ("version", "label", "source")


@cache
def _table() -> tuple[dict[str, Engine], dict[str, tuple[Release, ...]]]:
    """Every engine of engines.toml by lowercase id (newest release), and its releases newest first."""
    rows = load_toml(ENGINES_FILE).get("engine")
    if not isinstance(rows, list) or not rows:
        raise CatalogError(f"{ENGINES_FILE}: no [[engine]] rows")
    out: dict[str, Engine] = {}
    releases: dict[str, tuple[Release, ...]] = {}
    for row in rows:
        row = dict(row)
        kind = KINDS.get(row.get("id"))
        if kind is None:
            raise CatalogError(f"{ENGINES_FILE}: row {row.get('id')!r} field 'id': no engine module (known: {', '.join(KINDS)})")
        if row["id"].lower() in out:
            raise CatalogError(f"{ENGINES_FILE}: row {row['id']!r} field 'id': duplicate id")
        found = _releases(row["id"], row.pop("release", None))
        engine = kind.from_row({**row, "version": found[0].version})
        for r in found[1:]:
            engine.with_overrides(**r.changes)  # checked at load: fields, types and choices
        out[row["id"].lower()] = engine
        releases[engine.id] = found
    return out, releases


def _releases(engine_id: str, rows) -> tuple[Release, ...]:
    where = f"{ENGINES_FILE}: row {engine_id!r} field 'release'"
    if not isinstance(rows, list) or not rows:
        raise CatalogError(f"{where}: no [[engine.release]] rows")
    out = []
    for i, r in enumerate(rows):
        missing = [k for k in RELEASE_KEYS if not isinstance(r.get(k), str) or not r.get(k)]
        if missing:
            raise CatalogError(f"{where} [{i}]: {', '.join(missing)} missing or not text")
        changes = {k: v for k, v in r.items() if k not in RELEASE_KEYS}
        if i == 0 and changes:
            raise CatalogError(f"{where} [0]: the newest release is the row itself, it changes nothing ({', '.join(changes)})")
        for k in ("id", "label", "source", "version"):
            if k in changes:
                raise CatalogError(f"{where} [{i}] field {k!r}: not a constant a release can change")
        if r["version"] in (x.version for x in out):
            raise CatalogError(f"{where} [{i}]: duplicate version {r['version']!r}")
        out.append(Release(r["version"], r["label"], r["source"], changes))
    return tuple(out)


def engines() -> dict[str, Engine]:
    """Every engine of engines.toml by lowercase id, in file order, at its newest release."""
    return _table()[0]


engines.cache_clear = _table.cache_clear  # as every catalog loader has (tests reload altered rows)


def releases(engine_id: str) -> tuple[Release, ...]:
    """An engine's releases, newest first."""
    return _table()[1][engine_id]


def engine_for(engine_id: str, version: str | None = None) -> Engine:
    """The engine at a release (None: the newest); CalcError unknown_engine_version otherwise."""
    engine = engines()[engine_id]
    return engine if version is None or version == engine.version else _at(engine, version)


@cache
def _at(engine: Engine, version: str) -> Engine:
    for r in releases(engine.id):
        if r.version == version:
            return engine.with_overrides(version=r.version, **r.changes)
    known = ", ".join(r.version for r in releases(engine.id))
    message = f"unknown {engine.label} version {show(version, 40)} (known: {known})"
    raise CalcError("unknown_engine_version", "engine_version", message)


__all__ = ["KINDS", "Engine", "Release", "Settings", "engine_for", "engines", "releases"]
