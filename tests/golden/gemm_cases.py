"""Int8 Linear fixtures (gemm.txt): PyTorch 1.13's quantized Linear, both engines; used by
generate.py (`generate.py gemm` writes only this file).

Every PyTorch output written here is first checked against the float32 formulas below
(numpy float32, one rounding per operation); the script stops instead of writing if any
output disagrees. Formulas (all f32 unless marked double; rne = round half to even):

Static (quantized::linear / linear_relu), acc = sum_k (xq - x_zp) * (wq - w_zp[n]) exactly.
  qnnpack:  sxw  = f32(s_w[n] * s_x)
            b_q  = (int32) rne(f32(b[n] * f32(1 / sxw)))
            M    = f32(sxw * f32(1 / s_y))
            v    = f32((float)(acc + b_q) * M)
            y    = clamp(rne(v) + y_zp, relu ? y_zp : 0, 255)
            (|rne(v)| >= 2^31 gives INT32_MIN, i.e. y = relu ? y_zp : 0: cvtps2dq overflow.)
            qint8 activations (XNNPACK, per-tensor weight with zp 0, no ReLU): the same
            formula with everything shifted by 128 (output clamp -128..127).
  onednn:   bs   = f32(f32(1 / s_x) * f32(1 / s_w[n]))
            M    = f32(f32(1 / s_y) / bs)
            v    = f32(f32((float)acc + f32(b[n] * bs)) * M);  relu: v = max(v, 0)
            y    = clamp(rne(f32(v + (float)y_zp)), 0, 255)      zero point added in float
Dynamic (quantized::linear_dynamic; the module passes reduce_range=True):
  qnnpack:  ignores reduce_range (qparams on [0,255]); s = (float)scale;
            xq = clamp(x_zp + rne(f32(x * f32(1 / s))), 0, 255)            (quantize_per_tensor)
            y  = f32(f32((float)acc * f32(s * s_w[n])) + b[n])
  onednn:   honours reduce_range (qparams on [0,127]); isx = f32(1.0 / scale) in double;
            xq = clamp(rne(f32(f32(x * isx) + x_zp)), 0, 255)
            bs = f32(isx * f32(1 / s_w[n]));  M = f32(1 / bs)
            y  = f32(f32((float)acc + f32(b[n] * bs)) * M)

PyTorch 1.13 caches per process (oneDNN: ideep's primitive cache ignores zero points;
QNNPACK: the requantization scale is recomputed only when the input scale changes), so
every PyTorch call here runs in a forked child with fresh state.
"""
import importlib.util
import math
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

f32 = np.float32
ENGINES = {"onednn": 0, "qnnpack": 1}
SMALL_SCALE_THRESHOLD = float(f32(6.1e-5))


def choose_qparams(xmin, xmax, qmin=0, qmax=255, reduce_range=False):
    """PyTorch 1.13 quant_utils::ChooseQuantizationParams (preserve_sparsity and
    force_scale_power_of_two false), as used by dynamic Linear and exposed by
    torch._choose_qparams_per_tensor(x, reduce_range) (which passes qmin 0, qmax 255).
    xmin/xmax are float32; scale is a double; returns (double scale, int zero_point).
    Checked bit for bit against torch._choose_qparams_per_tensor in check_choose_qparams()."""
    xmin, xmax = f32(xmin), f32(xmax)
    if reduce_range:
        qmin, qmax = qmin // 2, qmax // 2
    xmin, xmax = min(xmin, f32(0)), max(xmax, f32(0))
    scale = (float(xmax) - float(xmin)) / (qmax - qmin)          # double
    with np.errstate(over="ignore", divide="ignore"):
        if float(f32(scale)) == 0.0 or math.isinf(float(f32(1) / f32(scale))):
            scale = 0.1                                          # all-zero input lands here
    if scale < SMALL_SCALE_THRESHOLD:                            # double compare with (double)6.1e-5f
        org = scale
        scale = SMALL_SCALE_THRESHOLD
        if xmin == 0:
            xmax = f32(SMALL_SCALE_THRESHOLD * (qmax - qmin))
        elif xmax == 0:
            xmin = f32(-SMALL_SCALE_THRESHOLD * (qmax - qmin))
        else:
            amp = f32(f32(SMALL_SCALE_THRESHOLD) / f32(org))
            xmin, xmax = f32(xmin * amp), f32(xmax * amp)
    zp_from_min = qmin - float(xmin) / scale                      # all double
    zp_from_max = qmax - float(xmax) / scale
    err_min = abs(qmin) - abs(float(xmin) / scale)
    err_max = abs(qmax) - abs(float(xmax) / scale)
    initial = zp_from_min if err_min < err_max else zp_from_max
    if initial < qmin:
        zp = qmin
    elif initial > qmax:
        zp = qmax
    else:
        zp = int(np.rint(initial))                               # nearbyint: ties to even
    return scale, zp


