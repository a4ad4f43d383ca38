"""Quantized-op fixtures (qops.txt): PyTorch 1.13's quantized add, add_relu, cat, max_pool2d,
avg_pool2d, adaptive_avg_pool2d, relu, ReLU6 and hardtanh on channels-last tensors, both
engines, quint8 and qint8; used by generate.py (`generate.py qops` writes only this file).

Every PyTorch output is first checked against the float32 formulas below (numpy, one rounding
per operation; rne = round half to even). Where PyTorch's qnnpack engine runs QNNPACK's or
XNNPACK's kernels (QNNPACK_FORMULAS: add / add_relu, quint8 avg_pool2d without ceil_mode, quint8
adaptive_avg_pool2d with dividing sizes) the outputs are checked against those libraries'
formulas instead (below) and written as engine-1 fixtures. A combination listed in
ENGINE_OWN_KERNELS is where it runs a kernel qeq does not reproduce (QNNPACK's clamp, whose
channels-last output is laid out wrongly): those outputs are counted against the formula and
reported in the file's header, not written as fixtures. Any other disagreement stops the
script before it writes.
  deq(q)    = f32(scale * f32(q - zp))
  add       : y = clamp(rne(f32(f32(deq(a) + deq(b)) * f32(1 / s_y))) + z_y)   (relu: sum >= 0)
  cat       : each input y = clamp(rne(f32(deq(x) * f32(1 / s_y))) + z_y)
  max_pool2d: max of the integers in the window; qparams kept
  avg_pool2d: acc = sum(q - zp) over the window's input pixels, d = divisor_override or the
              window clipped to the padded input (count_include_pad) or its input pixel count,
              y = clamp(rne(f32(acc * f32(1.0 / d))) + zp); qparams kept
  adaptive  : the same with window floor(i*H/OH) .. ceil((i+1)*H/OH) and d its size
  relu/relu6/hardtanh: clamp(q, quantize(min), quantize(max)) with the input's qparams
QNNPACK (the qnnpack engine, quint8; r = f32 ratios, e = binary exponent of max(r_a, r_b)):
  add       : k = 21 - e, m = rne(r * 2^k), acc = m_a (a - z_a) + m_b (b - z_b),
              y = clamp(z_y + acc / 2^k rounded half away from zero, z_y if relu else 0, 255)
              (k > 31, from ratios below 2^-10: PyTorch's x86 build shifts by 31 and takes
              the remainder mask 2^(k - 32) - 1; see docs/numerics.md)
  add qint8 : XNNPACK: k = 20 - e, the same m and acc, y = clamp(z_y + floor((acc + 2^(k-1))
              / 2^k), z_y if relu else -128, 127) (half up)
  avg_pool2d: acc over the whole kernel with padding as the zero point, K = kh * kw,
              y = clamp(rne(f32(f32(acc) * f32(s / f32(s * K)))) + z, 0, 255)
  adaptive  : in/out divisible (and not equal): avg_pool2d with kernel = stride = in / out
"""
import numpy as np
import torch

f32 = np.float32
ENGINES = {"onednn": 0, "qnnpack": 1}
OPS = {"add": 0, "add_relu": 1, "cat": 2, "max_pool2d": 3, "avg_pool2d": 4,
       "adaptive_avg_pool2d": 5, "relu": 6, "relu6": 7, "hardtanh": 8}
DTYPES = {"quint8": (0, torch.quint8, 0, 255), "qint8": (1, torch.qint8, -128, 127)}
# (engine, op, dtype) where PyTorch 1.13 leaves its own quantized kernels.
ENGINE_OWN_KERNELS = {
    ("qnnpack", "relu6", "quint8"): "QNNPACK's clamp",
    ("qnnpack", "hardtanh", "quint8"): "QNNPACK's clamp",
}
# (engine, op, dtype) checked against QNNPACK's formulas (reference_qnnpack) and written.
QNNPACK_FORMULAS = ({("qnnpack", op, "quint8")
                     for op in ("add", "add_relu", "avg_pool2d", "adaptive_avg_pool2d")} |
                    {("qnnpack", "add", "qint8"), ("qnnpack", "add_relu", "qint8")})


