"""Input-weight equalization on eager models against PyTorch's FX pass (prepare_fx with an
equalization config, calibration, _convert_equalization_ref): the same scales and weights bit
for bit, the same function, and selective equalization picking FX's layers."""
import copy
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="python3-torch is not installed")
from torch import nn  # noqa: E402
from torch.ao.quantization import default_qconfig  # noqa: E402
from torch.ao.quantization.fx._equalize import (  # noqa: E402
    _convert_equalization_ref, default_equalization_qconfig, get_equalization_qconfig_dict,
    get_layer_sqnr_dict)
from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx  # noqa: E402

import qeq  # noqa: E402
import qeq.torch as qt  # noqa: E402


class LinearChain(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.relu, self.fc2, self.fc3 = (nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 6),
                                                   nn.Linear(6, 4))

    def forward(self, x):
        return self.fc3(self.fc2(self.relu(self.fc1(x))))


class ConvChain(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.relu, self.conv2 = nn.Conv2d(3, 6, 3), nn.ReLU(), nn.Conv2d(6, 4, 1)

    def forward(self, x):
        return self.conv2(self.relu(self.conv1(x)))


def fx_reference(model, batches):
    qconfig = {"": default_qconfig}
    eq = {"": default_equalization_qconfig}  # every Linear / Conv, as `layers` below
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prepared = prepare_fx(copy.deepcopy(model), qconfig, example_inputs=(batches[0],),
                              _equalization_config=eq)
        for b in batches:
            prepared(b)
        return _convert_equalization_ref(prepared)


def weight_of(module):
    return module[0] if isinstance(module, nn.Sequential) else module


@pytest.mark.parametrize("cls,shape,types,producers", [
    (LinearChain, (16, 5), [nn.Linear], {"fc2": "fc1", "fc3": "fc2"}),
    (ConvChain, (2, 3, 9, 9), [nn.Conv2d], {"conv2": "conv1"}),
])
def test_matches_fx_bit_for_bit(cls, shape, types, producers):
    torch.manual_seed(0)
    model = cls().eval()
    gen = torch.Generator().manual_seed(1)
    batches = [torch.randn(*shape, generator=gen) * (1 + i) for i in range(3)]
    ref = fx_reference(model, batches)
    layers = [n for n, m in model.named_modules() if isinstance(m, tuple(types))]
    original = copy.deepcopy(model)
    report = qt.equalize_inputs(model, layers, batches, producers=producers)
    assert report.selected == layers and report.producers[layers[0]] is None
    ref_modules = dict(ref.named_modules())
    for name in layers:
        mine, theirs = dict(model.named_modules())[name], weight_of(ref_modules[name])
        assert torch.equal(mine.weight, theirs.weight), name
        assert torch.equal(mine.bias, theirs.bias), name
    fx_scales = [getattr(ref, n.target) for n in ref.graph.nodes
                 if n.op == "get_attr" and "equalization_scale" in n.target]
    assert len(fx_scales) == 1  # the first layer's input mul
    assert torch.equal(report.scales[layers[0]], fx_scales[0].reshape(-1))
    with torch.no_grad():
        x = batches[0]
        assert torch.equal(model(x), ref(x))  # the hook multiplies as FX's mul node does
        torch.testing.assert_close(model(x), original(x), rtol=1e-4, atol=1e-5)
    # the auto-discovered producers are the same
    again = copy.deepcopy(original)
    auto = qt.equalize_inputs(again, layers, batches, producers="auto")
    assert auto.producers == report.producers
    for (na, pa), (nb, pb) in zip(again.named_parameters(), model.named_parameters()):
        assert torch.equal(pa, pb), na


def test_smoothquant_alpha_and_absmax():
    torch.manual_seed(2)
    model = LinearChain().eval()
    batches = [torch.randn(8, 5) * torch.tensor([1.0, 10, 0.1, 3, 1])]
    w = model.fc1.weight.detach().numpy().astype(np.float64)
    x = batches[0].numpy().astype(np.float64)
    for alpha, absmax in [(0.5, False), (0.8, False), (0.5, True)]:
        m = copy.deepcopy(model)
        report = qt.equalize_inputs(m, ["fc1"], batches, alpha=alpha, use_absmax=absmax)
        if absmax:
            wr, xr = np.abs(w).max(0), np.abs(x).max(0)
        else:
            wr, xr = w.max(0) - w.min(0), x.max(0) - x.min(0)
        expect = wr ** (1 - alpha) / xr ** alpha
        np.testing.assert_allclose(report.scales["fc1"].numpy(), expect, rtol=1e-5)
        with torch.no_grad():
            torch.testing.assert_close(m(batches[0]), model(batches[0]), rtol=1e-4, atol=1e-5)


class AddModel(nn.Module):
    """PyTorch's test_selective_equalization model."""

    def __init__(self):
        super().__init__()
        self.bot = nn.Sequential(nn.Linear(5, 5))
        self.top = nn.Sequential(nn.Linear(5, 5))

    def forward(self, x):
        return self.top(torch.add(self.bot(x), 5))


def test_selective_picks_fx_layers():
    torch.manual_seed(1)
    model = AddModel().eval()
    x = torch.rand(5, 5) * torch.tensor([1.0, 20, 0.05, 3, 1])
    qconfig = {"": None, "object_type": [(nn.Linear, default_qconfig)]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prepared = prepare_fx(copy.deepcopy(model), qconfig, example_inputs=(x,))
        prepared(x)
        quantized = convert_fx(copy.deepcopy(prepared))
        fx_sqnr = get_layer_sqnr_dict(prepared, quantized, x)
    fx_sqnr = {k: v for k, v in fx_sqnr.items() if k}  # '' is the add
    fx_pick = [n for n, _ in get_equalization_qconfig_dict(fx_sqnr, 1)["module_name"]]
    report = qt.equalize_inputs(model, ["bot.0", "top.0"], [x], selective=1)
    assert set(report.sqnr) == {"bot.0", "top.0"}
    assert report.selected == fx_pick
    assert sorted(report.sqnr, key=report.sqnr.get)[0] == min(fx_sqnr, key=fx_sqnr.get)


def test_bad_input_leaves_model_unchanged():
    torch.manual_seed(3)
    model = LinearChain().eval()
    snapshot = copy.deepcopy(model)
    x = [torch.randn(4, 5)]
    with pytest.raises(ValueError, match="Linear and Conv"):
        qt.equalize_inputs(model, ["relu"], x)
    with pytest.raises(ValueError, match="not in the model"):
        qt.equalize_inputs(model, ["fc9"], x)
    with pytest.raises(ValueError, match="one consumer"):
        qt.equalize_inputs(model, ["fc2", "fc3"], x, producers={"fc2": "fc1", "fc3": "fc1"})
    with pytest.raises(qeq.ShapeMismatchError):
        qt.equalize_inputs(model, ["fc3"], x, producers={"fc3": "fc1"})
    with pytest.raises(TypeError):
        qt.equalize_inputs(model, ["fc1"], [torch.randn(4, 5, dtype=torch.float64)])
    with pytest.raises(ValueError, match="never ran"):
        qt.equalize_inputs(model, ["fc1"], [])
    for (n, a), (_, b) in zip(model.named_parameters(), snapshot.named_parameters()):
        assert torch.equal(a, b), n
    assert not model.fc1._forward_pre_hooks


class TwoLinear(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(5, 8), nn.Linear(8, 4)

    def forward(self, x):
        return self.fc2(self.fc1(x))


def test_producer_not_equalized_itself_still_absorbs_the_scale():
    """FX equalizing fc2 alone drops its scale (no mul, fc1 unscaled: the function changes);
    qeq folds it into fc1 and keeps the function."""
    torch.manual_seed(0)
    model = TwoLinear().eval()
    x = torch.randn(16, 5) * torch.tensor([1.0, 10, 0.1, 3, 1])
    eq = {"": None, "module_name": [("fc2", default_equalization_qconfig)]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prepared = prepare_fx(copy.deepcopy(model), {"": default_qconfig}, example_inputs=(x,),
                              _equalization_config=eq)
        prepared(x)
        ref = _convert_equalization_ref(prepared)
    mine = copy.deepcopy(model)
    report = qt.equalize_inputs(mine, ["fc2"], [x], producers={"fc2": "fc1"})
    assert torch.equal(mine.fc2.weight, ref.fc2.weight)  # the same scales on fc2
    with torch.no_grad():
        assert (ref(x) - model(x)).abs().max() > 1  # FX: fc1 never absorbed s
        torch.testing.assert_close(mine(x), model(x), rtol=1e-5, atol=1e-5)
    assert not report.input_scaled


def test_depthwise_layer_beyond_fx():
    """A depthwise conv as the equalized layer (FX raises: its weight has 1 input channel
    per group); the function is kept."""
    torch.manual_seed(4)
    model = nn.Sequential(nn.Conv2d(3, 8, 1), nn.ReLU(), nn.Conv2d(8, 8, 3, groups=8)).eval()
    batches = [torch.randn(2, 3, 6, 6) * 3]
    original = copy.deepcopy(model)
    report = qt.equalize_inputs(model, ["2"], batches, producers="auto")
    assert report.producers == {"2": "0"} and report.scales["2"].numel() == 8
    assert not torch.equal(model[0].weight, original[0].weight)
    with torch.no_grad():
        torch.testing.assert_close(model(batches[0]), original(batches[0]), rtol=1e-4,
                                   atol=1e-5)


def test_input_scales_survive_saving_copying_scripting_and_tracing():
    """A layer without producer scales its own input (a buffer, not a hook): torch.save,
    state_dict round trips, deepcopy, TorchScript and torch.fx keep the scales."""
    import io
    torch.manual_seed(0)
    model = LinearChain().eval()
    x = torch.randn(16, 5) * torch.tensor([1.0, 10, 0.1, 3, 1])
    with torch.no_grad():
        before = model(x)
    report = qt.equalize_inputs(model, ["fc1", "fc2"], [x], producers={"fc2": "fc1"})
    assert report.input_scaled == ["fc1"] and isinstance(model.fc1, qt.InputScaledLinear)
    assert not model.fc1._forward_pre_hooks
    with torch.no_grad():
        want = model(x)
        torch.testing.assert_close(want, before, rtol=1e-4, atol=1e-5)
        buffer = io.BytesIO()
        torch.save(model, buffer)
        buffer.seek(0)
        assert torch.equal(torch.load(buffer)(x), want)
        state = model.state_dict()
        assert torch.equal(state["fc1.input_scale"], report.scales["fc1"])
        copied = copy.deepcopy(model)
        assert torch.equal(copied(x), want)
        rebuilt = LinearChain().eval()
        with pytest.raises(RuntimeError, match="input_scale"):
            rebuilt.load_state_dict(state)  # a plain model has no place for the scales
        rebuilt = LinearChain().eval()
        qt.load_input_scaled_state_dict(rebuilt, state)
        assert torch.equal(rebuilt(x), want)
        assert torch.equal(torch.jit.script(model)(x), want)
        assert torch.equal(torch.fx.symbolic_trace(model)(x), want)


@pytest.mark.parametrize("engine", ["qnnpack", "onednn"])
def test_input_scaled_model_through_fx_quantization_and_qeq_convert(engine):
    """PyTorch's prepare_fx / convert_fx trace through the input-scaled layer (a multiply and
    a functional linear), and qeq.torch.convert runs the result, the quantized multiply FX
    makes of the scale included, with PyTorch's output. 7-bit
    weights keep PyTorch's oneDNN exact on CPUs without VNNI (test_torch_convert.py)."""
    from torch.ao.quantization import (MinMaxObserver, PerChannelMinMaxObserver, QConfig,
                                       QConfigMapping)
    from torch.ao.quantization.quantize_fx import convert_fx
    weight_range = {"quant_min": -64, "quant_max": 63} if engine == "onednn" else {}
    qconfig = QConfig(activation=MinMaxObserver.with_args(reduce_range=engine == "onednn"),
                      weight=PerChannelMinMaxObserver.with_args(
                          dtype=torch.qint8, qscheme=torch.per_channel_symmetric,
                          **weight_range))
    torch.manual_seed(0)
    model = LinearChain().eval()
    x = torch.randn(16, 5) * torch.tensor([1.0, 10, 0.1, 3, 1])
    qt.equalize_inputs(model, ["fc1", "fc2"], [x], producers={"fc2": "fc1"})
    previous = torch.backends.quantized.engine
    torch.backends.quantized.engine = engine
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            prepared = prepare_fx(copy.deepcopy(model), QConfigMapping().set_global(qconfig),
                                  (x,))
            prepared(x)
            quantized = convert_fx(prepared)
        converted = qt.convert(quantized)
        assert not converted.fallbacks
        assert any(k == "linear" or k.startswith("linear") for k in converted.kernels)
        assert torch.equal(converted(x), quantized(x))
    finally:
        torch.backends.quantized.engine = previous
