/* sentiment.native._fast: the vocabulary's lookups (sentiment.features.vocab.Vocabulary.lookup): a
 * hash
 * table over its hashes, made once, then each query's column or -1. */
#include "_fast.h"

/* A hash table over a vocabulary's hashes: slot -> column (or -1); the slot of a hash is
 * the top bits of hash * MIX0, probed linearly. */
static inline size_t home_slot(uint64_t h, int bits)
{
    return (size_t)((h * MIX0) >> (64 - bits));
}

static int table_bits(Py_ssize_t slots)
{
    int bits = 0;
    while (((Py_ssize_t)1 << bits) < slots)
        bits++;
    return bits;
}

/* The bits of a table of ``slots`` over n hashes, as lookup_table makes it (a power of two,
 * at least twice n), or -1 */
static int table_fits(Py_ssize_t slots, Py_ssize_t n)
{
    int bits = table_bits(slots);
    return (((Py_ssize_t)1 << bits) != slots || slots < 2 * n || bits < 1) ? -1 : bits;
}

/* lookup_table(hashes, table): fill ``table`` (int32, a power of two at least twice the
 * hashes) for :func:`lookup`; the first column of a repeated hash wins. */
PyObject *fast_lookup_table(PyObject *self, PyObject *args)
{
    PyObject *o[2];
    if (!PyArg_ParseTuple(args, "OO", &o[0], &o[1]))
        return NULL;
    Py_buffer v[2];
    if (get_exact(o[0], &v[0], "QL", 8, -1, 0, "hashes") < 0)
        return NULL;
    if (get_exact(o[1], &v[1], "il", 4, -1, 1, "table") < 0) {
        release_buffers(v, 1);
        return NULL;
    }
    const uint64_t *hashes = v[0].buf;
    int32_t *table = v[1].buf;
    Py_ssize_t n = v[0].len / 8, slots = v[1].len / 4;
    int bits = table_fits(slots, n);
    if (bits < 0 || n >= INT32_MAX) {
        release_buffers(v, 2);
        PyErr_SetString(PyExc_ValueError, "lookup_table: the table must be a power of two "
                        "at least twice the hashes");
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    memset(table, 0xff, sizeof(int32_t) * (size_t)slots);
    for (Py_ssize_t i = 0; i < n; i++) {
        size_t s = home_slot(hashes[i], bits);
        while (table[s] >= 0 && hashes[table[s]] != hashes[i])
            s = (s + 1) & (size_t)(slots - 1);
        if (table[s] < 0)
            table[s] = (int32_t)i;
    }
    Py_END_ALLOW_THREADS
    release_buffers(v, 2);
    Py_RETURN_NONE;
}

/* The column of hash h in ``table`` (of lookup_table's, over hashes[0:n]), or -1. A
 * table of lookup_table's has an empty slot and only columns below n; any other array is
 * probed at most once round and read within bounds. */
static inline int64_t probe(const int32_t *table, Py_ssize_t slots, int bits,
                            const uint64_t *hashes, Py_ssize_t n, uint64_t h)
{
    size_t s = home_slot(h, bits);
    for (Py_ssize_t probes = 0; probes < slots; probes++, s = (s + 1) & (size_t)(slots - 1)) {
        int32_t c = table[s];
        if (c < 0 || c >= n)
            return -1;
        if (hashes[c] == h)
            return c;
    }
    return -1;
}

/* lookup(table, hashes, queries, out): out[i] = the column of queries[i], or -1. */
PyObject *fast_lookup(PyObject *self, PyObject *args)
{
    PyObject *o[4];
    if (!PyArg_ParseTuple(args, "OOOO", &o[0], &o[1], &o[2], &o[3]))
        return NULL;
    Py_buffer v[4];
    int got = 0;
    PyObject *result = NULL;
    if (get_exact(o[0], &v[0], "il", 4, -1, 0, "table") < 0)
        goto done;
    got++;
    if (get_exact(o[1], &v[1], "QL", 8, -1, 0, "hashes") < 0)
        goto done;
    got++;
    if (get_exact(o[2], &v[2], "QL", 8, -1, 0, "queries") < 0)
        goto done;
    got++;
    Py_ssize_t m = v[2].len / 8, slots = v[0].len / 4, n = v[1].len / 8;
    if (get_exact(o[3], &v[3], "ql", 8, m, 1, "out") < 0)
        goto done;
    got++;
    int bits = table_fits(slots, n);
    if (bits < 0) {
        PyErr_SetString(PyExc_ValueError, "lookup: a table made by lookup_table is needed");
        goto done;
    }
    const int32_t *table = v[0].buf;
    const uint64_t *hashes = v[1].buf, *q = v[2].buf;
    int64_t *out = v[3].buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < m; i++) {
        if (i + 8 < m)
            __builtin_prefetch(table + home_slot(q[i + 8], bits));
        out[i] = probe(table, slots, bits, hashes, n, q[i]);
    }
    Py_END_ALLOW_THREADS
    result = Py_None;
    Py_INCREF(result);
done:
    release_buffers(v, got);
    return result;
}

