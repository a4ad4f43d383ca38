"""The numpy API over libqeq: dispatch, zero copies, errors as exceptions, and results."""
import numpy as np
import pytest

import qeq


def test_versions_and_dispatch():
    assert qeq.__version__ == qeq.version_string()
    major, minor, patch = map(int, qeq.__version__.split("."))
    assert qeq.version() == major * 10000 + minor * 100 + patch
    assert qeq.isa() in qeq.core.ISAS
    assert "scalar" in qeq.detected_isas()
    variants = qeq.kernel_variants()
    assert set(variants) == set(qeq.core.KERNEL_FAMILIES)
    assert len(qeq.core.KERNEL_FAMILIES) >= 17  # only ever appended to
    assert qeq.core.KERNEL_FAMILIES[:2] == ("f32_rminmax", "f32_vminmax")
    assert all(v.startswith(f"qeq_{f}_ukernel") for f, v in variants.items())
    try:
        qeq.set_isa_cap("scalar")
        assert qeq.isa() == "scalar"
        assert all(v.endswith("__scalar") for v in qeq.kernel_variants().values())
        if qeq.isa_detected("avx2"):
            qeq.set_isa_cap("avx2")
            assert qeq.isa() == "avx2"
    finally:
        qeq.clear_isa_cap()
    assert qeq.isa() == qeq.best_isa()


def test_bad_isa_names_and_caps():
    with pytest.raises(qeq.InvalidArgumentError):
        qeq.set_isa_cap("pentium")
    missing = [i for i in ("neon", "avx2") if not qeq.isa_detected(i)]
    with pytest.raises(qeq.UnsupportedError) as err:
        qeq.set_isa_cap(missing[0])
    assert err.value.message  # qeq_last_error()
    assert qeq.isa() == qeq.best_isa()


def test_channel_range_spec_example():
    t = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    assert qeq.channel_range(t, 0).tolist() == [11, 11]
    assert qeq.channel_range(t, 1).tolist() == [15, 15, 15]
    assert qeq.channel_range(t, -1).tolist() == [20] * 4
    lo, hi = qeq.channel_minmax(t, 1)
    assert lo.tolist() == [0, 4, 8] and hi.tolist() == [15, 19, 23]
    assert qeq.tensor_minmax(t) == (0.0, 23.0)
    assert qeq.channel_absmax(-t, 0).tolist() == [11, 23]


@pytest.mark.parametrize("isa", ["scalar", None])
def test_ranges_and_scaling_match_numpy(isa):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((7, 5, 3, 33)).astype(np.float32)
    try:
        if isa:
            qeq.set_isa_cap(isa)
        for axis in range(-4, 4):
            red = tuple(a for a in range(4) if a != axis % 4)
            np.testing.assert_array_equal(qeq.channel_range(x, axis),
                                          x.max(axis=red) - x.min(axis=red))
            s = rng.uniform(0.5, 2, x.shape[axis]).astype(np.float32)
            shape = [1] * 4
            shape[axis] = -1
            np.testing.assert_array_equal(qeq.scale_channels(x, s, axis), x * s.reshape(shape))
    finally:
        qeq.clear_isa_cap()


def test_in_place_is_zero_copy():
    x = np.ones((4, 6), np.float32)
    address = x.__array_interface__["data"][0]
    out = qeq.scale_channels(x, [1, 2, 3, 4], 0, out=x)
    assert out is x and x.__array_interface__["data"][0] == address
    assert x[:, 0].tolist() == [1, 2, 3, 4]


