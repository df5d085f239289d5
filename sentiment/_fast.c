/* sentiment._fast: the training epoch and the scoring pass in compiled loops.
 *
 * An optional accelerator: the package runs the same steps with numpy and scipy when this
 * module is not built (no compiler at install time) or SENTIMENT_PURE=1 is set. Each
 * function does what its numpy counterpart does, in the same order of operations, in
 * float32 (tests/test_fast.py compares them):
 *
 *   epoch(...)   minibatches of sentiment.trainer._epoch_batched for two classes,
 *                cross-entropy, linear or relu hidden layer, no dropout, no L2, and the
 *                row-wise Adagrad or SGD step of sentiment.optim (step_sparse);
 *   logits(...)  sentiment.network.Network.logits for two classes.
 *
 * Why it pays: numpy/scipy walk the batch's non-zeros once per operation (forward
 * product, Adagrad's accumulator, its gather, the backward product) with a Python call
 * between each; here one loop does each pass over the batch with no temporaries.
 * Arrays arrive through the buffer protocol (no numpy headers needed to build); the GIL
 * is released while the loops run.
 */
#include "_fast.h"

/* non-zeros ahead whose weight row is fetched early: the rows are scattered in memory */
#define AHEAD 8

typedef struct {
    Py_buffer view;
    int held;
} Arr;

/* A C-contiguous buffer of items of ``itemsize`` bytes; ``kind`` 'f' float, 'i' integer. */
static int get_array(PyObject *obj, Arr *a, char kind, int writable, const char *name)
{
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    a->held = 0;
    if (PyObject_GetBuffer(obj, &a->view, flags) < 0)
        return -1;
    a->held = 1;
    const char *f = a->view.format ? a->view.format : "B";
    if (*f == '<' || *f == '=' || *f == '@')
        f++;
    int ok;
    if (kind == 'f')
        ok = (*f == 'f' && a->view.itemsize == 4);
    else
        ok = ((*f == 'i' || *f == 'l' || *f == 'q') &&
              (a->view.itemsize == 4 || a->view.itemsize == 8));
    if (!ok) {
        PyErr_Format(PyExc_TypeError, "%s: expected %s, got format '%s'", name,
                     kind == 'f' ? "float32" : "int32 or int64", a->view.format);
        return -1;
    }
    return 0;
}

static void release(Arr *arrs, int n)
{
    for (int i = 0; i < n; i++)
        if (arrs[i].held)
            PyBuffer_Release(&arrs[i].view);
}

static inline int64_t at(const Arr *a, Py_ssize_t k)
{
    return a->view.itemsize == 4 ? (int64_t)((const int32_t *)a->view.buf)[k]
                                 : ((const int64_t *)a->view.buf)[k];
}

static inline Py_ssize_t items(const Arr *a)
{
    return a->view.len / a->view.itemsize;
}

/* z[h] = b1[h] + sum over the row's non-zeros of data * W1[index][h] */
static inline __attribute__((always_inline)) void
row_forward(const Arr *indptr, const Arr *indices, const float *data, const float *W1,
            const float *b1, Py_ssize_t hidden, Py_ssize_t r, float *z, int64_t end)
{
    int64_t s = at(indptr, r), e = at(indptr, r + 1);
    for (Py_ssize_t h = 0; h < hidden; h++)
        z[h] = 0.0f;
    for (int64_t k = s; k < e; k++) {
        const float x = data[k];
        if (k + AHEAD < end)
            __builtin_prefetch(W1 + at(indices, k + AHEAD) * hidden);
        const float *w = W1 + at(indices, k) * hidden;
        for (Py_ssize_t h = 0; h < hidden; h++)
            z[h] += x * w[h];
    }
    for (Py_ssize_t h = 0; h < hidden; h++)
        z[h] += b1[h];
}

/* Indices must lie in [0, n_inputs): checked once per call, before any weight moves. */
static int check_indices(const Arr *indptr, const Arr *indices, Py_ssize_t n_data,
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
    for (int64_t k = first; k < last; k++) {
        int64_t j = at(indices, k);
        if (j < 0 || j >= n_inputs) {
            PyErr_Format(PyExc_IndexError, "feature index %lld outside 0..%lld",
                         (long long)j, (long long)n_inputs - 1);
            return -1;
        }
    }
    return 0;
}

typedef struct {
    const Arr *indptr, *indices;
    const float *data, *y;
    float *W1, *b1, *w2, *b2, *acc, *logits, *scratch;
    float lr;
    Py_ssize_t batch, n_rows;
    int relu, adagrad;
    int64_t end;  /* the last non-zero's end: prefetching stops there */
} Epoch;

