"""Integers crossing into C are checked against the C type they go into (qeq._checks), never
wrapped by ctypes or numpy: OverflowError outside the type's range, ValueError for a
negative count and other values the type holds but the argument does not allow, TypeError
for a non-integer (floats are not truncated), each naming the Python function or class and
the argument, raised before C runs and before anything is written. Bools and numpy integers
are integers."""
import math

import numpy as np
import pytest

import qeq

INT_MIN, INT_MAX = -(2 ** 31), 2 ** 31 - 1        # C int and int32_t (LP64 / LLP64)
SSIZE_MIN, SSIZE_MAX = -(2 ** 63), 2 ** 63 - 1    # ptrdiff_t
SIZE_MAX = 2 ** 64 - 1                            # size_t
_RANGES = {"int": (INT_MIN, INT_MAX), "int32_t": (INT_MIN, INT_MAX),
           "ptrdiff_t": (SSIZE_MIN, SSIZE_MAX), "size_t": (0, SIZE_MAX)}

# The issue's values and the edges around every C integer type qeq takes.
WIDE = [2 ** 31, 2 ** 32, 2 ** 32 + 3, 2 ** 63, 2 ** 64, 2 ** 64 + 1, 2 ** 70, -1,
        -(2 ** 31) - 1, -(2 ** 32) - 3, -(2 ** 63) - 1, -(2 ** 64) - 1, -(2 ** 70)]


def expected_error(ctype, value):
    """The exception a value outside ctype's range raises, or None if the type holds it."""
    lo, hi = _RANGES[ctype]
    if lo <= value <= hi:
        return None
    return ValueError if lo == 0 and value < 0 else OverflowError


def x2d():
    return np.arange(6, dtype=np.float32).reshape(2, 3)


def linear_pair():
    rng = np.random.default_rng(0)
    return (qeq.Layer("linear", rng.standard_normal((4, 3)).astype(np.float32)),
            qeq.Layer("linear", rng.standard_normal((2, 4)).astype(np.float32)))


def gemm(**kw):
    return qeq.Gemm(np.ones((2, 3), np.int8), [0.5], **kw)


