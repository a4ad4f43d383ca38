"""qeq.torch.convert: PyTorch's quantized models (torchvision's quantizable models by
qeq.torch's recipe, and a hand-written FX model) run on qeq give PyTorch's int8 values at every
node, under both engines.

Every CPU: under onednn the models' weights take 7 bits (see qconfig), where a pair of
u8 x s8 products cannot saturate an int16, so PyTorch's oneDNN is exact on AVX2-only CPUs too;
the tests check that bound on the actual values before comparing. Small inputs keep the suite
fast; the main job runs full sizes."""
import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="python3-torch is not installed")
pytest.importorskip("torchvision", reason="python3-torchvision is not installed")
import torch.fx as fx  # noqa: E402
from torch import nn  # noqa: E402
from torch.ao.quantization import (MinMaxObserver, PerChannelMinMaxObserver,  # noqa: E402
                                   QConfig)

import qeq  # noqa: E402
import qeq.torch as qt  # noqa: E402
from qeq.torch import _models  # noqa: E402

ENGINES = ("qnnpack", "onednn")


def qconfig(engine):
    """The recipe's qconfig with MinMax observers. Under onednn the weights take 7 bits
    ([-64, 63]): a pair of products then stays inside int16 whatever the activations
    (255 * 128 < 32767), so PyTorch's oneDNN is exact on every CPU and a reference."""
    weight_range = {"quant_min": -64, "quant_max": 63} if engine == "onednn" else {}
    return QConfig(activation=MinMaxObserver.with_args(reduce_range=engine == "onednn"),
                   weight=PerChannelMinMaxObserver.with_args(
                       dtype=torch.qint8, qscheme=torch.per_channel_symmetric, **weight_range))


def pytorch_values(graph_module, *args):
    """Every node's value when PyTorch runs the traced graph."""
    values = {}

    class Recorder(fx.Interpreter):
        def run_node(self, n):
            values[n.name] = super().run_node(n)
            return values[n.name]

    with torch.no_grad():
        Recorder(graph_module).run(*args)
    return values


def assert_same_nodes(converted, x, engine):
    """qeq's value at every quantized node equals PyTorch's (integers and qparams)."""
    previous = torch.backends.quantized.engine
    torch.backends.quantized.engine = engine
    try:
        ref = pytorch_values(converted._graph_module, x)
    finally:
        torch.backends.quantized.engine = previous
    got = converted.node_values(x)
    compared = 0
    for name, value in got.items():
        r = ref[name]
        if isinstance(value, torch.Tensor) and value.is_quantized:
            assert (value.q_scale(), value.q_zero_point()) == (r.q_scale(), r.q_zero_point()), \
                name
            a, b = value.int_repr(), r.int_repr()
            assert a.shape == b.shape, name
            diff = (a.int() - b.int()).abs()
            assert diff.max().item() == 0, \
                f"{name}: {(diff > 0).sum().item()} of {diff.numel()} values differ by up to " \
                f"{diff.max().item()}"
            compared += 1
    return compared


def onednn_saturation_risk(converted, x):
    """Where PyTorch's oneDNN might saturate on this CPU: '' on CPUs where it is exact, else
    the first layer whose largest input times its largest pair of weight magnitudes (any
    pairing) passes the int16 limit, with the figures."""
    from qeq._onednn_exactness import probe
    if not probe().saturates:
        return ""
    ref = pytorch_values(converted._graph_module, x)
    modules = dict(converted._graph_module.named_modules())
    for node in converted.graph.nodes:
        if node.op == "call_module" and node.target in converted.kernels:
            top = int(ref[node.args[0].name].int_repr().max())
            w = modules[node.target].weight().int_repr().abs().flatten(1).int()
            pair = int(w.topk(min(2, w.shape[1]), dim=1).values.sum(1).max())
            if top * pair > 32767:
                return (f"{node.target}: input up to {top} x weight pair {pair} = "
                        f"{top * pair} > 32767")
    return ""


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# (name, input side, batch, engines with fallbacks): inception_v3 needs 75 x 75 at least.
MODELS = [
    ("resnet18", 64, 2, ()),
    ("resnet50", 64, 1, ()),
    ("mobilenet_v2", 64, 2, ()),
    ("mobilenet_v3_large", 64, 2, ()),
    ("shufflenet_v2_x1_0", 64, 2, ()),
    ("googlenet", 64, 1, ()),
    ("inception_v3", 80, 1, ()),
    ("resnext101_32x8d", 32, 1, ()),
]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name,size,batch,fallback_engines", MODELS,
                         ids=[m[0] for m in MODELS])
