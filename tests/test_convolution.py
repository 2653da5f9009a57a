"""The fast convolution against the naive loops and SciPy, in both memory layouts; its buffers."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy import signal

from initlab import convolution as C, functional as F
from initlab.errors import ShapeError

from gradcheck import numeric_grad, relative_error, sample_indices


def scipy_conv2d(x, w, b, stride, padding):
    """The oracle: scipy.signal.correlate per (sample, out channel), summed over in channels."""
    (sh, sw), (ph, pw) = stride, padding
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    n, o = x.shape[0], w.shape[0]
    out = []
    for i in range(n):
        maps = [signal.correlate(xp[i], w[k], mode="valid")[0][::sh, ::sw] + b[k] for k in range(o)]
        out.append(maps)
    return np.array(out)


conv_cases = st.fixed_dictionaries({
    "n": st.integers(1, 3), "c": st.integers(1, 4), "o": st.integers(1, 4),
    "kh": st.integers(1, 4), "kw": st.integers(1, 4),
    "sh": st.integers(1, 3), "sw": st.integers(1, 3),
    "ph": st.integers(0, 2), "pw": st.integers(0, 2),
    "extra_h": st.integers(0, 5), "extra_w": st.integers(0, 5),
    "seed": st.integers(0, 2**31),
})


def _case(p):
    rng = np.random.default_rng(p["seed"])
    h, w = p["kh"] + p["extra_h"], p["kw"] + p["extra_w"]
    x = rng.normal(size=(p["n"], p["c"], h, w))
    wt = rng.normal(size=(p["o"], p["c"], p["kh"], p["kw"]))
    b = rng.normal(size=p["o"])
    return x, wt, b, (p["sh"], p["sw"]), (p["ph"], p["pw"]), rng


def rel(a, b):
    return np.abs(a - b).max() / max(np.abs(b).max(), 1e-12)


@settings(max_examples=60, deadline=None)
@given(conv_cases)
def test_fast_conv_equals_naive_and_scipy(p):
    x, w, b, stride, padding, _ = _case(p)
    fast = C.conv2d(x, w, b, stride, padding)
    assert rel(fast, C.conv2d_naive(x, w, b, stride, padding)) < 1e-10
    assert rel(fast, scipy_conv2d(x, w, b, stride, padding)) < 1e-10


@settings(max_examples=40, deadline=None)
@given(conv_cases)
def test_fast_conv_backward_equals_naive_backward(p):
    x, w, b, stride, padding, rng = _case(p)
    y, cache = C.conv2d_forward(x, w, b, stride, padding)
    g = rng.normal(size=y.shape)
    fast = C.conv2d_backward(g, cache)
    naive = C.conv2d_naive_backward(g, x, w, stride, padding)
    for a, n in zip(fast, naive):
        assert rel(a, n) < 1e-10


# Stride 1, >= 16 input channels and no more output channels: the channels-last path.
wide_conv_cases = st.fixed_dictionaries({
    "n": st.integers(1, 2), "c": st.integers(16, 19), "o": st.integers(1, 16),
    "kh": st.integers(1, 4), "kw": st.integers(1, 4), "sh": st.just(1), "sw": st.just(1),
    "ph": st.integers(0, 3), "pw": st.integers(0, 3),
    "extra_h": st.integers(0, 4), "extra_w": st.integers(0, 4),
    "seed": st.integers(0, 2**31),
}).filter(lambda p: p["ph"] < p["kh"] and p["pw"] < p["kw"])


@settings(max_examples=25, deadline=None)
@given(wide_conv_cases)
def test_channels_last_conv_equals_naive_and_scipy_forward_and_backward(p):
    x, w, b, stride, padding, rng = _case(p)
    y, cache = C.conv2d_forward(x, w, b, stride, padding)
    assert cache.channels_last
    assert rel(y, C.conv2d_naive(x, w, b, stride, padding)) < 1e-10
    assert rel(y, scipy_conv2d(x, w, b, stride, padding)) < 1e-10
    g = rng.normal(size=y.shape)
    for a, n in zip(C.conv2d_backward(g, cache), C.conv2d_naive_backward(g, x, w, stride, padding)):
        assert rel(a, n) < 1e-10


@pytest.mark.parametrize("c, o, stride, padding, expected", [
    (16, 16, 1, 1, True), (32, 10, 1, 0, True), (15, 15, 1, 1, False), (16, 32, 1, 1, False),
    (16, 16, 2, 1, False), (16, 16, 1, 3, False)])
def test_the_layout_is_chosen_by_channels_stride_and_padding(c, o, stride, padding, expected):
    x, w = np.ones((1, c, 6, 6)), np.ones((o, c, 3, 3))
    assert C.conv2d_forward(x, w, None, stride, padding)[1].channels_last is expected


def test_a_layout_can_be_forced_and_bad_requests_are_named():
    from initlab.errors import InvalidValueError, UnknownNameError
    rng = np.random.default_rng(5)
    x, w = rng.normal(size=(2, 3, 6, 6)), rng.normal(size=(4, 3, 3, 3))
    results = {}
    for layout in C.LAYOUTS:
        y, cache = C.conv2d_forward(x, w, None, 1, 1, layout=layout)
        assert cache.channels_last is (layout == "channels-last")
        results[layout] = (y, *C.conv2d_backward(np.ones_like(y), cache))
    for a, b in zip(*results.values()):
        assert rel(a, b) < 1e-12
    with pytest.raises(UnknownNameError, match="unknown layout 'nhwc'"):
        C.conv2d_forward(x, w, layout="nhwc")
    with pytest.raises(InvalidValueError, match="needs stride 1.*stride \\(2, 2\\)"):
        C.conv2d_forward(x, w, stride=2, layout="channels-last")


@pytest.mark.parametrize("c, o", [(3, 4), (16, 16)])     # batch-last, channels-last
def test_empty_batches_and_gradient_dtypes_and_shapes(c, o):
    from initlab.errors import ShapeError
    w = np.ones((o, c, 3, 3))
    y, cache = C.conv2d_forward(np.zeros((0, c, 5, 5)), w, None, 1, 1)
    assert y.shape == (0, o, 5, 5)
    assert [g.shape for g in C.conv2d_backward(y, cache)] == [(0, c, 5, 5), w.shape, (o,)]
    x = np.random.default_rng(9).normal(size=(2, c, 5, 5))
    y, cache = C.conv2d_forward(x, w, None, 1, 1)                     # float64 layer
    for grad in (np.ones(y.shape, np.float32), np.ones(y.shape, np.int64)):
        assert {g.dtype for g in C.conv2d_backward(grad, cache)} == {np.dtype(np.float64)}
    with pytest.raises(ShapeError, match=r"expected grad_y of shape \(2, %d, 5, 5\)" % o):
        C.conv2d_backward(np.ones((2, o, 4, 5)), cache)


def test_conv_layout_names_the_path_and_bad_workspaces_are_refused():
    from initlab.errors import InvalidValueError
    assert C.conv_layout(16, 16, 3, 1, 1) == "channels-last"
    assert C.conv_layout(64, 10, (3, 3)) == "channels-last"
    assert C.conv_layout(16, 32, 3, 1, 1) == C.conv_layout(8, 8, 3) == C.conv_layout(16, 16, 3, 2) == "batch-last"
    with pytest.raises(InvalidValueError, match="conv7: the channels-last layout needs stride 1"):
        C.conv2d_forward(np.ones((1, 2, 5, 5)), np.ones((2, 2, 3, 3)), stride=2, where="conv7",
                         layout="channels-last")
    with pytest.raises(InvalidValueError, match="workspace must be a dict or None, got str"):
        C.conv2d_forward(np.ones((1, 2, 5, 5)), np.ones((2, 2, 3, 3)), workspace="scratch")


def test_channels_last_conv_backward_matches_finite_differences():
    rng = np.random.default_rng(3)
    x, w, b = rng.normal(size=(2, 17, 5, 4)), rng.normal(size=(16, 17, 3, 2)), rng.normal(size=16)
    y, cache = C.conv2d_forward(x, w, b, 1, (1, 0))
    assert cache.channels_last
    up = rng.normal(size=y.shape)
    gx, gw, gb = C.conv2d_backward(up, cache)
    f = lambda: float(np.sum(C.conv2d(x, w, b, 1, (1, 0)) * up))
    for array, grad in ((x, gx), (w, gw), (b, gb)):
        idx = sample_indices(array.shape, rng, 15)
        assert relative_error(np.array([grad[i] for i in idx]), numeric_grad(f, array, idx)).max() < 1e-6


@pytest.mark.parametrize("c, o", [(2, 6), (16, 16)])   # batch-last, channels-last
def test_outputs_in_their_computing_layout_chain_like_contiguous_ones(c, o):
    """Conv results are NCHW views of the layout they were computed in; a second conv, a ReLU,
    a pooling layer and their backward passes give the same numbers as on contiguous copies."""
    rng = np.random.default_rng(4)
    x, w1, w2 = rng.normal(size=(3, c, 8, 8)), rng.normal(size=(o, c, 3, 3)), rng.normal(size=(o, o, 3, 3))
    y1, c1 = C.conv2d_forward(x, w1, None, 1, 1, workspace={})
    assert not y1.flags.c_contiguous or 1 in y1.shape
    pooled, pool_cache = F.max_pool2d_forward(F.relu(y1), 2)
    y2, c2 = C.conv2d_forward(pooled, w2, None, 1, 1, workspace={})
    reference = C.conv2d_naive(F.max_pool2d(F.relu(C.conv2d_naive(x, w1, None, 1, 1)), 2), w2, None, 1, 1)
    assert rel(y2, reference) < 1e-10
    up = rng.normal(size=y2.shape)
    g_pooled = C.conv2d_backward(up, c2)[0]
    g_layout = F.max_pool2d_backward(g_pooled, pool_cache)
    g_contiguous = F.max_pool2d_backward(np.ascontiguousarray(g_pooled), pool_cache)
    np.testing.assert_array_equal(g_layout, g_contiguous)
    assert rel(C.conv2d_backward(g_layout * (y1 > 0), c1)[0],
               C.conv2d_naive_backward(g_contiguous * (y1 > 0), x, w1, 1, 1)[0]) < 1e-10


@pytest.mark.parametrize("c", [3, 16])     # batch-last, channels-last
def test_shared_scratch_buffers_keep_their_zero_borders_across_paddings(c):
    """Call-local buffers are shared by all convolutions in a thread, one per name and shape:
    a 6x6 input padded by 1 and a 4x4 one padded by 2 have the same padded shape, and neither
    may see the other's interior in its border."""
    rng = np.random.default_rng(6)
    w1, w2 = rng.normal(size=(c, c, 3, 3)), rng.normal(size=(c, c, 5, 5))
    for _ in range(2):
        for size, w, padding in ((6, w1, 1), (4, w2, 2)):
            x = rng.normal(size=(2, c, size, size))
            y, cache = C.conv2d_forward(x, w, None, 1, padding, workspace={})
            g = rng.normal(size=y.shape)
            assert rel(y, C.conv2d_naive(x, w, None, 1, padding)) < 1e-10
            for a, n in zip(C.conv2d_backward(g, cache), C.conv2d_naive_backward(g, x, w, 1, padding)):
                assert rel(a, n) < 1e-10


