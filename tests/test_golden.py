"""The core's answers to a fixed set of requests, saved before the redesign (tests/golden/make.py).

Every field the saved answer has must come back equal; a field added since may only be null (the
typed result lists every optional field, null where it does not apply).  One deliberate change:
`engine.settings` holds only that engine's own knobs since the redesign (the saved answers listed
every engine's, the others' at meaningless defaults such as gpu_memory_utilization 1.0 for llama.cpp),
so a knob missing there is no difference; a knob present must still be equal.  A second (issue 11):
`best_format` is never a format that stores more bits than the checkpoint, and the checkpoint's own
format wins a tie (the saved answers named FP32 or GGUF F16 for BF16 models), so a saved best format
of at least the checkpoint's own bits may change.  A third (issue 11): a model's window is the
publisher's figure where the catalog has one, no longer the larger max_position_embeddings (Qwen3
states 32,768 and sets 40,960; DeepSeek-V3 131,072 and 163,840), so for those models the longest
context, its limit and the past-the-window warning may change, and only those.  A fourth: the EXL2
format's label is "EXL2" (it read "EXL2 (choose bits per weight)" in answers and warnings; the page has
a bits-per-weight control now), so the saved answers are read with the new label.  A fifth: a model
whose window is past 1M tokens (Llama 4 Scout's 10M) gets curve points on to its window, so the chart's
x axis ends on a point; the saved points must come back first and unchanged, and the new ones lie past
1M, at most the window.  A sixth (issue 11): `format_sizes` is new, a list (never null) of the formats
the engine loads with their weights' size, for the page's format list.  A seventh (issue 11): `speed`
gained the realistic range, the roofline times the engine's measured band
(calc/data/speed_efficiency.toml), so its new fields (SPEED_RANGE_FIELDS) may be non-null; the saved
speed fields, the ceilings, must come back equal.  An eighth (issue 13): `model.source` is new, never
null, and says where the model came from ({"kind": "catalog"} or {"kind": "config"} here); the
catalog's formats gain gguf_file ("as stored in the file", only for a model read from a GGUF file).
A ninth (issue 13): `range` is the total moved by the largest error the validation records measure
(calc/data/accuracy.json), so it changes as records are added: a changed range must be exactly the one
the current table gives for the answer's own breakdown.  The new GGUF formats (IQ3_XS, Q4_K_L, ...)
join `formats` and may be the best format that fits.  A tenth (issue 13): catalog rows corrected
against the published checkpoint (CATALOG_FIXES) answer from the corrected row; their saved answers
are replaced by the checks written there.  An eleventh (issue 14): the GPU catalog gains the cards and
unified-memory machines of "your machine" (V100, A40, RTX 2080 Ti, M1-M3 Max, Strix Halo, DGX Spark),
as hardware input only (gpus.toml recommend = false): the catalog's GPU list is the saved one with them
added, and no estimate changes (the new `offload` field is null without devices).  A twelfth (issue 15):
llama.cpp's newest release is 2026-05 (PR #23907: CUDA flash attention reserves F16 copies of a
quantized K and V in the compute buffer), and its settings gain `swa_full` (false unless asked); the
saved llama.cpp answers are those of the release before, so they are compared with engine_version
2026-01 asked for (the answer's request echo and version aside), and the catalog's llama.cpp versions
are the saved ones with 2026-05 first and 2025-04 (before PR #13194's sliding-window cache) last.
And transformers has releases (4.45, the newest, and 4.42 and 4.0 with their older rules), so its
answers name version "4.45" where they said "4", and the catalog lists the three; no number changes
(a request without prompt_tokens prefills its whole context, as before).  A thirteenth (issue 15):
the speed estimate is each engine and backend's fit to the published runs (calc/speed.py fit), so
the ranges, the fit (`decode_efficiency`, `prefill_efficiency`) and the new `backend`, `checked` and
estimate fields change; the ceilings (SPEED_CEILINGS) must come back equal.  transformers answers
gain a `range` from its peak records ("peak_bytes" in calc/data/accuracy.json), as the ninth says.
A fourteenth (issue 15): vLLM's
hybrid KV cache allocator groups Gemma 3's full and sliding layers in equal groups and pads the last
(Gemma 3 1B: 4 full + 22 sliding in 7 groups of 4, 28 layer pages; 27B: 10 + 52 in 7 groups of 10, 70),
so its vLLM answers' kv_capacity_tokens and max_concurrency are checked against that count by hand
(HYBRID_GEMMA3); and the catalog's Gemma 3 27B row gained the published vision_config (SigLIP), so
where the engine loads the tower (vLLM, transformers) its weights are the saved ones plus the tower and
projector at 16 bits (GEMMA3_27B_VISION), and what follows from them may change; llama.cpp's answers
only gain the new source.  A fifteenth (issue 15): llama-quant.cpp tests a MoE FFN tensor's layer (read
from its name) against the GGUF's block count (n_ffn_down = n_ffn_gate = n_ffn_up = hparams.n_layer),
not against the number of tensors the name test matches, so where a model has more FFN tensors of a
stem than blocks (shared experts, dense lead layers: DeepSeek-V3's 119 ffn_down in 61 blocks) its GGUF
mixes with layer rules (Q4_K_M, Q3_K_M, IQ3_XS ...) change, and what follows from their sizes; those
llama.cpp answers must be the saved ones when the old count is replayed (_old_ffn_counts), and
tests/test_gguf_mixes.py checks the new count against published DeepSeek-V3 files.  A sixteenth (issue
15): vLLM's V1 release before 0.21 is split at 0.17 (0.20 = 0.17 to 0.20, whose profile sampler holds 16
bytes per logit; 0.16 = 0.8 to 0.16, the 38 of before), so the catalog lists four vLLM releases; no saved
answer asked for one, and the newest (0.21) is unchanged.  A seventeenth
(issues 14 and 15): a GLM-4.5 GGUF holds the multi-token-prediction layer after the 92 (46) decoder
layers (convert_hf_to_gguf.py Glm4MoeModel: block_count = num_hidden_layers + num_nextn_predict_layers),
which llama.cpp skips at load: the GGUF formats' file sizes (`format_sizes`) include it, and
llama-quant.cpp's layer rules count it (n_layer 93, 47), so the GGUF mixes of GLM-4.5 and GLM-4.5-Air
change, and what follows from their sizes; those answers must be the saved ones when the blocks are
replayed away (_old_ffn_counts no_mtp), and the glm-4.5 row's spec gains mtp_layers 1 (its
num_nextn_predict_layers, added to the catalog row).  tests/test_mtp.py checks the rule by hand.  An
eighteenth (issue 14): llama.cpp's -ngl N puts the output layer and the last N - 1 layers on the GPUs
since PR #18148 (2025-12; the last N layers before it, and in ik_llama.cpp), so the catalog lists two more
llama.cpp releases, 2025-12 and ik_llama.cpp (ISSUE14_LLAMACPP); no saved answer set -ngl below
block_count + 1.  A nineteenth (issue 15): from 0.17 vLLM fuses all-reduce + RMSNorm at TP 2, 4 and 8 on
Hopper and Blackwell (PR #34299), and FlashInfer's workspace makes the profiler's non-torch memory 2.1
GiB per rank there (engines.toml non_torch_fusion_bytes), so vLLM answers on those GPUs at those
counts, and the recommended setups of every vLLM answer, change; every vLLM answer must be the saved
one when the fusion is replayed away (_no_fusion: no GPU in calc/engines/vllm.py
ALLREDUCE_FUSION_GPUS), and tests/test_engines.py checks the rule by hand."""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import json
from collections import Counter
from pathlib import Path