# ---------------------------------------------------------------- reference formulas
def rne(a):
    return np.rint(a)


def acc_of(xq, x_zp, wq, w_zp):
    wz = np.broadcast_to(np.asarray(w_zp, np.int64), (wq.shape[0],)).reshape(-1, 1)
    return (np.asarray(xq, np.int64) - x_zp) @ (np.asarray(wq, np.int64) - wz).T


def static_qnnpack(xq, s_x, x_zp, wq, s_w, w_zp, bias, s_y, y_zp, relu, signed=False):
    n = wq.shape[0]
    s_w = np.broadcast_to(np.asarray(s_w, f32), (n,))
    off = 128 if signed else 0
    acc = acc_of(np.asarray(xq) + off, x_zp + off, wq, w_zp)
    sxw = (s_w * f32(s_x)).astype(f32)
    bq = np.zeros(n, np.int64)
    if bias is not None:
        bq = rne((np.asarray(bias, f32) * (f32(1) / sxw).astype(f32)).astype(f32)).astype(np.int64)
    m = (sxw * (f32(1) / f32(s_y))).astype(f32)
    v = rne(((acc + bq).astype(f32) * m).astype(f32))
    v = np.where(np.abs(v) >= 2.0 ** 31, -2.0 ** 31, v).astype(np.int64)
    y = np.clip(np.clip(v, -32768, 32767) + y_zp + off, y_zp + off if relu else 0, 255)
    return y - off


def static_onednn(xq, s_x, x_zp, wq, s_w, w_zp, bias, s_y, y_zp, relu, acc=None):
    """acc: the integer sums to requantize (default: the exact ones, acc_of)."""
    n = wq.shape[0]
    s_w = np.broadcast_to(np.asarray(s_w, f32), (n,))
    acc = (acc_of(xq, x_zp, wq, w_zp) if acc is None else np.asarray(acc)).astype(f32)
    b = np.zeros(n, f32) if bias is None else np.asarray(bias, f32)
    bs = ((f32(1) / f32(s_x)) * (f32(1) / s_w).astype(f32)).astype(f32)
    m = ((f32(1) / f32(s_y)) / bs).astype(f32)
    v = ((acc + (b * bs).astype(f32)).astype(f32) * m).astype(f32)
    if relu:
        v = np.maximum(v, f32(0))
    return np.clip(rne((v + f32(y_zp)).astype(f32)), 0, 255).astype(np.int64)


