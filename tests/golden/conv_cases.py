"""Int8 convolution fixtures (conv.txt): PyTorch 1.13's quantized Conv2d, ConvReLU2d and
Conv1d under both engines; used by generate.py (`generate.py conv` writes only this file).

Every PyTorch output is first checked against the GEMM formulas of gemm_cases.py applied to
the im2col matrix of each group (padding taps read the input zero point); the script stops
instead of writing if any output disagrees, so conv.txt also records that PyTorch's
convolutions requantize exactly as its Linear does. Tensors are written channels last:
xq [N][H][W][C], yq [N][OH][OW][O]; weights in PyTorch's [O][C/groups][kh][kw].
Every PyTorch call runs in a forked child (gemm_cases.isolated): fresh engine caches.
"""
import numpy as np
import torch

import gemm_cases as gc

f32 = np.float32


def im2col(xq, x_zp, geo, group, cg):
    """Rows (n, oy, ox), columns (c, ky, kx) of one group; padding reads x_zp. xq is NCHW."""
    kh, kw, sh, sw, ph, pw, dh, dw = geo
    n, _, h, w = xq.shape
    xp = np.full((n, cg, h + 2 * ph, w + 2 * pw), x_zp, np.int64)
    xp[:, :, ph:ph + h, pw:pw + w] = xq[:, group * cg:(group + 1) * cg]
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    cols = np.empty((n, oh, ow, cg, kh, kw), np.int64)
    for ky in range(kh):
        for kx in range(kw):
            y0, x0 = ky * dh, kx * dw
            cols[:, :, :, :, ky, kx] = xp[:, :, y0:y0 + sh * (oh - 1) + 1:sh,
                                          x0:x0 + sw * (ow - 1) + 1:sw].transpose(0, 2, 3, 1)
    return cols.reshape(n * oh * ow, cg * kh * kw), oh, ow


def reference(spec):
    """The GEMM formulas per group: (yq as NCHW, exact-half requantizations)."""
    s = spec
    o, cg = s["wq"].shape[0], s["wq"].shape[1]
    og = o // s["groups"]
    n = s["xq"].shape[0]
    s_w = np.broadcast_to(np.asarray(s["s_w"], f32), (o,))
    w_zp = np.broadcast_to(np.asarray(s["w_zp"]), (o,))
    outs, ties = [], 0
    for g in range(s["groups"]):
        cols, oh, ow = im2col(s["xq"], s["x_zp"], s["geo"], g, cg)
        sl = slice(g * og, (g + 1) * og)
        wq = s["wq"][sl].reshape(og, -1)
        bias = None if s["bias"] is None else s["bias"][sl]
        ties += gc.count_ties(dict(engine=s["engine"], x_dtype=0, xq=cols, s_x=s["s_x"],
                                   x_zp=s["x_zp"], wq=wq, s_w=list(s_w[sl]),
                                   w_zp=list(w_zp[sl]), bias=bias, s_y=s["s_y"]))
        if s["engine"] == "qnnpack":
            y = gc.static_qnnpack(cols, s["s_x"], s["x_zp"], wq, s_w[sl], w_zp[sl], bias,
                                  s["s_y"], s["y_zp"], s["relu"])
        else:
            y = gc.static_onednn(cols, s["s_x"], s["x_zp"], wq, s_w[sl], w_zp[sl], bias,
                                 s["s_y"], s["y_zp"], s["relu"])
        outs.append(y.reshape(n, oh, ow, og))
    return np.concatenate(outs, axis=3).transpose(0, 3, 1, 2), ties


