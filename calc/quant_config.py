"""A checkpoint's quantization_config and torch_dtype -> the storage of its tensors as released.

The "native" format (calc/formats.py) stores each tensor the way the checkpoint on the Hub does.  This
module reads config.json's `quantization_config` (a dict, no I/O) into a :class:`NativeQuant`: the
storage type of the quantized linear weights, of the routed experts, which modules stay unquantized, and
a reason when the config is quantized in a way these rules cannot count (the estimate then warns and
counts those weights at torch_dtype, never silently).

Bytes per format, from the library that writes the checkpoint (rows = output features, cols = input
features, G = ceil(cols / group_size) groups per row):
  GPTQ (AutoGPTQ / GPTQModel QuantLinear buffers): qweight int32 [cols*bits/32, rows] = rows*cols*bits/8,
      qzeros int32 [G, rows*bits/32] = G*rows*bits/8, scales fp16 [G, rows] = 2*G*rows, g_idx int32 [cols]
      = 4*cols (registered and saved whether desc_act is set or not).
  AWQ (AutoAWQ WQLinear_GEMM): qweight int32 [cols, rows*bits/32], qzeros int32 [G, rows*bits/32]
      (only with zero_point), scales fp16 [G, rows]; no g_idx.
  bitsandbytes 4-bit (Params4bit / QuantState): two 4-bit codes per byte + one float32 absmax per block of
      64 (blocksize 64, transformers' default); with bnb_4bit_use_double_quant the absmax is one uint8
      per block plus one float32 per 256 blocks (that 0.02% is left out).  nf4 and fp4 pack alike.
  bitsandbytes 8-bit (Int8Params, LLM.int8): int8 weights + one float32 SCB per output row.
  FP8 (transformers FineGrainedFP8 / vLLM Fp8LinearMethod): one byte per weight; with weight_block_size
      [r, c] one float32 weight_scale_inv per r x c block (ceil(rows/r) * ceil(cols/c) scales; [1, 1]
      is literally one scale per weight, 5 bytes a weight); without it one per-tensor scale.
  compressed-tensors (its config_groups' weights: num_bits, type, strategy, group_size): int weights
      packed num_bits each (pack-quantized, int32 words), a 16-bit scale per group, per row (channel) or
      per tensor, and a num_bits zero point beside each scale when not symmetric; 8-bit float weights one
      byte each with a 16-bit scale per row (channel) or a float32 per block; NVFP4 (4-bit float, group
      16) as nvfp4 below.
  MXFP4 (gpt-oss): 32 E2M1 values + one E8M0 scale = 17 bytes per 32, the experts only.
  NVFP4 (ModelOpt quant_algo NVFP4, compressed-tensors nvfp4): 16 E2M1 values + one FP8 E4M3 scale =
      9 bytes per 16 (the per-tensor float32 global scale is left out).
"""

from __future__ import annotations

import fnmatch
import math
import re
from dataclasses import dataclass

from calc.catalog import Dtype, dtypes
from calc.errors import CalcError, clean, show

# torch_dtype -> a storage type in dtypes.toml
TORCH_DTYPES = {
    "bfloat16": "bf16",
    "float16": "f16",
    "half": "f16",
    "float32": "f32",
    "float": "f32",
    "float64": "f64",
    "double": "f64",
    "int8": "i8",
    "float8_e4m3fn": "fp8",
    "float8_e5m2": "fp8",
    "float8_e4m3fnuz": "fp8",
}


@dataclass(frozen=True)
class NativeQuant:
    """How the checkpoint stores its weights (a config without quantization_config: all at `base`)."""

    base: Dtype  # torch_dtype: embeddings, norms, and every tensor left unquantized
    linear: Dtype | None = None  # quantized 2-D projections (None: at base)
    experts: Dtype | None = None  # routed experts, when they differ from `linear` (MXFP4)
    skip: tuple = ()  # module name patterns kept unquantized (modules_to_not_convert, ignore, exclude)
    head: bool = False  # lm_head quantized too (GPTQModel lm_head: true)
    problem: str = ""  # why the quantization could not be counted (then linear is None: at base)
    dtype_problem: str = ""  # a torch_dtype not known (counted as bf16)


