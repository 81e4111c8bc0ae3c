"""GGUF files as stored: header, metadata and tensor infos of GGUF v2 and v3 (bytes in, no I/O).

The layout (ggml/docs/gguf.md, ggml/src/gguf.cpp), all little-endian:

    magic "GGUF" | version u32 | tensor_count u64 | metadata_kv_count u64
    metadata:  key (string) | value type u32 | value
    tensors:   name (string) | n_dims u32 | dims u64 x n_dims | ggml type u32 | offset u64
    padding to general.alignment (default 32), then the tensor data
    string = length u64 | UTF-8 bytes;  array = item type u32 | count u64 | items

A header is read from the first bytes of a file; when they are not enough, GgufTruncated says how
many bytes the reader needs, so a caller reading over HTTP Range requests (or File.slice) can ask
for more.  Sizes are bounded (HEADER limits below) so a hostile file fails fast with an error.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from calc.errors import CalcError, show

MAGIC = b"GGUF"
VERSIONS = (2, 3)  # v1 (2023-08, 32-bit counts) is long gone from the Hub
DEFAULT_ALIGNMENT = 32  # gguf.cpp GGUF_DEFAULT_ALIGNMENT

# Bounds on what a header may hold: far above any real file (a 256k-token vocabulary is an array of
# 256k short strings; DeepSeek-V3 has 1,025 tensors), far below what would take long to walk.
MAX_HEADER_BYTES = 256 * 2**20
MAX_TENSORS = 1_000_000
MAX_KV = 10_000  # metadata keys: released files have 30 to 60
MAX_STRING = 16 * 2**20
MAX_ARRAY = 16_000_000
MAX_STRING_ARRAY = 2**20  # strings in one array: a 262k-token vocabulary, a tokenizer's merges
MAX_DIMS = 4  # GGML_MAX_DIMS

# ggml type id -> (name, elements per block, bytes per block): ggml/src/ggml.c type_traits, the
# block structs of ggml/src/ggml-common.h.  Ids 4, 5 (Q4_2, Q4_3) and 31-33, 36-38 (the repacked
# Q4_0_4_4 ... and IQ4_NL_4_4 ... layouts) were removed from ggml and are refused.
GGML_TYPES = {
    0: ("F32", 1, 4),
    1: ("F16", 1, 2),
    2: ("Q4_0", 32, 18),  # d f16 + 16 bytes of nibbles
    3: ("Q4_1", 32, 20),  # d, m f16 + 16
    6: ("Q5_0", 32, 22),  # d + qh[4] + 16
    7: ("Q5_1", 32, 24),
    8: ("Q8_0", 32, 34),  # d + 32 int8
    9: ("Q8_1", 32, 36),
    10: ("Q2_K", 256, 84),
    11: ("Q3_K", 256, 110),
    12: ("Q4_K", 256, 144),
    13: ("Q5_K", 256, 176),
    14: ("Q6_K", 256, 210),
    15: ("Q8_K", 256, 292),  # d f32 + 256 int8 + 16 int16 sums
    16: ("IQ2_XXS", 256, 66),
    17: ("IQ2_XS", 256, 74),
    18: ("IQ3_XXS", 256, 98),
    19: ("IQ1_S", 256, 50),
    20: ("IQ4_NL", 32, 18),
    21: ("IQ3_S", 256, 110),
    22: ("IQ2_S", 256, 82),
    23: ("IQ4_XS", 256, 136),
    24: ("I8", 1, 1),
    25: ("I16", 1, 2),
    26: ("I32", 1, 4),
    27: ("I64", 1, 8),
    28: ("F64", 1, 8),
    29: ("IQ1_M", 256, 56),
    30: ("BF16", 1, 2),
    34: ("TQ1_0", 256, 54),  # qs[48] + qh[4] + d
    35: ("TQ2_0", 256, 66),  # qs[64] + d
    39: ("MXFP4", 32, 17),  # e8m0 scale + 16 bytes of e2m1 pairs
}

BLOCKS = {name: (block, size) for name, block, size in GGML_TYPES.values()}  # name -> (elements, bytes)

# general.file_type -> the name llama.cpp prints (llama_model_ftype_name, include/llama.h LLAMA_FTYPE_*).
FILE_TYPES = {
    0: "F32",
    1: "F16",
    2: "Q4_0",
    3: "Q4_1",
    7: "Q8_0",
    8: "Q5_0",
    9: "Q5_1",
    10: "Q2_K",
    11: "Q3_K_S",
    12: "Q3_K_M",
    13: "Q3_K_L",
    14: "Q4_K_S",
    15: "Q4_K_M",
    16: "Q5_K_S",
    17: "Q5_K_M",
    18: "Q6_K",
    19: "IQ2_XXS",
    20: "IQ2_XS",
    21: "Q2_K_S",
    22: "IQ3_XS",
    23: "IQ3_XXS",
    24: "IQ1_S",
    25: "IQ4_NL",
    26: "IQ3_S",
    27: "IQ3_M",
    28: "IQ2_S",
    29: "IQ2_M",
    30: "IQ4_XS",
    31: "IQ1_M",
    32: "BF16",
    36: "TQ1_0",
    37: "TQ2_0",
    38: "MXFP4_MOE",
}

# Metadata value types (gguf.cpp GGUF_TYPE_*): id -> struct format of one item, or a name for the
# variable-length ones.
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
STRING, ARRAY = 8, 9
_U64 = struct.Struct("<Q")


class Tensor(NamedTuple):
    name: str
    dims: tuple[int, ...]  # ne[0], ne[1], ...: ne[0] is the row length
    ggml_type: str  # GGML_TYPES name
    offset: int  # bytes from the start of the data section

    @property
    def elements(self) -> int:
        n = 1
        for d in self.dims:
            n *= d
        return n

    @property
    def nbytes(self) -> int:
        """Bytes of the tensor as stored: rows of ne[0] elements in whole blocks."""
        block, size = BLOCKS[self.ggml_type]
        return self.elements // block * size


class Gguf(NamedTuple):
    version: int
    metadata: dict  # key -> value (arrays as lists; a long array as ("array", item type, count))
    tensors: tuple[Tensor, ...]
    data_offset: int  # where the tensor data starts in the file: the header's bytes with padding

    @property
    def architecture(self) -> str | None:
        return self.metadata.get("general.architecture")

    @property
    def file_type(self) -> str | None:
        """The file type's name ("Q4_K_M"), or None when the file does not say."""
        code = self.metadata.get("general.file_type")
        return FILE_TYPES.get(code, f"file type {code}") if isinstance(code, int) else None

    @property
    def parameters(self) -> int:
        return sum(t.elements for t in self.tensors)

    @property
    def tensor_bytes(self) -> int:
        return sum(t.nbytes for t in self.tensors)

    def bytes_by_type(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for t in self.tensors:
            out[t.ggml_type] = out.get(t.ggml_type, 0) + t.nbytes
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))

    @property
    def split(self) -> tuple[int, int] | None:
        """(this file's index from 0, number of files) of a split model, or None."""
        count = self.metadata.get("split.count")
        return (self.metadata.get("split.no", 0), count) if isinstance(count, int) and count > 1 else None


