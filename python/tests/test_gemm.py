"""qeq.Gemm against PyTorch 1.13's quantized Linear fixtures (tests/golden/gemm.txt, the
ones the C tests read), under every ISA cap; zero copies and errors."""
from pathlib import Path

import numpy as np
import pytest

import qeq

GOLDEN = Path(__file__).resolve().parents[2] / "tests" / "golden" / "gemm.txt"
ENGINES = {0: "onednn", 1: "qnnpack"}


def read_cases():
    cases, case = [], None
    for line in GOLDEN.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        head, *rest = line.split()
        if head == "case":
            case = {"name": rest[0]}
        elif head == "end":
            cases.append(case)
        else:
            values = rest[1:]
            case[head] = [float.fromhex(v) if ("0x" in v or "inf" in v or "nan" in v)
                          else int(v) for v in values]
    return cases


CASES = read_cases()
STATIC = [c for c in CASES if c["kind"][0] == 0]
DYNAMIC = [c for c in CASES if c["kind"][0] == 1]


def make(case):
    n, k = case["n"][0], case["k"][0]
    bias = np.array(case["bias"], np.float32) if case["has_bias"][0] else None
    common = dict(weight=np.array(case["wq"], np.int8).reshape(n, k),
                  weight_scales=np.array(case["w_scale"], np.float32),
                  weight_zero_points=np.array(case["w_zp"], np.int32), bias=bias,
                  engine=ENGINES[case["engine"][0]])
    if case["kind"][0] == 1:
        return qeq.Gemm(**common, output="float", dynamic=True,
                        reduce_range=bool(case["reduce_range"][0]))
    dtype = "qint8" if case["x_dtype"][0] else "quint8"
    return qeq.Gemm(**common, input_dtype=dtype, input_scale=case["x_scale"][0],
                    input_zero_point=case["x_zp"][0], output_dtype=dtype,
                    output_scale=case["y_scale"][0], output_zero_point=case["y_zp"][0],
                    clamp="relu" if case["relu"][0] else "none")


@pytest.fixture(params=[i for i in ("scalar", "avx2", "avx512", "avx512vnni", "avxvnni",
                                    "neon", "neondot") if qeq.isa_detected(i)])
def isa_cap(request):
    qeq.set_isa_cap(request.param)
    yield request.param
    qeq.clear_isa_cap()


def test_fixtures_were_read():
    assert len(STATIC) > 40 and len(DYNAMIC) > 10


def test_static_fixtures_bit_for_bit(isa_cap):
    for case in STATIC:
        gemm = make(case)
        m, k = case["m"][0], case["k"][0]
        x = np.array(case["xq"], np.int8 if case["x_dtype"][0] else np.uint8).reshape(m, k)
        y = gemm.run(x)
        assert y.dtype == x.dtype and y.shape == (m, case["n"][0])
        assert y.reshape(-1).astype(np.int64).tolist() == case["yq"], case["name"]


def test_dynamic_fixtures_bit_for_bit(isa_cap):
    for case in DYNAMIC:
        gemm = make(case)
        m, k = case["m"][0], case["k"][0]
        x = np.array(case["x"], np.float32).reshape(m, k)
        y, scale, zero_point = gemm.run_dynamic(x)
        expect = np.array(case["y"], np.float32).reshape(m, -1)
        assert np.array_equal(y.view(np.int32), expect.view(np.int32)), case["name"]
        assert (np.float32(scale), zero_point) == (np.float32(case["x_scale"][0]),
                                                   case["x_zp"][0]), case["name"]


def test_torch_tensors_in_and_out_and_leading_dims():
    torch = pytest.importorskip("torch", reason="python3-torch is not installed")
    case = STATIC[2]
    gemm = make(case)
    m, k = case["m"][0], case["k"][0]
    x = np.array(case["xq"], np.uint8).reshape(m, k)
    expect = gemm.run(x)
    y = gemm.run(torch.from_numpy(x))
    assert isinstance(y, torch.Tensor) and np.array_equal(y.numpy(), expect)
    out = np.zeros((1, m, case["n"][0]), np.uint8)
    assert gemm.run(x.reshape(1, m, k), out=out) is out  # written where it lies
    assert np.array_equal(out[0], expect)