def test_bad_arrays_raise_without_copying():
    x = np.ones((4, 6), np.float32)
    with pytest.raises(TypeError, match="float32"):
        qeq.channel_range(x.astype(np.float64))
    with pytest.raises(ValueError, match="contiguous"):
        qeq.channel_range(x[:, ::2])
    with pytest.raises(ValueError, match="contiguous"):
        qeq.scale_channels(x, [1] * 4, 0, out=np.ones((6, 4), np.float32).T)
    ro = np.ones((4, 6), np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        qeq.scale_channels(x, [1] * 4, 0, out=ro)
    with pytest.raises(TypeError):
        qeq.channel_range([[1.0, 2.0]])
    with pytest.raises(ValueError, match="axis"):
        qeq.channel_range(x, 2)
    with pytest.raises(ValueError, match="4 values"):
        qeq.scale_channels(x, [1, 2], 0)
    with pytest.raises(qeq.NonFiniteError) as err:
        qeq.scale_channels(x, [1, np.inf, 1, 1], 0, out=x)
    assert "scales" in str(err.value)
    assert (x == 1).all()  # nothing written on failure
    with pytest.raises(qeq.InvalidArgumentError):
        qeq.channel_range(np.ones((0, 3), np.float32))


def test_qparams_observer_quantize_roundtrip():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 40)).astype(np.float32)
    assert qeq.quant_range("quint8", "per_tensor_affine", reduce_range=True) == (0, 127)
    obs = qeq.Observer("qint8", "per_channel_symmetric", ch_axis=0)
    obs.update(np.ascontiguousarray(x[:, :20])).update(np.ascontiguousarray(x[:, 20:]))
    lo, hi = obs.minmax()
    np.testing.assert_array_equal(lo, x.min(axis=1))
    scale, zp = obs.qparams()
    assert zp.tolist() == [0, 0, 0]
    np.testing.assert_array_equal(scale, np.maximum(np.maximum(-lo, hi) / np.float32(127.5),
                                                    np.float32(2 ** -23)).astype(np.float32))
    q = qeq.quantize(x, scale, zp, axis=0, dtype="qint8")
    assert q.dtype == np.int8
    ref = np.clip(np.rint(x * (np.float32(1) / scale)[:, None]), -128, 127)
    np.testing.assert_array_equal(q, ref)
    back = qeq.dequantize(q, scale, zp, axis=0)
    np.testing.assert_array_equal(back, (scale[:, None] * q.astype(np.float32)))
    fq = qeq.fake_quantize(x, scale, zp, -128, 127, axis=0)
    np.testing.assert_array_equal(fq, back)
    assert qeq.sqnr(x, x) == float("inf")
    assert 30 < qeq.sqnr(x, fq) < 60
    s2, z2 = qeq.calculate_qparams([-1.0], [3.0], "quint8", "per_tensor_affine")
    assert (s2[0], z2[0]) == (np.float32(4 / 255), 64)
    with pytest.raises(qeq.InvalidArgumentError):
        qeq.calculate_qparams([1.0], [0.0])


def test_requantize_and_selection():
    acc = np.array([[-1000, 0, 1000, 100000]], np.int32)
    y = qeq.requantize(acc, [0.01], 10, 0, 255, dtype="quint8")
    assert y.tolist() == [[0, 10, 20, 255]]
    assert qeq.select_lowest_sqnr([30.0, 10.0, 20.0, 10.0], 2) == [1, 3]
    assert qeq.select_lowest_sqnr([30.0, 10.0], -1) == [1]
    with pytest.raises(qeq.InvalidArgumentError):
        qeq.select_lowest_sqnr([float("nan")], 1)
    with pytest.raises(TypeError):
        qeq.requantize(acc.astype(np.int64), [0.01], 0, 0, 255)