def test_scratch_buffers_stay_within_their_budget_over_many_shapes(monkeypatch):
    monkeypatch.setattr(C.fast, "SCRATCH_BYTES", 2**20)
    rng = np.random.default_rng(8)
    for size in range(6, 20):                       # 14 geometries, each with its own buffers
        x, w = rng.normal(size=(4, 16, size, size)), rng.normal(size=(16, 16, 3, 3))
        y, cache = C.conv2d_forward(x, w, None, 1, 1)
        assert rel(C.conv2d_backward(y, cache)[0], C.conv2d_naive_backward(y, x, w, 1, 1)[0]) < 1e-10
        kept = list(C.fast._thread.scratch.values())
        assert sum(b.nbytes for b in kept) == C.fast._thread.scratch_bytes
        assert C.fast._thread.scratch_bytes <= 2**20
    C.release_scratch()
    assert C.fast._thread.scratch_bytes == 0 and not C.fast._thread.scratch


def test_convolutions_in_two_threads_do_not_share_scratch_buffers():
    from concurrent.futures import ThreadPoolExecutor
    rng = np.random.default_rng(7)
    w = rng.normal(size=(16, 16, 3, 3))
    inputs = [rng.normal(size=(4, 16, 8, 8)) for _ in range(2)]

    def run(x):
        results = []
        for _ in range(30):
            y, cache = C.conv2d_forward(x, w, None, 1, 1, workspace={})
            results.append((y, *C.conv2d_backward(y, cache)))
        return results

    expected = [run(x)[0] for x in inputs]
    with ThreadPoolExecutor(2) as pool:
        for x_results, want in zip(pool.map(run, inputs), expected):
            for got in x_results:
                for a, b in zip(got, want):
                    np.testing.assert_array_equal(a, b)


