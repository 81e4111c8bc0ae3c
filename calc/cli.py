"""The command line: ``python -m calc estimate | gguf | models | gpus | quants | engines`` (``--json`` on each).

Every command goes through :func:`calc.api.handle`, the same call the page makes.  Bad input exits
with status 2 and one line naming the problem; no traceback.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import io
import json
import os
import re
import sys

from calc import present
from calc.api import handle
from calc.errors import CalcError
from calc.gguf import GgufTruncated, read_gguf
from calc.hubfetch import FIRST_GGUF_READ
from calc.jsonsafe import MAX_CONFIG_CHARS
from calc.present import num, pct, rate, seconds
from calc.units import fmt_gib, fmt_params, fmt_tokens


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2, like every other input error here
        self.exit(2, f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m calc", description="How much GPU memory a large language model needs.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    e = sub.add_parser("estimate", help="memory breakdown, fit and recommendations for one setup")
    e.add_argument(
        "--model",
        required=True,
        help="catalog slug, Hugging Face repo id or URL (a GGUF file's too), or path to a config.json or a .gguf (first part)",
    )
    e.add_argument("--revision", help="with a repo id: the branch, tag or commit (default main)")
    e.add_argument("--file", help="with a repo id: the GGUF file of the repo to estimate (its first part, if split)")
    e.add_argument(
        "--mmproj",
        help="llama.cpp --mmproj: a multimodal projector .gguf (a path, or with a repo id a file of the repo), "
        "counted on the first GPU",
    )
    e.add_argument("--quant", help="weight format (see `quants`); default q4_k_m, or as stored in a .gguf")
    e.add_argument("--bpw", type=float, help="bits per weight, for --quant exl2")
    e.add_argument("--context", type=int, help="tokens per sequence, prompt and generated together (default 32768)")
    e.add_argument(
        "--prompt-tokens", type=int, help="transformers: tokens of the prompt, prefilled at once (default: the whole context)"
    )
    e.add_argument("--new-tokens", type=int, help="transformers: max_new_tokens, generated after the prompt")
    e.add_argument("--kv-cache", default="auto", help="KV-cache type (default: the engine's)")
    e.add_argument("--batch", type=int, default=1, help="sequences held at once")
    e.add_argument("--engine", default="llama.cpp", help="llama.cpp | vllm | transformers")
    e.add_argument("--engine-version", help="the engine's release (see `engines`; default: the newest)")
    e.add_argument(
        "--gpu",
        help="GPU id or short name (see `gpus`); a comma list of your GPUs (4090,3090 / 2xh100 / 24GiB) answers for "
        "your machine; default: none, recommendations only",
    )
    e.add_argument("--devices", help="your machine's GPUs, as a --gpu list")
    e.add_argument("--gpus", type=int, help="number of GPUs of --gpu (default 1)")
    e.add_argument("--flash-attention", action=argparse.BooleanOptionalAction, help="llama.cpp: -fa on | off (default on)")
    e.add_argument("--ubatch", type=int, help="llama.cpp: n_ubatch")
    swa_help = "llama.cpp: sliding-window layers cache every token (default off)"
    e.add_argument("--swa-full", action=argparse.BooleanOptionalAction, help=swa_help)
    e.add_argument("--gpu-memory-utilization", type=float, help="vLLM: fraction of each GPU it reserves")
    e.add_argument("--max-num-batched-tokens", type=int, help="vLLM: tokens of the profiling pass")
    e.add_argument("--max-num-seqs", type=int, help="vLLM: sequences of the profiler's sampler pass")
    m = e.add_argument_group("your machine (llama.cpp offload; vLLM limits)")
    m.add_argument("--ram", help="system RAM size: 64GiB, 128GB (binary sizes)")
    m.add_argument(
        "--ram-bandwidth", help="GB/s, or a preset: ddr4-3200-2ch, ddr5-5600-2ch (default), ddr5-4800-8ch, ddr5-4800-12ch"
    )
    m.add_argument("--gpu-share", type=float, help="unified memory: the share of the pool the GPU may use")
    m.add_argument(
        "-ngl",
        "--n-gpu-layers",
        type=int,
        dest="n_gpu_layers",
        help="llama.cpp: N layers on GPUs (the output layer first, then the last N-1; before PR #18148 the last N)",
    )
    m.add_argument("--cpu-moe", action="store_true", default=None, help="llama.cpp: every routed expert in RAM")
    m.add_argument("-ncmoe", "--n-cpu-moe", type=int, dest="n_cpu_moe", help="llama.cpp: experts of the first N layers in RAM")
    m.add_argument("-ot", "--override-tensor", action="append", dest="override_tensor", help="llama.cpp: <regex>=<device>")
    m.add_argument("-ts", "--tensor-split", dest="tensor_split", help="llama.cpp: proportions per GPU, 3,1")
    m.add_argument("-sm", "--split-mode", dest="split_mode", help="llama.cpp: layer | row | none")
    m.add_argument(
        "-nkvo", "--no-kv-offload", action="store_true", default=None, dest="no_kv_offload", help="llama.cpp: KV in RAM"
    )
    m.add_argument("--fit", action=argparse.BooleanOptionalAction, help="plan the settings like llama.cpp --fit (default on)")
    m.add_argument("--fit-goal", help="layers (keep the context; default) | context (from the model's window down)")
    m.add_argument("--cpu-offload-gb", type=float, help="vLLM: GiB of weights per GPU in RAM")
    m.add_argument("--kv-cache-memory", help="vLLM: KV pool per GPU (--kv-cache-memory-bytes), a size like 20GiB")
    m.add_argument("--block-size", type=int, help="vLLM: tokens per KV block")
    e.add_argument("--lang", default="en", help="language of the warnings: en | zh")
    e.add_argument("--curve", action="store_true", help="include memory-against-context points (in --json)")
    e.add_argument("--recommend", action=argparse.BooleanOptionalAction, default=True, help="list the GPU setups that hold it")
    e.add_argument("--recommend-limit", type=int, help="how many setups to list, cheapest first (0: all)")
    e.add_argument("--json", action="store_true", help="print the full result as JSON")
    g = sub.add_parser("gguf", help="what a GGUF file holds: architecture, file type, tensors and their bytes")
    g.add_argument("path", help="a .gguf file (the first shard of a split model)")
    g.add_argument("--json", action="store_true")
    for name, text in (
        ("models", "the model catalog"),
        ("gpus", "the GPU catalog"),
        ("quants", "weight formats and KV-cache types"),
        ("engines", "engines and the releases each models"),
    ):
        sub.add_parser(name, help=text).add_argument("--json", action="store_true")
    return p


class InputError(Exception):
    """Input the command line cannot use: exits 2 with this one line."""


def read_config(path: str) -> str:
    """A config.json file's text, its size checked before it is read (the core's limit is
    MAX_CONFIG_CHARS characters; UTF-8 needs at least a byte per character)."""
    try:
        size = os.path.getsize(path)
        if size > MAX_CONFIG_CHARS:
            raise InputError(f"--model: {path!r} is {size:,} bytes; a config.json may have at most {MAX_CONFIG_CHARS:,}")
        with open(path, "rb") as fh:
            data = fh.read(MAX_CONFIG_CHARS + 1)
    except FileNotFoundError:
        raise InputError(f"--model: no such file {path!r}") from None
    except OSError as exc:
        raise InputError(f"--model: cannot read {path!r}: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"--model: {path!r} is not UTF-8 text (byte {exc.start:,}); give a config.json") from None


def read_gguf_file(path: str):
    """The header of a GGUF file, reading only as much of it as the header takes."""
    have = 1 << 20
    try:
        with open(path, "rb") as fh:
            while True:
                fh.seek(0)
                data = fh.read(have)
                try:
                    return read_gguf(data)
                except GgufTruncated as exc:
                    if len(data) < have:  # the file itself ends inside its header
                        raise InputError(f"{path!r}: the file ends inside its GGUF header ({len(data):,} bytes)") from None
                    have = exc.needed
    except FileNotFoundError:
        raise InputError(f"no such file {path!r}") from None
    except OSError as exc:
        raise InputError(f"cannot read {path!r}: {exc.strerror or exc}") from None


_SPLIT = re.compile(r"-(\d{5})-of-(\d{5})\.gguf$")  # llama-gguf-split's part names: model-00001-of-00003.gguf


def gguf_parts(path: str) -> list[str]:
    """The files of a GGUF model: the file, or every part of a split one (named as llama-gguf-split
    names them) from the first part's path."""
    first = read_gguf_file(path)
    if not first.split:
        return [path]
    index, count = first.split
    hit = _SPLIT.search(path)
    if index != 0 or not hit or int(hit.group(1)) != 1 or int(hit.group(2)) != count:
        raise InputError(
            f"--model: {path!r} is part {index + 1} of a split GGUF of {count}: "
            f"give the first part, named *-00001-of-{count:05d}.gguf"
        )
    return [path[: hit.start()] + f"-{i:05d}-of-{count:05d}.gguf" for i in range(1, count + 1)]