class GgufTruncated(CalcError):
    """The bytes end inside the header: `needed` is how many bytes from the start would be enough
    to get further (read that many and try again)."""

    def __init__(self, have: int, needed: int):
        super().__init__("truncated_gguf", "gguf", f"the GGUF header needs more than the first {have:,} bytes")
        self.needed = needed


def _bad(message: str) -> CalcError:
    return CalcError("bad_gguf", "gguf", f"not a GGUF file this calculator reads: {message}")


class _Reader:
    """A cursor over the header bytes; every read checks the bounds first."""

    def __init__(self, data: bytes):
        self.data, self.pos = memoryview(data), 0

    def take(self, n: int) -> memoryview:
        end = self.pos + n
        if end > MAX_HEADER_BYTES:  # before asking for more: a reader would ask for the same bytes forever
            raise _bad(f"its header is larger than {MAX_HEADER_BYTES // 2**20} MiB")
        if end > len(self.data):
            # ask for what this read needs, and at least double what we have, so few round trips do
            raise GgufTruncated(len(self.data), min(MAX_HEADER_BYTES, max(end, 2 * len(self.data))))
        out, self.pos = self.data[self.pos : end], end
        return out

    def scalar(self, fmt: str):
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def string(self, what: str) -> str:
        n = self.scalar("<Q")
        if n > MAX_STRING:
            raise _bad(f"{what} is a string of {n:,} bytes")
        raw = bytes(self.take(n))
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw.decode("utf-8", "replace")

    def skip_strings(self, count: int, key: str) -> None:
        """Walk over `count` strings without decoding them: a 262k-token vocabulary in tens of ms."""
        data, pos, end = self.data, self.pos, len(self.data)
        length_at = _U64.unpack_from
        for _ in range(count):
            if pos + 8 > end:
                break
            (n,) = length_at(data, pos)
            if n > MAX_STRING:
                raise _bad(f"an item of {show(key, 60)} is a string of {n:,} bytes")
            pos += 8 + n
        else:
            if pos <= end:
                self.pos = pos
                return
        self.pos = pos  # past the end, or a length cut: take() says how many bytes to read
        self.take(8)

    def value(self, vtype: int, key: str):
        if vtype in _SCALARS:
            return self.scalar(_SCALARS[vtype])
        if vtype == STRING:
            return self.string(f"metadata {show(key, 60)}")
        if vtype == ARRAY:
            item, count = self.scalar("<I"), self.scalar("<Q")
            if count > MAX_ARRAY:
                raise _bad(f"metadata {show(key, 60)} is an array of {count:,} items")
            if item in _SCALARS:  # one read for the whole array
                size = struct.calcsize(_SCALARS[item])
                raw = self.take(size * count)
                if count > 4096:  # a tokenizer's scores or types: kept as a summary, not a list
                    return ("array", item, count)
                return list(struct.unpack(f"<{count}{_SCALARS[item][1]}", raw))
            if item == STRING:
                if count > MAX_STRING_ARRAY:
                    raise _bad(f"metadata {show(key, 60)} is an array of {count:,} strings")
                if count > 4096:  # a vocabulary or its merges: walked over, kept as a summary
                    self.skip_strings(count, key)
                    return ("array", item, count)
                return [self.string(f"an item of {show(key, 60)}") for _ in range(count)]
            raise _bad(f"metadata {show(key, 60)} is an array of type {item}")
        raise _bad(f"metadata {show(key, 60)} has value type {vtype}")