def _torch_conv(engine, dim, xq, s_x, x_zp, wq, s_w, w_zp, bias, s_y, y_zp, relu, pc, geo,
                groups):
    import torch.ao.nn.quantized as nnq
    import torch.nn.intrinsic.quantized as nniq  # not under torch.ao in 1.13
    torch.set_num_threads(1)
    torch.backends.quantized.engine = engine
    kh, kw, sh, sw, ph, pw, dh, dw = geo
    o, cg = wq.shape[0], wq.shape[1]
    w = torch.tensor(np.asarray(wq), dtype=torch.int8)
    x = torch.tensor(np.asarray(xq), dtype=torch.uint8)
    if dim == 1:  # Conv1d: H is 1
        w, x = w[:, :, 0, :], x[:, :, 0, :]
        mod = (nniq.ConvReLU1d if relu else nnq.Conv1d)(cg * groups, o, kw, sw, pw, dw, groups,
                                                         bias is not None)
    else:
        mod = (nniq.ConvReLU2d if relu else nnq.Conv2d)(cg * groups, o, (kh, kw), (sh, sw),
                                                         (ph, pw), (dh, dw), groups,
                                                         bias is not None)
    if pc:
        wt = torch._make_per_channel_quantized_tensor(
            w, torch.tensor(np.asarray(s_w, np.float64)), torch.tensor(np.asarray(w_zp)), 0)
    else:
        wt = torch._make_per_tensor_quantized_tensor(w, float(s_w[0]), int(w_zp[0]))
    mod.set_weight_bias(wt, None if bias is None else torch.tensor(np.asarray(bias, f32)))
    mod.scale, mod.zero_point = s_y, y_zp
    y = mod(torch._make_per_tensor_quantized_tensor(x, s_x, x_zp)).int_repr()
    if dim == 1:
        y = y.unsqueeze(2)
    return y.numpy().astype(np.int64)


def conv_case(rng, engine, dim, n, c, o, hw, kernel, stride, pad, dil, groups, pc, has_bias,
              relu, x_zp, y_zp, w_zp_nonzero=False, ties=False):
    cg = c // groups
    h, w = (1, hw) if dim == 1 else (hw, hw)
    kh, kw = (1, kernel) if dim == 1 else kernel
    geo = (kh, kw, 1 if dim == 1 else stride[0], stride[1], 0 if dim == 1 else pad[0], pad[1],
           1 if dim == 1 else dil[0], dil[1])
    qc = o if pc else 1
    if ties:  # power-of-two scales and small integers: requantization lands on exact halves
        s_x = 2.0 ** -int(rng.integers(3, 7))
        s_w = [2.0 ** -int(rng.integers(4, 8)) for _ in range(qc)]
        xq = np.clip(x_zp + rng.integers(-3, 4, (n, c, h, w)), 0, 255)
        wq = rng.integers(-3, 4, (o, cg, kh, kw))
    else:
        s_x = gc.f32s(np.exp(rng.uniform(np.log(1e-3), np.log(0.1))))
        s_w = [gc.f32s(np.exp(rng.uniform(np.log(1e-3), np.log(0.05)))) for _ in range(qc)]
        xq = rng.integers(0, 256, (n, c, h, w))
        wq = rng.integers(-128, 128, (o, cg, kh, kw))
    w_zp = [int(v) for v in rng.integers(-20, 21, qc)] if w_zp_nonzero else [0] * qc
    spec = dict(engine=engine, dim=dim, xq=xq, s_x=s_x, x_zp=x_zp, wq=wq, s_w=s_w, w_zp=w_zp,
                bias=None, s_y=1.0, y_zp=y_zp, relu=relu, pc=pc, geo=geo, groups=groups)
    real = acc_spread(spec)  # the output scale follows the spread of the real accumulators
    if ties:
        spec["s_y"] = 2.0 ** round(np.log2(real / 24))
        half = s_x * min(s_w) / 2
        spec["bias"] = (rng.integers(-60, 61, o) * half).astype(f32) if has_bias else None
    else:
        spec["s_y"] = gc.f32s(real / 40 * rng.uniform(0.7, 1.4))
        spec["bias"] = (rng.standard_normal(o) * real).astype(f32) if has_bias else None
    return spec


def acc_spread(spec):
    """std + mean |.| of the real-valued accumulators (s_x s_w acc) of a spec."""
    s = spec
    o, cg = s["wq"].shape[0], s["wq"].shape[1]
    og = o // s["groups"]
    s_w = np.broadcast_to(np.asarray(s["s_w"], np.float64), (o,))
    w_zp = np.broadcast_to(np.asarray(s["w_zp"]), (o,))
    vals = []
    for g in range(s["groups"]):
        cols, _, _ = im2col(s["xq"], s["x_zp"], s["geo"], g, cg)
        sl = slice(g * og, (g + 1) * og)
        acc = gc.acc_of(cols, s["x_zp"], s["wq"][sl].reshape(og, -1), w_zp[sl])
        vals.append(acc * s["s_x"] * s_w[sl].reshape(1, -1))
    real = np.concatenate([v.reshape(-1) for v in vals])
    return float(np.std(real)) + float(np.mean(np.abs(real))) + 1e-6