def read_gguf_model(path: str) -> tuple[str, str]:
    """(the compact header as base64, the file name) of a .gguf model: only the headers are read."""
    from calc.gguf_model import merged_header

    headers = [read_gguf_file(p) for p in gguf_parts(path)]
    return base64.b64encode(merged_header(headers)).decode("ascii"), os.path.basename(path)


def _is_gguf(path: str) -> bool:
    if path.lower().endswith(".gguf"):
        return True
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"GGUF"
    except OSError:
        return False


def _is_hub(model: str) -> bool:
    """A repo id not in the catalog, or a Hub URL (not a file here, nor a path to a .json or .gguf
    that is missing: that is a mistyped file, "no such file", not a repo to fetch)."""
    from calc import catalog
    from calc.hub import is_hub_ref
    from calc.hubfetch import endpoint

    local = model.lower().endswith((".json", ".gguf")) and "://" not in model
    if local or model.lower() in catalog.models() or os.path.exists(model):
        return False
    if not model.startswith(("http://", "https://")) and model.lower().endswith((".json", ".gguf")):
        return False  # a file that is not there: read_config / read_gguf_model say so
    return is_hub_ref(model, endpoint())


def _remote_gguf(hub, ref, file: str):
    """A GGUF file's header read with Range requests, grown until the header is whole."""
    have = hub.read(ref, file, 0, FIRST_GGUF_READ - 1)
    while True:
        try:
            return read_gguf(have)
        except GgufTruncated as exc:
            from calc.request import MAX_GGUF_BYTES

            if exc.needed > MAX_GGUF_BYTES:
                raise InputError(f"{ref.repo}/{file}: the GGUF header is larger than {MAX_GGUF_BYTES // 2**20} MiB") from None
            more = hub.read(ref, file, len(have), exc.needed - 1)
            if not more:
                raise InputError(f"{ref.repo}/{file}: the file ends inside its GGUF header ({len(have):,} bytes)") from None
            have += more
        except CalcError as exc:
            raise InputError(f"{ref.repo}/{file}: {exc.message}") from None


