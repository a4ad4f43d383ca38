"""PyTorch's quantized reference models end to end (models.txt): the procedures of
docs/numerics.md#model-numerics-sqnr (QuantWrapper, fuse, prepare, calibrate, convert; the
results are kept) under both engines; used by generate.py (`generate.py models` writes only
this file).

Per model the file holds: the float parameters and buffers before fusion (state_dict names,
'.' -> '_'), the CPU generator's mt19937 state right before the calibration data is drawn
(the data itself is not committed: the C test regenerates it, checked against the samples and
the exact sums exported here; torch.rand's float is (draw & (2^24 - 1)) * 2^-24, verified
below), the float model's output on the eval data, and per engine every observer's min/max and
qparams, every quantized layer's weight qparams, the quantized outputs (int8 + scale/zp) on
the eval data and on the first calibration samples, and the SQNR.

Every quantized Conv2d / Linear of the converted model is checked against the formula for its
engine (docs/numerics.md#gemm-and-convolution-requantization; numpy, from the layer's int8
input and weights, captured with hooks); the script stops instead of writing if any output
disagrees. This is what shows that the onednn fixtures made on this CPU (see the cpu line)
follow the formula qeq implements.
"""
import copy
import struct

import numpy as np
import torch
import torch.nn as nn

import conv_cases as cc
import gemm_cases as gc

f32 = np.float32
SUBSET = 16  # quantized outputs are also exported for this many calibration samples


# ---------------------------------------------------------------- the models
# Written here from docs/numerics.md#model-list (torch.testing's module needs expecttest, not
# packaged in Debian): the layers are created in the same order, so a seed gives the same weights.
class _MultipleOpsLayers(nn.Module):
    """The layers both ModelMultipleOps variants create, in their order (only conv1, conv2
    and fc draw from the generator), with `pool` created before fc."""

    def __init__(self, pool_name, pool):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 3, (1, 1), bias=False)
        self.conv2 = nn.Conv2d(3, 3, (1, 1), bias=False)
        self.bn1 = nn.BatchNorm2d(3)
        self.relu1 = nn.ReLU()
        self.relu2 = nn.ReLU()
        self.skip_add = nn.quantized.FloatFunctional()
        self.cat = nn.quantized.FloatFunctional()
        setattr(self, pool_name, pool)
        self.fc = nn.Linear(12, 6)

    def tail(self, out):
        """conv2, max_pool2d(2, 2), cat [out, out] on the batch, reshape(-1, 12), fc."""
        out = torch.nn.functional.max_pool2d(self.conv2(out), 2, 2)
        return self.fc(self.cat.cat([out, out]).reshape(-1, 12))


class ModelMultipleOps(_MultipleOpsLayers):
    def __init__(self):
        super().__init__("avgpool", nn.AdaptiveAvgPool2d((4, 4)))
        self.downsample = nn.Identity()

    def forward(self, x):
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.relu2(self.skip_add.add(out, self.downsample(x)))
        return self.tail(self.avgpool(out))


class ModelMultipleOpsNoAvgPool(_MultipleOpsLayers):
    def __init__(self):
        super().__init__("maxpool", nn.MaxPool2d((4, 4)))

    def forward(self, x):
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.relu2(self.skip_add.add(out, self.conv2(x)))
        return self.tail(self.maxpool(out))


class ConvReluConvModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Conv2d(3, 5, 3)
        self.relu = nn.ReLU()
        self.fc2 = nn.Conv2d(5, 5, 1)

    def forward(self, x):
        return self.fc2(self.relu(self.fc1(x)))


class ModelForFusionWithBias(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 2, 5, bias=True)
        self.bn1 = nn.BatchNorm2d(2)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(2, 2, 1, bias=True)
        self.bn2 = nn.BatchNorm2d(2)
        self.quant = torch.ao.quantization.QuantStub()
        self.dequant = torch.ao.quantization.DeQuantStub()

    def forward(self, x):
        x = self.relu1(self.bn1(self.conv1(self.quant(x))))
        return self.dequant(self.bn2(self.conv2(x)))