def test_torchvision_model_matches_pytorch(name, size, batch, fallback_engines, engine):
    fallback = engine in fallback_engines
    x = _models.generated_images(batch, size, 7)
    _, model = _models.quantized_torchvision(name, engine, size=size, calibration=[x],
                                             qconfig=qconfig(engine), batch=batch)
    converted = qt.convert(model, engine=engine, threads=1, fallback=fallback)
    assert bool(converted.fallbacks) == fallback
    if engine == "onednn":
        risk = onednn_saturation_risk(converted, x)
        if risk:
            pytest.skip(f"PyTorch's oneDNN saturates int16 pairs on this CPU and may here "
                        f"({risk}): not a reference")
    compared = assert_same_nodes(converted, x, engine)
    assert compared > 20
    with torch.no_grad():
        previous = torch.backends.quantized.engine
        torch.backends.quantized.engine = engine
        try:
            expected = model(x)
        finally:
            torch.backends.quantized.engine = previous
        assert torch.equal(converted(x), expected)


class Block(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.fc1, self.relu1 = nn.Linear(width, width), nn.ReLU()
        self.fc2, self.relu2 = nn.Linear(width, width), nn.ReLU()

    def forward(self, x):
        return self.relu2(self.fc2(self.relu1(self.fc1(x)))) + x


class HandWritten(nn.Module):
    """Linear + ReLU blocks, a residual add, a concatenation, a conv stem and a flatten of a
    map larger than 1 x 1."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.side = nn.Conv2d(3, 4, 1, stride=2)
        self.blocks = nn.Sequential(Block(12 * 4 * 4), Block(12 * 4 * 4))
        self.head = nn.Linear(12 * 4 * 4, 10)

    def forward(self, x):
        y = torch.cat([self.stem(x), self.side(x)], dim=1)
        y = torch.flatten(y, 1)
        return self.head(self.blocks(y))


def fx_quantized(model, x, engine, mapping=None):
    """(model quantized by the FX API under engine with the tests' qconfig, or `mapping`, a
    function of the engine giving a QConfigMapping; its output on x)."""
    from torch.ao.quantization import QConfigMapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx
    previous = torch.backends.quantized.engine
    torch.backends.quantized.engine = engine
    try:
        mapping = (mapping(engine) if mapping is not None else
                   QConfigMapping().set_global(qconfig(engine)))
        prepared = prepare_fx(model, mapping, (x,))
        prepared(x)
        quantized = convert_fx(prepared)
        return quantized, quantized(x)
    finally:
        torch.backends.quantized.engine = previous


@pytest.mark.parametrize("engine", ENGINES)
def test_fx_model_matches_pytorch(engine):
    torch.manual_seed(0)
    x = torch.randn(4, 3, 8, 8)
    quantized, expected = fx_quantized(HandWritten().eval(), x, engine)
    converted = qt.convert(quantized, engine=engine)
    assert not converted.fallbacks
    assert torch.equal(converted(x), expected)
    assert assert_same_nodes(converted, x, engine) >= 8


class Signal1d(nn.Module):
    """Conv1d layers: with a ReLU (ConvReLU1d), strided, depthwise with dilation and padding,
    then a flatten into a Linear."""

    def __init__(self):
        super().__init__()
        self.conv1, self.relu = nn.Conv1d(3, 8, 5, padding=2), nn.ReLU()
        self.conv2 = nn.Conv1d(8, 16, 3, stride=2)
        self.depthwise = nn.Conv1d(16, 16, 3, padding=2, dilation=2, groups=16)
        self.head = nn.Linear(16 * 15, 4)

    def forward(self, x):
        y = self.depthwise(self.conv2(self.relu(self.conv1(x))))
        return self.head(torch.flatten(y, 1))


@pytest.mark.parametrize("engine", ENGINES)
def test_conv1d_model_matches_pytorch(engine):
    torch.manual_seed(1)
    x = torch.randn(3, 3, 32)
    quantized, expected = fx_quantized(Signal1d().eval(), x, engine)
    converted = qt.convert(quantized, engine=engine)
    assert not converted.fallbacks
    assert {type(m).__name__ for m in quantized.modules()} >= {"ConvReLU1d", "Conv1d"}
    assert torch.equal(converted(x), expected)
    assert assert_same_nodes(converted, x, engine) >= 5


class AxesAndBroadcast(nn.Module):
    """Cat along the height (dim 2) and the width (dim 3), and a broadcasting add of an
    N x C x 1 x 1 squeeze over the map (128 channels: whole vector steps of PyTorch's loops)."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Conv2d(3, 128, 3, padding=1), nn.Conv2d(3, 128, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.squeeze = nn.Conv2d(128, 128, 1)

    def forward(self, x):
        y = torch.cat([self.a(x), self.b(x)], dim=2)
        y = torch.cat([y, y], dim=3)
        return y + self.squeeze(self.pool(y))


@pytest.mark.parametrize("engine", ENGINES)
def test_cat_on_any_dim_and_broadcasting_add_match_pytorch(engine):
    torch.manual_seed(1)
    x = torch.randn(2, 3, 6, 5)
    quantized, expected = fx_quantized(AxesAndBroadcast().eval(), x, engine)
    converted = qt.convert(quantized, engine=engine)
    assert not converted.fallbacks, converted.fallbacks
    assert torch.equal(converted(x), expected)
    assert assert_same_nodes(converted, x, engine) >= 6


class SigmoidNet(nn.Module):
    """Sigmoid as a module, a function and a method on quantized tensors, a squeeze-excite
    style gate (multiply) and a sigmoid on a Linear's output."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU())
        self.gate, self.act = nn.Conv2d(8, 8, 1), nn.Sigmoid()
        self.side = nn.Conv2d(3, 8, 1)
        self.head = nn.Linear(24 * 8 * 8, 32)

    def forward(self, x):
        y = self.stem(x)
        z = torch.cat([self.act(self.gate(y)) * y, torch.sigmoid(self.side(x)), y.sigmoid()], 1)
        return torch.sigmoid(self.head(torch.flatten(z, 1)))


@pytest.mark.parametrize("engine", ENGINES)
def test_fx_sigmoid_model_matches_pytorch(engine):
    """Every sigmoid node equals PyTorch's. Each sigmoid's tensor holds a multiple of 128
    elements (the head's 4 x 32 too), so PyTorch's vectorised kernel runs its vector body on
    every element under AVX2 and AVX-512 alike (docs/numerics.md#sigmoid)."""
    from torch.ao.quantization import QConfigMapping, get_default_qconfig_mapping

    def mapping(engine):
        """The test's qconfig, and PyTorch's fixed-qparams observers (1/256) for sigmoid."""
        fixed = get_default_qconfig_mapping(engine).object_type_qconfigs
        mapping = QConfigMapping().set_global(qconfig(engine))
        for op in (nn.Sigmoid, torch.sigmoid, "sigmoid"):
            mapping.set_object_type(op, fixed[op])
        return mapping
    torch.manual_seed(0)
    x = torch.randn(4, 3, 8, 8)
    quantized, expected = fx_quantized(SigmoidNet().eval(), x, engine, mapping)
    sigmoids = [n for n in quantized.graph.nodes if n.target in (nn.Sigmoid, torch.sigmoid,
                                                                 "sigmoid", "act")]
    assert len(sigmoids) == 4  # the module, two functions and the method
    converted = qt.convert(quantized, engine=engine)
    assert not converted.fallbacks
    values = converted.node_values(x)
    assert all(values[n.name].is_quantized for n in sigmoids)
    assert torch.equal(converted(x), expected)
    assert assert_same_nodes(converted, x, engine) >= 10


@pytest.fixture(scope="module")
def resnet18_qnnpack():
    x = _models.generated_images(2, 48, 3)
    _, model = _models.quantized_torchvision("resnet18", "qnnpack", size=48, calibration=[x],
                                             qconfig=qconfig("qnnpack"), batch=2)
    return model, x


def test_same_bits_for_every_pool_size_and_isa_cap(resnet18_qnnpack):
    model, x = resnet18_qnnpack
    reference = qt.convert(model, engine="qnnpack", threads=1)(x)
    assert torch.equal(qt.convert(model, engine="qnnpack", threads=2)(x), reference)
    try:
        qeq.set_isa_cap("scalar")
        scalar = qt.convert(model, engine="qnnpack", threads=2)
        assert all("scalar" in k for k in scalar.kernels.values()), scalar.kernels
        assert torch.equal(scalar(x), reference)
    finally:
        qeq.clear_isa_cap()


def test_converted_model_leaves_the_model_alone_and_is_thread_safe(resnet18_qnnpack):
    import threading
    model, x = resnet18_qnnpack
    before = {k: v.clone() for k, v in model.state_dict().items() if isinstance(v, torch.Tensor)}
    converted = qt.convert(model, engine="qnnpack", threads=1)
    expected = converted(x)
    results = []
    threads = [threading.Thread(target=lambda: results.append(converted(x))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 3 and all(torch.equal(r, expected) for r in results)
    after = model.state_dict()
    for key, value in before.items():
        assert torch.equal(after[key], value), key


def test_channels_last_output_and_quantized_output():
    """A model ending in a convolution returns what PyTorch returns: quantized or float,
    channels-last, the same values."""
    from torch.ao.quantization import DeQuantStub, QuantStub, convert, prepare

    class Net(nn.Module):
        def __init__(self, dequantize):
            super().__init__()
            self.quant, self.conv = QuantStub(), nn.Conv2d(3, 5, 3)
            self.dequant = DeQuantStub() if dequantize else nn.Identity()

        def forward(self, x):
            return self.dequant(self.conv(self.quant(x)))

    previous = torch.backends.quantized.engine
    torch.backends.quantized.engine = "qnnpack"
    try:
        x = torch.randn(2, 3, 9, 7)
        for dequantize in (True, False):
            model = Net(dequantize).eval()
            model.qconfig = qconfig("qnnpack")
            prepare(model, inplace=True)
            model(x)
            convert(model, inplace=True)
            expected, got = model(x), qt.convert(model)(x)
            assert got.is_quantized == expected.is_quantized == (not dequantize)
            assert got.shape == expected.shape and got.stride() == expected.stride()
            assert torch.equal(got, expected)
    finally:
        torch.backends.quantized.engine = previous


def test_float_model_comes_back_working():
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU()).eval()
    x = torch.randn(2, 4)
    converted = qt.convert(model)
    assert converted.kernels == {} and converted.fallbacks == []
    assert torch.equal(converted(x), model(x))


class MeanOverChannels(nn.Module):
    def __init__(self):
        super().__init__()
        self.quant = torch.ao.quantization.QuantStub()
        self.conv = nn.Conv2d(3, 4, 3)
        self.dequant = torch.ao.quantization.DeQuantStub()

    def forward(self, x):
        return self.dequant(self.conv(self.quant(x)).mean(1))


def test_errors_name_the_module(resnet18_qnnpack):
    model = MeanOverChannels().eval()
    model.qconfig = torch.ao.quantization.get_default_qconfig("qnnpack")
    torch.ao.quantization.prepare(model, inplace=True)
    model(torch.randn(2, 3, 8, 8))
    torch.ao.quantization.convert(model, inplace=True)
    with pytest.raises(qt.ConversionError, match=r"node 'mean' \(call_method mean\)"):
        qt.convert(model, engine="onednn")
    resnet, _ = resnet18_qnnpack
    with pytest.raises(qt.ConversionError, match="engine 'fbgemm'"):
        qt.convert(resnet, engine="fbgemm")
    with pytest.raises(qt.ConversionError, match="training mode"):
        qt.convert(copy.deepcopy(resnet).train())
    with pytest.raises(TypeError, match="torch.nn.Module"):
        qt.convert("resnet18")

    class Untraceable(nn.Module):
        def forward(self, x):
            return x * 2 if x.sum() > 0 else x

    with pytest.raises(qt.ConversionError, match="torch.fx cannot trace Untraceable"):
        qt.convert(Untraceable().eval())


class SmallNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.quant = torch.ao.quantization.QuantStub()
        self.conv = nn.Conv2d(3, 8, 3)
        self.drop = nn.Dropout(0.5)
        self.dequant = torch.ao.quantization.DeQuantStub()

    def forward(self, x):
        return self.dequant(self.drop(self.conv(self.quant(x))))


def small_quantized(engine="qnnpack"):
    """SmallNet through PyTorch's eager flow, left as convert leaves it: its new quantized
    modules (nn.quantized.Dropout among them) in training mode inside an eval model."""
    previous = torch.backends.quantized.engine
    torch.backends.quantized.engine = engine
    try:
        model = SmallNet().eval()
        model.qconfig = torch.ao.quantization.get_default_qconfig(engine)
        prepared = torch.ao.quantization.prepare(model)
        prepared(torch.randn(2, 3, 16, 16))
        return prepared, torch.ao.quantization.convert(copy.deepcopy(prepared))
    finally:
        torch.backends.quantized.engine = previous


def test_user_mistakes_raise_before_any_kernel_reads():
    prepared, quantized = small_quantized()
    assert quantized.drop.training  # what eager convert leaves
    with pytest.raises(qt.ConversionError, match="'quant.activation_post_process' is an "
                       "observer.*prepared, not quantized"):
        qt.convert(prepared)
    converted = qt.convert(quantized, engine="qnnpack")
    x = torch.randn(1, 3, 16, 16)
    previous = torch.backends.quantized.engine
    torch.backends.quantized.engine = "qnnpack"
    try:
        assert torch.equal(converted(x), quantized(x))
    finally:
        torch.backends.quantized.engine = previous
    # PyTorch raises for these too; qeq must not read past the input's bytes.
    for wrong in (torch.randn(1, 5, 16, 16), torch.randn(1, 1, 16, 16),
                  torch.randn(1, 16, 16, 3)):
        with pytest.raises(ValueError, match="module 'conv'.*expected 3 input channels"):
            converted(wrong)
    for dtype in (torch.float64, torch.float16, torch.uint8):
        with pytest.raises(TypeError, match="expected a float32 tensor"):
            converted(x.to(dtype))


def test_run_command_compares_and_times(capsys, tmp_path):
    from qeq import run
    assert run.main(["torchvision:resnet18", "--engine", "qnnpack", "--size", "32",
                     "--images", "1", "--calibration", "1", "--repeats", "2", "--threads", "1",
                     "--batch", "1"]) == 0
    out = capsys.readouterr().out
    assert "outputs equal: yes" in out
    assert "timed alternately" in out and "x" in out.splitlines()[-1]
    # a saved fused quantized module, which PyTorch 1.13 cannot use once reloaded: reported
    aq = torch.ao.quantization
    model = nn.Sequential(aq.QuantStub(), nn.Conv2d(3, 4, 3), nn.ReLU(), aq.DeQuantStub()).eval()
    aq.fuse_modules(model, [["1", "2"]], inplace=True)
    model.qconfig = aq.get_default_qconfig("qnnpack")
    aq.prepare(model, inplace=True)
    model(torch.randn(2, 3, 8, 8))
    aq.convert(model, inplace=True)
    path = tmp_path / "fused.pt"
    torch.save(model, path)
    try:
        torch.load(path).eval()
        usable = True
    except AttributeError:
        usable = False
    code = run.main([str(path), "--engine", "qnnpack", "--input-shape", "1,3,8,8",
                     "--no-latency", "--images", "1"])
    err = capsys.readouterr().err
    if usable:
        assert code == 0
    else:
        assert code == 2 and "fused layers" in err and "Traceback" not in err


@pytest.mark.parametrize("dtype", [torch.quint8, torch.qint8])
def test_float_path_mean_matches_pytorch(dtype):
    """PyTorch's quantized mean over H x W of a channels-last tensor (its float reduction's
    order): channel counts inside and outside ATen's four-vector blocks, maps below and above
    one cascade run (16), batches, zero points across the range, one thread."""
    from qeq.torch import _mean
    lanes = _mean.aten_float_lanes()
    gen = torch.Generator().manual_seed(11)
    # PyTorch's reference: its float path, which a quint8 mean takes outside qnnpack
    previous = torch.backends.quantized.engine
    torch.backends.quantized.engine = "onednn"
    try:
        _check_float_path_means(_mean, lanes, gen, dtype)
    finally:
        torch.backends.quantized.engine = previous


def _check_float_path_means(_mean, lanes, gen, dtype):
    shapes = [(1, 7, 7, 1024), (2, 7, 7, 40), (1, 2, 2, 37), (1, 14, 14, 100), (3, 1, 1, 9),
              (1, 5, 9, 24), (2, 17, 19, 72)]
    for n, h, w, c in shapes:
        for _ in range(3):
            x = torch.randn(n, c, h, w, generator=gen) * 3
            scale = float(torch.rand(1, generator=gen)) * 0.1 + 0.01
            low = 0 if dtype == torch.quint8 else -128
            zero_point = low + int(torch.randint(0, 256, (1,), generator=gen))
            q = torch.quantize_per_tensor(x, scale, zero_point, dtype).contiguous(
                memory_format=torch.channels_last)
            data = q.int_repr().permute(0, 2, 3, 1).contiguous()
            # the float means themselves (the order of every addition shows in them)
            means = _mean.float_means_hw(data, q.q_scale(), q.q_zero_point(), lanes)
            assert np.array_equal(means, q.dequantize().mean((2, 3)).numpy()), (n, h, w, c)
            got = _mean.quantized_mean_hw(data, q.q_scale(), q.q_zero_point(), lanes)
            assert torch.equal(got, q.mean((2, 3)).int_repr()), (n, h, w, c)