def test_conv_backward_matches_finite_differences():
    rng = np.random.default_rng(0)
    x, w, b = rng.normal(size=(2, 3, 7, 6)), rng.normal(size=(4, 3, 3, 2)), rng.normal(size=4)
    stride, padding = (2, 1), (1, 2)
    y, cache = C.conv2d_forward(x, w, b, stride, padding)
    up = rng.normal(size=y.shape)
    gx, gw, gb = C.conv2d_backward(up, cache)
    f = lambda: float(np.sum(C.conv2d(x, w, b, stride, padding) * up))
    for array, grad in ((x, gx), (w, gw), (b, gb)):
        idx = sample_indices(array.shape, rng, 15)
        assert relative_error(np.array([grad[i] for i in idx]), numeric_grad(f, array, idx)).max() < 1e-6


def test_conv_keeps_float32_and_is_contiguous():
    x = np.ones((2, 1, 5, 5), np.float32)
    w = np.ones((3, 1, 3, 3), np.float32)
    y = C.conv2d(x, w, np.zeros(3, np.float32), padding=1)
    assert y.dtype == np.float32 and y.flags.c_contiguous
    assert y[0, 0, 2, 2] == 9 and y[0, 0, 0, 0] == 4   # interior sees 9 ones, a corner 4


def test_im2col_col2im_are_adjoint():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 3, 6, 5))
    cols = C.im2col(x, (3, 2), (2, 1), (1, 0))
    c = rng.normal(size=cols.shape)
    assert np.isclose(np.sum(cols * c), np.sum(x * C.col2im(c, x.shape, (3, 2), (2, 1), (1, 0))))


