/* Shared by the sources of sentiment.native._fast: buffer checks and the functions of each file. */
#ifndef SENTIMENT_FAST_H
#define SENTIMENT_FAST_H
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* the bytes that end a negation's scope, besides NUL (sentiment.features.negation's _SCOPE_BYTE) */
#define SCOPE_BYTES ".,;:()\""

/* the multiplier that mixes n-gram hashes, also used to spread keys over hash slots */
#define MIX0 0x9E3779B97F4A7C15ULL

/* splitmix64's finalizer: a bijection of 64-bit words in which every output bit depends on
 * every input bit (sentiment.features.tokens.mix64 is its numpy twin) */
static inline uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Every function checks its arrays with the GIL held, then reads them without it: an
 * array must not change while a call runs (none of the package's does).
 *
 * A C-contiguous buffer of ``obj`` whose items have ``itemsize`` bytes and a format among
 * ``fmt`` (struct characters), ``n`` items long (n < 0: any length); a ValueError naming
 * it otherwise. */
static inline int get_exact(PyObject *obj, Py_buffer *v, const char *fmt, Py_ssize_t itemsize,
                            Py_ssize_t n, int writable, const char *name)
{
    if (PyObject_GetBuffer(obj, v, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT |
                           (writable ? PyBUF_WRITABLE : 0)) < 0)
        return -1;
    const char *f = v->format ? v->format : "B";
    if (*f == '<' || *f == '=' || *f == '@')
        f++;
    if (v->itemsize != itemsize || !strchr(fmt, *f) || (n >= 0 && v->len != n * itemsize)) {
        PyErr_Format(PyExc_ValueError, "%s: wrong type or size", name);
        PyBuffer_Release(v);
        return -1;
    }
    return 0;
}

/* Release the first ``n`` buffers of ``v`` (those a function got before it failed, or
 * all of them once done). */
static inline void release_buffers(Py_buffer *v, int n)
{
    for (int i = 0; i < n; i++)
        PyBuffer_Release(&v[i]);
}

/* non-zeros ahead whose weight row is fetched early: the rows are scattered in memory */
#define AHEAD 8

typedef struct {
    Py_buffer view;
    int held;
} Arr;

/* A C-contiguous buffer of items of ``itemsize`` bytes; ``kind`` 'f' float, 'i' integer. */
static inline int get_array(PyObject *obj, Arr *a, char kind, int writable, const char *name)
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
                     kind == 'f' ? "float32" : "int32 or int64", f);
        return -1;
    }
    return 0;
}

static inline void release(Arr *arrs, int n)
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
            const float *b1, Py_ssize_t hidden, int64_t r, float *z)
{
    int64_t s = at(indptr, r), e = at(indptr, r + 1);
    for (Py_ssize_t h = 0; h < hidden; h++)
        z[h] = 0.0f;
    for (int64_t k = s; k < e; k++) {
        const float x = data[k];
        if (k + AHEAD < e)
            __builtin_prefetch(W1 + at(indices, k + AHEAD) * hidden);
        const float *w = W1 + at(indices, k) * hidden;
        for (Py_ssize_t h = 0; h < hidden; h++)
            z[h] += x * w[h];
    }
    for (Py_ssize_t h = 0; h < hidden; h++)
        z[h] += b1[h];
}

/* A row's output from its hidden sums zi (made the activations in place: ReLU when relu):
 * its logit goes to *logit; returns the delta of the mean cross-entropy over m rows,
 * (sigmoid(logit) - y) / m. */
static inline __attribute__((always_inline)) float
row_delta(float *zi, const float *w2, const float *b2, int relu, Py_ssize_t hidden, float y,
          Py_ssize_t m, float *logit)
{
    float z2 = 0.0f;
    for (Py_ssize_t h = 0; h < hidden; h++) {
        if (relu && zi[h] < 0.0f)
            zi[h] = 0.0f;
        z2 += zi[h] * w2[h];
    }
    z2 += b2[0];
    *logit = z2;
    float p = (1.0f + tanhf(0.5f * z2)) * 0.5f;
    return (p - y) / (float)m;
}

/* An empty open-addressing table for ``size`` keys: the smallest power of two at least
 * twice ``size``, filled with -1 (its first mask + 1 slots of ``table``, which must be big
 * enough); returns the mask, and the number of bits in ``bits``. */