def _size(n) -> str:
    return fmt_gib(n) if isinstance(n, int) else "size not listed"


def hub_request(model: str, revision: str | None, file: str | None, mmproj: str | None = None) -> dict:
    """The request fields of a Hub model: its config.json and safetensors headers, or a GGUF
    file's header (calc/hubfetch.py fetches; calc/hub.py reads); with mmproj, that file of the repo's header."""
    return _hub_model_request(model, revision, file, mmproj)


def _hub_model_request(model: str, revision: str | None, file: str | None, mmproj: str | None) -> dict:
    from calc.gguf_model import merged_header
    from calc.hub import HubRef, header_length, index_shards, listing, parse_ref
    from calc.hubfetch import Hub

    hub = Hub()
    try:
        ref = parse_ref(model, revision, hub.endpoint)
        ls = listing(hub.model_info(ref))
    except CalcError as exc:
        raise InputError(f"--model: {exc.message}") from None
    ref = HubRef(ref.repo, ref.revision, file or ref.file, ls.sha)
    where = {"repo": ref.repo, "revision": ref.revision, "sha": ref.sha}
    choices = "; ".join(f"{g.quant}: {g.files[0]} ({_size(g.size)})" for g in ls.gguf)
    if ref.file:
        choice = next((g for g in ls.gguf if ref.file in g.files), None)
        if choice is None:
            listed = f"; its GGUF files: {choices}" if ls.gguf else ""
            raise InputError(f"--model: {ref.repo} at {ref.revision} has no GGUF file {ref.file!r}{listed}")
        if choice.files[0] != ref.file:
            raise InputError(f"--file: {ref.file!r} is not the first part of a split GGUF; give {choice.files[0]!r}")
        headers = [_remote_gguf(hub, ref, f) for f in choice.files]
        try:
            header = merged_header(headers)
        except CalcError as exc:
            raise InputError(f"{ref.repo}/{ref.file}: {exc.message}") from None
        name = ref.file.rsplit("/", 1)[-1]
        out = {"hub": {**where, "file": ref.file}, "gguf": base64.b64encode(header).decode("ascii"), "gguf_name": name}
        return {**out, **_hub_mmproj(hub, ref, ls, mmproj)}
    if not ls.config:
        if ls.gguf:
            raise InputError(
                f"--model: {ref.repo} holds GGUF files and no config.json; choose one with --file (or its URL): {choices}"
            )
        raise InputError(f"--model: {ref.repo} at {ref.revision} has no config.json and no GGUF file")
    config = hub.read(ref, "config.json")
    try:
        config_text = config.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{ref.repo}/config.json is not UTF-8 text") from None
    if len(config_text) > MAX_CONFIG_CHARS:
        raise InputError(f"{ref.repo}/config.json is larger than {MAX_CONFIG_CHARS:,} characters")
    try:
        shards = index_shards(hub.read(ref, ls.index)) if ls.index else ls.safetensors
    except CalcError as exc:
        raise InputError(f"{ref.repo}/{ls.index}: {exc.message}") from None
    headers = []
    for shard in shards:
        first = hub.read(ref, shard, 0, 7)
        try:
            end = header_length(first, shard)
        except CalcError as exc:
            raise InputError(f"{ref.repo}/{shard}: {exc.message}") from None
        rest = hub.read(ref, shard, 8, end - 1)
        if len(rest) < end - 8:
            raise InputError(
                f"{ref.repo}/{shard}: the file ends inside its safetensors header ({8 + len(rest):,} of {end:,} bytes)"
            )
        headers.append(base64.b64encode(first + rest).decode("ascii"))
    out = {"hub": {**where, "file": None}, "config": config_text}
    if headers:
        out["safetensors"] = headers
    return {**out, **_hub_mmproj(hub, ref, ls, mmproj)}