def rne(v):
    return np.rint(v)


def deq(q, s, z):
    return (f32(s) * (q.astype(np.int64) - z).astype(f32)).astype(f32)


def quant(v, s, z, lo, hi):
    inv = f32(1) / f32(s)
    return np.clip(rne((v.astype(f32) * inv).astype(f32)) + z, lo, hi).astype(np.int64)


def quant_val(v, s, z, lo, hi):
    return int(quant(np.array([v], f32), s, z, lo, hi)[0])


def pool_out(i, k, st, p, d, ceil):
    span = i + 2 * p - d * (k - 1) - 1 + (st - 1 if ceil else 0)
    o = span // st + 1
    if ceil and (o - 1) * st >= i + p:
        o -= 1
    return o


def ref_avg_window(q, z, h0, h1, w0, w1, d, lo, hi):
    acc = q[:, :, h0:h1, w0:w1].sum(axis=(2, 3)) - z * (h1 - h0) * (w1 - w0)
    v = (acc.astype(f32) * f32(1.0 / d)).astype(f32)
    return np.clip(rne(v) + z, lo, hi)


def reference(op, t, lo, hi):
    """The formulas above on NCHW int arrays."""
    if op in ("add", "add_relu"):
        s = (deq(t["a"], t["sa"], t["za"]) + deq(t["b"], t["sb"], t["zb"])).astype(f32)
        if op == "add_relu":
            s = np.maximum(s, f32(0))
        return quant(s, t["sy"], t["zy"], lo, hi)
    if op == "cat":
        parts = [quant(deq(x, s, z), t["sy"], t["zy"], lo, hi) for x, s, z in t["xs"]]
        return np.concatenate(parts, axis=t["dim"])
    q, z = t["x"].astype(np.int64), t["zx"]
    n, c, h, w = q.shape
    if op == "max_pool2d":
        (kh, kw), (sh, sw), (ph, pw), (dh, dw), ceil = t["k"], t["s"], t["p"], t["d"], t["ceil"]
        oh, ow = pool_out(h, kh, sh, ph, dh, ceil), pool_out(w, kw, sw, pw, dw, ceil)
        y = np.full((n, c, oh, ow), lo, np.int64)  # a window of padding only: the dtype's min
        for i in range(oh):
            for j in range(ow):
                for a in range(kh):
                    for b in range(kw):
                        hh, ww = i * sh - ph + a * dh, j * sw - pw + b * dw
                        if 0 <= hh < h and 0 <= ww < w:
                            y[:, :, i, j] = np.maximum(y[:, :, i, j], q[:, :, hh, ww])
        return y
    if op == "avg_pool2d":
        (kh, kw), (sh, sw), (ph, pw), ceil = t["k"], t["s"], t["p"], t["ceil"]
        oh, ow = pool_out(h, kh, sh, ph, 1, ceil), pool_out(w, kw, sw, pw, 1, ceil)
        y = np.zeros((n, c, oh, ow), np.int64)
        for i in range(oh):
            h0 = i * sh - ph
            h1 = min(h0 + kh, h + ph)
            for j in range(ow):
                w0 = j * sw - pw
                w1 = min(w0 + kw, w + pw)
                padded = (h1 - h0) * (w1 - w0)
                a0, a1, b0, b1 = max(h0, 0), min(h1, h), max(w0, 0), min(w1, w)
                d = t["div"] or (padded if t["cip"] else (a1 - a0) * (b1 - b0))
                y[:, :, i, j] = ref_avg_window(q, z, a0, a1, b0, b1, d, lo, hi)
        return y
    if op == "adaptive_avg_pool2d":
        oh, ow = t["out"]
        y = np.zeros((n, c, oh, ow), np.int64)
        for i in range(oh):
            h0, h1 = (i * h) // oh, -((-(i + 1) * h) // oh)
            for j in range(ow):
                w0, w1 = (j * w) // ow, -((-(j + 1) * w) // ow)
                y[:, :, i, j] = ref_avg_window(q, z, h0, h1, w0, w1, (h1 - h0) * (w1 - w0), lo, hi)
        return y
    mn, mx = {"relu": (0.0, None), "relu6": (0.0, 6.0), "hardtanh": t.get("minmax", (0, 0))}[op]
    qlo = quant_val(mn, t["sx"], z, lo, hi)
    qhi = hi if mx is None else quant_val(mx, t["sx"], z, lo, hi)
    return np.minimum(np.maximum(q, qlo), qhi)


