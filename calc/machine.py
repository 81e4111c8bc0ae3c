"""Your machine: the GPUs (mixed, from the catalog or by size alone), system RAM and its bandwidth,
or one unified-memory machine whose GPU may use a share of the pool (issue 14).

Inputs, each validated here with errors naming the request field:
    devices        "rtx-4090,rtx-3090", "4090,3090", "2xh100", "24GiB", "2x24GiB", or a list of them
    ram            "128GiB" / "128GB" / "128" (GiB) / a number of bytes
    ram_bandwidth  a preset id of calc/data/memory.toml ("ddr5-5600-2ch") or GB/s (10^9 bytes/s)
    gpu_share      unified memory: the fraction the GPU may use (default the catalog's usable_fraction)

Memory is sold in binary sizes (a "24 GB" card and a "128 GB" kit hold 24 and 128 GiB), so GB and GiB
both mean 2^30 bytes here; bandwidths are decimal (GB/s = 10^9 bytes per second), as vendors state them.
"""

from __future__ import annotations

import re
from functools import cache
from typing import NamedTuple

from calc import catalog
from calc.catalog import CatalogError, Gpu
from calc.errors import show
from calc.i18n import fail

MEMORY_FILE = "memory.toml"
MAX_DEVICES = 16  # GPUs in one machine llama.cpp may split over (GGML_CUDA_MAX_DEVICES = 16, ggml-cuda/common.cuh)
DEFAULT_RAM = "ddr5-5600-2ch"  # the bandwidth assumed when only the RAM size is given: a current desktop
DEFAULT_LINK = "pcie4-x16"  # host-to-GPU link assumed for streamed weights (RTX 30/40 cards are PCIe 4.0 x16)
UNITS = {"b": 1, "k": 2**10, "kb": 2**10, "kib": 2**10, "m": 2**20, "mb": 2**20, "mib": 2**20}
UNITS |= {"g": 2**30, "gb": 2**30, "gib": 2**30, "t": 2**40, "tb": 2**40, "tib": 2**40}
_SIZE = re.compile(r"([0-9]{1,7}(?:\.[0-9]{1,6})?)\s*([a-z]{0,3})")
_COUNT = re.compile(r"([0-9]{1,2})\s*[x*]\s*(.+)")


class Device(NamedTuple):
    """One memory of the machine: a GPU, or the system RAM (kind "ram")."""

    name: str  # llama.cpp's device name: CUDA0, ROCm0, MTL0, ..., or CPU for the RAM
    id: str | None  # catalog id; None for a GPU given by size or for the RAM
    label: str  # what a person calls it
    kind: str  # "gpu" or "ram"
    memory_bytes: int
    capacity_bytes: int  # what a model may fill: the usable share, or for RAM all of it
    bandwidth_bytes_per_s: float  # 0: unknown (a GPU given by size alone)
    tflops: float  # dense 16-bit TFLOPS; 0: unknown
    vendor: str


class Machine(NamedTuple):
    gpus: tuple[Device, ...]
    ram: Device  # memory_bytes 0: its size not given (the host side goes unchecked)
    unified: bool  # one pool: the RAM device is what the GPU leaves of it
    link_bandwidth_bytes_per_s: float  # host-to-GPU copies (0 on unified memory: nothing is copied)
    link: str  # its preset id


@cache
def _presets() -> tuple[dict, dict]:
    data = catalog.load_toml(MEMORY_FILE)
    out: tuple[dict, dict] = ({}, {})
    for table, into in (("ram", out[0]), ("link", out[1])):
        for row in data.get(table, []):
            for key, kind in (("id", str), ("name", str), ("bandwidth_bytes_per_s", float), ("source", str)):
                if not isinstance(row.get(key), kind) or (kind is str and not row[key]):
                    raise CatalogError(f"{MEMORY_FILE}: row {row.get('id')!r} field {key!r}: missing or not a {kind.__name__}")
            if not row["source"].startswith("https://"):
                raise CatalogError(f"{MEMORY_FILE}: row {row['id']!r} field 'source': not an https URL")
            share = row.get("measured_share", [1.0, 1.0])
            if not (isinstance(share, list) and len(share) == 2 and 0 < share[0] <= share[1] <= 1):
                raise CatalogError(f"{MEMORY_FILE}: row {row['id']!r} field 'measured_share': not [low, high] in (0, 1]")
            into[row["id"]] = row
    return out