def _hub_mmproj(hub, ref, ls, mmproj: str | None) -> dict:
    """The mmproj fields for --mmproj naming a file of the repo (its header read like a GGUF's)."""
    if not mmproj or os.path.isfile(mmproj):
        return {}  # none, or a file here (read below like any local one)
    if mmproj not in ls.files:
        listed = f"; its mmproj files: {', '.join(ls.mmproj)}" if ls.mmproj else ""
        raise InputError(f"--mmproj: {ref.repo} at {ref.revision} has no file {mmproj!r}{listed}")
    header = _remote_gguf(hub, ref, mmproj)
    from calc.gguf_model import merged_header

    return {"mmproj": base64.b64encode(merged_header([header])).decode("ascii"), "mmproj_name": mmproj.rsplit("/", 1)[-1]}


def _gguf_summary(path: str) -> dict:
    g = read_gguf_file(path)
    return {
        "file": os.path.basename(path),
        "gguf_version": g.version,
        "architecture": g.architecture,
        "file_type": g.file_type,
        "name": g.metadata.get("general.name"),
        "split": list(g.split) if g.split else None,
        "tensors": len(g.tensors),
        "parameters": g.parameters,
        "tensor_bytes": g.tensor_bytes,
        "bytes_by_type": g.bytes_by_type(),
    }


def _print_gguf(r: dict) -> None:
    print(f"{r['file']}: GGUF v{r['gguf_version']}, {r['architecture']}, {r['file_type'] or 'file type not stated'}")
    if r["split"]:
        print(f"part {r['split'][0] + 1} of {r['split'][1]} of a split model")
    print(f"{r['tensors']:,} tensors, {fmt_params(r['parameters'])} parameters, {fmt_gib(r['tensor_bytes'])} of tensor data")
    print(_table([[kind, fmt_gib(n)] for kind, n in r["bytes_by_type"].items()]))


