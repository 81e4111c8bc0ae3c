"""The GGUF reader (calc/gguf.py) on files written here, byte by byte as ggml/docs/gguf.md lays
them out: metadata of every value type, tensors of every type, truncation, and hostile headers."""

from __future__ import annotations

import struct

import pytest

from calc import catalog
from calc.errors import CalcError
from calc.gguf import BLOCKS, GGML_TYPES, GgufTruncated, read_gguf

TYPE_IDS = {name: code for code, (name, _, _) in GGML_TYPES.items()}


def _str(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("<Q", len(raw)) + raw


def _value(value) -> bytes:
    """(value type id, bytes) of a metadata value: int -> u32, float -> f32, str, bool, list."""
    if isinstance(value, bool):
        return struct.pack("<I?", 7, value)
    if isinstance(value, int):
        return struct.pack("<II", 4, value)
    if isinstance(value, float):
        return struct.pack("<If", 6, value)
    if isinstance(value, str):
        return struct.pack("<I", 8) + _str(value)
    if all(isinstance(v, str) for v in value):
        return struct.pack("<IIQ", 9, 8, len(value)) + b"".join(_str(v) for v in value)
    return struct.pack("<IIQ", 9, 5, len(value)) + struct.pack(f"<{len(value)}i", *value)


def write(metadata: dict, tensors: list[tuple[str, tuple, str]], version: int = 3, alignment: int = 32) -> bytes:
    """A GGUF file: the metadata, then tensors (name, dims, type) laid out one after another, aligned."""
    out = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(metadata))
    for key, value in metadata.items():
        out += _str(key) + _value(value)
    offset, data = 0, []
    for name, dims, kind in tensors:
        block, size = BLOCKS[kind]
        n = 1
        for d in dims:
            n *= d
        out += _str(name) + struct.pack("<I", len(dims)) + struct.pack(f"<{len(dims)}Q", *dims)
        out += struct.pack("<IQ", TYPE_IDS[kind], offset)
        nbytes = n // block * size
        data.append(b"\0" * nbytes + b"\0" * (-nbytes % alignment))
        offset += nbytes + (-nbytes % alignment)
    return out + b"\0" * (-len(out) % alignment) + b"".join(data)


META = {
    "general.architecture": "llama",
    "general.file_type": 15,
    "llama.block_count": 2,
    "llama.attention.head_count_kv": [8, 4],
    "llama.rope.freq_base": 500000.0,
    "tokenizer.ggml.add_bos_token": True,
    "tokenizer.ggml.tokens": ["<s>", "</s>", "hi"],
}
TENSORS = [
    ("token_embd.weight", (256, 10), "Q6_K"),
    ("blk.0.attn_q.weight", (256, 256), "Q4_K"),
    ("blk.0.attn_norm.weight", (256,), "F32"),
    ("output.weight", (256, 10), "Q8_0"),
]


def test_header_metadata_and_tensors():
    g = read_gguf(write(META, TENSORS))
    assert (g.version, g.architecture, g.file_type) == (3, "llama", "Q4_K_M")
    assert g.metadata["llama.attention.head_count_kv"] == [8, 4]
    assert g.metadata["tokenizer.ggml.tokens"] == ["<s>", "</s>", "hi"]
    assert g.metadata["llama.rope.freq_base"] == 500000.0 and g.metadata["tokenizer.ggml.add_bos_token"] is True
    assert [t.name for t in g.tensors] == [t[0] for t in TENSORS]
    # by hand: Q6_K 2,560 elements = 10 blocks x 210; Q4_K 65,536 = 256 x 144; F32 256 x 4; Q8_0 80 x 34
    assert [t.nbytes for t in g.tensors] == [2100, 36864, 1024, 2720]
    assert g.parameters == 2560 + 65536 + 256 + 2560
    assert g.bytes_by_type() == {"Q4_K": 36864, "Q8_0": 2720, "Q6_K": 2100, "F32": 1024}
    assert g.data_offset % 32 == 0 and g.split is None


