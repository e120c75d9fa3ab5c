/* Fused float32 CPU kernels for the NumPy backend: one pass over memory where NumPy needs several.
 *
 * Each kernel does the arithmetic of one op's forward or backward that the Python op (redes/ops/) would
 * otherwise run as 3-10 NumPy calls, each a full pass over the array. The ops stay the reference: they
 * call a kernel only for C-contiguous float32 NumPy arrays (backend.kernels), and keep their NumPy code for
 * everything else (float64, other layouts, CuPy, a machine without a C compiler). Tests compare both paths.
 *
 * Conventions: arrays come in through the buffer protocol, C-contiguous, float32 ('f') unless said; None
 * stands for an absent optional array. Outputs are allocated by the caller.
 *
 * Threads: one pool (below) runs both NumPy's OpenBLAS (installed as its threading backend by
 * redes/cpu_tuning.py) and the large kernels, split in ranges. Two pools would fight: after each GEMM,
 * OpenBLAS's own worker spins on the second core, and a thread of ours there gained nothing.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#if defined(__unix__) || defined(__APPLE__)
#define REDES_POOL 1               /* POSIX threads and C11 atomics: the thread pool below */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#endif
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Hot loops are compiled three times (SSE2, AVX2+FMA, AVX-512) and picked at load time by the CPU. */
#if defined(__GNUC__) && defined(__x86_64__) && defined(__linux__)
#define HOT __attribute__((target_clones("default", "arch=x86-64-v3", "arch=x86-64-v4")))
#else
#define HOT
#endif
/* Multiply-adds fused (FMA) in the loops marked CONTRACT, where the rounding of a * b + c changes nothing the tests
 * compare at: -std=c11 turns contraction off for the whole file otherwise. GCC only (clang and MSVC: plain code). */
#if defined(__GNUC__) && !defined(__clang__)
#define CONTRACT __attribute__((optimize("fp-contract=fast")))
#else
#define CONTRACT
#endif
#define SIMD _Pragma("omp simd")
#define SIMD_SUM(...) _Pragma(SIMD_STR(omp simd reduction(+: __VA_ARGS__)))
#define SIMD_STR(x) #x

/* ------------------------------------------------------------------------------------------- buffers */
#define MAX_BUFS 10
typedef struct {
    Py_buffer views[MAX_BUFS];
    int held;
    const char *kernel;
} Bufs;

static void release(Bufs *b) {
    for (int i = 0; i < b->held; i++)
        PyBuffer_Release(&b->views[i]);
    b->held = 0;
}

/* The data of obj (C-contiguous, of format fmt: 'f' float32, 'd' float64, 'h' int16, 'q' int64), its element
 * count in *n.
 * None gives NULL when optional. Sets a Python error naming the kernel and the argument on failure. */
static void *take(Bufs *b, PyObject *obj, char fmt, int writable, int optional, const char *name, Py_ssize_t *n) {
    if (obj == Py_None && optional) {
        if (n) *n = 0;
        return NULL;
    }
    Py_buffer *v = &b->views[b->held];
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, v, flags) < 0) {
        PyErr_Clear();
        PyErr_Format(PyExc_ValueError, "%s: %s must be a C-contiguous%s array, got %.80s", b->kernel, name,
                     writable ? " writable" : "", Py_TYPE(obj)->tp_name);
        return NULL;
    }
    b->held++;
    Py_ssize_t size = fmt == 'f' ? 4 : fmt == 'h' ? 2 : 8;
    /* 'q' is any 8-byte integer: NumPy's int64 is 'l' on Linux and macOS, 'q' on Windows */
    int same = v->format != NULL && v->format[1] == '\0' &&
               (v->format[0] == fmt || (fmt == 'q' && v->format[0] == 'l'));
    if (v->itemsize != size || !same) {
        PyErr_Format(PyExc_TypeError, "%s: %s must be %s, got format '%s'", b->kernel, name,
                     fmt == 'f' ? "float32" : fmt == 'd' ? "float64" : fmt == 'h' ? "int16" : "int64",
                     v->format ? v->format : "B");
        return NULL;
    }
    if (n) *n = v->len / size;
    return v->buf;
}

/* Releases the buffers taken so far and returns NULL: the Python error is already set. */
static PyObject *fail(Bufs *b) {
    release(b);
    return NULL;
}

/* Runs a kernel's loop without the GIL (other Python threads go on meanwhile), then releases its buffers. */
#define RUN(b, loop)                                                                                                   \
    do {                                                                                                               \
        Py_BEGIN_ALLOW_THREADS loop;                                                                                   \
        Py_END_ALLOW_THREADS release(&(b));                                                                            \
    } while (0)

static int check_len(Bufs *b, const char *name, Py_ssize_t got, Py_ssize_t want) {
    if (got == want) return 0;
    PyErr_Format(PyExc_ValueError, "%s: %s has %zd elements, expected %zd", b->kernel, name, got, want);
    return -1;
}

static int check_nargs(const char *kernel, Py_ssize_t nargs, Py_ssize_t want) {
    if (nargs == want) return 0;
    PyErr_Format(PyExc_TypeError, "%s takes %zd arguments, got %zd", kernel, want, nargs);
    return -1;
}