def _request(args: argparse.Namespace) -> dict:
    req = {
        "batch": args.batch,
        "engine": args.engine,
        "kv_cache": args.kv_cache,
        "gpu": args.gpu,
        "lang": args.lang,
        "curve": args.curve,
        "recommend": args.recommend,
    }
    model = args.model
    if _is_hub(model):
        from calc.hubfetch import HubFetchError

        try:
            req.update(hub_request(model, args.revision, args.file, args.mmproj))
        except HubFetchError as exc:
            raise InputError(f"--model {model}: {exc}") from None
    elif _is_gguf(model):
        req["gguf"], req["gguf_name"] = read_gguf_model(model)
    elif model.endswith(".json") or (os.path.sep in model and os.path.isfile(model)):
        req["config"] = read_config(model)
    else:
        req["model"] = model
    if args.mmproj and "mmproj" not in req:
        if not os.path.isfile(args.mmproj):
            raise InputError(f"--mmproj: no such file {args.mmproj!r}")
        from calc.gguf_model import merged_header

        try:
            req["mmproj"] = base64.b64encode(merged_header([read_gguf_file(args.mmproj)])).decode("ascii")
        except CalcError as exc:
            raise InputError(f"--mmproj {args.mmproj!r}: {exc.message}") from None
        req["mmproj_name"] = os.path.basename(args.mmproj)
    if args.gpus is not None:
        req["gpus"] = args.gpus
    _machine(args, req)
    optional = {
        "context": args.context,
        "prompt_tokens": args.prompt_tokens,
        "new_tokens": args.new_tokens,
        "quant": args.quant,
        "bpw": args.bpw,
        "ubatch": args.ubatch,
        "gpu_memory_utilization": args.gpu_memory_utilization,
        "max_num_batched_tokens": args.max_num_batched_tokens,
        "max_num_seqs": args.max_num_seqs,
        "engine_version": args.engine_version,
        "flash_attention": args.flash_attention,
        "swa_full": args.swa_full,
        "recommend_limit": args.recommend_limit,
    }
    req.update({k: v for k, v in optional.items() if v is not None})
    return req


MACHINE_FLAGS = ("ram", "ram_bandwidth", "gpu_share", "n_gpu_layers", "cpu_moe", "n_cpu_moe", "override_tensor")
MACHINE_FLAGS += ("tensor_split", "split_mode", "no_kv_offload", "fit", "fit_goal", "cpu_offload_gb", "kv_cache_memory")
MACHINE_FLAGS += ("block_size",)


def _machine(args: argparse.Namespace, req: dict) -> None:
    """--gpu as a list of your GPUs (or --devices, or any machine flag): the request's devices; when
    they are all one catalog GPU, gpu and gpus too, so the usual fit and speed answer for them."""
    from calc.machine import parse_devices, parse_size

    flags = {k: getattr(args, k) for k in MACHINE_FLAGS if getattr(args, k) is not None}
    if "kv_cache_memory" in flags:
        flags["kv_cache_memory"] = parse_size(flags["kv_cache_memory"], "kv_cache_memory")
    devices = args.devices
    gpu = args.gpu
    if gpu and devices is None and ("," in gpu or flags or not _is_catalog_id(gpu)):
        devices = gpu
    if devices is None and not flags:
        return
    if devices is None:
        if not gpu:
            raise InputError("--ram and the offload flags need --gpu (your GPUs, e.g. --gpu 4090 or --gpu 4090,3090)")
        devices = gpu
    if args.gpus and "," not in devices and "x" not in devices.lower():
        devices = f"{args.gpus}x{devices}"
    try:
        listed = parse_devices(devices, "gpu")
    except CalcError as exc:
        raise InputError(f"--gpu: {exc.message}") from None
    ids = {g.id if g else None for g, _ in listed}
    req.pop("gpu", None)
    req.pop("gpus", None)
    if len(ids) == 1 and None not in ids:
        req["gpu"], req["gpus"] = ids.pop(), len(listed) if len(listed) <= 64 else 64
    else:
        req["gpu"] = None
    req["devices"] = devices
    if "override_tensor" in flags:
        flags["override_tensor"] = [x for item in flags["override_tensor"] for x in item.split(",") if x]
    req.update(flags)


