"""A model on the Hugging Face Hub, read from what the Hub serves: no I/O here, bytes and JSON in.

What the command line (calc/hubfetch.py) and the page fetch, and this module reads:

- a model reference: a repo id (``org/name``) or a Hub URL (``https://huggingface.co/org/name``,
  ``.../tree/<rev>``, ``.../blob/<rev>/<file>``, ``.../resolve/<rev>/<file>``) -> (repo, revision, file);
- the model API's JSON (``/api/models/<repo>/revision/<rev>``: ``siblings``; or the tree API's list)
  -> the files a loader reads: config.json, the safetensors shards and their index, GGUF files
  grouped by quant (split parts together);
- ``model.safetensors.index.json`` -> the shard files (its ``weight_map`` values);
- each shard's header (the safetensors format, https://github.com/huggingface/safetensors#format:
  8 bytes little-endian header length N, then N bytes of JSON ``{name: {dtype, shape, data_offsets}}``)
  -> every tensor's dtype and exact bytes, summed the way the memory plan groups them, as the
  weights of the format "native" (the checkpoint as released).
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from typing import NamedTuple
from urllib.parse import unquote, urlsplit

from calc.cache import lru
from calc.errors import CalcError, clean, show
from calc.formats import WeightBytes, grouped_bytes

HUB = "https://huggingface.co"  # the Hub's default endpoint (huggingface_hub constants.ENDPOINT)
HUB_HOSTS = ("huggingface.co", "www.huggingface.co", "hf.co")  # hosts whose model URLs are read
DEFAULT_REVISION = "main"

# The safetensors crate refuses a header over 100,000,000 bytes (safetensors/src/tensor.rs
# MAX_HEADER_SIZE); released shards' headers are 10 to 200 kB (about 100 bytes a tensor).  This
# reads at most 16 MiB of one and 20 MiB of all a model's headers (calc/request.py).
MAX_SAFETENSORS_HEADER = 16 * 2**20
MAX_SAFETENSORS_TENSORS = 200_000  # in one header; DeepSeek-V3's largest shard holds about 1,000
MAX_SHARDS = 4096  # files of one model; the largest released (Kimi K2) has 64, DeepSeek-V3 163
MAX_LISTING_FILES = 100_000  # files in a repo's listing
MAX_NAME = 1000  # characters of a file's path in a repo

# safetensors dtypes (safetensors/src/tensor.rs enum Dtype, release 0.6) -> bits per element.
DTYPE_BITS = {
    "BOOL": 8,
    "F4": 4,
    "F6_E2M3": 6,
    "F6_E3M2": 6,
    "U8": 8,
    "I8": 8,
    "F8_E5M2": 8,
    "F8_E4M3": 8,
    "F8_E8M0": 8,
    "I16": 16,
    "U16": 16,
    "F16": 16,
    "BF16": 16,
    "I32": 32,
    "U32": 32,
    "F32": 32,
    "F64": 64,
    "I64": 64,
    "U64": 64,
}

# Repo ids as the Hub allows them (huggingface_hub utils/_validators.py REPO_ID_REGEX): an owner and
# a name of letters, digits, "-", "_", ".", each at most 96 characters, no "--" or ".." in them.
_PART = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9_])?"
_REPO = re.compile(rf"({_PART})/({_PART})")
_REVISION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,199}")  # a branch, tag, commit or refs/pr/N


class HubRef(NamedTuple):
    repo: str
    revision: str
    file: str | None  # a file named by the URL (a .gguf), or None
    sha: str | None = None  # the commit the revision resolved to, when the caller knows it


def _bad_ref(text: str, why: str) -> CalcError:
    return CalcError("bad_hub_ref", "hub", f"{show(text, 80)} is not a Hugging Face model: {why}")


def _check_repo(owner: str, name: str, text: str) -> str:
    repo = f"{owner}/{name}"
    if not _REPO.fullmatch(repo) or "--" in repo or ".." in repo:
        raise _bad_ref(text, "a repo id is owner/name, letters, digits, '-', '_' and '.'")
    return repo


def _check_revision(rev: str, text: str) -> str:
    if not _REVISION.fullmatch(rev) or ".." in rev:
        raise _bad_ref(text, f"the revision {show(rev, 60)} is not a branch, tag or commit")
    return rev


def _check_file(path: str, text: str) -> str:
    if not path or len(path) > MAX_NAME or path.startswith("/") or any(p in ("", ".", "..") for p in path.split("/")):
        raise _bad_ref(text, f"the file {show(path, 60)} is not a path inside the repo")
    return path


def is_hub_ref(text: str, endpoint: str | None = None) -> bool:
    """Whether `text` looks like a repo id or a Hub URL (parse_ref says whether it is a good one)."""
    text = text.strip() if isinstance(text, str) else ""
    if text.startswith(("http://", "https://")):
        host = urlsplit(text).netloc.lower()
        return host in HUB_HOSTS or bool(endpoint and host == urlsplit(endpoint).netloc.lower())
    return bool(re.fullmatch(r"[^/\s]+/[^/\s]+", text))


def parse_ref(text: str, revision: str | None = None, endpoint: str | None = None) -> HubRef:
    """A repo id or Hub URL -> (repo, revision, file).

    ``org/name`` -> (org/name, revision or "main", None); a URL of huggingface.co (or hf.co, or the
    `endpoint` the caller fetches from): ``/org/name``, ``/org/name/tree/<rev>``,
    ``/org/name/blob/<rev>/<file>`` and ``/org/name/resolve/<rev>/<file>`` (the revision
    percent-encoded when it holds "/", as the Hub writes ``refs%2Fpr%2F1``).  A revision given
    apart (``--revision``) wins over none in the URL; both, and different, is an error.
    """
    if not isinstance(text, str) or not text.strip():
        raise _bad_ref(str(text), "give a repo id such as Qwen/Qwen3-4B or a https://huggingface.co/ URL")
    text = text.strip()
    file = rev = None
    if text.startswith(("http://", "https://")):
        url = urlsplit(text)
        hosts = HUB_HOSTS + ((urlsplit(endpoint).netloc.lower(),) if endpoint else ())
        if url.netloc.lower() not in hosts:
            raise _bad_ref(text, f"the host {show(url.netloc, 60)} is not the Hub ({HUB})")
        parts = [p for p in url.path.split("/") if p]
        if parts[:1] in (["models"], ["api"]):
            parts = parts[1:] if parts[0] == "models" else parts
        if len(parts) < 2 or parts[0] in ("datasets", "spaces", "api"):
            raise _bad_ref(text, "the URL names no model repo (https://huggingface.co/<owner>/<name>)")
        repo = _check_repo(parts[0], parts[1], text)
        rest = parts[2:]
        if rest:
            if rest[0] not in ("tree", "blob", "resolve") or len(rest) < 2:
                raise _bad_ref(text, f"the URL's {show('/' + '/'.join(rest), 60)} is not tree/, blob/ or resolve/<revision>")
            rev = _check_revision(unquote(rest[1]), text)
            if len(rest) > 2:
                path = unquote("/".join(rest[2:]))
                if rest[0] == "tree":
                    raise _bad_ref(text, "the URL names a folder; give the repo, or a file's blob/ or resolve/ URL")
                file = _check_file(path, text)
    else:
        hit = re.fullmatch(r"([^/\s]+)/([^/\s]+)", text)
        if not hit:
            raise _bad_ref(text, "a repo id is owner/name (such as Qwen/Qwen3-4B)")
        repo = _check_repo(hit.group(1), hit.group(2), text)
    if revision is not None and revision.strip():
        given = _check_revision(revision.strip(), text)
        if rev is not None and rev != given:
            raise CalcError("conflicting_fields", "revision", f"the URL names revision {rev!r} and the request {given!r}")
        rev = given
    return HubRef(repo, rev or DEFAULT_REVISION, file)


def file_url(endpoint: str, ref: HubRef, file: str) -> str:
    """Where the Hub serves a file of a repo: <endpoint>/<repo>/resolve/<revision>/<file>
    (huggingface_hub constants.HUGGINGFACE_CO_URL_TEMPLATE; "/" in a revision percent-encoded)."""
    from urllib.parse import quote

    return f"{endpoint.rstrip('/')}/{ref.repo}/resolve/{quote(ref.revision, safe='')}/{quote(file)}"


def api_url(endpoint: str, ref: HubRef) -> str:
    """The model API's answer for a revision: its files (``siblings``), gating and commit sha."""
    from urllib.parse import quote

    return f"{endpoint.rstrip('/')}/api/models/{ref.repo}/revision/{quote(ref.revision, safe='')}"


