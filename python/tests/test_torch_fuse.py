"""qeq.torch's batch-norm folding and fuse_modules against PyTorch's, scenario by scenario as
PyTorch's test_fuse_eager checks them: same module types, torch.equal parameters."""
import copy

import pytest

torch = pytest.importorskip("torch", reason="python3-torch is not installed")
from torch import nn  # noqa: E402
import torch.nn.intrinsic as nni  # noqa: E402
from torch.ao.quantization import fuse_modules as torch_fuse_modules  # noqa: E402
from torch.nn.utils import fusion as tfusion  # noqa: E402

import qeq.torch as qt  # noqa: E402


def randomize_bn(model: nn.Module, seed=0):
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=g))
            m.running_var.copy_(torch.rand(n, generator=g) + 0.1)
            if m.affine:
                m.weight.data.copy_(torch.randn(n, generator=g))
                m.bias.data.copy_(torch.randn(n, generator=g))
    return model


def assert_same(a: nn.Module, b: nn.Module):
    assert [type(m) for m in a.modules()] == [type(m) for m in b.modules()]
    pa, pb = dict(a.named_parameters()), dict(b.named_parameters())
    assert pa.keys() == pb.keys()
    for name in pa:
        assert torch.equal(pa[name], pb[name]), name
    for (name, ma), mb in zip(a.named_modules(), b.modules()):
        assert ma.training == mb.training, name


