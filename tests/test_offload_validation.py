"""llama.cpp hybrid runs (calc/data/offload_validation.json): each device's weights, KV and compute
buffer (and with mmap the RAM's mapped range, the CPU_Mapped buffer) within 3% of the log's figure,
or the miss explained in the record's mapping.exclude."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from calc.api import handle

RECORDS = json.loads((Path(__file__).parent.parent / "calc" / "data" / "offload_validation.json").read_text("utf-8"))["records"]
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