def test_kernel_larger_than_padded_input_names_shapes():
    with pytest.raises(ShapeError, match=r"kernel 5x5 is larger than the padded input 4x4"):
        C.conv2d(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 5, 5)))
    with pytest.raises(ShapeError, match="input channel"):
        C.conv2d(np.zeros((1, 2, 4, 4)), np.zeros((1, 3, 3, 3)))


@pytest.mark.parametrize("n, c, o", [(1, 3, 4), (4, 1, 4), (4, 3, 1), (1, 1, 1), (1, 16, 16), (2, 17, 1)])
def test_results_never_alias_reused_scratch_buffers(n, c, o):
    """With a workspace (as Conv2D uses while training), an earlier output or input gradient
    must survive the next call: N=1 or one channel once made them views into the buffers."""
    rng = np.random.default_rng(0)
    w = rng.normal(size=(o, c, 3, 3))
    ws = {}
    for stride, padding in ((1, 1), (1, 0), (2, 1)):
        a, b = rng.normal(size=(n, c, 6, 6)), rng.normal(size=(n, c, 6, 6))
        ya, cache_a = C.conv2d_forward(a, w, None, stride, padding, workspace=ws)
        ga = C.conv2d_backward(np.ones(ya.shape), cache_a)[0]     # NCHW: the copying branch
        kept_y, kept_g = ya.copy(), ga.copy()
        yb, cache_b = C.conv2d_forward(b, w, None, stride, padding, workspace=ws)
        C.conv2d_backward(2 * np.ones_like(yb), cache_b)             # in y's own layout
        np.testing.assert_array_equal(ya, kept_y)
        np.testing.assert_array_equal(ga, kept_g)