/* Integer arguments, all >= lo. */
static int ints(const char *kernel, PyObject *const *args, Py_ssize_t count, Py_ssize_t *out, Py_ssize_t lo) {
    for (Py_ssize_t i = 0; i < count; i++) {
        out[i] = PyNumber_AsSsize_t(args[i], PyExc_OverflowError);      /* any integer (__index__) */
        if (out[i] == -1 && PyErr_Occurred()) return -1;
        if (out[i] < lo) {
            PyErr_Format(PyExc_ValueError, "%s: integer argument %zd must be >= %zd, got %zd", kernel, i, lo, out[i]);
            return -1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------ threads */
/* The caller and up to POOL_MAX - 1 workers. A dispatch publishes one job (a kernel's range function over n
 * items cut in `tasks` ranges, or OpenBLAS's jobs) and bumps `gen`; each thread takes tasks by an atomic counter
 * until none is left (so a kernel never waits for a worker that is still waking up: the caller takes its ranges).
 * Workers spin after their last task (pool_spin_ns), then sleep on a condition variable. One dispatch at a time:
 * a kernel finding the pool busy (another Python thread's work) runs inline; OpenBLAS waits for it, because its
 * GEMM jobs wait on one another and each needs a thread of its own. */
#ifdef REDES_POOL
#define POOL_MAX 64
typedef void (*RangeFn)(void *ctx, Py_ssize_t lo, Py_ssize_t hi, int task);
typedef void (*BlasJob)(int thread, void *data, int arg);

static struct {
    pthread_mutex_t busy, sleep_mu;
    pthread_cond_t wake;
    atomic_long gen;
    atomic_int next, done, sleepers;
    int started, tasks, is_blas;
    RangeFn fn;                     /* a kernel's job */
    void *ctx;
    Py_ssize_t n;
    BlasJob job;                    /* OpenBLAS's job */
    char *jdata;
    size_t jsize;
    int jarg;
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER};
static int pool_threads = 1;                /* threads a kernel may use: set_threads() (OpenBLAS's count) */
/* A worker's spin before it sleeps: 0.1 s, as OpenBLAS's own workers (2^28 cycles). Waking a sleeping worker took
 * milliseconds on the 2-vCPU VMs (a GEMM 50 ms after the last one: 9.7 ms with a 5 ms spin, 0.3 ms spinning). */
static long pool_spin_ns = 100000000;
static _Thread_local int in_task;           /* this thread runs a task: anything nested runs inline */

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000L + t.tv_nsec;
}

static void run_tasks(int thread) {
    in_task = 1;
    for (;;) {
        int i = atomic_fetch_add(&pool.next, 1);
        if (i >= pool.tasks) break;
        if (pool.is_blas) {
            pool.job(thread, pool.jdata + (size_t)i * pool.jsize, pool.jarg);
        } else {
            Py_ssize_t lo = pool.n * i / pool.tasks, hi = pool.n * (i + 1) / pool.tasks;
            pool.fn(pool.ctx, lo, hi, i);
        }
        atomic_fetch_add(&pool.done, 1);
    }
    in_task = 0;
}

static long pool_born[POOL_MAX];            /* gen when each worker was made: its first job is any later one */

static void *pool_worker(void *arg) {
    int thread = (int)(intptr_t)arg;
    long seen = pool_born[thread];
    for (;;) {
        long start = now_ns();
        for (int k = 0; atomic_load(&pool.gen) == seen; k++) {
            cpu_relax();
            if ((k & 1023) == 1023 && now_ns() - start > pool_spin_ns) {
                pthread_mutex_lock(&pool.sleep_mu);
                atomic_fetch_add(&pool.sleepers, 1);
                while (atomic_load(&pool.gen) == seen) pthread_cond_wait(&pool.wake, &pool.sleep_mu);
                atomic_fetch_sub(&pool.sleepers, 1);
                pthread_mutex_unlock(&pool.sleep_mu);
            }
        }
        seen = atomic_load(&pool.gen);
        run_tasks(thread);
    }
    return NULL;
}

/* Workers up to `want` (held: pool.busy). Returns how many run. */
static int pool_grow(int want) {
    if (want > POOL_MAX - 1) want = POOL_MAX - 1;
    while (pool.started < want) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pool_born[pool.started + 1] = atomic_load(&pool.gen);
        int err = pthread_create(&t, &attr, pool_worker, (void *)(intptr_t)(pool.started + 1));
        pthread_attr_destroy(&attr);
        if (err) break;
        pool.started++;
    }
    return pool.started;
}

/* Runs the published job's `tasks` on this thread and the workers (held: pool.busy). */
static void pool_dispatch(int tasks) {
    pool.tasks = tasks;
    /* done before next: a worker still leaving the previous job may claim this job's first task as soon as next
     * is reset, and its count must not be wiped by the reset */
    atomic_store(&pool.done, 0);
    atomic_store(&pool.next, 0);
    atomic_fetch_add(&pool.gen, 1);
    if (atomic_load(&pool.sleepers)) {
        pthread_mutex_lock(&pool.sleep_mu);
        pthread_cond_broadcast(&pool.wake);
        pthread_mutex_unlock(&pool.sleep_mu);
    }
    run_tasks(0);
    while (atomic_load(&pool.done) < tasks) cpu_relax();
}

/* The number of ranges par_for will cut n items into (at most POOL_MAX): callers size per-task scratch by it. */
static int par_tasks(Py_ssize_t n, Py_ssize_t grain) {
    Py_ssize_t tasks = grain > 0 ? n / grain : 1;
    return tasks < 1 ? 1 : tasks > pool_threads ? pool_threads : (int)tasks;
}

/* fn(ctx, lo, hi, task) over [0, n) in `tasks` ranges, on the pool's threads when it is free (else each range in
 * turn on this thread). */
static void par_ranges(RangeFn fn, void *ctx, Py_ssize_t n, int tasks) {
    if (tasks < 2) {
        fn(ctx, 0, n, 0);
        return;
    }
    int held = !in_task && pthread_mutex_trylock(&pool.busy) == 0;
    if (held && pool_grow(pool_threads - 1) < tasks - 1) {
        pthread_mutex_unlock(&pool.busy);
        held = 0;
    }
    if (!held) {                                /* busy (another thread's work), or nested: here, in turn */
        for (int i = 0; i < tasks; i++) fn(ctx, n * i / tasks, n * (i + 1) / tasks, i);
        return;
    }
    pool.is_blas = 0;
    pool.fn = fn;
    pool.ctx = ctx;
    pool.n = n;
    pool_dispatch(tasks);
    pthread_mutex_unlock(&pool.busy);
}

/* par_ranges in par_tasks(n, grain) ranges. */
static void par_for(RangeFn fn, void *ctx, Py_ssize_t n, Py_ssize_t grain) {
    par_ranges(fn, ctx, n, par_tasks(n, grain));
}

/* OpenBLAS's threads callback (openblas_set_threads_callback_function): run dojob on each of numjobs job records,
 * all at once. Always synchronous. */
typedef struct {
    BlasJob job;
    void *data;
    int thread, arg;
} NestedJob;

static void *nested_job(void *ctx) {
    NestedJob *j = ctx;
    j->job(j->thread, j->data, j->arg);
    return NULL;
}

/* A GEMM threaded from inside one of the pool's tasks (the attention kernel's products are kept below OpenBLAS's
 * threshold, so this is a safety net): the pool is taken by that task, and OpenBLAS's jobs wait on one another, so
 * they get threads of their own for this call. */
static pthread_mutex_t nested_mu = PTHREAD_MUTEX_INITIALIZER;

static void blas_nested(BlasJob dojob, int numjobs, size_t jsize, void *jobdata, int arg) {
    pthread_t t[POOL_MAX];
    NestedJob jobs[POOL_MAX];
    int started = 0;
    if (numjobs > POOL_MAX) abort();
    /* one at a time: OpenBLAS gives each job the buffers of its thread number, which another task's threaded
     * GEMM would be using too */
    pthread_mutex_lock(&nested_mu);
    for (int i = 1; i < numjobs; i++) {
        jobs[i] = (NestedJob){dojob, (char *)jobdata + (size_t)i * jsize, i, arg};
        if (pthread_create(&t[i], NULL, nested_job, &jobs[i])) {
            fprintf(stderr, "redes: could not start %d threads for OpenBLAS\n", numjobs - 1);
            abort();                       /* its jobs wait on each other: fewer threads would hang */
        }
        started = i;
    }
    dojob(0, jobdata, arg);
    for (int i = 1; i <= started; i++) pthread_join(t[i], NULL);
    pthread_mutex_unlock(&nested_mu);
}

static void pool_blas(int sync, BlasJob dojob, int numjobs, size_t jsize, void *jobdata, int arg) {
    (void)sync;
    if (numjobs <= 1) {
        if (numjobs == 1) dojob(0, jobdata, arg);
        return;
    }
    if (in_task) {
        blas_nested(dojob, numjobs, jsize, jobdata, arg);
        return;
    }
    pthread_mutex_lock(&pool.busy);
    if (pool_grow(numjobs - 1) < numjobs - 1) {
        pthread_mutex_unlock(&pool.busy);
        fprintf(stderr, "redes: could not start %d threads for OpenBLAS\n", numjobs - 1);
        abort();                           /* its jobs wait on each other: fewer threads would hang */
    }
    pool.is_blas = 1;
    pool.job = dojob;
    pool.jdata = jobdata;
    pool.jsize = jsize;
    pool.jarg = arg;
    pool_dispatch(numjobs);
    pthread_mutex_unlock(&pool.busy);
}

/* A forked child has none of the parent's workers: start afresh (a dispatch cannot be running in the child). */
static void pool_after_fork(void) {
    pthread_mutex_init(&nested_mu, NULL);
    pthread_mutex_init(&pool.busy, NULL);
    pthread_mutex_init(&pool.sleep_mu, NULL);
    pthread_cond_init(&pool.wake, NULL);
    atomic_store(&pool.sleepers, 0);
    pool.started = 0;
}

/* set_threads(n, spin_us=-1): kernels use up to n threads (OpenBLAS's count); spin_us >= 0 sets a worker's spin. */
static PyObject *k_set_threads(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Py_ssize_t v[2] = {1, -1};
    if (nargs < 1 || nargs > 2) return PyErr_Format(PyExc_TypeError, "set_threads takes 1 or 2 arguments");
    for (Py_ssize_t i = 0; i < nargs; i++) {
        v[i] = PyNumber_AsSsize_t(args[i], PyExc_OverflowError);
        if (v[i] == -1 && PyErr_Occurred()) return NULL;
    }
    if (v[0] < 1) return PyErr_Format(PyExc_ValueError, "set_threads: need at least 1 thread, got %zd", v[0]);
    int was = pool_threads;
    pool_threads = v[0] > POOL_MAX ? POOL_MAX : (int)v[0];
    if (v[1] >= 0) pool_spin_ns = (long)v[1] * 1000L;
    return PyLong_FromLong(was);
}

/* blas_callback() -> the address of pool_blas, for openblas_set_threads_callback_function */
static PyObject *k_blas_callback(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    return PyLong_FromVoidPtr((void *)pool_blas);
}

/* pool_info() -> (threads kernels may use, workers started) */
static PyObject *k_pool_info(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    return Py_BuildValue("(ii)", pool_threads, pool.started);
}
#else
typedef void (*RangeFn)(void *ctx, Py_ssize_t lo, Py_ssize_t hi, int task);
static int par_tasks(Py_ssize_t n, Py_ssize_t grain) {
    return 1;
}

static void par_ranges(RangeFn fn, void *ctx, Py_ssize_t n, int tasks) {
    for (int i = 0; i < tasks; i++) fn(ctx, n * i / tasks, n * (i + 1) / tasks, i);
}

static void par_for(RangeFn fn, void *ctx, Py_ssize_t n, Py_ssize_t grain) {
    fn(ctx, 0, n, 0);
}

static PyObject *k_set_threads(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    return PyLong_FromLong(1);
}

static PyObject *k_blas_callback(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Py_RETURN_NONE;                        /* no pool on this platform: OpenBLAS keeps its own threads */
}

static PyObject *k_pool_info(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    return Py_BuildValue("(ii)", 1, 0);
}
#endif

/* A kernel's arguments for par_for: its arrays (w written, r read) and numbers; each range function reads
 * them by the loop it runs and offsets the arrays to its range. */
typedef struct {
    float *w[4];
    const float *r[6];
    float f[8];
    Py_ssize_t k[4];
    double *acc;
    float *scratch;
} Job;

#define GRAIN (1 << 15)         /* values per range for a pass bound by memory: dispatch costs ~1-2 us */
#define GRAIN_MATH (1 << 11)    /* for loops with exp, tanh or erf per value */
/* A recurrent cell's step called from Python: the benchmark LSTM's 4096 values took 28 us on one thread and 33 us on
 * two (its outputs then cross to the other core for the next step's GEMM), so a step splits only from 8x that size.
 * Inside the LSTM's sequence kernel (no Python between steps, the pool's worker still spinning from the GEMM) the
 * forward cell splits from GRAIN_MATH: that forward went 3.46 -> 2.39 ms. Its backward cell, with no exp or tanh,
 * stays whole: 2.73 ms whole, 2.87 split. */
#define GRAIN_CELL (1 << 15)

/* ------------------------------------------------------------------------------- vectorisable math */
/* exp(x) for float32 in plain arithmetic (the compiler vectorises it; a libm call would stop that).
 * x = n ln2 + r, |r| <= ln2 / 2: exp(r) by its Taylor series to r^7 (relative error below 1e-8 before
 * rounding), times 2^n built from exponent bits in two halves, so that n from -150 to 128 stays in range (the
 * results near overflow and the subnormal ones come out right). Below -104 the result is 0 (exp(-inf) = 0
 * for masked scores), above 88.8 it is inf, and NaN stays NaN. */
static inline float exp_f32(float x) {
    const float shifter = 12582912.0f;                     /* 1.5 * 2^23: adding it rounds to an integer */
    float t = x * 1.44269504f + shifter;
    float nf = t - shifter;
    int32_t tb;
    memcpy(&tb, &t, 4);
    int32_t n = tb - 0x4B400000;                           /* the integer, read from t's mantissa */
    float r = x - nf * 0.693145752f;                       /* ln2 split in two for exact reduction */
    r = r - nf * 1.42860677e-6f;
    float p = 1.0f + r * (1.0f + r * (0.5f + r * (1.66666667e-1f + r * (4.16666667e-2f + r * (8.33333333e-3f
              + r * (1.38888889e-3f + r * 1.98412698e-4f))))));
    int32_t n1 = n / 2, e1 = (n1 + 127) << 23, e2 = (n - n1 + 127) << 23;
    float s1, s2;
    memcpy(&s1, &e1, 4);
    memcpy(&s2, &e2, 4);
    float y = p * s1 * s2;
    y = x < -104.0f ? 0.0f : y;
    y = x > 88.8f ? INFINITY : y;
    return x != x ? x : y;
}

/* tanh(x): an odd Taylor polynomial below |x| = 0.25, else (1 - e) / (1 + e) with e = exp(-2|x|). */
static inline float tanh_f32(float x) {
    float a = fabsf(x);
    float e = exp_f32(-2.0f * a);
    float big = (1.0f - e) / (1.0f + e);
    float a2 = a * a;
    float small = a * (1.0f + a2 * (-3.33333333e-1f + a2 * (1.33333333e-1f + a2 * (-5.3968254e-2f
                  + a2 * 2.18694885e-2f))));
    float r = a < 0.25f ? small : big;
    return x < 0.0f ? -r : (x != x ? x : r);
}

/* sigmoid(x) = 1 / (1 + exp(-x)): relative error of a few ulp everywhere (0 below x = -88, NaN stays NaN). */
static inline float sigmoid_f32(float x) {
    return 1.0f / (1.0f + exp_f32(-x));
}

/* ---------------------------------------------------------------------------------------------- GELU */
/* Phi(x) by the formula of ops/elementwise._gelu_and_slope, and e = exp(-x^2 / 2) (phi's numerator):
 * Phi(-|x|) = u (c1 + u (c2 + ... u c5)) exp(-x^2 / 2), u = 1 / (K + |x|) (Abramowitz & Stegun 7.1.26). */
CONTRACT static inline float gelu_cdf(float xi, const float *c, float k, float *e) {
    *e = exp_f32(-0.5f * xi * xi);
    float u = 1.0f / (fabsf(xi) + k);
    float h = u * (c[0] + u * (c[1] + u * (c[2] + u * (c[3] + u * c[4])))) * *e;
    float cdf = xi >= 0.0f ? 1.0f - h : h;
    return xi != xi ? xi : cdf;
}

/* Forward (dy NULL): out = x Phi(x). Backward: out = dy (Phi(x) + x phi(x)), recomputed from x as torch does:
 * forward then writes one array instead of two (y and a kept slope), and backward is still one pass. */
HOT CONTRACT static void gelu_loop(const float *x, const float *dy, float *out, Py_ssize_t n, const float *c, float k) {
    if (!dy) {
        SIMD for (Py_ssize_t i = 0; i < n; i++) {
            float e, xi = x[i];
            out[i] = xi * gelu_cdf(xi, c, k, &e);
        }
        return;
    }
    SIMD for (Py_ssize_t i = 0; i < n; i++) {
        float e, xi = x[i];
        float cdf = gelu_cdf(xi, c, k, &e);
        out[i] = dy[i] * (cdf + xi * e * 0.398942280f);
    }
}

static void gelu_range(void *ctx, Py_ssize_t lo, Py_ssize_t hi, int task) {
    Job *j = ctx;
    gelu_loop(j->r[0] + lo, j->r[1] ? j->r[1] + lo : NULL, j->w[0] + lo, hi - lo, j->r[2], j->f[0]);
}

/* gelu(x, dy|None, out, c (5 coefficients), k): out = gelu(x) when dy is None, else dy * gelu'(x). */
static PyObject *k_gelu(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Bufs b = {.held = 0, .kernel = "gelu"};
    Py_ssize_t n, nd = 0, no, nc;
    if (check_nargs(b.kernel, nargs, 5) < 0) return NULL;
    const float *x = take(&b, args[0], 'f', 0, 0, "x", &n);
    const float *dy = x ? take(&b, args[1], 'f', 0, 1, "dy", &nd) : NULL;
    float *out = !PyErr_Occurred() ? take(&b, args[2], 'f', 1, 0, "out", &no) : NULL;
    const float *c = out ? take(&b, args[3], 'f', 0, 0, "c", &nc) : NULL;
    double k = c ? PyFloat_AsDouble(args[4]) : -1.0;
    if (!c || PyErr_Occurred() || (dy && check_len(&b, "dy", nd, n)) || check_len(&b, "out", no, n)
        || check_len(&b, "c", nc, 5))
        return fail(&b);
    Job j = {.w = {out}, .r = {x, dy, c}, .f = {(float)k}};
    RUN(b, par_for(gelu_range, &j, n, GRAIN_MATH));
    Py_RETURN_NONE;
}

/* ----------------------------------------------------------------------------------------- Embedding */
/* embedding_backward(idx (int64), dy (len(idx) rows of D), dw (V rows of D, zeroed by the caller)):
 * dw[idx[r]] += dy[r], row by row (dw of a small vocabulary stays in cache). Every index is checked against
 * [0, V) before any row is added: a bad one raises and leaves dw untouched. */
HOT static void emb_bwd_loop(const int64_t *idx, const float *dy, float *dw, Py_ssize_t rows, Py_ssize_t d) {
    for (Py_ssize_t r = 0; r < rows; r++) {
        float *w = dw + idx[r] * d;
        const float *g = dy + r * d;
        SIMD for (Py_ssize_t j = 0; j < d; j++) w[j] += g[j];
    }
}

static PyObject *k_embedding_backward(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Bufs b = {.held = 0, .kernel = "embedding_backward"};
    Py_ssize_t rows, ng, nw;
    if (check_nargs(b.kernel, nargs, 3) < 0) return NULL;
    const int64_t *idx = take(&b, args[0], 'q', 0, 0, "idx", &rows);
    const float *dy = idx ? take(&b, args[1], 'f', 0, 0, "dy", &ng) : NULL;
    float *dw = dy ? take(&b, args[2], 'f', 1, 0, "dw", &nw) : NULL;
    if (!dw) return fail(&b);
    Py_ssize_t d = rows ? ng / rows : 0, v = d ? nw / d : 0;
    if (rows && (ng % rows || nw % (d ? d : 1) || (d == 0 && nw != 0))) {
        PyErr_Format(PyExc_ValueError, "%s: dy has %zd elements and dw %zd, not rows of one width for %zd indices",
                     b.kernel, ng, nw, rows);
        return fail(&b);
    }
    for (Py_ssize_t r = 0; r < rows && d; r++)
        if (idx[r] < 0 || idx[r] >= v) {
            PyErr_Format(PyExc_IndexError, "%s: index %lld is outside [0, %zd)", b.kernel, (long long)idx[r], v);
            return fail(&b);
        }
    RUN(b, emb_bwd_loop(idx, dy, dw, d ? rows : 0, d));
    Py_RETURN_NONE;
}

/* ----------------------------------------------------------------------------------------- LayerNorm */
/* Forward keeps per row only (mean, corr) and invstd, not xhat: backward recomputes xhat = (x - mean - corr) invstd
 * from x with the same operations (one array fewer written, and kept, per call). */
HOT CONTRACT static void ln_fwd_loop(const float *x, const float *w, const float *bias, float *y, float *stats,
                                     float *invstd, Py_ssize_t rows, Py_ssize_t k, float eps) {
    for (Py_ssize_t r = 0; r < rows; r++) {
        const float *xr = x + r * k;
        float *yr = y + r * k;
        float sum = 0.0f, sq = 0.0f, dsum = 0.0f;
        SIMD_SUM(sum) for (Py_ssize_t j = 0; j < k; j++) sum += xr[j];
        float mean = sum / (float)k;
        SIMD_SUM(sq, dsum) for (Py_ssize_t j = 0; j < k; j++) {
            float d = xr[j] - mean;
            sq += d * d;
            dsum += d;
        }
        /* The rounded mean is off by up to half an ulp of the values (5e-4 at 1e4): dsum / k measures that offset,
           removed from each deviation and from the variance (corrected two-pass, Chan, Golub & LeVeque 1983). */
        float corr = dsum / (float)k;
        float var = sq / (float)k - corr * corr;
        float is = 1.0f / sqrtf((var > 0.0f ? var : 0.0f) + eps);
        stats[2 * r] = mean;
        stats[2 * r + 1] = corr;
        invstd[r] = is;
        SIMD for (Py_ssize_t j = 0; j < k; j++) {
            float h = ((xr[j] - mean) - corr) * is;
            yr[j] = (w ? h * w[j] : h) + (bias ? bias[j] : 0.0f);
        }
    }
}

static void ln_fwd_range(void *ctx, Py_ssize_t lo, Py_ssize_t hi, int task) {
    Job *j = ctx;
    Py_ssize_t k = j->k[0];
    ln_fwd_loop(j->r[0] + lo * k, j->r[1], j->r[2], j->w[0] + lo * k, j->w[1] + 2 * lo, j->w[2] + lo, hi - lo, k,
                j->f[0]);
}

/* layer_norm_forward(x, w|None, b|None, y, stats (rows, 2) out, invstd (rows) out, k, eps): rows of k values. */
static PyObject *k_layer_norm_forward(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Bufs b = {.held = 0, .kernel = "layer_norm_forward"};
    Py_ssize_t n, nw, nb, ny, ns, ni, k;
    if (check_nargs(b.kernel, nargs, 8) < 0 || ints(b.kernel, args + 6, 1, &k, 1) < 0) return NULL;
    double eps = PyFloat_AsDouble(args[7]);
    if (eps == -1.0 && PyErr_Occurred()) return NULL;
    const float *x = take(&b, args[0], 'f', 0, 0, "x", &n);
    const float *w = x ? take(&b, args[1], 'f', 0, 1, "weight", &nw) : NULL;
    const float *bias = !PyErr_Occurred() ? take(&b, args[2], 'f', 0, 1, "bias", &nb) : NULL;
    float *y = !PyErr_Occurred() ? take(&b, args[3], 'f', 1, 0, "y", &ny) : NULL;
    float *st = y ? take(&b, args[4], 'f', 1, 0, "stats", &ns) : NULL;
    float *is = st ? take(&b, args[5], 'f', 1, 0, "invstd", &ni) : NULL;
    if (!is || n % k || check_len(&b, "y", ny, n) || check_len(&b, "stats", ns, 2 * (n / k))
        || check_len(&b, "invstd", ni, n / k) || (w && check_len(&b, "weight", nw, k))
        || (bias && check_len(&b, "bias", nb, k))) {
        if (!PyErr_Occurred())
            PyErr_Format(PyExc_ValueError, "%s: x has %zd elements, not a multiple of k = %zd", b.kernel, n, k);
        return fail(&b);
    }
    Job j = {.w = {y, st, is}, .r = {x, w, bias}, .f = {(float)eps}, .k = {k}};
    RUN(b, par_for(ln_fwd_range, &j, n / k, GRAIN / k + 1));
    Py_RETURN_NONE;
}

#define LN_BLOCK 32             /* rows whose dw, db terms are summed in float before the double totals */

/* h: a row's xhat, recomputed; pw, pb: float sums of the block's rows; dw, db: double totals (NULL: not wanted) */
HOT CONTRACT static void ln_bwd_loop(const float *dy, const float *x, const float *stats, const float *invstd,
                                     const float *w, float *dx, double *dw, double *db, float *h, float *pw, float *pb,
                                     Py_ssize_t rows, Py_ssize_t k) {
    for (Py_ssize_t r0 = 0; r0 < rows; r0 += LN_BLOCK) {
        Py_ssize_t r1 = r0 + LN_BLOCK < rows ? r0 + LN_BLOCK : rows;
        for (Py_ssize_t j = 0; j < k; j++) pw[j] = pb[j] = 0.0f;
        for (Py_ssize_t r = r0; r < r1; r++) {
            const float *g = dy + r * k, *xr = x + r * k;
            float mean = stats[2 * r], corr = stats[2 * r + 1], is = invstd[r];
            SIMD for (Py_ssize_t j = 0; j < k; j++) h[j] = ((xr[j] - mean) - corr) * is;
            if (dw) SIMD for (Py_ssize_t j = 0; j < k; j++) pw[j] += g[j] * h[j];
            if (db) SIMD for (Py_ssize_t j = 0; j < k; j++) pb[j] += g[j];
            if (!dx) continue;
            float sg = 0.0f, sgx = 0.0f;
            SIMD_SUM(sg, sgx) for (Py_ssize_t j = 0; j < k; j++) {
                float gj = w ? g[j] * w[j] : g[j];
                sg += gj;
                sgx += gj * h[j];
            }
            float mg = sg / (float)k, mgx = sgx / (float)k;
            float *d = dx + r * k;
            SIMD for (Py_ssize_t j = 0; j < k; j++) {
                float gj = w ? g[j] * w[j] : g[j];
                d[j] = (gj - mg - h[j] * mgx) * is;
            }
        }
        if (dw) for (Py_ssize_t j = 0; j < k; j++) dw[j] += pw[j];
        if (db) for (Py_ssize_t j = 0; j < k; j++) db[j] += pb[j];
    }
}

/* k[1], k[2]: whether dw, db are wanted (then there is one task: see k_layer_norm_backward), summed into the 2k
 * doubles of acc; each task has its own 3k floats of scratch */
static void ln_bwd_range(void *ctx, Py_ssize_t lo, Py_ssize_t hi, int task) {
    Job *j = ctx;
    Py_ssize_t k = j->k[0];
    float *sc = j->scratch + 3 * k * task;
    ln_bwd_loop(j->r[0] + lo * k, j->r[1] + lo * k, j->r[2] + 2 * lo, j->r[3] + lo, j->r[4],
                j->w[0] ? j->w[0] + lo * k : NULL, j->k[1] ? j->acc : NULL, j->k[2] ? j->acc + k : NULL, sc, sc + k,
                sc + 2 * k, hi - lo, k);
}

/* layer_norm_backward(dy, x, stats, invstd, w|None, dx|None, dw|None, db|None, k): stats and invstd from forward;
 * dw and db summed over rows. */
static PyObject *k_layer_norm_backward(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Bufs b = {.held = 0, .kernel = "layer_norm_backward"};
    Py_ssize_t n, nx, ns, ni, nw, ndx, ndw, ndb, k;
    if (check_nargs(b.kernel, nargs, 9) < 0 || ints(b.kernel, args + 8, 1, &k, 1) < 0) return NULL;
    const float *dy = take(&b, args[0], 'f', 0, 0, "dy", &n);
    const float *x = dy ? take(&b, args[1], 'f', 0, 0, "x", &nx) : NULL;
    const float *st = x ? take(&b, args[2], 'f', 0, 0, "stats", &ns) : NULL;
    const float *is = st ? take(&b, args[3], 'f', 0, 0, "invstd", &ni) : NULL;
    const float *w = is ? take(&b, args[4], 'f', 0, 1, "weight", &nw) : NULL;
    float *dx = !PyErr_Occurred() ? take(&b, args[5], 'f', 1, 1, "dx", &ndx) : NULL;
    float *dw = !PyErr_Occurred() ? take(&b, args[6], 'f', 1, 1, "dw", &ndw) : NULL;
    float *db = !PyErr_Occurred() ? take(&b, args[7], 'f', 1, 1, "db", &ndb) : NULL;
    if (PyErr_Occurred() || n % k || check_len(&b, "x", nx, n) || check_len(&b, "stats", ns, 2 * (n / k))
        || check_len(&b, "invstd", ni, n / k) || (w && check_len(&b, "weight", nw, k))
        || (dx && check_len(&b, "dx", ndx, n)) || (dw && check_len(&b, "dw", ndw, k))
        || (db && check_len(&b, "db", ndb, k))) {
        if (!PyErr_Occurred())
            PyErr_Format(PyExc_ValueError, "%s: dy has %zd elements, not a multiple of k = %zd", b.kernel, n, k);
        return fail(&b);
    }
    /* Only dx splits in ranges: with dw and db summed per range, two threads ran slower than one (2048x128
     * after a GEMM: 195 vs 160 us; dx alone: 82 vs 137), for a reason not found yet. */
    int tasks = dw || db ? 1 : par_tasks(n / k, GRAIN / k + 1);
    double *acc = calloc(2 * (size_t)k, sizeof(double));                      /* dw, db totals in double */
    float *scratch = malloc(3 * (size_t)k * (size_t)tasks * sizeof(float));   /* a row's xhat, the block sums */
    if (!acc || !scratch) {
        free(acc);
        free(scratch);
        release(&b);
        return PyErr_NoMemory();
    }
    Job job = {.w = {dx}, .r = {dy, x, st, is, w}, .k = {k, dw != NULL, db != NULL}, .acc = acc, .scratch = scratch};
    Py_BEGIN_ALLOW_THREADS
    par_ranges(ln_bwd_range, &job, n / k, tasks);
    for (Py_ssize_t j = 0; j < k; j++) {
        if (dw) dw[j] = (float)acc[j];
        if (db) db[j] = (float)acc[k + j];
    }
    Py_END_ALLOW_THREADS
    free(acc);
    free(scratch);
    release(&b);
    Py_RETURN_NONE;
}

/* ----------------------------------------------------------------------------------------- BatchNorm */
/* x is seen as (outer, C, inner) in C order: (N, C, H*W) for NCHW memory, (N*H*W, C, 1) for the channels-last
 * memory of a redes conv's output. Per channel c, over its M = outer * inner values:
 *   statistics in one pass, in double, of the values shifted by the channel's first one (sums of x - K and of
 *   (x - K)^2: K near the data keeps the variance free of cancellation; a constant channel gives exactly 0);
 *   stats = [mean, biased var] (2, C) in double;
 *   the deviation d = (x - mean_hi) - mean_lo, with mean split into two floats (mean_hi + mean_lo): exact to a
 *   float's rounding even far from 0, where x - (float)mean would be off by half an ulp of the values.
 * Forward writes y = d invstd w + b; backward recomputes d from x (xhat is never stored). */
typedef struct {
    Py_ssize_t outer, c, inner;
} Chan;

/* s1[c] = sum (x - K), s2[c] = sum (x - K)^2, K[c] = x[0, c, 0] */
HOT static void bn_sums(const float *x, Chan g, double *s1, double *s2) {
    if (g.inner == 1) {                                         /* channels-last: rows of C, vectorised over C */
        for (Py_ssize_t r = 0; r < g.outer; r++) {
            const float *xr = x + r * g.c;
            SIMD for (Py_ssize_t c = 0; c < g.c; c++) {
                double d = (double)xr[c] - (double)x[c];
                s1[c] += d;
                s2[c] += d * d;
            }
        }
        return;
    }
    for (Py_ssize_t c = 0; c < g.c; c++) {
        double k = x[c * g.inner], a = 0.0, q = 0.0;
        for (Py_ssize_t n = 0; n < g.outer; n++) {
            const float *xr = x + (n * g.c + c) * g.inner;
            SIMD_SUM(a, q) for (Py_ssize_t l = 0; l < g.inner; l++) {
                double d = (double)xr[l] - k;
                a += d;
                q += d * d;
            }
        }
        s1[c] = a;
        s2[c] = q;
    }
}

/* Per channel: f[0..C) scale on d, f[C..2C) bias, hi[C], lo[C] (the two-float mean) from stats; invstd out. */
static void bn_consts(const double *stats, const float *w, const float *bias, float *invstd, float *hi, float *lo,
                      float *scale, float *shift, Py_ssize_t c, float eps) {
    for (Py_ssize_t j = 0; j < c; j++) {
        hi[j] = (float)stats[j];
        lo[j] = (float)(stats[j] - (double)hi[j]);
        invstd[j] = (float)(1.0 / sqrt(stats[c + j] + (double)eps));
        scale[j] = w ? invstd[j] * w[j] : invstd[j];
        shift[j] = bias ? bias[j] : 0.0f;
    }
}

/* y = d * scale + shift over the (outer, C, inner) layout */
HOT static void bn_apply(const float *x, float *y, Chan g, const float *hi, const float *lo, const float *scale,
                         const float *shift) {
    if (g.inner == 1) {
        for (Py_ssize_t r = 0; r < g.outer; r++) {
            const float *xr = x + r * g.c;
            float *yr = y + r * g.c;
            SIMD for (Py_ssize_t c = 0; c < g.c; c++) yr[c] = ((xr[c] - hi[c]) - lo[c]) * scale[c] + shift[c];
        }
        return;
    }
    for (Py_ssize_t n = 0; n < g.outer; n++)
        for (Py_ssize_t c = 0; c < g.c; c++) {
            const float *xr = x + (n * g.c + c) * g.inner;
            float *yr = y + (n * g.c + c) * g.inner;
            float h = hi[c], l = lo[c], s = scale[c], t = shift[c];
            SIMD for (Py_ssize_t i = 0; i < g.inner; i++) yr[i] = ((xr[i] - h) - l) * s + t;
        }
}

static int bn_geom(const char *kernel, PyObject *const *args, Chan *g) {
    Py_ssize_t v[3];
    if (ints(kernel, args, 3, v, 1) < 0) return -1;
    g->outer = v[0], g->c = v[1], g->inner = v[2];
    return 0;
}

/* batch_norm_forward(x, w|None, b|None, y, stats (2, C) float64 out, invstd (C) out, outer, C, inner, eps) */
static PyObject *k_batch_norm_forward(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Bufs b = {.held = 0, .kernel = "batch_norm_forward"};
    Chan g;
    Py_ssize_t n, nw, nb, ny, ns, ni;
    if (check_nargs(b.kernel, nargs, 10) < 0 || bn_geom(b.kernel, args + 6, &g) < 0) return NULL;
    double eps = PyFloat_AsDouble(args[9]);
    if (eps == -1.0 && PyErr_Occurred()) return NULL;
    const float *x = take(&b, args[0], 'f', 0, 0, "x", &n);
    const float *w = x ? take(&b, args[1], 'f', 0, 1, "weight", &nw) : NULL;
    const float *bias = !PyErr_Occurred() ? take(&b, args[2], 'f', 0, 1, "bias", &nb) : NULL;
    float *y = !PyErr_Occurred() ? take(&b, args[3], 'f', 1, 0, "y", &ny) : NULL;
    double *stats = y ? take(&b, args[4], 'd', 1, 0, "stats", &ns) : NULL;
    float *is = stats ? take(&b, args[5], 'f', 1, 0, "invstd", &ni) : NULL;
    if (!is || check_len(&b, "x", n, g.outer * g.c * g.inner) || check_len(&b, "y", ny, n)
        || check_len(&b, "stats", ns, 2 * g.c) || check_len(&b, "invstd", ni, g.c)
        || (w && check_len(&b, "weight", nw, g.c)) || (bias && check_len(&b, "bias", nb, g.c)))
        return fail(&b);
    float *tmp = malloc(4 * (size_t)g.c * sizeof(float));
    double *sums = calloc(2 * (size_t)g.c, sizeof(double));
    if (!tmp || !sums) {
        free(tmp);
        free(sums);
        release(&b);
        return PyErr_NoMemory();
    }
    Py_BEGIN_ALLOW_THREADS
    double m = (double)(g.outer * g.inner);
    bn_sums(x, g, sums, sums + g.c);
    for (Py_ssize_t c = 0; c < g.c; c++) {
        double k = x[g.inner == 1 ? c : c * g.inner], mk = sums[c] / m, var = sums[g.c + c] / m - mk * mk;
        stats[c] = k + mk;
        stats[g.c + c] = var < 0.0 ? 0.0 : var;                 /* rounding below 0 is clamped; NaN stays NaN */
    }
    bn_consts(stats, w, bias, is, tmp, tmp + g.c, tmp + 2 * g.c, tmp + 3 * g.c, g.c, (float)eps);
    bn_apply(x, y, g, tmp, tmp + g.c, tmp + 2 * g.c, tmp + 3 * g.c);
    Py_END_ALLOW_THREADS
    free(tmp);
    free(sums);
    release(&b);
    Py_RETURN_NONE;
}

/* sdy[c] = sum dy, sdd[c] = sum dy d (in double) */
HOT static void bn_grad_sums(const float *dy, const float *x, Chan g, const float *hi, const float *lo, double *sdy,
                             double *sdd) {
    if (g.inner == 1) {
        for (Py_ssize_t r = 0; r < g.outer; r++) {
            const float *xr = x + r * g.c, *gr = dy + r * g.c;
            SIMD for (Py_ssize_t c = 0; c < g.c; c++) {
                float d = (xr[c] - hi[c]) - lo[c];
                sdy[c] += (double)gr[c];
                sdd[c] += (double)(gr[c] * d);
            }
        }
        return;
    }
    for (Py_ssize_t c = 0; c < g.c; c++) {
        double a = 0.0, q = 0.0;
        float h = hi[c], l = lo[c];
        for (Py_ssize_t n = 0; n < g.outer; n++) {
            const float *xr = x + (n * g.c + c) * g.inner, *gr = dy + (n * g.c + c) * g.inner;
            SIMD_SUM(a, q) for (Py_ssize_t i = 0; i < g.inner; i++) {
                float d = (xr[i] - h) - l;
                a += (double)gr[i];
                q += (double)(gr[i] * d);
            }
        }
        sdy[c] = a;
        sdd[c] = q;
    }
}

/* dx = (dy - mdy - d k) * scale, per channel: mdy = mean(dy), k = invstd^2 mean(dy d), scale = invstd w */
HOT static void bn_dx(const float *dy, const float *x, float *dx, Chan g, const float *hi, const float *lo,
                      const float *mdy, const float *k, const float *scale) {
    if (g.inner == 1) {
        for (Py_ssize_t r = 0; r < g.outer; r++) {
            const float *xr = x + r * g.c, *gr = dy + r * g.c;
            float *o = dx + r * g.c;
            SIMD for (Py_ssize_t c = 0; c < g.c; c++)
                o[c] = (gr[c] - mdy[c] - ((xr[c] - hi[c]) - lo[c]) * k[c]) * scale[c];
        }
        return;
    }
    for (Py_ssize_t n = 0; n < g.outer; n++)
        for (Py_ssize_t c = 0; c < g.c; c++) {
            Py_ssize_t at = (n * g.c + c) * g.inner;
            const float *xr = x + at, *gr = dy + at;
            float *o = dx + at;
            float h = hi[c], l = lo[c], md = mdy[c], kc = k[c], s = scale[c];
            SIMD for (Py_ssize_t i = 0; i < g.inner; i++) o[i] = (gr[i] - md - ((xr[i] - h) - l) * kc) * s;
        }
}

/* batch_norm_backward(dy, x, stats (2, C) float64, invstd, w|None, dx|None, dw (C) out, db (C) out,
 * outer, C, inner): dw = sum(dy xhat), db = sum(dy), dx = w invstd (dy - db/M - xhat dw/M) */
static PyObject *k_batch_norm_backward(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Bufs b = {.held = 0, .kernel = "batch_norm_backward"};
    Chan g;
    Py_ssize_t n, nx, ns, ni, nw, ndx, ndw, ndb;
    if (check_nargs(b.kernel, nargs, 11) < 0 || bn_geom(b.kernel, args + 8, &g) < 0) return NULL;
    const float *dy = take(&b, args[0], 'f', 0, 0, "dy", &n);
    const float *x = dy ? take(&b, args[1], 'f', 0, 0, "x", &nx) : NULL;
    const double *stats = x ? take(&b, args[2], 'd', 0, 0, "stats", &ns) : NULL;
    const float *is = stats ? take(&b, args[3], 'f', 0, 0, "invstd", &ni) : NULL;
    const float *w = is ? take(&b, args[4], 'f', 0, 1, "weight", &nw) : NULL;
    float *dx = !PyErr_Occurred() ? take(&b, args[5], 'f', 1, 1, "dx", &ndx) : NULL;
    float *dw = !PyErr_Occurred() ? take(&b, args[6], 'f', 1, 0, "dw", &ndw) : NULL;
    float *db = dw ? take(&b, args[7], 'f', 1, 0, "db", &ndb) : NULL;
    if (!db || check_len(&b, "dy", n, g.outer * g.c * g.inner) || check_len(&b, "x", nx, n)
        || check_len(&b, "stats", ns, 2 * g.c) || check_len(&b, "invstd", ni, g.c)
        || (w && check_len(&b, "weight", nw, g.c)) || (dx && check_len(&b, "dx", ndx, n))
        || check_len(&b, "dw", ndw, g.c) || check_len(&b, "db", ndb, g.c))
        return fail(&b);
    float *tmp = malloc(5 * (size_t)g.c * sizeof(float));
    double *sums = calloc(2 * (size_t)g.c, sizeof(double));
    if (!tmp || !sums) {
        free(tmp);
        free(sums);
        release(&b);
        return PyErr_NoMemory();
    }
    Py_BEGIN_ALLOW_THREADS
    float *hi = tmp, *lo = tmp + g.c, *mdy = tmp + 2 * g.c, *k = tmp + 3 * g.c, *scale = tmp + 4 * g.c;
    for (Py_ssize_t c = 0; c < g.c; c++) {
        hi[c] = (float)stats[c];
        lo[c] = (float)(stats[c] - (double)hi[c]);
    }
    bn_grad_sums(dy, x, g, hi, lo, sums, sums + g.c);
    double m = (double)(g.outer * g.inner);
    for (Py_ssize_t c = 0; c < g.c; c++) {
        db[c] = (float)sums[c];
        dw[c] = (float)(sums[g.c + c] * (double)is[c]);
        mdy[c] = (float)(sums[c] / m);
        k[c] = (float)(sums[g.c + c] / m * (double)is[c] * (double)is[c]);
        scale[c] = w ? is[c] * w[c] : is[c];
    }
    if (dx) bn_dx(dy, x, dx, g, hi, lo, mdy, k, scale);
    Py_END_ALLOW_THREADS
    free(tmp);
    free(sums);
    release(&b);
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------------------------------- softmax */
/* Rows of s in place: s = s * scale + bias row (r mod bias rows), then softmax shifted by the row's max (the
 * attention's scale applied here saves a pass over q, and one over dq in backward). As the exact
 * NumPy path (ops/attention._softmax_exact): a non-finite max shifts by 0, a row summing to 0 (fully masked)
 * gives zeros. */
HOT CONTRACT static void softmax_loop(float *s, const float *bias, Py_ssize_t rows, Py_ssize_t cols, Py_ssize_t brows,
                                      float scale, Py_ssize_t first) {
    for (Py_ssize_t r = 0; r < rows; r++) {
        float *sr = s + r * cols;
        if (bias) {
            const float *br = bias + ((first + r) % brows) * cols;
            SIMD for (Py_ssize_t j = 0; j < cols; j++) sr[j] = sr[j] * scale + br[j];
        } else if (scale != 1.0f) {
            SIMD for (Py_ssize_t j = 0; j < cols; j++) sr[j] *= scale;
        }
        float mx = -INFINITY;
        int nan = 0;
        _Pragma("omp simd reduction(max: mx) reduction(|: nan)") for (Py_ssize_t j = 0; j < cols; j++) {
            mx = sr[j] > mx ? sr[j] : mx;
            nan |= sr[j] != sr[j];
        }
        if (nan) mx = NAN;
        if (!isfinite(mx)) mx = 0.0f;
        float sum = 0.0f;
        SIMD_SUM(sum) for (Py_ssize_t j = 0; j < cols; j++) {
            float e = exp_f32(sr[j] - mx);
            sr[j] = e;
            sum += e;
        }
        if (sum == 0.0f) sum = 1.0f;
        float inv = 1.0f / sum;
        SIMD for (Py_ssize_t j = 0; j < cols; j++) sr[j] = sr[j] * inv;
    }
}

/* rows [lo, hi) of k[0] columns; k[1] bias rows */
static void softmax_range(void *ctx, Py_ssize_t lo, Py_ssize_t hi, int task) {
    Job *j = ctx;
    softmax_loop(j->w[0] + lo * j->k[0], j->r[0], hi - lo, j->k[0], j->k[1], j->f[0], lo);
}

/* softmax_rows(s, bias|None, cols, scale) */
static PyObject *k_softmax_rows(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Bufs b = {.held = 0, .kernel = "softmax_rows"};
    Py_ssize_t n, nb, cols;
    if (check_nargs(b.kernel, nargs, 4) < 0 || ints(b.kernel, args + 2, 1, &cols, 1) < 0) return NULL;
    double scale = PyFloat_AsDouble(args[3]);
    if (scale == -1.0 && PyErr_Occurred()) return NULL;
    float *s = take(&b, args[0], 'f', 1, 0, "s", &n);
    const float *bias = s ? take(&b, args[1], 'f', 0, 1, "bias", &nb) : NULL;
    if (PyErr_Occurred())
        return fail(&b);
    if (n % cols || (bias && (nb == 0 || nb % cols || (n / cols) % (nb / cols)))) {
        PyErr_Format(PyExc_ValueError, "%s: s (%zd elements) and bias (%zd) are not whole rows of %zd", b.kernel, n,
                     bias ? nb : 0, cols);
        return fail(&b);
    }
    Job j = {.w = {s}, .r = {bias}, .k = {cols, bias ? nb / cols : 1}, .f = {(float)scale}};
    RUN(b, par_for(softmax_range, &j, n / cols, GRAIN_MATH / cols + 1));
    Py_RETURN_NONE;
}

HOT static void softmax_bwd_loop(float *ds, const float *p, Py_ssize_t rows, Py_ssize_t cols, float scale) {
    for (Py_ssize_t r = 0; r < rows; r++) {
        float *d = ds + r * cols;
        const float *pr = p + r * cols;
        float dot = 0.0f;
        SIMD_SUM(dot) for (Py_ssize_t j = 0; j < cols; j++) dot += d[j] * pr[j];
        SIMD for (Py_ssize_t j = 0; j < cols; j++) d[j] = pr[j] * (d[j] - dot) * scale;
    }
}

static void softmax_bwd_range(void *ctx, Py_ssize_t lo, Py_ssize_t hi, int task) {
    Job *j = ctx;
    softmax_bwd_loop(j->w[0] + lo * j->k[0], j->r[0] + lo * j->k[0], hi - lo, j->k[0], j->f[0]);
}

/* softmax_backward_rows(ds, p, cols, scale): ds = p * (ds - rowsum(ds * p)) * scale, in place (scale: the forward's,
 * so that ds is the gradient of the unscaled scores q k^T). */
static PyObject *k_softmax_backward_rows(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Bufs b = {.held = 0, .kernel = "softmax_backward_rows"};
    Py_ssize_t n, np_, cols;
    if (check_nargs(b.kernel, nargs, 4) < 0 || ints(b.kernel, args + 2, 1, &cols, 1) < 0) return NULL;
    double scale = PyFloat_AsDouble(args[3]);
    if (scale == -1.0 && PyErr_Occurred()) return NULL;
    float *ds = take(&b, args[0], 'f', 1, 0, "ds", &n);
    const float *p = ds ? take(&b, args[1], 'f', 0, 0, "p", &np_) : NULL;
    if (!p || check_len(&b, "p", np_, n) || n % cols) {
        if (!PyErr_Occurred())
            PyErr_Format(PyExc_ValueError, "%s: %zd elements are not whole rows of %zd", b.kernel, n, cols);
        return fail(&b);
    }
    Job j = {.w = {ds}, .r = {p}, .k = {cols}, .f = {(float)scale}};
    RUN(b, par_for(softmax_bwd_range, &j, n / cols, GRAIN / cols + 1));
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------------------------- cross-entropy */
/* Per row r of x (rows, cols): p_r = softmax(x_r), and loss_r = log sum exp(x_r - max_r) - (x_r[t_r] - max_r).
 * Returns 0 with the sum of the row losses (in double) in *total, or -1 as soon as a target lies outside
 * [0, cols): the op then takes its NumPy path, which handles ignore_index and raises the error. */
HOT static int ce_fwd_loop(const float *x, const int64_t *t, float *p, Py_ssize_t rows, Py_ssize_t cols,
                           double *total) {
    double sum = 0.0;
    for (Py_ssize_t r = 0; r < rows; r++) {
        int64_t k = t[r];
        if (k < 0 || k >= cols) return -1;
        const float *xr = x + r * cols;
        float *pr = p + r * cols;
        float mx = xr[0];
        for (Py_ssize_t j = 1; j < cols; j++)
            mx = xr[j] > mx ? xr[j] : mx;
        float se = 0.0f;
        SIMD_SUM(se) for (Py_ssize_t j = 0; j < cols; j++) {
            float e = exp_f32(xr[j] - mx);
            pr[j] = e;
            se += e;
        }
        float inv = 1.0f / se;
        SIMD for (Py_ssize_t j = 0; j < cols; j++) pr[j] = pr[j] * inv;
        sum += (double)logf(se) - (double)(xr[k] - mx);
    }
    *total = sum;
    return 0;
}

/* cross_entropy_forward(x, target, p, cols) -> the sum of the rows' losses (float), or None when a target is
 * outside [0, cols) (p is then partly written). target: int64, one per row. */
static PyObject *k_cross_entropy_forward(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Bufs b = {.held = 0, .kernel = "cross_entropy_forward"};
    Py_ssize_t n, nt, np_, cols;
    if (check_nargs(b.kernel, nargs, 4) < 0 || ints(b.kernel, args + 3, 1, &cols, 1) < 0) return NULL;
    const float *x = take(&b, args[0], 'f', 0, 0, "x", &n);
    const int64_t *t = x ? take(&b, args[1], 'q', 0, 0, "target", &nt) : NULL;
    float *p = t ? take(&b, args[2], 'f', 1, 0, "p", &np_) : NULL;
    if (!p || check_len(&b, "p", np_, n) || check_len(&b, "target", nt, n / cols) || n % cols) {
        if (!PyErr_Occurred())
            PyErr_Format(PyExc_ValueError, "%s: %zd elements are not whole rows of %zd", b.kernel, n, cols);
        return fail(&b);
    }
    double total = 0.0;
    int status;
    RUN(b, status = ce_fwd_loop(x, t, p, n / cols, cols, &total));
    if (status < 0) Py_RETURN_NONE;
    return PyFloat_FromDouble(total);
}

HOT static void ce_bwd_loop(const float *p, const int64_t *t, float *dx, Py_ssize_t rows, Py_ssize_t cols, float g) {
    SIMD for (Py_ssize_t i = 0; i < rows * cols; i++) dx[i] = p[i] * g;
    for (Py_ssize_t r = 0; r < rows; r++)
        dx[r * cols + t[r]] -= g;
}

/* cross_entropy_backward(p, target, dx, g, cols): dx = g (p - one_hot(target)), every target in [0, cols). */
static PyObject *k_cross_entropy_backward(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Bufs b = {.held = 0, .kernel = "cross_entropy_backward"};
    Py_ssize_t n, nt, nd, cols;
    if (check_nargs(b.kernel, nargs, 5) < 0 || ints(b.kernel, args + 4, 1, &cols, 1) < 0) return NULL;
    double g = PyFloat_AsDouble(args[3]);
    if (PyErr_Occurred()) return NULL;
    const float *p = take(&b, args[0], 'f', 0, 0, "p", &n);
    const int64_t *t = p ? take(&b, args[1], 'q', 0, 0, "target", &nt) : NULL;
    float *dx = t ? take(&b, args[2], 'f', 1, 0, "dx", &nd) : NULL;
    if (!dx || check_len(&b, "dx", nd, n) || check_len(&b, "target", nt, n / cols) || n % cols) {
        if (!PyErr_Occurred())
            PyErr_Format(PyExc_ValueError, "%s: %zd elements are not whole rows of %zd", b.kernel, n, cols);
        return fail(&b);
    }
    for (Py_ssize_t r = 0; r < nt; r++) {
        if (t[r] < 0 || t[r] >= cols) {
            PyErr_Format(PyExc_IndexError, "%s: target[%zd] = %lld is outside [0, %zd)", b.kernel, r, (long long)t[r],
                         cols);
            return fail(&b);
        }
    }
    RUN(b, ce_bwd_loop(p, t, dx, n / cols, cols, (float)g));
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------------------------- pooling, NHWC */
typedef struct {
    Py_ssize_t n, hp, wp, c, ho, wo, kh, kw, sh, sw, dh, dw;
} PoolGeom;

/* geometry args: n, hp, wp, c, ho, wo, kh, kw, sh, sw, dh, dw (hp, wp: the padded input) */
static int pool_geom(const char *kernel, PyObject *const *args, PoolGeom *g) {
    Py_ssize_t v[12];
    if (ints(kernel, args, 12, v, 1) < 0) return -1;
    *g = (PoolGeom){v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11]};
    if ((g->ho - 1) * g->sh + (g->kh - 1) * g->dh >= g->hp || (g->wo - 1) * g->sw + (g->kw - 1) * g->dw >= g->wp) {
        PyErr_Format(PyExc_ValueError, "%s: windows reach outside the (%zd, %zd) input", kernel, g->hp, g->wp);
        return -1;
    }
    return 0;
}

/* Max over each window, per channel; arg = the tap (i * kw + j) of the first max, NaN counting as the max
 * (the last NaN wins), as ops/conv.MaxPool2d. */
HOT static void maxpool_fwd_loop(const float *x, float *y, int16_t *arg, PoolGeom g) {
    for (Py_ssize_t n = 0; n < g.n; n++)
        for (Py_ssize_t oh = 0; oh < g.ho; oh++)
            for (Py_ssize_t ow = 0; ow < g.wo; ow++) {
                Py_ssize_t o = ((n * g.ho + oh) * g.wo + ow) * g.c;
                float *best = y + o;
                int16_t *a = arg + o;
                const float *first = x + ((n * g.hp + oh * g.sh) * g.wp + ow * g.sw) * g.c;
                SIMD for (Py_ssize_t c = 0; c < g.c; c++) {
                    best[c] = first[c];
                    a[c] = 0;
                }
                for (Py_ssize_t i = 0; i < g.kh; i++)
                    for (Py_ssize_t j = 0; j < g.kw; j++) {
                        if (i == 0 && j == 0) continue;
                        const float *v = first + (i * g.dh * g.wp + j * g.dw) * g.c;
                        int16_t t = (int16_t)(i * g.kw + j);
                        SIMD for (Py_ssize_t c = 0; c < g.c; c++) {
                            int take_it = v[c] > best[c] || v[c] != v[c];
                            best[c] = take_it ? v[c] : best[c];
                            a[c] = take_it ? t : a[c];
                        }
                    }
            }
}

/* The NHWC window kernels over images [lo, hi): g.n becomes the range's count, the arrays start at image lo. */
static PoolGeom images(PoolGeom g, Py_ssize_t lo, Py_ssize_t hi) {
    g.n = hi - lo;
    return g;
}

typedef struct {
    const float *x;
    float *y;
    int16_t *arg;
    PoolGeom g;
    Py_ssize_t o_n, opad;
    const float *w, *bias;
    const Py_ssize_t *off;
    int overwrite;
} WinJob;

static void maxpool_fwd_range(void *ctx, Py_ssize_t lo, Py_ssize_t hi, int task) {
    WinJob *j = ctx;
    Py_ssize_t in = j->g.hp * j->g.wp * j->g.c, out = j->g.ho * j->g.wo * j->g.c;
    maxpool_fwd_loop(j->x + lo * in, j->y + lo * out, j->arg + lo * out, images(j->g, lo, hi));
}

/* maxpool2d_forward(x (N, Hp, Wp, C), y (N, ho, wo, C), arg int16 (N, ho, wo, C), *geometry) */
static PyObject *k_maxpool2d_forward(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Bufs b = {.held = 0, .kernel = "maxpool2d_forward"};
    PoolGeom g;
    Py_ssize_t nx, ny, na;
    if (check_nargs(b.kernel, nargs, 15) < 0 || pool_geom(b.kernel, args + 3, &g) < 0) return NULL;
    if (g.kh * g.kw > 32767) return PyErr_Format(PyExc_ValueError, "%s: more than 32767 taps", b.kernel);
    const float *x = take(&b, args[0], 'f', 0, 0, "x", &nx);
    float *y = x ? take(&b, args[1], 'f', 1, 0, "y", &ny) : NULL;
    int16_t *arg = y ? take(&b, args[2], 'h', 1, 0, "arg", &na) : NULL;
    Py_ssize_t out = g.n * g.ho * g.wo * g.c;
    if (!arg || check_len(&b, "x", nx, g.n * g.hp * g.wp * g.c) || check_len(&b, "y", ny, out)
        || check_len(&b, "arg", na, out))
        return fail(&b);
    WinJob j = {.x = x, .y = y, .arg = arg, .g = g};
    RUN(b, par_for(maxpool_fwd_range, &j, g.n, GRAIN / (g.hp * g.wp * g.c) + 1));
    Py_RETURN_NONE;
}

/* off: each tap's offset from its window's corner */
HOT static void maxpool_bwd_loop(const float *dy, const int16_t *arg, float *dx, PoolGeom g, int overwrite,
                                 const Py_ssize_t *off) {
    Py_ssize_t taps = g.kh * g.kw;
    for (Py_ssize_t n = 0; n < g.n; n++)
        for (Py_ssize_t oh = 0; oh < g.ho; oh++)
            for (Py_ssize_t ow = 0; ow < g.wo; ow++) {
                Py_ssize_t o = ((n * g.ho + oh) * g.wo + ow) * g.c;
                const float *d = dy + o;
                const int16_t *a = arg + o;
                float *base = dx + ((n * g.hp + oh * g.sh) * g.wp + ow * g.sw) * g.c;
                if (overwrite) {                               /* windows tile dx: each cell written once */
                    for (Py_ssize_t t = 0; t < taps; t++) {
                        float *cell = base + off[t];
                        SIMD for (Py_ssize_t c = 0; c < g.c; c++) cell[c] = a[c] == t ? d[c] : 0.0f;
                    }
                } else {
                    for (Py_ssize_t c = 0; c < g.c; c++) base[off[a[c]] + c] += d[c];
                }
            }
}

/* x: dy, y: dx (each image's dx takes only its own image's dy) */
static void maxpool_bwd_range(void *ctx, Py_ssize_t lo, Py_ssize_t hi, int task) {
    WinJob *j = ctx;
    Py_ssize_t in = j->g.hp * j->g.wp * j->g.c, out = j->g.ho * j->g.wo * j->g.c;
    maxpool_bwd_loop(j->x + lo * out, j->arg + lo * out, j->y + lo * in, images(j->g, lo, hi), j->overwrite, j->off);
}

/* maxpool2d_backward(dy (N, ho, wo, C), arg, dx (N, Hp, Wp, C), overwrite, *geometry): dx += dy at each argmax.
 * overwrite = 1 (only where the windows tile dx exactly: kernel = stride, no dilation, ho * sh = Hp,
 * wo * sw = Wp) writes every cell of dx, so it need not be zeroed; else dx must come zeroed (or accumulating). */
static PyObject *k_maxpool2d_backward(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Bufs b = {.held = 0, .kernel = "maxpool2d_backward"};
    PoolGeom g;
    Py_ssize_t ny, na, nx, overwrite;
    if (check_nargs(b.kernel, nargs, 16) < 0 || ints(b.kernel, args + 3, 1, &overwrite, 0) < 0
        || pool_geom(b.kernel, args + 4, &g) < 0)
        return NULL;
    if (overwrite && !(g.kh == g.sh && g.kw == g.sw && g.dh == 1 && g.dw == 1 && g.ho * g.sh == g.hp
                       && g.wo * g.sw == g.wp))
        return PyErr_Format(PyExc_ValueError, "%s: overwrite needs windows that tile the input exactly", b.kernel);
    const float *dy = take(&b, args[0], 'f', 0, 0, "dy", &ny);
    const int16_t *arg = dy ? take(&b, args[1], 'h', 0, 0, "arg", &na) : NULL;
    float *dx = arg ? take(&b, args[2], 'f', 1, 0, "dx", &nx) : NULL;
    Py_ssize_t out = g.n * g.ho * g.wo * g.c;
    if (!dx || check_len(&b, "dy", ny, out) || check_len(&b, "arg", na, out)
        || check_len(&b, "dx", nx, g.n * g.hp * g.wp * g.c))
        return fail(&b);
    for (Py_ssize_t i = 0; i < na; i++)
        if (arg[i] < 0 || arg[i] >= g.kh * g.kw) {
            release(&b);
            return PyErr_Format(PyExc_ValueError, "%s: arg holds tap %d, outside 0..%zd", b.kernel, arg[i],
                                g.kh * g.kw - 1);
        }
    Py_ssize_t *off = malloc(sizeof(Py_ssize_t) * (size_t)(g.kh * g.kw));
    if (!off) {
        release(&b);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t t = 0; t < g.kh * g.kw; t++)
        off[t] = ((t / g.kw) * g.dh * g.wp + (t % g.kw) * g.dw) * g.c;
    WinJob j = {.x = dy, .y = dx, .arg = (int16_t *)arg, .g = g, .off = off, .overwrite = (int)overwrite};
    Py_BEGIN_ALLOW_THREADS
    par_for(maxpool_bwd_range, &j, g.n, GRAIN / (g.hp * g.wp * g.c) + 1);
    Py_END_ALLOW_THREADS
    free(off);
    release(&b);
    Py_RETURN_NONE;
}

/* ---------------------------------------------------------------------------------- im2col / col2im */
/* cols (N, ho, wo, kh, kw, C) from the padded NHWC x, and back (col2im adds each column into its cell). */
HOT static void im2col_loop(const float *x, float *cols, PoolGeom g) {
    for (Py_ssize_t n = 0; n < g.n; n++)
        for (Py_ssize_t oh = 0; oh < g.ho; oh++)
            for (Py_ssize_t ow = 0; ow < g.wo; ow++) {
                float *col = cols + ((n * g.ho + oh) * g.wo + ow) * g.kh * g.kw * g.c;
                const float *first = x + ((n * g.hp + oh * g.sh) * g.wp + ow * g.sw) * g.c;
                for (Py_ssize_t i = 0; i < g.kh; i++)
                    for (Py_ssize_t j = 0; j < g.kw; j++) {
                        const float *v = first + (i * g.dh * g.wp + j * g.dw) * g.c;
                        float *d = col + (i * g.kw + j) * g.c;
                        SIMD for (Py_ssize_t c = 0; c < g.c; c++) d[c] = v[c];
                    }
            }
}

HOT static void col2im_loop(const float *cols, float *x, PoolGeom g) {
    for (Py_ssize_t n = 0; n < g.n; n++)
        for (Py_ssize_t oh = 0; oh < g.ho; oh++)
            for (Py_ssize_t ow = 0; ow < g.wo; ow++) {
                const float *col = cols + ((n * g.ho + oh) * g.wo + ow) * g.kh * g.kw * g.c;
                float *first = x + ((n * g.hp + oh * g.sh) * g.wp + ow * g.sw) * g.c;
                for (Py_ssize_t i = 0; i < g.kh; i++)
                    for (Py_ssize_t j = 0; j < g.kw; j++) {
                        float *d = first + (i * g.dh * g.wp + j * g.dw) * g.c;
                        const float *v = col + (i * g.kw + j) * g.c;
                        SIMD for (Py_ssize_t c = 0; c < g.c; c++) d[c] += v[c];
                    }
            }
}

/* x: the image (read by im2col, added into by col2im), y: the columns; overwrite: 1 for col2im */
static void cols_range(void *ctx, Py_ssize_t lo, Py_ssize_t hi, int task) {
    WinJob *j = ctx;
    Py_ssize_t in = j->g.hp * j->g.wp * j->g.c, out = j->g.ho * j->g.wo * j->g.kh * j->g.kw * j->g.c;
    if (j->overwrite)
        col2im_loop(j->y + lo * out, (float *)j->x + lo * in, images(j->g, lo, hi));
    else
        im2col_loop(j->x + lo * in, j->y + lo * out, images(j->g, lo, hi));
}

static PyObject *cols_kernel(const char *name, int back, PyObject *const *args, Py_ssize_t nargs) {
    Bufs b = {.held = 0, .kernel = name};
    PoolGeom g;
    Py_ssize_t nx, nc;
    if (check_nargs(b.kernel, nargs, 14) < 0 || pool_geom(b.kernel, args + 2, &g) < 0) return NULL;
    float *x = take(&b, args[0], 'f', back, 0, "x", &nx);
    float *cols = x ? take(&b, args[1], 'f', !back, 0, "cols", &nc) : NULL;
    if (!cols || check_len(&b, "x", nx, g.n * g.hp * g.wp * g.c)
        || check_len(&b, "cols", nc, g.n * g.ho * g.wo * g.kh * g.kw * g.c))
        return fail(&b);
    WinJob j = {.x = x, .y = cols, .g = g, .overwrite = back};
    Py_BEGIN_ALLOW_THREADS
    par_for(cols_range, &j, g.n, GRAIN / (g.ho * g.wo * g.kh * g.kw * g.c) + 1);
    Py_END_ALLOW_THREADS
    release(&b);
    Py_RETURN_NONE;
}

/* im2col(x (N, Hp, Wp, C), cols (N, ho, wo, kh, kw, C), *geometry) */
static PyObject *k_im2col(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    return cols_kernel("im2col", 0, args, nargs);
}

/* col2im(dx (N, Hp, Wp, C) to add into, cols (N, ho, wo, kh, kw, C), *geometry) */
static PyObject *k_col2im(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    return cols_kernel("col2im", 1, args, nargs);
}

/* ------------------------------------------------------------------------------ direct convolution */
/* A conv whose window holds few values (K = kh * kw * C, a first layer on 1-3 channels) computed straight from the
 * padded NHWC input: im2col would write K values per output pixel for a GEMM of depth K, several passes over
 * memory for a few multiply-adds each. Weights come as (K, O), K in (i, j, c) order as the cols of ops/conv.py. */
#define CONV_OB 16          /* output channels per register block */
#define CONV_PB 4           /* output pixels per block: independent accumulator chains */

/* off[t]: the offset of tap t = (i, j, c) from its window's first value */
static void conv_offsets(PoolGeom g, Py_ssize_t *off) {
    Py_ssize_t t = 0;
    for (Py_ssize_t i = 0; i < g.kh; i++)
        for (Py_ssize_t j = 0; j < g.kw; j++)
            for (Py_ssize_t c = 0; c < g.c; c++) off[t++] = (i * g.dh * g.wp + j * g.dw) * g.c + c;
}

/* y (N, ho, wo, O) = conv(x) + bias; wp: the weights packed as (K, opad), zero beyond O; bias: opad values. */
HOT CONTRACT static void conv_small_fwd_loop(const float *x, const float *wp, const float *bias, float *y, PoolGeom g,
                                             Py_ssize_t o_n, Py_ssize_t opad, const Py_ssize_t *off) {
    Py_ssize_t k = g.kh * g.kw * g.c;
    for (Py_ssize_t n = 0; n < g.n; n++)
        for (Py_ssize_t oh = 0; oh < g.ho; oh++) {
            const float *row = x + (n * g.hp + oh * g.sh) * g.wp * g.c;
            float *yrow = y + (n * g.ho + oh) * g.wo * o_n;
            for (Py_ssize_t ob = 0; ob < opad; ob += CONV_OB)
                for (Py_ssize_t ow = 0; ow < g.wo; ow += CONV_PB) {
                    float acc[CONV_PB][CONV_OB];
                    const float *px[CONV_PB];
                    for (int p = 0; p < CONV_PB; p++) {         /* past the row's end: repeat its last pixel */
                        Py_ssize_t q = ow + p < g.wo ? ow + p : g.wo - 1;
                        px[p] = row + q * g.sw * g.c;
                        SIMD for (int o = 0; o < CONV_OB; o++) acc[p][o] = bias[ob + o];
                    }
                    for (Py_ssize_t t = 0; t < k; t++) {
                        const float *w = wp + t * opad + ob;
                        for (int p = 0; p < CONV_PB; p++) {
                            float v = px[p][off[t]];
                            SIMD for (int o = 0; o < CONV_OB; o++) acc[p][o] += v * w[o];
                        }
                    }
                    Py_ssize_t on = o_n - ob < CONV_OB ? o_n - ob : CONV_OB;
                    for (int p = 0; p < CONV_PB && ow + p < g.wo; p++)
                        memcpy(yrow + (ow + p) * o_n + ob, acc[p], sizeof(float) * (size_t)on);
                }
        }
}

/* dw (K, O) = sum over output pixels of window(x) dy, one image at a time (its pixels' windows start at base[q]):
 * CONV_TB taps by CONV_OB output channels held in registers over the image's pixels (a block past the last tap
 * repeats it and is dropped), in float32, then added up in double (sum). A last block of fewer channels takes
 * the plain loop. */
#define CONV_TB 8
HOT CONTRACT static void conv_small_dw_loop(const float *x, const float *dy, float *dw, PoolGeom g, Py_ssize_t o_n,
                                            const Py_ssize_t *off, Py_ssize_t *base, double *sum) {
    Py_ssize_t k = g.kh * g.kw * g.c, hw = g.ho * g.wo;
    for (Py_ssize_t q = 0; q < hw; q++) base[q] = ((q / g.wo) * g.sh * g.wp + (q % g.wo) * g.sw) * g.c;
    for (Py_ssize_t i = 0; i < k * o_n; i++) sum[i] = 0.0;
    for (Py_ssize_t n = 0; n < g.n; n++) {
        const float *img = x + n * g.hp * g.wp * g.c, *d = dy + n * hw * o_n;
        for (Py_ssize_t ob = 0; ob < o_n; ob += CONV_OB) {
            Py_ssize_t on = o_n - ob < CONV_OB ? o_n - ob : CONV_OB;
            for (Py_ssize_t tb = 0; tb < k; tb += CONV_TB) {
                float acc[CONV_TB][CONV_OB] = {{0.0f}};
                Py_ssize_t to[CONV_TB];
                for (int u = 0; u < CONV_TB; u++) to[u] = off[tb + u < k ? tb + u : k - 1];
                if (on == CONV_OB) {
                    for (Py_ssize_t q = 0; q < hw; q++) {
                        const float *win = img + base[q], *dq = d + q * o_n + ob;
                        for (int u = 0; u < CONV_TB; u++) {
                            float v = win[to[u]];
                            SIMD for (int o = 0; o < CONV_OB; o++) acc[u][o] += v * dq[o];
                        }
                    }
                } else {
                    for (Py_ssize_t q = 0; q < hw; q++) {
                        const float *win = img + base[q], *dq = d + q * o_n + ob;
                        for (int u = 0; u < CONV_TB; u++) {
                            float v = win[to[u]];
                            for (Py_ssize_t o = 0; o < on; o++) acc[u][o] += v * dq[o];
                        }
                    }
                }
                for (int u = 0; u < CONV_TB && tb + u < k; u++)
                    for (Py_ssize_t o = 0; o < on; o++) sum[(tb + u) * o_n + ob + o] += acc[u][o];
            }
        }
    }
    for (Py_ssize_t i = 0; i < k * o_n; i++) dw[i] = (float)sum[i];
}

/* Common arguments of the two: x (N, Hp, Wp, C), w or dw (K, O) with K = kh * kw * C, then O and the geometry. */
static int conv_small_args(Bufs *b, PyObject *const *args, Py_ssize_t nargs, Py_ssize_t at, PoolGeom *g,
                           Py_ssize_t *o_n) {
    if (check_nargs(b->kernel, nargs, at + 13) < 0 || ints(b->kernel, args + at, 1, o_n, 1) < 0
        || pool_geom(b->kernel, args + at + 1, g) < 0)
        return -1;
    return 0;
}

static void conv_small_range(void *ctx, Py_ssize_t lo, Py_ssize_t hi, int task) {
    WinJob *j = ctx;
    Py_ssize_t in = j->g.hp * j->g.wp * j->g.c, out = j->g.ho * j->g.wo * j->o_n;
    conv_small_fwd_loop(j->x + lo * in, j->w, j->bias, j->y + lo * out, images(j->g, lo, hi), j->o_n, j->opad, j->off);
}

/* conv_small_forward(x (N, Hp, Wp, C), w (K, O), b (O)|None, y (N, ho, wo, O), O, *geometry) */
static PyObject *k_conv_small_forward(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Bufs b = {.held = 0, .kernel = "conv_small_forward"};
    PoolGeom g;
    Py_ssize_t o_n, nx, nw, nb, ny;
    if (conv_small_args(&b, args, nargs, 4, &g, &o_n) < 0) return NULL;
    Py_ssize_t k = g.kh * g.kw * g.c, opad = (o_n + CONV_OB - 1) / CONV_OB * CONV_OB;
    const float *x = take(&b, args[0], 'f', 0, 0, "x", &nx);
    const float *w = x ? take(&b, args[1], 'f', 0, 0, "w", &nw) : NULL;
    const float *bias = w ? take(&b, args[2], 'f', 0, 1, "b", &nb) : NULL;
    float *y = w && !PyErr_Occurred() ? take(&b, args[3], 'f', 1, 0, "y", &ny) : NULL;
    if (!y || check_len(&b, "x", nx, g.n * g.hp * g.wp * g.c) || check_len(&b, "w", nw, k * o_n)
        || (bias && check_len(&b, "b", nb, o_n)) || check_len(&b, "y", ny, g.n * g.ho * g.wo * o_n))
        return fail(&b);
    float *wp = calloc((size_t)((k + 1) * opad), sizeof(float));          /* packed weights, then the bias row */
    Py_ssize_t *off = malloc(sizeof(Py_ssize_t) * (size_t)k);
    if (!wp || !off) {
        free(wp);
        free(off);
        release(&b);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t t = 0; t < k; t++) memcpy(wp + t * opad, w + t * o_n, sizeof(float) * (size_t)o_n);
    if (bias) memcpy(wp + k * opad, bias, sizeof(float) * (size_t)o_n);
    conv_offsets(g, off);
    WinJob j = {.x = x, .y = y, .g = g, .o_n = o_n, .opad = opad, .w = wp, .bias = wp + k * opad, .off = off};
    Py_BEGIN_ALLOW_THREADS
    par_for(conv_small_range, &j, g.n, GRAIN / (g.ho * g.wo * o_n) + 1);
    Py_END_ALLOW_THREADS
    free(wp);
    free(off);
    release(&b);
    Py_RETURN_NONE;
}

/* conv_small_dweight(x (N, Hp, Wp, C), dy (N, ho, wo, O), dw (K, O) out, O, *geometry) */
static PyObject *k_conv_small_dweight(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Bufs b = {.held = 0, .kernel = "conv_small_dweight"};
    PoolGeom g;
    Py_ssize_t o_n, nx, ny, nw;
    if (conv_small_args(&b, args, nargs, 3, &g, &o_n) < 0) return NULL;
    Py_ssize_t k = g.kh * g.kw * g.c;
    const float *x = take(&b, args[0], 'f', 0, 0, "x", &nx);
    const float *dy = x ? take(&b, args[1], 'f', 0, 0, "dy", &ny) : NULL;
    float *dw = dy ? take(&b, args[2], 'f', 1, 0, "dw", &nw) : NULL;
    if (!dw || check_len(&b, "x", nx, g.n * g.hp * g.wp * g.c) || check_len(&b, "dy", ny, g.n * g.ho * g.wo * o_n)
        || check_len(&b, "dw", nw, k * o_n))
        return fail(&b);
    Py_ssize_t *base = malloc(sizeof(Py_ssize_t) * (size_t)(g.ho * g.wo));
    double *sum = malloc(sizeof(double) * (size_t)(k * o_n));
    Py_ssize_t *off = malloc(sizeof(Py_ssize_t) * (size_t)k);
    if (!base || !sum || !off) {
        free(base);
        free(sum);
        free(off);
        release(&b);
        return PyErr_NoMemory();
    }
    conv_offsets(g, off);
    Py_BEGIN_ALLOW_THREADS
    conv_small_dw_loop(x, dy, dw, g, o_n, off, base, sum);
    Py_END_ALLOW_THREADS
    free(base);
    free(sum);
    free(off);
    release(&b);
    Py_RETURN_NONE;
}

/* -------------------------------------------------------------------------------------------- ReLU */
HOT static void relu_fwd_loop(const float *x, float *y, Py_ssize_t n) {
    SIMD for (Py_ssize_t i = 0; i < n; i++) y[i] = x[i] > 0.0f || x[i] != x[i] ? x[i] : 0.0f;
}

static void relu_fwd_range(void *ctx, Py_ssize_t lo, Py_ssize_t hi, int task) {
    Job *j = ctx;
    relu_fwd_loop(j->r[0] + lo, j->w[0] + lo, hi - lo);
}

/* relu_forward(x, y): y = max(x, 0), a NaN stays NaN (as NumPy's maximum) */
static PyObject *k_relu_forward(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Bufs b = {.held = 0, .kernel = "relu_forward"};
    Py_ssize_t n, ny;
    if (check_nargs(b.kernel, nargs, 2) < 0) return NULL;
    const float *x = take(&b, args[0], 'f', 0, 0, "x", &n);
    float *y = x ? take(&b, args[1], 'f', 1, 0, "y", &ny) : NULL;
    if (!y || check_len(&b, "y", ny, n))
        return fail(&b);
    Job j = {.w = {y}, .r = {x}};
    RUN(b, par_for(relu_fwd_range, &j, n, GRAIN));
    Py_RETURN_NONE;
}

HOT static void relu_bwd_loop(const float *dy, const float *y, float *dx, Py_ssize_t n) {
    SIMD for (Py_ssize_t i = 0; i < n; i++) dx[i] = dy[i] * (float)(y[i] > 0.0f);
}

static void relu_bwd_range(void *ctx, Py_ssize_t lo, Py_ssize_t hi, int task) {
    Job *j = ctx;
    relu_bwd_loop(j->r[0] + lo, j->r[1] + lo, j->w[0] + lo, hi - lo);
}

/* relu_backward(dy, y, dx): dx = dy * (y > 0) (a NaN in dy stays NaN, as the NumPy multiply) */
static PyObject *k_relu_backward(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Bufs b = {.held = 0, .kernel = "relu_backward"};
    Py_ssize_t n, ny, nx;
    if (check_nargs(b.kernel, nargs, 3) < 0) return NULL;
    const float *dy = take(&b, args[0], 'f', 0, 0, "dy", &n);
    const float *y = dy ? take(&b, args[1], 'f', 0, 0, "y", &ny) : NULL;
    float *dx = y ? take(&b, args[2], 'f', 1, 0, "dx", &nx) : NULL;
    if (!dx || check_len(&b, "y", ny, n) || check_len(&b, "dx", nx, n))
        return fail(&b);
    Job j = {.w = {dx}, .r = {dy, y}};
    RUN(b, par_for(relu_bwd_range, &j, n, GRAIN));
    Py_RETURN_NONE;
}

/* -------------------------------------------------------------------------------------------- LSTM */
/* One forward step: a (N, 4, H) input projections plus rec, the recurrent GEMM's part (the sigmoid gates'
 * z already halved, ops/recurrent.LSTMLayer), replaced by the activations i, f, g, o; then
 * c = f c_prev + i g, tc = tanh(c), h = o tc. */
HOT static void lstm_fwd_loop(float *a, const float *rec, const float *bias, const float *c_prev, float *c, float *tc,
                              float *h, Py_ssize_t n, Py_ssize_t hid, Py_ssize_t j0, Py_ssize_t j1) {
    for (Py_ssize_t r = 0; r < n; r++) {
        float *ai = a + r * 4 * hid, *af = ai + hid, *ag = af + hid, *ao = ag + hid;
        const float *ri = rec ? rec + r * 4 * hid : NULL, *rf = ri ? ri + hid : NULL, *rg = rf ? rf + hid : NULL,
                    *ro = rg ? rg + hid : NULL;
        const float *bi = bias, *bf = bi ? bi + hid : NULL, *bg = bf ? bf + hid : NULL, *bo = bg ? bg + hid : NULL;
        float *cr = c + r * hid, *tr = tc + r * hid, *hr = h + r * hid;
        const float *pr = c_prev ? c_prev + r * hid : NULL;
        SIMD for (Py_ssize_t j = j0; j < j1; j++) {
            /* (a + bias) + rec: the order of the path that adds the bias to a beforehand */
            float zi = bi ? ai[j] + bi[j] : ai[j], zf = bf ? af[j] + bf[j] : af[j];
            float zg = bg ? ag[j] + bg[j] : ag[j], zo = bo ? ao[j] + bo[j] : ao[j];
            zi = ri ? zi + ri[j] : zi, zf = rf ? zf + rf[j] : zf;
            zg = rg ? zg + rg[j] : zg, zo = ro ? zo + ro[j] : zo;
            float i = sigmoid_f32(2.0f * zi), f = sigmoid_f32(2.0f * zf);          /* the z were halved */
            float gg = tanh_f32(zg), o = sigmoid_f32(2.0f * zo);
            ai[j] = i;
            af[j] = f;
            ag[j] = gg;
            ao[j] = o;
            float cj = pr ? f * pr[j] + i * gg : i * gg;
            float t = tanh_f32(cj);
            cr[j] = cj;
            tr[j] = t;
            hr[j] = o * t;
        }
    }
}

/* The cell over hidden units [lo, hi) of every row: k[0] rows of k[1] units (r: rec, c_prev, and a bias row of
 * 4 k[1] values added to every row, or NULL). */
static void lstm_fwd_range(void *ctx, Py_ssize_t lo, Py_ssize_t hi, int task) {
    Job *j = ctx;
    lstm_fwd_loop(j->w[0], j->r[0], j->r[2], j->r[1], j->w[1], j->w[2], j->w[3], j->k[0], j->k[1], lo, hi);
}

/* lstm_cell_forward(a (N, 4H), rec (N, 4H)|None, c_prev (N, H)|None, c, tc, h (N, H), H): rec (the recurrent
 * GEMM's h_{t-1} W_hh^T) is added to a first */
static PyObject *k_lstm_cell_forward(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Bufs b = {.held = 0, .kernel = "lstm_cell_forward"};
    Py_ssize_t na, nr, np_, nc, nt, nh, hid;
    if (check_nargs(b.kernel, nargs, 7) < 0 || ints(b.kernel, args + 6, 1, &hid, 1) < 0) return NULL;
    float *a = take(&b, args[0], 'f', 1, 0, "a", &na);
    const float *rec = a ? take(&b, args[1], 'f', 0, 1, "rec", &nr) : NULL;
    const float *cp = !PyErr_Occurred() ? take(&b, args[2], 'f', 0, 1, "c_prev", &np_) : NULL;
    float *c = !PyErr_Occurred() ? take(&b, args[3], 'f', 1, 0, "c", &nc) : NULL;
    float *tc = c ? take(&b, args[4], 'f', 1, 0, "tc", &nt) : NULL;
    float *h = tc ? take(&b, args[5], 'f', 1, 0, "h", &nh) : NULL;
    Py_ssize_t n = na / (4 * hid);
    if (!h || na % (4 * hid) || (rec && check_len(&b, "rec", nr, na)) || (cp && check_len(&b, "c_prev", np_, n * hid))
        || check_len(&b, "c", nc, n * hid)
        || check_len(&b, "tc", nt, n * hid) || check_len(&b, "h", nh, n * hid)) {
        if (!PyErr_Occurred())
            PyErr_Format(PyExc_ValueError, "%s: a has %zd elements, not rows of 4 * %zd", b.kernel, na, hid);
        return fail(&b);
    }
    Job j = {.w = {a, c, tc, h}, .r = {rec, cp}, .k = {n, hid}};
    RUN(b, par_for(lstm_fwd_range, &j, hid, GRAIN_CELL / n + 1));
    Py_RETURN_NONE;
}

/* One backward step, from what forward kept: dh = dh_out + dh_rec; dc += dh o (1 - tanh(c)^2);
 * dz = [dc g i', dc c_prev f', dc i g', dh tanh(c) o'] with s' = s (1 - s) and g' = 1 - g^2, in the NumPy path's
 * order of operations (ops/recurrent.LSTMLayer.backward); then dc *= f, the carry to the previous step. */
HOT static void lstm_bwd_loop(const float *dh_out, const float *dh_rec, float *dc, const float *act,
                              const float *c_prev, const float *tc, float *dz, Py_ssize_t n, Py_ssize_t hid,
                              Py_ssize_t j0, Py_ssize_t j1) {
    for (Py_ssize_t r = 0; r < n; r++) {
        const float *ai = act + r * 4 * hid, *af = ai + hid, *ag = af + hid, *ao = ag + hid;
        const float *ho = dh_out + r * hid, *hr = dh_rec ? dh_rec + r * hid : NULL, *t = tc + r * hid;
        const float *cp = c_prev ? c_prev + r * hid : NULL;
        float *di = dz + r * 4 * hid, *df = di + hid, *dg = df + hid, *dout = dg + hid, *cr = dc + r * hid;
        SIMD for (Py_ssize_t j = j0; j < j1; j++) {
            float i = ai[j], f = af[j], g = ag[j], o = ao[j], tj = t[j];
            float dh = hr ? ho[j] + hr[j] : ho[j];
            float dcj = cr[j] + dh * ((1.0f - tj * tj) * o);
            di[j] = dcj * ((1.0f - i) * i * g);
            df[j] = cp ? dcj * ((1.0f - f) * f * cp[j]) : 0.0f;
            dg[j] = dcj * ((1.0f - g * g) * i);
            dout[j] = dh * ((1.0f - o) * o * tj);
            cr[j] = dcj * f;
        }
    }
}

static void lstm_bwd_range(void *ctx, Py_ssize_t lo, Py_ssize_t hi, int task) {
    Job *j = ctx;
    lstm_bwd_loop(j->r[0], j->r[1], j->w[0], j->r[2], j->r[3], j->r[4], j->w[1], j->k[0], j->k[1], lo, hi);
}

/* lstm_cell_backward(dh_out (N, H), dh_rec (N, H)|None, dc (N, H) in/out, act (N, 4H), c_prev (N, H)|None,
 * tc (N, H), dz (N, 4H) out, H) */
static PyObject *k_lstm_cell_backward(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Bufs b = {.held = 0, .kernel = "lstm_cell_backward"};
    Py_ssize_t nho, nhr, ndc, nact, ncp, ntc, ndz, hid;
    if (check_nargs(b.kernel, nargs, 8) < 0 || ints(b.kernel, args + 7, 1, &hid, 1) < 0) return NULL;
    const float *ho = take(&b, args[0], 'f', 0, 0, "dh_out", &nho);
    const float *hr = ho ? take(&b, args[1], 'f', 0, 1, "dh_rec", &nhr) : NULL;
    float *dc = !PyErr_Occurred() ? take(&b, args[2], 'f', 1, 0, "dc", &ndc) : NULL;
    const float *act = dc ? take(&b, args[3], 'f', 0, 0, "act", &nact) : NULL;
    const float *cp = act ? take(&b, args[4], 'f', 0, 1, "c_prev", &ncp) : NULL;
    const float *tc = !PyErr_Occurred() ? take(&b, args[5], 'f', 0, 0, "tc", &ntc) : NULL;
    float *dz = tc ? take(&b, args[6], 'f', 1, 0, "dz", &ndz) : NULL;
    if (!dz || (hr && check_len(&b, "dh_rec", nhr, nho)) || check_len(&b, "dc", ndc, nho)
        || check_len(&b, "act", nact, 4 * nho) || (cp && check_len(&b, "c_prev", ncp, nho))
        || check_len(&b, "tc", ntc, nho) || check_len(&b, "dz", ndz, 4 * nho) || nho % hid) {
        if (!PyErr_Occurred())
            PyErr_Format(PyExc_ValueError, "%s: dh_out has %zd elements, not rows of %zd", b.kernel, nho, hid);
        return fail(&b);
    }
    Job j = {.w = {dc, dz}, .r = {ho, hr, act, cp, tc}, .k = {nho / hid, hid}};
    RUN(b, par_for(lstm_bwd_range, &j, hid, GRAIN / (nho / hid) + 1));
    Py_RETURN_NONE;
}

/* --------------------------------------------------------------------------------------------- GRU */
/* One forward step: a (N, 3, H) input projections (r and z halved, ops/recurrent.GRULayer) plus rec, the recurrent
 * GEMM's part (its r, z columns halved too, n unscaled); replaced by the activations r, z, n:
 * ghn = rec_n + b_hn (kept for backward), n = tanh(a_n + r ghn), h = n + z (h_prev - n). */
HOT static void gru_fwd_loop(float *a, const float *rec, const float *b_hn, const float *h_prev, float *ghn, float *h,
                             Py_ssize_t n, Py_ssize_t hid, Py_ssize_t j0, Py_ssize_t j1) {
    for (Py_ssize_t r = 0; r < n; r++) {
        float *ar = a + r * 3 * hid, *az = ar + hid, *an = az + hid;
        const float *rr = rec ? rec + r * 3 * hid : NULL, *rz = rr ? rr + hid : NULL, *rn = rz ? rz + hid : NULL;
        const float *hp = h_prev ? h_prev + r * hid : NULL;
        float *gr = ghn + r * hid, *hr = h + r * hid;
        SIMD for (Py_ssize_t j = j0; j < j1; j++) {
            float zr = rr ? ar[j] + rr[j] : ar[j], zz = rz ? az[j] + rz[j] : az[j];
            float rg = sigmoid_f32(2.0f * zr), zg = sigmoid_f32(2.0f * zz);         /* the z were halved */
            float gn = (rn ? rn[j] : 0.0f) + (b_hn ? b_hn[j] : 0.0f);
            float ng = tanh_f32(an[j] + rg * gn);
            ar[j] = rg;
            az[j] = zg;
            an[j] = ng;
            gr[j] = gn;
            hr[j] = hp ? ng + zg * (hp[j] - ng) : ng * (1.0f - zg);
        }
    }
}

static void gru_fwd_range(void *ctx, Py_ssize_t lo, Py_ssize_t hi, int task) {
    Job *j = ctx;
    gru_fwd_loop(j->w[0], j->r[0], j->r[1], j->r[2], j->w[1], j->w[2], j->k[0], j->k[1], lo, hi);
}

/* gru_cell_forward(a (N, 3H), rec (N, 3H)|None, b_hn (H)|None, h_prev (N, H)|None, ghn, h (N, H), H) */
static PyObject *k_gru_cell_forward(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Bufs b = {.held = 0, .kernel = "gru_cell_forward"};
    Py_ssize_t na, nr, nb, np_, ng, nh, hid;
    if (check_nargs(b.kernel, nargs, 7) < 0 || ints(b.kernel, args + 6, 1, &hid, 1) < 0) return NULL;
    float *a = take(&b, args[0], 'f', 1, 0, "a", &na);
    const float *rec = a ? take(&b, args[1], 'f', 0, 1, "rec", &nr) : NULL;
    const float *bhn = !PyErr_Occurred() ? take(&b, args[2], 'f', 0, 1, "b_hn", &nb) : NULL;
    const float *hp = !PyErr_Occurred() ? take(&b, args[3], 'f', 0, 1, "h_prev", &np_) : NULL;
    float *ghn = !PyErr_Occurred() ? take(&b, args[4], 'f', 1, 0, "ghn", &ng) : NULL;
    float *h = ghn ? take(&b, args[5], 'f', 1, 0, "h", &nh) : NULL;
    Py_ssize_t n = na / (3 * hid);
    if (!h || na % (3 * hid) || (rec && check_len(&b, "rec", nr, na)) || (bhn && check_len(&b, "b_hn", nb, hid))
        || (hp && check_len(&b, "h_prev", np_, n * hid)) || check_len(&b, "ghn", ng, n * hid)
        || check_len(&b, "h", nh, n * hid)) {
        if (!PyErr_Occurred())
            PyErr_Format(PyExc_ValueError, "%s: a has %zd elements, not rows of 3 * %zd", b.kernel, na, hid);
        return fail(&b);
    }
    Job j = {.w = {a, ghn, h}, .r = {rec, bhn, hp}, .k = {n, hid}};
    RUN(b, par_for(gru_fwd_range, &j, hid, GRAIN_CELL / n + 1));
    Py_RETURN_NONE;
}

/* One backward step: dh = dh_out + rec + carry (rec: the previous step's GEMM [dr~, dz~, dn~ r] W_hh, carry: its
 * dh z); dn~ = dh (1 - z)(1 - n^2), dz~ = dh (h_prev - n) z (1 - z), dr~ = dn~ ghn r (1 - r); dx_gates = [dr~, dz~,
 * dn~] (the input-side pre-activations), dh_gates = [dr~, dz~, dn~ r] (the hidden side); carry = dh z. */
HOT static void gru_bwd_loop(const float *dh_out, const float *rec, float *carry, const float *act, const float *ghn,
                             const float *h_prev, float *dxg, float *dhg, Py_ssize_t n, Py_ssize_t hid,
                             Py_ssize_t j0, Py_ssize_t j1) {
    for (Py_ssize_t r = 0; r < n; r++) {
        const float *ar = act + r * 3 * hid, *az = ar + hid, *an = az + hid, *gn = ghn + r * hid;
        const float *ho = dh_out + r * hid, *rr = rec ? rec + r * hid : NULL;
        const float *hp = h_prev ? h_prev + r * hid : NULL;
        float *cr = carry + r * hid;
        float *xr = dxg + r * 3 * hid, *xz = xr + hid, *xn = xz + hid;
        float *er = dhg + r * 3 * hid, *ez = er + hid, *en = ez + hid;
        SIMD for (Py_ssize_t j = j0; j < j1; j++) {
            float rg = ar[j], zg = az[j], ng = an[j];
            float dh = (rr ? ho[j] + rr[j] : ho[j]) + cr[j];
            float dn = dh * ((1.0f - zg) * (1.0f - ng * ng));
            float dz = dh * (((hp ? hp[j] : 0.0f) - ng) * zg * (1.0f - zg));
            float dr = dn * (gn[j] * rg * (1.0f - rg));
            xr[j] = dr;
            xz[j] = dz;
            xn[j] = dn;
            er[j] = dr;
            ez[j] = dz;
            en[j] = dn * rg;
            cr[j] = dh * zg;
        }
    }
}

static void gru_bwd_range(void *ctx, Py_ssize_t lo, Py_ssize_t hi, int task) {
    Job *j = ctx;
    gru_bwd_loop(j->r[0], j->r[1], j->w[0], j->r[2], j->r[3], j->r[4], j->w[1], j->w[2], j->k[0], j->k[1], lo, hi);
}

/* gru_cell_backward(dh_out (N, H), rec (N, H)|None, carry (N, H) in/out, act (N, 3H), ghn (N, H),
 * h_prev (N, H)|None, dx_gates (N, 3H) out, dh_gates (N, 3H) out, H) */
static PyObject *k_gru_cell_backward(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Bufs b = {.held = 0, .kernel = "gru_cell_backward"};
    Py_ssize_t nho, nr, nc, nact, ng, np_, nx, ne, hid;
    if (check_nargs(b.kernel, nargs, 9) < 0 || ints(b.kernel, args + 8, 1, &hid, 1) < 0) return NULL;
    const float *ho = take(&b, args[0], 'f', 0, 0, "dh_out", &nho);
    const float *rec = ho ? take(&b, args[1], 'f', 0, 1, "rec", &nr) : NULL;
    float *carry = !PyErr_Occurred() ? take(&b, args[2], 'f', 1, 0, "carry", &nc) : NULL;
    const float *act = carry ? take(&b, args[3], 'f', 0, 0, "act", &nact) : NULL;
    const float *ghn = act ? take(&b, args[4], 'f', 0, 0, "ghn", &ng) : NULL;
    const float *hp = ghn ? take(&b, args[5], 'f', 0, 1, "h_prev", &np_) : NULL;
    float *dxg = !PyErr_Occurred() ? take(&b, args[6], 'f', 1, 0, "dx_gates", &nx) : NULL;
    float *dhg = dxg ? take(&b, args[7], 'f', 1, 0, "dh_gates", &ne) : NULL;
    if (!dhg || (rec && check_len(&b, "rec", nr, nho)) || check_len(&b, "carry", nc, nho)
        || check_len(&b, "act", nact, 3 * nho) || check_len(&b, "ghn", ng, nho)
        || (hp && check_len(&b, "h_prev", np_, nho))
        || check_len(&b, "dx_gates", nx, 3 * nho) || check_len(&b, "dh_gates", ne, 3 * nho) || nho % hid) {
        if (!PyErr_Occurred())
            PyErr_Format(PyExc_ValueError, "%s: dh_out has %zd elements, not rows of %zd", b.kernel, nho, hid);
        return fail(&b);
    }
    Job j = {.w = {carry, dxg, dhg}, .r = {ho, rec, act, ghn, hp}, .k = {nho / hid, hid}};
    RUN(b, par_for(gru_bwd_range, &j, hid, GRAIN / (nho / hid) + 1));
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------------------------------ optimizers */
/* The optimizers' updates in one pass, with the same operations in the same order as their NumPy code
 * (redes/optim/), so the results match it value for value (ISO C: no fused multiply-adds). */
HOT static void sgd_momentum_loop(float *p, const float *d, float *buf, Py_ssize_t n, float lr, float mom,
                                  float keep) {
    SIMD for (Py_ssize_t i = 0; i < n; i++) {
        float b = mom * buf[i] + keep * d[i];
        buf[i] = b;
        p[i] = p[i] - lr * b;
    }
}

static void sgd_momentum_range(void *ctx, Py_ssize_t lo, Py_ssize_t hi, int task) {
    Job *j = ctx;
    sgd_momentum_loop(j->w[0] + lo, j->r[0] + lo, j->w[1] + lo, hi - lo, j->f[0], j->f[1], j->f[2]);
}

/* sgd_momentum(param, d, buf, lr, momentum, 1 - dampening): buf = momentum buf + (1 - dampening) d; param -= lr buf */
static PyObject *k_sgd_momentum(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Bufs b = {.held = 0, .kernel = "sgd_momentum"};
    Py_ssize_t n, nd, nb;
    if (check_nargs(b.kernel, nargs, 6) < 0) return NULL;
    double lr = PyFloat_AsDouble(args[3]), mom = PyFloat_AsDouble(args[4]), keep = PyFloat_AsDouble(args[5]);
    if (PyErr_Occurred()) return NULL;
    float *p = take(&b, args[0], 'f', 1, 0, "param", &n);
    const float *d = p ? take(&b, args[1], 'f', 0, 0, "d", &nd) : NULL;
    float *buf = d ? take(&b, args[2], 'f', 1, 0, "buf", &nb) : NULL;
    if (!buf || check_len(&b, "d", nd, n) || check_len(&b, "buf", nb, n))
        return fail(&b);
    Job j = {.w = {p, buf}, .r = {d}, .f = {(float)lr, (float)mom, (float)keep}};
    RUN(b, par_for(sgd_momentum_range, &j, n, GRAIN));
    Py_RETURN_NONE;
}

HOT static void adam_loop(float *p, const float *d, float *m, float *v, Py_ssize_t n, float w1, int low, float b2,
                          float w2, float c2, float eps, float step) {
    SIMD for (Py_ssize_t i = 0; i < n; i++) {
        float mi = m[i], di = d[i];
        mi = low ? mi + (di - mi) * w1 : di - (di - mi) * (1.0f - w1);      /* torch.lerp_'s two formulas */
        float vi = v[i] * b2 + di * w2 * di;
        m[i] = mi;
        v[i] = vi;
        float denom = sqrtf(vi) / c2 + eps;
        p[i] = p[i] - mi / denom * step;
    }
}

HOT static void scale_loop(float *p, Py_ssize_t n, float c) {
    SIMD for (Py_ssize_t i = 0; i < n; i++) p[i] = p[i] * c;
}

/* f: w1, beta2, w2, c2, eps, step, and a scale applied to the parameter first (AdamW's decay) unless it is 1 */
static void adam_range(void *ctx, Py_ssize_t lo, Py_ssize_t hi, int task) {
    Job *j = ctx;
    const float *f = j->f;
    if (f[6] != 1.0f) scale_loop(j->w[0] + lo, hi - lo, f[6]);
    adam_loop(j->w[0] + lo, j->r[0] + lo, j->w[1] + lo, j->w[2] + lo, hi - lo, f[0], f[0] < 0.5f, f[1], f[2], f[3],
              f[4], f[5]);
}

/* adam(param, d, m, v, 1 - beta1, beta2, 1 - beta2, sqrt(1 - beta2^t), eps, lr / (1 - beta1^t)) */
static PyObject *k_adam(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Bufs b = {.held = 0, .kernel = "adam"};
    Py_ssize_t n, nd, nm, nv;
    double c[6];
    if (check_nargs(b.kernel, nargs, 10) < 0) return NULL;
    for (int i = 0; i < 6; i++)
        c[i] = PyFloat_AsDouble(args[4 + i]);
    if (PyErr_Occurred()) return NULL;
    float *p = take(&b, args[0], 'f', 1, 0, "param", &n);
    const float *d = p ? take(&b, args[1], 'f', 0, 0, "d", &nd) : NULL;
    float *m = d ? take(&b, args[2], 'f', 1, 0, "exp_avg", &nm) : NULL;
    float *v = m ? take(&b, args[3], 'f', 1, 0, "exp_avg_sq", &nv) : NULL;
    if (!v || check_len(&b, "d", nd, n) || check_len(&b, "exp_avg", nm, n) || check_len(&b, "exp_avg_sq", nv, n))
        return fail(&b);
    Job j = {.w = {p, m, v}, .r = {d}, .f = {(float)c[0], (float)c[1], (float)c[2], (float)c[3], (float)c[4], (float)c[5], 1.0f}};
    RUN(b, par_for(adam_range, &j, n, GRAIN));
    Py_RETURN_NONE;
}

/* The optimizers over many parameters in one call (torch's foreach): lists of parameter and gradient arrays, and
 * flat state buffers whose consecutive slices belong to the parameters in order. Every array is checked before
 * any is written: when one is not a C-contiguous (writable, for the parameters) float32 array, the call returns
 * False and changes nothing, and the optimizer takes its gathering path. Returns True once all are updated. */
typedef struct {
    Py_buffer *views;
    Py_ssize_t held, total;
} ManyViews;

static void many_release(ManyViews *m) {
    for (Py_ssize_t i = 0; i < m->held; i++)
        PyBuffer_Release(&m->views[i]);
    PyMem_Free(m->views);
    m->views = NULL;
}

/* Views of params[i] (writable) and grads[i], stored pairwise. 1: all qualify; 0: one does not; -1: an error. */
static int many_take(const char *kernel, PyObject *params, PyObject *grads, ManyViews *m) {
    m->held = m->total = 0;
    m->views = NULL;
    if (!PyList_Check(params) || !PyList_Check(grads) || PyList_GET_SIZE(params) != PyList_GET_SIZE(grads)) {
        PyErr_Format(PyExc_TypeError, "%s: params and grads must be lists of the same length", kernel);
        return -1;
    }
    Py_ssize_t k = PyList_GET_SIZE(params);
    m->views = PyMem_Calloc(2 * k + 1, sizeof(Py_buffer));
    if (!m->views) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < 2 * k; i++) {
        PyObject *obj = PyList_GET_ITEM(i % 2 ? grads : params, i / 2);
        int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (i % 2 ? 0 : PyBUF_WRITABLE);
        if (PyObject_GetBuffer(obj, &m->views[i], flags) < 0) {
            PyErr_Clear();
            return 0;
        }
        m->held++;
        Py_buffer *v = &m->views[i];
        if (v->itemsize != 4 || v->format == NULL || v->format[0] != 'f' || v->format[1] != '\0') return 0;
        if (i % 2 && v->len != m->views[i - 1].len) {
            PyErr_Format(PyExc_ValueError, "%s: grads[%zd] has %zd elements, its parameter %zd", kernel, i / 2,
                         v->len / 4, m->views[i - 1].len / 4);
            return -1;
        }
        if (i % 2 == 0) m->total += v->len / 4;
    }
    return 1;
}

/* sgd_momentum_many(params, grads, buf, lr, momentum, keep): sgd_momentum on each parameter and its slice of buf */
static PyObject *k_sgd_momentum_many(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Bufs b = {.held = 0, .kernel = "sgd_momentum_many"};
    Py_ssize_t nb;
    if (check_nargs(b.kernel, nargs, 6) < 0) return NULL;
    double lr = PyFloat_AsDouble(args[3]), mom = PyFloat_AsDouble(args[4]), keep = PyFloat_AsDouble(args[5]);
    if (PyErr_Occurred()) return NULL;
    float *buf = take(&b, args[2], 'f', 1, 0, "buf", &nb);
    if (!buf) return fail(&b);
    ManyViews m;
    int ok = many_take(b.kernel, args[0], args[1], &m);
    if (ok == 1 && m.total != nb) {
        PyErr_Format(PyExc_ValueError, "%s: buf has %zd elements, the parameters %zd", b.kernel, nb, m.total);
        ok = -1;
    }
    if (ok == 1) {
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t i = 0, at = 0; i < m.held; i += 2) {
            Py_ssize_t n = m.views[i].len / 4;
            Job j = {.w = {m.views[i].buf, buf + at}, .r = {m.views[i + 1].buf}, .f = {(float)lr, (float)mom, (float)keep}};
            par_for(sgd_momentum_range, &j, n, GRAIN);
            at += n;
        }
        Py_END_ALLOW_THREADS
    }
    many_release(&m);
    release(&b);
    if (ok < 0) return NULL;
    return PyBool_FromLong(ok);
}

/* adam_many(params, grads, exp_avg, exp_avg_sq, decay, w1, beta2, w2, c2, eps, step): each parameter times decay
 * (AdamW's decoupled weight decay, skipped when decay is 1), then adam on it with its slices of the moments */
static PyObject *k_adam_many(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Bufs b = {.held = 0, .kernel = "adam_many"};
    Py_ssize_t nm, nv;
    double c[7];
    if (check_nargs(b.kernel, nargs, 11) < 0) return NULL;
    for (int i = 0; i < 7; i++)
        c[i] = PyFloat_AsDouble(args[4 + i]);
    if (PyErr_Occurred()) return NULL;
    float *mbuf = take(&b, args[2], 'f', 1, 0, "exp_avg", &nm);
    float *vbuf = mbuf ? take(&b, args[3], 'f', 1, 0, "exp_avg_sq", &nv) : NULL;
    if (!vbuf || check_len(&b, "exp_avg_sq", nv, nm)) return fail(&b);
    ManyViews m;
    int ok = many_take(b.kernel, args[0], args[1], &m);
    if (ok == 1 && m.total != nm) {
        PyErr_Format(PyExc_ValueError, "%s: exp_avg has %zd elements, the parameters %zd", b.kernel, nm, m.total);
        ok = -1;
    }
    if (ok == 1) {
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t i = 0, at = 0; i < m.held; i += 2) {
            Py_ssize_t n = m.views[i].len / 4;
            Job j = {.w = {m.views[i].buf, mbuf + at, vbuf + at}, .r = {m.views[i + 1].buf},
                     .f = {(float)c[1], (float)c[2], (float)c[3], (float)c[4], (float)c[5], (float)c[6], (float)c[0]}};
            par_for(adam_range, &j, n, GRAIN);
            at += n;
        }
        Py_END_ALLOW_THREADS
    }
    many_release(&m);
    release(&b);
    if (ok < 0) return NULL;
    return PyBool_FromLong(ok);
}

/* ------------------------------------------------------------------------------------------ linear */
/* Linear layers' GEMMs through NumPy's own OpenBLAS (numpy.libs' cblas_sgemm, its address handed over by
 * redes/cpu_tuning.py): each call is the one NumPy's matmul makes for the same product (row-major, the same
 * transposes and leading dimensions), so the results are NumPy's to the bit (tested); the bias add and the bias
 * gradient join the GEMM in one call instead of three NumPy calls, which is most of a small layer's time.
 * They return False for what they do not take, and the op runs its NumPy code: other dtypes or layouts, sizes
 * that do not match (a bias NumPy would broadcast), and the cases where NumPy takes another route (gemv, syrk,
 * no BLAS): a dimension below 2, or x is w. */
typedef void (*Sgemm64)(int, int, int, int64_t, int64_t, int64_t, float, const float *, int64_t, const float *,
                        int64_t, float, float *, int64_t);
typedef void (*Sgemm32)(int, int, int, int32_t, int32_t, int32_t, float, const float *, int32_t, const float *,
                        int32_t, float, float *, int32_t);
static void *sgemm_fn = NULL;
static int sgemm_ilp64 = 0;
enum { ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112 };

/* c (m, n) = op(a) @ op(b), row-major */
static void sgemm(int ta, int tb, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k, const float *a, Py_ssize_t lda,
                  const float *b, Py_ssize_t ldb, float *c, Py_ssize_t ldc) {
    if (sgemm_ilp64)
        ((Sgemm64)sgemm_fn)(ROW_MAJOR, ta, tb, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc);
    else
        ((Sgemm32)sgemm_fn)(ROW_MAJOR, ta, tb, (int32_t)m, (int32_t)n, (int32_t)k, 1.0f, a, (int32_t)lda, b,
                            (int32_t)ldb, 0.0f, c, (int32_t)ldc);
}

/* set_blas(address, ilp64): the cblas_sgemm to call (0: none, the linear kernels then return False) */
static PyObject *k_set_blas(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (check_nargs("set_blas", nargs, 2) < 0) return NULL;
    void *fn = PyLong_AsVoidPtr(args[0]);
    int ilp64 = PyObject_IsTrue(args[1]);
    if ((fn == NULL && PyErr_Occurred()) || ilp64 < 0) return NULL;
    sgemm_fn = fn;
    sgemm_ilp64 = ilp64;
    Py_RETURN_NONE;
}

/* The data of a C-contiguous float32 buffer, or NULL (no error set) for anything else: the caller then returns
 * False and the op runs its NumPy code. */
static float *maybe_f32(Bufs *b, PyObject *obj, int writable) {
    Py_buffer *v = &b->views[b->held];
    if (PyObject_GetBuffer(obj, v, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0)) < 0) {
        PyErr_Clear();
        return NULL;
    }
    b->held++;
    if (v->itemsize != 4 || v->format == NULL || strcmp(v->format, "f") != 0) return NULL;
    return v->buf;
}

