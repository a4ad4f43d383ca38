"""The ctypes mirrors of C structs against the library's own layout (include/qeq/abi.h).

Every ctypes.Structure in the qeq package names the C struct it mirrors (_c_struct_); its
sizeof, its fields (names, order, offsets, sizes) must be the library's. The library's tables
(src/base/abi.c) are checked in turn against the public headers: every struct declared there is
covered, with every field. Then the query functions' errors."""
import ctypes
import importlib
import inspect
import pkgutil
import re
from ctypes import POINTER, byref, c_char_p, c_int, c_size_t
from pathlib import Path

import pytest

import qeq
from qeq._lib import lib

INCLUDE = Path(__file__).resolve().parents[2] / "include" / "qeq"
INVALID_ARGUMENT = 1

_layout = lib.qeq_abi_struct_layout
_layout.restype, _layout.argtypes = c_int, [c_char_p, POINTER(c_size_t), POINTER(c_size_t)]
_field_name = lib.qeq_abi_field_name
_field_name.restype = c_int
_field_name.argtypes = [c_char_p, c_size_t, POINTER(c_char_p)]
_field_layout = lib.qeq_abi_field_layout
_field_layout.restype = c_int
_field_layout.argtypes = [c_char_p, c_char_p, POINTER(c_size_t), POINTER(c_size_t)]


def last_error() -> str:
    return lib.qeq_last_error().decode()


def c_layout(struct: str) -> tuple[int, list[tuple[str, int, int]]]:
    """sizeof(struct) and its fields as (name, offset, size), in declaration order."""
    size, count = c_size_t(), c_size_t()
    assert _layout(struct.encode(), byref(size), byref(count)) == 0, last_error()
    fields = []
    for i in range(count.value):
        name, offset, field_size = c_char_p(), c_size_t(), c_size_t()
        assert _field_name(struct.encode(), i, byref(name)) == 0, last_error()
        assert _field_layout(struct.encode(), name.value, byref(offset),
                             byref(field_size)) == 0, last_error()
        fields.append((name.value.decode(), offset.value, field_size.value))
    return size.value, fields


def qeq_modules():
    """Every module of the qeq package (qeq.torch's only with PyTorch installed)."""
    names = ["qeq"] + [m.name for m in pkgutil.walk_packages(qeq.__path__, "qeq.")]
    for name in names:
        if name == "qeq.__main__":
            continue
        if name.startswith("qeq.torch"):
            try:
                import torch  # noqa: F401
            except ImportError:
                continue
        yield importlib.import_module(name)


def mirrors() -> list[type]:
    found = {}
    for module in qeq_modules():
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, (ctypes.Structure, ctypes.Union)) and \
                    cls.__module__ == module.__name__:
                found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return [found[k] for k in sorted(found)]


MIRRORS = mirrors()


def test_the_mirrors_are_found():
    names = {cls.__name__ for cls in MIRRORS}
    assert {"Shape", "Layer", "BatchNorm", "EqualizeReport", "ObserverConfig",
            "InputEqualizationOptions", "GemmConfig"} <= names


@pytest.mark.parametrize("mirror", MIRRORS, ids=lambda cls: cls.__name__)
def test_mirror_matches_the_library(mirror):
    where = f"{mirror.__module__}.{mirror.__qualname__}"
    struct = getattr(mirror, "_c_struct_", None)
    assert isinstance(struct, str), f"{where} names no C struct (_c_struct_ = \"qeq_...\")"
    size, c_fields = c_layout(struct)
    ours = [name for name, *_ in mirror._fields_]
    theirs = [name for name, _, _ in c_fields]
    missing = [n for n in theirs if n not in ours]
    extra = [n for n in ours if n not in theirs]
    assert not missing, f"{where} lacks {struct}'s fields {missing}"
    assert not extra, f"{where} has fields {extra} that {struct} does not"
    assert ours == theirs, f"{where} orders the fields {ours}, {struct} {theirs}"
    for name, offset, field_size in c_fields:
        field = getattr(mirror, name)
        assert (field.offset, field.size) == (offset, field_size), (
            f"{where}.{name}: offset {field.offset}, size {field.size}; "
            f"{struct}.{name}: offset {offset}, size {field_size}")
    assert ctypes.sizeof(mirror) == size, \
        f"sizeof {where} is {ctypes.sizeof(mirror)}, sizeof({struct}) {size}"


# ---- the library's tables against the headers --------------------------------------------

def header_structs() -> dict[str, list[str]]:
    """typedef struct NAME { ... } NAME; in include/qeq/*.h -> the field names, in order."""
    structs = {}
    for header in sorted(INCLUDE.glob("*.h")):
        text = re.sub(r"/\*.*?\*/|//[^\n]*", " ", header.read_text(), flags=re.S)
        for tag, body, name in re.findall(r"typedef\s+struct\s+(\w+)\s*\{([^{}]*)\}\s*(\w+)\s*;",
                                          text):
            assert tag == name, f"{header.name}: struct {tag} typedef'd as {name}"
            fields = []
            for decl in filter(None, (d.strip() for d in body.split(";"))):
                decl = re.sub(r"\[[^\]]*\]", "", decl)  # arrays: the name is what counts
                pointer_to_function = re.search(r"\(\s*\*\s*(\w+)\s*\)", decl)
                if pointer_to_function:
                    fields.append(pointer_to_function.group(1))
                    continue
                first, *more = decl.split(",")  # size_t n, h, w, c
                fields.append(re.findall(r"\w+", first)[-1])
                fields += [re.findall(r"\w+", d)[-1] for d in more]
            structs[name] = fields
    return structs


