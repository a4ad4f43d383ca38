"""The .safetensors reader/writer of the report, against files laid out by hand here."""
import json
import struct

import numpy as np
import pytest

from qeq._safetensors import SafetensorsError, load_safetensors, save_safetensors


def write_by_hand(path, entries, body, header_len=None, metadata=None):
    header = dict(entries)
    if metadata is not None:
        header["__metadata__"] = metadata
    text = json.dumps(header).encode()
    size = len(text) if header_len is None else header_len
    path.write_bytes(struct.pack("<Q", size) + text + body)


def test_reads_every_dtype_by_hand(tmp_path):
    f32 = np.array([[1.5, -2.0], [3.25, 1e-30]], dtype="<f4")
    f16 = np.array([0.5, -65504.0, 6e-8], dtype="<f2")
    i8 = np.array([-128, 0, 127], dtype="i1")
    # bfloat16 words of 1.0, -2.5 and 3.0e38 (the upper halves of their float32 patterns)
    bf16_words = np.array([0x3F80, 0xC020, 0x7F61], dtype="<u2")
    chunks = [f32.tobytes(), f16.tobytes(), i8.tobytes(), bf16_words.tobytes()]
    offsets = np.cumsum([0] + [len(c) for c in chunks])
    entries = {
        "w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [int(offsets[0]), int(offsets[1])]},
        "h": {"dtype": "F16", "shape": [3], "data_offsets": [int(offsets[1]), int(offsets[2])]},
        "q": {"dtype": "I8", "shape": [3], "data_offsets": [int(offsets[2]), int(offsets[3])]},
        "b": {"dtype": "BF16", "shape": [3], "data_offsets": [int(offsets[3]), int(offsets[4])]},
    }
    path = tmp_path / "m.safetensors"
    write_by_hand(path, entries, b"".join(chunks), metadata={"format": "pt"})
    got = load_safetensors(path)
    assert sorted(got) == ["b", "h", "q", "w"]
    np.testing.assert_array_equal(got["w"], f32)
    np.testing.assert_array_equal(got["h"], f16)
    np.testing.assert_array_equal(got["q"], i8)
    assert got["b"].dtype == np.float32
    expected_b = (bf16_words.astype(np.uint32) << 16).view(np.float32)
    assert list(got["b"][:2]) == [1.0, -2.5]
    np.testing.assert_array_equal(got["b"], expected_b)


def test_round_trip_and_scalar(tmp_path):
    tensors = {"w": np.arange(24, dtype=np.float32).reshape(2, 3, 4), "n": np.array(7, np.int64)}
    path = tmp_path / "r.safetensors"
    save_safetensors(path, tensors)
    raw = path.read_bytes()
    (n,) = struct.unpack_from("<Q", raw)
    assert (8 + n) % 8 == 0  # data aligned
    got = load_safetensors(path)
    np.testing.assert_array_equal(got["w"], tensors["w"])
    assert got["n"].shape == () and int(got["n"]) == 7


@pytest.mark.parametrize("case, message", [
    ("short", "shorter than the 8-byte header size"),
    ("header too long", "exceeds the file"),
    ("not json", "not JSON"),
    ("not an object", "not a JSON object"),
    ("missing key", "needs dtype, shape and data_offsets"),
    ("offsets outside", "outside the"),
    ("size mismatch", "expected"),
    ("bad dtype", "is not supported"),
    ("bad shape", "is not a list of sizes"),
])
def test_malformed_files_are_refused_with_a_reason(tmp_path, case, message):
    path = tmp_path / "bad.safetensors"
    body = np.zeros(4, np.float32).tobytes()
    ok = {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}
    if case == "short":
        path.write_bytes(b"\x01\x02")
    elif case == "header too long":
        write_by_hand(path, {"w": ok}, body, header_len=1 << 40)
    elif case == "not json":
        path.write_bytes(struct.pack("<Q", 5) + b"{oops" + body)
    elif case == "not an object":
        path.write_bytes(struct.pack("<Q", 2) + b"[]" + body)
    elif case == "missing key":
        write_by_hand(path, {"w": {"dtype": "F32", "shape": [4]}}, body)
    elif case == "offsets outside":
        write_by_hand(path, {"w": dict(ok, data_offsets=[0, 32])}, body)
    elif case == "size mismatch":
        write_by_hand(path, {"w": dict(ok, shape=[3])}, body)
    elif case == "bad dtype":
        write_by_hand(path, {"w": dict(ok, dtype="F8_E4M3")}, body)
    elif case == "bad shape":
        write_by_hand(path, {"w": dict(ok, shape=[-4])}, body)
    with pytest.raises(SafetensorsError, match=message):
        load_safetensors(path)