# ---------------------------------------------------------------------------------------------
# The repo's files


_SPLIT = re.compile(r"-(\d{5})-of-(\d{5})\.gguf$", re.IGNORECASE)
# The quant a GGUF file's name gives, as llama-quantize and the big uploaders name them: Q4_K_M,
# IQ3_XS, Q8_0, BF16, TQ1_0, MXFP4_MOE; unsloth's "UD-" prefix and bartowski's _L / _XL suffixes kept.
_QUANT = re.compile(
    r"(?:UD-)?(?:I?Q\d_[A-Z0-9]+(?:_[A-Z]{1,2})?|TQ\d_\d|MXFP4(?:_MOE)?|BF16|F16|F32|FP16|FP8)(?![A-Za-z0-9])",
    re.IGNORECASE,
)


class GgufChoice(NamedTuple):
    quant: str  # from the file name ("Q4_K_M", "UD-Q4_K_XL"), or its stem
    files: tuple[str, ...]  # the file, or every part of a split one in order
    size: int | None  # bytes of all its files, when the listing gives sizes


class Listing(NamedTuple):
    sha: str | None
    gated: bool
    files: tuple[str, ...]
    config: bool  # has config.json at the root
    index: str | None  # model.safetensors.index.json, when there
    safetensors: tuple[str, ...]  # root-level *.safetensors
    gguf: tuple[GgufChoice, ...]
    mmproj: tuple[str, ...]  # llama.cpp multimodal projector files