/* The argument count and the sizes n, i, o from args[first]: -1 error set; 1 a case the kernels decline (no BLAS, a
 * dimension below 2, or one too large for a 32-bit BLAS); 0 go on. */
static int linear_dims(const char *kernel, PyObject *const *args, Py_ssize_t nargs, Py_ssize_t want, Py_ssize_t *d) {
    if (check_nargs(kernel, nargs, want) < 0 || ints(kernel, args + want - 3, 3, d, 0) < 0) return -1;
    if (!sgemm_fn || d[0] < 2 || d[1] < 2 || d[2] < 2) return 1;
    return !sgemm_ilp64 && (d[0] > INT32_MAX || d[1] > INT32_MAX || d[2] > INT32_MAX);
}

static void bias_rows_range(void *ctx, Py_ssize_t lo, Py_ssize_t hi, int task) {
    Job *j = ctx;
    Py_ssize_t o = j->k[0];
    const float *bias = j->r[0];
    for (Py_ssize_t r = lo; r < hi; r++) {
        float *y = j->w[0] + r * o;
        SIMD for (Py_ssize_t c = 0; c < o; c++) y[c] += bias[c];
    }
}

/* linear_forward(x, w, b, y, n, i, o) -> True, or False when not handled (see above): y (n, o) = x (n, i) @ w.T
 * (w: (o, i)), then y += b (b: (o,) or None) */