class DepthwiseSeparable(nn.Module):
    """Conv 3x3 depthwise + BN + ReLU, Conv 1x1 + BN + ReLU (MobileNet's block), 4 -> 6
    channels; quant/dequant inside, as ModelForFusionWithBias."""

    def __init__(self):
        super().__init__()
        self.quant = torch.ao.quantization.QuantStub()
        self.dw = nn.Conv2d(4, 4, 3, padding=1, groups=4, bias=False)
        self.bn1 = nn.BatchNorm2d(4)
        self.relu1 = nn.ReLU()
        self.pw = nn.Conv2d(4, 6, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(6)
        self.relu2 = nn.ReLU()
        self.dequant = torch.ao.quantization.DeQuantStub()
        with torch.no_grad():  # non-trivial batch-norm statistics, so folding matters
            for bn in (self.bn1, self.bn2):
                c = bn.num_features
                bn.running_mean.copy_(torch.rand(c) - 0.5)
                bn.running_var.copy_(torch.rand(c) + 0.5)
                bn.weight.copy_(torch.rand(c) + 0.5)
                bn.bias.copy_(torch.rand(c) - 0.5)

    def forward(self, x):
        x = self.quant(x)
        x = self.relu1(self.bn1(self.dw(x)))
        x = self.relu2(self.bn2(self.pw(x)))
        return self.dequant(x)


# name, class, qconfig, seed, calibration batch, eval batch, input shape (C, H, W), fusion,
# wrap in QuantWrapper (models without their own QuantStub)
MODELS = [
    ("mmo_pt", ModelMultipleOps, "default_qconfig", 42, 1024, 1, (3, 15, 15),
     [["conv1", "bn1", "relu1"]], True),
    ("mmo_pc", ModelMultipleOps, "default_per_channel_qconfig", 67, 2048, 10, (3, 15, 15),
     [["conv1", "bn1", "relu1"]], True),
    ("crc", ConvReluConvModel, "default_qconfig", 7, 256, 4, (3, 5, 5), [["fc1", "relu"]], True),
    ("ffwb", ModelForFusionWithBias, "default_per_channel_qconfig", 11, 256, 4, (3, 9, 9),
     [["conv1", "bn1", "relu1"], ["conv2", "bn2"]], False),
    ("dws", DepthwiseSeparable, "default_per_channel_qconfig", 13, 256, 4, (4, 8, 8),
     [["dw", "bn1", "relu1"], ["pw", "bn2", "relu2"]], False),
]


def key(name):
    return name.replace("module.", "").replace(".", "_")


def rng_state():
    """(left, next, 624 state words) of the CPU generator (ATen's CPUGeneratorImplState:
    seed u64, left i32, seeded i32, next u64, state u64[624], ...)."""
    b = bytes(torch.get_rng_state().tolist())
    _, left, _, nxt = struct.unpack_from("<QiiQ", b, 0)
    return left, nxt, [v & 0xFFFFFFFF for v in struct.unpack_from("<624Q", b, 24)]


class MT19937:
    """ATen's mt19937 stepping from a decoded state: the reference the C copy follows."""

    def __init__(self, left, nxt, state):
        self.left, self.next, self.s = left, nxt, list(state)

    def _regen(self):
        s, n, m = self.s, 624, 397
        for i in range(n):
            y = (s[i] & 0x80000000) | (s[(i + 1) % n] & 0x7FFFFFFF)
            s[i] = s[(i + m) % n] ^ (y >> 1) ^ (0x9908B0DF if s[(i + 1) % n] & 1 else 0)
        self.left, self.next = n, 0

    def draws(self, count):
        out = np.empty(count, np.uint32)
        for i in range(count):
            self.left -= 1
            if self.left == 0:
                self._regen()
            y = self.s[self.next]
            self.next += 1
            y ^= y >> 11
            y ^= (y << 7) & 0x9D2C5680
            y ^= (y << 15) & 0xEFC60000
            y ^= y >> 18
            out[i] = y
        return out


def check_rand_formula(state, data):
    """torch.rand == (draw & (2^24 - 1)) * 2^-24 on the first draws (Python is slow: the
    C test checks all of them against the exact sum)."""
    count = min(20000, data.numel())
    ints = MT19937(*state).draws(count) & ((1 << 24) - 1)
    ref = (ints.astype(np.float64) * 2.0 ** -24).astype(f32)
    if not np.array_equal(ref, data.reshape(-1)[:count].numpy()):
        raise SystemExit("torch.rand does not follow the mt19937 formula; models.txt not written")


def units(t):
    """The data in units of 2^-24 (exact integers) and their exact sum."""
    u = np.round(t.reshape(-1).numpy().astype(np.float64) * 2.0 ** 24).astype(np.int64)
    return u, int(u.sum())


def flat(t):
    return t.detach().reshape(-1).tolist()


def quantized_layers(model):
    import torch.ao.nn.quantized as nnq
    import torch.nn.intrinsic.quantized as nniq
    kinds = (nnq.Conv2d, nnq.Linear, nniq.ConvReLU2d, nniq.LinearReLU)
    return [(n, m) for n, m in model.named_modules() if type(m) in kinds]


def check_layer(engine, mod, xq, yq):
    """The engine's formula (docs/numerics.md#gemm-and-convolution-requantization) for one
    converted layer against its PyTorch output."""
    import torch.nn.intrinsic.quantized as nniq
    relu = isinstance(mod, (nniq.ConvReLU2d, nniq.LinearReLU))
    w = mod.weight()
    if w.qscheme() in (torch.per_channel_affine, torch.per_channel_symmetric):
        s_w = w.q_per_channel_scales().float().numpy()
        w_zp = w.q_per_channel_zero_points().numpy()
    else:
        s_w, w_zp = np.array([w.q_scale()], f32), np.array([w.q_zero_point()])
    bias = mod.bias()
    bias = None if bias is None else bias.detach().numpy().astype(f32)
    wq = w.int_repr().numpy().astype(np.int64)
    x = xq.int_repr().numpy().astype(np.int64)
    s_x, x_zp = xq.q_scale(), xq.q_zero_point()
    got = yq.int_repr().numpy().astype(np.int64)
    if wq.ndim == 2:
        fn = gc.static_qnnpack if engine == "qnnpack" else gc.static_onednn
        ref = fn(x, s_x, x_zp, wq, s_w, w_zp, bias, mod.scale, mod.zero_point, relu)
    else:
        kh, kw = mod.kernel_size
        geo = (kh, kw, *mod.stride, *mod.padding, *mod.dilation)
        ref, _ = cc.reference(dict(engine=engine, xq=x, s_x=s_x, x_zp=x_zp, wq=wq,
                                   s_w=list(s_w), w_zp=list(w_zp), bias=bias, s_y=mod.scale,
                                   y_zp=mod.zero_point, relu=relu, geo=geo, groups=mod.groups))
    return int((ref != got).sum()), got.size


def checked_run(q, engine, datas, wrap):
    """q's quantized outputs on each data, with every quantized Conv2d / Linear call (the last
    one, for a module called twice) checked against the engine's formula: (outputs,
    [mismatches, total])."""
    mism = [0, 0]
    seen = {}

    def hook(mod, inp, out):
        seen[mod] = (inp[0], out)

    layers = quantized_layers(q)
    handles = [m.register_forward_hook(hook) for _, m in layers]
    outputs = []
    for data in datas:
        seen.clear()
        y = q.module(q.quant(data)) if wrap else q(data)
        if not wrap:  # the model dequantizes itself: take the quantized tensor before it
            y = seen_last_quantized(q, data)
        outputs.append(y)
        for n, m in layers:
            bad, tot = check_layer(engine, m, *seen[m])
            mism[0] += bad
            mism[1] += tot
    for h in handles:
        h.remove()
    return outputs, mism


def quantize_model(float_model, engine, spec, calib, eval_data, out_ref):
    name, _, qconfig, _, _, _, _, fusion, wrap = spec
    torch.backends.quantized.engine = engine
    q = copy.deepcopy(float_model)
    if wrap:
        q = torch.ao.quantization.QuantWrapper(q)
    q.eval()
    q.qconfig = getattr(torch.ao.quantization, qconfig)
    torch.ao.quantization.fuse_modules(q.module if wrap else q, fusion, inplace=True)
    torch.ao.quantization.prepare(q, inplace=True)
    q(calib)
    fields = {}
    for n, m in q.named_modules():
        if hasattr(m, "activation_post_process") and n.split(".")[-1] != "activation_post_process":
            obs = m.activation_post_process
            s, z = obs.calculate_qparams()
            fields["act_" + key(n or "root")] = ("f", [float(obs.min_val), float(obs.max_val),
                                                       float(s), int(z)])
    torch.ao.quantization.convert(q, inplace=True)
    outputs, mism = checked_run(q, engine, (eval_data, calib[:SUBSET]), wrap)
    layers = quantized_layers(q)
    for n, m in layers:
        w = m.weight()
        if w.qscheme() in (torch.per_channel_affine, torch.per_channel_symmetric):
            s_w = w.q_per_channel_scales().float()
        else:
            s_w = torch.tensor([w.q_scale()])
        fields["w_" + key(n)] = ("f", flat(s_w))
    ye, ys = outputs
    sqnr = 20 * torch.log10(torch.norm(out_ref) / torch.norm(out_ref - ye.dequantize()))
    fields.update(y_qparams=("f", [ye.q_scale(), ye.q_zero_point()]),
                  y_eval=("i", flat(ye.int_repr())), y_subset=("i", flat(ys.int_repr())),
                  sqnr=("f", [float(sqnr)]))
    print(f"models {name} {engine}: SQNR {float(sqnr):.3f} dB; layers vs the engine formula: "
          f"{mism[0]} mismatches / {mism[1]} outputs")
    if mism[0]:
        raise SystemExit(f"{name} {engine}: PyTorch disagrees with the engine formula; models.txt not written")
    return fields


def seen_last_quantized(q, data):
    """Output of a model that ends in its own DeQuantStub, still quantized."""
    box = []
    h = q.dequant.register_forward_hook(lambda m, i, o: box.append(i[0]))
    q(data)
    h.remove()
    return box[0]


def float_fields(model, state, calib, eval_data, out_ref):
    """The float case: data sizes, generator state, data checks, output, parameters."""
    cu, csum = units(calib)
    left, nxt, words = state
    fields = dict(shape=("i", [calib.shape[0], eval_data.shape[0], *calib.shape[1:]]),
                  rng_left=("i", [left]), rng_next=("i", [nxt]), rng_state=("i", words),
                  calib_head=("i", cu[:8]), calib_sum=("i", [csum]),
                  eval_sum=("i", [units(eval_data)[1]]), y_float=("f", flat(out_ref)))
    for k, v in model.state_dict().items():
        if v.dtype == torch.float32:
            fields["p_" + key(k)] = ("f", flat(v))
    return fields


def model_case(spec):
    name, cls, _, seed, n_calib, n_eval, shape, _, _ = spec
    torch.manual_seed(seed)
    model = cls().to(torch.float32)
    model.eval()
    state = rng_state()
    calib = torch.rand(n_calib, *shape, dtype=torch.float32)
    eval_data = torch.rand(n_eval, *shape, dtype=torch.float32)
    check_rand_formula(state, calib)
    out_ref = model(eval_data)
    cases = [(f"{name}_float", float_fields(model, state, calib, eval_data, out_ref))]
    for engine in gc.ENGINES:
        f = quantize_model(model, engine, spec, calib, eval_data, out_ref)
        f["engine"] = ("i", [gc.ENGINES[engine]])
        cases.append((f"{name}_{engine}", f))
    return cases


def write_models(writer_cls):
    torch.set_num_threads(1)
    w = writer_cls("models.txt")
    gc.require_exact_onednn("models.txt")
    w.lines.append(gc.cpu_line())
    w.lines.append("# data: torch.rand = (mt19937 draw & (2^24 - 1)) * 2^-24 from rng_state "
                   "(left, next, words); sums and heads in units of 2^-24")
    for spec in MODELS:
        for name, fields in model_case(spec):
            w.case(name, **fields)
    for name, fields in qat_cases():
        w.case(name, **fields)
    w.close()


# ---------------------------------------------------------------- fake quantization
def fake_quant_fields(model):
    """Every FakeQuantize's [min, max, scale, zero point] after calibration."""
    from torch.ao.quantization.fake_quantize import FakeQuantize
    fields = {}
    for n, m in model.named_modules():
        if isinstance(m, FakeQuantize):
            n = n.replace("activation_post_process", "act").replace("weight_fake_quant", "wfq")
            obs = m.activation_post_process
            fields["fq_" + key(n)] = ("f", [float(obs.min_val), float(obs.max_val),
                                            float(m.scale), int(m.zero_point)])
    return fields


def qat_prepare(model, qconfig, calib):
    """test_model_numerics.py's procedure: fuse_modules_qat, prepare_qat, eval, observers on
    with fake quant off and BN statistics frozen, calibrate, then fake quant on, observers off.
    The prepare_qat result is kept (upstream discards it: docs/numerics.md#model-numerics-sqnr)."""
    fq = torch.ao.quantization.QuantWrapper(copy.deepcopy(model))
    fq.train()
    fq.qconfig = getattr(torch.ao.quantization, qconfig)
    torch.ao.quantization.fuse_modules_qat(fq.module, [["conv1", "bn1", "relu1"]], inplace=True)
    torch.ao.quantization.prepare_qat(fq, inplace=True)
    fq.eval()
    fq.apply(torch.ao.quantization.disable_fake_quant)
    fq.apply(torch.nn.intrinsic.qat.freeze_bn_stats)
    fq(calib)
    fq.apply(torch.ao.quantization.enable_fake_quant)
    fq.apply(torch.ao.quantization.disable_observer)
    return fq


def sqnr_db(ref, x, tiny=0.0):
    return float(20 * torch.log10(torch.norm(ref) / (torch.norm(ref - x) + tiny)))


def nap_float_case(name, data_first):
    """ModelMultipleOpsNoAvgPool with seed 67: the fake-quant vs true test creates the model
    before drawing the data, the weight-only / activation-only test after (for the first
    qconfig its set yields: the 48.796 and 39.932 dB of docs/numerics.md#model-numerics-sqnr are
    each that first model's)."""
    torch.manual_seed(67)
    if not data_first:
        model = ModelMultipleOpsNoAvgPool().to(torch.float32)
    state = rng_state()
    calib = torch.rand(2048, 3, 15, 15, dtype=torch.float32)
    eval_data = torch.rand(10, 3, 15, 15, dtype=torch.float32)
    check_rand_formula(state, calib)
    if data_first:
        model = ModelMultipleOpsNoAvgPool().to(torch.float32)
    model.eval()
    out_ref = model(eval_data)
    return model, calib, eval_data, out_ref, (f"{name}_float",
                                              float_fields(model, state, calib, eval_data,
                                                           out_ref))


def fake_quant_case(name, mode, model, qconfig, calib, eval_data, out_ref):
    torch.backends.quantized.engine = "onednn"
    fq = qat_prepare(model, qconfig, calib)
    out_fq = fq(eval_data)
    f = fake_quant_fields(fq)
    f.update(y_fq=("f", flat(out_fq)), sqnr=("f", [sqnr_db(out_ref, out_fq)]))
    print(f"models {name} {mode}: fake quant vs float {f['sqnr'][1][0]:.3f} dB")
    return fq, out_fq, (f"{name}_{mode}", f)


def qat_cases():
    """The fake-quantization rows of docs/numerics.md#model-numerics-sqnr on
    ModelMultipleOpsNoAvgPool."""
    model, calib, eval_data, out_ref, case = nap_float_case("nap", data_first=False)
    fq, out_fq, qat = fake_quant_case("nap", "qat", model, "default_qat_qconfig", calib,
                                      eval_data, out_ref)
    cases = [case, qat]
    for engine in gc.ENGINES:
        torch.backends.quantized.engine = engine
        q = copy.deepcopy(fq)
        torch.ao.quantization.convert(q, inplace=True)
        outs, mism = checked_run(q, engine, (eval_data, calib[:SUBSET]), True)
        db = sqnr_db(out_fq, outs[0].dequantize(), 1e-10)
        print(f"models nap {engine}: fake quant vs true quant {db:.2f} dB; layers vs the engine formula: "
              f"{mism[0]} mismatches / {mism[1]} outputs")
        if mism[0]:
            raise SystemExit(f"nap {engine}: PyTorch disagrees with the engine formula; models.txt not written")
        cases.append((f"nap_{engine}", dict(
            engine=("i", [gc.ENGINES[engine]]),
            y_qparams=("f", [outs[0].q_scale(), outs[0].q_zero_point()]),
            y_eval=("i", flat(outs[0].int_repr())), y_subset=("i", flat(outs[1].int_repr())),
            sqnr_fq_q=("f", [db]))))
    model, calib, eval_data, out_ref, case = nap_float_case("napw", data_first=True)
    cases.append(case)
    for mode, qconfig in (("wonly", "default_weight_only_qconfig"),
                          ("aonly", "default_activation_only_qconfig")):
        cases.append(fake_quant_case("napw", mode, model, qconfig, calib, eval_data, out_ref)[2])
    return cases
