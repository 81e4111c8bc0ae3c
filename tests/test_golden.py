"""The core's answers to a fixed set of requests, saved before the redesign (tests/golden/make.py).

Every field the saved answer has must come back equal; a field added since may only be null (the
typed result lists every optional field, null where it does not apply).  One deliberate change:
`engine.settings` holds only that engine's own knobs since the redesign (the saved answers listed
every engine's, the others' at meaningless defaults such as gpu_memory_utilization 1.0 for llama.cpp),
so a knob missing there is no difference; a knob present must still be equal."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from calc.api import handle

ROWS = json.loads(gzip.decompress((Path(__file__).parent / "golden" / "estimates.json.gz").read_bytes()))


def _diff(saved, got, path="") -> list[str]:
    if isinstance(saved, dict) and isinstance(got, dict):
        out = []
        for k in saved.keys() | got.keys():
            if k not in got:
                if path != ".engine.settings":
                    out.append(f"{path}.{k}: missing")
            elif k not in saved:
                if got[k] is not None:
                    out.append(f"{path}.{k}: new non-null field {got[k]!r}")
            else:
                out += _diff(saved[k], got[k], f"{path}.{k}")
        return out
    if isinstance(saved, list) and isinstance(got, list) and len(saved) == len(got):
        return [d for i, (a, b) in enumerate(zip(saved, got, strict=True)) for d in _diff(a, b, f"{path}[{i}]")]
    return [] if saved == got else [f"{path}: {saved!r} -> {got!r}"]


@pytest.mark.parametrize("row", ROWS, ids=lambda r: "-".join(str(v) for v in r["request"].values())[:80])
def test_answer_unchanged(row):
    got = json.loads(json.dumps(handle(row["request"]), ensure_ascii=False))
    assert _diff(row["answer"], got) == []
