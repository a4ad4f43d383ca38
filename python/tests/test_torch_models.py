"""Real architectures (torchvision, random weights, nothing downloaded): batch-norm folding
and cross-layer equalization over the listed pairs give PyTorch's bits, and the folded
model computes what the original did."""
import copy

import pytest

torch = pytest.importorskip("torch", reason="python3-torch is not installed")
torchvision = pytest.importorskip("torchvision", reason="python3-torchvision is not installed")
from torch import nn  # noqa: E402
from torch.ao.quantization import _equalize as teq  # noqa: E402
from torch.ao.quantization import fuse_modules as torch_fuse_modules  # noqa: E402

import qeq.torch as qt  # noqa: E402

LAYERS = (nn.Conv2d, nn.Linear)


def build(name):
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)(weights=None).eval()
    g = torch.Generator().manual_seed(1)
    for m in model.modules():  # batch norms that do something
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=g) * 0.1)
    return model


def bn_groups(model):
    """Conv followed by its BatchNorm2d among a module's children, as these models build it."""
    groups = []
    for parent, module in model.named_modules():
        children = list(module.named_children())
        for (a, ma), (b, mb) in zip(children, children[1:]):
            if isinstance(ma, nn.Conv2d) and isinstance(mb, nn.BatchNorm2d):
                prefix = f"{parent}." if parent else ""
                groups.append([prefix + a, prefix + b])
    return groups


def cle_pairs(model):
    """Consecutive convs inside one block (first two name components), downsample paths
    excluded; only pairs PyTorch's cross_layer_equalization accepts (channel counts fit)."""
    convs = [(n, m) for n, m in model.named_modules()
             if isinstance(m, nn.Conv2d) and "downsample" not in n]
    pairs = []
    for (a, ma), (b, mb) in zip(convs, convs[1:]):
        if a.split(".")[:2] == b.split(".")[:2] and ma.out_channels == mb.weight.shape[1]:
            pairs.append([a, b])
    return pairs


def assert_same_params(a, b):
    pa, pb = dict(a.named_parameters()), dict(b.named_parameters())
    assert pa.keys() == pb.keys()
    for name in pa:
        assert torch.equal(pa[name], pb[name]), name


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2", "mobilenet_v3_large"])
def test_fold_and_cle_match_pytorch(name):
    torch.set_num_threads(1)
    model = build(name)
    groups = bn_groups(model)
    assert len(groups) > 15
    fused = qt.fuse_modules(model, groups)
    ref = torch_fuse_modules(model, groups)
    assert_same_params(fused, ref)
    x = torch.randn(2, 3, 96, 96)
    with torch.no_grad():
        torch.testing.assert_close(fused(x), model(x), rtol=1e-3, atol=1e-4)
    pairs = cle_pairs(fused)
    assert len(pairs) >= 8
    # one pass: every pair once, then the iterated form on a few pairs
    for a, b in pairs:
        m = dict(fused.named_modules())
        r = dict(ref.named_modules())
        qt.cross_layer_equalization(m[a], m[b])
        teq.cross_layer_equalization(r[a], r[b])
    assert_same_params(fused, ref)
    qt.equalize(fused, pairs[:4], threshold=1e-3)
    teq.equalize(ref, pairs[:4], threshold=1e-3)
    assert_same_params(fused, ref)


def test_resnet18_equalized_computes_the_same():
    model = build("resnet18")
    fused = qt.fuse_modules(model, bn_groups(model))
    # conv1 -> ReLU -> conv2 inside each BasicBlock: CLE keeps the function
    pairs = [[f"{n}.conv1", f"{n}.conv2"] for n, m in fused.named_modules()
             if isinstance(m, torchvision.models.resnet.BasicBlock)]
    assert len(pairs) == 8
    before = copy.deepcopy(fused)
    qt.equalize(fused, pairs)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(fused(x), before(x), rtol=1e-3, atol=1e-4)


def test_mobilenet_v2_depthwise_triplets_beyond_pytorch():
    """expand -> depthwise -> project chains, which PyTorch refuses (depthwise second layer),
    equalize with qeq; the ReLU6 makes it approximate, so only sanity is checked."""
    model = build("mobilenet_v2")
    fused = qt.fuse_modules(model, bn_groups(model))
    chains = []
    for n, m in fused.named_modules():
        if isinstance(m, torchvision.models.mobilenetv2.InvertedResidual) and len(m.conv) == 4:
            chains.append([f"{n}.conv.0.0", f"{n}.conv.1.0", f"{n}.conv.2"])
    assert chains
    qt.equalize(fused, chains[:3], threshold=1e-3)
    assert qt.last_equalize_report.sweeps >= 1
    for p in fused.parameters():
        assert torch.isfinite(p).all()


def test_bad_model_input_leaves_it_unchanged():
    model = build("resnet18")
    snapshot = copy.deepcopy(model)
    groups = bn_groups(model) + [["fc", "avgpool"]]
    with pytest.raises(AssertionError):
        qt.fuse_modules(model, groups, inplace=True)
    assert_same_params(model, snapshot)
    assert isinstance(model.bn1, nn.BatchNorm2d)