def _is_catalog_id(text: str) -> bool:
    from calc import catalog

    return text.strip().lower() in catalog.gpus()


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)


def _print_estimate(r: dict) -> None:
    m, mem = r["model"], r["memory"]
    print(f"{m['name']}  ({fmt_params(m['total_params'])} total, {fmt_params(m['active_params'])} active)")
    req = r["request"]
    print(
        f"{r['format']['label']} ({r['format']['bits_per_weight']} bpw), KV {r['kv_cache']['label']}, "
        f"{fmt_tokens(req['context'])} tokens x {req['batch']}, {r['engine']['label']} {r['engine']['version']}"
        + (f" ({req['prompt_tokens']:,} prompt + {req['new_tokens']:,} generated)" if req.get("prompt_tokens") else "")
    )
    rows = [
        ["weights", fmt_gib(mem["weights_bytes"])],
        ["KV cache", fmt_gib(mem["kv_cache_bytes"])],
        ["activations", fmt_gib(mem["activations_bytes"])],
        ["overhead", fmt_gib(mem["overhead_bytes"])],
        ["total", fmt_gib(mem["total_bytes"])],
    ]
    print(_table(rows))
    print(f"KV cache per token: {r['kv_cache_bytes_per_token']:,} bytes")
    fit = r["fit"]
    if r.get("offload"):  # the headline answers for your machine, as the page's does
        for line in machine_headline(r):
            print(line)
    elif fit:
        verdict = "fits" if fit["fits"] else "does NOT fit"
        print(
            f"{fit['gpus']} x {fit['gpu_name']}: {verdict}, "
            f"fullest GPU {fmt_gib(fit['used_bytes'])} of {fmt_gib(fit['capacity_bytes'])}"
        )
        if r["max_context"]:
            print(f"longest context that fits: {r['max_context']:,} tokens")
        if r["kv_capacity_tokens"] is not None:
            print(f"vLLM KV capacity: {r['kv_capacity_tokens']:,} tokens, {r['max_concurrency']}x concurrency")
        for line in speed_lines(r["speed"], r["request"], r["engine"]["label"]):
            print(line)
    if r.get("offload"):
        _print_machine(r["offload"])
    for w in r["warnings"]:
        print(f"warning: {w['text']}")
    recs = r["recommendations"][:10]
    if recs:
        print("\nrecommended GPU setups:")
        print(
            _table(
                [
                    [
                        f"{x['count']} x {x['name']}",
                        fmt_gib(x["capacity_bytes"] * x["count"]),
                        f"{x['headroom_fraction']:.0%} free",
                        f"${x['price_usd']:,.0f}" if x["price_usd"] else "",
                    ]
                    for x in recs
                ]
            )
        )


def machine_headline(r: dict) -> list[str]:
    """The answer for your machine above its section, as the page's headline gives it: the verdict
    (calc/present.py machine_fit_text, in the request's language) and the machine's decode and prefill
    ranges; the speed of the whole model on the GPUs alone, which this machine is not, is not shown."""
    o, req = r["offload"], r["request"]
    lines = [present.machine_fit_text(r, present.texts(req["lang"])["result"])]
    s, batch = o["speed"], req["batch"]
    if s["decode_range_tokens_per_s"]:
        low, high = s["decode_range_tokens_per_s"]
        lines.append(f"decode (estimate, your machine): {'-'.join(rate(low / batch, high / batch))} tokens/s per sequence")
        if batch > 1:
            lines.append(f"decode (estimate, your machine): {'-'.join(rate(low, high))} tokens/s over {batch} sequences")
    if s["prefill_range_seconds"]:
        tokens = present.machine_prefill_tokens(r)
        prompt = f"{tokens:,}" if batch == 1 else f"{batch} x {tokens:,}"
        line = f"time to first token (estimate, your machine): {'-'.join(seconds(*s['prefill_range_seconds']))} s"
        lines.append(f"{line} for {prompt} tokens")
    return lines


