"""qeq.q8_hardswish, q8_hardsigmoid, q8_sigmoid and q8_mul against PyTorch's quantized CPU ops,
under both engines and both dtypes.

An 8-bit activation with per-tensor qparams maps each of the 256 input levels to one output, so
the tests run every level through PyTorch and qeq for many qparams, including power-of-two
scales that put results on exact ties (where QNNPACK's rule, under the qnnpack engine for
quint8, and PyTorch's vectorised rule round apart). Tensors of 256 elements are whole vector
steps of PyTorch's loop (64 or 128 elements), so its vectorised rule applies to every element;
test_activation_tail_rule checks the scalar loop that finishes other sizes in a child process
with PyTorch's vector width pinned (ATEN_CPU_CAPABILITY=avx2) and one thread. Sigmoid's tail
test needs no pin: its tensors hold 128 * m + t elements with t < 64, so the last t elements are
the tail under both AVX2 (64-element steps) and AVX-512 (128)."""
import ctypes
import ctypes.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import qeq
from qeq._lib import lib

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.live_pytorch

f32 = np.float32
ENGINES = ("onednn", "qnnpack")
DTYPES = {np.uint8: torch.quint8, np.int8: torch.qint8}


@pytest.fixture(autouse=True)
def one_thread():
    old, threads = torch.backends.quantized.engine, torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.backends.quantized.engine = old
    torch.set_num_threads(threads)


def quantized(x_nhwc, scale, zero_point):
    """PyTorch's channels-last quantized tensor holding x_nhwc's integers."""
    t = torch.from_numpy(x_nhwc).permute(0, 3, 1, 2)
    return torch._make_per_tensor_quantized_tensor(t.contiguous(), scale, zero_point).contiguous(
        memory_format=torch.channels_last)


def nhwc(t):
    return t.int_repr().permute(0, 2, 3, 1).contiguous().numpy()


def every_level(dtype):
    info = np.iinfo(dtype)
    return np.arange(info.min, info.max + 1).astype(dtype).reshape(1, 4, 4, 16)


def qparams_cases(rng, dtype, count):
    """Random scales and zero points, half of them power-of-two fractions (exact ties)."""
    info = np.iinfo(dtype)
    for i in range(count):
        zx, zy = (int(v) for v in rng.integers(info.min, info.max + 1, 2))
        if i % 2:
            sx = float(f32(rng.integers(1, 64) / 2.0 ** rng.integers(3, 9)))
            sy = float(f32(sx * rng.choice([1, 2, 0.5, 3, 1 / 3, 1 / 6, 6, 0.25])))
        else:
            sx, sy = (float(f32(np.exp(rng.uniform(-7, 0)))) for _ in range(2))
        yield sx, zx, sy, zy


def rules(levels, s, z, sy, zy, qmin, sigmoid):
    """PyTorch's three rules for every level: (vectorised ATen, scalar ATen, QNNPACK's)."""
    def activation(x):
        t = np.minimum(np.maximum((x + f32(3)).astype(f32), f32(0)), f32(6))
        return (t / f32(6)).astype(f32) if sigmoid else ((x * t).astype(f32) / f32(6)).astype(f32)

    def quantize(v):
        return np.clip(np.rint((v * (f32(1) / f32(sy))).astype(f32)) + zy, qmin, qmin + 255)
    q = levels.astype(np.int64)
    fused = (q.astype(np.float64) * np.float64(f32(s)) +
             np.float64(f32(f32(s) * f32(-z)))).astype(f32)  # exact product, one rounding
    plain = (f32(s) * (q - z).astype(f32)).astype(f32)
    table = ((f32(1) / f32(sy)) * activation(plain)).astype(f32) + f32(zy)
    return (quantize(activation(fused)), quantize(activation(plain)),
            np.rint(np.clip(table.astype(f32), 0, 255)))


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("dtype", [np.uint8, np.int8], ids=["quint8", "qint8"])
@pytest.mark.parametrize("op", ["hardswish", "hardsigmoid"])
def test_activation_every_level(op, dtype, engine):
    torch.backends.quantized.engine = engine
    rng = np.random.default_rng(11 + (op == "hardsigmoid") + 2 * (dtype == np.int8))
    x = every_level(dtype)
    for sx, zx, sy, zy in qparams_cases(rng, dtype, 60):
        tx = quantized(x, sx, zx)
        if op == "hardswish":
            want = nhwc(torch.ops.quantized.hardswish(tx, sy, zy))
            got = qeq.q8_hardswish(x, (sx, zx), (sy, zy), engine=engine)
        else:
            ty = torch.nn.functional.hardsigmoid(tx)
            assert (ty.q_scale(), ty.q_zero_point()) == qeq.qops.hardsigmoid_qparams(dtype)
            want = nhwc(ty)
            got = qeq.q8_hardsigmoid(x, (sx, zx), engine=engine)
        assert np.array_equal(got, want), (sx, zx, sy, zy, np.nonzero(got != want))