# (function or class as messages name it, argument, C type, call with the value)
ENTRIES = [
    ("channel_minmax", "axis", "int", lambda v: qeq.channel_minmax(x2d(), v)),
    ("channel_range", "axis", "int", lambda v: qeq.channel_range(x2d(), v)),
    ("channel_absmax", "axis", "int", lambda v: qeq.channel_absmax(x2d(), v)),
    ("scale_channels", "axis", "int", lambda v: qeq.scale_channels(x2d(), [1, 1], v)),
    ("quant_range", "quant_min", "int32_t",
     lambda v: qeq.quant_range("quint8", quant_min=v, quant_max=255)),
    ("quant_range", "quant_max", "int32_t",
     lambda v: qeq.quant_range("quint8", quant_min=0, quant_max=v)),
    ("calculate_qparams", "quant_min", "int32_t",
     lambda v: qeq.calculate_qparams([-1.0], [1.0], quant_min=v, quant_max=255)),
    ("calculate_qparams", "quant_max", "int32_t",
     lambda v: qeq.calculate_qparams([-1.0], [1.0], quant_min=0, quant_max=v)),
    ("Observer", "quant_min", "int32_t", lambda v: qeq.Observer(quant_min=v, quant_max=255)),
    ("Observer", "quant_max", "int32_t", lambda v: qeq.Observer(quant_min=0, quant_max=v)),
    ("Observer", "ch_axis", "int",
     lambda v: qeq.Observer("qint8", "per_channel_symmetric", ch_axis=v)),
    ("quantize", "axis", "int", lambda v: qeq.quantize(x2d(), [1, 1], [0, 0], axis=v)),
    ("quantize", "zero_points", "int32_t",
     lambda v: qeq.quantize(x2d(), [1, 1], [0, v], axis=0, dtype="quint8")),
    ("quantize", "zero_points", "int32_t",  # one zero point, not in a list
     lambda v: qeq.quantize(x2d(), 1.0, v, dtype="quint8")),
    ("quantize", "zero_points", "int32_t",  # a numpy int64 inside a list: no int32 cast
     lambda v: qeq.quantize(x2d(), [1], [np.int64(v) if isinstance(v, int) and
                                         SSIZE_MIN <= v <= SSIZE_MAX else v], dtype="quint8")),
    ("dequantize", "axis", "int",
     lambda v: qeq.dequantize(np.zeros((2, 3), np.uint8), [1, 1], [0, 0], axis=v)),
    ("dequantize", "zero_points", "int32_t",
     lambda v: qeq.dequantize(np.zeros((2, 3), np.uint8), [1, 1], [v, 0])),
    ("fake_quantize", "axis", "int",
     lambda v: qeq.fake_quantize(x2d(), [1, 1], [0, 0], 0, 255, axis=v)),
    ("fake_quantize", "zero_points", "int32_t",
     lambda v: qeq.fake_quantize(x2d(), [1], [v], 0, 255)),
    ("fake_quantize", "quant_min", "int32_t",
     lambda v: qeq.fake_quantize(x2d(), [1], [0], v, 255)),
    ("fake_quantize", "quant_max", "int32_t",
     lambda v: qeq.fake_quantize(x2d(), [1], [0], 0, v)),
    ("requantize", "axis", "int",
     lambda v: qeq.requantize(np.zeros((2, 3), np.int32), [0.5, 0.5], 0, 0, 255, axis=v)),
    ("requantize", "zero_point", "int32_t",
     lambda v: qeq.requantize(np.zeros((2, 3), np.int32), [0.5], v, 0, 255)),
    ("requantize", "quant_min", "int32_t",
     lambda v: qeq.requantize(np.zeros((2, 3), np.int32), [0.5], 0, v, 255)),
    ("requantize", "quant_max", "int32_t",
     lambda v: qeq.requantize(np.zeros((2, 3), np.int32), [0.5], 0, 0, v)),
    ("select_lowest_sqnr", "n", "ptrdiff_t", lambda v: qeq.select_lowest_sqnr([1.0, 2.0], v)),
    ("Layer", "groups", "size_t",
     lambda v: qeq.Layer("conv2d", np.ones((4, 1, 1, 1), np.float32), groups=v)),
    ("equalize_groups", "max_sweeps", "size_t",
     lambda v: qeq.equalize_groups([list(linear_pair())], threshold=0.0, max_sweeps=v)),
    ("Gemm", "input_zero_point", "int32_t", lambda v: gemm(input_zero_point=v)),
    ("Gemm", "output_zero_point", "int32_t", lambda v: gemm(output_zero_point=v)),
    ("Gemm", "weight_zero_points", "int32_t",
     lambda v: qeq.Gemm(np.ones((2, 3), np.int8), [0.5, 0.5], [0, v])),
]
ENTRY_IDS = [f"{f}-{a}-{i}" for i, (f, a, _, _) in enumerate(ENTRIES)]

OUT_OF_RANGE = [pytest.param(entry, v, id=f"{eid}-{v}")
                for entry, eid in zip(ENTRIES, ENTRY_IDS) for v in WIDE
                if expected_error(entry[2], v) is not None]


@pytest.mark.parametrize("entry, value", OUT_OF_RANGE)
def test_out_of_range_integers_raise_naming_the_argument(entry, value):
    func, arg, ctype, call = entry
    with pytest.raises(expected_error(ctype, value)) as err:
        call(value)
    assert not isinstance(err.value, qeq.QeqError), "raised by C: the value reached C"
    message = str(err.value)
    assert message.startswith(f"{func}: {arg}"), message
    assert str(value) in message


NOT_INTEGERS = [1.0, 0.5, -1.5, math.inf, math.nan, np.float64(1.0), np.float32(2.0), "1",
                None, 1 + 0j]


# None is a value of its own for an optional custom range: "no custom range"
OPTIONAL = {("quant_range", "quant_min"), ("quant_range", "quant_max"),
            ("calculate_qparams", "quant_min"), ("calculate_qparams", "quant_max"),
            ("Observer", "quant_min"), ("Observer", "quant_max")}
WRONG_TYPE = [pytest.param(entry, v, id=f"{eid}-{v!r}")
              for entry, eid in zip(ENTRIES, ENTRY_IDS) for v in NOT_INTEGERS
              if not (v is None and entry[:2] in OPTIONAL)]


@pytest.mark.parametrize("entry, value", WRONG_TYPE)
def test_non_integers_raise_type_error_not_truncate(entry, value):
    func, arg, ctype, call = entry
    with pytest.raises(TypeError) as err:
        call(value)
    assert str(err.value).startswith(f"{func}: {arg}"), str(err.value)


# ---- the issue's examples, one by one --------------------------------------------------------

