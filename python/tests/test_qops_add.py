"""qeq's quantized add against PyTorch's, on elements where PyTorch's own two rules disagree.

PyTorch's CPU add (onednn and the default path) dequantizes each input as
fma(q, s, f32(s * -z)) in its vectorised loop and as s * (q - z) in the scalar loop that
finishes the last n % 64 elements (AVX2 vectors: two of 32 bytes per step). qeq applies the
vectorised rule to every element (docs/numerics.md#quantized-operations). The tests build
tensors that place input pairs on which the two rules round differently both in PyTorch's
vector body and in its tail, run PyTorch with its vector width pinned (ATEN_CPU_CAPABILITY=avx2)
and one thread in a child process, and check: qeq equals the vectorised rule everywhere,
PyTorch equals it in the body and the scalar rule in the tail. Channels-last cat likewise,
where the scalar loop takes each pixel's last C % 32 channels."""
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

STEP = 64  # elements per step of PyTorch's vectorised loop under ATEN_CPU_CAPABILITY=avx2
f32 = np.float32


def vector_rule(q, s, z):
    """fma(q, s, f32(s * -z)): q * s and the sum are exact in float64, rounded once."""
    offset = f32(f32(s) * f32(-z))
    return (q.astype(np.float64) * np.float64(f32(s)) + np.float64(offset)).astype(f32)


def scalar_rule(q, s, z):
    return f32(s) * (q.astype(np.int32) - z).astype(f32)


def requantize(v, s, z, qmin, relu):
    if relu:
        v = np.maximum(v, f32(0))
    inv = f32(1) / f32(s)
    return np.clip(np.rint(v * inv) + z, qmin, qmin + 255).astype(np.int32)


def differing_pairs(rng, qmin):
    """Random qparams and every (qa, qb) pair on which the two rules requantize differently.
    Equal input scales and an output scale twice theirs put many sums on exact ties of the
    scalar rule, which the fused rule's different rounding moves off."""
    levels = np.arange(qmin, qmin + 256)
    qa, qb = np.meshgrid(levels, levels, indexing="ij")
    for _ in range(50):
        s = f32(np.exp(rng.uniform(-7, -1)))
        za, zb, zy = (int(z) for z in rng.integers(qmin, qmin + 256, 3))
        qp = [float(s), za, float(s), zb, float(f32(2 * s)), zy]
        sa, za, sb, zb, sy, zy = qp
        vec = requantize(vector_rule(qa, sa, za) + vector_rule(qb, sb, zb), sy, zy, qmin, False)
        sca = requantize(scalar_rule(qa, sa, za) + scalar_rule(qb, sb, zb), sy, zy, qmin, False)
        where = np.nonzero(vec != sca)
        if len(where[0]) >= 2:
            return qp, np.stack([qa[where], qb[where]], axis=1)
    pytest.fail("no qparams found on which PyTorch's two rules differ")


CHILD = r"""
import json, sys
import numpy as np, torch
torch.set_num_threads(1)
torch.backends.quantized.engine = "onednn"
case = json.load(open(sys.argv[1]))
dtype = torch.qint8 if case["signed"] else torch.quint8
npd = np.int8 if case["signed"] else np.uint8
sa, za, sb, zb, sy, zy = case["qparams"]
a = torch._make_per_tensor_quantized_tensor(torch.from_numpy(np.array(case["a"], npd)), sa, za)
b = torch._make_per_tensor_quantized_tensor(torch.from_numpy(np.array(case["b"], npd)), sb, zb)
op = torch.ops.quantized.add_relu if case["relu"] else torch.ops.quantized.add
print(json.dumps(op(a, b, sy, zy).int_repr().to(torch.int32).tolist()))
"""


def pytorch_add(tmp_path, a, b, qparams, signed, relu):
    path = tmp_path / "case.json"
    path.write_text(json.dumps({"a": a.tolist(), "b": b.tolist(), "qparams": qparams,
                                "signed": signed, "relu": relu}))
    env = dict(os.environ, ATEN_CPU_CAPABILITY="avx2", OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", CHILD, str(path)], env=env, check=True,
                         capture_output=True, text=True).stdout
    return np.array(json.loads(out), np.int32)


def qeq_add(a, b, qparams, signed, relu):
    sa, za, sb, zb, sy, zy = qparams
    shape = (1, 1, len(a), 1)
    y = qeq.q8_add(a.reshape(shape), (sa, za), b.reshape(shape), (sb, zb), (sy, zy), relu=relu)
    return y.reshape(-1).astype(np.int32)


@pytest.mark.skipif(not lib.qeq_isa_detected(1), reason="PyTorch's vector width is pinned to "
                    "AVX2's (ATEN_CPU_CAPABILITY=avx2), which this CPU lacks")