def _q(q: dict, key: str, kind, default, path: str):
    value = q.get(key, default)
    if value is None:
        return default
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise CalcError("bad_config", f"config.{path}{key}", f"{path}{key} must be a whole number, got {show(value)}")
    if kind is bool and not isinstance(value, bool):
        raise CalcError("bad_config", f"config.{path}{key}", f"{path}{key} must be true or false, got {show(value)}")
    return value


def _bits_ok(bits: int, path: str, key: str) -> None:
    if bits not in (2, 3, 4, 8):
        raise CalcError("bad_config", f"config.{path}{key}", f"{path}{key} must be 2, 3, 4 or 8, got {show(bits)}")


def _group(gs: int, path: str, key: str) -> int:
    if gs == -1 or gs == 0:
        return 0  # one group per row
    if not 1 <= gs <= 1 << 16:
        raise CalcError("bad_config", f"config.{path}{key}", f"{path}{key} must be -1 or 1 to 65,536, got {show(gs)}")
    return gs


def grouped(name: str, bits: int, group: int, scale_bytes: int, zero: bool, per_col: int = 0) -> Dtype:
    """`bits` per weight + per group of `group` weights along a row a scale and (zero) a bits-wide zero point.

    A block is one group: group*bits/8 bytes of weights + the scale; the zero points of one group over
    t = 8 / gcd(8, bits) rows fill whole bytes (bits * t / 8), Dtype's row tiles, so a tensor's bytes
    are exact: rows*cols*bits/8 + G*rows*scale + G*rows*bits/8.  A group whose weights are not whole
    bytes takes blocks of eight groups.  group 0: one scale (and zero point, rounded up to a byte) per row."""
    if not group:
        return Dtype(
            id=name,
            block_elems=8,
            block_bytes=bits,
            per_row_bytes=scale_bytes + (-(-bits // 8) if zero else 0),
            per_col_bytes=per_col,
            source=name,
        )
    if group * bits % 8:
        return Dtype(
            id=name,
            block_elems=8 * group,
            block_bytes=group * bits + 8 * scale_bytes + (bits if zero else 0),
            per_col_bytes=per_col,
            source=name,
        )
    tile = 8 // math.gcd(8, bits)
    return Dtype(
        id=name,
        block_elems=group,
        block_bytes=group * bits // 8 + scale_bytes,
        per_col_bytes=per_col,
        tile_rows=tile if zero else 0,
        tile_scale_bytes=bits * tile // 8 if zero else 0,
        source=name,
    )


def fp8_blocks(rows: int, cols: int) -> Dtype:
    """FP8 with one float32 scale per rows x cols block (weight_block_size)."""
    if (rows, cols) == (128, 128):
        return dtypes()["fp8_block128"]
    return Dtype(
        id=f"fp8_block{rows}x{cols}",
        block_elems=cols,
        block_bytes=cols,
        tile_rows=rows,
        tile_scale_bytes=4,
        source="FP8 block scales",
    )


def _names(value) -> tuple:
    """modules_to_not_convert / ignore / exclude_modules as a tuple of strings (a non-list: none)."""
    if not isinstance(value, list):
        return ()
    return tuple(clean(v, 200) for v in value if isinstance(v, str))


def skipped(patterns: tuple, module: str) -> bool:
    """A module name matches a skip pattern: "re:<regex>" (compressed-tensors), a glob with *
    (gpt-oss), else a substring (transformers' `any(key in name for key in modules_to_not_convert)`)."""
    for p in patterns:
        if p.startswith("re:"):
            try:
                if re.search(p[3:], module):
                    return True
            except re.error:
                continue
        elif "*" in p:
            if fnmatch.fnmatchcase(module, p) or fnmatch.fnmatchcase(module, p + ".*"):
                return True
        elif p in module:
            return True
    return False


def _gptq(q: dict, path: str) -> NativeQuant:
    bits = _q(q, "bits", int, 4, path)
    _bits_ok(bits, path, "bits")
    group = _group(_q(q, "group_size", int, 128, path), path, "group_size")
    fmt = q.get("checkpoint_format") or q.get("format") or "gptq"
    if fmt not in ("gptq", "gptq_v2"):
        return NativeQuant(base=None, problem=f"GPTQ checkpoint_format {show(fmt)}")  # marlin, bitblas: other packing
    d = grouped(f"gptq_{bits}bit_g{group or 'row'}", bits, group, 2, True, per_col=4)
    return NativeQuant(
        base=None, linear=d, skip=_names(q.get("modules_to_not_convert")), head=_q(q, "lm_head", bool, False, path)
    )


def _awq(q: dict, path: str) -> NativeQuant:
    bits = _q(q, "bits", int, None, path) or _q(q, "w_bit", int, 4, path)
    _bits_ok(bits, path, "bits")
    group = _group(_q(q, "group_size", int, None, path) or _q(q, "q_group_size", int, 128, path), path, "group_size")
    version = str(q.get("version") or "gemm").lower()
    if version not in ("gemm", "gemv", "gemv_fast"):
        return NativeQuant(base=None, problem=f"AWQ version {show(version)}")
    zero = _q(q, "zero_point", bool, True, path)
    d = grouped(f"awq_{bits}bit_g{group or 'row'}", bits, group, 2, zero)
    return NativeQuant(base=None, linear=d, skip=_names(q.get("modules_to_not_convert")))


def _bnb(q: dict, path: str) -> NativeQuant:
    skip = _names(q.get("llm_int8_skip_modules"))
    if _q(q, "load_in_4bit", bool, False, path):
        double = _q(q, "bnb_4bit_use_double_quant", bool, False, path)
        kind = str(q.get("bnb_4bit_quant_type") or "fp4")
        d = Dtype(
            id=f"bnb_{kind}{'_dq' if double else ''}",
            block_elems=64,
            block_bytes=32 + (1 if double else 4),
            source="bitsandbytes 4-bit",
        )
        return NativeQuant(base=None, linear=d, skip=skip)
    if _q(q, "load_in_8bit", bool, False, path):
        return NativeQuant(base=None, linear=dtypes()["int8_channel"], skip=skip)
    return NativeQuant(base=None, problem="bitsandbytes without load_in_4bit or load_in_8bit")


def _fp8(q: dict, path: str) -> NativeQuant:
    block = q.get("weight_block_size")
    if block is None:
        return NativeQuant(base=None, linear=dtypes()["fp8"], skip=_names(q.get("modules_to_not_convert")))
    if (
        not isinstance(block, list)
        or len(block) != 2
        or not all(isinstance(b, int) and not isinstance(b, bool) and 1 <= b <= 1 << 16 for b in block)
    ):
        raise CalcError(
            "bad_config",
            f"config.{path}weight_block_size",
            f"{path}weight_block_size must be two sizes between 1 and 65,536, got {show(block)}",
        )
    return NativeQuant(base=None, linear=fp8_blocks(block[0], block[1]), skip=_names(q.get("modules_to_not_convert")))


def _ct_weights(w: dict, name: str) -> tuple[Dtype | None, str]:
    """One compressed-tensors config group's `weights` -> its storage type, or why not."""
    bits, kind = w.get("num_bits"), w.get("type", "int")
    strategy, group = w.get("strategy", "tensor"), w.get("group_size")
    if not isinstance(bits, int) or isinstance(bits, bool):
        return None, f"{name} num_bits {show(bits)}"
    if kind == "float" and bits == 4 and group == 16:
        return dtypes()["nvfp4"], ""
    if kind == "float" and bits == 8:
        if strategy == "channel":
            return Dtype(
                id="fp8_channel_bf16", block_elems=1, block_bytes=1, per_row_bytes=2, source="compressed-tensors FP8 per channel"
            ), ""
        if strategy == "block":
            block = w.get("block_structure")
            if isinstance(block, list) and len(block) == 2 and all(isinstance(b, int) and b > 0 for b in block):
                return fp8_blocks(block[0], block[1]), ""
            return None, f"{name} block_structure {show(block)}"
        if strategy == "tensor":
            return dtypes()["fp8"], ""
    if kind == "int" and bits in (2, 3, 4, 8):
        zero = not w.get("symmetric", True)
        if strategy == "group" and isinstance(group, int) and not isinstance(group, bool) and 1 <= group <= 1 << 16:
            return grouped(f"ct_int{bits}_g{group}", bits, group, 2, zero), ""
        if strategy == "channel":
            return grouped(f"ct_int{bits}_channel", bits, 0, 2, zero), ""
        if strategy == "tensor":
            return grouped(f"ct_int{bits}_tensor", bits, 0, 0, False), ""
    return None, f"{name} {kind} {bits}-bit, strategy {show(strategy)}"


def _compressed_tensors(q: dict, path: str) -> NativeQuant:
    groups = q.get("config_groups")
    if not isinstance(groups, dict) or not groups:
        return NativeQuant(base=None, problem="compressed-tensors without config_groups")
    found = []
    for name, g in groups.items():
        w = g.get("weights") if isinstance(g, dict) else None
        if not isinstance(w, dict):
            continue
        targets = g.get("targets") or []
        if isinstance(targets, list) and targets and not any(t == "Linear" or str(t).startswith("re:") for t in targets):
            return NativeQuant(base=None, problem=f"compressed-tensors {clean(str(name), 40)} targets {show(targets)}")
        d, why = _ct_weights(w, clean(str(name), 40))
        if d is None:
            return NativeQuant(base=None, problem=f"compressed-tensors {why}")
        found.append(d)
    if len(found) != 1:
        return NativeQuant(base=None, problem=f"compressed-tensors with {len(found)} weight schemes")
    return NativeQuant(base=None, linear=found[0], skip=_names(q.get("ignore")))


def _modelopt(q: dict, path: str) -> NativeQuant:
    algo = str(q.get("quant_algo") or "").upper()
    skip = _names(q.get("exclude_modules") or q.get("ignore"))
    if algo == "NVFP4":
        return NativeQuant(base=None, linear=dtypes()["nvfp4"], skip=skip)
    if algo == "FP8":
        return NativeQuant(base=None, linear=dtypes()["fp8"], skip=skip)
    return NativeQuant(base=None, problem=f"ModelOpt quant_algo {show(algo)}")


_METHODS = {
    "gptq": _gptq,
    "awq": _awq,
    "bitsandbytes": _bnb,
    "fp8": _fp8,
    "compressed-tensors": _compressed_tensors,
    "modelopt": _modelopt,
    "mxfp4": lambda q, path: NativeQuant(base=None, experts=dtypes()["mxfp4"]),
}


def native_quant(q, torch_dtype: str, path: str) -> NativeQuant:
    """quantization_config (dict or absent) and torch_dtype -> NativeQuant.  `path` prefixes field names."""
    base_id = TORCH_DTYPES.get(torch_dtype.lower())
    dtype_problem = "" if base_id else torch_dtype
    base = dtypes()[base_id or "bf16"]
    out = NativeQuant(base=base)
    if isinstance(q, dict):
        method = str(q.get("quant_method") or "").lower()
        if not method and (q.get("load_in_4bit") or q.get("load_in_8bit")):
            method = "bitsandbytes"
        rule = _METHODS.get(method)
        qpath = path + "quantization_config."
        got = rule(q, qpath) if rule else NativeQuant(base=None, problem=f"quant_method {show(method or None)}")
        out = NativeQuant(
            base=base,
            linear=got.linear,
            experts=got.experts,
            skip=got.skip,
            head=got.head,
            problem=got.problem,
        )
    if dtype_problem:
        out = NativeQuant(out.base, out.linear, out.experts, out.skip, out.head, out.problem, dtype_problem)
    return out