def test_issue_examples():
    with pytest.raises(OverflowError, match="select_lowest_sqnr: n"):
        qeq.select_lowest_sqnr([3.0, 1.0, 2.0], n=2 ** 70)
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    with pytest.raises(OverflowError, match="quantize: axis"):
        qeq.quantize(x, [1, 1], [0, 0], axis=2 ** 32)  # was: along axis 0
    with pytest.raises(OverflowError, match=r"quantize: zero_points\[0\]"):
        qeq.quantize(x, [1.0], [2 ** 32 + 3], dtype="quint8")  # was: zero point 3
    with pytest.raises(OverflowError, match="Gemm: input_zero_point"):
        qeq.Gemm(np.ones((2, 3), np.int8), [0.5], input_zero_point=2 ** 32 + 3)
    with pytest.raises(OverflowError, match="quant_range: quant_min"):
        qeq.quant_range("quint8", quant_min=2 ** 32, quant_max=255)  # was: 0
    with pytest.raises(OverflowError, match="Layer: groups"):
        qeq.Layer("linear", np.ones((2, 3), np.float32), groups=2 ** 64 + 1)  # was: 1
    with pytest.raises(OverflowError, match="Observer: ch_axis"):
        qeq.Observer("qint8", "per_channel_symmetric", ch_axis=2 ** 32)  # was: 0


def test_negative_max_sweeps_raises_and_leaves_the_weights():
    first, second = linear_pair()
    w1, w2 = first.weight.copy(), second.weight.copy()
    with pytest.raises(ValueError, match="equalize_groups: max_sweeps = -1"):
        qeq.equalize_groups([[first, second]], threshold=0.0, max_sweeps=-1)  # was: forever
    with pytest.raises(ValueError, match="equalize_groups: max_sweeps = 0"):
        qeq.equalize_groups([[first, second]], threshold=0.0, max_sweeps=0)
    assert np.array_equal(first.weight, w1) and np.array_equal(second.weight, w2)
    report = qeq.equalize_groups([[first, second]], threshold=0.0, max_sweeps=3)
    assert report.sweeps == 3 and not report.converged


def test_nothing_written_on_failure():
    x = x2d()
    before = x.copy()
    with pytest.raises(OverflowError):
        qeq.scale_channels(x, [2, 2], axis=2 ** 32, out=x)
    with pytest.raises(OverflowError):
        qeq.fake_quantize(x, [1], [0], 0, 2 ** 32 + 255, out=x)
    with pytest.raises(OverflowError):
        qeq.fake_quantize(x, [1, 1], [0, 2 ** 32], 0, 255, axis=0, out=x)
    assert np.array_equal(x, before)
    layer = qeq.Layer("linear", x)
    layer.groups = 2 ** 64 + 1  # changed after construction: checked when used
    with pytest.raises(OverflowError, match="Layer: groups"):
        qeq.fold_batch_norm(layer, [0.0, 0.0], [4.0, 4.0])
    assert np.array_equal(x, before) and layer.bias is None


def test_int64_zero_point_arrays_are_refused_not_cast():
    """Arrays and tensors are used where they lie, so a zero-point array must be int32: an
    int64 one is a TypeError (documented), never cast (2**32 + 3 would become 3)."""
    with pytest.raises(TypeError, match="int32"):
        qeq.quantize(x2d(), [1.0], np.array([2 ** 32 + 3]), dtype="quint8")
    with pytest.raises(TypeError, match="int32"):
        qeq.Gemm(np.ones((2, 3), np.int8), [0.5], np.array([3], np.int64))
    zp = np.array([2 ** 32 + 3, 1], np.int64)
    with pytest.raises(OverflowError, match=r"zero_points\[0\] = 4294967299"):
        qeq.quantize(x2d(), [1.0, 1.0], list(zp), dtype="quint8")  # numpy ints in a list
    with pytest.raises(OverflowError, match=r"zero_points\[1\]"):
        qeq.quantize(x2d(), [1.0, 1.0], [[0], [2 ** 64 + 1]], dtype="quint8")  # nested


# ---- values the C types hold still work ------------------------------------------------------

@pytest.mark.parametrize("dtype, zero_point", [("quint8", 0), ("quint8", 255),
                                               ("qint8", -128), ("qint8", 127)])