def test_public_entry_points_check_their_arguments():
    from initlab.errors import DTypeError
    w = np.ones((2, 1, 3, 3), np.float32)
    assert C.conv2d([[[[1.0] * 4] * 4]], w).shape == (1, 2, 2, 2)        # nested lists are fine
    assert C.conv2d(np.ones((1, 1, 4, 4), np.uint8), w).dtype == np.float32
    assert C.conv2d(np.ones((1, 1, 4, 4)), w).dtype == np.float64         # float64 input wins
    with pytest.raises(DTypeError, match="conv2d input"):
        C.conv2d(np.ones((1, 1, 4, 4), bool), w)
    with pytest.raises(ShapeError, match="im2col input"):
        C.im2col(np.ones((1, 4, 4)), 3)
    with pytest.raises(ShapeError, match="col2im: expected cols of shape"):
        C.col2im(np.ones((9, 5)), (1, 1, 4, 4), 3)


@pytest.mark.parametrize("layout", C.LAYOUTS)
@pytest.mark.parametrize("c, o", [(16, 0), (0, 3)], ids=["no output channels", "no input channels"])
def test_zero_channels_give_the_naive_convolutions_results_forward_and_backward(layout, c, o):
    rng = np.random.default_rng(0)
    x, w, b = rng.normal(size=(2, c, 4, 5)), rng.normal(size=(o, c, 3, 3)), rng.normal(size=o)
    y, cache = C.conv2d_forward(x, w, b, 1, 1, layout=layout)    # 0 output channels: a reshape error
    expected = C.conv2d_naive(x, w, b, 1, 1)
    assert y.shape == expected.shape == (2, o, 4, 5)
    np.testing.assert_allclose(y, expected)                       # no input channels: y = the bias
    g = rng.normal(size=y.shape)
    for fast, naive in zip(C.conv2d_backward(g, cache), C.conv2d_naive_backward(g, x, w, 1, 1)):
        assert fast.shape == naive.shape
        np.testing.assert_allclose(fast, naive, atol=1e-12)
    assert C.conv2d(x, w, b, 1, 1).shape == (2, o, 4, 5)


def test_bad_arguments_to_the_helpers_are_named_errors():
    from initlab.errors import InvalidValueError, UnknownNameError
    x, w = np.ones((1, 1, 4, 4)), np.ones((2, 1, 3, 3))
    for x_shape in (None, (1.0, 1.0, 4.0, 4.0), (1, -1, 4, 4), (1, 1, 4), 7, (1, True, 4, 4)):
        with pytest.raises(ShapeError, match=r"col2im x_shape: expected 4 ints >= 0, \(N, C, H, W\), got"):
            C.col2im(np.ones((9, 4)), x_shape, 3)
    assert C.col2im(np.ones((9, 4)), [1, 1, 4, 4], 3).shape == (1, 1, 4, 4)
    for cache in (None, (1, 2, 3)):
        with pytest.raises(InvalidValueError, match="conv2d_backward: expected the ConvCache conv2d_forward returned, got"):
            C.conv2d_backward(np.zeros((1, 2, 2, 2)), cache)
    with pytest.raises(InvalidValueError, match="conv_layout in_channels: expected an integer >= 0, got 'a'"):
        C.conv_layout("a", 2, 3)
    with pytest.raises(InvalidValueError, match="conv_layout out_channels: expected an integer >= 0, got None"):
        C.conv_layout(2, None, 3)
    with pytest.raises(InvalidValueError, match="conv_layout kernel_size"):
        C.conv_layout(2, 2, 0)
    with pytest.raises(UnknownNameError, match=r"unknown layout \['batch-last'\]"):
        C.conv2d_forward(x, w, layout=["batch-last"])
    with pytest.raises(ShapeError, match=r"conv2d: expected a weight with a kernel of at least 1x1, got shape \(2, 1, 0, 3\)"):
        C.conv2d(x, np.ones((2, 1, 0, 3)))