/* The minibatches of epoch(); inlined twice, once with hidden = 8 known to the compiler. */
static inline __attribute__((always_inline)) void batches(const Epoch *c, Py_ssize_t hidden)
{
    const Arr *ip = c->indptr, *ix = c->indices;
    const float *data = c->data, *y = c->y;
    float *W1 = c->W1, *b1 = c->b1, *w2 = c->w2, *b2 = c->b2, *acc = c->acc;
    float *logits = c->logits, *z = c->scratch;
    const float lr = c->lr;
    const int relu = c->relu, adagrad = c->adagrad;
    const Py_ssize_t batch = c->batch, n_rows = c->n_rows, width = batch < n_rows ? batch : n_rows;
    float *d1 = z + width * hidden, *d2 = d1 + width * hidden, *per = d2 + width;
    float *gw2 = per + width, *gb1 = gw2 + hidden;
    for (Py_ssize_t lo = 0; lo < n_rows; lo += batch) {
        Py_ssize_t hi = lo + batch < n_rows ? lo + batch : n_rows, m = hi - lo;
        float gb2 = 0.0f;
        for (Py_ssize_t h = 0; h < hidden; h++)
            gw2[h] = gb1[h] = 0.0f;
        for (Py_ssize_t i = 0; i < m; i++) {
            float *zi = z + i * hidden, *di = d1 + i * hidden;
            row_forward(ip, ix, data, W1, b1, hidden, lo + i, zi, c->end);
            float z2 = 0.0f;
            for (Py_ssize_t h = 0; h < hidden; h++) {
                if (relu && zi[h] < 0.0f)
                    zi[h] = 0.0f;  /* zi holds the activation from here on */
                z2 += zi[h] * w2[h];
            }
            z2 += b2[0];
            logits[lo + i] = z2;
            float p = (1.0f + tanhf(0.5f * z2)) * 0.5f;
            float d = (p - y[lo + i]) / (float)m;
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
        const int64_t last = at(ip, hi);
        if (adagrad) {
            for (Py_ssize_t i = 0; i < m; i++)
                for (int64_t k = at(ip, lo + i), e = at(ip, lo + i + 1); k < e; k++)
                    acc[at(ix, k)] += data[k] * data[k] * per[i];
        }
        for (Py_ssize_t i = 0; i < m; i++) {
            float *di = d1 + i * hidden;
            for (Py_ssize_t h = 0; h < hidden; h++)  /* the step, -lr * delta, as numpy */
                di[h] *= -lr;
            for (int64_t k = at(ip, lo + i), e = at(ip, lo + i + 1); k < e; k++) {
                int64_t j = at(ix, k);
                if (k + AHEAD < last)
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

static const char *epoch_doc =
    "epoch(indptr, indices, data, y, W1, b1, w2, b2, acc, logits, lr, batch, relu, "
    "adagrad)\n\n"
    "Minibatches over the CSR rows (indptr, indices, data) with labels y (0/1): forward, "
    "cross-entropy, backward, and the step (row-wise Adagrad with accumulator acc, or SGD "
    "when adagrad is false) on W1 (n x hidden), b1, w2 (hidden), b2 (1), all float32 and "
    "updated in place; each row's logit before its batch's step goes to logits. Batches "
    "start at row 0 and every batch rows after it.";

static PyObject *epoch(PyObject *self, PyObject *args)
{
    PyObject *o[10];
    float lr;
    Py_ssize_t batch;
    int relu, adagrad;
    if (!PyArg_ParseTuple(args, "OOOOOOOOOOfnpp", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5],
                          &o[6], &o[7], &o[8], &o[9], &lr, &batch, &relu, &adagrad))
        return NULL;
    Arr a[10];
    memset(a, 0, sizeof a);
    static const char kinds[] = "iiffffffff";
    static const int writable[] = {0, 0, 0, 0, 1, 1, 1, 1, 1, 1};
    static const char *names[] = {"indptr", "indices", "data", "y", "W1", "b1", "w2", "b2",
                                  "acc", "logits"};
    for (int i = 0; i < 10; i++)
        if ((i != 8 || adagrad) && get_array(o[i], &a[i], kinds[i], writable[i], names[i]) < 0) {
            release(a, 10);
            return NULL;
        }
    Py_ssize_t n_rows = items(&a[0]) - 1;
    Py_ssize_t hidden = items(&a[5]);
    Py_ssize_t n_inputs = hidden ? items(&a[4]) / hidden : 0;
    if (batch < 1 || hidden < 1 || items(&a[6]) != hidden || items(&a[7]) != 1 ||
        items(&a[4]) != n_inputs * hidden || items(&a[3]) < n_rows ||
        items(&a[9]) < n_rows || (adagrad && items(&a[8]) != n_inputs)) {
        PyErr_SetString(PyExc_ValueError, "epoch: arrays of inconsistent sizes");
        release(a, 10);
        return NULL;
    }
    if (n_rows < 0 || check_indices(&a[0], &a[1], items(&a[2]), n_rows, n_inputs) < 0) {
        release(a, 10);
        return NULL;
    }
    const float *data = a[2].view.buf, *y = a[3].view.buf;
    float *W1 = a[4].view.buf, *b1 = a[5].view.buf, *w2 = a[6].view.buf, *b2 = a[7].view.buf;
    float *acc = adagrad ? a[8].view.buf : NULL, *logits = a[9].view.buf;
    Py_ssize_t width = batch < n_rows ? batch : (n_rows ? n_rows : 1);
    float *z = malloc(sizeof(float) * (size_t)(width * hidden * 2 + width * 2 + hidden * 2));
    if (!z) {
        release(a, 10);
        return PyErr_NoMemory();
    }
    Epoch c = {&a[0], &a[1], data, y, W1, b1, w2, b2, acc, logits, z, lr, batch, n_rows,
               relu, adagrad, at(&a[0], n_rows)};
    Py_BEGIN_ALLOW_THREADS
    if (hidden == 8)  /* the default: loops of known length, unrolled and vectorized */
        batches(&c, 8);
    else
        batches(&c, hidden);
    Py_END_ALLOW_THREADS

    free(z);
    release(a, 10);
    Py_RETURN_NONE;
}

static const char *logits_doc =
    "logits(indptr, indices, data, W1, b1, w2, b2, relu, out)\n\n"
    "out[i] = act(x_i @ W1 + b1) @ w2 + b2 for each CSR row i (two classes), float32.";

static PyObject *logits(PyObject *self, PyObject *args)
{
    PyObject *o[8];
    int relu;
    if (!PyArg_ParseTuple(args, "OOOOOOOpO", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &o[6],
                          &relu, &o[7]))
        return NULL;
    Arr a[8];
    memset(a, 0, sizeof a);
    static const char kinds[] = "iifffff" "f";
    static const char *names[] = {"indptr", "indices", "data", "W1", "b1", "w2", "b2", "out"};
    for (int i = 0; i < 8; i++)
        if (get_array(o[i], &a[i], kinds[i], i == 7, names[i]) < 0) {
            release(a, 8);
            return NULL;
        }
    Py_ssize_t n_rows = items(&a[0]) - 1, hidden = items(&a[4]);
    Py_ssize_t n_inputs = hidden ? items(&a[3]) / hidden : 0;
    if (n_rows < 0 || hidden < 1 || items(&a[5]) != hidden || items(&a[6]) != 1 ||
        items(&a[3]) != n_inputs * hidden || items(&a[7]) < n_rows ||
        check_indices(&a[0], &a[1], items(&a[2]), n_rows, n_inputs) < 0) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "logits: arrays of inconsistent sizes");
        release(a, 8);
        return NULL;
    }
    const float *data = a[2].view.buf, *W1 = a[3].view.buf, *b1 = a[4].view.buf;
    const float *w2 = a[5].view.buf, *b2 = a[6].view.buf;
    float *out = a[7].view.buf;
    float *z = malloc(sizeof(float) * (size_t)hidden);
    if (!z) {
        release(a, 8);
        return PyErr_NoMemory();
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t r = 0; r < n_rows; r++) {
        row_forward(&a[0], &a[1], data, W1, b1, hidden, r, z, at(&a[0], n_rows));
        float z2 = 0.0f;
        for (Py_ssize_t h = 0; h < hidden; h++)
            z2 += (relu && z[h] < 0.0f ? 0.0f : z[h]) * w2[h];
        out[r] = z2 + b2[0];
    }
    Py_END_ALLOW_THREADS
    free(z);
    release(a, 8);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"epoch", epoch, METH_VARARGS, NULL},
    {"logits", logits, METH_VARARGS, NULL},
    {"count_tokens", fast_count_tokens, METH_VARARGS, "count_tokens(text) -> tokens in text"},
    {"tokens", fast_tokens, METH_VARARGS,
     "tokens(text, window, cues, stops, starts, ends, h1, doc, inside) -> tokens: each "
     "token's bytes, hash, text and (inside not None) whether a negation governs it"},
    {"ngrams", fast_ngrams, METH_VARARGS,
     "ngrams(h1, doc, inside, k, out_h, out_doc) -> the k-grams within a text"},
    {"join_tokens", fast_join_tokens, METH_VARARGS,
     "join_tokens(data, starts, ends, first, n) -> bytes: token runs, one per line"},
    {"interleave_lines", fast_interleave_lines, METH_VARARGS,
     "interleave_lines(parts, total) -> bytes: parts' lines put at their positions"},
    {"factorize", fast_factorize, METH_VARARGS,
     "factorize(keys, codes, uniques, first, bounds) -> distinct keys"},
    {"merge_counts", fast_merge_counts, METH_VARARGS,
     "merge_counts(sources, out) -> entries: counting tables merged (FeatureCounter)"},
    {"lookup_table", fast_lookup_table, METH_VARARGS,
     "lookup_table(hashes, table): fill the int32 table (a power of two, at least twice "
     "the hashes) that lookup reads"},
    {"lookup", fast_lookup, METH_VARARGS,
     "lookup(table, hashes, queries, out): out[i] = the position of queries[i] in hashes, "
     "or -1"},
    {"rows_matrix", fast_rows_matrix, METH_VARARGS,
     "rows_matrix(rows, codes, negated, n_rows, n_cols, binary, indptr, indices, data) "
     "-> non-zeros"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_fast",
    "Compiled loops for training and scoring (optional; see sentiment/fast.py).", -1, methods,
};

PyMODINIT_FUNC PyInit__fast(void)
{
    methods[0].ml_doc = epoch_doc;
    methods[1].ml_doc = logits_doc;
    return PyModule_Create(&module);
}