static inline size_t empty_table(int32_t *table, Py_ssize_t size, int *bits)
{
    int b = 1;
    while (((Py_ssize_t)1 << b) < 2 * size)
        b++;
    size_t mask = ((size_t)1 << b) - 1;
    if (size)
        memset(table, 0xff, sizeof(int32_t) * (mask + 1));
    *bits = b;
    return mask;
}

/* _epoch.c */
extern const char *fast_epoch_doc;
PyObject *fast_epoch(PyObject *self, PyObject *args);
int fast_check_indices(const Arr *indptr, const Arr *indices, Py_ssize_t n_data,
                       Py_ssize_t n_rows, Py_ssize_t n_inputs);
/* one call's epoch: its arrays (checked), the step, and the scratch of a batch */
typedef struct {
    const Arr *indptr, *indices;
    const float *data, *y;
    const int64_t *order;  /* the rows in the order visited; NULL: 0, 1, ... */
    float *W1, *b1, *w2, *b2, *acc, *logits, *scratch;
    float lr;
    Py_ssize_t batch, n_rows;  /* n_rows: rows visited */
    int relu, adagrad;
} Epoch;
#define ROW(c, i) ((c)->order ? (c)->order[i] : (int64_t)(i))
/* an epoch's arrays, step and batch scratch (activations z, deltas d1 and d2, each row's
 * squared delta per, the gradients gw2 and gb1) as the locals of a batch loop */
#define EPOCH_LOCALS(c, hidden) \
    const Arr *ip = (c)->indptr, *ix = (c)->indices; \
    const float *data = (c)->data, *y = (c)->y; \
    float *W1 = (c)->W1, *b1 = (c)->b1, *w2 = (c)->w2, *b2 = (c)->b2, *acc = (c)->acc; \
    float *logits = (c)->logits, *z = (c)->scratch; \
    const float lr = (c)->lr; \
    const int relu = (c)->relu, adagrad = (c)->adagrad; \
    const Py_ssize_t batch = (c)->batch, n_rows = (c)->n_rows, \
        width = batch < n_rows ? batch : n_rows; \
    float *d1 = z + width * (hidden), *d2 = d1 + width * (hidden), *per = d2 + width; \
    float *gw2 = per + width, *gb1 = gw2 + (hidden)
/* _epoch_pair.c: the epoch on two threads; 0 where no second thread could start (nothing
 * done then) */
int fast_batches_on_two(const Epoch *c, Py_ssize_t hidden);
/* where a walk over tokens is: the next byte, the text (NULs passed), whether a scope byte
 * was passed since the last token, and where the last emoticon ended (-1: none) */
typedef struct {
    Py_ssize_t i;
    int32_t doc;
    int scope_end;
    Py_ssize_t emoticon_end;
} TokenCursor;

/* _scripts.c: the next token of the rule with scripts and emoticons (sentiment.features.scripts) */
void fast_fill_scripts(void);
int fast_next_token3(const unsigned char *b, Py_ssize_t n, TokenCursor *c, Py_ssize_t *start);
/* _tokens.c */
void fast_fill_classes(void);
PyObject *fast_tokens(PyObject *self, PyObject *args);
PyObject *fast_ngrams(PyObject *self, PyObject *args);
/* _words.c */
PyObject *fast_join_tokens(PyObject *self, PyObject *args);
PyObject *fast_interleave_lines(PyObject *self, PyObject *args);
/* _counting.c */
PyObject *fast_factorize(PyObject *self, PyObject *args);
PyObject *fast_rows_matrix(PyObject *self, PyObject *args);
/* _lookup.c */
PyObject *fast_lookup_table(PyObject *self, PyObject *args);
PyObject *fast_lookup(PyObject *self, PyObject *args);
PyObject *fast_feature_sums(PyObject *self, PyObject *args);
PyObject *fast_chunk_columns(PyObject *self, PyObject *args);
/* _normalize.c */
void fast_fill_normalize(void);
PyObject *fast_normalized(PyObject *self, PyObject *args);
PyObject *fast_text_hashes(PyObject *self, PyObject *args);
/* _merge.c */
PyObject *fast_merge_counts(PyObject *self, PyObject *args);
PyObject *fast_prune_counts(PyObject *self, PyObject *args);

#endif