def test_the_naive_backward_checks_its_arguments_like_the_naive_forward():
    from initlab.errors import DTypeError
    x, w = np.ones((1, 1, 4, 4)), np.ones((2, 1, 3, 3))
    with pytest.raises(ShapeError, match=r"conv2d_naive_backward: expected grad_y of shape \(1, 2, 2, 2\).*got \(1, 2\)"):
        C.conv2d_naive_backward(np.zeros((1, 2)), x, w)
    with pytest.raises(ShapeError, match="conv2d_naive_backward: the weight expects 1 input channel"):
        C.conv2d_naive_backward(np.zeros((1, 2, 2, 2)), np.ones((1, 3, 4, 4)), w)
    with pytest.raises(ShapeError, match="conv2d_naive_backward: expected a 4-D NCHW input"):
        C.conv2d_naive_backward(np.zeros((1, 2, 2, 2)), np.ones((4, 4)), w)
    with pytest.raises(DTypeError, match="conv2d_naive_backward grad_y"):
        C.conv2d_naive_backward(np.zeros((1, 2, 2, 2), complex), x, w)
    with pytest.raises(ShapeError, match="kernel 3x3 is larger than the padded input"):
        C.conv2d_naive_backward(np.zeros((1, 2, 1, 1)), np.ones((1, 1, 2, 2)), w)
    grads = C.conv2d_naive_backward(np.ones((1, 2, 2, 2), int), x.tolist(), w.astype(np.uint8))
    fast = C.conv2d_backward(np.ones((1, 2, 2, 2)), C.conv2d_forward(x, w)[1])
    for a, b in zip(grads, fast):
        np.testing.assert_allclose(a, b)


# --------------------------------------------------------------------------- the teaching path

def _pairs(stride, padding):
    return tuple(stride), tuple(padding)


@settings(max_examples=60, deadline=None)
@given(conv_cases)
def test_teaching_path_equals_fast_naive_and_scipy_forward_and_backward(p):
    x, w, b, stride, padding, rng = _case(p)
    y, cache = C.teaching.conv2d_forward(x, w, b, stride, padding)
    y_fast, cache_fast = C.fast.conv2d_forward(x, w, b, stride, padding)
    assert y.shape == y_fast.shape
    assert rel(y, y_fast) < 1e-10
    assert rel(y, C.conv2d_naive(x, w, b, stride, padding)) < 1e-10
    assert rel(y, scipy_conv2d(x, w, b, stride, padding)) < 1e-10
    g = rng.normal(size=y.shape)
    teaching = C.teaching.conv2d_backward(g, cache)
    for a, f, n in zip(teaching, C.fast.conv2d_backward(g, cache_fast),
                       C.conv2d_naive_backward(g, x, w, stride, padding)):
        assert a.shape == f.shape == n.shape
        assert rel(a, f) < 1e-10 and rel(a, n) < 1e-10
    assert C.teaching.conv2d_backward(g, cache, need_input_grad=False)[0] is None