def _quant_name(path: str) -> str:
    stem = _SPLIT.sub("", path.rsplit("/", 1)[-1])
    stem = re.sub(r"\.gguf$", "", stem, flags=re.IGNORECASE)
    hits = _QUANT.findall(stem)
    return hits[-1].upper().replace("UD-", "UD-") if hits else stem


def listing(api) -> Listing:
    """The model API's JSON (an object with ``siblings``: [{rfilename, size?}]) or the tree API's
    (a list of {type, path, size}) -> the files a loader reads."""
    if isinstance(api, dict):
        items = api.get("siblings")
        if not isinstance(items, list):
            raise CalcError("bad_hub_listing", "hub_listing", "the model API's answer has no siblings list")
        names = [(s.get("rfilename"), s.get("size")) for s in items[: MAX_LISTING_FILES + 1] if isinstance(s, dict)]
        sha = api.get("sha") if isinstance(api.get("sha"), str) else None
        gated = bool(api.get("gated")) and api.get("gated") is not False
    elif isinstance(api, list):
        names = [
            (s.get("path"), s.get("size"))
            for s in api[: MAX_LISTING_FILES + 1]
            if isinstance(s, dict) and s.get("type", "file") == "file"
        ]
        sha, gated = None, False
    else:
        raise CalcError("bad_hub_listing", "hub_listing", f"the Hub's file list must be an object or a list, got {show(api)}")
    if len(names) > MAX_LISTING_FILES:
        raise CalcError("out_of_range", "hub_listing", f"the repo lists more than {MAX_LISTING_FILES:,} files")
    sizes: dict[str, int | None] = {}
    for name, size in names:
        if isinstance(name, str) and 0 < len(name) <= MAX_NAME:
            sizes[name] = size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None
    files = tuple(sorted(sizes))
    groups: dict[str, list[str]] = {}
    mmproj = []
    for f in files:
        if not f.lower().endswith(".gguf"):
            continue
        base = f.rsplit("/", 1)[-1].lower()
        if "mmproj" in base:
            mmproj.append(f)
            continue
        hit = _SPLIT.search(f)
        key = f[: hit.start()] + f"-of-{hit.group(2)}" if hit else f
        groups.setdefault(key, []).append(f)
    gguf = []
    for parts in groups.values():
        hit = _SPLIT.search(parts[0])
        if hit and (
            len(parts) != int(hit.group(2)) or [int(_SPLIT.search(p).group(1)) for p in parts] != list(range(1, len(parts) + 1))
        ):
            continue  # a split file with parts missing from the listing: not offered
        size = sum(sizes[p] for p in parts) if all(sizes[p] is not None for p in parts) else None
        gguf.append(GgufChoice(_quant_name(parts[0]), tuple(parts), size))
    return Listing(
        sha=clean(sha, 80) if sha else None,
        gated=gated,
        files=files,
        config="config.json" in sizes,
        index="model.safetensors.index.json" if "model.safetensors.index.json" in sizes else None,
        safetensors=tuple(f for f in files if "/" not in f and f.endswith(".safetensors")),
        gguf=tuple(sorted(gguf, key=lambda g: g.files[0].lower())),
        mmproj=tuple(mmproj),
    )


