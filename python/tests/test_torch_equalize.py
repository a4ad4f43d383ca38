"""qeq.torch's equalization against torch.ao.quantization._equalize, scenario by scenario as
PyTorch's test_equalize_eager checks them, bit for bit (torch.equal) where PyTorch accepts
the modules, and by the function they compute where only qeq does."""
import copy

import pytest

torch = pytest.importorskip("torch", reason="python3-torch is not installed")
from torch import nn  # noqa: E402
import torch.nn.intrinsic as nni  # noqa: E402
from torch.ao.quantization import _equalize as teq  # noqa: E402

import qeq  # noqa: E402
import qeq.torch as qt  # noqa: E402


def assert_same_params(a: nn.Module, b: nn.Module):
    pa, pb = dict(a.named_parameters()), dict(b.named_parameters())
    assert pa.keys() == pb.keys()
    for name in pa:
        assert torch.equal(pa[name], pb[name]), name


def chain(n=3, sizes=(3, 4, 5, 6)):
    layers = [nn.Linear(sizes[i], sizes[i + 1]) for i in range(n)]
    return nn.Sequential(*layers)


def test_channel_range():
    x = torch.randn(5, 4, 3, 3)
    for axis in range(4):
        assert torch.equal(qt.channel_range(x, axis), teq.channel_range(x, axis))
    t = torch.arange(24, dtype=torch.float32).reshape(2, 3, 4)
    assert qt.channel_range(t, 1).tolist() == [15, 15, 15]


def test_cross_layer_equalization_spec_vector():
    torch.manual_seed(0)
    conv, lin = nn.Conv2d(3, 4, 2), nn.Linear(4, 4)
    ref_conv, ref_lin = copy.deepcopy(conv), copy.deepcopy(lin)
    weight = conv.weight
    qt.cross_layer_equalization(conv, lin)
    teq.cross_layer_equalization(ref_conv, ref_lin)
    assert conv.weight is weight  # in place, same Parameter
    assert_same_params(conv, ref_conv)
    assert_same_params(lin, ref_lin)
    assert conv.bias[0] == torch.tensor(-0.07981734)  # docs/numerics.md#cle-test-vector


@pytest.mark.parametrize("seed", range(20))
def test_cross_layer_equalization_random_pairs(seed):
    torch.manual_seed(seed)
    make = [lambda: (nn.Conv2d(3, 8, 3), nn.Conv2d(8, 5, 1)),
            lambda: (nn.Linear(7, 9), nn.Linear(9, 2)),
            lambda: (nni.ConvReLU2d(nn.Conv2d(2, 6, 3), nn.ReLU()), nn.Conv2d(6, 3, 3)),
            lambda: (nni.LinearReLU(nn.Linear(4, 6), nn.ReLU()), nn.Linear(6, 6))][seed % 4]
    m1, m2 = make()
    with torch.no_grad():  # tiny second-layer ranges stress the 1e-9 epsilon
        m2.weight.mul_(10.0 ** -(seed % 5))
    r1, r2 = copy.deepcopy(m1), copy.deepcopy(m2)
    qt.cross_layer_equalization(m1, m2)
    teq.cross_layer_equalization(r1, r2)
    assert_same_params(m1, r1)
    assert_same_params(m2, r2)


def test_converged_matches_pytorch():
    torch.manual_seed(0)
    a, b = chain(), chain()
    cur = {"0": a[0], "1": a[1]}
    for prev in ({"0": b[0], "1": b[1]}, {"0": a[0], "1": a[1]}, {"0": None, "1": b[1]}):
        for threshold in (1e-4, 1e3):
            assert qt.converged(cur, prev, threshold) == teq.converged(cur, prev, threshold)
    with pytest.raises(ValueError):
        qt.converged(cur, {"0": b[0]})


@pytest.mark.parametrize("threshold", [1e-1, 1e-4, 1e-6])
def test_equalize_chain_matches_pytorch(threshold):
    """test_equalize_eager's chain: every pair, sweep counts and all, gives PyTorch's bits."""
    torch.manual_seed(0)
    model = chain()
    ref = copy.deepcopy(model)
    qt.equalize(model, [["0", "1"], ["1", "2"]], threshold)
    teq.equalize(ref, [["0", "1"], ["1", "2"]], threshold)
    assert_same_params(model, ref)


def test_equalize_fused_modules_match_pytorch():
    torch.manual_seed(1)
    model = nn.Sequential(nni.ConvReLU2d(nn.Conv2d(3, 8, 3), nn.ReLU()),
                          nni.ConvReLU2d(nn.Conv2d(8, 8, 3), nn.ReLU()),
                          nn.Conv2d(8, 4, 3))
    ref = copy.deepcopy(model)
    qt.equalize(model, [["0", "1"], ["1", "2"]])
    teq.equalize(ref, [["0", "1"], ["1", "2"]])
    assert_same_params(model, ref)
    torch.manual_seed(2)
    model = nn.Sequential(nni.LinearReLU(nn.Linear(3, 8), nn.ReLU()), nn.Linear(8, 2))
    ref = copy.deepcopy(model)
    qt.equalize(model, [["0", "1"]])
    teq.equalize(ref, [["0", "1"]])
    assert_same_params(model, ref)