@cache
def decode_ram_share() -> tuple[float, float]:
    """[low, high] share of the RAM's bandwidth the host side of an offloaded decode reached in the
    measured runs (calc/data/memory.toml [offload_decode] ram_share)."""
    row = catalog.load_toml(MEMORY_FILE).get("offload_decode") or {}
    share, source = row.get("ram_share"), row.get("source")
    pair = isinstance(share, list) and len(share) == 2 and all(isinstance(x, float) for x in share)
    if not (pair and 0 < share[0] <= share[1] <= 1):
        raise CatalogError(f"{MEMORY_FILE}: [offload_decode] ram_share: not [low, high] in (0, 1]")
    if not (isinstance(source, str) and source.startswith("https://")):
        raise CatalogError(f"{MEMORY_FILE}: [offload_decode] source: not an https URL")
    return share[0], share[1]


def ram_presets() -> dict[str, dict]:
    """RAM presets by id: name, bandwidth_bytes_per_s, source."""
    return _presets()[0]


def link_presets() -> dict[str, dict]:
    return _presets()[1]


def parse_size(value, field: str) -> int:
    """Bytes of a memory size: an integer of bytes, or text "24GiB", "24 GB", "128G" (binary units);
    text with no unit, "64", is GiB (what a person typing into a RAM or card-size field means)."""
    if isinstance(value, bool) or value is None:
        raise fail("bad_value", field, "size_type", field=field, value=show(value))
    if isinstance(value, int):
        size = value
    elif isinstance(value, str) and (m := _SIZE.fullmatch(value.strip().lower())) and m[2] in UNITS | {"": 1}:
        size = int(float(m[1]) * UNITS[m[2] or "gib"])
    else:
        raise fail("bad_value", field, "size_text", field=field, value=show(value))
    if not 2**20 <= size <= 2**50:
        raise fail("out_of_range", field, "size_range", field=field, value=show(value))
    return size


def _backend(vendor: str) -> str:
    """llama.cpp's device name prefix by vendor (ggml-cuda CUDA0, ggml-hip ROCm0, ggml-metal MTL0)."""
    return {"nvidia": "CUDA", "amd": "ROCm", "apple": "MTL"}.get(vendor, "CUDA")


def find_gpu(text: str, field: str = "devices") -> Gpu:
    """A catalog GPU by id, alias (gpus.toml aliases) or short name ("4090" is rtx-4090)."""
    gpus = catalog.gpus()
    key = text.strip().lower()
    if key in gpus:
        return gpus[key]
    for g in gpus.values():
        if key in g.aliases:
            return g
    for prefix in ("rtx-", "rx-", "apple-"):
        if prefix + key in gpus:
            return gpus[prefix + key]
    near = [g.id for g in gpus.values() if g.id.startswith(key + "-") or g.id.endswith("-" + key)]
    if len(near) == 1:
        return gpus[near[0]]
    if near:
        raise fail("unknown_gpu", field, "unknown_gpu_near", value=show(text, 60), field=field, near=", ".join(near[:8]))
    raise fail("unknown_gpu", field, "unknown_gpu", value=show(text, 60), field=field)


def parse_devices(value, field: str = "devices") -> list[tuple[Gpu | None, int]]:
    """The GPU list: (catalog GPU, or None for one given by size; its memory bytes), one per GPU."""
    items = list(value) if isinstance(value, (list, tuple)) else str(value).split(",") if isinstance(value, str) else None
    if not items or not all(isinstance(i, str) and i.strip() for i in items):
        raise fail("bad_value", field, "devices_list", field=field, value=show(value))
    out: list[tuple[Gpu | None, int]] = []
    for item in items:
        text = item.strip().lower()
        count = 1
        if (m := _COUNT.fullmatch(text)) and not _SIZE.fullmatch(text):
            count, text = int(m[1]), m[2].strip()
        if count < 1:
            raise fail("out_of_range", field, "devices_count", field=field, value=show(item))
        sized = _SIZE.fullmatch(text)
        if sized and sized[2] in UNITS and sized[2] not in ("b", ""):
            one = (None, parse_size(text, field))
        else:
            g = find_gpu(text, field)
            one = (g, g.memory_bytes)
        out.extend([one] * count)
        if len(out) > MAX_DEVICES:
            raise fail("out_of_range", field, "devices_max", field=field, max=MAX_DEVICES)
    return out