def conv_plan(rng):
    r = lambda: int(rng.integers(1, 255))  # noqa: E731
    plan = []
    for engine in gc.ENGINES:
        rows = [
            # name, dim, n, c, o, hw, kernel, stride, pad, dil, groups, pc, bias, relu, x_zp, y_zp, ties
            ("3x3_g1_pt", 2, 2, 8, 16, 9, (3, 3), (1, 1), (1, 1), (1, 1), 1, False, True, False, 128, r(), False),
            ("3x3_s2_pc_nobias", 2, 1, 5, 7, 11, (3, 3), (2, 2), (0, 0), (1, 1), 1, True, False, False, r(), r(), False),
            ("3x3_d2_p2_relu_pc", 2, 1, 6, 9, 10, (3, 3), (1, 1), (2, 2), (2, 2), 1, True, True, True, r(), r(), False),
            ("5x5_g2_pc", 2, 1, 8, 6, 9, (5, 5), (1, 1), (2, 2), (1, 1), 2, True, True, False, 0, r(), False),
            ("3x3_g2_s3_pt_relu", 2, 2, 4, 4, 13, (3, 3), (3, 3), (1, 1), (1, 1), 2, False, True, True, 255, r(), False),
            ("dw3x3_pt", 2, 1, 16, 16, 12, (3, 3), (1, 1), (1, 1), (1, 1), 16, False, True, False, r(), r(), False),
            ("dw3x3_x2_s2_pc", 2, 2, 8, 16, 9, (3, 3), (2, 2), (1, 1), (1, 1), 8, True, True, False, r(), r(), False),
            ("dw5x5_pc_relu", 2, 1, 12, 12, 10, (5, 5), (1, 1), (2, 2), (1, 1), 12, True, True, True, r(), r(), False),
            ("dw3x3_d2_pt_nobias", 2, 1, 7, 7, 11, (3, 3), (2, 1), (2, 1), (2, 2), 7, False, False, False, r(), r(), False),
            ("1x1_pc_relu", 2, 2, 32, 24, 7, (1, 1), (1, 1), (0, 0), (1, 1), 1, True, True, True, r(), r(), False),
            ("1x1_s2_pt", 2, 1, 16, 8, 9, (1, 1), (2, 2), (0, 0), (1, 1), 1, False, True, False, r(), r(), False),
            ("1x1_p1_g4_pt", 2, 1, 8, 8, 5, (1, 1), (1, 1), (1, 1), (1, 1), 4, False, True, False, r(), r(), False),
            ("1x3_p01_pc", 2, 1, 6, 10, 8, (1, 3), (1, 2), (0, 1), (1, 1), 1, True, True, False, r(), r(), False),
            ("3x1_pt_relu", 2, 1, 3, 5, 9, (3, 1), (2, 1), (1, 0), (1, 1), 1, False, True, True, r(), r(), False),
            ("clamp_yzp0", 2, 1, 8, 8, 7, (3, 3), (1, 1), (1, 1), (1, 1), 1, True, True, False, r(), 0, False),
            ("clamp_yzp255_relu", 2, 1, 8, 8, 7, (3, 3), (1, 1), (1, 1), (1, 1), 2, False, True, True, r(), 255, False),
            ("ties_3x3_pt", 2, 1, 8, 16, 8, (3, 3), (1, 1), (1, 1), (1, 1), 1, False, True, False, 128, r(), True),
            ("ties_dw3x3_pc", 2, 1, 16, 16, 8, (3, 3), (1, 1), (1, 1), (1, 1), 16, True, True, False, r(), r(), True),
            ("ties_1x1_pc_relu", 2, 1, 24, 16, 6, (1, 1), (1, 1), (0, 0), (1, 1), 1, True, True, True, r(), r(), True),
            ("conv1d_k3_s2_p1_pt", 1, 2, 8, 12, 17, 3, (1, 2), (0, 1), (1, 1), 1, False, True, False, r(), r(), False),
            ("conv1d_k5_d2_pc_relu", 1, 1, 6, 6, 20, 5, (1, 1), (0, 4), (1, 2), 2, True, True, True, r(), r(), False),
            ("conv1d_dw_k3_pt", 1, 1, 8, 8, 15, 3, (1, 1), (0, 1), (1, 1), 8, False, False, False, r(), r(), False),
        ]
        for name, dim, n, c, o, hw, k, st, pd, dl, g, pc, b, relu, xz, yz, ties in rows:
            plan.append((f"{name}_{engine}", conv_case(rng, engine, dim, n, c, o, hw, k, st, pd,
                                                       dl, g, pc, b, relu, xz, yz, ties=ties)))
        if engine == "qnnpack":  # oneDNN refuses weight zero points
            for name, g, pc, ties in [("wzp_3x3_pt", 1, False, False),
                                      ("wzp_3x3_g2_pc", 2, True, False),
                                      ("wzp_dw3x3_pc", 8, True, False),
                                      ("wzp_ties_3x3_pc", 1, True, True)]:
                plan.append((f"{name}_{engine}", conv_case(
                    rng, engine, 2, 1, 8, 8, 8, (3, 3), (1, 1), (1, 1), (1, 1), g, pc, True,
                    False, r(), r(), w_zp_nonzero=True, ties=ties)))
    return plan