def test_equalize_inplace_false_module_objects_and_long_groups():
    torch.manual_seed(3)
    model = chain()
    original = copy.deepcopy(model)
    ref = copy.deepcopy(model)
    teq.equalize(ref, [["0", "1"], ["1", "2"]])
    # a group of three and module objects, as PyTorch's main branch takes them
    # (docs/differences.md#pytorch-113-versus-main)
    out = qt.equalize(model, [[model[0], "1", model[2]]], inplace=False)
    assert out is not model
    assert_same_params(model, original)
    assert_same_params(out, ref)
    assert qt.last_equalize_report.converged
    with pytest.raises(ValueError, match="at least two"):
        qt.equalize(model, [["0"]])
    with pytest.raises(ValueError, match="not in the model"):
        qt.equalize(model, [[nn.Linear(3, 4), "1"]])
    with pytest.raises(KeyError):
        qt.equalize(model, [["0", "nope"]])
    assert_same_params(model, original)


def forward_close(before, after, x, tol=1e-4):
    torch.testing.assert_close(after(x), before(x), rtol=tol, atol=tol)


@pytest.mark.parametrize("case", ["conv1d", "conv3d", "convT", "grouped", "depthwise",
                                  "no_bias"])
def test_equalize_beyond_pytorch_keeps_the_function(case):
    torch.manual_seed(4)
    relu = nn.ReLU()
    if case == "conv1d":
        model, x = nn.Sequential(nn.Conv1d(3, 6, 3), relu, nn.Conv1d(6, 4, 3)), torch.randn(2, 3, 20)
    elif case == "conv3d":
        model, x = nn.Sequential(nn.Conv3d(2, 4, 2), relu, nn.Conv3d(4, 3, 2)), torch.randn(1, 2, 5, 5, 5)
    elif case == "convT":
        model = nn.Sequential(nn.ConvTranspose2d(3, 6, 3, groups=3), relu, nn.ConvTranspose2d(6, 4, 2))
        x = torch.randn(2, 3, 6, 6)
    elif case == "grouped":
        model, x = nn.Sequential(nn.Conv2d(4, 8, 3, groups=2), relu, nn.Conv2d(8, 4, 1, groups=2)), torch.randn(2, 4, 8, 8)
    elif case == "depthwise":
        model = nn.Sequential(nn.Conv2d(3, 8, 1), relu, nn.Conv2d(8, 8, 3, groups=8), relu, nn.Conv2d(8, 2, 1))
        x = torch.randn(2, 3, 9, 9)
    else:
        model, x = nn.Sequential(nn.Linear(5, 6, bias=False), relu, nn.Linear(6, 3)), torch.randn(4, 5)
    with torch.no_grad():  # make the layers worth equalizing
        first = model[0].weight
        first.mul_(torch.logspace(-2, 2, first.shape[0]).view(-1, *[1] * (first.dim() - 1))
                   if not isinstance(model[0], nn.ConvTranspose2d) else 1.0)
    before = copy.deepcopy(model)
    convs = [name for name, m in model.named_children() if not isinstance(m, nn.ReLU)]
    qt.equalize(model, [convs])
    forward_close(before, model, x)
    changed = any(not torch.equal(p, q) for p, q in zip(model.parameters(), before.parameters()))
    assert changed


def test_zero_range_channel_is_left_alone():
    torch.manual_seed(5)
    a, b = nn.Linear(3, 4), nn.Linear(4, 2)
    with torch.no_grad():
        a.weight[1] = 0.5  # constant row: PyTorch writes inf here
    qt.cross_layer_equalization(a, b)
    assert torch.isfinite(a.weight).all() and torch.isfinite(b.weight).all()
    assert (a.weight[1] == 0.5).all()


def test_bad_inputs_raise_and_leave_the_model_unchanged():
    torch.manual_seed(6)

    def fresh():
        return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 5))

    cases = {
        "dtype": (lambda m: m.double(), TypeError),
        "noncontiguous": (lambda m: setattr(m[2], "weight", nn.Parameter(torch.randn(4, 5).t())), ValueError),
        "device": (lambda m: setattr(m[2], "weight", nn.Parameter(torch.randn(5, 4, device="meta"))), ValueError),
        "shape": (lambda m: setattr(m, "2", nn.Linear(3, 5)), TypeError),
        "unsupported": (lambda m: setattr(m, "2", nn.LSTM(4, 5)), ValueError),
        "nan": (lambda m: m[2].weight.data.__setitem__((0, 0), float("nan")), qeq.NonFiniteError),
    }
    for name, (spoil, error) in cases.items():
        model = fresh()
        spoil(model)
        snapshot = {k: v.clone() for k, v in model.state_dict().items()}
        with pytest.raises(error) as info:
            qt.equalize(model, [["0", "2"]])
        assert str(info.value), name
        for k, v in model.state_dict().items():
            if v.device.type == "cpu":
                assert torch.equal(v, snapshot[k]) or torch.isnan(v).any(), (name, k)
    with pytest.raises(ValueError):
        qt.cross_layer_equalization(nn.Linear(3, 4), nn.Linear(4, 2), output_axis=1)
    relu6 = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    layer = qt.layer_of(relu6[0])
    layer.activation = "relu6"
    with pytest.raises(qeq.UnsupportedError):
        qeq.cross_layer_equalize(layer, qt.layer_of(relu6[1]))


def test_errors_from_the_chains_name_the_modules():
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.ReLU(), nn.Conv2d(4, 5, 1)).eval()
    with torch.no_grad():
        model[2].weight[1, 1] = float("nan")
    import qeq
    with pytest.raises(qeq.NonFiniteError, match=r"equalize: the chains over \['0', '2'\]: "
                       r".*'2''s weight\[5\] is NaN or Inf"):
        qt.equalize(model, [["0", "2"]])