@pytest.mark.parametrize("op", ["hardswish", "hardsigmoid"])
def test_qnnpack_table_rule_differs_at_ties(op):
    """Under qnnpack, quint8 takes QNNPACK's table, which adds the zero point before rounding:
    on ties it can round to the other integer than the onednn rule, and qeq follows each."""
    x = every_level(np.uint8)
    sx, zx, sy, zy = (0.515625, 73, 0.12890625, 13) if op == "hardswish" else (0.5, 171, 0, 0)
    outs = {}
    for engine in ENGINES:
        torch.backends.quantized.engine = engine
        tx = quantized(x, sx, zx)
        if op == "hardswish":
            want = nhwc(torch.ops.quantized.hardswish(tx, sy, zy))
            got = qeq.q8_hardswish(x, (sx, zx), (sy, zy), engine=engine)
        else:
            want = nhwc(torch.nn.functional.hardsigmoid(tx))
            got = qeq.q8_hardsigmoid(x, (sx, zx), engine=engine)
        assert np.array_equal(got, want), engine
        outs[engine] = got
    if op == "hardswish":  # hardsigmoid's zero point 0 leaves the ties to agree here
        assert not np.array_equal(outs["onednn"], outs["qnnpack"])


TAIL_CHILD = r"""
import json, sys
import numpy as np, torch
torch.set_num_threads(1)
torch.backends.quantized.engine = "onednn"
case = json.load(open(sys.argv[1]))
npd = np.int8 if case["signed"] else np.uint8
x = torch._make_per_tensor_quantized_tensor(torch.from_numpy(np.array(case["x"], npd)),
                                            case["s"], case["z"])
if case["op"] == "hardswish":
    y = torch.ops.quantized.hardswish(x, case["sy"], case["zy"])
else:
    y = torch.nn.functional.hardsigmoid(x)
print(json.dumps(y.int_repr().to(torch.int32).tolist()))
"""

# qparams on which PyTorch's vectorised and scalar rules give different outputs for one level
# (found by a search over random scales): op, signed, s, z, sy, zy, level.
TAIL_CASES = [
    ("hardswish", False, 0.08921932429075241, 77, 0.0026533626951277256, 249, 69),
    ("hardsigmoid", False, 0.01177978701889515, 29, 1 / 256, 0, 221),
]


@pytest.mark.skipif(not lib.qeq_isa_detected(1), reason="PyTorch's vector width is pinned to "
                    "AVX2's (ATEN_CPU_CAPABILITY=avx2), which this CPU lacks")
