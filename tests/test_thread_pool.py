"""The kernels' thread pool (redes/_kernels.c), installed as the threading backend of NumPy's OpenBLAS by
redes/cpu_tuning.py: GEMMs stay right, a kernel gives the same bits on one thread as on several, and threads,
forks and thread-count changes neither hang nor change results (those run in a subprocess with a timeout, so a
hang fails the test instead of stopping the suite)."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import redes as rd
from redes import backend as B
from redes import cpu_tuning

F32 = np.float32
K = B._compiled
pytestmark = pytest.mark.skipif(K is None, reason="redes._kernels is not built")


def _has_callback_setter():
    return any(hasattr(lib, name) for lib in cpu_tuning._bundled_openblas()
               for name in ("scipy_openblas_set_threads_callback_function64_",
                            "openblas_set_threads_callback_function"))


def test_pool_runs_openblas_where_it_can():
    if os.environ.get("REDES_THREAD_POOL", "1") == "0" or os.environ.get("REDES_CPU_TUNING", "1") == "0":
        assert not cpu_tuning.pool_installed
    else:
        assert cpu_tuning.pool_installed == _has_callback_setter()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(300, 500, 400), (2048, 128, 384), (33, 1000, 7)])
def test_gemms_through_the_pool_are_right(dtype, shape):
    m, k, n = shape
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((m, k)).astype(dtype), rng.standard_normal((k, n)).astype(dtype)
    ref = np.einsum("ik,kj->ij", a.astype(np.float64), b.astype(np.float64))
    tol = 1e-4 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(a @ b, ref, rtol=tol, atol=tol * np.abs(ref).max())
    np.testing.assert_allclose((b.T @ a.T).T, ref, rtol=tol, atol=tol * np.abs(ref).max())


@pytest.fixture
def threads():
    """Runs a callable with the kernels on 1 thread, then on 4 ranges' worth of threads; restores the count."""
    was = K.set_threads(1)
    K.set_threads(was)

    def both(fn):                                          # (the inputs are drawn once, outside fn)
        K.set_threads(1)
        one = fn()
        K.set_threads(4)
        many = fn()
        assert K.pool_info()[1] >= 1                       # workers ran ranges
        K.set_threads(was)
        return one, many
    yield both
    K.set_threads(was)


def _elementwise_cases(rng):
    big = (300, 1000)                                      # 300k values: several ranges of every kernel
    x, dy = rng.standard_normal(big).astype(F32), rng.standard_normal(big).astype(F32)
    c, k = np.asarray([0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429], F32), 0.4611432
    p, g, buf = (rng.standard_normal(big).astype(F32) for _ in range(3))

    def relu():
        y, dx = np.empty_like(x), np.empty_like(x)
        K.relu_forward(x, y)
        K.relu_backward(dy, y, dx)
        return y, dx

    def gelu():
        y, dx = np.empty_like(x), np.empty_like(x)
        K.gelu(x, None, y, c, k)
        K.gelu(x, dy, dx, c, k)
        return y, dx

    def sgd():
        pp, bb = p.copy(), buf.copy()
        K.sgd_momentum(pp, g, bb, 0.1, 0.9, 0.7)
        return pp, bb

    def adam():
        pp, m, v = p.copy(), buf.copy(), np.abs(buf)
        K.adam(pp, g, m, v, 0.1, 0.999, 0.001, 0.3, 1e-8, 0.01)
        return pp, m, v

    def softmax():
        s, ds = x.copy(), dy.copy()
        K.softmax_rows(s, x[:10].copy(), 1000, 0.5)
        K.softmax_backward_rows(ds, s, 1000, 0.5)
        return s, ds

    w, b = rng.standard_normal(1000).astype(F32), rng.standard_normal(1000).astype(F32)

    def layer_norm():
        y, st, inv = np.empty_like(x), np.empty((300, 2), F32), np.empty(300, F32)
        K.layer_norm_forward(x, w, b, y, st, inv, 1000, 1e-5)
        dx, dw, db, dx_alone = np.empty_like(x), np.empty(1000, F32), np.empty(1000, F32), np.empty_like(x)
        K.layer_norm_backward(dy, x, st, inv, w, dx, dw, db, 1000)
        K.layer_norm_backward(dy, x, st, inv, w, dx_alone, None, None, 1000)     # (dx alone: in ranges)
        return y, st, inv, dx, dw, db, dx_alone

    hid = 1 << 16                                          # one row of 2^16 units: GRAIN_CELL splits it
    a0, rec, cp = (rng.standard_normal(size).astype(F32) for size in (4 * hid, 4 * hid, hid))

    def lstm_cell():
        a, out = a0.copy(), [np.empty(hid, F32) for _ in range(3)]
        K.lstm_cell_forward(a, rec, cp, *out, hid)
        return (a, *out)

    n, h, wd, ch = 40, 30, 30, 8                           # NHWC, 288k values
    xi, wk = rng.standard_normal((n, h, wd, ch)).astype(F32), rng.standard_normal((9, 16)).astype(F32)

    def windows():
        y, arg = np.empty((n, 15, 15, ch), F32), np.empty((n, 15, 15, ch), np.int16)
        geo = (n, h, wd, ch, 15, 15, 2, 2, 2, 2, 1, 1)
        K.maxpool2d_forward(xi, y, arg, *geo)
        dx = np.zeros_like(xi)
        K.maxpool2d_backward(y, arg, dx, 1, *geo)
        cols = np.empty((n, 28, 28, 3, 3, ch), F32)
        geo3 = (n, h, wd, ch, 28, 28, 3, 3, 1, 1, 1, 1)
        K.im2col(xi, cols, *geo3)
        back = np.zeros_like(xi)
        K.col2im(back, cols, *geo3)
        x1 = xi[..., :1].copy()
        conv = np.empty((n, 28, 28, 16), F32)
        K.conv_small_forward(x1, wk, None, conv, 16, n, h, wd, 1, 28, 28, 3, 3, 1, 1, 1, 1)
        return y, arg, dx, cols, back, conv
    return [relu, gelu, sgd, adam, softmax, layer_norm, lstm_cell, windows]