class ModelForFusion(nn.Module):
    """The shapes of PyTorch's test model: conv-bn-relu, conv-bn, 3d and 1d convs, linear."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(2)
        self.relu1 = nn.ReLU()
        self.sub1 = nn.Sequential(nn.Conv2d(2, 2, 1), nn.BatchNorm2d(2))
        self.conv3d = nn.Conv3d(3, 2, (1, 1, 1), bias=False)
        self.bn3d = nn.BatchNorm3d(2)
        self.relu3d = nn.ReLU()
        self.conv1d = nn.Conv1d(3, 3, 2)
        self.bn1d = nn.BatchNorm1d(3)
        self.fc = nn.Linear(4, 4)
        self.relu_fc = nn.ReLU()
        self.bn2 = nn.BatchNorm2d(2)
        self.relu2 = nn.ReLU()

    def forward(self, x, x3, x1, xf):
        x = self.relu2(self.bn2(self.sub1(self.relu1(self.bn1(self.conv1(x))))))
        return (x, self.relu3d(self.bn3d(self.conv3d(x3))), self.bn1d(self.conv1d(x1)),
                self.relu_fc(self.fc(xf)))


GROUPS = [["conv1", "bn1", "relu1"], ["sub1.0", "sub1.1"], ["conv3d", "bn3d", "relu3d"],
          ["conv1d", "bn1d"], ["fc", "relu_fc"], ["bn2", "relu2"]]
INPUTS = (torch.randn(2, 3, 4, 4), torch.randn(2, 3, 2, 3, 3), torch.randn(2, 3, 5),
          torch.randn(3, 4))


def test_fuse_module_eval():
    model = randomize_bn(ModelForFusion()).eval()
    fused = qt.fuse_modules(model, GROUPS)
    ref = torch_fuse_modules(model, GROUPS)
    assert_same(fused, ref)
    assert isinstance(fused.conv1, nni.ConvReLU2d) and isinstance(fused.bn1, nn.Identity)
    assert isinstance(fused.bn2, nni.BNReLU2d) and isinstance(fused.fc, nni.LinearReLU)
    for out, expected in zip(fused(*INPUTS), model(*INPUTS)):
        torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)
    assert isinstance(model.bn1, nn.BatchNorm2d)  # inplace=False


def test_fusion_sequential_model_eval_inplace():
    model = randomize_bn(nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(),
                                       nn.Conv2d(4, 4, 3), nn.BatchNorm2d(4))).eval()
    ref = torch_fuse_modules(copy.deepcopy(model), [["0", "1", "2"], ["3", "4"]])
    out = qt.fuse_modules(model, [["0", "1", "2"], ["3", "4"]], inplace=True)
    assert out is model
    assert_same(model, ref)


@pytest.mark.parametrize("bias", [True, False])
def test_fusion_conv_with_bias_and_affine_variants(bias):
    for affine in (True, False):
        model = randomize_bn(nn.Sequential(nn.Conv2d(3, 6, 3, bias=bias, groups=3),
                                           nn.BatchNorm2d(6, affine=affine))).eval()
        assert_same(qt.fuse_modules(model, ["0", "1"]), torch_fuse_modules(model, ["0", "1"]))


def test_fusion_linear_bn_eval():
    model = randomize_bn(nn.Sequential(nn.Linear(5, 7), nn.BatchNorm1d(7))).eval()
    assert_same(qt.fuse_modules(model, ["0", "1"]), torch_fuse_modules(model, ["0", "1"]))
    lin, bn = model
    ref = tfusion.fuse_linear_bn_weights(lin.weight, lin.bias, bn.running_mean, bn.running_var,
                                         bn.eps, bn.weight, bn.bias)
    ours = qt.fuse_linear_bn_weights(lin.weight, lin.bias, bn.running_mean, bn.running_var,
                                     bn.eps, bn.weight, bn.bias)
    for a, b in zip(ours, ref):
        assert isinstance(a, nn.Parameter) and torch.equal(a, b)
    # affine=False, which PyTorch 1.13 refuses: gamma 1, beta 0
    bn2 = randomize_bn(nn.BatchNorm1d(7, affine=False)).eval()
    w, b = qt.fuse_linear_bn_weights(lin.weight, None, bn2.running_mean, bn2.running_var,
                                     bn2.eps, None, None)
    x = torch.randn(3, 5)
    torch.testing.assert_close(x @ w.t() + b, bn2(x @ lin.weight.t()), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_fusion_convtranspose_bn_eval(dim):
    convt = {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}[dim]
    bn = {1: nn.BatchNorm1d, 2: nn.BatchNorm2d, 3: nn.BatchNorm3d}[dim]
    model = randomize_bn(nn.Sequential(convt(3, 5, 2), bn(5))).eval()
    assert_same(qt.fuse_modules(model, ["0", "1"]), torch_fuse_modules(model, ["0", "1"]))


def test_grouped_convtranspose_bn_folds_correctly():
    model = randomize_bn(nn.Sequential(nn.ConvTranspose2d(4, 6, 3, groups=2),
                                       nn.BatchNorm2d(6))).eval()
    with pytest.raises(RuntimeError):
        torch_fuse_modules(model, ["0", "1"])  # PyTorch's broadcast bug
    fused = qt.fuse_modules(model, ["0", "1"])
    x = torch.randn(2, 4, 5, 5)
    torch.testing.assert_close(fused(x), model(x), rtol=1e-5, atol=1e-5)
    w, b = qt.fuse_conv_bn_weights(model[0].weight, model[0].bias, model[1].running_mean,
                                   model[1].running_var, model[1].eps, model[1].weight,
                                   model[1].bias, transpose=True)
    assert torch.equal(w, fused[0].weight) and torch.equal(b, fused[0].bias)


def test_fuse_conv_bn_weights_spec_vector():
    w, b = qt.fuse_conv_bn_weights(torch.tensor([2.0, -1.0]).view(2, 1, 1), None,
                                   torch.tensor([0.5, -1.0]), torch.tensor([3.0, 0.25]), 1e-5,
                                   torch.tensor([1.5, 2.0]), torch.tensor([0.1, -0.2]))
    assert torch.equal(w.view(-1), torch.tensor([1.7320479, -3.99992]))
    assert torch.equal(b, torch.tensor([-0.33301198, 3.7999198]))
    conv, bn = nn.Conv2d(3, 4, 3), randomize_bn(nn.BatchNorm2d(4)).eval()
    conv.eval()
    assert_same(qt.fuse_conv_bn_eval(conv, bn), tfusion.fuse_conv_bn_eval(conv, bn))


def test_forward_hooks_preserved():
    model = randomize_bn(nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU())).eval()
    calls = []
    model[0].register_forward_pre_hook(lambda m, i: calls.append("pre"))
    model[2].register_forward_hook(lambda m, i, o: calls.append("post"))
    fused = qt.fuse_modules(model, ["0", "1", "2"])
    fused(torch.randn(1, 3, 5, 5))
    assert calls == ["pre", "post"]
    calls.clear()
    model(torch.randn(1, 3, 5, 5))  # the original keeps its hooks
    assert calls == ["pre", "post"]


def test_custom_fuser_mapping():
    class Custom(nn.Module):
        def forward(self, x):
            return x

    def fuse_custom(is_qat, linear, custom):
        return nn.Sequential(linear, nn.Tanh())

    model = nn.Sequential(nn.Linear(3, 3), Custom()).eval()
    fused = qt.fuse_modules(model, ["0", "1"], fuse_custom_config_dict={
        "additional_fuser_method_mapping": {(nn.Linear, Custom): fuse_custom}})
    assert isinstance(fused[0], nn.Sequential) and isinstance(fused[1], nn.Identity)


def test_fuse_errors_leave_model_unchanged():
    model = randomize_bn(nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(),
                                       nn.Linear(4, 4), nn.Sigmoid())).eval()
    snapshot = copy.deepcopy(model)
    with pytest.raises(AssertionError, match="did not find fuser method"):
        qt.fuse_modules(model, [["0", "1", "2"], ["3", "4"]], inplace=True)
    assert_same(model, snapshot)
    model.train()
    with pytest.raises(AssertionError, match="Fusion only for eval"):
        qt.fuse_modules(model, ["0", "1"], inplace=True)
    model[1].eval()
    with pytest.raises(AssertionError, match="same mode"):
        qt.fuse_modules(model, ["0", "1"], inplace=True)
    model.eval()
    model[0].weight = nn.Parameter(model[0].weight.double())
    with pytest.raises(TypeError, match="float32"):
        qt.fuse_modules(model, ["0", "1"], inplace=True)
    assert isinstance(model[1], nn.BatchNorm2d)
    with pytest.raises(KeyError):
        qt.fuse_modules(model, ["0", "nope"])
    with pytest.raises(ValueError, match="running_mean"):  # channel mismatch
        qt.fuse_conv_bn_weights(torch.randn(4, 3, 3, 3), None, torch.zeros(5), torch.ones(5),
                                1e-5, None, None)


def test_qat_fusion_delegates_to_pytorch():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU()).train()
    fused = qt.fuse_modules_qat(model, ["0", "1", "2"])
    assert isinstance(fused[0], nni.ConvBnReLU2d)


def test_qat_fusion_honours_fuser_func_and_custom_mapping():
    calls = []

    def fuser(mods, is_qat, additional):
        calls.append((len(mods), is_qat, dict(additional)))
        return [nn.Sequential(*mods)] + [nn.Identity()] * (len(mods) - 1)

    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)).train()
    mapping = {(nn.Conv2d, nn.BatchNorm2d): lambda is_qat, c, b: nn.Sequential(c, b)}
    fused = qt.fuse_modules_qat(model, ["0", "1"], fuser_func=fuser,
                                fuse_custom_config_dict={"additional_fuser_method_mapping":
                                                         mapping})
    assert calls == [(2, True, mapping)]
    assert isinstance(fused[0], nn.Sequential) and isinstance(fused[1], nn.Identity)
    assert isinstance(model[1], nn.BatchNorm2d)  # not in place: the caller's model unchanged


@pytest.fixture
def qeq_installed_in_pytorch(monkeypatch):
    """qeq's functions in PyTorch's namespaces, as users install them."""
    import importlib
    tq = importlib.import_module("torch.ao.quantization")
    tq_fuse = importlib.import_module("torch.ao.quantization.fuse_modules")
    for namespace in (tq, tq_fuse):
        for name in ("fuse_modules", "fuse_modules_qat", "fuse_known_modules"):
            monkeypatch.setattr(namespace, name, getattr(qt, name), raising=False)
    for name in ("fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval",
                 "fuse_linear_bn_weights"):
        monkeypatch.setattr(tfusion, name, getattr(qt, name))
    return tq


def test_drop_in_survives_being_dropped_in(qeq_installed_in_pytorch):
    """PyTorch-style fusion tests with qeq's functions patched in: no recursion, PyTorch's
    results (test_fuse_eager's patterns, eval and QAT)."""
    tq = qeq_installed_in_pytorch
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.Conv2d(4, 4, 1), nn.BatchNorm2d(4)).train()
    qat = tq.fuse_modules_qat(model, [["0", "1", "2"], ["3", "4"]])
    assert isinstance(qat[0], nni.ConvBnReLU2d) and isinstance(qat[3], nni.ConvBn2d)
    known = tq.fuse_known_modules([model[0], model[1]], is_qat=True)  # qeq's, patched in
    assert isinstance(known[0], nni.ConvBn2d)
    model.eval()
    fused = tq.fuse_modules(model, [["0", "1", "2"], ["3", "4"]])
    assert isinstance(fused[0], nni.ConvReLU2d) and isinstance(fused[3], nn.Conv2d)
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(fused(x), model(x), rtol=1e-4, atol=1e-5)
    conv = tfusion.fuse_conv_bn_eval(model[3], model[4])
    with torch.no_grad():
        y = model[2](model[1](model[0](x)))
        torch.testing.assert_close(conv(y), model[4](model[3](y)), rtol=1e-4, atol=1e-5)