@pytest.mark.parametrize("signed", [False, True], ids=["quint8", "qint8"])
@pytest.mark.parametrize("relu", [False, True], ids=["add", "add_relu"])
def test_add_follows_the_vectorised_rule(tmp_path, signed, relu):
    rng = np.random.default_rng(20261207 + 2 * signed + relu)
    qmin = -128 if signed else 0
    qparams, pairs = differing_pairs(rng, qmin)
    n = 3 * STEP + 37  # a body of three steps and a tail of 37
    body_end = n - n % STEP
    npd = np.int8 if signed else np.uint8
    a = rng.integers(qmin, qmin + 256, n).astype(npd)
    b = rng.integers(qmin, qmin + 256, n).astype(npd)
    # Differing pairs at the body's first and last elements and at both ends of the tail.
    for at, pair in zip((0, body_end - 1, body_end, n - 1, 70), pairs[np.arange(5) % len(pairs)]):
        a[at], b[at] = pair
    sa, za, sb, zb, sy, zy = qparams
    vec = requantize(vector_rule(a, sa, za) + vector_rule(b, sb, zb), sy, zy, qmin, relu)
    sca = requantize(scalar_rule(a, sa, za) + scalar_rule(b, sb, zb), sy, zy, qmin, relu)
    assert (vec != sca).any(), "the case does not separate the two rules"

    got = qeq_add(a, b, qparams, signed, relu)
    assert np.array_equal(got, vec), f"qeq left the vectorised rule at {np.nonzero(got != vec)[0]}"

    torch_out = pytorch_add(tmp_path, a, b, qparams, signed, relu)
    body, tail = slice(0, body_end), slice(body_end, n)
    assert np.array_equal(torch_out[body], vec[body]), "PyTorch's vector body left the fma rule"
    assert np.array_equal(torch_out[tail], sca[tail]), "PyTorch's tail left the scalar rule"
    assert np.array_equal(torch_out[body], got[body])


def test_issue_reproducer():
    """a = 105 (0.0449..., 232) + b = 94 (0.00536..., 204) -> (0.0345..., 234): PyTorch's vector
    body gives 51, the scalar formula 52; qeq gives 51 at every position, tail included."""
    qparams = [0.04494616761803627, 232, 0.005366317927837372, 204, 0.034512098878622055, 234]
    for n in (1, 65):
        got = qeq_add(np.full(n, 105, np.uint8), np.full(n, 94, np.uint8), qparams, False, False)
        assert (got == 51).all(), got


CAT_CHILD = r"""
import json, sys
import numpy as np, torch
torch.set_num_threads(1)
torch.backends.quantized.engine = "onednn"
case = json.load(open(sys.argv[1]))
xs = []
for values, (s, z) in zip(case["inputs"], case["qparams"]):
    nhwc = torch.from_numpy(np.array(values, np.uint8))
    x = torch._make_per_tensor_quantized_tensor(nhwc.permute(0, 3, 1, 2).contiguous(), s, z)
    xs.append(x.contiguous(memory_format=torch.channels_last))
y = torch.ops.quantized.cat(xs, dim=1, scale=case["out"][0], zero_point=case["out"][1])
print(json.dumps(y.int_repr().permute(0, 2, 3, 1).to(torch.int32).tolist()))
"""


@pytest.mark.skipif(not lib.qeq_isa_detected(1), reason="PyTorch's vector width is pinned to "
                    "AVX2's (ATEN_CPU_CAPABILITY=avx2), which this CPU lacks")
def test_cat_follows_the_vectorised_rule(tmp_path):
    """PyTorch's channels-last cat requantizes each pixel's channels 32 at a time with the
    fused rule (AVX2) and the remaining C % 32 with the scalar one; qeq uses the fused rule."""
    rng = np.random.default_rng(7)
    levels = np.arange(256)
    for _ in range(2000):
        s, sy = (f32(np.exp(rng.uniform(-7, -1))) for _ in range(2))
        z, zy = (int(v) for v in rng.integers(0, 256, 2))
        vec = requantize(vector_rule(levels, s, z), sy, zy, 0, False)
        sca = requantize(scalar_rule(levels, s, z), sy, zy, 0, False)
        if (vec != sca).any():
            break
    else:
        pytest.fail("no qparams found on which PyTorch's two rules differ")
    q = int(levels[vec != sca][0])
    channels = 37  # 32 in the vector loop, 5 in the scalar one
    x = rng.integers(0, 256, (1, 2, 2, channels)).astype(np.uint8)
    x[..., [0, 31, 32, 36]] = q
    other = rng.integers(0, 256, (1, 2, 2, 3)).astype(np.uint8)
    qparams = [(float(s), z), (0.5, 3)]
    want_vec = requantize(vector_rule(x.astype(np.int32), s, z), sy, zy, 0, False)
    want_sca = requantize(scalar_rule(x.astype(np.int32), s, z), sy, zy, 0, False)

    y = qeq.q8_cat([x, other], [(float(s), z), (0.5, 3)], (float(sy), zy))
    assert np.array_equal(y[..., :channels].astype(np.int32), want_vec)

    path = tmp_path / "cat.json"
    path.write_text(json.dumps({"inputs": [x.tolist(), other.tolist()], "qparams": qparams,
                                "out": [float(sy), zy]}))
    env = dict(os.environ, ATEN_CPU_CAPABILITY="avx2", OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", CAT_CHILD, str(path)], env=env, check=True,
                         capture_output=True, text=True).stdout
    torch_y = np.array(json.loads(out), np.int32)[..., :channels]
    assert np.array_equal(torch_y[..., :32], want_vec[..., :32])
    assert np.array_equal(torch_y[..., 32:], want_sca[..., 32:])
    assert (want_vec[..., 32:] != want_sca[..., 32:]).any()  # the case separates the rules