@pytest.mark.parametrize("case", range(8), ids=["relu", "gelu", "sgd", "adam", "softmax", "layer_norm", "lstm_cell",
                                                "windows"])
def test_kernels_give_the_same_bits_on_one_thread_and_many(threads, case):
    """Each range computes its values as the whole pass would."""
    fn = _elementwise_cases(np.random.default_rng(case))[case]
    one, many = threads(fn)
    for a, b in zip(one, many):
        np.testing.assert_array_equal(a, b)


def _run(code, timeout=120):
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                         timeout=timeout, cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def test_python_threads_share_the_pool_without_hanging():
    """Four Python threads run GEMMs (OpenBLAS through the pool) and kernels at once: every result is right."""
    print(_run("""
        import threading, numpy as np, redes
        from redes import backend as B
        K = B._compiled
        rng = np.random.default_rng(0)
        a, b = rng.standard_normal((400, 300), dtype=np.float32), rng.standard_normal((300, 500), dtype=np.float32)
        ref = a @ b
        x = rng.standard_normal(1 << 18, dtype=np.float32)
        y_ref = np.maximum(x, 0)
        bad = []
        def work():
            for _ in range(40):
                if not np.allclose(a @ b, ref, rtol=1e-5, atol=1e-4):
                    bad.append("gemm")
                y = np.empty_like(x)
                K.relu_forward(x, y)
                if not np.array_equal(y, y_ref):
                    bad.append("relu")
        ts = [threading.Thread(target=work) for _ in range(4)]
        [t.start() for t in ts]
        [t.join() for t in ts]
        assert not bad, bad
        print("ok")
    """))


def test_many_dispatches_back_to_back_finish():
    """Tens of thousands of two-range kernel calls, GEMMs between some of them, and a second Python thread doing
    the same: a worker still leaving one job while the next starts must neither lose a count nor hang."""
    _run("""
        import threading, numpy as np, redes
        from redes import backend as B
        K = B._compiled
        K.set_threads(2)
        rng = np.random.default_rng(3)
        x = rng.standard_normal(1 << 16, dtype=np.float32)
        ref = np.maximum(x, 0)
        a = rng.standard_normal((200, 200), dtype=np.float32)
        bad = []
        def work(n):
            y = np.empty_like(x)
            for i in range(n):
                K.relu_forward(x, y)
                if i % 500 == 0:
                    a @ a
                    if not np.array_equal(y, ref):
                        bad.append(i)
        t = threading.Thread(target=work, args=(5000,))
        t.start()
        work(20000)
        t.join()
        assert not bad, bad
    """, timeout=180)


def test_a_forked_child_starts_its_own_workers():
    _run("""
        import os, numpy as np, redes
        from redes import backend as B
        K = B._compiled
        rng = np.random.default_rng(1)
        a, b = rng.standard_normal((500, 400), dtype=np.float32), rng.standard_normal((400, 300), dtype=np.float32)
        ref = a @ b                                        # the parent's workers exist now
        pid = os.fork()
        if pid == 0:
            x = rng.standard_normal(1 << 18, dtype=np.float32)
            y = np.empty_like(x)
            K.relu_forward(x, y)
            ok = np.allclose(a @ b, ref, rtol=1e-5, atol=1e-4) and np.array_equal(y, np.maximum(x, 0))
            os._exit(0 if ok else 3)
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
        assert np.allclose(a @ b, ref, rtol=1e-5, atol=1e-4)
    """)


