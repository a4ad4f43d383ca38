"""A reader for .safetensors weight files, so the report needs no extra package (Debian 12
has none). The format: a little-endian uint64 N, N bytes of JSON mapping each tensor name to
{"dtype", "shape", "data_offsets": [begin, end]} (offsets into the bytes after the header;
an optional "__metadata__" entry holds strings), then the raw little-endian data."""
from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

_DTYPES = {
    "F64": np.dtype("<f8"), "F32": np.dtype("<f4"), "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"), "I32": np.dtype("<i4"), "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"), "U8": np.dtype("u1"), "BOOL": np.dtype("?"),
}
_HEADER_MAX = 100 << 20  # a header is JSON text: anything this large is not one


class SafetensorsError(ValueError):
    """The file is not a well-formed .safetensors file; the message says where."""


def load_safetensors(path: str | Path) -> dict[str, np.ndarray]:
    """{name: array} of every tensor in the file; BF16 tensors become float32 (exactly)."""
    data = Path(path).read_bytes()
    if len(data) < 8:
        raise SafetensorsError(f"{path}: {len(data)} bytes, shorter than the 8-byte header size")
    (header_len,) = struct.unpack_from("<Q", data, 0)
    if header_len > min(_HEADER_MAX, len(data) - 8):
        raise SafetensorsError(f"{path}: header size {header_len} exceeds the file")
    try:
        header = json.loads(data[8:8 + header_len].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise SafetensorsError(f"{path}: the header is not JSON ({e})") from None
    if not isinstance(header, dict):
        raise SafetensorsError(f"{path}: the header is not a JSON object")
    body = memoryview(data)[8 + header_len:]
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        tensors[name] = _tensor(path, name, entry, body)
    return tensors


def _tensor(path, name: str, entry, body: memoryview) -> np.ndarray:
    where = f"{path}: tensor {name!r}"
    try:
        dtype_name, shape, (begin, end) = entry["dtype"], entry["shape"], entry["data_offsets"]
    except (TypeError, KeyError, ValueError):
        raise SafetensorsError(f"{where}: needs dtype, shape and data_offsets [begin, end]") \
            from None
    if not (isinstance(shape, list) and all(isinstance(d, int) and d >= 0 for d in shape)):
        raise SafetensorsError(f"{where}: shape {shape!r} is not a list of sizes")
    if not all(isinstance(o, int) for o in (begin, end)) or not 0 <= begin <= end <= len(body):
        raise SafetensorsError(f"{where}: data_offsets [{begin}, {end}] outside the "
                               f"{len(body)} data bytes")
    bf16 = dtype_name == "BF16"
    dtype = np.dtype("<u2") if bf16 else _DTYPES.get(dtype_name)
    if dtype is None:
        raise SafetensorsError(f"{where}: dtype {dtype_name!r} is not supported")
    count = int(np.prod(shape, dtype=np.int64)) if shape else 1
    if count * dtype.itemsize != end - begin:
        raise SafetensorsError(f"{where}: {end - begin} bytes for shape {shape} of "
                               f"{dtype_name} ({count * dtype.itemsize} expected)")
    array = np.frombuffer(body[begin:end], dtype=dtype).reshape(shape).copy()
    if bf16:  # bfloat16 is the upper half of a float32
        array = (array.astype(np.uint32) << 16).view(np.float32)
    return array


_NAMES = {v: k for k, v in _DTYPES.items()}


def save_safetensors(path: str | Path, tensors: dict[str, np.ndarray]) -> None:
    """Writes {name: array} as a .safetensors file (the layout load_safetensors reads)."""
    header, chunks, offset = {}, [], 0
    for name, array in tensors.items():
        array = np.asarray(array, order="C")  # (ascontiguousarray makes 0-d arrays 1-d)
        dtype = array.dtype.newbyteorder("<") if array.dtype.itemsize > 1 else array.dtype
        if dtype not in _NAMES:
            raise SafetensorsError(f"tensor {name!r}: dtype {array.dtype} has no safetensors name")
        raw = array.astype(dtype, copy=False).tobytes()
        header[name] = {"dtype": _NAMES[dtype], "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # keeps the data 8-byte aligned, as writers usually do
    Path(path).write_bytes(struct.pack("<Q", len(text)) + text + b"".join(chunks))