import pytest

from calc import catalog, estimate, formats, recommend
from calc.api import handle
from calc.engines import vllm as vllm_engine
from calc.model import catalog_model

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


# model (id and repo) -> KV bytes per token: full-attention layers (every 6th of 34 or 48: 5 or 8) x K and
# V x KV heads (4 or 8) x head_dim 256 x 2 bytes (F16/BF16); the sliding layers hold a fixed 1,024-token window
GEMMA3_FIXED = {"gemma-3-4b-it": 5 * 2 * 4 * 256 * 2, "gemma-3-12b-it": 8 * 2 * 8 * 256 * 2}
GEMMA3_FIXED |= {f"google/{k}": v for k, v in GEMMA3_FIXED.items()}
# Catalog rows corrected since (issue 13) -> a check of the corrected answer instead of the saved one.
# MiniMax-M2 is released in FP8 with 128x128 block scales (one float32 per block) and a 196,608-token
# window; the row said BF16 and left the window to the 2,048 default.  Native weights: 62 layers x (q
# 6144x3072, k and v 1024x3072, o 3072x6144, 256 experts x (2 x 1536x3072 + 3072x1536)) in FP8 plus the
# scales, + BF16 router, norms, embeddings and head (tests/test_kv_and_weights.py spells it out).
MINIMAX_M2_NATIVE = 230_023_192_576


