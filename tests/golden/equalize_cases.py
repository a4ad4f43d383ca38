"""Equalization and batch-norm folding fixtures (equalize.txt, fold.txt); used by generate.py.

Where PyTorch has the function (cross_layer_equalization for Linear/Conv2d pairs, equalize,
fuse_conv_bn_weights, fuse_linear_bn_weights) the expected values are PyTorch's own output.
Where PyTorch refuses or is wrong (Conv1d/3d, ConvTranspose, grouped and depthwise pairs,
grouped ConvTranspose folding), they come from the same float32 formula written here with
torch tensor ops, and each case is checked with PyTorch's forward pass before it is written:
the equalized pair, or the folded layer, must compute what the original did.
"""
import torch
import torch.nn.functional as F
from torch.ao.quantization import _equalize as eq
from torch.nn.utils.fusion import fuse_conv_bn_weights, fuse_linear_bn_weights

# qeq_layer_kind values
KIND = {"linear": 0, "conv1d": 1, "conv2d": 2, "conv3d": 3, "convT1d": 4, "convT2d": 5,
        "convT3d": 6}


def make_layer(kind, cin, cout, groups=1, bias=True):
    k = {"1d": 3, "2d": 2, "3d": 2}
    if kind == "linear":
        return torch.nn.Linear(cin, cout, bias=bias)
    dim = kind[-2:]
    if kind.startswith("convT"):
        cls = {"1d": torch.nn.ConvTranspose1d, "2d": torch.nn.ConvTranspose2d,
               "3d": torch.nn.ConvTranspose3d}[dim]
    else:
        cls = {"1d": torch.nn.Conv1d, "2d": torch.nn.Conv2d, "3d": torch.nn.Conv3d}[dim]
    return cls(cin, cout, k[dim], groups=groups, bias=bias)