def f32_exponent(r):
    return int(np.frexp(f32(r))[1]) - 1  # r = m * 2^e with m in [1, 2)


def qnnpack_add(t, relu, signed):
    ra, rb = f32(t["sa"]) / f32(t["sy"]), f32(t["sb"]) / f32(t["sy"])
    k = (20 if signed else 21) - f32_exponent(max(ra, rb))
    ma, mb = (int(np.rint(float(r) * 2.0 ** k)) for r in (ra, rb))
    acc = ma * (t["a"].astype(np.int64) - t["za"]) + mb * (t["b"].astype(np.int64) - t["zb"])
    if signed:  # XNNPACK: half up
        return np.clip(((acc + (1 << (k - 1))) >> k) + t["zy"], t["zy"] if relu else -128, 127)
    if k <= 31:
        half = 1 << (k - 1)
        q = np.sign(acc) * ((np.abs(acc) + half) >> k)  # half away from zero
    else:  # PyTorch's x86 build: shift 31, remainder mask 2^(k - 32) - 1
        mask = (1 << (k - 32)) - 1
        q = (acc >> 31) + (((acc & 0xFFFFFFFF) & mask) - (acc < 0) > (mask >> 1))
    return np.clip(q + t["zy"], t["zy"] if relu else 0, 255)


def qnnpack_avg(q, z, s, kh, kw, sh, sw, ph, pw):
    n, c, h, w = q.shape
    oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    padded = np.full((n, c, h + 2 * ph, w + 2 * pw), z, np.int64)
    padded[:, :, ph:ph + h, pw:pw + w] = q
    mult = f32(f32(s) / f32(f32(s) * f32(kh * kw)))
    y = np.zeros((n, c, oh, ow), np.int64)
    for i in range(oh):
        for j in range(ow):
            acc = padded[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw].sum(axis=(2, 3)) - z * kh * kw
            y[:, :, i, j] = np.clip(rne((acc.astype(f32) * mult).astype(f32)) + z, 0, 255)
    return y