def _print_machine(o: dict) -> None:
    """Your machine: memory per device, the placement, the plan, the speed and the command."""
    print("\nyour machine:")
    rows = [["device", "weights", "KV", "compute", "total", "of", ""]]
    for d in o["per_device"]:
        cap = d["capacity_bytes"]
        verdict = "" if d["fits"] is None else "ok" if d["fits"] else "OVER"
        rows.append(
            [
                f"{d['device']} {d['name']}",
                fmt_gib(d["weights_bytes"]),
                fmt_gib(d["kv_cache_bytes"]),
                fmt_gib(d["compute_bytes"]),
                fmt_gib(d["total_bytes"]),
                fmt_gib(cap) if cap is not None else "?",
                verdict,
            ]
        )
    print(_table(rows))
    p = o["placement"]
    if p:
        runs = "; ".join(f"{dev} {', '.join(f'{a}-{b}' for a, b in rs)}" for dev, rs in p["layers"].items())
        print(f"layers: {runs}; output on {p['output_device']}; embeddings on {p['embeddings_device']}")
        if p["expert_layers_on_cpu"]:
            print(f"routed experts in RAM for layers {', '.join(f'{a}-{b}' for a, b in p['expert_layers_on_cpu'])}")
    plan = o["plan"]
    if plan:
        print(f"plan ({plan['engine']}, {plan['goal']}): " + "; ".join(plan["steps"]))
    s = o["speed"]  # rounded as the page's machine section rounds them (calc/present.py rate, seconds)
    if s["decode_range_tokens_per_s"]:
        low, high = rate(*s["decode_range_tokens_per_s"])
        print(f"decode (estimate): {low}-{high} tokens/s (ceiling {num(s['decode_tokens_per_s'], 1)})")
    if s["prefill_range_seconds"]:
        low, high = seconds(*s["prefill_range_seconds"])
        print(f"prefill (estimate): {low}-{high} s")
    for key in ("llama_server", "vllm_serve", "transformers"):
        if o["command"][key]:
            print(f"command:\n  {o['command'][key]}")


def speed_lines(s: dict, req: dict, engine: str) -> list[str]:
    """The speed estimates as the page gives them (calc/present.py speed_texts): decode per sequence
    and, for several sequences, in total, and the prefill time, each the measured range where the
    engine has runs, else the ceiling named as such; then what the range rests on."""
    if not s["decode_tokens_per_s"]:
        return []
    batch, lines = req["batch"], []
    rng = lambda pair, f: "-".join(f(*pair))  # noqa: E731 - the page's formatters, so both show the same
    if s["decode_range_tokens_per_s_per_sequence"]:
        lines.append(f"decode (estimate): {rng(s['decode_range_tokens_per_s_per_sequence'], rate)} tokens/s per sequence")
        if batch > 1:
            lines.append(f"decode (estimate): {rng(s['decode_range_tokens_per_s'], rate)} tokens/s over {batch} sequences")
    else:
        lines.append(f"decode: at most {s['decode_tokens_per_s_per_sequence']:,} tokens/s per sequence (bandwidth ceiling)")
        if batch > 1:
            lines.append(f"decode: at most {s['decode_tokens_per_s']:,} tokens/s over {batch} sequences (bandwidth ceiling)")
    tokens = req.get("prompt_tokens") or req["context"]
    prompt = f"{tokens:,}" if batch == 1 else f"{batch} x {tokens:,}"
    if s["prefill_range_seconds"]:
        lines.append(f"time to first token (estimate): {rng(s['prefill_range_seconds'], seconds)} s for {prompt} tokens")
    elif s["prefill_seconds"]:
        lines.append(f"time to first token: at least {s['prefill_seconds']:,} s for {prompt} tokens (compute ceiling)")
    band, pre, backend = s["decode_efficiency"], s["prefill_efficiency"], s.get("backend")
    if band:
        note = (
            f"  fit: {pct(band['share'])} of the bandwidth + {band['layer_seconds'] * 1e6:.0f} us per layer over "
            f"{band['runs']} measured {engine} runs on {backend}, which lie at {pct(band['low'])}-{pct(band['high'])} "
            f"of it (median error {pct(band['median_error'], 1)})"
        )
        if pre and s["prefill_seconds"]:
            spread = f"{pct(pre['low'])}-{pct(pre['high'])}"
            note += f"; prefill {pct(pre['share'])} of the compute ceiling, runs at {spread} ({pre['runs']})"
        lines.append(note)
        lines += [f"  source: {u}" for u in dict.fromkeys([*band["sources"], *(pre["sources"] if pre else ())])]
    else:
        lines.append(f"  not checked: no measured {engine} runs on {backend}; these are ceilings, not a realistic range")
    return lines