static PyObject *k_linear_forward(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Bufs b = {.held = 0, .kernel = "linear_forward"};
    Py_ssize_t d[3];
    int status = linear_dims(b.kernel, args, nargs, 7, d);
    if (status) return status < 0 ? NULL : Py_NewRef(Py_False);
    Py_ssize_t n = d[0], i = d[1], o = d[2];
    const float *x = maybe_f32(&b, args[0], 0);
    const float *w = x ? maybe_f32(&b, args[1], 0) : NULL;
    const float *bias = w && args[2] != Py_None ? maybe_f32(&b, args[2], 0) : NULL;
    float *y = w && (bias || args[2] == Py_None) ? maybe_f32(&b, args[3], 1) : NULL;
    if (!y || x == w) {
        release(&b);
        Py_RETURN_FALSE;
    }
    Py_ssize_t want[4] = {n * i, o * i, bias ? o : n * o, n * o};
    for (int a = 0; a < b.held; a++)
        if (b.views[a].len != want[a] * 4) {          /* e.g. a bias NumPy would broadcast: its code runs */
            release(&b);
            Py_RETURN_FALSE;
        }
    Job j = {.w = {y}, .r = {bias}, .k = {o}};
    RUN(b, {
        sgemm(NO_TRANS, TRANS, n, o, i, x, i, w, i, y, o);
        if (bias) par_for(bias_rows_range, &j, n, GRAIN / o + 1);
    });
    Py_RETURN_TRUE;
}