@pytest.mark.parametrize("case", TAIL_CASES, ids=[c[0] for c in TAIL_CASES])
def test_activation_tail_rule(tmp_path, case):
    """PyTorch finishes the last n % 64 elements (AVX2) with s * (q - z) instead of the fused
    dequantization; qeq applies the vectorised rule everywhere, as for add."""
    op, signed, s, z, sy, zy, level = case
    dtype = np.int8 if signed else np.uint8
    qmin = -128 if signed else 0
    levels = np.arange(qmin, qmin + 256)
    vec, sca, _ = rules(levels, s, z, sy, zy, qmin, op == "hardsigmoid")
    assert vec[level - qmin] != sca[level - qmin], "the case does not separate the rules"
    n = 3 * 64 + 37
    rng = np.random.default_rng(5)
    x = rng.integers(qmin, qmin + 256, n).astype(dtype)
    x[[0, 191, 192, n - 1]] = level
    want_vec, want_sca = vec[x.astype(np.int64) - qmin], sca[x.astype(np.int64) - qmin]
    x4 = x.reshape(1, 1, n, 1)
    if op == "hardswish":
        got = qeq.q8_hardswish(x4, (s, z), (sy, zy)).reshape(-1)
    else:
        got = qeq.q8_hardsigmoid(x4, (s, z)).reshape(-1)
    assert np.array_equal(got, want_vec)
    path = tmp_path / "case.json"
    path.write_text(json.dumps({"op": op, "signed": signed, "x": x.tolist(), "s": s, "z": z,
                                "sy": sy, "zy": zy}))
    env = dict(os.environ, ATEN_CPU_CAPABILITY="avx2", OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", TAIL_CHILD, str(path)], env=env, check=True,
                         capture_output=True, text=True).stdout
    torch_y = np.array(json.loads(out))
    assert np.array_equal(torch_y[:192], want_vec[:192])
    assert np.array_equal(torch_y[192:], want_sca[192:])


def torch_vector_isa():
    """PyTorch's vectorised kernels use the exp qeq reproduces (Sleef's) on its AVX2 and AVX-512
    builds; elsewhere (NEON, no AVX2) its vector body computes e^x another way."""
    show = torch.__config__.show()
    return any(f"CPU capability usage: {isa}" in show for isa in ("AVX2", "AVX512"))


def sigmoid_runs_aten(engine, dtype):
    return not (engine == "qnnpack" and dtype == np.uint8)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("dtype", [np.uint8, np.int8], ids=["quint8", "qint8"])
def test_sigmoid_every_level(dtype, engine):
    """Every level (256 elements: whole vector steps) for random and power-of-two scales."""
    if sigmoid_runs_aten(engine, dtype) and not torch_vector_isa():
        pytest.skip("PyTorch's vectorised exp here is not the AVX2 / AVX-512 one qeq follows")
    torch.backends.quantized.engine = engine
    rng = np.random.default_rng(31 + 2 * (dtype == np.int8) + (engine == "qnnpack"))
    x = every_level(dtype)
    info = np.iinfo(dtype)
    for i in range(300):
        if i % 3 == 0:
            sx = float(f32(rng.integers(1, 64) / 2.0 ** rng.integers(3, 9)))
        else:
            sx = float(f32(np.exp(rng.uniform(np.log(1e-4), np.log(4.0)))))
        zx = int(rng.integers(info.min, info.max + 1))
        ty = torch.sigmoid(quantized(x, sx, zx))
        assert (ty.q_scale(), ty.q_zero_point()) == qeq.qops.hardsigmoid_qparams(dtype)
        want = nhwc(ty)
        got = qeq.q8_sigmoid(x, (sx, zx), engine=engine)
        assert np.array_equal(got, want), (sx, zx, np.nonzero(got != want))


def sigmoid_tail_rule(levels, s, z, zy, qmin):
    """PyTorch's scalar loop: x = s * (q - z), the C library's expf (the one PyTorch calls in
    this process), 1 / (1 + e) in double, rounded to float, then quantized at 1/256."""
    libm = ctypes.CDLL(ctypes.util.find_library("m"))
    libm.expf.restype, libm.expf.argtypes = ctypes.c_float, [ctypes.c_float]
    x = (f32(s) * (levels.astype(np.int64) - z).astype(f32)).astype(f32)
    e = np.array([libm.expf(float(-v)) for v in x], np.float64)
    y = (1.0 / (1.0 + e)).astype(f32)
    return np.clip(np.rint((y * f32(256)).astype(f32)) + zy, qmin, qmin + 255)


