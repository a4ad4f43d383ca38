"""qeq.Conv2d against PyTorch's quantized Conv2d / ConvReLU2d under the qnnpack engine, which is
exact on every CPU (docs/differences.md), and its argument checks."""
import numpy as np
import pytest

import qeq

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.live_pytorch


def torch_conv(x, w, w_scales, bias, stride, padding, dilation, groups, qx, qy, relu):
    """PyTorch's quantized conv on NHWC uint8 x and int8 w [O][C/g][kh][kw]; NHWC uint8 out."""
    import torch.ao.nn.quantized as nnq
    import torch.nn.intrinsic.quantized as nniq  # torch.ao.nn.intrinsic from PyTorch 2.0
    o, _, kh, kw = w.shape
    cls = nniq.ConvReLU2d if relu else nnq.Conv2d
    m = cls(x.shape[3], o, (kh, kw), stride=stride, padding=padding, dilation=dilation,
            groups=groups)
    qw = torch.quantize_per_channel(torch.from_numpy(w.astype(np.float32)) *
                                    torch.tensor(w_scales).view(-1, 1, 1, 1),
                                    torch.tensor(w_scales, dtype=torch.double),
                                    torch.zeros(o, dtype=torch.long), 0, torch.qint8)
    m.set_weight_bias(qw, torch.from_numpy(bias))
    m.scale, m.zero_point = qy
    tx = torch._make_per_tensor_quantized_tensor(
        torch.from_numpy(x).permute(0, 3, 1, 2).contiguous(), qx[0], qx[1])
    return m(tx).int_repr().permute(0, 2, 3, 1).numpy()


@pytest.mark.parametrize("case", [
    # (C, O, kernel, stride, padding, dilation, groups, relu)
    (16, 24, 3, 1, 1, 1, 1, False),
    (8, 8, 3, 2, 1, 1, 8, True),     # depthwise
    (3, 16, 3, 2, 1, 1, 1, True),    # an RGB stem: the gathered path
    (32, 16, 1, 1, 0, 1, 1, False),  # 1x1: the GEMM
    (12, 18, (3, 5), (2, 1), (1, 2), 2, 3, False),
])
def test_conv_matches_pytorch_qnnpack(case):
    c, o, k, stride, padding, dilation, groups, relu = case
    kh, kw = k if isinstance(k, tuple) else (k, k)
    rng = np.random.default_rng(sum(map(hash, map(str, case))) % 2**32)
    w = rng.integers(-127, 128, (o, c // groups, kh, kw)).astype(np.int8)
    w_scales = [float(np.float32(v)) for v in rng.uniform(0.002, 0.02, o)]
    bias = rng.normal(0, 0.5, o).astype(np.float32)
    x = rng.integers(0, 256, (2, 11, 13, c)).astype(np.uint8)
    qx, qy = (0.05, 117), (0.11, 71)
    old = torch.backends.quantized.engine
    torch.backends.quantized.engine = "qnnpack"
    try:
        want = torch_conv(x, w, w_scales, bias, stride, padding, dilation, groups, qx, qy, relu)
    finally:
        torch.backends.quantized.engine = old
    conv = qeq.Conv2d(w, w_scales, None, bias, stride=stride, padding=padding,
                      dilation=dilation, groups=groups, input_scale=qx[0],
                      input_zero_point=qx[1], output_scale=qy[0], output_zero_point=qy[1],
                      clamp="relu" if relu else "none", engine="qnnpack")
    got = conv(x)
    assert got.shape == want.shape, (got.shape, want.shape)
    assert np.array_equal(got, want), f"{np.count_nonzero(got != want)} of {got.size} differ"
    assert "qu8s8" in conv.kernel_name


def test_conv_arguments():
    w = np.ones((4, 2, 3, 3), np.int8)
    with pytest.raises(ValueError, match="weight"):
        qeq.Conv2d(np.ones((4, 2, 3), np.int8), [0.1])
    with pytest.raises(ValueError, match="stride"):
        qeq.Conv2d(w, [0.1], stride=(1, 2, 3))
    with pytest.raises(ValueError, match="padding"):
        qeq.Conv2d(w, [0.1], padding=-1)
    with pytest.raises(ValueError, match="groups"):
        qeq.Conv2d(w, [0.1], groups=0)
    conv = qeq.Conv2d(w, [0.1])
    with pytest.raises(ValueError, match="NHWC"):
        conv(np.zeros((1, 5, 5, 3), np.uint8))
    assert conv(np.zeros((1, 5, 5, 2), np.uint8)).shape == (1, 3, 3, 4)


@pytest.mark.parametrize("relu", [False, True])
def test_conv1d_matches_pytorch_qnnpack(relu):
    """qeq.Conv1d against PyTorch's quantized Conv1d / ConvReLU1d (strided, padded, dilated,
    grouped), on [N][L][C] activations."""
    import torch.ao.nn.quantized as nnq
    import torch.nn.intrinsic.quantized as nniq
    rng = np.random.default_rng(7 + relu)
    c, o, k, groups = 6, 9, 3, 3
    w = rng.integers(-127, 128, (o, c // groups, k)).astype(np.int8)
    w_scales = [float(np.float32(v)) for v in rng.uniform(0.002, 0.02, o)]
    bias = rng.normal(0, 0.5, o).astype(np.float32)
    x = rng.integers(0, 256, (2, 29, c)).astype(np.uint8)
    qx, qy = (0.05, 117), (0.11, 71)
    old = torch.backends.quantized.engine
    torch.backends.quantized.engine = "qnnpack"
    try:
        cls = nniq.ConvReLU1d if relu else nnq.Conv1d
        m = cls(c, o, k, stride=2, padding=1, dilation=2, groups=groups)
        qw = torch.quantize_per_channel(torch.from_numpy(w.astype(np.float32)) *
                                        torch.tensor(w_scales).view(-1, 1, 1),
                                        torch.tensor(w_scales, dtype=torch.double),
                                        torch.zeros(o, dtype=torch.long), 0, torch.qint8)
        m.set_weight_bias(qw, torch.from_numpy(bias))
        m.scale, m.zero_point = qy
        tx = torch._make_per_tensor_quantized_tensor(
            torch.from_numpy(x).permute(0, 2, 1).contiguous(), qx[0], qx[1])
        want = m(tx).int_repr().permute(0, 2, 1).numpy()
    finally:
        torch.backends.quantized.engine = old
    conv = qeq.Conv1d(w, w_scales, None, bias, stride=2, padding=(1,), dilation=2,
                      groups=groups, input_scale=qx[0], input_zero_point=qx[1],
                      output_scale=qy[0], output_zero_point=qy[1],
                      clamp="relu" if relu else "none", engine="qnnpack")
    assert conv.output_size(29) == want.shape[1]
    got = conv(x)
    assert got.shape == want.shape, (got.shape, want.shape)
    assert np.array_equal(got, want), f"{np.count_nonzero(got != want)} of {got.size} differ"
    out = np.empty(want.shape, np.uint8)
    assert conv(x, out) is not None and np.array_equal(out, want)
    with pytest.raises(ValueError, match="1-tuple"):
        qeq.Conv1d(w, w_scales, stride=(1, 2))
    with pytest.raises(ValueError, match=r"\[N\]\[L\]"):
        conv(x.reshape(2, 29, c, 1))