/* linear_backward(dy, x, w, dx, dw, db, n, i, o) -> True, or False when not handled: dx (n, i) = dy @ w,
 * dw (o, i) = dy.T @ x, db (o,) = dy's rows summed in order (NumPy's add.reduce over axis 0); dx, dw, db: None
 * when not wanted */
static PyObject *k_linear_backward(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Bufs b = {.held = 0, .kernel = "linear_backward"};
    Py_ssize_t d[3];
    int status = linear_dims(b.kernel, args, nargs, 9, d);
    if (status) return status < 0 ? NULL : Py_NewRef(Py_False);
    Py_ssize_t n = d[0], i = d[1], o = d[2];
    const float *in[3] = {NULL, NULL, NULL};
    float *out[3] = {NULL, NULL, NULL};
    Py_ssize_t want[6] = {n * o, n * i, o * i, n * i, o * i, o}, len[6];
    int ok = 1;
    for (int a = 0; a < 6 && ok; a++) {
        if (a >= 3 && args[a] == Py_None) {
            len[a] = want[a];
            continue;
        }
        float *p = maybe_f32(&b, args[a], a >= 3);
        ok = p != NULL;
        if (a < 3) in[a] = p; else out[a - 3] = p;
        len[a] = ok ? b.views[b.held - 1].len / 4 : 0;
    }
    for (int a = 0; a < 6 && ok; a++) ok = len[a] == want[a];
    if (!ok || in[1] == in[2]) {
        release(&b);
        Py_RETURN_FALSE;
    }
    const float *dy = in[0], *x = in[1], *w = in[2];
    float *dx = out[0], *dw = out[1], *db = out[2];
    RUN(b, {
        if (dx) sgemm(NO_TRANS, NO_TRANS, n, i, o, dy, o, w, i, dx, i);
        if (dw) sgemm(TRANS, NO_TRANS, o, i, n, dy, o, x, i, dw, i);
        if (db) {
            memcpy(db, dy, o * sizeof(float));
            for (Py_ssize_t r = 1; r < n; r++) {
                const float *row = dy + r * o;
                SIMD for (Py_ssize_t c = 0; c < o; c++) db[c] += row[c];
            }
        }
    });
    Py_RETURN_TRUE;
}

