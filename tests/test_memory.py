"""Bounded memory: a custom model and everything derived from it go when it leaves the cache, and
the custom models kept stay within their tensor budget (python -m bench.soak measures the bytes)."""

from __future__ import annotations

import gc
import json
import weakref

from calc import catalog, model
from calc.api import handle


def _config(layers: int, hidden: int = 2048) -> dict:
    return {**catalog.models()["llama-3.1-8b"].config, "num_hidden_layers": layers, "hidden_size": hidden}


def _ask(config: dict) -> None:
    assert handle({"config": json.dumps(config), "quant": "q4_k_m", "gpu": "rtx-4090", "gpus": 1})["ok"]


def test_an_evicted_custom_model_and_its_plans_are_freed():
    first = _config(layers=3)
    _ask(first)
    kept = model.custom_model(json.dumps(first))
    assert kept.derived["plans"] and kept.derived["weights"]  # its plans live with it
    plan = weakref.ref(next(iter(kept.derived["plans"].values())))
    gone = weakref.ref(kept)
    del kept
    for i in range(model._CUSTOM_SIZE + 1):
        _ask(_config(layers=4 + i))
    gc.collect()
    assert gone() is None and plan() is None


def test_custom_models_kept_stay_within_the_tensor_budget():
    for i in range(12):  # 256 layers: about 2,300 tensors each
        _ask(_config(layers=256, hidden=1024 + 8 * i))
    kept = list(model._CUSTOM.values())
    assert 1 <= len(kept) <= model._CUSTOM_SIZE
    assert sum(len(m.tensors) for m in kept) <= model._CUSTOM_TENSORS or len(kept) == 1