def out_rows(kind, w, groups):
    """The weight as [out_channels, everything else] (a view of the same values)."""
    if kind.startswith("convT"):
        cin, outg = w.shape[0], w.shape[1]
        blocks = w.reshape(groups, cin // groups, outg, -1).permute(0, 2, 1, 3)
        return blocks.reshape(groups * outg, -1)
    return w.reshape(w.shape[0], -1)


def in_rows(kind, w, groups):
    """The weight as [in_channels, everything else]."""
    if kind == "linear":
        return w.t()
    if kind.startswith("convT"):
        return w.reshape(w.shape[0], -1)
    cout, ing = w.shape[0], w.shape[1]
    blocks = w.reshape(groups, cout // groups, ing, -1).permute(0, 2, 1, 3)
    return blocks.reshape(groups * ing, -1)


def scale_out(kind, w, groups, factors):
    """w with each output channel multiplied by its factor (one float32 product each)."""
    if kind.startswith("convT"):
        cin, outg = w.shape[0], w.shape[1]
        f = factors.reshape(groups, 1, outg, 1)
        return (w.reshape(groups, cin // groups, outg, -1) * f).reshape(w.shape)
    return (w.reshape(w.shape[0], -1) * factors[:, None]).reshape(w.shape)


def scale_in(kind, w, groups, factors):
    if kind == "linear":
        return w * factors[None, :]
    if kind.startswith("convT"):
        return (w.reshape(w.shape[0], -1) * factors[:, None]).reshape(w.shape)
    cout, ing = w.shape[0], w.shape[1]
    f = factors.reshape(groups, 1, ing, 1)
    return (w.reshape(groups, cout // groups, ing, -1) * f).reshape(w.shape)


def channel_range(rows):
    return rows.amax(dim=1) - rows.amin(dim=1)


def cle_formula(k1, m1, k2, m2):
    """qeq's rule: PyTorch's formula, channels with a zero range on either side unscaled."""
    w1, w2 = m1.weight.detach(), m2.weight.detach()
    r1 = channel_range(out_rows(k1, w1, m1.groups if k1 != "linear" else 1))
    r2 = channel_range(in_rows(k2, w2, m2.groups if k2 != "linear" else 1))
    s = torch.sqrt(r1 / (r2 + torch.tensor(1e-9, dtype=torch.float32)))
    s = torch.where((r1 > 0) & (r2 > 0), s, torch.ones_like(s))
    si = 1.0 / s
    g1 = m1.groups if k1 != "linear" else 1
    g2 = m2.groups if k2 != "linear" else 1
    w1n = scale_out(k1, w1, g1, si)
    b1n = m1.bias.detach() * si if m1.bias is not None else None
    w2n = scale_in(k2, w2, g2, s)
    return w1n, b1n, w2n, s


def forward_pair(k1, m1, k2, m2, x):
    y = F.relu(m1(x))
    if k2 == "linear" and k1 != "linear":
        y = y.movedim(1, -1)  # a Linear after a conv mixes channels at every position
    return m2(y)


def sample_input(gen, kind, cin):
    shape = {"linear": (3, cin), "1d": (2, cin, 9), "2d": (2, cin, 7, 7), "3d": (1, cin, 5, 5, 5)}
    key = "linear" if kind == "linear" else kind[-2:]
    return torch.randn(shape[key], generator=gen)


def layer_fields(tag, kind, m):
    w = m.weight.detach()
    fields = {f"kind{tag}": ("i", [KIND[kind]]), f"groups{tag}": ("i", [getattr(m, "groups", 1)]),
              f"shape{tag}": ("i", list(w.shape)), f"w{tag}": ("f", w.reshape(-1).tolist())}
    if m.bias is not None:
        fields[f"b{tag}"] = ("f", m.bias.detach().reshape(-1).tolist())
    return fields


PAIRS = [
    # (kind1, in1, out1, groups1, kind2, out2, groups2, bias1)
    ("conv2d", 3, 4, 1, "linear", 4, 1, True),  # docs/numerics.md#cle-test-vector's shapes
    ("linear", 5, 7, 1, "linear", 3, 1, True),
    ("linear", 6, 6, 1, "linear", 2, 1, False),
    ("conv2d", 4, 6, 1, "conv2d", 5, 1, True),
    ("conv1d", 3, 8, 1, "conv1d", 4, 1, True),
    ("conv3d", 2, 4, 1, "conv3d", 3, 1, True),
    ("conv2d", 4, 8, 2, "conv2d", 8, 4, True),   # grouped -> grouped
    ("conv2d", 3, 6, 1, "conv2d", 6, 6, True),   # conv -> depthwise
    ("conv2d", 6, 6, 6, "conv2d", 5, 1, True),   # depthwise -> conv
    ("convT2d", 4, 6, 2, "conv2d", 3, 1, True),  # grouped ConvTranspose -> conv
    ("conv1d", 3, 4, 1, "convT1d", 6, 2, True),  # conv -> grouped ConvTranspose
    ("convT3d", 2, 3, 1, "convT3d", 2, 1, False),
]


def cle_cases(w, gen):
    torch.manual_seed(0)
    for i, (k1, in1, out1, g1, k2, out2, g2, bias1) in enumerate(PAIRS):
        if i == 0:
            torch.manual_seed(0)  # docs/numerics.md#cle-test-vector
        m1 = make_layer(k1, in1, out1, g1, bias1)
        m2 = make_layer(k2, out1, out2, g2)
        fields = {}
        fields.update(layer_fields("1", k1, m1))
        fields.update(layer_fields("2", k2, m2))
        x = sample_input(gen, k1, in1)
        with torch.no_grad():
            before = forward_pair(k1, m1, k2, m2, x)
            w1n, b1n, w2n, s = cle_formula(k1, m1, k2, m2)
            torch_supported = k1 in ("linear", "conv2d") and k2 in ("linear", "conv2d") and \
                g1 == 1 and g2 == 1 and bias1
            if torch_supported:
                eq.cross_layer_equalization(m1, m2)
                for got, want in ((m1.weight, w1n), (m1.bias, b1n), (m2.weight, w2n)):
                    assert torch.equal(got.detach(), want), "formula differs from PyTorch"
            else:
                m1.weight.copy_(w1n)
                if b1n is not None:
                    m1.bias.copy_(b1n)
                m2.weight.copy_(w2n)
            after = forward_pair(k1, m1, k2, m2, x)
            err = (after - before).abs().max().item()
            assert err <= 1e-5 * max(1.0, before.abs().max().item()), (k1, k2, err)
        fields.update({"scales": ("f", s.tolist()), "w1_after": ("f", w1n.reshape(-1).tolist()),
                       "w2_after": ("f", w2n.reshape(-1).tolist())})
        if b1n is not None:
            fields["b1_after"] = ("f", b1n.tolist())
        fields["from_torch"] = ("i", [1 if torch_supported else 0])
        w.case(f"cle_{i}_{k1}_{k2}", **fields)


def chain_cases(w, gen):
    """PyTorch's equalize() on chains, with the number of sweeps it ran."""
    chains = [
        ("linear3", [("linear", 3, 4), ("linear", 4, 5), ("linear", 5, 6)], 1e-4),
        ("linear3_tight", [("linear", 3, 4), ("linear", 4, 5), ("linear", 5, 6)], 1e-6),
        ("linear_pair", [("linear", 3, 4), ("linear", 4, 5)], 1e-4),
        ("conv3", [("conv2d", 3, 8), ("conv2d", 8, 8), ("conv2d", 8, 4)], 1e-4),
    ]
    for name, spec, threshold in chains:
        torch.manual_seed(0)
        model = torch.nn.Sequential(*[make_layer(k, a, b) for k, a, b in spec])
        fields = {"threshold": ("f", [threshold]), "count": ("i", [len(spec)])}
        for j, (k, _, _) in enumerate(spec):
            fields.update(layer_fields(str(j), k, model[j]))
        names = [str(j) for j in range(len(spec))]
        pairs = [[names[j], names[j + 1]] for j in range(len(spec) - 1)]
        calls = [0]
        original = eq.cross_layer_equalization

        def counting(m1, m2, output_axis=0, input_axis=1):
            calls[0] += 1
            return original(m1, m2, output_axis, input_axis)

        eq.cross_layer_equalization = counting
        try:
            x = sample_input(gen, spec[0][0], spec[0][1])
            with torch.no_grad():
                before = model(x)
            eq.equalize(model, pairs, threshold, inplace=True)
            with torch.no_grad():
                after = model(x)
        finally:
            eq.cross_layer_equalization = original
        sweeps = calls[0] // len(pairs)
        assert (after - before).abs().max().item() < 1e-5
        fields["sweeps"] = ("i", [sweeps])
        for j in range(len(spec)):
            fields[f"w{j}_after"] = ("f", model[j].weight.detach().reshape(-1).tolist())
            fields[f"b{j}_after"] = ("f", model[j].bias.detach().reshape(-1).tolist())
        w.case(f"equalize_{name}", **fields)


def bn_params(gen, n, affine=True):
    mean = torch.randn(n, generator=gen)
    var = torch.rand(n, generator=gen) * 2 + 0.05
    gamma = torch.randn(n, generator=gen) if affine else None
    beta = torch.randn(n, generator=gen) if affine else None
    return mean, var, gamma, beta


FOLDS = [
    # (kind, in, out, groups, bias, affine)
    ("conv1d", 1, 2, 1, False, True),
    ("conv2d", 3, 5, 1, True, True),
    ("conv2d", 4, 6, 2, True, True),
    ("conv3d", 2, 3, 1, False, True),
    ("conv2d", 3, 4, 1, True, False),
    ("convT2d", 3, 5, 1, True, True),
    ("convT1d", 4, 6, 2, True, True),   # PyTorch raises here; qeq folds per group
    ("convT3d", 6, 3, 3, False, True),
    ("linear", 5, 4, 1, True, True),
    ("linear", 3, 6, 1, False, True),
]


def fold_cases(w, gen):
    torch.manual_seed(1)
    eps = 1e-5
    for i, (kind, cin, cout, groups, bias, affine) in enumerate(FOLDS):
        m = make_layer(kind, cin, cout, groups, bias)
        mean, var, gamma, beta = bn_params(gen, cout, affine)
        if i == 0:  # docs/numerics.md#folding-test-vector
            with torch.no_grad():
                m.weight.copy_(torch.tensor([2.0, -1.0]).reshape(2, 1, 1))
            mean, var = torch.tensor([0.5, -1.0]), torch.tensor([3.0, 0.25])
            gamma, beta = torch.tensor([1.5, 2.0]), torch.tensor([0.1, -0.2])
        fields = layer_fields("", kind, m)
        fields.update({"mean": ("f", mean.tolist()), "var": ("f", var.tolist()),
                       "eps": ("f", [eps])})
        if affine:
            fields.update({"gamma": ("f", gamma.tolist()), "beta": ("f", beta.tolist())})
        wt, bt = m.weight.detach(), m.bias.detach() if m.bias is not None else None
        transpose = kind.startswith("convT")
        if kind == "linear":
            wf, bf = fuse_linear_bn_weights(wt, bt, mean, var, eps, gamma, beta)
        elif not transpose or groups == 1:
            wf, bf = fuse_conv_bn_weights(wt, bt, mean, var, eps, gamma, beta, transpose)
        else:
            # PyTorch's broadcast fails for groups > 1: its formula, per group.
            g = torch.ones_like(mean) if gamma is None else gamma
            bb = torch.zeros_like(mean) if beta is None else beta
            b0 = torch.zeros_like(mean) if bt is None else bt
            r = torch.rsqrt(var + eps)
            wf = scale_out(kind, wt, groups, g * r)
            bf = (b0 - mean) * r * g + bb
        # PyTorch's forward: the folded layer equals layer then eval-mode batch norm.
        x = sample_input(gen, kind, cin)
        with torch.no_grad():
            y = m(x)
            shape = (1, -1) + (1,) * (y.dim() - 2)
            gg = torch.ones_like(mean) if gamma is None else gamma
            bb = torch.zeros_like(mean) if beta is None else beta
            ref = (y - mean.reshape(shape)) / torch.sqrt(var.reshape(shape) + eps) * \
                gg.reshape(shape) + bb.reshape(shape)
            folded = make_layer(kind, cin, cout, groups, True)
            folded.weight.copy_(wf)
            folded.bias.copy_(bf)
            err = (folded(x) - ref).abs().max().item()
            assert err < 1e-4 * max(1.0, ref.abs().max().item()), (kind, err)
        fields.update({"w_after": ("f", wf.detach().reshape(-1).tolist()),
                       "b_after": ("f", bf.detach().reshape(-1).tolist())})
        w.case(f"fold_{i}_{kind}", **fields)


def input_equalization_cases(w, gen):
    """PyTorch's input-weight equalization pieces: its observers, its
    calculate_equalization_scale and calculate_scaled_minmax, and the weight updates of its
    scale_weight_node (reciprocal of the scale on the layer's columns, the scale on the
    producer's rows and bias)."""
    from torch.ao.quantization.fx._equalize import (
        _InputEqualizationObserver, _WeightEqualizationObserver, calculate_equalization_scale)

    torch.manual_seed(2)
    cases = [
        # (name, producer kind, layer kind, channels in, mid, out, batches, special)
        ("spec_hand_example", None, "linear", None, 3, 2, 1, "spec"),
        ("linear_relu_linear", "linear", "linear", 3, 5, 4, 3, ""),
        ("conv_relu_conv", "conv2d", "conv2d", 3, 6, 4, 2, ""),
        ("constant_columns", "linear", "linear", 4, 4, 3, 2, "constant"),
        ("conv1d_relu_conv1d", "conv1d", "conv1d", 2, 5, 3, 2, ""),
    ]
    for name, pkind, lkind, cin, mid, cout, batches, special in cases:
        layer = make_layer(lkind, mid, cout)
        producer = make_layer(pkind, cin, mid) if pkind else None
        input_obs = _InputEqualizationObserver(torch.quint8, torch.per_tensor_symmetric)
        weight_obs = _WeightEqualizationObserver(torch.qint8, torch.per_channel_symmetric)
        fields = {}
        if special == "spec":
            with torch.no_grad():
                layer.weight.copy_(torch.tensor([[0.1, 0.2, -0.3], [0.4, -0.5, 0.6]]))
            xs = [torch.tensor([[1.0, -2.0, 0.5], [3.0, 0.0, -1.0]])]
        else:
            xs = [sample_input(gen, pkind, cin) for _ in range(batches)]
        with torch.no_grad():
            if special == "constant":
                layer.weight[:, 1] = 0.25  # a constant weight column: range 0
            inputs = []
            for x in xs:
                a = F.relu(producer(x)) if producer is not None else x
                if special == "constant":
                    a[:, 2] = 1.5  # a constant input column: range 0
                inputs.append(a)
                input_obs(a)
            weight_obs(layer.weight)
            scale = calculate_equalization_scale(input_obs, weight_obs)
            input_obs.set_equalization_scale(scale)
            scaled_min, scaled_max = input_obs.calculate_scaled_minmax()
            xmin, xmax = input_obs.get_input_minmax()
            before = [layer(a if lkind != "linear" or a.dim() == 2 else a) for a in inputs]
            fields.update(layer_fields("", lkind, layer))
            shape1 = [1, -1] + [1] * (layer.weight.dim() - 2)
            layer_after = layer.weight * torch.reciprocal(scale.reshape(shape1))
            fields.update({"input_min": ("f", xmin.tolist()), "input_max": ("f", xmax.tolist()),
                           "scales": ("f", scale.tolist()),
                           "w_after": ("f", layer_after.reshape(-1).tolist()),
                           "scaled_min": ("f", [float(scaled_min)]),
                           "scaled_max": ("f", [float(scaled_max)])})
            if producer is not None:
                fields.update(layer_fields("p", pkind, producer))
                shape0 = [-1] + [1] * (producer.weight.dim() - 1)
                producer_after = producer.weight * scale.reshape(shape0)
                bias_after = producer.bias * scale
                fields.update({"wp_after": ("f", producer_after.reshape(-1).tolist()),
                               "bp_after": ("f", bias_after.tolist())})
                # PyTorch's forward: the equalized pair computes what the original did.
                layer.weight.copy_(layer_after)
                producer.weight.copy_(producer_after)
                producer.bias.copy_(bias_after)
                for x, y in zip(xs, before):
                    after = layer(F.relu(producer(x)))
                    if special != "constant":
                        err = (after - y).abs().max().item()
                        assert err < 1e-5 * max(1.0, y.abs().max().item()), (name, err)
        w.case(f"input_eq_{name}", **fields)