# qparams where PyTorch's scalar loop and its vector body give different outputs for one level
# (found by a search over random scales): signed, s, z, level.
SIGMOID_TAIL_CASES = [
    (False, 0.0012602627975866199, 136, 18),
    (False, 0.017696039751172066, 23, 207),
    (True, 0.011235421523451805, 40, 103),
    (True, 0.4201345145702362, -79, -78),
]


@pytest.mark.skipif(not torch_vector_isa(), reason="PyTorch's vector body here is not the "
                    "AVX2 / AVX-512 one qeq follows")
@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("case", SIGMOID_TAIL_CASES, ids=["u8a", "u8b", "s8a", "s8b"])
def test_sigmoid_tail_rule(case, engine):
    """The last n % 64 elements (AVX2) or n % 128 (AVX-512) take PyTorch's scalar loop; with
    n = 2 * 128 + 37 that is the last 37 under both widths. qeq applies the vector body's rule
    everywhere: it equals PyTorch before the tail, and PyTorch's tail equals the scalar rule."""
    signed, s, z, level = case
    dtype = np.int8 if signed else np.uint8
    qmin = -128 if signed else 0
    zy = qeq.qops.hardsigmoid_qparams(dtype)[1]
    torch.backends.quantized.engine = engine
    levels = np.arange(qmin, qmin + 256)
    body = qeq.q8_sigmoid(levels.astype(dtype).reshape(1, 1, 1, 256), (s, z),
                          engine=engine).reshape(-1)
    tail = sigmoid_tail_rule(levels, s, z, zy, qmin)
    if sigmoid_runs_aten(engine, dtype):
        assert body[level - qmin] != tail[level - qmin], "the case does not separate the rules"
    n = 2 * 128 + 37
    x = np.random.default_rng(6).integers(qmin, qmin + 256, n).astype(dtype)
    x[[0, 255, 256, n - 1]] = level
    got = qeq.q8_sigmoid(x.reshape(1, 1, n, 1), (s, z), engine=engine).reshape(-1)
    assert np.array_equal(got, body[x.astype(np.int64) - qmin])
    ty = nhwc(torch.sigmoid(quantized(x.reshape(1, 1, n, 1), s, z))).reshape(-1)
    if not sigmoid_runs_aten(engine, dtype):  # QNNPACK's table: one rule, no tail
        assert np.array_equal(ty, got)
        return
    assert np.array_equal(ty[:256], got[:256])
    assert np.array_equal(ty[256:], tail[x[256:].astype(np.int64) - qmin])


def test_sigmoid_engines_differ_on_quint8():
    """QNNPACK's table (quint8 under qnnpack) and the vectorised kernel disagree on a level
    where the dequantization's rounding matters; qeq follows each engine."""
    x = every_level(np.uint8)
    sx, zx = float.fromhex("0x1.1c71d00000000p-5"), 147
    outs = {}
    for engine in ENGINES:
        torch.backends.quantized.engine = engine
        want = nhwc(torch.sigmoid(quantized(x, sx, zx)))
        outs[engine] = qeq.q8_sigmoid(x, (sx, zx), engine=engine)
        if engine == "qnnpack" or torch_vector_isa():
            assert np.array_equal(outs[engine], want), engine
    assert not np.array_equal(outs["onednn"], outs["qnnpack"])


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("dtype", [np.uint8, np.int8], ids=["quint8", "qint8"])
@pytest.mark.parametrize("relu", [False, True], ids=["mul", "mul_relu"])
def test_mul_broadcast(dtype, engine, relu):
    torch.backends.quantized.engine = engine
    rng = np.random.default_rng(21 + relu + 2 * (dtype == np.int8))
    info = np.iinfo(dtype)
    op = torch.ops.quantized.mul_relu if relu else torch.ops.quantized.mul
    shapes = [((2, 1, 1, 24), (2, 5, 3, 24)),  # squeeze-excite: a scale per (n, c)
              ((2, 5, 3, 24), (2, 1, 1, 24)),
              ((1, 4, 4, 70), (1, 4, 4, 70)),
              ((3, 2, 5, 1), (3, 2, 5, 9)),
              ((1, 1, 1, 1), (2, 3, 3, 5))]
    for i, (sa_shape, sb_shape) in enumerate(shapes * 4):
        a = rng.integers(info.min, info.max + 1, sa_shape).astype(dtype)
        b = rng.integers(info.min, info.max + 1, sb_shape).astype(dtype)
        sa, sb = (float(f32(np.exp(rng.uniform(-7, 0)))) for _ in range(2))
        if i % 2:  # a power of two: products land on exact ties
            sy = float(f32(sa * sb * 2.0 ** -int(rng.integers(0, 4))))
        else:
            sy = float(f32(sa * sb * np.exp(rng.uniform(-1, 5))))
        za, zb, zy = (int(v) for v in rng.integers(info.min, info.max + 1, 3))
        want = nhwc(op(quantized(a, sa, za), quantized(b, sb, zb), sy, zy))
        got = qeq.q8_mul(a, (sa, za), b, (sb, zb), (sy, zy), relu=relu)
        assert np.array_equal(got, want), (sa_shape, sb_shape, np.nonzero(got != want))