def dynamic_ref(engine, x, wq, s_w, w_zp, bias, reduce_range):
    """Returns (xq, scale(double), zp, y) as the engine computes them."""
    x = np.asarray(x, f32)
    n = wq.shape[0]
    s_w = np.broadcast_to(np.asarray(s_w, f32), (n,)).reshape(1, -1)
    b = np.zeros(n, f32) if bias is None else np.asarray(bias, f32)
    xmin, xmax = (float(x.min()), float(x.max())) if x.size else (0.0, 0.0)
    if engine == "qnnpack":
        scale, zp = choose_qparams(xmin, xmax, reduce_range=False)
        s = f32(scale)
        xq = np.clip(zp + rne((x * (f32(1) / s)).astype(f32)), 0, 255).astype(np.int64)
        acc = acc_of(xq, zp, wq, w_zp).astype(f32)
        y = ((acc * (s * s_w).astype(f32)).astype(f32) + b).astype(f32)
    else:
        scale, zp = choose_qparams(xmin, xmax, reduce_range=reduce_range)
        isx = f32(1.0 / scale)
        xq = np.clip(rne(((x * isx).astype(f32) + f32(zp)).astype(f32)), 0, 255).astype(np.int64)
        acc = acc_of(xq, zp, wq, w_zp).astype(f32)
        bs = (isx * (f32(1) / s_w).astype(f32)).astype(f32)
        y = ((acc + (b * bs).astype(f32)).astype(f32) * (f32(1) / bs).astype(f32)).astype(f32)
    return xq, scale, zp, y


# ---------------------------------------------------------------- PyTorch, isolated
def isolated(fn, *args):
    """fn(*args) in a forked child: a fresh oneDNN/QNNPACK cache for every call."""
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(rfd)
        try:
            res = fn(*args)
        except Exception as e:  # noqa: BLE001 - sent back to the parent
            res = RuntimeError(str(e).splitlines()[0])
        with os.fdopen(wfd, "wb") as f:
            pickle.dump(res, f)
        os._exit(0)
    os.close(wfd)
    with os.fdopen(rfd, "rb") as f:
        res = pickle.load(f)
    os.waitpid(pid, 0)
    if isinstance(res, Exception):
        raise res
    return res


def _weight(wq, s_w, w_zp, per_channel):
    w = torch.tensor(np.asarray(wq), dtype=torch.int8)
    if per_channel:
        return torch._make_per_channel_quantized_tensor(
            w, torch.tensor(np.asarray(s_w, np.float64)), torch.tensor(np.asarray(w_zp)), 0)
    return torch._make_per_tensor_quantized_tensor(w, float(s_w[0]), int(w_zp[0]))


def _torch_static(engine, x_dtype, xq, s_x, x_zp, wq, s_w, w_zp, bias, s_y, y_zp, relu, pc):
    import torch.nn.intrinsic.quantized as nniq  # not under torch.ao in 1.13
    import torch.ao.nn.quantized as nnq
    torch.set_num_threads(1)
    torch.backends.quantized.engine = engine
    n, k = wq.shape
    X = torch._make_per_tensor_quantized_tensor(
        torch.tensor(np.asarray(xq), dtype=torch.int8 if x_dtype else torch.uint8), s_x, x_zp)
    mod = (nniq.LinearReLU if relu else nnq.Linear)(k, n, bias is not None)
    mod.set_weight_bias(_weight(wq, s_w, w_zp, pc),
                        None if bias is None else torch.tensor(np.asarray(bias, f32)))
    mod.scale, mod.zero_point = s_y, y_zp
    return mod(X).int_repr().numpy().astype(np.int64)


def _torch_dynamic(engine, x, wq, s_w, w_zp, bias, pc):
    import torch.ao.nn.quantized.dynamic as nnqd
    torch.set_num_threads(1)
    torch.backends.quantized.engine = engine
    n, k = wq.shape
    mod = nnqd.Linear(k, n, bias_=bias is not None)
    mod.set_weight_bias(_weight(wq, s_w, w_zp, pc),
                        None if bias is None else torch.tensor(np.asarray(bias, f32)))
    xt = torch.tensor(np.asarray(x, f32))
    s, z = torch._choose_qparams_per_tensor(xt, engine == "onednn")
    return mod(xt).numpy(), float(s), int(z)