def read_gguf(data: bytes, max_tensors: int = MAX_TENSORS) -> Gguf:
    """The header of a GGUF file from its first bytes.  GgufTruncated when they end inside it (its
    `needed` says how many to read); CalcError bad_gguf for anything that is not a GGUF it reads,
    or that claims more than `max_tensors` tensors (refused before they are read)."""
    r = _Reader(data)
    if bytes(r.take(4)) != MAGIC:
        raise _bad("it does not start with 'GGUF'")
    version = r.scalar("<I")
    if version not in VERSIONS:
        raise _bad(f"GGUF version {version} (this reader knows {', '.join(map(str, VERSIONS))})")
    n_tensors, n_kv = r.scalar("<Q"), r.scalar("<Q")
    if n_tensors > max_tensors or n_kv > MAX_KV:
        raise _bad(f"it claims {n_tensors:,} tensors and {n_kv:,} metadata keys")
    metadata = {}
    for _ in range(n_kv):
        key = r.string("a metadata key")
        metadata[key] = r.value(r.scalar("<I"), key)
    tensors = []
    for _ in range(n_tensors):
        name = r.string("a tensor name")
        n_dims = r.scalar("<I")
        if not 1 <= n_dims <= MAX_DIMS:
            raise _bad(f"tensor {show(name, 60)} has {n_dims} dimensions")
        dims = tuple(r.scalar("<Q") for _ in range(n_dims))
        code, offset = r.scalar("<I"), r.scalar("<Q")
        if code not in GGML_TYPES:
            raise _bad(f"tensor {show(name, 60)} has ggml type {code}, which this reader does not know")
        kind, block, _ = GGML_TYPES[code]
        if any(d == 0 or d > 2**40 for d in dims) or dims[0] % block:
            raise _bad(f"tensor {show(name, 60)} has dimensions {list(dims)} for type {kind} (blocks of {block})")
        tensors.append(Tensor(name, dims, kind, offset))
    alignment = metadata.get("general.alignment", DEFAULT_ALIGNMENT)
    if not isinstance(alignment, int) or alignment <= 0 or alignment & (alignment - 1):
        raise _bad(f"general.alignment is {alignment!r}, not a power of two")
    data_offset = -(-r.pos // alignment) * alignment
    gguf = Gguf(version, metadata, tuple(tensors), data_offset)
    _check_offsets(gguf, alignment)
    return gguf


def _check_offsets(g: Gguf, alignment: int) -> None:
    """Each tensor starts aligned, after the one before it ends (gguf.cpp checks the same)."""
    end = 0
    for t in sorted(g.tensors, key=lambda t: t.offset):
        if t.offset % alignment or t.offset < end:
            raise _bad(f"tensor {t.name!r} starts at {t.offset:,}, inside the tensor before it or unaligned")
        end = t.offset + t.nbytes


# ---------------------------------------------------------------------------------------------
# A compact header: what an estimate reads of a file, as a GGUF header itself

TYPE_CODES = {name: code for code, (name, _, _) in GGML_TYPES.items()}
_DROPPED = ("tokenizer.", "split.")  # the vocabulary is most of a header's bytes; no estimate reads it


def _w_string(text: str) -> bytes:
    raw = text.encode("utf-8", "surrogatepass")
    return struct.pack("<Q", len(raw)) + raw


def _w_item(value) -> tuple[int, bytes] | None:
    """(value type, bytes) of one metadata value as read back, or None for one it drops (a summary)."""
    if isinstance(value, bool):
        return 7, struct.pack("<?", value)
    if isinstance(value, int):
        return (10, struct.pack("<Q", value)) if value >= 0 else (11, struct.pack("<q", value))
    if isinstance(value, float):
        return 12, struct.pack("<d", value)
    if isinstance(value, str):
        return STRING, _w_string(value)
    if isinstance(value, list):
        items = [_w_item(v) for v in value]
        kinds = {k for k, _ in items if k is not None} if all(items) else {None}
        if len(kinds) > 1 and kinds <= {10, 11}:  # whole numbers of both signs
            items, kinds = [(11, struct.pack("<q", v)) for v in value], {11}
        if len(kinds) > 1 or ARRAY in kinds or None in kinds:
            return None
        kind = kinds.pop() if kinds else 4
        return ARRAY, struct.pack("<IQ", kind, len(value)) + b"".join(raw for _, raw in items)
    return None  # ("array", type, count): a long array kept as a summary


def compact(parts: list[Gguf] | tuple[Gguf, ...]) -> bytes:
    """One GGUF header holding the metadata of `parts[0]` (without the tokenizer and split keys) and
    the tensors of every part, laid out again one after another: what the estimate reads of a file
    or a split model, in tens of kilobytes rather than the megabytes of a vocabulary.  read_gguf
    reads it back to the same metadata values and the same tensors (offsets aside)."""
    meta = []
    for key, value in parts[0].metadata.items():
        item = None if key.startswith(_DROPPED) else _w_item(value)
        if item is not None:
            meta.append(_w_string(key) + struct.pack("<I", item[0]) + item[1])
    alignment = parts[0].metadata.get("general.alignment", DEFAULT_ALIGNMENT)
    tensors, offset = [], 0
    for g in parts:
        for t in g.tensors:
            tensors.append(
                _w_string(t.name)
                + struct.pack(f"<I{len(t.dims)}Q", len(t.dims), *t.dims)
                + struct.pack("<IQ", TYPE_CODES[t.ggml_type], offset)
            )
            offset += -(-t.nbytes // alignment) * alignment
    head = MAGIC + struct.pack("<IQQ", 3, len(tensors), len(meta))
    return head + b"".join(meta) + b"".join(tensors)
