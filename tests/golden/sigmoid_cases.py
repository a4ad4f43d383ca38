"""Quantized sigmoid fixtures (sigmoid.txt): PyTorch 1.13's torch.sigmoid on every input level
(all 256) for a list of input qparams, quint8 and qint8, under both engines; used by
generate.py (`generate.py sigmoid` writes only this file).

What PyTorch runs: under qnnpack a quint8 tensor goes through QNNPACK's lookup table (built
when the operator is created, with the C library's expf); everything else runs ATen's
vectorised kernel, whose vector body and scalar tail compute e^-x differently
(docs/numerics.md#sigmoid). The levels are laid out twice in one tensor of 512 elements, a
multiple of the vector loop's step under AVX2 (64) and AVX-512 (128), so every output comes
from the vector body; the script checks that both copies agree. Each level is also run alone
(a 1-element tensor is all tail) and the count of tail outputs that differ from the body is
reported in the file's header, not written.

Every output is first checked against float64 sigmoid (within one level: the kernels' float32
steps round differently, and no formula here reproduces their exp); a larger gap stops the
script before it writes. The C test holds qeq to these outputs exactly.
"""
import numpy as np
import torch

ENGINES = {"onednn": 0, "qnnpack": 1}
DTYPES = {"quint8": (0, torch.quint8, np.uint8, 0, 255, 0),
          "qint8": (1, torch.qint8, np.int8, -128, 127, -128)}

# (dtype, scale, zero point) where a float step changes an output, found by a search over
# random qparams: the vector body's fused dequantization against s * (q - z) ("dequant"), its
# exp against the C library's expf ("exp"), and the quint8 engines against each other
# ("engine": the first two also differ there).
PINNED = [
    ("quint8", float.fromhex("0x1.1c71d00000000p-5"), 147),   # dequant, engine: level 176
    ("quint8", float.fromhex("0x1.001b3a0000000p-7"), 142),   # dequant, engine: level 133
    ("qint8", float.fromhex("0x1.c655a40000000p-4"), -74),    # dequant: level -86
    ("qint8", float.fromhex("0x1.4105f20000000p-6"), 20),     # dequant: level 30
    ("quint8", float.fromhex("0x1.46bdac0000000p-10"), 239),  # exp: level 31
    ("quint8", float.fromhex("0x1.8ce76c0000000p-7"), 67),    # exp: level 39
    ("qint8", float.fromhex("0x1.14972c0000000p-6"), 101),    # exp: level 123
    ("qint8", float.fromhex("0x1.7c4fe60000000p-9"), 127),    # exp: level -1
]


def qparam_list(rng):
    out = list(PINNED)
    for dname, (_, _, _, lo, hi, _) in DTYPES.items():
        mid = (lo + hi + 1) // 2
        out += [(dname, 1e-5, mid), (dname, 0.0625, mid), (dname, 0.125, lo + 3),
                (dname, 0.5, hi - 7), (dname, 2.0, mid), (dname, 100.0, lo + 1)]
        for _ in range(6):
            s = float(np.float32(np.exp(rng.uniform(np.log(1e-3), np.log(1.0)))))
            out.append((dname, s, int(rng.integers(lo, hi + 1))))
    return out


def sigmoid_levels(levels, scale, zp, dtype):
    x = torch._make_per_tensor_quantized_tensor(torch.from_numpy(levels), scale, zp)
    y = torch.sigmoid(x)
    assert y.q_scale() == 1.0 / 256.0, y.q_scale()
    return y, y.int_repr().numpy().astype(np.int64)


def write_sigmoid(writer_cls, cpu_line, seed=20261207):
    torch.set_num_threads(1)
    rng = np.random.default_rng(seed)
    records, tail, bad = [], {}, []
    # float32 scales: both of PyTorch's kernels take the scale as a float, and so does qeq
    params = [(d, float(np.float32(s)), z) for d, s, z in qparam_list(rng)]
    for eng in ENGINES:
        torch.backends.quantized.engine = eng
        for idx, (dname, scale, zp) in enumerate(params):
            _, _, npdt, lo, hi, y_zp = DTYPES[dname]
            levels = np.arange(lo, hi + 1).astype(npdt)
            yq, y2 = sigmoid_levels(np.tile(levels, 2), scale, zp, npdt)
            assert yq.q_zero_point() == y_zp, (eng, dname, yq.q_zero_point())
            y = y2[:256]
            deq = scale * (levels.astype(np.float64) - zp)
            near = np.clip(np.rint(256.0 / (1.0 + np.exp(-deq))) + y_zp, lo, hi)
            if not (y2[256:] == y).all() or np.abs(y - near).max() > 1:
                bad.append((eng, dname, scale, zp))
                continue
            alone = np.array([sigmoid_levels(levels[i:i + 1], scale, zp, npdt)[1][0]
                              for i in range(256)])
            t = tail.setdefault((eng, dname), [0, 0])
            t[0] += int((alone != y).sum())
            t[1] += 256
            records.append((f"sigmoid_{eng}_{dname}_{idx}", dict(
                engine=("i", [ENGINES[eng]]), dtype=("i", [DTYPES[dname][0]]),
                x_scale=("f", [scale]), x_zp=("i", [zp]),
                y=("i", y))))
    if bad:
        raise SystemExit(f"PyTorch's sigmoid is more than a level from float64 on {bad}; "
                         "nothing written")
    w = writer_cls("sigmoid.txt")
    w.lines.append(cpu_line())
    w.lines.append("# dtype quint8 (0), qint8 (1); x holds every level from the dtype's minimum up; "
                   "y is PyTorch's vector-body output at (1/256, 0) or (1/256, -128)")
    for (eng, dname), (nb, tot) in sorted(tail.items()):
        if (eng, dname) == ("qnnpack", "quint8"):
            continue  # QNNPACK's table: no vector body or tail
        w.lines.append(f"# not fixtures: {eng} {dname} scalar tail differs from the vector body "
                       f"on {nb} of {tot} outputs")
    for name, fields in records:
        w.case(name, **fields)
    w.close()
    for line in w.lines[2:]:
        if line.startswith("# not fixtures"):
            print(line)
