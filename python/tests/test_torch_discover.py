"""Pair discovery with torch.fx: torchvision's resnet18 and mobilenet_v2 (random weights),
where the discovered pairs equalize as PyTorch's functions do on them, and small models for
each refusal reason."""
import copy

import pytest

torch = pytest.importorskip("torch", reason="python3-torch is not installed")
torchvision = pytest.importorskip("torchvision", reason="python3-torchvision is not installed")
from torch import nn  # noqa: E402
from torch.ao.quantization import _equalize as teq  # noqa: E402
from torch.ao.quantization import fuse_modules as torch_fuse_modules  # noqa: E402

import qeq.torch as qt  # noqa: E402
from test_torch_models import assert_same_params, build  # noqa: E402


def reasons(found):
    return {r.layer: r.reason for r in found.refusals}


def test_resnet18():
    model = build("resnet18")
    found = qt.find_chains(model, torch.randn(1, 3, 64, 64))
    blocks = [n for n, m in model.named_modules()
              if isinstance(m, torchvision.models.resnet.BasicBlock)]
    assert found.pairs == [(f"{b}.conv1", f"{b}.conv2") for b in blocks]
    assert found.chains == [list(p) for p in found.pairs] and not found.triplets
    convs = [n for n, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    assert len(found.batch_norms) == len(convs) == 20
    # the block's ReLU module runs twice (after bn1 and after the add): not fused
    assert ["conv1", "bn1", "relu"] in found.fusions
    assert ["layer1.0.conv1", "layer1.0.bn1"] in found.fusions
    why = reasons(found)
    assert why["conv1"].startswith("branch")  # maxpool feeds layer1.0.conv1 and the add
    assert why["layer1.0.conv2"].startswith("residual add")
    assert why["layer2.0.downsample.0"].startswith("residual add")
    assert "fc" not in why  # the output: nothing to refuse
    # folding and equalizing the discovered chains gives PyTorch's bits
    fused = qt.fuse_modules(model, found.fusions)
    ref = torch_fuse_modules(model, found.fusions)
    for a, b in found.pairs:  # one sweep (PyTorch's equalize is slow; test_torch_models
        m, r = dict(fused.named_modules()), dict(ref.named_modules())  # iterates it)
        qt.cross_layer_equalization(m[a], m[b])
        teq.cross_layer_equalization(r[a], r[b])
    assert_same_params(fused, ref)


def test_mobilenet_v2():
    model = build("mobilenet_v2")
    found = qt.find_chains(model, torch.randn(1, 3, 64, 64))
    why = reasons(found)
    assert found.pairs, "projection -> next expansion of blocks without a residual"
    for a, b in found.pairs:  # project conv (+BN) of block i straight into block i+1
        assert a.endswith(".conv.1") or a.endswith(".conv.2"), (a, b)
        assert b.endswith(".conv.0.0") or b == "features.18.0", (a, b)
    assert why["features.2.conv.0.0"].startswith("non-scale-equivariant op")
    assert "ReLU6" in why["features.2.conv.0.0"]
    assert any(r.startswith("residual add") for r in why.values())
    assert len(found.batch_norms) == 52
    fused = qt.fuse_modules(model, found.fusions)
    ref = torch_fuse_modules(model, found.fusions)
    for a, b in found.pairs:
        m, r = dict(fused.named_modules()), dict(ref.named_modules())
        qt.cross_layer_equalization(m[a], m[b])
        teq.cross_layer_equalization(r[a], r[b])
    assert_same_params(fused, ref)


class Seq(nn.Module):
    def __init__(self, *mods, fn=None):
        super().__init__()
        self.a, self.mid, self.b = mods
        self.fn = fn

    def forward(self, x):
        x = self.a(x)
        x = self.fn(x) if self.fn else self.mid(x)
        return self.b(x)


class Branch(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b, self.c = nn.Conv2d(3, 4, 1), nn.Conv2d(4, 4, 1), nn.Conv2d(4, 4, 1)

    def forward(self, x):
        x = self.a(x)
        return self.b(x) * self.c(x)


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Conv2d(4, 4, 1), nn.Conv2d(4, 4, 1)

    def forward(self, x):
        return self.b(self.a(x) + x)


class Twice(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(4, 4), nn.Linear(4, 4)

    def forward(self, x):
        return self.b(self.a(self.a(x)))


class Flatten(nn.Module):
    def __init__(self, pool):
        super().__init__()
        self.a, self.pool = nn.Conv2d(3, 4, 1), pool
        self.b = nn.Linear(16 if pool is None else 4, 2)

    def forward(self, x):
        x = self.a(x)
        if self.pool is not None:
            x = self.pool(x)
        return self.b(torch.flatten(x, 1))


@pytest.mark.parametrize("model,example,reason", [
    (Branch(), None, "branch: the output feeds 2 nodes"),
    (Residual(), None, "residual add"),
    (Seq(nn.Linear(4, 4), nn.ReLU6(), nn.Linear(4, 4)), None,
     "non-scale-equivariant op mid (ReLU6)"),
    (Seq(nn.Linear(4, 4), None, nn.Linear(4, 4), fn=torch.sigmoid), None,
     "non-scale-equivariant op sigmoid()"),
    (Seq(nn.Conv2d(3, 4, 1), nn.ReLU(), nn.Sequential(nn.BatchNorm2d(4), nn.Conv2d(4, 4, 1))),
     None, "batch norm b.0 is not directly after the layer"),
    (Flatten(None), torch.randn(1, 3, 2, 2), "merges channels with spatial positions"),
    (Flatten(None), None, "no example input"),
    (Twice(), None, "called 2 times"),
])
def test_refusals(model, example, reason):
    found = qt.find_chains(model.eval(), example)
    assert not found.pairs
    assert any(reason in r.reason for r in found.refusals), found.refusals


def test_chains_through_pools_bn_and_depthwise_triplets():
    model = nn.Sequential(nn.Conv2d(3, 8, 1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(8, 8, 3, groups=8), nn.ReLU(), nn.Conv2d(8, 4, 1),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2)).eval()
    found = qt.find_chains(model, torch.randn(1, 3, 8, 8))
    assert found.chains == [["0", "4", "6", "9"]] and not found.refusals
    assert found.triplets == [("0", "4", "6")]
    assert found.batch_norms == [("0", "1")] and found.fusions == [["0", "1", "2"], ["4", "5"]]
    fused = qt.fuse_modules(model, found.fusions)
    before = copy.deepcopy(fused)
    qt.equalize(fused, found.chains)
    x = torch.randn(3, 3, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(fused(x), before(x), rtol=1e-4, atol=1e-5)