@pytest.mark.parametrize("kind", sorted(BLOCKS))
def test_every_ggml_type_reads_with_its_block_size(kind):
    block, size = BLOCKS[kind]
    g = read_gguf(write({}, [("t", (block * 4, 3), kind)]))
    assert g.tensors[0].nbytes == 12 * size


def test_block_sizes_agree_with_the_storage_catalog():
    """The types calc/data/dtypes.toml also describes (for the quantization replay) agree."""
    dtypes = catalog.dtypes()
    shared = [k for k in BLOCKS if k.lower() in dtypes]
    assert len(shared) >= 20
    for kind in shared:
        d = dtypes[kind.lower()]
        assert (d.block_elems, d.block_bytes) == BLOCKS[kind], kind


def test_split_files_say_which_part_they_are():
    g = read_gguf(write({"split.no": 1, "split.count": 3, "split.tensors.count": 9}, TENSORS[:1]))
    assert g.split == (1, 3)


def test_version_2_reads_and_version_1_is_refused():
    assert read_gguf(write(META, TENSORS, version=2)).version == 2
    with pytest.raises(CalcError, match="GGUF version 1"):
        read_gguf(write(META, TENSORS, version=1))


def test_a_cut_header_says_how_much_more_to_read():
    """What a caller reading over Range requests does: start small, read what `needed` says."""
    data = write(META, TENSORS)
    have, reads, g = 16, 0, None
    while g is None:
        g, more = _read(data[:have])
        if more is not None:
            assert more.needed > have and more.code == "truncated_gguf"
            have, reads = more.needed, reads + 1
    assert g.tensors and reads <= 8 and have < len(data) + 64


def _read(data: bytes):
    """(the header, None) or (None, the GgufTruncated that says how much more to read)."""
    try:
        return read_gguf(data), None
    except GgufTruncated as exc:
        return None, exc


def _patched(data: bytes, old: bytes, new: bytes) -> bytes:
    assert data.count(old) >= 1
    return data.replace(old, new, 1)


BASE = write(META, TENSORS)
ONE = write({}, [("t", (256, 2), "Q4_K")])
TWO = write({}, [("a", (32, 2), "F32"), ("b", (32, 2), "F32")])  # b at offset 256
Q8_AT = 2112 + 36864 + 1024  # where output.weight starts in BASE: Q6_K 2,100 bytes aligned to 2,112, Q4_K, F32
# (what is wrong, the file, what the error says)
HOSTILE = [
    ("not GGUF", b"GGML" + BASE[4:], "does not start with 'GGUF'"),
    ("absurd tensor count", BASE[:8] + struct.pack("<Q", 10**12) + BASE[16:], "claims 1,000,000,000,000 tensors"),
    ("huge string", _patched(BASE, _str("general.architecture"), struct.pack("<Q", 2**40)), "string of"),
    (
        "unknown tensor type",
        _patched(BASE, struct.pack("<IQ", TYPE_IDS["Q8_0"], Q8_AT), struct.pack("<IQ", 77, Q8_AT)),
        "type 77",
    ),
    ("removed type Q4_2", _patched(BASE, struct.pack("<IQ", TYPE_IDS["Q8_0"], Q8_AT), struct.pack("<IQ", 4, Q8_AT)), "type 4,"),
    ("row not whole blocks", _patched(ONE, struct.pack("<QQ", 256, 2), struct.pack("<QQ", 100, 2)), "blocks of 256"),
    ("five dimensions", _patched(TWO, struct.pack("<IQQ", 2, 32, 2), struct.pack("<IQQ", 5, 32, 2)), "5 dimensions"),
    (
        "overlapping tensors",
        _patched(TWO, _str("b") + struct.pack("<IQQIQ", 2, 32, 2, 0, 256), _str("b") + struct.pack("<IQQIQ", 2, 32, 2, 0, 128)),
        "inside the tensor before",
    ),
]


@pytest.mark.parametrize(("label", "data", "message"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_headers_fail_clearly(label, data, message):
    with pytest.raises(CalcError, match=message) as caught:
        read_gguf(data)
    assert caught.value.code in ("bad_gguf", "truncated_gguf") and caught.value.field == "gguf"