def test_int32_output_is_the_exact_accumulator():
    rng = np.random.default_rng(3)
    w = rng.integers(-128, 128, (9, 300)).astype(np.int8)
    x = rng.integers(0, 256, (5, 300)).astype(np.uint8)
    gemm = qeq.Gemm(w, [0.01], [3], input_zero_point=7, output="int32")
    acc = (x.astype(np.int64) - 7) @ (w.astype(np.int64) - 3).T
    assert np.array_equal(gemm.run(x), acc.astype(np.int32))
    assert gemm.kernel_name.startswith("qeq_qu8s8_gemm_ukernel")


def test_bad_input_raises_and_writes_nothing():
    w = np.ones((4, 8), np.int8)
    gemm = qeq.Gemm(w, [0.5])
    out = np.full((2, 4), 7, np.uint8)
    with pytest.raises(TypeError):
        gemm.run(np.zeros((2, 8), np.int8), out=out)  # quint8 GEMM, int8 data
    with pytest.raises(ValueError):
        gemm.run(np.zeros((8, 2), np.uint8).T, out=out)  # not contiguous
    with pytest.raises(ValueError):
        gemm.run(np.zeros((2, 7), np.uint8), out=out)  # k mismatch
    with pytest.raises(ValueError):
        gemm.run(np.zeros((2, 8), np.uint8), out=np.zeros((2, 5), np.uint8))
    with pytest.raises(qeq.InvalidArgumentError, match="static"):
        gemm.run_dynamic(np.zeros((2, 8), np.float32), out=np.zeros((2, 4), np.float32))
    assert (out == 7).all()
    with pytest.raises(qeq.InvalidArgumentError, match="scale"):
        qeq.Gemm(w, [-1.0])
    with pytest.raises(ValueError):
        qeq.Gemm(w, [0.5, 0.5])  # neither 1 nor n scales
    with pytest.raises(ValueError):
        qeq.Gemm(w, [0.5], engine="fbgemm")
    with pytest.raises(TypeError):
        qeq.Gemm(w.astype(np.float32), [0.5])
    with pytest.raises(qeq.UnsupportedError):
        qeq.Gemm(w, [0.5], dynamic=True)  # dynamic needs a float output
    dyn = qeq.Gemm(w, [0.5], output="float", dynamic=True)
    with pytest.raises(qeq.NonFiniteError, match="qeq_gemm_run_dynamic"):
        dyn.run_dynamic(np.array([[np.nan] * 8], np.float32))
    with pytest.raises(qeq.InvalidArgumentError, match="dynamic"):
        dyn.run(np.zeros((1, 8), np.uint8))


def test_lowered_isa_cap_refuses_until_packed_again():
    if qeq.best_isa() == "scalar":
        pytest.skip("only the scalar kernel exists on this CPU")
    gemm = qeq.Gemm(np.ones((4, 8), np.int8), [0.5])
    x = np.ones((1, 8), np.uint8)
    try:
        qeq.set_isa_cap("scalar")
        with pytest.raises(qeq.UnsupportedError):
            gemm.run(x)
        assert np.array_equal(qeq.Gemm(np.ones((4, 8), np.int8), [0.5]).run(x),
                              np.full((1, 4), 4, np.uint8))
    finally:
        qeq.clear_isa_cap()


def test_fast_path_counts_and_exactness():
    """docs/numerics.md#the-avx2-fast-path: the AVX2 and AVX-512 (no VNNI) kernels take
    vpmaddubsw only where x_max * pair_bound <= 32767; the int32 output is exact on both
    paths."""
    rng = np.random.default_rng(23)
    w = rng.integers(-128, 128, size=(40, 70), dtype=np.int8)
    w[:, 10:12] = 127  # a pair of 254 in every column: 255 * 254 > 32767
    paths = qeq.kernel_paths()
    assert set(paths) == set(qeq.kernel_variants())
    for x_hi in (128, 256):  # 7-bit inputs (always provable), full range (not here)
        x = rng.integers(0, x_hi, size=(13, 70), dtype=np.uint8)
        x[:, 10:12] = x_hi - 1
        gemm = qeq.Gemm(w, [0.01], output="int32")
        assert gemm.path_tiles() == (0, 0)
        y = gemm.run(x)
        assert np.array_equal(y, x.astype(np.int64) @ w.T.astype(np.int64))
        fast, exact = gemm.path_tiles()
        if gemm.kernel_name.endswith(("__avx2", "__avx512")):  # the kernels with both paths
            assert paths["qu8s8_gemm"].startswith("vpmaddubsw")
            assert (fast > 0 and exact == 0) if x_hi == 128 else (fast == 0 and exact > 0)
        else:
            assert paths["qu8s8_gemm"] == "one path"
            assert (fast, exact) == (0, 0)