def test_fuse_in_place_folds_into_the_layers_own_parameters():
    """inplace=True folds each batch norm into its layer's own weight and bias: PyTorch's
    bits, the same module and Parameter objects, hooks moved as fuse_known_modules moves
    them, PyTorch's requires_grad."""
    model = randomize_bn(ModelForFusion()).eval()
    ref = torch_fuse_modules(copy.deepcopy(model), GROUPS)
    conv1, sub_conv, weight = model.conv1, model.sub1[0], model.sub1[0].weight
    conv1.weight.requires_grad_(False)
    calls = []
    conv1.register_forward_pre_hook(lambda m, i: calls.append("pre conv1"))
    model.relu1.register_forward_hook(lambda m, i, o: calls.append("post relu1"))
    sub_conv.register_forward_pre_hook(lambda m, i: calls.append("pre sub1.0"))
    model.sub1[1].register_forward_hook(lambda m, i, o: calls.append("post sub1.1"))
    out = qt.fuse_modules(model, GROUPS, inplace=True)
    assert out is model
    assert_same(model, ref)
    assert model.conv1[0] is conv1 and model.sub1[0] is sub_conv and sub_conv.weight is weight
    assert conv1.weight.requires_grad and ref.conv1[0].weight.requires_grad
    assert isinstance(conv1.bias, nn.Parameter)  # conv1 had none: the folded bias
    model(*INPUTS)
    assert calls == ["pre conv1", "post relu1", "pre sub1.0", "post sub1.1"]