@pytest.mark.skipif(not INCLUDE.is_dir(), reason="no include/qeq beside the tests")
def test_the_library_covers_every_public_struct_and_field():
    structs = header_structs()
    assert len(structs) >= 10, f"the header parse found only {sorted(structs)}"
    for struct, fields in structs.items():
        size, count = c_size_t(), c_size_t()
        assert _layout(struct.encode(), byref(size), byref(count)) == 0, \
            f"src/base/abi.c has no table for {struct}: {last_error()}"
        _, c_fields = c_layout(struct)
        assert [n for n, _, _ in c_fields] == fields, \
            f"src/base/abi.c's {struct} fields differ from the header's {fields}"
        # The fields tile the struct: in order, not overlapping, nothing past the end.
        end = 0
        for name, offset, field_size in c_fields:
            assert offset >= end, f"{struct}.{name} overlaps the field before it"
            end = offset + field_size
        assert end <= size.value


def test_every_mirror_names_a_struct_of_the_headers():
    if not INCLUDE.is_dir():
        pytest.skip("no include/qeq beside the tests")
    structs = header_structs()
    for mirror in MIRRORS:
        assert getattr(mirror, "_c_struct_", None) in structs, mirror


# ---- errors ---------------------------------------------------------------------------------

SENTINEL = 0xDEAD


def sentinels(n):
    return [c_size_t(SENTINEL) for _ in range(n)]


def assert_invalid(status, *words):
    assert status == INVALID_ARGUMENT
    message = last_error()
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"


@pytest.mark.parametrize("name", [b"qeq_nothing", b"", b"shape", b"qeq_shape ", b"QEQ_SHAPE",
                                  b"qeq_gemm"])
def test_unknown_struct_names_are_refused(name):
    size, count = sentinels(2)
    assert_invalid(_layout(name, byref(size), byref(count)), "qeq_abi_struct_layout",
                   "struct_name", name.decode())
    assert (size.value, count.value) == (SENTINEL, SENTINEL)
    offset, field_size = sentinels(2)
    assert_invalid(_field_layout(name, b"ndim", byref(offset), byref(field_size)),
                   "qeq_abi_field_layout", "struct_name")
    assert (offset.value, field_size.value) == (SENTINEL, SENTINEL)
    field = c_char_p(b"untouched")
    assert_invalid(_field_name(name, 0, byref(field)), "qeq_abi_field_name", "struct_name")
    assert field.value == b"untouched"


def test_unknown_field_names_and_indexes_are_refused():
    offset, field_size = sentinels(2)
    for name in (b"nothing", b"", b"NDIM", b"dims[0]"):
        assert_invalid(_field_layout(b"qeq_shape", name, byref(offset), byref(field_size)),
                       "qeq_abi_field_layout", "field_name", "qeq_shape")
    assert (offset.value, field_size.value) == (SENTINEL, SENTINEL)
    field = c_char_p(b"untouched")
    for index in (2, 3, 2**64 - 1):
        assert_invalid(_field_name(b"qeq_shape", index, byref(field)), "qeq_abi_field_name",
                       "index", str(index))
    assert field.value == b"untouched"


def test_names_are_echoed_safely():
    long_name = b"qeq_" + b"x" * 300
    size, count = sentinels(2)
    assert_invalid(_layout(long_name, byref(size), byref(count)), "struct_name", "...")
    assert len(last_error()) < 256
    assert_invalid(_layout(b"qeq\n\xff\"shape", byref(size), byref(count)),
                   "qeq\\x0a\\xff\\x22shape")


def test_null_pointers_are_refused():
    size, count, offset = sentinels(3)
    assert_invalid(_layout(None, byref(size), byref(count)), "qeq_abi_struct_layout",
                   "struct_name is NULL")
    assert_invalid(_layout(b"qeq_shape", None, byref(count)), "size is NULL")
    assert_invalid(_layout(b"qeq_shape", byref(size), None), "field_count is NULL")
    assert (size.value, count.value) == (SENTINEL, SENTINEL)
    assert_invalid(_field_name(None, 0, byref(c_char_p())), "qeq_abi_field_name",
                   "struct_name is NULL")
    assert_invalid(_field_name(b"qeq_shape", 0, None), "field_name is NULL")
    assert_invalid(_field_layout(None, b"ndim", byref(offset), byref(size)),
                   "qeq_abi_field_layout", "struct_name is NULL")
    assert_invalid(_field_layout(b"qeq_shape", None, byref(offset), byref(size)),
                   "field_name is NULL")
    assert_invalid(_field_layout(b"qeq_shape", b"ndim", None, byref(size)), "offset is NULL")
    assert_invalid(_field_layout(b"qeq_shape", b"ndim", byref(offset), None), "size is NULL")
    assert (offset.value, size.value) == (SENTINEL, SENTINEL)