def test_set_blas_threads_moves_the_kernels_too():
    if not cpu_tuning.pool_installed:
        pytest.skip("the pool is not OpenBLAS's backend here")
    was = cpu_tuning.set_blas_threads(1)
    try:
        assert K.pool_info()[0] == 1
        a = np.random.default_rng(2).standard_normal((300, 300)).astype(F32)
        np.testing.assert_allclose(a @ a.T, (a.astype(np.float64) @ a.T.astype(np.float64)), rtol=1e-4, atol=1e-3)
    finally:
        cpu_tuning.set_blas_threads(was)
    assert K.pool_info()[0] == was


def test_thread_count_is_checked():
    with pytest.raises(ValueError, match="set_threads: need at least 1 thread, got 0"):
        K.set_threads(0)


def test_a_gemm_threaded_from_inside_a_task_runs_on_threads_of_its_own():
    """The attention kernel calls OpenBLAS from the pool's tasks. Its heads are kept below OpenBLAS's threading
    threshold; past it (forced here), OpenBLAS threads the product and its jobs, which wait on one another, get
    threads of their own (the pool is taken by the task): the results are still right, nothing hangs."""
    print(_run("""
        import numpy as np, redes as rd
        from redes.ops import attention
        rd.manual_seed(0)
        mha = rd.nn.MultiheadAttention(256, 2, batch_first=True)           # heads of 128 x 128 x 128
        x = rd.tensor(np.random.default_rng(0).standard_normal((4, 128, 256)).astype(np.float32), requires_grad=True)
        def run():
            y, _ = mha(x, x, x, need_weights=False)
            y.sum().backward()
            out = [y.numpy(), x.grad.numpy()] + [p.grad.numpy() for p in mha.parameters()]
            x.grad = None
            mha.zero_grad()
            return out
        numpy_path = run()
        attention._KERNEL_HEAD_MAX = 1 << 40
        for _ in range(3):
            kernel_path = run()
            for a, b in zip(kernel_path, numpy_path):
                np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4 * np.abs(b).max())
        print("ok")
    """, timeout=180))


def test_python_threads_train_layers_whose_kernels_call_blas():
    """Three Python threads at once run the kernels that call OpenBLAS from inside (attention on the pool's tasks,
    the LSTM's time loop, linear layers) next to a thread of large GEMMs: each thread's outputs and gradients are
    those it gets alone, and nothing hangs."""
    print(_run("""
        import threading, numpy as np, redes as rd
        rng = np.random.default_rng(0)
        rd.manual_seed(0)
        mha = rd.nn.MultiheadAttention(64, 4, batch_first=True)
        lstm = rd.nn.LSTM(16, 64, batch_first=True)
        lin = rd.nn.Linear(64, 32)
        xs = {"mha": rng.standard_normal((8, 32, 64)).astype(np.float32),
              "lstm": rng.standard_normal((16, 20, 16)).astype(np.float32),
              "lin": rng.standard_normal((256, 64)).astype(np.float32)}
        mask = rd.tensor(np.triu(np.full((32, 32), -np.inf, np.float32), 1))
        def run(name):
            x = rd.tensor(xs[name], requires_grad=True)
            if name == "mha":
                y = mha(x, x, x, attn_mask=mask, need_weights=False)[0]
            elif name == "lstm":
                y = lstm(x)[0]
            else:
                y = lin(x)
            (y * y).sum().backward()
            return y.numpy().copy(), x.grad.numpy().copy()
        want = {name: run(name) for name in xs}
        a, b = rng.standard_normal((600, 500), dtype=np.float32), rng.standard_normal((500, 700), dtype=np.float32)
        ref = a @ b
        bad = []
        def work(name):
            for _ in range(100):
                got = run(name)
                if not all(np.array_equal(g, w) for g, w in zip(got, want[name])):
                    bad.append(name)
                    return
        def gemms():
            for _ in range(150):
                if not np.allclose(a @ b, ref, rtol=1e-5, atol=1e-3):
                    bad.append("gemm")
        ts = [threading.Thread(target=work, args=(name,)) for name in xs] + [threading.Thread(target=gemms)]
        [t.start() for t in ts]
        [t.join() for t in ts]
        assert not bad, bad
        print("ok")
    """, timeout=240))
