"""llama.cpp hybrid runs (calc/data/offload_validation.json): each device's weights, KV and compute
buffer (and with mmap the RAM's mapped range, the CPU_Mapped buffer) within 3% of the log's figure,
or the miss explained in the record's mapping.exclude."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from calc.api import handle

DATA = json.loads((Path(__file__).parent.parent / "calc" / "data" / "offload_validation.json").read_text("utf-8"))
RECORDS = DATA["records"]
USED = [r for r in RECORDS if not r["mapping"].get("excluded")]
PARTS = {"weights": "weights_bytes", "kv": "kv_cache_bytes", "compute": "compute_bytes", "mapped": "mapped_bytes"}
TOLERANCE = 0.03


def test_every_record_is_used_or_excluded_with_a_reason():
    assert len(USED) >= 20
    for r in RECORDS:
        m = r["mapping"]
        assert m.get("excluded") or (m["request"] and m["expected_mib"]), r["id"]
        assert all(isinstance(v, str) and len(v) > 20 for v in m["exclude"].values()), r["id"]


@pytest.mark.parametrize("record", USED, ids=[r["id"] for r in USED])
def test_each_device_within_three_percent(record):
    m = record["mapping"]
    answer = handle({**m["request"], "recommend": False, "curve": False})
    assert answer["ok"], answer
    got = {d["device"]: d for d in answer["offload"]["per_device"]}
    compared = 0
    for device, parts in m["expected_mib"].items():
        for part, mib in parts.items():
            ours = got[device][PARTS[part]] / 2**20
            error = ours / mib - 1
            if f"{device}.{part}" in m["exclude"]:
                assert abs(error) > TOLERANCE, f"{device}.{part} is within {TOLERANCE:.0%} now ({error:+.1%}): drop its exclusion"
                continue
            assert abs(error) <= TOLERANCE, (device, part, round(ours, 2), mib)
            compared += 1
    assert compared >= 2


def test_link_share_is_what_the_measured_prompts_reached():
    """memory.toml's PCIe 4.0 measured_share is [min, max] of transfer / (measured PP512 seconds -
    our compute seconds) over the mainline llama.cpp records with a prompt speed and every layer on a
    GPU (with -ngl 0 the layers' own work runs on the CPU and the prompt is not bound by the link)."""
    from calc.offload import link_share

    shares = []
    for r in USED:
        speed = r["measured"].get("tokens_per_s") or {}
        if r["engine"] != "llama.cpp" or not speed.get("prompt") or r["mapping"]["request"].get("n_gpu_layers") == 0:
            continue
        s = handle({**r["mapping"]["request"], "context": 512, "recommend": False, "curve": False})["offload"]["speed"]
        compute = s["prefill_seconds"] - s["prefill_transfer_seconds"]
        shares.append(round(s["prefill_transfer_seconds"] / (512 / speed["prompt"] - compute), 2))
    assert len(shares) >= 3
    assert link_share("pcie4-x16") == (min(shares), max(shares))


def _named_ram_decodes():
    """(record, our speed at PP512 context, measured decode tok/s) for the runs that name their RAM."""
    for r in USED:
        speed = r["measured"].get("tokens_per_s") or {}
        if speed.get("eval") and r["mapping"]["request"].get("ram_bandwidth"):
            s = handle({**r["mapping"]["request"], "context": 512, "recommend": False, "curve": False})["offload"]["speed"]
            yield r, s, speed["eval"]


def test_ram_share_is_what_the_measured_decodes_reached():
    """memory.toml's [offload_decode] ram_share is [min, max] over the mainline runs with the RAM named
    of: host seconds at full bandwidth / (measured seconds per token - GPU seconds at the middle of the
    llama.cpp decode band)."""
    from calc import speed as sp
    from calc.machine import decode_ram_share, machine

    band = sp.efficiency("llama.cpp", "decode")
    mid = (band.low + band.high) / 2
    shares = []
    for r, s, tokens_per_s in _named_ram_decodes():
        if r["engine"] != "llama.cpp":
            continue
        req = r["mapping"]["request"]
        m = machine(tuple(req["devices"].split(",")), req["ram"], req["ram_bandwidth"], None)
        gpu = s["gpu_bytes_per_step"] / m.gpus[0].bandwidth_bytes_per_s
        ram = s["host_bytes_per_step"] / m.ram.bandwidth_bytes_per_s
        shares.append(round(ram / (1 / tokens_per_s - gpu / mid), 2))
    assert len(shares) >= 3
    assert decode_ram_share() == (min(shares), max(shares))


def test_measured_decodes_with_the_ram_named_fall_in_our_range():
    """Every run that names its RAM, ik_llama.cpp's too (not used for the band), decodes at a speed
    inside our range: the range is the speed shown on the page."""
    runs = list(_named_ram_decodes())
    assert len(runs) >= 4
    for r, s, tokens_per_s in runs:
        low, high = s["decode_range_tokens_per_s"]
        assert low <= tokens_per_s <= high, (r["id"], tokens_per_s, low, high)


FIT_RECORDS = DATA["fit_records"]


@pytest.mark.parametrize("record", FIT_RECORDS, ids=[r["id"] for r in FIT_RECORDS])
def test_planner_chooses_what_llama_cpp_fit_chose(record):
    """A published --fit log: at the same free memory our planner makes llama.cpp's choice, and its
    projection per device (model, context, compute) is ours within 3% or the miss is explained."""
    answer = handle({**record["request"], "recommend": False, "curve": False})
    assert answer["ok"], answer
    plan = answer["offload"]["plan"]
    want = record["llama_cpp_decision"]
    keys = ("n_gpu_layers", "n_cpu_moe", "context")
    assert [plan[k] for k in keys] == [want[k] for k in keys]
    got = {d["device"]: d for d in answer["offload"]["per_device"]}
    for device, parts in record["log_mib"].items():
        for part, mib in parts.items():
            error = got[device][PARTS[part]] / 2**20 / mib - 1
            assert (abs(error) > TOLERANCE) is (f"{device}.{part}" in record["exclude"]), (device, part, round(error, 4))
