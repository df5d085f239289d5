/* sentiment.native._fast: one epoch of minibatches (sentiment.training.batches.run_epoch's steps
 * for two classes, cross-entropy, row-wise Adagrad or SGD), rows visited in place in a
 * given order, on one thread or two. */
#include "_fast.h"

/* The feature indices of non-zeros lo..hi-1 must lie in [0, n_inputs). */
static int check_range(const Arr *indices, int64_t lo, int64_t hi, Py_ssize_t n_inputs)
{
    for (int64_t k = lo; k < hi; k++) {
        int64_t j = at(indices, k);
        if (j < 0 || j >= n_inputs) {
            PyErr_Format(PyExc_IndexError, "feature index %lld outside 0..%lld",
                         (long long)j, (long long)n_inputs - 1);
            return -1;
        }
    }
    return 0;
}

/* The rows ``order[0:m]`` (all rows when order is NULL) must lie in the matrix, and their
 * indices in [0, n_inputs): checked once per call, before any weight moves. */
static int check_rows(const Arr *indptr, const Arr *indices, Py_ssize_t n_data,
                      const int64_t *order, Py_ssize_t m, Py_ssize_t n_inputs)
{
    Py_ssize_t n_rows = items(indptr) - 1;
    if (n_rows < 0) {
        PyErr_SetString(PyExc_ValueError, "indptr is empty");
        return -1;
    }
    if (!order)
        return fast_check_indices(indptr, indices, n_data, n_rows, n_inputs);
    const int64_t limit = items(indices) < n_data ? items(indices) : n_data;
    for (Py_ssize_t i = 0; i < m; i++) {
        int64_t r = order[i];
        if (r < 0 || r >= n_rows || at(indptr, r) < 0 || at(indptr, r + 1) < at(indptr, r) ||
            at(indptr, r + 1) > limit) {
            PyErr_SetString(PyExc_IndexError, "a row outside the matrix, or its indptr "
                            "outside indices and data");
            return -1;
        }
        if (check_range(indices, at(indptr, r), at(indptr, r + 1), n_inputs) < 0)
            return -1;
    }
    return 0;
}

int fast_check_indices(const Arr *indptr, const Arr *indices, Py_ssize_t n_data,
                       Py_ssize_t n_rows, Py_ssize_t n_inputs)
{
    if (items(indptr) < n_rows + 1) {
        PyErr_SetString(PyExc_ValueError, "indptr is shorter than the rows asked for");
        return -1;
    }
    int64_t first = at(indptr, 0), last = at(indptr, n_rows);
    if (first < 0 || last < first || last > items(indices) || last > n_data) {
        PyErr_SetString(PyExc_ValueError, "indptr points outside indices or data");
        return -1;
    }
    for (Py_ssize_t r = 0; r < n_rows; r++)
        if (at(indptr, r + 1) < at(indptr, r)) {
            PyErr_SetString(PyExc_ValueError, "indptr is not increasing");
            return -1;
        }
    return check_range(indices, first, last, n_inputs);
}

/* The minibatches of epoch(); inlined twice, once with hidden = 8 known to the compiler. */
static inline __attribute__((always_inline)) void batches(const Epoch *c, Py_ssize_t hidden)
{
    EPOCH_LOCALS(c, hidden);
    for (Py_ssize_t lo = 0; lo < n_rows; lo += batch) {
        Py_ssize_t hi = lo + batch < n_rows ? lo + batch : n_rows, m = hi - lo;
        float gb2 = 0.0f;
        for (Py_ssize_t h = 0; h < hidden; h++)
            gw2[h] = gb1[h] = 0.0f;
        for (Py_ssize_t i = 0; i < m; i++) {
            float *zi = z + i * hidden, *di = d1 + i * hidden;
            row_forward(ip, ix, data, W1, b1, hidden, ROW(c, lo + i), zi);
            /* zi holds the activation from here on */
            float d = row_delta(zi, w2, b2, relu, hidden, y[lo + i], m, &logits[lo + i]);
            d2[i] = d;
            gb2 += d;
            float s = 0.0f;
            for (Py_ssize_t h = 0; h < hidden; h++) {
                float g = (relu && zi[h] <= 0.0f) ? 0.0f : d * w2[h];
                di[h] = g;
                s += g * g;
                gw2[h] += zi[h] * d;
                gb1[h] += g;
            }
            per[i] = s;
        }
        if (adagrad) {
            for (Py_ssize_t i = 0; i < m; i++) {
                const int64_t r = ROW(c, lo + i);
                for (int64_t k = at(ip, r), e = at(ip, r + 1); k < e; k++)
                    acc[at(ix, k)] += data[k] * data[k] * per[i];
            }
        }
        for (Py_ssize_t i = 0; i < m; i++) {
            float *di = d1 + i * hidden;
            for (Py_ssize_t h = 0; h < hidden; h++)  /* the step, -lr * delta, as numpy */
                di[h] *= -lr;
            const int64_t r = ROW(c, lo + i);
            for (int64_t k = at(ip, r), e = at(ip, r + 1); k < e; k++) {
                int64_t j = at(ix, k);
                if (k + AHEAD < e)
                    __builtin_prefetch(W1 + at(ix, k + AHEAD) * hidden, 1);
                float x = adagrad ? (1.0f / sqrtf(acc[j])) * data[k] : data[k];
                float *w = W1 + j * hidden;
                for (Py_ssize_t h = 0; h < hidden; h++)
                    w[h] += x * di[h];
            }
        }
        for (Py_ssize_t h = 0; h < hidden; h++) {
            w2[h] -= lr * gw2[h];
            b1[h] -= lr * gb1[h];
        }
        b2[0] -= lr * gb2;
    }
}