/* feature_sums(table, hashes, queries, rows, negation, presence, W1, stamps, plain,
 * negated): the compact model's logits before the bias (sentiment.model.model.Model.logits).
 * For each query: its column c (as lookup finds it; unknown ones skipped), then the row
 * W1[c] (K floats) added to plain[rows[i]] or, when ``negation`` and the query's lowest
 * bit says it was negated (the bit cleared before the lookup), to negated[rows[i]]; with
 * ``presence``, each (text, column, sign) once: ``stamps`` (int32, one per column, twice
 * with negation, set to -1 by the caller) remembers the last text that added it, exact
 * when each column's queries come in order of text, as every n-gram block of a
 * HashedCorpus has them. Sums are float64, in the order of the queries. */
PyObject *fast_feature_sums(PyObject *self, PyObject *args)
{
    PyObject *o[8];
    int negation, presence;
    if (!PyArg_ParseTuple(args, "OOOOppOOOO", &o[0], &o[1], &o[2], &o[3], &negation,
                          &presence, &o[4], &o[5], &o[6], &o[7]))
        return NULL;
    static const char *fmts[] = {"il", "QL", "QL", "il", "f", "il", "d", "d"};
    static const Py_ssize_t sizes[] = {4, 8, 8, 4, 4, 4, 8, 8};
    static const char *names[] = {"table", "hashes", "queries", "rows", "W1", "stamps",
                                  "plain", "negated"};
    Py_buffer v[8];
    int got = 0;
    PyObject *result = NULL;
    for (; got < 8; got++)
        if (get_exact(o[got], &v[got], fmts[got], sizes[got], -1, got >= 5, names[got]) < 0)
            goto done;
    Py_ssize_t slots = v[0].len / 4, n = v[1].len / 8, m = v[2].len / 8;
    Py_ssize_t k_cols = n ? (v[4].len / 4) / n : 0, n_rows = k_cols ? v[6].len / 8 / k_cols : 0;
    int bits = table_fits(slots, n);
    if (bits < 0 || v[3].len / 4 != m ||
        k_cols < 1 || v[4].len != 4 * n * k_cols || v[6].len != 8 * n_rows * k_cols ||
        v[7].len != v[6].len || v[5].len < 4 * n * (negation ? 2 : 1)) {
        PyErr_SetString(PyExc_ValueError, "feature_sums: arrays of inconsistent sizes");
        goto done;
    }
    const int32_t *table = v[0].buf, *rows = v[3].buf;
    const uint64_t *hashes = v[1].buf, *q = v[2].buf;
    const float *W1 = v[4].buf;
    int32_t *stamps = v[5].buf;
    double *sums[2] = {v[6].buf, v[7].buf};
    const uint64_t clear = negation ? ~(uint64_t)1 : ~(uint64_t)0;
    int32_t *cols = malloc(sizeof(int32_t) * (size_t)(m ? m : 1));
    if (!cols) {
        PyErr_NoMemory();
        goto done;
    }
    int bad = 0;
    Py_BEGIN_ALLOW_THREADS
    /* two passes, each fetching its scattered reads ahead: the columns (table slot, then
     * the hash it points to), then each column's stamp and weights */
    for (Py_ssize_t i = 0; i < m; i++) {
        if (i + 2 * AHEAD < m)
            __builtin_prefetch(table + home_slot(q[i + 2 * AHEAD] & clear, bits));
        if (i + AHEAD < m) {
            int32_t t = table[home_slot(q[i + AHEAD] & clear, bits)];
            if (t >= 0 && t < n)
                __builtin_prefetch(hashes + t);
        }
        cols[i] = (int32_t)probe(table, slots, bits, hashes, n, q[i] & clear);
    }
    for (Py_ssize_t i = 0; i < m; i++) {
        if (i + AHEAD < m && cols[i + AHEAD] >= 0) {
            const int32_t a = cols[i + AHEAD];
            __builtin_prefetch(W1 + a * k_cols);
            if (presence)
                __builtin_prefetch(stamps + (negation && (q[i + AHEAD] & 1) ? n : 0) + a);
        }
        const int32_t c = cols[i], r = rows[i];
        if (c < 0)
            continue;
        if (r < 0 || r >= n_rows) {
            bad = 1;
            break;
        }
        const int neg = negation && (q[i] & 1);
        if (presence) {
            int32_t *stamp = stamps + (neg ? n : 0) + c;
            if (*stamp == r)
                continue;
            *stamp = r;
        }
        const float *w = W1 + (Py_ssize_t)c * k_cols;
        double *out = sums[neg] + (Py_ssize_t)r * k_cols;
        for (Py_ssize_t k = 0; k < k_cols; k++)
            out[k] += (double)w[k];
    }
    Py_END_ALLOW_THREADS
    free(cols);
    if (bad) {
        PyErr_SetString(PyExc_ValueError, "feature_sums: a row out of range");
        goto done;
    }
    result = Py_None;
    Py_INCREF(result);
done:
    release_buffers(v, got);
    return result;
}