# ---------------------------------------------------------------- checks
def check_choose_qparams(rng, count=4000):
    cases = []
    for i in range(count):
        n = int(rng.integers(1, 40))
        kind = i % 8
        if kind == 0:
            x = rng.standard_normal(n) * 10.0 ** rng.uniform(-8, 8)
        elif kind == 1:
            x = np.abs(rng.standard_normal(n)) * 10.0 ** rng.uniform(-8, 8)
        elif kind == 2:
            x = -np.abs(rng.standard_normal(n)) * 10.0 ** rng.uniform(-8, 8)
        elif kind == 3:
            x = np.full(n, rng.standard_normal() * 10.0 ** rng.uniform(-10, 10))
        elif kind == 4:
            x = np.zeros(n)
        elif kind == 5:
            x = rng.integers(-300, 300, n) / float(2 ** int(rng.integers(0, 12)))
        elif kind == 6:
            x = rng.uniform(-1, 1, n) * 1e-3
        else:
            x = rng.standard_normal(n) * rng.uniform(0.01, 5) + rng.uniform(-5, 5)
        cases.append(np.asarray(x, f32))
    cases += [np.asarray(v, f32) for v in (
        [-1.0, 0.3, 2.5], [0.0], [1e-9], [-1e-9], [1e-38, 2e-38], [3e38, -3e38], [255.0],
        [-255.0], [-2.5, 252.5], [-3.5, 251.5], [6.1e-5 * 255], [6e-5 * 255], [-6e-5, 6e-5])]
    bad = 0
    for x in cases:
        for rr in (False, True):
            s, z = torch._choose_qparams_per_tensor(torch.from_numpy(x), rr)
            if (s, z) != choose_qparams(float(x.min()), float(x.max()), reduce_range=rr):
                bad += 1
    print(f"choose_qparams: {bad} mismatches in {2 * len(cases)} calls")
    assert bad == 0