def reference_qnnpack(op, t, lo, hi):
    """QNNPACK's formulas (docstring) where PyTorch's qnnpack engine runs them, else None."""
    if op in ("add", "add_relu"):
        return qnnpack_add(t, op == "add_relu", lo < 0)
    q, z = t["x"].astype(np.int64), t["zx"]
    if op == "avg_pool2d" and not t["ceil"]:
        return qnnpack_avg(q, z, t["sx"], *t["k"], *t["s"], *t["p"])
    if op == "adaptive_avg_pool2d":
        (h, w), (oh, ow) = q.shape[2:], t["out"]
        if h % oh == 0 and w % ow == 0 and (h, w) != (oh, ow):
            return qnnpack_avg(q, z, t["sx"], h // oh, w // ow, h // oh, w // ow, 0, 0)
    return None


def qtensor(ints, s, z, tdt):
    storage = torch.uint8 if tdt == torch.quint8 else torch.int8
    q = torch._make_per_tensor_quantized_tensor(torch.tensor(ints).to(storage), s, z)
    return q.contiguous(memory_format=torch.channels_last)


def run_torch(op, t, tdt):
    if op in ("add", "add_relu"):
        fn = torch.ops.quantized.add_relu if op == "add_relu" else torch.ops.quantized.add
        return fn(qtensor(t["a"], t["sa"], t["za"], tdt), qtensor(t["b"], t["sb"], t["zb"], tdt),
                  t["sy"], t["zy"])
    if op == "cat":
        xs = [qtensor(x, s, z, tdt) for x, s, z in t["xs"]]
        return torch.ops.quantized.cat(xs, dim=t["dim"], scale=t["sy"], zero_point=t["zy"])
    x = qtensor(t["x"], t["sx"], t["zx"], tdt)
    F = torch.nn.functional
    if op == "max_pool2d":
        return F.max_pool2d(x, t["k"], t["s"], t["p"], t["d"], ceil_mode=bool(t["ceil"]))
    if op == "avg_pool2d":
        return F.avg_pool2d(x, t["k"], t["s"], t["p"], bool(t["ceil"]), bool(t["cip"]),
                            t["div"] or None)
    if op == "adaptive_avg_pool2d":
        return F.adaptive_avg_pool2d(x, t["out"])
    if op == "relu":
        return torch.relu(x)
    if op == "relu6":
        return torch.nn.quantized.ReLU6()(x)
    return torch.nn.quantized.functional.hardtanh(x, *t["minmax"])


def random_scale(rng, kind):
    if kind == "pow2":  # sums of equal power-of-two steps land on exact halves
        return float(2.0 ** int(rng.integers(-7, 3)))
    if kind == "large":
        return float(np.exp(rng.uniform(np.log(1e2), np.log(1e6))))
    return float(np.exp(rng.uniform(np.log(1e-4), np.log(2.0))))


def make_case(rng, op, lo, hi, idx):
    kind = ("pow2", "any", "large", "any")[idx % 4]
    n, h, w = int(rng.integers(1, 3)), int(rng.integers(1, 7)), int(rng.integers(1, 7))
    c = int(rng.choice([1, 3, 17, 33]))

    def ints(shape):
        return rng.integers(lo, hi + 1, shape).astype(np.int64)

    def zp():
        return int(rng.integers(lo, hi + 1))

    if op in ("add", "add_relu"):
        sa = random_scale(rng, kind)
        sb = sa if kind == "pow2" else random_scale(rng, kind)
        sy = sa if kind == "pow2" and idx % 8 == 0 else random_scale(rng, kind)
        return dict(a=ints((n, c, h, w)), b=ints((n, c, h, w)), sa=sa, sb=sb, sy=sy, za=zp(),
                    zb=zp(), zy=zp())
    if op == "cat":
        dim = idx % 2
        xs = []
        for _ in range(int(rng.integers(2, 4))):
            shape = [n, c, h, w]
            shape[dim] = int(rng.integers(1, 4)) if dim == 0 else int(rng.choice([1, 3, 16, 33]))
            xs.append((ints(tuple(shape)), random_scale(rng, kind), zp()))
        if idx % 3 == 0:  # one input already at the output's qparams (PyTorch copies it)
            return dict(xs=xs, dim=dim, sy=xs[0][1], zy=xs[0][2])
        return dict(xs=xs, dim=dim, sy=random_scale(rng, kind), zy=zp())
    h, w = int(rng.integers(2, 9)), int(rng.integers(2, 9))
    t = dict(x=ints((n, c, h, w)), sx=random_scale(rng, kind), zx=zp())
    if op in ("max_pool2d", "avg_pool2d"):
        k = (int(rng.integers(1, min(h, 4) + 1)), int(rng.integers(1, min(w, 4) + 1)))
        if op == "avg_pool2d" and k == (1, 1):
            k = (min(h, 2), 2)
        t.update(k=k, s=(int(rng.integers(1, 4)), int(rng.integers(1, 4))),
                 p=(int(rng.integers(0, k[0] // 2 + 1)), int(rng.integers(0, k[1] // 2 + 1))),
                 d=(1, 1) if op == "avg_pool2d" else (int(rng.integers(1, 3)), int(rng.integers(1, 3))),
                 ceil=int(idx % 3 == 0), cip=int(idx % 4 != 1),
                 div=int(rng.choice([3, 5, 7])) if idx % 5 == 4 and op == "avg_pool2d" else 0)
        if op == "max_pool2d":
            dh, dw = t["d"]
            if (t["k"][0] - 1) * dh + 1 > h + 2 * t["p"][0] or (t["k"][1] - 1) * dw + 1 > w + 2 * t["p"][1]:
                t["d"] = (1, 1)
    elif op == "adaptive_avg_pool2d":
        t["out"] = ((h // 2 if h % 2 == 0 else int(rng.integers(1, h + 1))),
                    int(rng.integers(1, w + 3)))
    elif op == "hardtanh":
        t["minmax"] = (float(f32(rng.uniform(-3, 0.5))), float(f32(rng.uniform(0.5, 3))))
    return t


def nhwc(a):
    return np.asarray(a).transpose(0, 2, 3, 1).reshape(-1).tolist()


def shape4(a):
    n, c, h, w = np.asarray(a).shape
    return [n, h, w, c]


def record(op, eng, dname, t, y):
    f32s = lambda v: float(f32(v))  # noqa: E731 - the float32 value qeq is given
    f = dict(op=("i", [OPS[op]]), engine=("i", [ENGINES[eng]]), dtype=("i", [DTYPES[dname][0]]))
    if op in ("add", "add_relu"):
        f.update(a_shape=("i", shape4(t["a"])), a_scale=("f", [f32s(t["sa"])]),
                 a_zp=("i", [t["za"]]), a=("i", nhwc(t["a"])), b_scale=("f", [f32s(t["sb"])]),
                 b_zp=("i", [t["zb"]]), b=("i", nhwc(t["b"])))
    elif op == "cat":
        f.update(axis=("i", [t["dim"]]), count=("i", [len(t["xs"])]))
        for i, (x, s, z) in enumerate(t["xs"]):
            f.update({f"x{i}_shape": ("i", shape4(x)), f"x{i}_scale": ("f", [f32s(s)]),
                      f"x{i}_zp": ("i", [z]), f"x{i}": ("i", nhwc(x))})
    else:
        f.update(x_shape=("i", shape4(t["x"])), x_scale=("f", [f32s(t["sx"])]),
                 x_zp=("i", [t["zx"]]), x=("i", nhwc(t["x"])))
        for key in ("k", "s", "p", "d"):
            if key in t:
                f[key] = ("i", list(t[key]))
        for key in ("ceil", "cip", "div"):
            if key in t:
                f[key] = ("i", [t[key]])
        if "minmax" in t:
            f["minmax"] = ("f", list(t["minmax"]))
    sy = t.get("sy", t.get("sx"))
    f.update(y_shape=("i", shape4(y)), y_scale=("f", [f32s(sy)]),
             y_zp=("i", [t.get("zy", t.get("zx"))]), y=("i", nhwc(y)))
    return f


def write_qops(writer_cls, cpu_line, seed=20261125, per_combo=8):
    torch.set_num_threads(1)
    rng = np.random.default_rng(seed)
    records, own, bad, refused = [], {}, [], {}
    for eng in ENGINES:
        torch.backends.quantized.engine = eng
        for op in OPS:
            for dname, (_, tdt, lo, hi) in DTYPES.items():
                for idx in range(per_combo):
                    t = make_case(rng, op, lo, hi, idx)
                    key = (eng, op, dname)
                    ref = reference(op, t, lo, hi)
                    if key in QNNPACK_FORMULAS:
                        ref_q = reference_qnnpack(op, t, lo, hi)
                        ref = ref if ref_q is None else ref_q
                    try:
                        yq = run_torch(op, t, tdt)
                    except RuntimeError:
                        if eng != "qnnpack":
                            raise
                        # QNNPACK's own limits (scale ratios, 1x1 pools): PyTorch refuses
                        refused[key] = refused.get(key, 0) + 1
                        continue
                    y = yq.int_repr().numpy().astype(np.int64)
                    if op not in ("add", "add_relu", "cat"):
                        assert (yq.q_scale(), yq.q_zero_point()) == (t["sx"], t["zx"]), key
                    agree = y.shape == ref.shape and (y == ref).all()
                    if key in ENGINE_OWN_KERNELS:
                        o = own.setdefault(key, [0, 0, 0])
                        o[0] += int((y != ref).sum()) if y.shape == ref.shape else y.size
                        o[1] += y.size
                        continue
                    if not agree:
                        bad.append((key, idx))
                        continue
                    records.append((f"{op}_{eng}_{dname}_{idx}", record(op, eng, dname, t, y)))
    # A dilated window holding only padding (kernel 2, padding 1, dilation 2 over one row).
    torch.backends.quantized.engine = "onednn"
    for dname, (_, tdt, lo, hi) in DTYPES.items():
        t = dict(x=rng.integers(lo, hi + 1, (1, 3, 1, 4)).astype(np.int64), sx=0.1, zx=lo + 7,
                 k=(2, 1), s=(1, 1), p=(1, 0), d=(2, 1), ceil=0)
        y = run_torch("max_pool2d", t, tdt).int_repr().numpy().astype(np.int64)
        if not (y == reference("max_pool2d", t, lo, hi)).all() or not (y == lo).all():
            bad.append((("onednn", "max_pool2d_all_padding", dname), 0))
        records.append((f"max_pool2d_all_padding_onednn_{dname}",
                        record("max_pool2d", "onednn", dname, t, y)))
    if bad:
        raise SystemExit(f"PyTorch disagrees with the formulas on {bad}; nothing written")
    w = writer_cls("qops.txt")
    w.lines.append(cpu_line())
    w.lines.append("# ops: " + ", ".join(f"{k} ({v})" for k, v in OPS.items()) +
                   "; dtype quint8 (0), qint8 (1); shapes n h w c; tensors NHWC")
    for (eng, op, dname), (nb, tot, _) in sorted(own.items()):
        w.lines.append(f"# not fixtures: {eng} {op} {dname} runs {ENGINE_OWN_KERNELS[(eng, op, dname)]}: "
                       f"{nb} of {tot} outputs differ from the formula")
    for (eng, op, dname), count in sorted(refused.items()):
        w.lines.append(f"# refused by PyTorch: {eng} {op} {dname}: {count} of {per_combo} cases")
    for (eng, op, dname), count in sorted(skipped.items()):
        w.lines.append(f"# not run: {eng} {op} {dname} (XNNPACK's broadcasting add): {count} "
                       "cases")
    for name, fields in records:
        w.case(name, **fields)
    w.close()
    for line in w.lines[3:3 + len(own) + len(refused)]:
        print(line)
    print(f"qops: {len(records)} cases agree with the formulas")


# ---- qops_axes.txt: cat along every axis, broadcasting add ------------------------------------

def make_axes_case(rng, op, lo, hi, idx):
    """cat along dim idx % 4 (NCHW), or an add whose inputs broadcast (one of them has 1 in
    some axes; it comes first in odd cases)."""
    n, c, h, w = int(rng.integers(1, 3)), int(rng.choice([1, 3, 17, 64])), \
        int(rng.integers(1, 6)), int(rng.integers(1, 6))
    kind = ("any", "large", "any", "pow2")[idx % 4]

    def ints(shape):
        return rng.integers(lo, hi + 1, shape).astype(np.int64)

    def zp():
        return int(rng.integers(lo, hi + 1))

    if op == "cat":
        dim = idx % 4
        xs = []
        for _ in range(int(rng.integers(2, 4))):
            shape = [n, c, h, w]
            shape[dim] = int(rng.choice([1, 3, 16, 33])) if dim == 1 else int(rng.integers(1, 4))
            xs.append((ints(tuple(shape)), random_scale(rng, kind), zp()))
        if idx % 3 == 0:  # one input already at the output's qparams
            return dict(xs=xs, dim=dim, sy=xs[0][1], zy=xs[0][2])
        return dict(xs=xs, dim=dim, sy=random_scale(rng, kind), zy=zp())
    ones = ((1, 0, 1, 1), (0, 0, 1, 1), (1, 1, 0, 0), (0, 1, 0, 0), (1, 0, 0, 0),
            (0, 0, 0, 1))[int(rng.integers(0, 6))]  # (n, c, h, w): 1 where b broadcasts
    full = (n, c, h, w)
    small = tuple(1 if o else d for o, d in zip(ones, full))
    sa, sb = random_scale(rng, kind), random_scale(rng, kind)
    a, b = ints(full), ints(small)
    if idx % 2:
        a, b = b, a
    return dict(a=a, b=b, sa=sa, sb=sb, sy=random_scale(rng, kind), za=zp(), zb=zp(), zy=zp())


def write_qops_axes(writer_cls, cpu_line, seed=20261207, per_combo=12):
    """PyTorch's cat along dims 0-3 and its broadcasting add (both engines, both dtypes):
    checked against the formulas of the module docstring (quint8 adds that broadcast run
    PyTorch's own kernel under qnnpack too), written as qops_axes.txt. qint8 adds that
    broadcast under qnnpack run XNNPACK's add, which crashes PyTorch 1.13 on some shapes: not
    run."""
    torch.set_num_threads(1)
    rng = np.random.default_rng(seed)
    records, bad, refused, skipped = [], [], {}, {}
    for eng in ENGINES:
        torch.backends.quantized.engine = eng
        for op in ("cat", "add", "add_relu"):
            for dname, (_, tdt, lo, hi) in DTYPES.items():
                for idx in range(per_combo):
                    t = make_axes_case(rng, op, lo, hi, idx)
                    key = (eng, op, dname)
                    ref = reference(op, t, lo, hi)
                    if eng == "qnnpack" and op != "cat" and dname == "qint8":
                        # PyTorch 1.13's XNNPACK add fails on some broadcasting shapes and
                        # corrupts its heap on others: not run here (qeq keeps XNNPACK's
                        # rule; python/tests/test_layout.py checks the shapes that work).
                        skipped[key] = skipped.get(key, 0) + 1
                        continue
                    try:
                        y = run_torch(op, t, tdt).int_repr().numpy().astype(np.int64)
                    except RuntimeError:
                        if eng != "qnnpack":
                            raise
                        refused[key] = refused.get(key, 0) + 1
                        continue
                    if y.shape != ref.shape or not (y == ref).all():
                        bad.append((key, idx))
                        continue
                    fields = record(op, eng, dname, t, y)
                    if op != "cat" and np.shape(t["a"]) != np.shape(t["b"]):
                        fields["b_shape"] = ("i", shape4(t["b"]))
                        fields["b_scale"], fields["b_zp"] = fields.pop("b_scale"), fields.pop("b_zp")
                    records.append((f"{op}_{eng}_{dname}_{idx}", fields))
    torch.backends.quantized.engine = "onednn"
    if bad:
        raise SystemExit(f"PyTorch disagrees with the formulas on {bad}; nothing written")
    w = writer_cls("qops_axes.txt")
    w.lines.append(cpu_line())
    w.lines.append("# ops: cat (2, axis = PyTorch's NCHW dim), add (0), add_relu (1) with "
                   "broadcasting (b_shape when it differs from a_shape); dtype quint8 (0), "
                   "qint8 (1); shapes n h w c; tensors NHWC")
    for (eng, op, dname), count in sorted(refused.items()):
        w.lines.append(f"# refused by PyTorch: {eng} {op} {dname}: {count} of {per_combo} cases")
    for (eng, op, dname), count in sorted(skipped.items()):
        w.lines.append(f"# not run: {eng} {op} {dname} (XNNPACK's broadcasting add): {count} "
                       "cases")
    for name, fields in records:
        w.case(name, **fields)
    w.close()