def index_shards(index) -> tuple[str, ...]:
    """model.safetensors.index.json (an object, or its text) -> its shard files in name order."""
    if isinstance(index, (bytes, str)):
        try:
            index = json.loads(index)
        except (ValueError, RecursionError):
            raise CalcError("bad_safetensors", "safetensors", "model.safetensors.index.json is not valid JSON") from None
    weight_map = index.get("weight_map") if isinstance(index, dict) else None
    if not isinstance(weight_map, dict) or not weight_map:
        raise CalcError("bad_safetensors", "safetensors", "model.safetensors.index.json has no weight_map")
    shards = set()
    for file in weight_map.values():
        if not isinstance(file, str) or not file.endswith(".safetensors"):
            raise CalcError("bad_safetensors", "safetensors", f"model.safetensors.index.json maps a tensor to {show(file, 60)}")
        _check_file(file, file)
        shards.add(file)
        if len(shards) > MAX_SHARDS:
            raise CalcError("out_of_range", "safetensors", f"the index names more than {MAX_SHARDS:,} shard files")
    return tuple(sorted(shards))


# ---------------------------------------------------------------------------------------------
# safetensors headers


class StTensor(NamedTuple):
    name: str
    dtype: str
    shape: tuple[int, ...]
    nbytes: int


class SafetensorsTruncated(CalcError):
    """The bytes end inside the header: read the first `needed` bytes of the file and try again."""

    def __init__(self, have: int, needed: int, file: str | None = None):
        where = f"{file}: " if file else ""
        super().__init__(
            "truncated_safetensors", "safetensors", f"{where}the safetensors header needs {needed:,} bytes, got {have:,}"
        )
        self.needed = needed


def _bad_st(file: str | None, message: str) -> CalcError:
    return CalcError("bad_safetensors", "safetensors", f"{file + ': ' if file else ''}not a safetensors header: {message}")


def header_length(data: bytes, file: str | None = None) -> int:
    """The bytes a safetensors file's header takes from its start: 8 + N, N the first 8 bytes as a
    little-endian u64; refused past MAX_SAFETENSORS_HEADER before anything more is read."""
    if len(data) < 8:
        raise SafetensorsTruncated(len(data), 8, file)
    n = int.from_bytes(data[:8], "little")
    if n < 2:
        raise _bad_st(file, f"the header length is {n}")
    if n > MAX_SAFETENSORS_HEADER:
        raise CalcError(
            "out_of_range",
            "safetensors",
            f"{file + ': ' if file else ''}the safetensors header claims {n:,} bytes, more than the "
            f"{MAX_SAFETENSORS_HEADER // 2**20} MiB this calculator reads",
        )
    return 8 + n