@pytest.mark.parametrize("c, o, n", [(16, 0, 2), (0, 3, 2), (3, 4, 0)])
def test_teaching_path_handles_empty_batches_and_zero_channels(c, o, n):
    rng = np.random.default_rng(2)
    x, w, b = rng.normal(size=(n, c, 4, 5)), rng.normal(size=(o, c, 3, 3)), rng.normal(size=o)
    y, cache = C.teaching.conv2d_forward(x, w, b, (1, 1), (1, 1))
    np.testing.assert_allclose(y, C.conv2d_naive(x, w, b, 1, 1))
    g = rng.normal(size=y.shape)
    for got, want in zip(C.teaching.conv2d_backward(g, cache), C.conv2d_naive_backward(g, x, w, 1, 1)):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, atol=1e-12)


def test_teaching_im2col_lays_out_one_patch_per_column_and_col2im_is_its_adjoint():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 3, 6, 5))
    cols = C.teaching.im2col(x, (3, 2), (2, 1), (1, 0))
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (0, 0)))
    oh, ow = 3, 4
    assert cols.shape == (3 * 3 * 2, 2 * oh * ow)
    # column (n, i, j) is the patch under output pixel (i, j) of image n, flattened as (c, u, v)
    n, i, j = 1, 2, 3
    np.testing.assert_array_equal(cols[:, (n * oh + i) * ow + j], xp[n, :, 2 * i:2 * i + 3, j:j + 2].ravel())
    c = rng.normal(size=cols.shape)
    back = C.teaching.col2im(c, x.shape, (3, 2), (2, 1), (1, 0))
    assert np.isclose(np.sum(cols * c), np.sum(x * back))


def test_the_switch_selects_the_path_every_conv_layer_runs():
    from initlab.errors import UnknownNameError
    from initlab.layers import Conv2D
    rng = np.random.default_rng(4)
    layer = Conv2D(3, 4, 3, stride=2, padding=1, rng=0, dtype=np.float64)
    x = rng.normal(size=(2, 3, 7, 7))
    assert C.selected() is C.fast
    y_fast = layer.forward(x)
    assert isinstance(layer._cache, C.fast.ConvCache)
    with C.using("teaching") as path:
        assert path is C.teaching and C.selected() is C.teaching
        y = layer.forward(x)
        assert isinstance(layer._cache, C.teaching.ConvCache)
        assert rel(C.conv2d(x, layer.params["weight"]), C.conv2d_naive(x, layer.params["weight"])) < 1e-12
    assert C.selected() is C.fast                           # restored after the block
    assert rel(y, y_fast) < 1e-12
    gx = layer.backward(np.ones_like(y))                   # backward follows the forward's path
    assert isinstance(layer._cache, C.teaching.ConvCache)
    expected = C.conv2d_naive_backward(np.ones_like(y), x, layer.params["weight"], 2, 1)
    assert rel(gx, expected[0]) < 1e-12 and rel(layer.grads["weight"], expected[1]) < 1e-12
    C.use("teaching")
    try:
        assert C.selected() is C.teaching
    finally:
        C.use("fast")
    with pytest.raises(UnknownNameError, match="convolution.use: unknown path 'readable'; expected one of fast, teaching"):
        C.use("readable")
    assert C.selected() is C.fast


def test_a_model_trained_on_either_path_learns_the_same_numbers():
    """Two SGD steps of a small CNN through the teaching path and the fast path: the same
    weights to float64 rounding (the paths sum in other orders, so not to the bit)."""
    from initlab import losses, models, optim
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(8, 1, 8, 8)), rng.integers(0, 3, size=8)
    weights = []
    for path in ("fast", "teaching"):
        with C.using(path):
            model = models.build("small_cnn", in_channels=1, num_classes=3, image_size=8, rng=0,
                                 dtype=np.float64)
            opt, loss_fn = optim.SGD(model, lr=0.1, momentum=0.9), losses.SoftmaxCrossEntropy()
            for _ in range(2):
                loss_fn.forward(model.forward(x), y)
                model.backward(loss_fn.backward())
                opt.step()
            weights.append(model.state_dict())
    for key in weights[0]:
        np.testing.assert_allclose(weights[0][key], weights[1][key], rtol=1e-10, atol=1e-12)