def _minimax_m2(request: dict, got: dict) -> None:
    assert got["model"]["spec"]["context_length"] == 196_608
    assert got["max_context_limit"] == 196_608
    assert not any(w["code"] == "context_exceeds_native" for w in got["warnings"])  # every saved context fits
    if request["quant"] == "native":
        assert got["memory"]["weights_bytes"] == MINIMAX_M2_NATIVE


CATALOG_FIXES = {"minimax-m2": _minimax_m2, "minimaxai/minimax-m2": _minimax_m2}  # by id or repo, lower case

# Gemma 3 27B's SigLIP tower and projector at 16 bits: 2 x (416,866,032 + 1152 x 5376 + 1152) bytes.
GEMMA3_27B_VISION = 2 * (416_866_032 + 1152 * 5376 + 1152)
# vLLM's hybrid allocator, by hand: model -> (layers per group, groups, {window: layers}) and
# (tp, kv dtype) -> one layer's KV bytes per token on a rank (KV heads per rank x head_dim x K and V x bytes).
HYBRID_GEMMA3 = {"gemma-3-1b-it": (4, 7, {0: 4, 512: 22}), "gemma-3-27b-it": (10, 7, {0: 10, 1024: 52})}
HYBRID_LAYER_BYTES = {
    ("gemma-3-1b-it", 4, "auto"): 1 * 256 * 2 * 2,  # one KV head, replicated on every rank
    ("gemma-3-1b-it", 2, "fp8"): 1 * 256 * 2 * 1,
    ("gemma-3-27b-it", 4, "auto"): 4 * 128 * 2 * 2,  # 16 KV heads over 4 ranks
    ("gemma-3-27b-it", 2, "fp8"): 8 * 128 * 2 * 1,
}


def _model_id(request: dict) -> str:
    return str(request.get("model")).lower().removeprefix("google/")


