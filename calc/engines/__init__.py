"""The inference engines, one module each: its settings with their defaults, how many tokens its KV
cache holds, its activation or compute-buffer rule, what one GPU may fill, what it loads and what
it warns about.  Their constants are rows of calc/data/engines.toml, checked at load.

    llamacpp.py       llama.cpp (ggml-org/llama.cpp)
    vllm.py           vLLM (vllm-project/vllm)
    transformers.py   Hugging Face transformers
    base.py           what every engine provides, and the row checks

Nothing outside this package asks which engine it holds: it calls the engine's methods.
"""

from __future__ import annotations

from functools import cache

from calc.catalog import CatalogError, load_toml
from calc.engines.base import ENGINES_FILE, Engine, Settings
from calc.engines.llamacpp import LlamaCpp
from calc.engines.transformers import Transformers
from calc.engines.vllm import Vllm

# engines.toml id -> the module's class that implements that engine.
KINDS: dict[str, type[Engine]] = {"llama.cpp": LlamaCpp, "vllm": Vllm, "transformers": Transformers}


@cache
def engines() -> dict[str, Engine]:
    """Every engine of engines.toml by lowercase id, in file order."""
    rows = load_toml(ENGINES_FILE).get("engine")
    if not isinstance(rows, list) or not rows:
        raise CatalogError(f"{ENGINES_FILE}: no [[engine]] rows")
    out: dict[str, Engine] = {}
    for row in rows:
        kind = KINDS.get(row.get("id"))
        if kind is None:
            raise CatalogError(f"{ENGINES_FILE}: row {row.get('id')!r} field 'id': no engine module (known: {', '.join(KINDS)})")
        if row["id"].lower() in out:
            raise CatalogError(f"{ENGINES_FILE}: row {row['id']!r} field 'id': duplicate id")
        out[row["id"].lower()] = kind.from_row(row)
    return out


__all__ = ["KINDS", "Engine", "Settings", "engines"]