def ram_bandwidth(value, field: str = "ram_bandwidth") -> tuple[str, float]:
    """(label, bytes/s) of a preset id or a number of GB/s."""
    presets = ram_presets()
    if value is None:
        value = DEFAULT_RAM
    if isinstance(value, str) and value.strip().lower() in presets:
        row = presets[value.strip().lower()]
        return row["name"], row["bandwidth_bytes_per_s"]
    try:
        gbs = float(value) if not isinstance(value, bool) else None
    except (TypeError, ValueError, OverflowError):  # float(10**400) overflows
        gbs = None
    if gbs is None or not 1 <= gbs <= 100_000:
        known = ", ".join(presets)
        raise fail("bad_value", field, "ram_bandwidth", field=field, known=known, value=show(value))
    return f"{gbs:g} GB/s", gbs * 1e9


def is_unified(devices) -> bool:
    """Whether a device list is one unified-memory machine (its words differ: "CPU side of the
    unified memory", not "system RAM")."""
    return any(g is not None and g.is_unified for g, _ in parse_devices(devices))


def machine(devices, ram=None, bandwidth=None, gpu_share: float | None = None, link: str | None = None) -> Machine:
    """The machine of a request (see the module docstring)."""
    listed = parse_devices(devices)
    unified = [g for g, _ in listed if g is not None and g.is_unified]
    link_row = link_presets()[link or DEFAULT_LINK]
    if unified:
        if len(listed) != 1:
            raise fail("bad_value", "devices", "unified_alone", name=unified[0].name)
        g = unified[0]
        share = g.usable_fraction if gpu_share is None else gpu_share
        cap = int(g.memory_bytes * share)
        gpu = Device(
            f"{_backend(g.vendor)}0", g.id, g.name, "gpu", g.memory_bytes, cap, g.bandwidth_bytes_per_s, g.bf16_tflops, g.vendor
        )
        # The rest of the pool is the CPU's: what the GPU does not use (calc/offload.py sets it per run).
        host = Device(
            "CPU",
            None,
            f"{g.name} (CPU side of the pool)",
            "ram",
            g.memory_bytes,
            g.memory_bytes,
            g.bandwidth_bytes_per_s,
            0.0,
            g.vendor,
        )
        return Machine((gpu,), host, True, 0.0, "unified")
    gpus = []
    counters: dict = {}
    for g, size in listed:
        vendor = g.vendor if g else "nvidia"
        prefix = _backend(vendor)
        i = counters[prefix] = counters.get(prefix, -1) + 1
        if g is None:
            gpus.append(Device(f"{prefix}{i}", None, f"GPU with {size / 2**30:g} GiB", "gpu", size, size, 0.0, 0.0, vendor))
        else:
            gpus.append(
                Device(
                    f"{prefix}{i}",
                    g.id,
                    g.name,
                    "gpu",
                    g.memory_bytes,
                    g.usable_bytes,
                    g.bandwidth_bytes_per_s,
                    g.bf16_tflops,
                    vendor,
                )
            )
    size = parse_size(ram, "ram") if ram is not None else 0  # 0: not given, the host side goes unchecked
    label, bw = ram_bandwidth(bandwidth)
    host = Device("CPU", None, f"System RAM ({label})", "ram", size, size, bw, 0.0, "")
    return Machine(tuple(gpus), host, False, link_row["bandwidth_bytes_per_s"], link_row["id"])


__all__ = ["Device", "Machine", "find_gpu", "machine", "parse_devices", "parse_size", "ram_bandwidth", "ram_presets"]