def _hybrid_ok(request: dict, got: dict) -> bool:
    """vLLM's printed tokens and concurrency for Gemma 3: pool // (16 x layer bytes x group size)
    blocks; tokens = blocks // groups x 16; concurrency = blocks / blocks one request needs (a full
    group ceil(context / 16), a sliding one ceil(min(window - 1 + max_num_batched_tokens, context) / 16) + 1)."""
    model = _model_id(request)
    size, groups, counts = HYBRID_GEMMA3[model]
    layer = HYBRID_LAYER_BYTES[(model, request["gpus"], request["kv_cache"])]
    blocks = got["kv_pool_bytes"] // (16 * layer * size)
    ctx, batched = request["context"], got["engine"]["settings"]["max_num_batched_tokens"]
    need = sum(-(-c // size) * (-(-min(w - 1 + batched, ctx) // 16) + 1 if w else -(-ctx // 16)) for w, c in counts.items())
    return got["kv_capacity_tokens"] == blocks // groups * 16 and got["max_concurrency"] == round(blocks / need, 2)


def _gemma3_27b_vision(request: dict, saved: dict, got: dict) -> bool:
    """The 27B row's answer with the tower loaded: the saved weights plus GEMMA3_27B_VISION, no text_only warning."""
    if _model_id(request) != "gemma-3-27b-it" or request.get("engine") not in ("vllm", "transformers"):
        return False
    codes = [w["code"] for w in got["warnings"]]
    return got["memory"]["weights_bytes"] == saved["memory"]["weights_bytes"] + GEMMA3_27B_VISION and "text_only" not in codes


def _ffn_stem_counts(model_id: str) -> tuple[int, int]:
    """(FFN tensors of the most numerous stem, GGUF blocks) of a catalog model; equal for most."""
    m = catalog_model(model_id)
    counts = Counter(formats._rule_key(t.name, m.arch.tied_embeddings) for t in m.tensors)
    return max(counts[stem] for stem in formats._RULE_STEMS), 1 + max(t.layer for t in m.tensors)


def _old_ffn_counts(request: dict, old_ffn: bool = True, no_mtp: bool = False) -> dict:
    """The answer with llama-quant.cpp's FFN layer count replayed as the core had it before the fifteenth
    change (old_ffn: n = the number of tensors of the stem, not the block count), and (no_mtp) a GGUF's
    multi-token-prediction blocks left out, as before the sixteenth."""
    real, real_file = formats._slots, formats.file_tensors

    def counted(a, tensors):
        totals = Counter(formats._rule_key(t.name, a.tied_embeddings) for t in tensors)
        return [dataclasses.replace(s, n=totals[s.key]) if s.key in formats._RULE_STEMS else s for s in real(a, tensors)]

    model = catalog_model(catalog.models()[str(request["model"]).lower()].id)  # the object handle() uses
    model.derived.clear()
    if old_ffn:
        formats._slots = counted
    if no_mtp:
        formats.file_tensors = lambda a, tensors, fmt: tensors
    try:
        return json.loads(json.dumps(_issue15(request), ensure_ascii=False))
    finally:
        formats._slots, formats.file_tensors = real, real_file
        model.derived.clear()


def _no_mtp_blocks(request: dict) -> bool:
    """An estimate of a catalog model whose GGUF holds multi-token-prediction blocks (GLM-4.5, -Air)."""
    if request.get("op", "estimate") != "estimate":
        return False
    try:
        return catalog_model(catalog.models()[str(request.get("model")).lower()].id).arch.gguf_mtp_blocks > 0
    except KeyError:
        return False


def _ffn_count_changed(request: dict) -> bool:
    """A llama.cpp estimate of a catalog model whose FFN stems match more tensors than it has blocks."""
    if request.get("op", "estimate") != "estimate" or request.get("engine", "llama.cpp") != "llama.cpp":
        return False
    try:
        tensors, blocks = _ffn_stem_counts(str(request.get("model")))
    except KeyError:
        return False
    return tensors != blocks


ISSUE14_GPUS = {"v100-16gb", "v100-32gb", "a40", "rtx-2080-ti", "strix-halo-128gb", "dgx-spark"}
ISSUE14_GPUS |= {f"apple-m{g}-max-{m}gb" for g, m in ((1, 32), (1, 64), (2, 32), (2, 64), (2, 96))}
ISSUE14_GPUS |= {f"apple-m3-max-{m}gb" for m in (36, 48, 64, 128)}
NEW_LISTS = (".format_sizes: new non-null field", ".model.source: new non-null field")  # added since, never null
WINDOW_FIELDS = (".max_context:", ".max_context_limit:", ".warnings")
SPEED_RANGE_FIELDS = tuple(
    f".speed.{k}: new non-null field"
    for k in (
        "decode_range_tokens_per_s",
        "decode_range_tokens_per_s_per_sequence",
        "prefill_range_seconds",
        "decode_efficiency",
        "prefill_efficiency",
    )
)


SPEED_CEILINGS = tuple(
    f".speed.{k}:" for k in ("decode_tokens_per_s", "decode_tokens_per_s_per_sequence", "prefill_seconds", "basis")
)


def _window_changed(request: dict) -> bool:
    """The model's config sets a larger max_position_embeddings than the publisher's window."""
    spec = handle({"op": "model", "model": request.get("model")}).get("model", {}).get("spec") or {}
    return bool(spec.get("max_position_embeddings", 0) > (spec.get("context_length") or 0))


def _longer_curve(saved: dict, got: dict) -> bool:
    """The answer's curve is the saved one with points added past 1M, up to the model's window, only."""
    old, new = saved.get("curve") or [], got.get("curve") or []
    window = max(got["model"]["spec"]["context_length"] or 0, got.get("max_context_limit") or 0)
    added = [p for p in new if p not in old]
    return [p for p in new if p in old] == old and all(2**20 < p["context"] <= window for p in added)


def _range_from_table(got: dict) -> bool:
    """The answer's range is its breakdown moved by the current accuracy table (estimate.measured_range)."""
    spread = catalog.accuracy()[got["engine"]["id"]]
    mem = dict(got["memory"])
    mem["peak_bytes"] = mem["weights_bytes"] + mem["kv_cache_bytes"] + mem["activations_bytes"]  # transformers
    parts = ("weights_bytes", "kv_cache_bytes", "activations_bytes", "peak_bytes")
    delta = sum(mem[k] * spread[k]["max_error"] for k in parts if k in spread)
    n = sum(spread[k]["n"] for k in parts if k in spread)
    rng = got["range"]
    return rng == {"low_bytes": int(mem["total_bytes"] - delta), "high_bytes": int(mem["total_bytes"] + delta), "comparisons": n}


NEW_FORMATS = {
    "q6_k_l",
    "q5_k_l",
    "q5_1",
    "q4_k_l",
    "q4_1",
    "mxfp4_moe",
    "q3_k_xl",
    "iq3_xs",
    "iq3_s",
    "q2_k_l",
    "iq2_s",
    "iq1_m",
    "tq2_0",
    "tq1_0",
}


def _upcast(request: dict, fmt: str) -> bool:
    """The format stores as many bits per weight as the checkpoint itself or more (FP32 or GGUF F16 of
    a BF16 model, INT8 of an FP8 one): the checkpoint's own format now wins."""
    bits = lambda q: handle({**request, "quant": q, "recommend": False})["format"]["bits_per_weight"]  # noqa: E731
    return bits(fmt) >= bits("native") - 0.01


ISSUE15_LLAMACPP = ("2026-05", "2026-01", "2025-04")  # the new newest release, the saved one, the new oldest
ISSUE15_VLLM = ["0.21", "0.20", "0.16", "v0"]  # the V1 span before 0.21 split at 0.17 (the sixteenth change)


def _issue15(request: dict) -> dict:
    """The answer under the saved llama.cpp release: a llama.cpp estimate asked with engine_version
    2026-01, its request echo and version as the saved answer had them."""
    if request.get("op", "estimate") != "estimate" or request.get("engine", "llama.cpp") != "llama.cpp":
        return handle(request)
    got = handle({**request, "engine_version": ISSUE15_LLAMACPP[1]})
    if got.get("ok"):
        assert handle(request)["engine"]["version"] == ISSUE15_LLAMACPP[0]
        got["request"]["engine_version"] = request.get("engine_version")
        got["engine"]["settings"].pop("swa_full")
    return got


ISSUE14_LLAMACPP = ("2025-12", "ik_llama.cpp")  # PR #18148's release and the fork (the eighteenth change)


def _issue15_versions(saved: list, got: list) -> bool:
    """The catalog's llama.cpp releases: the saved ones between the two added (labels may be reworded),
    once the eighteenth change's two are set aside."""
    ids = [v["id"] for v in got if v["id"] not in ISSUE14_LLAMACPP]
    return ids[0] == ISSUE15_LLAMACPP[0] and ids[-1] == ISSUE15_LLAMACPP[2] and ids[1:-1] == [v["id"] for v in saved]


def _issue15_engines(saved: list, got: list) -> bool:
    """The catalog's engines as saved but for their releases: llama.cpp's with 2026-05 and 2025-04
    added (_issue15_versions), transformers' now 4.45, 4.42 and 4.0, vLLM's 0.20 split into 0.20 and 0.16
    (0.21 and v0 as saved)."""
    by_id = {e["id"]: e["versions"] for e in got}
    was = {e["id"]: e["versions"] for e in saved}
    strip = lambda engines: [{k: v for k, v in e.items() if k != "versions"} for e in engines]  # noqa: E731
    return (
        _issue15_versions(was["llama.cpp"], by_id["llama.cpp"])
        and [v["id"] for v in by_id["transformers"]] == ["4.45", "4.42", "4.0"]
        and [v["id"] for v in by_id["vllm"]] == ISSUE15_VLLM
        and [v for v in by_id["vllm"] if v["id"] in ("0.21", "v0")] == [v for v in was["vllm"] if v["id"] in ("0.21", "v0")]
        and {k: v for k, v in by_id.items() if k not in ("llama.cpp", "transformers", "vllm")}
        == {k: v for k, v in was.items() if k not in ("llama.cpp", "transformers", "vllm")}
        and strip(saved) == strip(got)
    )


@contextlib.contextmanager
def _no_fusion(request: dict):
    """vLLM's all-reduce fusion replayed away for a vLLM request (the nineteenth change): no GPU in
    ALLREDUCE_FUSION_GPUS, and the caches that hold settings-derived plans and setups emptied before
    and after.  Other engines' requests run as they are."""
    if request.get("engine") != "vllm":
        yield
        return
    real = vllm_engine.ALLREDUCE_FUSION_GPUS
    model = catalog.models().get(str(request["model"]).lower())
    held = catalog_model(model.id) if model is not None else None

    def clear():
        estimate.gpu_groups.cache_clear()
        recommend._segments.cache_clear()
        if held is not None:
            held.derived.clear()

    clear()
    vllm_engine.ALLREDUCE_FUSION_GPUS = frozenset()
    try:
        yield
    finally:
        vllm_engine.ALLREDUCE_FUSION_GPUS = real
        clear()


@pytest.mark.parametrize("row", ROWS, ids=lambda r: "-".join(str(v) for v in r["request"].values())[:80])
def test_answer_unchanged(row):
    with _no_fusion(row["request"]):
        got = json.loads(json.dumps(_issue15(row["request"]), ensure_ascii=False))
        old_ffn, no_mtp = _ffn_count_changed(row["request"]), _no_mtp_blocks(row["request"])
        if old_ffn or no_mtp:
            got = _old_ffn_counts(row["request"], old_ffn, no_mtp)
    fixed = GEMMA3_FIXED.get(row["request"].get("model"))
    if fixed is not None:
        kv_bytes = {"f16": 2, "bf16": 2, "fp8": 1, "q8_0": 34 / 32}[got["kv_cache"]["id"]] / 2
        assert got["kv_cache_bytes_per_token"] == fixed * kv_bytes
        return
    fix = CATALOG_FIXES.get(str(row["request"].get("model")).lower())
    if fix is not None:
        fix(row["request"], got)
        return
    saved = row["answer"].get("best_format")
    answer = json.loads(json.dumps(row["answer"], ensure_ascii=False).replace("EXL2 (choose bits per weight)", "EXL2"))
    changed = [
        d
        for d in _diff(answer, got)
        if not (d.startswith(".best_format:") and _upcast(row["request"], saved))
        and not (d.startswith(WINDOW_FIELDS) and _window_changed(row["request"]))
        and not (d.startswith(".curve:") and _longer_curve(answer, got))
        and not d.startswith(NEW_LISTS)
        and not d.startswith(SPEED_RANGE_FIELDS)
        and not (d.startswith(".models[") and got["models"][int(d[8 : d.index("]")])]["id"] in GEMMA3_FIXED)
        and not (d.startswith((".range.", ".range: None ->")) and _range_from_table(got))
        and not (
            d.startswith(".format_sizes:")
            and [f for f in got["format_sizes"] if f["id"] not in NEW_FORMATS] == answer["format_sizes"]
        )
        and not (
            d.startswith(".best_format:") and got["best_format"] in NEW_FORMATS and catalog.formats()[got["best_format"]].suggest
        )
        and not (
            d.startswith(".formats:")
            and [f for f in got["formats"] if f["id"] not in NEW_FORMATS | {"gguf_file"}]
            == [f for f in answer["formats"] if f["id"] != "gguf_file"]
        )
        and not (d.endswith("].context_length: 2048 -> 196608") and got["models"][int(d[8 : d.index("]")])]["id"] == "minimax-m2")
        and not (d.startswith(".gpus:") and [g for g in got["gpus"] if g["id"] not in ISSUE14_GPUS] == answer["gpus"])
        and not (d.startswith(".engines[") and _issue15_engines(answer["engines"], got["engines"]))
        and not (d == ".engine.version: '4' -> '4.45'" and got["engine"]["id"] == "transformers")
        and not (d.startswith(".speed.") and not d.startswith(SPEED_CEILINGS))
        and not (d.startswith(".model.spec.sources:") and _model_id(row["request"]) == "gemma-3-27b-it")
        and not (
            d.startswith((".kv_capacity_tokens:", ".max_concurrency:"))
            and _model_id(row["request"]) in HYBRID_GEMMA3
            and _hybrid_ok(row["request"], got)
        )
        and not _gemma3_27b_vision(row["request"], answer, got)
        and not (d == ".model.spec.mtp_layers: None -> 1" and _model_id(row["request"]) in ("glm-4.5", "zai-org/glm-4.5"))
    ]
    assert changed == []