def _print_list(command: str, cat: dict) -> None:
    if command == "models":
        rows = [
            [m["id"], m["repo"], fmt_params(m["total_params"]), fmt_params(m["active_params"]), fmt_tokens(m["context_length"])]
            for m in cat["models"]
        ]
        print(_table([["id", "repo", "total", "active", "context"], *rows]))
    elif command == "engines":
        rows = [[e["id"], v["id"], v["label"], v["source"]] for e in cat["engines"] for v in e["versions"]]
        print(_table([["engine", "version", "covers", "source"], *rows]))
    elif command == "gpus":
        rows = [
            [g["id"], g["name"], fmt_gib(g["memory_bytes"]), f"{g['bandwidth_bytes_per_s'] / 1e9:,.0f} GB/s"] for g in cat["gpus"]
        ]
        print(_table([["id", "name", "memory", "bandwidth"], *rows]))
    else:
        print(_table([["format", "label", "engines"], *[[f["id"], f["label"], ", ".join(f["engines"])] for f in cat["formats"]]]))
        print()
        print(
            _table([["kv-cache", "label", "engines"], *[[k["id"], k["label"], ", ".join(k["engines"])] for k in cat["kv_types"]]])
        )


def _fail(message: str, args: argparse.Namespace | None = None, code: str = "", field: str | None = None) -> int:
    """One line on stderr, in what its encoding can show; exit status 2.  With --json, the error
    as the API gives one ({"ok": false, "error": {code, field, message}}) on stdout too."""
    if args is not None and getattr(args, "json", False):
        text = message.removeprefix(": ")
        print(json.dumps({"ok": False, "error": {"code": code, "field": field, "message": text}}, ensure_ascii=True))
    line = f"python -m calc: error{message}"
    encoding = sys.stderr.encoding or "utf-8"
    print(line.encode(encoding, "backslashreplace").decode(encoding), file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "gguf":
            answer = {"ok": True, "gguf": _gguf_summary(args.path)}
        else:
            answer = handle(_request(args)) if args.command == "estimate" else handle({"op": "catalog"})
    except InputError as exc:
        return _fail(f": {exc}", args, "input_error", "model")
    except CalcError as exc:  # a file that is not a GGUF this reader knows
        return _fail(f": {getattr(args, 'path', None) or args.model!r}: {exc.message}", args, exc.code, exc.field)
    if not answer["ok"]:
        err = answer["error"]
        where = f" ({err['field']})" if err.get("field") else ""
        return _fail(f"{where}: {err['message']}", args, err["code"], err.get("field"))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        _print(args, answer)
    text, encoding = out.getvalue(), sys.stdout.encoding or "utf-8"
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return _fail(f": this terminal's encoding ({encoding}) cannot show the answer; set PYTHONIOENCODING=utf-8")
    sys.stdout.write(text)
    return 0


def _print(args: argparse.Namespace, answer: dict) -> None:
    if args.command == "gguf" and args.json:
        print(json.dumps(answer["gguf"], indent=2, ensure_ascii=False))
    elif args.command == "gguf":
        _print_gguf(answer["gguf"])
    elif args.command == "estimate":
        if args.json:
            print(json.dumps(answer, indent=2, ensure_ascii=False))
        else:
            _print_estimate(answer)
    elif args.json:
        key = {"models": "models", "gpus": "gpus", "engines": "engines"}.get(args.command)
        body = answer[key] if key else {"formats": answer["formats"], "kv_types": answer["kv_types"]}
        print(json.dumps(body, indent=2, ensure_ascii=False))
    else:
        _print_list(args.command, answer)