def test_fuse_in_place_error_writes_nothing():
    model = randomize_bn(nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(),
                                       nn.Conv2d(4, 4, 1, bias=False),
                                       nn.BatchNorm2d(4))).eval()
    model[4].running_var[2] = -1.0  # var + eps <= 0: refused when folding the second group
    snapshot = copy.deepcopy(model)
    with pytest.raises(ValueError, match=r"fuse_modules: .*'3'.*running_var\[2\]"):
        qt.fuse_modules(model, [["0", "1", "2"], ["3", "4"]], inplace=True)
    assert_same(model, snapshot)
    assert model[3].bias is None and isinstance(model[1], nn.BatchNorm2d)


def test_fuse_in_place_copies_shared_layers():
    """A tied weight or a layer registered twice is folded into a copy, as PyTorch does: the
    other user keeps the unfolded values."""
    model = randomize_bn(nn.Sequential(nn.Conv2d(3, 3, 1), nn.BatchNorm2d(3), nn.ReLU(),
                                       nn.Conv2d(3, 3, 1), nn.BatchNorm2d(3))).eval()
    model[3].weight = model[0].weight
    snapshot = copy.deepcopy(model)
    ref = torch_fuse_modules(copy.deepcopy(model), [["0", "1"]])
    qt.fuse_modules(model, [["0", "1"]], inplace=True)
    assert_same(model, ref)
    assert torch.equal(model[3].weight, snapshot[3].weight)
    conv = nn.Conv2d(3, 3, 1)
    twice = randomize_bn(nn.Sequential(conv, nn.BatchNorm2d(3), conv)).eval()
    before = conv.weight.detach().clone()
    qt.fuse_modules(twice, ["0", "1"], inplace=True)
    assert twice[2] is conv and torch.equal(conv.weight, before) and twice[0] is not conv


def test_fuse_in_place_with_custom_patterns_calls_each_fuser_once():
    class Custom(nn.Module):
        def forward(self, x):
            return x

    calls = []

    def fuse_custom(is_qat, linear, custom):
        calls.append(linear)
        return nn.Sequential(linear, nn.Tanh())

    model = randomize_bn(nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4), nn.Flatten(),
                                       nn.Linear(4, 4), Custom())).eval()
    ref = torch_fuse_modules(copy.deepcopy(model), [["0", "1"]])
    conv = model[0]
    qt.fuse_modules(model, [["0", "1"], ["3", "4"]], inplace=True, fuse_custom_config_dict={
        "additional_fuser_method_mapping": {(nn.Linear, Custom): fuse_custom}})
    assert calls == [model[3][0]] and isinstance(model[4], nn.Identity)
    assert model[0] is conv and torch.equal(conv.weight, ref[0].weight)
    assert torch.equal(conv.bias, ref[0].bias)


@pytest.mark.parametrize("make", [
    lambda: nn.Sequential(nn.Linear(5, 7), nn.BatchNorm1d(7)),
    lambda: nn.Sequential(nn.ConvTranspose2d(4, 6, 3, groups=2), nn.BatchNorm2d(6)),
    lambda: nn.Sequential(nn.ConvTranspose1d(3, 5, 2, bias=False), nn.BatchNorm1d(5))])
def test_fuse_in_place_matches_the_copying_fold_for_every_kind(make):
    model = randomize_bn(make()).eval()
    copied = qt.fuse_modules(model, ["0", "1"])
    layer = model[0]
    qt.fuse_modules(model, ["0", "1"], inplace=True)
    assert model[0] is layer and isinstance(model[1], nn.Identity)
    assert_same(model, copied)