const char *fast_epoch_doc =
    "epoch(indptr, indices, data, order, y, W1, b1, w2, b2, acc, logits, lr, batch, relu, "
    "adagrad, threads=1)\n\n"
    "Minibatches over the CSR rows (indptr, indices, data), visited in ``order`` (int64 "
    "row numbers; None: all rows in turn), with labels y (0/1, in visiting order): "
    "forward, cross-entropy, backward, and the step (row-wise Adagrad with accumulator "
    "acc, or SGD when adagrad is false) on W1 (n x hidden), b1, w2 (hidden), b2 (1), all "
    "float32 and updated in place; each row's logit before its batch's step goes to "
    "logits (visiting order). Batches start at the first row visited and every batch rows "
    "after it. threads 2: each batch on two threads, the same results bit for bit (one "
    "where a second thread cannot start).";

PyObject *fast_epoch(PyObject *self, PyObject *args)
{
    PyObject *o[10], *order_obj;
    float lr;
    Py_ssize_t batch;
    int relu, adagrad, threads = 1;
    if (!PyArg_ParseTuple(args, "OOOOOOOOOOOfnpp|i", &o[0], &o[1], &o[2], &order_obj, &o[3],
                          &o[4], &o[5], &o[6], &o[7], &o[8], &o[9], &lr, &batch, &relu,
                          &adagrad, &threads))
        return NULL;
    Arr a[10];
    memset(a, 0, sizeof a);
    Py_buffer order_view;
    const int64_t *order = NULL;
    if (order_obj != Py_None) {
        if (get_exact(order_obj, &order_view, "ql", 8, -1, 0, "order") < 0)
            return NULL;
        order = order_view.buf;
    }
    static const char kinds[] = "iiffffffff";
    static const int writable[] = {0, 0, 0, 0, 1, 1, 1, 1, 1, 1};
    static const char *names[] = {"indptr", "indices", "data", "y", "W1", "b1", "w2", "b2",
                                  "acc", "logits"};
    for (int i = 0; i < 10; i++)
        if ((i != 8 || adagrad) && get_array(o[i], &a[i], kinds[i], writable[i], names[i]) < 0) {
            release(a, 10);
            if (order)
                PyBuffer_Release(&order_view);
            return NULL;
        }
    Py_ssize_t n_rows = order ? order_view.len / 8 : items(&a[0]) - 1;
    Py_ssize_t hidden = items(&a[5]);
    Py_ssize_t n_inputs = hidden ? items(&a[4]) / hidden : 0;
    if (batch < 1 || hidden < 1 || items(&a[6]) != hidden || items(&a[7]) != 1 ||
        items(&a[4]) != n_inputs * hidden || items(&a[3]) < n_rows ||
        items(&a[9]) < n_rows || (adagrad && items(&a[8]) != n_inputs)) {
        PyErr_SetString(PyExc_ValueError, "epoch: arrays of inconsistent sizes");
        n_rows = -1;
    }
    if (n_rows < 0 || check_rows(&a[0], &a[1], items(&a[2]), order, n_rows, n_inputs) < 0) {
        release(a, 10);
        if (order)
            PyBuffer_Release(&order_view);
        return NULL;
    }
    const float *data = a[2].view.buf, *y = a[3].view.buf;
    float *W1 = a[4].view.buf, *b1 = a[5].view.buf, *w2 = a[6].view.buf, *b2 = a[7].view.buf;
    float *acc = adagrad ? a[8].view.buf : NULL, *logits = a[9].view.buf;
    Py_ssize_t width = batch < n_rows ? batch : (n_rows ? n_rows : 1);
    float *z = malloc(sizeof(float) * (size_t)(width * hidden * 2 + width * 2 + hidden * 2));
    if (!z) {
        release(a, 10);
        if (order)
            PyBuffer_Release(&order_view);
        return PyErr_NoMemory();
    }
    Epoch c = {&a[0], &a[1], data, y, order, W1, b1, w2, b2, acc, logits, z, lr, batch,
               n_rows, relu, adagrad};
    Py_BEGIN_ALLOW_THREADS
    if (threads >= 2 && n_rows >= 2 && fast_batches_on_two(&c, hidden))
        ;
    else if (hidden == 8)  /* the default: loops of known length, unrolled and vectorized */
        batches(&c, 8);
    else
        batches(&c, hidden);
    Py_END_ALLOW_THREADS

    free(z);
    release(a, 10);
    if (order)
        PyBuffer_Release(&order_view);
    Py_RETURN_NONE;
}