def read_safetensors(data: bytes, file: str | None = None) -> tuple[StTensor, ...]:
    """A safetensors file's first bytes -> its tensors; SafetensorsTruncated says how many bytes it
    needs.  Checked as the safetensors crate checks (tensor.rs validate): every dtype known, every
    shape whole numbers, every tensor's byte range exactly its elements' bytes, the ranges laid end
    to end from 0 without gaps or overlaps (a lying size is an error naming the tensor)."""
    end = header_length(data, file)
    if len(data) < end:
        raise SafetensorsTruncated(len(data), end, file)
    raw = bytes(data[8:end])
    if raw[:1] != b"{":
        raise _bad_st(file, "the header does not start with '{'")
    try:
        header = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise _bad_st(file, "the header is not UTF-8") from None
    except (ValueError, RecursionError):
        raise _bad_st(file, "the header is not valid JSON") from None
    if not isinstance(header, dict):
        raise _bad_st(file, "the header is not a JSON object")
    if len(header) > MAX_SAFETENSORS_TENSORS + 1:
        raise CalcError(
            "out_of_range", "safetensors", f"{file or 'a header'} lists more than {MAX_SAFETENSORS_TENSORS:,} tensors"
        )
    out, spans = [], []
    for name, info in header.items():
        if name == "__metadata__":
            if not isinstance(info, dict):
                raise _bad_st(file, "__metadata__ is not an object")
            continue
        label = show(name, 60)
        if not isinstance(info, dict):
            raise _bad_st(file, f"tensor {label} is not an object")
        dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
        if dtype not in DTYPE_BITS:
            raise CalcError(
                "unsupported_safetensors",
                "safetensors",
                f"{file + ': ' if file else ''}tensor {label} has dtype {show(dtype)}, not one safetensors defines",
            )
        if not isinstance(shape, list) or len(shape) > 8 or not all(_whole(d) and d < 2**48 for d in shape):
            raise _bad_st(file, f"tensor {label} has shape {show(shape)}")
        if not isinstance(offsets, list) or len(offsets) != 2 or not all(_whole(o) for o in offsets) or offsets[0] > offsets[1]:
            raise _bad_st(file, f"tensor {label} has data_offsets {show(offsets)}")
        elements = 1
        for d in shape:
            elements *= d
        nbytes = -(-elements * DTYPE_BITS[dtype] // 8)
        if offsets[1] - offsets[0] != nbytes:
            raise _bad_st(
                file,
                f"tensor {label} ({dtype} {shape}) needs {nbytes:,} bytes but its data_offsets give {offsets[1] - offsets[0]:,}",
            )
        out.append(StTensor(clean(name, MAX_NAME), dtype, tuple(shape), nbytes))
        spans.append((offsets[0], offsets[1], label))
    if not out:
        raise _bad_st(file, "it lists no tensors")
    spans.sort()
    at = 0
    for begin, stop, label in spans:
        if begin != at:
            raise _bad_st(file, f"tensor {label}'s data starts at {begin:,}, not at {at:,} where the previous one ends")
        at = stop
    return tuple(out)


def _whole(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


# ---------------------------------------------------------------------------------------------
# The checkpoint's bytes, grouped as the memory plan groups them


# Tensors of a vision or audio tower, or of a multimodal projector (transformers' names in
# Gemma 3, Llama 4, Mistral 3, Qwen2.5-VL, LLaVA, Whisper-style encoders): counted with the rest.
_TOWER = re.compile(
    r"(?:^|\.)(?:vision_tower|vision_model|visual|vision|image_newline|multi_modal_projector|mm_projector|audio_tower|audio|embed_vision|embed_audio)(?:\.|_|$)"
)
_LAYER = re.compile(r"(?:^|\.)(?:layers|h|blocks|layer|decoder\.layers)\.(\d+)\.")
_EXPERT = re.compile(r"\.experts\.")  # routed experts (mlp.experts.N.*, merged mlp.experts.gate_up_proj); not shared_experts
_EMBED = re.compile(r"(?:^|\.)(?:embed_tokens|wte|word_embeddings|tok_embeddings|embed_in)\.")
_HEAD = re.compile(r"(?:^|\.)(?:lm_head|embed_out)\.|^output\.weight$")


class Checkpoint(NamedTuple):
    weights: WeightBytes
    dtypes: dict  # dtype -> bytes, most first
    tensors: int
    tower_bytes: int  # vision/audio towers and projectors, inside weights' final_norm ("the rest")


def checkpoint_bytes(headers: list[tuple[StTensor, ...]], layers: int) -> Checkpoint:
    """Every tensor's bytes: per decoder layer (…layers.N.), its routed experts, the token
    embeddings, the output head, and the rest (final norm, towers, layers past `layers` such as a
    multi-token-prediction block).  A tensor name in two shards is an error."""
    dtypes: dict[str, int] = {}
    seen: set[str] = set()
    for tensors in headers:
        for t in tensors:
            if t.name in seen:
                raise CalcError("bad_safetensors", "safetensors", f"tensor {show(t.name, 60)} is in two shard files")
            seen.add(t.name)
            dtypes[t.dtype] = dtypes.get(t.dtype, 0) + t.nbytes
    named = [(t.name, t.nbytes) for tensors in headers for t in tensors]
    weights = grouped_bytes(named, layers, _LAYER, _EXPERT, _EMBED, _HEAD, rest=_TOWER)
    towers = sum(n for name, n in named if _TOWER.search(name))
    return Checkpoint(weights, dict(sorted(dtypes.items(), key=lambda kv: -kv[1])), len(named), towers)


# ---------------------------------------------------------------------------------------------
# The model


_MODELS: OrderedDict = OrderedDict()
_MODELS_SIZE = 8


def hub_model(config, headers: tuple[bytes, ...], ref: HubRef):
    """The Model of a Hub repo: its config.json (object or text) for the architecture, and its
    safetensors headers (each the first bytes of a shard, as header_length says) for the
    checkpoint's exact bytes under the format "native".  No headers: the config alone (native
    replayed from torch_dtype and quantization_config like a pasted config)."""
    import dataclasses
    import hashlib

    from calc.model import custom_model

    base = custom_model(config)
    digest = hashlib.sha256(base.key.encode())
    for data in headers:
        digest.update(len(data).to_bytes(8, "little") + bytes(data))
    key = "hub:" + digest.hexdigest()[:20] + f":{ref.repo}@{ref.revision}"

    def build():
        parsed = [read_safetensors(data, f"shard {i + 1}") for i, data in enumerate(headers)]
        source = {"kind": "hub", "repo": ref.repo, "revision": ref.revision, "sha": ref.sha, "file": None}
        checkpoint = None
        if parsed:
            ck = checkpoint_bytes(parsed, base.arch.layers)
            checkpoint = ck.weights
            source.update(
                checkpoint_bytes=ck.weights.total,
                dtypes=ck.dtypes,
                tensors=ck.tensors,
                files=len(parsed),
                tower_bytes=ck.tower_bytes,
            )
        name = ref.repo.split("/", 1)[1]
        return dataclasses.replace(
            base,
            id="hub",
            repo=ref.repo,
            name=clean(name, 80),
            family="hub",
            key=key,
            checkpoint=checkpoint,
            source=source,
            derived={},
        )

    return lru(_MODELS, key, build, _MODELS_SIZE)


def hub_gguf_model(parts: tuple[bytes, ...], file_name: str | None, ref: HubRef):
    """A GGUF file of a Hub repo (calc/gguf_model.py gguf_model), its source kind "hub" with the
    repo, revision and file, and the file's own type and architecture."""
    import dataclasses

    from calc.gguf_model import gguf_model

    base = gguf_model(parts, file_name or ref.file)
    key = f"{base.key}:{ref.repo}@{ref.revision}:{ref.sha}"
    source = {"kind": "hub", "repo": ref.repo, "revision": ref.revision, "sha": ref.sha}
    source.update({k: v for k, v in (base.source or {}).items() if k != "kind"})
    source["file"] = file_name or ref.file
    return lru(_MODELS, key, lambda: dataclasses.replace(base, repo=ref.repo, key=key, source=source, derived={}), _MODELS_SIZE)