def test_layers_cle_fold_and_dfq():
    rng = np.random.default_rng(3)
    w1 = rng.standard_normal((6, 4)).astype(np.float32)
    b1 = rng.standard_normal(6).astype(np.float32)
    w2 = rng.standard_normal((5, 6)).astype(np.float32)
    l1, l2 = qeq.Layer("linear", w1, b1, activation="relu"), qeq.Layer("linear", w2)
    assert l1.channels == (4, 6) and l2.channels == (6, 5)
    x = rng.standard_normal((8, 4)).astype(np.float32)
    before = np.maximum(x @ w1.T + b1, 0) @ w2.T
    s = qeq.cross_layer_equalize(l1, l2)
    assert s.shape == (6,)
    np.testing.assert_allclose(np.maximum(x @ w1.T + b1, 0) @ w2.T, before, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(qeq.channel_range(w1, 0), qeq.channel_range(w2, 1), rtol=1e-6)
    report = qeq.equalize_groups([[l1, l2]])
    assert report.converged and report.sweeps >= 1
    with pytest.raises(qeq.ShapeMismatchError):
        qeq.cross_layer_equalize(l2, l1)
    with pytest.raises(TypeError):  # a shape mismatch is a TypeError too, as in PyTorch
        qeq.cross_layer_equalize(l2, l1)
    # batch norm folding, the conv test vector of docs/numerics.md#folding-test-vector
    w = np.array([2, -1], np.float32).reshape(2, 1, 1)
    conv = qeq.Layer("conv1d", w)
    folded, folded_bias = np.empty_like(w), np.empty(2, np.float32)
    qeq.fold_batch_norm_to(conv, [0.5, -1], [3, 0.25], [1.5, 2], [0.1, -0.2], 1e-5,
                           weight_out=folded, bias_out=folded_bias)
    assert w.reshape(-1).tolist() == [2, -1] and conv.bias is None  # only read
    assert folded.reshape(-1).tolist() == [np.float32(1.7320479), np.float32(-3.99992)]
    assert folded_bias.tolist() == [np.float32(-0.33301198), np.float32(3.7999198)]
    with pytest.raises(qeq.ShapeMismatchError, match="weight_out"):
        qeq.fold_batch_norm_to(conv, [0.5, -1], [3, 0.25], weight_out=np.empty(2, np.float32),
                               bias_out=folded_bias)
    bias = qeq.fold_batch_norm(conv, [0.5, -1], [3, 0.25], [1.5, 2], [0.1, -0.2], 1e-5)
    assert w.reshape(-1).tolist() == [np.float32(1.7320479), np.float32(-3.99992)]
    assert bias.tolist() == [np.float32(-0.33301198), np.float32(3.7999198)]
    # input equalization and bias correction run and keep their contracts
    sc = qeq.input_equalization_scales(l2, -np.ones(6, np.float32), np.ones(6, np.float32))
    assert sc.shape == (6,) and (sc > 0).all()
    qeq.apply_input_equalization(l2, sc, producer=l1)
    lo, hi = qeq.scaled_input_minmax(-np.ones(6, np.float32), np.ones(6, np.float32), sc)
    assert lo == -sc.max() and hi == sc.max()
    qeq.correct_bias(l2, w2.copy(), np.ones(6, np.float32))
    assert l2.bias is not None and (l2.bias == 0).all()
    with pytest.raises(ValueError, match="layer kind"):
        qeq.Layer("lstm", w1)
    with pytest.raises(qeq.ShapeMismatchError):
        qeq.Layer("conv2d", w1)  # wrong rank for the kind


def test_fold_batch_norms_is_one_fold_per_layer_and_all_or_nothing():
    rng = np.random.default_rng(7)
    shapes = [("conv2d", (6, 2, 3, 3), 2, True), ("conv_transpose1d", (4, 3, 2), 2, False),
              ("linear", (6, 5), 1, False)]
    weights = [rng.standard_normal(s).astype(np.float32) for _, s, _, _ in shapes]
    biases = [rng.standard_normal(6).astype(np.float32) if b else None for *_, b in shapes]
    bns = [(rng.standard_normal(6).astype(np.float32),
            (rng.random(6) + 0.1).astype(np.float32),
            rng.standard_normal(6).astype(np.float32) if i != 1 else None,
            rng.standard_normal(6).astype(np.float32) if i != 1 else None, 1e-5)
           for i in range(3)]

    def layers():
        return [qeq.Layer(k, w.copy(), None if b is None else b.copy(), g)
                for (k, _, g, _), w, b in zip(shapes, weights, biases)]

    batch, single = layers(), layers()
    batch[2].weight[3, 1] = np.inf
    with pytest.raises(qeq.NonFiniteError, match=r"layers\[2\]"):
        qeq.fold_batch_norms(batch, bns)
    assert all(np.array_equal(l.weight, w) for l, w in zip(batch[:2], weights))
    assert np.array_equal(batch[0].bias, biases[0]) and batch[1].bias is None
    batch[2].weight[3, 1] = weights[2][3, 1]
    qeq.fold_batch_norms(batch, bns)
    for one, many, bn in zip(single, batch, bns):
        qeq.fold_batch_norm(one, *bn)
        assert np.array_equal(one.weight, many.weight) and np.array_equal(one.bias, many.bias)
    with pytest.raises(ValueError, match="2 layers but 3"):
        qeq.fold_batch_norms(batch[:2], bns)