/* ------------------------------------------------------------------------------------------ LSTM sequence */
/* The feature-major LSTM's time loops (ops/recurrent.LSTMLayer._forward_fm / _backward_fm) in one call each: per
 * step the recurrent GEMM (OpenBLAS's, the call NumPy's matmul makes) and the cell kernel's loop, with no Python
 * between steps. Arrays: act, dz (T, 4H, N) and (4H, T, N); cs, tcs, hs (T, H, N); h0, c0, dc, dh0 (H, N). */
typedef struct {
    Py_ssize_t T, H, N;
    int reverse;
} Seq;

/* The argument count and T, H, N, reverse (the last four arguments): -1 error set; 1 no BLAS (the kernel returns
 * False); 0 go on. */
static int seq_dims(const char *kernel, PyObject *const *args, Py_ssize_t nargs, Py_ssize_t want, Seq *q) {
    Py_ssize_t d[4];
    if (check_nargs(kernel, nargs, want) < 0 || ints(kernel, args + want - 4, 4, d, 0) < 0) return -1;
    if (d[0] < 1 || d[1] < 1 || d[2] < 1) {
        PyErr_Format(PyExc_ValueError, "%s: T, H and N must be >= 1", kernel);
        return -1;
    }
    *q = (Seq){d[0], d[1], d[2], d[3] != 0};
    return !sgemm_fn;
}