def test_in_place_and_torch_tensors():
    x = every_level(np.uint8)
    want = qeq.q8_hardswish(x, (0.05, 128), (0.03, 100))
    y = x.copy()
    assert qeq.q8_hardswish(y, (0.05, 128), (0.03, 100), out=y) is y
    assert np.array_equal(y, want)
    y = x.copy()
    want = qeq.q8_sigmoid(x, (0.05, 128), engine="qnnpack")
    assert qeq.q8_sigmoid(y, (0.05, 128), engine="qnnpack", out=y) is y
    assert np.array_equal(y, want)
    t = torch.from_numpy(x.copy())
    assert torch.equal(qeq.q8_sigmoid(t, (0.05, 128)),
                       torch.from_numpy(qeq.q8_sigmoid(x, (0.05, 128))))
    assert torch.equal(qeq.q8_hardsigmoid(t, (0.05, 128)),
                       torch.from_numpy(qeq.q8_hardsigmoid(x, (0.05, 128))))
    b = x.copy()
    want = qeq.q8_mul(x[:, :1, :1], (0.1, 3), x, (0.2, 5), (0.2, 5))
    assert qeq.q8_mul(x[:, :1, :1].copy(), (0.1, 3), b, (0.2, 5), (0.2, 5), out=b) is b
    assert np.array_equal(b, want)


def test_argument_checks():
    x = every_level(np.uint8)
    with pytest.raises(ValueError, match="engine"):
        qeq.q8_hardswish(x, (0.05, 128), (0.03, 100), engine="fbgemm")
    with pytest.raises(ValueError, match="broadcast"):
        qeq.q8_mul(x, (0.1, 0), x[:, :3], (0.1, 0), (0.1, 0))
    with pytest.raises(TypeError, match="b: expected a uint8"):
        qeq.q8_mul(x, (0.1, 0), x.view(np.int8), (0.1, 0), (0.1, 0))
    with pytest.raises(OverflowError):
        qeq.q8_hardsigmoid(x, (0.05, 2 ** 40))
    with pytest.raises(qeq.InvalidArgumentError, match="scale"):
        qeq.q8_hardswish(x, (0.05, 128), (-1.0, 100))
    with pytest.raises(TypeError, match="out: expected a uint8"):
        qeq.q8_hardsigmoid(x, (0.05, 128), out=x.view(np.int8).copy())
    with pytest.raises(ValueError, match="q8_sigmoid: engine"):
        qeq.q8_sigmoid(x, (0.05, 128), engine="x86")
    with pytest.raises(OverflowError):
        qeq.q8_sigmoid(x, (0.05, -2 ** 40))
    with pytest.raises(qeq.InvalidArgumentError, match="qeq_q8_sigmoid.*scale"):
        qeq.q8_sigmoid(x, (float("inf"), 128))