def test_boundary_zero_points(dtype, zero_point):
    x = np.array([[-1.0, 0.0, 1.0]], np.float32)
    lo, hi = qeq.quant_range(dtype)
    for zp in (zero_point, [zero_point], np.int64(zero_point), np.array([zero_point], np.int32),
               (np.int16(zero_point),)):
        q = qeq.quantize(x, [0.5], zp, dtype=dtype)
        expect = np.clip(np.array([-2, 0, 2]) + zero_point, lo, hi)
        assert q.astype(np.int64).tolist() == [expect.tolist()]
        assert qeq.dequantize(q, [0.5], zp).shape == (1, 3)
        qeq.fake_quantize(x, [0.5], zp, lo, hi)
    g = qeq.Gemm(np.ones((2, 3), np.int8), [0.5], input_dtype=dtype, input_zero_point=zero_point,
                 output_dtype=dtype, output_zero_point=zero_point)
    assert g.run(np.full((1, 3), zero_point, np.uint8 if dtype == "quint8" else np.int8)) \
        .astype(np.int64).tolist() == [[zero_point, zero_point]]
    assert qeq.requantize(np.zeros((1, 2), np.int32), [0.5], zero_point, lo, hi,
                          dtype=dtype).astype(np.int64).tolist() == [[zero_point] * 2]


def test_zero_points_outside_the_dtype_are_the_c_librarys_value_error():
    """In int32_t range but outside quint8: C's InvalidArgumentError (a ValueError) naming
    the argument, with nothing written."""
    x = x2d()
    for call in (lambda: qeq.quantize(x, [1.0], [256], dtype="quint8"),
                 lambda: qeq.quantize(x, [1.0], [-1], dtype="quint8"),
                 lambda: qeq.quantize(x, [1.0], [INT_MAX], dtype="qint8")):
        with pytest.raises(ValueError, match="zero_points"):
            call()
    with pytest.raises(ValueError, match="input_zero_point"):
        qeq.Gemm(np.ones((2, 3), np.int8), [0.5], input_zero_point=256)
    with pytest.raises(ValueError, match="weight_zero_points"):
        qeq.Gemm(np.ones((2, 3), np.int8), [0.5], [INT_MIN])


def test_int32_extremes_reach_c():
    assert qeq.quant_range("qint32", quant_min=INT_MIN, quant_max=INT_MAX) == (INT_MIN, INT_MAX)
    assert qeq.quant_range("qint32", quant_min=np.int32(INT_MIN),
                           quant_max=np.int64(INT_MAX)) == (INT_MIN, INT_MAX)
    scale, zp = qeq.calculate_qparams([-1.0], [1.0], "qint32", quant_min=INT_MIN,
                                      quant_max=INT_MAX)
    assert zp.dtype == np.int32
    # in the C int's range, out of the tensor's: the C library's InvalidArgumentError
    for axis in (INT_MAX, INT_MIN):
        with pytest.raises(qeq.InvalidArgumentError, match="axis"):
            qeq.quantize(x2d(), [1, 1], [0, 0], axis=axis)
    obs = qeq.Observer("qint8", "per_channel_symmetric", ch_axis=INT_MAX)  # checked per batch
    with pytest.raises(qeq.InvalidArgumentError):
        obs.update(x2d())


def test_negative_axes_keep_working():
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    assert qeq.channel_range(x, -1).tolist() == qeq.channel_range(x, 2).tolist()
    assert qeq.channel_range(x, np.int64(-3)).tolist() == qeq.channel_range(x, 0).tolist()
    lo, hi = qeq.channel_minmax(x, -2)
    assert lo.tolist() == x.min(axis=(0, 2)).tolist()
    scales, zps = np.array([1, 2, 4, 8], np.float32), np.array([0, 1, 2, 3], np.int32)
    q = qeq.quantize(x, scales, zps, axis=-1, dtype="quint8")
    assert np.array_equal(q, np.clip(np.rint(x * (np.float32(1) / scales)) + zps, 0, 255))
    obs = qeq.Observer("qint8", "per_channel_symmetric", ch_axis=-1)
    assert obs.update(x).minmax()[0].tolist() == x.min(axis=(0, 1)).tolist()
    with pytest.raises(ValueError, match="channel_range: axis -4"):
        qeq.channel_range(x, -4)