def record(spec, yq):
    """yq NCHW from PyTorch; written NHWC."""
    s = spec
    n, c, h, w = s["xq"].shape
    o = s["wq"].shape[0]
    oh, ow = yq.shape[2], yq.shape[3]
    f = dict(engine=("i", [gc.ENGINES[s["engine"]]]), dim=("i", [s["dim"]]),
             shape=("i", [n, h, w, c, o, s["groups"], oh, ow]), geometry=("i", list(s["geo"])),
             x_scale=("f", [s["s_x"]]), x_zp=("i", [s["x_zp"]]),
             xq=("i", s["xq"].transpose(0, 2, 3, 1).reshape(-1)), w_scale=("f", s["s_w"]),
             w_zp=("i", s["w_zp"]), wq=("i", s["wq"].reshape(-1)),
             has_bias=("i", [int(s["bias"] is not None)]))
    if s["bias"] is not None:
        f["bias"] = ("f", s["bias"].tolist())
    f.update(y_scale=("f", [s["s_y"]]), y_zp=("i", [s["y_zp"]]), relu=("i", [int(s["relu"])]),
             yq=("i", yq.transpose(0, 2, 3, 1).reshape(-1)))
    return f


def write_conv(writer_cls, seed=20261125):
    torch.set_num_threads(1)
    rng = np.random.default_rng(seed)
    w = writer_cls("conv.txt")
    gc.require_exact_onednn("conv.txt")
    w.lines.append(gc.cpu_line())
    mism = {e: [0, 0, 0] for e in gc.ENGINES}  # mismatches, outputs, exact halves
    bad, records = [], []
    for name, s in conv_plan(rng):
        yq = gc.isolated(_torch_conv, s["engine"], s["dim"], s["xq"], s["s_x"], s["x_zp"],
                         s["wq"], s["s_w"], s["w_zp"], s["bias"], s["s_y"], s["y_zp"], s["relu"],
                         s["pc"], s["geo"], s["groups"])
        ref, ties = reference(s)
        e = mism[s["engine"]]
        e[2] += ties
        e[0] += int((yq != ref).sum()) if yq.shape == ref.shape else yq.size
        e[1] += yq.size
        if yq.shape != ref.shape or (yq != ref).any():
            bad.append(name)
        records.append((name, record(s, yq)))
    for eng, (nb, tot, ties) in mism.items():
        print(f"conv {eng}: {nb} mismatches / {tot} outputs ({ties} exact-half requantizations)")
    if bad:
        raise SystemExit(f"PyTorch disagrees with the formulas in: {', '.join(bad)}; "
                         "conv.txt not written")
    for name, fields in records:
        w.case(name, **fields)
    w.close()