/* whether the CSR row pointers ``indptr`` (n_rows + 1) rise from 0.. within n entries */
static int rows_ok(const int32_t *indptr, Py_ssize_t n_rows, Py_ssize_t n)
{
    if (indptr[0] < 0)
        return 0;
    for (Py_ssize_t r = 0; r < n_rows; r++)
        if (indptr[r + 1] < indptr[r])
            return 0;
    return indptr[n_rows] <= n;
}

/* chunk_columns(indptr, indices, ids, data, sign, scale, out_indptr, out_indices,
 * out_data) -> non-zeros: a chunk as pass 1 keeps it (each row's local codes
 * ``indices``, its values ``data`` or None for ones, ``sign`` (int8) or None) as CSR
 * arrays of the columns ``ids`` gives each code (-1: dropped), each value times its
 * sign, then times ``scale`` of its column (None: as it is): the gathers, filters and
 * products of sentiment.training.chunks.chunk_columns and Vocabulary.input_values in one pass. */
PyObject *fast_chunk_columns(PyObject *self, PyObject *args)
{
    PyObject *o[9];
    if (!PyArg_ParseTuple(args, "OOOOOOOOO", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5],
                          &o[6], &o[7], &o[8]))
        return NULL;
    static const char *fmts[] = {"il", "il", "ql", "f", "b", "f", "ql", "il", "f"};
    static const Py_ssize_t sizes[] = {4, 4, 8, 4, 1, 4, 8, 4, 4};
    static const char *names[] = {"indptr", "indices", "ids", "data", "sign", "scale",
                                  "out_indptr", "out_indices", "out_data"};
    Py_buffer v[9];
    int held[9] = {0};
    Py_ssize_t nnz = -1;
    for (int i = 0; i < 9; i++) {
        if (o[i] == Py_None && (i == 3 || i == 4 || i == 5))
            continue;
        if (get_exact(o[i], &v[i], fmts[i], sizes[i], -1, i >= 6, names[i]) < 0)
            goto done;
        held[i] = 1;
    }
    Py_ssize_t n_rows = v[0].len / 4 - 1, n = v[1].len / 4, n_ids = v[2].len / 8;
    const int32_t *indptr = v[0].buf, *indices = v[1].buf;
    const int64_t *ids = v[2].buf;
    const float *data = held[3] ? v[3].buf : NULL, *scale = held[5] ? v[5].buf : NULL;
    const int8_t *sign = held[4] ? v[4].buf : NULL;
    Py_ssize_t n_scale = held[5] ? v[5].len / 4 : 0;
    if (n_rows < 0 || (data && v[3].len / 4 < n) || (sign && v[4].len < n) ||
        v[6].len / 8 != n_rows + 1 || v[7].len / 4 < n || v[8].len / 4 < n ||
        !rows_ok(indptr, n_rows, n)) {
        PyErr_SetString(PyExc_ValueError, "chunk_columns: arrays of inconsistent sizes");
        goto done;
    }
    int64_t *out_indptr = v[6].buf;
    int32_t *out_indices = v[7].buf;
    float *out_data = v[8].buf;
    int bad = 0;
    Py_ssize_t w = 0;
    Py_BEGIN_ALLOW_THREADS
    const int32_t end = n_rows ? indptr[n_rows] : 0;
    for (Py_ssize_t r = 0; r < n_rows && !bad; r++) {
        out_indptr[r] = w;
        for (int32_t k = indptr[r]; k < indptr[r + 1]; k++) {
            /* ids[] and scale[] are read at random: asked for ahead */
            if (k + 16 < end)
                __builtin_prefetch(&ids[indices[k + 16]]);
            if (scale && k + 8 < end && indices[k + 8] >= 0 && indices[k + 8] < n_ids) {
                const int64_t ahead = ids[indices[k + 8]];
                if (ahead >= 0 && ahead < n_scale)
                    __builtin_prefetch(&scale[ahead]);
            }
            if (indices[k] < 0 || indices[k] >= n_ids) {
                bad = 1;
                break;
            }
            const int64_t c = ids[indices[k]];
            if (c < 0)
                continue;
            if (c > INT32_MAX || (scale && c >= n_scale)) {
                bad = 1;
                break;
            }
            float x = data ? data[k] : 1.0f;
            if (sign)
                x = x * (float)sign[k];
            if (scale)
                x = x * scale[c];
            out_indices[w] = (int32_t)c;
            out_data[w++] = x;
        }
    }
    out_indptr[n_rows] = w;
    Py_END_ALLOW_THREADS
    if (bad) {
        PyErr_SetString(PyExc_IndexError, "chunk_columns: a code or a column out of range");
        goto done;
    }
    nnz = w;
done:
    for (int i = 0; i < 9; i++)
        if (held[i])
            PyBuffer_Release(&v[i]);
    return nnz < 0 ? NULL : PyLong_FromSsize_t(nnz);
}