/* Every present array (ptrs[i] not NULL) of its expected size. */
static int seq_sizes(Bufs *b, const void *const *ptrs, const Py_ssize_t *len, const Py_ssize_t *want,
                     const char *const *names, int count) {
    for (int i = 0; i < count; i++)
        if (ptrs[i] && check_len(b, names[i], len[i], want[i]) < 0) return -1;
    return 0;
}

typedef struct {
    float *act, *cs, *tcs, *hs, *dc, *dz, *dh0, *rec;
    const float *w, *h0, *c0, *dhs, *bias;
} SeqArrays;

static void lstm_seq_forward(const Seq *q, SeqArrays *a) {
    Py_ssize_t T = q->T, H = q->H, N = q->N, G = 4 * H, HN = H * N;
    const float *h = a->h0, *c = a->c0;
    for (Py_ssize_t s = 0; s < T; s++) {
        Py_ssize_t t = q->reverse ? T - 1 - s : s;
        if (h) sgemm(NO_TRANS, NO_TRANS, G, N, H, a->w, H, h, N, a->rec, N);
        Job j = {.w = {a->act + t * G * N, a->cs + t * HN, a->tcs + t * HN, a->hs + t * HN},
                 .r = {h ? a->rec : NULL, c, a->bias}, .k = {1, HN}};
        par_for(lstm_fwd_range, &j, HN, GRAIN_MATH);               /* see GRAIN_CELL */
        h = a->hs + t * HN;
        c = a->cs + t * HN;
    }
}

/* rec: scratch of 2 HN + G N floats */
static void lstm_seq_backward(const Seq *q, SeqArrays *a) {
    Py_ssize_t T = q->T, H = q->H, N = q->N, G = 4 * H, HN = H * N;
    float *dho = a->rec, *rec = a->rec + HN, *dzt = a->rec + 2 * HN;
    Py_ssize_t first = q->reverse ? T - 1 : 0;
    const float *dh_rec = NULL;
    for (Py_ssize_t s = 0; s < T; s++) {
        Py_ssize_t t = q->reverse ? s : T - 1 - s;
        const float *d = a->dhs + t * HN;                               /* (N, H) -> (H, N) */
        for (Py_ssize_t n = 0; n < N; n++)
            for (Py_ssize_t h = 0; h < H; h++) dho[h * N + n] = d[n * H + h];
        const float *c_prev = t == first ? a->c0 : a->cs + (q->reverse ? t + 1 : t - 1) * HN;
        Job j = {.w = {a->dc, dzt}, .r = {dho, dh_rec, a->act + t * G * N, c_prev, a->tcs + t * HN}, .k = {1, HN}};
        par_for(lstm_bwd_range, &j, HN, GRAIN + 1);
        for (Py_ssize_t g = 0; g < G; g++) memcpy(a->dz + (g * T + t) * N, dzt + g * N, sizeof(float) * N);
        if (t != first) {
            sgemm(NO_TRANS, NO_TRANS, H, N, G, a->w, G, dzt, N, rec, N);
            dh_rec = rec;
        } else if (a->dh0) {
            sgemm(NO_TRANS, NO_TRANS, H, N, G, a->w, G, dzt, N, a->dh0, N);
        }
    }
}

/* lstm_forward_fm(act, w, h0, c0, cs, tcs, hs, bias, T, H, N, reverse) -> True (False: no BLAS): act holds the
 * input projections and becomes the activations; w (4H, H) the scaled W_hh; h0, c0 None for zeros; bias (4H, N)
 * (the scaled biases, repeated over the batch) or None, added to each step's projections. */