def _load_onednn_exactness():
    """python/qeq/_onednn_exactness.py by path: it needs no libqeq, so no build either."""
    path = Path(__file__).resolve().parents[2] / "python" / "qeq" / "_onednn_exactness.py"
    spec = importlib.util.spec_from_file_location("qeq_onednn_exactness", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


onednn_exactness = _load_onednn_exactness()


def require_exact_onednn(fixture):
    """Onednn fixtures come only from a oneDNN that adds products exactly (VNNI): elsewhere
    it saturates pairs in int16 and its outputs are not the formula's."""
    info = onednn_exactness.probe()
    if info.saturates:
        raise SystemExit(f"{fixture}: not written: {info.describe()}. Its onednn cases must "
                         "come from a CPU with AVX-512 VNNI and ONEDNN_MAX_CPU_ISA unset.")


def cpu_line():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    except OSError:
        out = ""
    model = next((l.split(":", 1)[1].strip() for l in out.splitlines()
                  if l.startswith("Model name")), "unknown")
    flags = set(out.split())
    have = " ".join(f"{f}={'yes' if f in flags else 'no'}" for f in ("avx512_vnni", "avx2"))
    isa = onednn_exactness.probe().isa or "unknown"
    return (f"# cpu: {model}; {have}; oneDNN isa {isa}; torch {torch.__version__}; "
            "engines onednn (0), qnnpack (1)")


# ---------------------------------------------------------------- case generation
def f32s(v):
    return float(f32(v))


def static_case(rng, engine, m, k, n, pc, has_bias, relu, x_zp, y_zp, w_zp_nonzero=False,
                ties=False, x_dtype=0):
    c = n if pc else 1
    lo, hi = (-128, 127) if x_dtype else (0, 255)
    if ties:  # power-of-two scales, small integers: requantization lands on exact halves
        s_x = 2.0 ** -int(rng.integers(3, 7))
        s_w = [2.0 ** -int(rng.integers(4, 8)) for _ in range(c)] if pc else \
            [2.0 ** -int(rng.integers(4, 8))]
        xq = np.clip(x_zp + rng.integers(-3, 4, (m, k)), lo, hi)
        wq = rng.integers(-3, 4, (n, k))
    else:
        s_x = f32s(np.exp(rng.uniform(np.log(1e-3), np.log(0.1))))
        s_w = [f32s(np.exp(rng.uniform(np.log(1e-3), np.log(0.05)))) for _ in range(c)]
        xq = rng.integers(lo, hi + 1, (m, k))
        wq = rng.integers(-128, 128, (n, k))
    w_zp = [int(v) for v in rng.integers(-20, 21, c)] if w_zp_nonzero else [0] * c
    if ties and w_zp_nonzero:
        wq = np.clip(wq + np.asarray(w_zp).reshape(-1, 1) if pc else wq + w_zp[0], -128, 127)
    real = acc_of(xq, x_zp, wq, w_zp) * s_x * np.asarray(s_w).reshape(1, -1)
    spread = float(np.std(real)) + float(np.mean(np.abs(real))) + 1e-6
    if ties:
        s_y = 2.0 ** round(math.log2(spread / 24))
        half = s_x * min(s_w) / 2
        bias = (rng.integers(-60, 61, n) * half).astype(f32) if has_bias else None
    else:
        s_y = f32s(spread / 40 * rng.uniform(0.7, 1.4))
        bias = (rng.standard_normal(n) * spread).astype(f32) if has_bias else None
    return dict(engine=engine, x_dtype=x_dtype, xq=xq, s_x=s_x, x_zp=x_zp, wq=wq, s_w=s_w,
                w_zp=w_zp, bias=bias, s_y=s_y, y_zp=y_zp, relu=relu, pc=pc)


def static_plan(rng):
    """(name, spec) pairs; the same plan for both engines (qnnpack adds weight zero points
    and qint8 activations, which oneDNN refuses)."""
    r = lambda: int(rng.integers(1, 255))  # noqa: E731
    plan = []
    for engine in ENGINES:
        q = engine == "qnnpack"
        rows = [
            # name, m, k, n, per-channel, bias, relu, x_zp, y_zp, ties
            ("m1_k17_n33_pt", 1, 17, 33, False, True, False, 128, r(), False),
            ("m7_k300_n1_pc", 7, 300, 1, True, True, False, r(), r(), False),
            ("m7_k1_n33_pt_relu", 7, 1, 33, False, True, True, 0, r(), False),
            ("m64_k64_n64_pc", 64, 64, 64, True, True, False, r(), r(), False),
            ("m64_k64_n64_pt_nobias", 64, 64, 64, False, False, False, 255, r(), False),
            ("m1_k300_n64_pc_relu", 1, 300, 64, True, True, True, 128, r(), False),
            ("m7_k17_n1_pt_nobias_relu", 7, 17, 1, False, False, True, r(), r(), False),
            ("m63_k65_n66_pc_nobias", 63, 65, 66, True, False, False, 0, r(), False),
            ("clamp_yzp0_pc", 16, 17, 33, True, True, False, r(), 0, False),
            ("clamp_yzp255_pt", 16, 17, 33, False, True, False, r(), 255, False),
            ("clamp_yzp0_relu_pt", 7, 64, 33, False, True, True, r(), 0, False),
            ("clamp_yzp255_relu_pc", 7, 64, 33, True, True, True, r(), 255, False),
            ("ties_m64_k64_n64_pt", 64, 64, 64, False, True, False, 128, r(), True),
            ("ties_m33_k17_n33_pc", 33, 17, 33, True, True, False, r(), r(), True),
            ("ties_m7_k300_n17_pc_relu", 7, 300, 17, True, True, True, 255, r(), True),
            ("ties_m64_k1_n9_pt_nobias", 64, 1, 9, False, False, False, 0, r(), True),
        ]
        for name, m, k, n, pc, b, relu, xz, yz, ties in rows:
            plan.append((f"{name}_{engine}",
                         static_case(rng, engine, m, k, n, pc, b, relu, xz, yz, ties=ties)))
        if q:
            for name, m, k, n, pc, b, relu, ties in [
                    ("wzp_m7_k17_n33_pt", 7, 17, 33, False, True, False, False),
                    ("wzp_m64_k64_n64_pc", 64, 64, 64, True, True, False, False),
                    ("wzp_m1_k300_n17_pc_relu", 1, 300, 17, True, True, True, False),
                    ("wzp_ties_m33_k17_n33_pc", 33, 17, 33, True, True, False, True),
                    ("wzp_ties_m33_k64_n9_pt_relu", 33, 64, 9, False, True, True, True)]:
                plan.append((f"{name}_{engine}", static_case(
                    rng, engine, m, k, n, pc, b, relu, r(), r(), w_zp_nonzero=True, ties=ties)))
            for name, m, k, n, b, xz, yz, ties in [
                    ("qint8_m7_k17_n33_pt", 7, 17, 33, True, -5, 3, False),
                    ("qint8_m64_k64_n64_pt", 64, 64, 64, True, 0, -128, False),
                    ("qint8_ties_m33_k17_n9_pt", 33, 17, 9, True, 100, 127, True),
                    ("qint8_m1_k300_n1_pt_nobias", 1, 300, 1, False, -128, 0, False)]:
                plan.append((f"{name}_{engine}", static_case(
                    rng, engine, m, k, n, False, b, False, xz, yz, ties=ties, x_dtype=1)))
    return plan


def spec9(engine):
    return dict(engine=engine, x_dtype=0, xq=np.array([[46, 23, 50, 57]]), s_x=1 / 64, x_zp=32,
                wq=np.array([[-29, -103, -53, -19], [75, 94, 47, 87]]), s_w=[1 / 128],
                w_zp=[0], bias=np.array([0.345, -0.253], f32), s_y=1 / 32, y_zp=10,
                relu=False, pc=False)


def static_record(spec, yq):
    f = dict(kind=("i", [0]), engine=("i", [ENGINES[spec["engine"]]]),
             m=("i", [spec["xq"].shape[0]]), n=("i", [spec["wq"].shape[0]]),
             k=("i", [spec["xq"].shape[1]]), x_dtype=("i", [spec["x_dtype"]]),
             x_scale=("f", [spec["s_x"]]), x_zp=("i", [spec["x_zp"]]),
             xq=("i", spec["xq"].reshape(-1)), w_scale=("f", spec["s_w"]),
             w_zp=("i", spec["w_zp"]), wq=("i", spec["wq"].reshape(-1)),
             has_bias=("i", [int(spec["bias"] is not None)]))
    if spec["bias"] is not None:
        f["bias"] = ("f", spec["bias"].tolist())
    f.update(y_scale=("f", [spec["s_y"]]), y_zp=("i", [spec["y_zp"]]),
             relu=("i", [int(spec["relu"])]), yq=("i", yq.reshape(-1)))
    return f


def run_static(spec):
    s = spec
    args = (s["engine"], s["x_dtype"], s["xq"], s["s_x"], s["x_zp"], s["wq"], s["s_w"],
            s["w_zp"], s["bias"], s["s_y"], s["y_zp"], s["relu"], s["pc"])
    yq = isolated(_torch_static, *args)
    if s["engine"] == "qnnpack":
        ref = static_qnnpack(s["xq"], s["s_x"], s["x_zp"], s["wq"], s["s_w"], s["w_zp"],
                             s["bias"], s["s_y"], s["y_zp"], s["relu"], signed=bool(s["x_dtype"]))
    else:
        ref = static_onednn(s["xq"], s["s_x"], s["x_zp"], s["wq"], s["s_w"], s["w_zp"],
                            s["bias"], s["s_y"], s["y_zp"], s["relu"])
    return yq, ref


def count_ties(spec):
    """Outputs whose requantized value is an exact half (before rounding)."""
    s = spec
    n = s["wq"].shape[0]
    sw = np.broadcast_to(np.asarray(s["s_w"], f32), (n,))
    off = 128 if s["x_dtype"] else 0
    acc = acc_of(np.asarray(s["xq"]) + off, s["x_zp"] + off, s["wq"], s["w_zp"])
    b = np.zeros(n, f32) if s["bias"] is None else s["bias"]
    if s["engine"] == "qnnpack":
        sxw = (sw * f32(s["s_x"])).astype(f32)
        bq = rne((b * (f32(1) / sxw).astype(f32)).astype(f32)).astype(np.int64)
        v = ((acc + bq).astype(f32) * (sxw * (f32(1) / f32(s["s_y"]))).astype(f32)).astype(f32)
    else:
        bs = ((f32(1) / f32(s["s_x"])) * (f32(1) / sw).astype(f32)).astype(f32)
        v = ((acc.astype(f32) + (b * bs).astype(f32)).astype(f32)
             * ((f32(1) / f32(s["s_y"])) / bs).astype(f32)).astype(f32)
    return int((np.abs(v - np.floor(v) - 0.5) == 0).sum())


def dynamic_plan(rng):
    plan = []
    for engine in ENGINES:
        def x_of(kind, m, k):
            if kind == "randn":
                return rng.standard_normal((m, k)) * rng.uniform(0.1, 5) + rng.uniform(-1, 1)
            if kind == "zeros":
                return np.zeros((m, k))
            if kind == "positive":
                return np.abs(rng.standard_normal((m, k))) + 0.25
            if kind == "negative":
                return -np.abs(rng.standard_normal((m, k))) - 0.25
            if kind == "tiny":
                return rng.standard_normal((m, k)) * 1e-6
            if kind == "tiny_positive":
                return np.abs(rng.standard_normal((m, k))) * 1e-7
            if kind == "huge":
                return rng.standard_normal((m, k)) * 1e6
            if kind == "constant":
                return np.full((m, k), 3.7)
            if kind == "ties":  # scale exactly 2^-4, x on the half grid
                a = int(rng.integers(20, 100))
                top = 127 if engine == "onednn" else 255      # onednn: reduce_range [0,127]
                x = (rng.integers(-a, top - a, (m, k)) + 0.5 * (rng.random((m, k)) < 0.5)) / 16
                x.flat[0], x.flat[1] = -a / 16, (top - a) / 16
                return x
            raise ValueError(kind)
        rows = [
            # name, kind, m, k, n, per_channel, bias, weight zp nonzero
            ("m1_k17_n33_pt", "randn", 1, 17, 33, False, True, False),
            ("m7_k64_n64_pc", "randn", 7, 64, 64, True, True, False),
            ("m7_k300_n1_pt_nobias", "randn", 7, 300, 1, False, False, False),
            ("m33_k1_n17_pc", "randn", 33, 1, 17, True, True, False),
            ("zeros_m7_k17_n9_pt", "zeros", 7, 17, 9, False, True, False),
            ("positive_m7_k17_n9_pc", "positive", 7, 17, 9, True, True, False),
            ("negative_m7_k17_n9_pt", "negative", 7, 17, 9, False, True, False),
            ("tiny_m7_k17_n9_pc", "tiny", 7, 17, 9, True, True, False),
            ("tiny_positive_m7_k17_n9_pt", "tiny_positive", 7, 17, 9, False, True, False),
            ("huge_m7_k17_n9_pt", "huge", 7, 17, 9, False, True, False),
            ("constant_m7_k17_n9_pc", "constant", 7, 17, 9, True, True, False),
            ("ties_m64_k64_n64_pt", "ties", 64, 64, 64, False, True, False),
            ("ties_m33_k17_n33_pc", "ties", 33, 17, 33, True, False, False),
        ]
        if engine == "qnnpack":
            rows += [("wzp_m7_k64_n33_pt", "randn", 7, 64, 33, False, True, True),
                     ("wzp_m7_k17_n9_pc", "randn", 7, 17, 9, True, True, True)]
        for name, kind, m, k, n, pc, b, wz in rows:
            c = n if pc else 1
            x = np.asarray(x_of(kind, m, k), f32)
            s_w = [f32s(np.exp(rng.uniform(np.log(2e-3), np.log(0.03)))) for _ in range(c)]
            wq = rng.integers(-128, 128, (n, k))
            w_zp = [int(v) for v in rng.integers(-20, 21, c)] if wz else [0] * c
            bias = (rng.standard_normal(n) * 2).astype(f32) if b else None
            plan.append((f"dyn_{name}_{engine}", dict(engine=engine, x=x, wq=wq, s_w=s_w,
                                                     w_zp=w_zp, bias=bias, pc=pc)))
    return plan


def write_gemm(writer_cls, seed=20261124):
    torch.set_num_threads(1)
    rng = np.random.default_rng(seed)
    check_choose_qparams(np.random.default_rng(seed + 1))
    w = writer_cls("gemm.txt")
    require_exact_onednn("gemm.txt")
    w.lines.append(cpu_line())
    mism = {e: [0, 0, 0] for e in ENGINES}  # mismatches, outputs, exact ties
    bad = []
    records = []
    for engine, expect in (("qnnpack", [17, 14]), ("onednn", [17, 15])):
        spec = spec9(engine)
        yq, ref = run_static(spec)
        assert yq.reshape(-1).tolist() == expect, (engine, yq)
        assert ref.reshape(-1).tolist() == expect, (engine, ref)
        records.append((f"spec9_{engine}", static_record(spec, yq)))
    for name, spec in static_plan(rng):
        yq, ref = run_static(spec)
        e = mism[spec["engine"]]
        e[0] += int((yq != ref).sum())
        e[1] += yq.size
        e[2] += count_ties(spec)
        if (yq != ref).any():
            bad.append(name)
        records.append((name, static_record(spec, yq)))
    for eng, (nb, tot, ties) in mism.items():
        print(f"static {eng}: {nb} mismatches / {tot} outputs ({ties} exact-half requantizations)")
    dmism = {e: [0, 0, 0] for e in ENGINES}  # y mismatches, outputs, qparam mismatches
    for name, spec in dynamic_plan(rng):
        eng = spec["engine"]
        rr = True  # what nnqd.Linear passes (qnnpack ignores it)
        y, s_t, z_t = isolated(_torch_dynamic, eng, spec["x"], spec["wq"], spec["s_w"],
                               spec["w_zp"], spec["bias"], spec["pc"])
        xq, scale, zp, ref = dynamic_ref(eng, spec["x"], spec["wq"], spec["s_w"], spec["w_zp"],
                                         spec["bias"], rr)
        e = dmism[eng]
        e[0] += int((y.view(np.int32) != ref.view(np.int32)).sum())
        e[1] += y.size
        if (s_t, z_t) != (scale, zp):  # torch._choose_qparams_per_tensor(x, eng == "onednn")
            e[2] += 1
        if (y.view(np.int32) != ref.view(np.int32)).any():
            bad.append(name)
        m, k = spec["x"].shape
        n = spec["wq"].shape[0]
        f = dict(kind=("i", [1]), engine=("i", [ENGINES[eng]]), m=("i", [m]), n=("i", [n]),
                 k=("i", [k]), reduce_range=("i", [int(eng == "onednn")]),
                 x=("f", spec["x"].reshape(-1).tolist()), x_scale=("f", [f32s(scale)]),
                 x_scale_f64=("f", [scale]), x_zp=("i", [zp]), w_scale=("f", spec["s_w"]),
                 w_zp=("i", spec["w_zp"]), wq=("i", spec["wq"].reshape(-1)),
                 has_bias=("i", [int(spec["bias"] is not None)]))
        if spec["bias"] is not None:
            f["bias"] = ("f", spec["bias"].tolist())
        f["y"] = ("f", y.reshape(-1).tolist())
        records.append((name, f))
    for eng, (nb, tot, qp) in dmism.items():
        print(f"dynamic {eng}: {nb} mismatches / {tot} outputs; qparams mismatches {qp}")
    if bad:
        raise SystemExit(f"PyTorch disagrees with the formulas in: {', '.join(bad)}; "
                         "gemm.txt not written")
    for name, fields in records:
        w.case(name, **fields)
    w.close()