def test_bools_and_numpy_integers_are_integers():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    assert qeq.channel_range(x, True).tolist() == qeq.channel_range(x, 1).tolist()
    assert qeq.channel_range(x, np.bool_(False)).tolist() == qeq.channel_range(x, 0).tolist()
    assert qeq.channel_range(x, np.array(1)).tolist() == qeq.channel_range(x, 1).tolist()
    assert qeq.select_lowest_sqnr([3.0, 1.0, 2.0], np.uint8(2)) == [1, 2]
    assert qeq.select_lowest_sqnr([3.0, 1.0, 2.0], True) == [1]
    layer = qeq.Layer("conv2d", np.ones((4, 1, 1, 1), np.float32), groups=np.int64(4))
    assert layer.channels == (4, 4)
    assert qeq.quantize(x, [1.0], [True], dtype="quint8").tolist() == [[1, 2, 3], [4, 5, 6]]
    g = qeq.Gemm(np.ones((2, 3), np.int8), [0.5], [np.int8(1)], input_zero_point=np.uint8(3))
    assert g.run(np.full((1, 3), 3, np.uint8)).tolist() == [[0, 0]]


def test_select_lowest_sqnr_keeps_slice_semantics_to_the_ptrdiff_edges():
    s = [30.0, 10.0, 20.0, 10.0]
    assert qeq.select_lowest_sqnr(s, SSIZE_MAX) == [1, 3, 2, 0]
    assert qeq.select_lowest_sqnr(s, SSIZE_MIN) == []
    assert qeq.select_lowest_sqnr(s, -1) == [1, 3, 2]
    assert qeq.select_lowest_sqnr(s, 0) == []


def test_size_t_extremes():
    with pytest.raises(qeq.ShapeMismatchError, match=f"groups {SIZE_MAX}"):  # C's to refuse
        qeq.Layer("conv2d", np.ones((4, 1, 1, 1), np.float32), groups=SIZE_MAX)
    with pytest.raises(ValueError, match="Layer: groups = 0"):
        qeq.Layer("conv2d", np.ones((4, 1, 1, 1), np.float32), groups=0)
    first, second = linear_pair()
    report = qeq.equalize_groups([[first, second]], threshold=1.0, max_sweeps=SIZE_MAX)
    assert report.converged


# ---- qeq.torch --------------------------------------------------------------------------------

def _torch():
    return pytest.importorskip("torch", reason="python3-torch is not installed")


def _model():
    torch = _torch()
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))


TORCH_ENTRIES = [("channel_range", "axis", "int"), ("equalize", "max_sweeps", "size_t"),
                 ("equalize_inputs", "selective", "ptrdiff_t")]


def _torch_call(func, value):
    torch = _torch()
    import qeq.torch as qt
    if func == "channel_range":
        return qt.channel_range(torch.ones(2, 3), value)
    if func == "equalize":
        return qt.equalize(_model(), [["0", "2"]], threshold=0.0, max_sweeps=value)
    return qt.equalize_inputs(_model(), ["0", "2"], [torch.randn(2, 3)], selective=value)


TORCH_CASES = (
    [pytest.param(f, a, v, expected_error(c, v), id=f"{f}-{a}-{v}")
     for f, a, c in TORCH_ENTRIES for v in WIDE if expected_error(c, v) is not None]
    + [pytest.param(f, a, v, TypeError, id=f"{f}-{a}-{v!r}")
       for f, a, c in TORCH_ENTRIES for v in NOT_INTEGERS
       if not (v is None and a == "selective")])  # selective=None: every layer


@pytest.mark.parametrize("func, arg, value, error", TORCH_CASES)
def test_torch_entry_points(func, arg, value, error):
    with pytest.raises(error) as err:
        _torch_call(func, value)
    assert str(err.value).startswith(f"{func}: {arg}"), str(err.value)


def test_torch_checks_run_before_anything_changes():
    torch = _torch()
    import qeq.torch as qt
    model = _model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(ValueError, match="equalize: max_sweeps = -1"):
        qt.equalize(model, [["0", "2"]], threshold=0.0, max_sweeps=-1)
    with pytest.raises(OverflowError, match="equalize_inputs: selective"):
        qt.equalize_inputs(model, ["0", "2"], [torch.randn(2, 3)], selective=2 ** 63)
    model[0].groups = 2 ** 64 + 1  # a module attribute on its way to qeq_layer_init
    with pytest.raises(OverflowError, match="Layer: groups"):
        qt.cross_layer_equalization(model[0], model[2])
    del model[0].groups
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k
    qt.equalize(model, [["0", "2"]], max_sweeps=np.int64(5))  # numpy integers work
    assert qt.last_equalize_report.sweeps <= 5
    r = qt.equalize_inputs(_model(), ["0", "2"], [torch.randn(2, 3)], selective=np.int64(-1))
    assert len(r.selected) == 1