static PyObject *k_lstm_forward_fm(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Bufs b = {.held = 0, .kernel = "lstm_forward_fm"};
    Seq q;
    int status = seq_dims(b.kernel, args, nargs, 12, &q);
    if (status) return status < 0 ? NULL : Py_NewRef(Py_False);
    Py_ssize_t T = q.T, H = q.H, N = q.N, G = 4 * H, HN = H * N;
    Py_ssize_t len[8];
    float *act = take(&b, args[0], 'f', 1, 0, "act", &len[0]);
    const float *w = act ? take(&b, args[1], 'f', 0, 0, "w", &len[1]) : NULL;
    const float *h0 = w ? take(&b, args[2], 'f', 0, 1, "h0", &len[2]) : NULL;
    const float *c0 = !PyErr_Occurred() ? take(&b, args[3], 'f', 0, 1, "c0", &len[3]) : NULL;
    float *cs = !PyErr_Occurred() ? take(&b, args[4], 'f', 1, 0, "cs", &len[4]) : NULL;
    float *tcs = cs ? take(&b, args[5], 'f', 1, 0, "tcs", &len[5]) : NULL;
    float *hs = tcs ? take(&b, args[6], 'f', 1, 0, "hs", &len[6]) : NULL;
    const float *bias = hs ? take(&b, args[7], 'f', 0, 1, "bias", &len[7]) : NULL;
    const void *ptrs[8] = {act, w, h0, c0, cs, tcs, hs, bias};
    const char *names[8] = {"act", "w", "h0", "c0", "cs", "tcs", "hs", "bias"};
    if (!hs || PyErr_Occurred() ||
        seq_sizes(&b, ptrs, len, (Py_ssize_t[]){T * G * N, G * H, HN, HN, T * HN, T * HN, T * HN, G * N}, names, 8))
        return fail(&b);
    float *rec = malloc(sizeof(float) * G * N);
    if (!rec) {
        release(&b);
        return PyErr_NoMemory();
    }
    SeqArrays a = {.act = act, .w = w, .h0 = h0, .c0 = c0, .cs = cs, .tcs = tcs, .hs = hs, .rec = rec, .bias = bias};
    RUN(b, lstm_seq_forward(&q, &a));
    free(rec);
    Py_RETURN_TRUE;
}

/* lstm_backward_fm(act, cs, tcs, c0, w_t, dhs, dc, dz, dh0, T, H, N, reverse) -> True (False: no BLAS): BPTT
 * from forward's activations; w_t (H, 4H) = W_hh^T scaled as forward's; dhs (T, N, H) the outputs' gradients
 * (batch-major, as the op's output); dc the last cell's gradient, left as c0's; dz every step's pre-activation
 * gradient; dh0 (None: not wanted) h0's. */
static PyObject *k_lstm_backward_fm(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Bufs b = {.held = 0, .kernel = "lstm_backward_fm"};
    Seq q;
    int status = seq_dims(b.kernel, args, nargs, 13, &q);
    if (status) return status < 0 ? NULL : Py_NewRef(Py_False);
    Py_ssize_t T = q.T, H = q.H, N = q.N, G = 4 * H, HN = H * N;
    Py_ssize_t len[9];
    const float *act = take(&b, args[0], 'f', 0, 0, "act", &len[0]);
    const float *cs = act ? take(&b, args[1], 'f', 0, 0, "cs", &len[1]) : NULL;
    const float *tcs = cs ? take(&b, args[2], 'f', 0, 0, "tcs", &len[2]) : NULL;
    const float *c0 = tcs ? take(&b, args[3], 'f', 0, 1, "c0", &len[3]) : NULL;
    const float *wt = !PyErr_Occurred() ? take(&b, args[4], 'f', 0, 0, "w_t", &len[4]) : NULL;
    const float *dhs = wt ? take(&b, args[5], 'f', 0, 0, "dhs", &len[5]) : NULL;
    float *dc = dhs ? take(&b, args[6], 'f', 1, 0, "dc", &len[6]) : NULL;
    float *dz = dc ? take(&b, args[7], 'f', 1, 0, "dz", &len[7]) : NULL;
    float *dh0 = dz ? take(&b, args[8], 'f', 1, 1, "dh0", &len[8]) : NULL;
    const void *ptrs[9] = {act, cs, tcs, c0, wt, dhs, dc, dz, dh0};
    const char *names[9] = {"act", "cs", "tcs", "c0", "w_t", "dhs", "dc", "dz", "dh0"};
    if (!dz || PyErr_Occurred() || seq_sizes(&b, ptrs, len, (Py_ssize_t[]){T * G * N, T * HN, T * HN, HN, H * G,
                                                                            T * HN, HN, G * T * N, HN}, names, 9))
        return fail(&b);
    float *scratch = malloc(sizeof(float) * (2 * HN + G * N));
    if (!scratch) {
        release(&b);
        return PyErr_NoMemory();
    }
    SeqArrays a = {.act = (float *)act, .w = wt, .c0 = c0, .cs = (float *)cs, .tcs = (float *)tcs, .dhs = dhs, .dc = dc,
                   .dz = dz, .dh0 = dh0, .rec = scratch};
    RUN(b, lstm_seq_backward(&q, &a));
    free(scratch);
    Py_RETURN_TRUE;
}

/* ------------------------------------------------------------------------------------------ attention */
/* Multi-head attention on the packed projections, one (batch, head) pair at a time: its scores (L x S) stay in
 * cache from q k^T through the softmax to p v, and the pairs run on the pool's threads (NumPy's batched matmul
 * runs them one after another on one core: each product is below OpenBLAS's threading threshold). The GEMMs are
 * OpenBLAS's (see linear), the softmax rows the softmax kernel's; backward as _attend_backward's, per pair.
 * A head's view: element (b, h, l, d) of q, k, v, the output or a gradient is base[off + b sb + h sh + l sl + d]
 * (geometry rows of 4 int64: off, sb, sh, sl). Python keeps each product small enough for OpenBLAS to run it on
 * the calling thread; a larger one would still be right (pool_blas gives a nested call threads of its own). */
typedef struct {
    float *base;
    Py_ssize_t off, sb, sh, sl;
} HeadView;

typedef struct {
    HeadView q, k, v, o, dq, dk, dv;        /* o: the output (forward) or its gradient dy (backward) */
    float *p, *scratch;
    const float *bias;
    Py_ssize_t H, L, S, Dh, Dv, brows;
    float scale;
} Attn;

static inline float *head_at(const HeadView *v, Py_ssize_t t, Py_ssize_t H) {
    return v->base + v->off + (t / H) * v->sb + (t % H) * v->sh;
}

/* The view of obj (float32, C-contiguous; None: absent when optional) at geometry g; every element it reaches
 * for N x H heads of rows x cols must lie inside the buffer. */
static int head_view(Bufs *b, HeadView *v, PyObject *obj, const int64_t *g, Py_ssize_t N, Py_ssize_t H,
                     Py_ssize_t rows, Py_ssize_t cols, int writable, int optional, const char *name) {
    Py_ssize_t len;
    v->base = take(b, obj, 'f', writable, optional, name, &len);
    if (!v->base) return PyErr_Occurred() ? -1 : 0;
    v->off = g[0], v->sb = g[1], v->sh = g[2], v->sl = g[3];
    if (v->off < 0 || v->sb < 0 || v->sh < 0 || v->sl < cols ||
        v->off + (N - 1) * v->sb + (H - 1) * v->sh + (rows - 1) * v->sl + cols > len) {
        PyErr_Format(PyExc_ValueError, "%s: the heads of %s reach outside its %zd elements", b->kernel, name, len);
        return -1;
    }
    return 0;
}

static void attn_fwd_range(void *ctx, Py_ssize_t lo, Py_ssize_t hi, int task) {
    Attn *a = ctx;
    Py_ssize_t H = a->H, L = a->L, S = a->S;
    for (Py_ssize_t t = lo; t < hi; t++) {
        float *s = a->p + t * L * S;
        sgemm(NO_TRANS, TRANS, L, S, a->Dh, head_at(&a->q, t, H), a->q.sl, head_at(&a->k, t, H), a->k.sl, s, S);
        softmax_loop(s, a->bias, L, S, a->brows, a->scale, t * L);
        sgemm(NO_TRANS, NO_TRANS, L, a->Dv, S, s, S, head_at(&a->v, t, H), a->v.sl, head_at(&a->o, t, H), a->o.sl);
    }
}

static void attn_bwd_range(void *ctx, Py_ssize_t lo, Py_ssize_t hi, int task) {
    Attn *a = ctx;
    Py_ssize_t H = a->H, L = a->L, S = a->S;
    float *ds = a->scratch + (Py_ssize_t)task * L * S;
    for (Py_ssize_t t = lo; t < hi; t++) {
        const float *p = a->p + t * L * S, *dy = head_at(&a->o, t, H);
        if (a->dv.base)
            sgemm(TRANS, NO_TRANS, S, a->Dv, L, p, S, dy, a->o.sl, head_at(&a->dv, t, H), a->dv.sl);
        if (!a->dq.base && !a->dk.base) continue;
        sgemm(NO_TRANS, TRANS, L, S, a->Dv, dy, a->o.sl, head_at(&a->v, t, H), a->v.sl, ds, S);
        softmax_bwd_loop(ds, p, L, S, a->scale);          /* dS, times the scale the forward folded in */
        if (a->dq.base)
            sgemm(NO_TRANS, NO_TRANS, L, a->Dh, S, ds, S, head_at(&a->k, t, H), a->k.sl, head_at(&a->dq, t, H),
                  a->dq.sl);
        if (a->dk.base)
            sgemm(TRANS, NO_TRANS, S, a->Dh, L, ds, S, head_at(&a->q, t, H), a->q.sl, head_at(&a->dk, t, H),
                  a->dk.sl);
    }
}

/* The arguments both kernels share: q, k, v, then the output (forward, writable) or dy (backward), the geometry
 * array (4 int64 per view), p, N, H, L, S, Dh, Dv, scale. -1: error set; 1: no BLAS (the kernel returns False). */
static int attn_setup(Bufs *b, Attn *a, PyObject *const *args, int nviews, Py_ssize_t *N, const int64_t **g,
                      int forward) {
    Py_ssize_t d[6], ng, np_;
    if (ints(b->kernel, args + nviews + 2, 6, d, 1) < 0) return -1;
    double scale = PyFloat_AsDouble(args[nviews + 8]);
    if (scale == -1.0 && PyErr_Occurred()) return -1;
    *N = d[0];
    a->H = d[1], a->L = d[2], a->S = d[3], a->Dh = d[4], a->Dv = d[5], a->scale = (float)scale;
    if (!sgemm_fn) return 1;
    *g = take(b, args[nviews], 'q', 0, 0, "geometry", &ng);
    if (!*g || check_len(b, "geometry", ng, 4 * nviews)) return -1;
    a->p = take(b, args[nviews + 1], 'f', 1, 0, "p", &np_);
    if (!a->p || check_len(b, "p", np_, d[0] * d[1] * d[2] * d[3])) return -1;
    if (head_view(b, &a->q, args[0], *g, *N, a->H, a->L, a->Dh, 0, 0, "q") ||
        head_view(b, &a->k, args[1], *g + 4, *N, a->H, a->S, a->Dh, 0, 0, "k") ||
        head_view(b, &a->v, args[2], *g + 8, *N, a->H, a->S, a->Dv, 0, 0, "v") ||
        head_view(b, &a->o, args[3], *g + 12, *N, a->H, a->L, a->Dv, forward, 0, forward ? "out" : "dy"))
        return -1;
    return 0;
}

/* attention_forward(q, k, v, out, geometry, p, N, H, L, S, Dh, Dv, scale, bias) -> True (False: no BLAS):
 * p (N, H, L, S) = softmax(q k^T * scale + bias) per head, out = p v. bias: None, or rows of S repeating over
 * p's rows (e.g. the (L, S) causal mask). geometry: int64 (4, 4), the views of q, k, v, out. */
static PyObject *k_attention_forward(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Bufs b = {.held = 0, .kernel = "attention_forward"};
    Attn a = {0};
    Py_ssize_t N, nb;
    const int64_t *g;
    int status = check_nargs(b.kernel, nargs, 14) < 0 ? -1 : attn_setup(&b, &a, args, 4, &N, &g, 1);
    if (status) {
        if (status < 0) return fail(&b);
        release(&b);
        Py_RETURN_FALSE;
    }
    a.bias = take(&b, args[13], 'f', 0, 1, "bias", &nb);
    if (PyErr_Occurred()) return fail(&b);
    if (a.bias && (nb == 0 || nb % a.S || (N * a.H * a.L) % (nb / a.S))) {
        PyErr_Format(PyExc_ValueError, "%s: bias (%zd elements) is not rows of %zd repeating over the scores", b.kernel,
                     nb, a.S);
        return fail(&b);
    }
    a.brows = a.bias ? nb / a.S : 1;
    RUN(b, par_for(attn_fwd_range, &a, N * a.H, 1));
    Py_RETURN_TRUE;
}

/* attention_backward(q, k, v, dy, dq, dk, dv, geometry, p, N, H, L, S, Dh, Dv, scale) -> True (False: no BLAS):
 * the gradients of attention_forward (its p) into the views of dq, dk, dv (None: not wanted). geometry: int64
 * (7, 4), the views of q, k, v, dy, dq, dk, dv. */
static PyObject *k_attention_backward(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Bufs b = {.held = 0, .kernel = "attention_backward"};
    Attn a = {0};
    Py_ssize_t N;
    const int64_t *g;
    int status = check_nargs(b.kernel, nargs, 16) < 0 ? -1 : attn_setup(&b, &a, args, 7, &N, &g, 0);
    if (status) {
        if (status < 0) return fail(&b);
        release(&b);
        Py_RETURN_FALSE;
    }
    if (head_view(&b, &a.dq, args[4], g + 16, N, a.H, a.L, a.Dh, 1, 1, "dq") ||
        head_view(&b, &a.dk, args[5], g + 20, N, a.H, a.S, a.Dh, 1, 1, "dk") ||
        head_view(&b, &a.dv, args[6], g + 24, N, a.H, a.S, a.Dv, 1, 1, "dv"))
        return fail(&b);
    int tasks = par_tasks(N * a.H, 1);
    a.scratch = malloc(sizeof(float) * (size_t)tasks * a.L * a.S);
    if (!a.scratch) {
        release(&b);
        return PyErr_NoMemory();
    }
    RUN(b, par_ranges(attn_bwd_range, &a, N * a.H, tasks));
    free(a.scratch);
    Py_RETURN_TRUE;
}

/* ------------------------------------------------------------------------------------------ module */
/* k_NAME is exported as NAME; arguments are positional (METH_FASTCALL), in the order its docstring gives */
#define KERNEL(fn, signature) {#fn, (PyCFunction)(void (*)(void))k_##fn, METH_FASTCALL, #fn signature}
static PyMethodDef methods[] = {
    KERNEL(set_threads, "(n, spin_us=-1)"),
    KERNEL(blas_callback, "()"),
    KERNEL(pool_info, "()"),
    KERNEL(gelu, "(x, dy, out, c, k)"),
    KERNEL(embedding_backward, "(idx, dy, dw)"),
    KERNEL(layer_norm_forward, "(x, w, b, y, stats, invstd, k, eps)"),
    KERNEL(layer_norm_backward, "(dy, x, stats, invstd, w, dx, dw, db, k)"),
    KERNEL(batch_norm_forward, "(x, w, b, y, stats, invstd, outer, C, inner, eps)"),
    KERNEL(batch_norm_backward, "(dy, x, stats, invstd, w, dx, dw, db, outer, C, inner)"),
    KERNEL(softmax_rows, "(s, bias, cols, scale)"),
    KERNEL(softmax_backward_rows, "(ds, p, cols, scale)"),
    KERNEL(maxpool2d_forward, "(x, y, arg, n, hp, wp, c, ho, wo, kh, kw, sh, sw, dh, dw)"),
    KERNEL(maxpool2d_backward, "(dy, arg, dx, overwrite, n, hp, wp, c, ho, wo, kh, kw, sh, sw, dh, dw)"),
    KERNEL(im2col, "(x, cols, n, hp, wp, c, ho, wo, kh, kw, sh, sw, dh, dw)"),
    KERNEL(col2im, "(dx, cols, n, hp, wp, c, ho, wo, kh, kw, sh, sw, dh, dw)"),
    KERNEL(conv_small_forward, "(x, w, b, y, O, n, hp, wp, c, ho, wo, kh, kw, sh, sw, dh, dw)"),
    KERNEL(conv_small_dweight, "(x, dy, dw, O, n, hp, wp, c, ho, wo, kh, kw, sh, sw, dh, dw)"),
    KERNEL(relu_forward, "(x, y)"),
    KERNEL(relu_backward, "(dy, y, dx)"),
    KERNEL(lstm_cell_forward, "(a, rec, c_prev, c, tc, h, H)"),
    KERNEL(lstm_cell_backward, "(dh_out, dh_rec, dc, act, c_prev, tc, dz, H)"),
    KERNEL(gru_cell_forward, "(a, rec, b_hn, h_prev, ghn, h, H)"),
    KERNEL(gru_cell_backward, "(dh_out, rec, carry, act, ghn, h_prev, dx_gates, dh_gates, H)"),
    KERNEL(sgd_momentum, "(param, d, buf, lr, momentum, keep)"),
    KERNEL(adam, "(param, d, exp_avg, exp_avg_sq, w1, beta2, w2, c2, eps, step)"),
    KERNEL(sgd_momentum_many, "(params, grads, buf, lr, momentum, keep)"),
    KERNEL(adam_many, "(params, grads, exp_avg, exp_avg_sq, decay, w1, beta2, w2, c2, eps, step)"),
    KERNEL(cross_entropy_forward, "(x, target, p, cols)"),
    KERNEL(cross_entropy_backward, "(p, target, dx, g, cols)"),
    KERNEL(set_blas, "(address, ilp64)"),
    KERNEL(linear_forward, "(x, w, b, y, n, i, o)"),
    KERNEL(linear_backward, "(dy, x, w, dx, dw, db, n, i, o)"),
    KERNEL(lstm_forward_fm, "(act, w, h0, c0, cs, tcs, hs, bias, T, H, N, reverse)"),
    KERNEL(lstm_backward_fm, "(act, cs, tcs, c0, w_t, dhs, dc, dz, dh0, T, H, N, reverse)"),
    KERNEL(attention_forward, "(q, k, v, out, geometry, p, N, H, L, S, Dh, Dv, scale, bias)"),
    KERNEL(attention_backward, "(q, k, v, dy, dq, dk, dv, geometry, p, N, H, L, S, Dh, Dv, scale)"),
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, .m_name = "redes._kernels", .m_doc = "Fused float32 CPU kernels (see redes/_kernels.c).",
    .m_size = -1, .m_methods = methods};

/* Raised whenever a kernel is added or its arguments change: redes/backend.py loads only the build it expects
 * (a stale build in a source tree would otherwise fail at the first call of a kernel it lacks). */
#define KERNELS_API 9

PyMODINIT_FUNC PyInit__kernels(void) {
#ifdef REDES_POOL
    pthread_atfork(NULL, NULL, pool_after_fork);
#endif
    PyObject *m = PyModule_Create(&module);
    if (m && PyModule_AddIntConstant(m, "API", KERNELS_API) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
