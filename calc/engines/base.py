"""What every engine module provides, and how an engine's row in calc/data/engines.toml is checked.

An engine is a frozen dataclass: its constants come from its engines.toml row (each one cited
there), its rules are methods.  The memory plan, the estimate and the recommendations call only
these methods and fields; none of them asks which engine it holds.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cache
from typing import ClassVar

from calc.architecture import Architecture
from calc.catalog import CatalogError, Format, Gpu, KvType

ENGINES_FILE = "engines.toml"


@dataclass(frozen=True)
class Settings:
    """An engine's knobs for one request, defaults filled in (each engine module defines its own)."""

    HIDDEN: ClassVar[tuple[str, ...]] = ()  # fields that follow from the setup, not knobs a user sets

    def as_dict(self) -> dict:
        """The knobs a user sets, in field order.  A plain copy, not dataclasses.asdict's deep one (a
        cost at every estimate): every knob is a number, a flag or None."""
        return {name: getattr(self, name) for name in _knobs(type(self))}


@cache
def _knobs(cls) -> tuple[str, ...]:
    """The field names of a Settings class less its HIDDEN ones (a class's fields never change)."""
    return tuple(f.name for f in dataclasses.fields(cls) if f.name not in cls.HIDDEN)


@dataclass(frozen=True)
class Engine:
    """Fields every engine row has.  Subclasses add their own constants and rules."""

    id: str
    label: str
    source: str
    default_kv_cache: str  # a kv_types.toml id, or "auto": the model's 16-bit dtype
    split: str  # how weights spread over GPUs: "layer" (contiguous layers per GPU) or "tensor" (ranks)
    mla_cache: str  # what an MLA layer caches: "latent" (compressed) or "full" (per-head K and V)
    mla_v_cached: bool  # whether the MLA cache keeps a V row beside the latent
    state_dtype: str  # element type of recurrent state: "f32" or "model" (the checkpoint's dtype)
    overhead_bytes: int = 0  # bytes per GPU outside weights, KV and activations
    embeddings_on_host: bool = False  # the token embedding table stays in system memory
    loads_vision_encoder: bool = False  # a multimodal checkpoint's vision tower loads with the language model
    loads_mmproj: ClassVar[bool] = False  # a separate multimodal projector file (llama.cpp --mmproj) is loaded
    # How calc/offload.py places the model on a machine (a key of calc.offload.PLACEMENTS): "layers"
    # (each tensor, KV layer and compute buffer on a device, llama.cpp's --fit), "pool" (tensor
    # parallel ranks, the KV pool of what is left) or "device_map" (layers fill the GPUs in order).
    # No default: every engine module names its own (tests/test_engines.py holds it).
    placement: ClassVar[str]
    version: str = ""  # the release whose constants these are (engines.toml [[engine.release]])

    # Allowed values of the enumerated fields, checked at load.
    CHOICES: ClassVar[dict] = {"split": ("layer", "tensor"), "mla_cache": ("latent", "full"), "state_dtype": ("f32", "model")}

    # -- loading -------------------------------------------------------------------------------

    @classmethod
    def from_row(cls, row: dict) -> Engine:
        """The engine of an engines.toml row; CatalogError names the row and field of any mistake:
        an unknown or missing key, a value of the wrong type, or one outside CHOICES."""
        return cls(**_checked(cls, row, row.get("id")))

    def with_overrides(self, **changes) -> Engine:
        """This engine with some constants replaced (another release's, for a validation record),
        checked as a row is."""
        return type(self)(**_checked(type(self), {**dataclasses.asdict(self), **changes}, self.id))

    # -- rules (subclasses override what differs) -----------------------------------------------

    def for_request(self, req) -> Engine:
        """This engine with any constant the request itself sets (none here; vLLM's --block-size)."""
        return self

    def settings(self, req, gpu: Gpu | None) -> Settings:
        """The request's knobs for this engine, its defaults where the request is silent."""
        return Settings()

    def cells_rule(self, st: Settings):
        """A function (context, batch, window) -> cached tokens of a layer with that window
        (0 = full attention), over all sequences."""
        raise NotImplementedError

    def activations(self, plan, context: int, batch: int, tp: int, last: bool) -> int:
        """Working memory of one GPU (bytes): `tp` tensor-parallel ranks, `last` if it holds the output head."""
        raise NotImplementedError

    def after_prefill(self, plan, context: int, batch: int, tp: int, last: bool) -> tuple[int, int, int] | None:
        """(prompt tokens, decode-step working memory, extra whole copies of the cache in a decode step)
        where the engine prefills a prompt shorter than the context and grows its cache token by token
        after it; None where activations() is the peak whatever the prompt (an engine that reserves
        its cache up front)."""
        return None

    def runtime_bytes(self, tp: int = 1, st: Settings | None = None) -> int:
        """Bytes per GPU the runtime holds outside weights, KV and activations, with `tp`
        tensor-parallel ranks and the request's settings `st` (vLLM's depends on both)."""
        return self.overhead_bytes

    def stored_weights(self, arch, tensors: tuple, weights, format_id: str, bpw, st: Settings):
        """The weights as the engine lays them out in memory: by default the checkpoint's bytes
        (calc/formats.py weight_bytes); an engine whose kernels pad tensors overrides this."""
        return weights

    def capacity_bytes(self, gpu: Gpu, st: Settings) -> int:
        """Bytes one GPU may fill: its usable memory."""
        return gpu.usable_bytes

    def loads_format(self, fmt: Format) -> bool:
        """Whether the engine loads weights in this format (formats.toml `engines`)."""
        return self.id in fmt.engines

    def loads_kv(self, kv: KvType) -> bool:
        """Whether the engine offers this KV-cache type (kv_types.toml `engines`)."""
        return self.id in kv.engines

    def ignores_window(self, arch: Architecture) -> bool:
        """Whether the engine caches every token in this model's sliding-window layers."""
        return False

    def kv_warnings(self, kv: KvType, st: Settings) -> list[tuple[str, dict]]:
        """(message code, parameters) about the KV type under these settings."""
        return []

    def memory_warnings(self, plan, cap: int | None) -> list[tuple[str, dict]]:
        """(message code, parameters) about where the engine puts memory."""
        return []

    def pool(self, plan, per_gpu: list, cap: int, context: int) -> dict | None:
        """The engine's KV pool on a fitting setup: kv_capacity_tokens, max_concurrency, kv_pool_bytes
        (None for an engine that grows its cache on demand)."""
        return None


# TOML value types a field may hold, by the field's annotation.
_TYPES = {"str": (str,), "bool": (bool,), "int": (int,), "float": (int, float)}


def _checked(cls, row: dict, row_id) -> dict:
    """The row's fields for `cls`, each of the annotated type and within CHOICES."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    where = f"{ENGINES_FILE}: row {row_id!r}"
    for key in row:
        if key not in fields:
            raise CatalogError(f"{where} field {key!r}: unknown field (known: {', '.join(sorted(fields))})")
    for name, f in fields.items():
        if name not in row:
            if f.default is dataclasses.MISSING:
                raise CatalogError(f"{where} field {name!r}: missing")
            continue
        value, allowed = row[name], _TYPES[f.type]
        if (isinstance(value, bool) and f.type != "bool") or not isinstance(value, allowed):
            raise CatalogError(f"{where} field {name!r}: {value!r} is not a {f.type}")
        choices = cls.CHOICES.get(name)
        if choices and value not in choices:
            raise CatalogError(f"{where} field {name!r}: {value!r} is not one of {', '.join(choices)}")
        if f.type in ("int", "float") and value < 0:
            raise CatalogError(f"{where} field {name!r}: {value!r} is negative")
    return dict(row)
