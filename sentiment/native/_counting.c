/* sentiment.native._fast, pass 1: distinct keys numbered (sentiment.features.counting.factorize)
 * and the
 * features of each text counted (sentiment.features.vocab.count_matrix, signed_matrix). */
#include "_fast.h"

/* factorize(keys, codes, uniques, first, bounds) -> number of distinct keys; see
 * sentiment.features.counting.factorize: distinct keys grouped by their top byte, each group in
 * order of first appearance. */
PyObject *fast_factorize(PyObject *self, PyObject *args)
{
    PyObject *o[5];
    if (!PyArg_ParseTuple(args, "OOOOO", &o[0], &o[1], &o[2], &o[3], &o[4]))
        return NULL;
    Py_buffer v[5];
    int got = 0;
    Py_ssize_t u = -1;
    if (get_exact(o[0], &v[0], "QL", 8, -1, 0, "keys") < 0)
        goto done;
    got++;
    Py_ssize_t n = v[0].len / 8;
    if (get_exact(o[1], &v[1], "il", 4, n, 1, "codes") < 0)
        goto done;
    got++;
    if (get_exact(o[2], &v[2], "QL", 8, n, 1, "uniques") < 0)
        goto done;
    got++;
    if (get_exact(o[3], &v[3], "ql", 8, n, 1, "first") < 0)
        goto done;
    got++;
    if (get_exact(o[4], &v[4], "ql", 8, 257, 1, "bounds") < 0)
        goto done;
    got++;
    if (n >= INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "factorize: too many keys for one call");
        goto done;
    }
    const uint64_t *keys = v[0].buf;
    int32_t *codes = v[1].buf;
    uint64_t *uniques = v[2].buf;
    int64_t *first = v[3].buf, *bounds = v[4].buf;
    int64_t start[257] = {0};
    int32_t *order = malloc(sizeof(int32_t) * (size_t)(n ? n : 1));
    uint64_t *ordered = malloc(sizeof(uint64_t) * (size_t)(n ? n : 1));
    if (!order || !ordered) {
        free(order), free(ordered);
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++)
        start[(keys[i] >> 56) + 1]++;
    Py_ssize_t biggest = 0;
    for (int p = 0; p < 256; p++) {
        if (start[p + 1] > biggest)
            biggest = start[p + 1];
        start[p + 1] += start[p];
    }
    int bits = 1;
    while (((Py_ssize_t)1 << bits) < 2 * biggest)
        bits++;
    int32_t *table = malloc(sizeof(int32_t) * ((size_t)1 << bits));
    if (!table) {
        free(order), free(ordered);
        PyErr_NoMemory();
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    int64_t next[256];
    memcpy(next, start, sizeof next);
    for (Py_ssize_t i = 0; i < n; i++) {  /* keys grouped by top byte, in their order */
        int64_t at_ = next[keys[i] >> 56]++;
        order[at_] = (int32_t)i;
        ordered[at_] = keys[i];
    }
    int32_t count = 0;
    bounds[0] = 0;
    for (int p = 0; p < 256; p++) {
        Py_ssize_t size = start[p + 1] - start[p];
        int b;
        const size_t mask = empty_table(table, size, &b);
        for (int64_t q = start[p]; q < start[p + 1]; q++) {
            int32_t i = order[q];
            uint64_t key = ordered[q];
            size_t slot = (size_t)((key * MIX0) >> (64 - b)) & mask;
            for (;;) {
                int32_t at_slot = table[slot];
                if (at_slot < 0) {
                    table[slot] = count;
                    uniques[count] = key;
                    first[count] = i;
                    order[q] = count++;
                    break;
                }
                if (uniques[at_slot] == key) {
                    order[q] = at_slot;
                    break;
                }
                slot = (slot + 1) & mask;
            }
        }
        bounds[p + 1] = count;
    }
    /* order[q] is now the code of the q-th key in partition order: back to key order, by
     * reading the 256 groups as streams (writing codes[i] group by group would jump
     * across the whole array at every key) */
    memcpy(next, start, sizeof next);
    for (Py_ssize_t i = 0; i < n; i++)
        codes[i] = order[next[keys[i] >> 56]++];
    Py_END_ALLOW_THREADS
    free(table);
    free(order), free(ordered);
    u = bounds[256];
done:
    release_buffers(v, got);
    return u < 0 ? NULL : PyLong_FromSsize_t(u);
}

/* Sort keys[0:n] in place (quicksort, insertion sort for short runs). */
static void sort_u64(uint64_t *keys, int64_t n)
{
    while (n > 24) {
        uint64_t a = keys[0], b = keys[n / 2], c = keys[n - 1];
        uint64_t pivot = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
        int64_t i = 0, j = n - 1;
        for (;;) {
            while (keys[i] < pivot)
                i++;
            while (keys[j] > pivot)
                j--;
            if (i >= j)
                break;
            uint64_t t = keys[i];
            keys[i++] = keys[j];
            keys[j--] = t;
        }
        /* recurse into the smaller side, loop on the larger */
        if (j + 1 < n - j - 1) {
            sort_u64(keys, j + 1);
            keys += j + 1;
            n -= j + 1;
        } else {
            sort_u64(keys + j + 1, n - j - 1);
            n = j + 1;
        }
    }
    for (int64_t i = 1; i < n; i++) {
        uint64_t t = keys[i];
        int64_t j = i;
        for (; j > 0 && keys[j - 1] > t; j--)
            keys[j] = keys[j - 1];
        keys[j] = t;
    }
}

/* rows_matrix(rows, codes, negated or None, n_rows, n_cols, binary, ordered, indptr,
 * indices, data[, positive, counts]) -> non-zeros: the CSR matrix with a 1 summed at each
 * (row, code); with ``negated``, plain minus negated occurrences (binary: presence each
 * way), zeros dropped: sentiment.features.vocab.count_matrix and signed_matrix. Each row's columns
 * in order of first occurrence (one lookup per entry), or with ``ordered`` sorted as scipy
 * leaves them. With ``positive`` (a flag per row) and ``counts`` (int32, 2 n_cols, zeros):
 * the rows each column is kept in, counted as evidence for the positive class (counts[c])
 * or the negative one (counts[n_cols + c]): the row's class, the other one where its value
 * is negative (said negated), as sentiment.training.chunks.hash_part counts them. */
PyObject *fast_rows_matrix(PyObject *self, PyObject *args)
{
    PyObject *o[8] = {NULL};
    Py_ssize_t n_rows, n_cols;
    int binary, ordered;
    if (!PyArg_ParseTuple(args, "OOOnnppOOO|OO", &o[0], &o[1], &o[2], &n_rows, &n_cols,
                          &binary, &ordered, &o[3], &o[4], &o[5], &o[6], &o[7]))
        return NULL;
    const int counting = o[6] != NULL && o[6] != Py_None;
    if (counting && (o[7] == NULL || o[7] == Py_None)) {
        PyErr_SetString(PyExc_TypeError, "rows_matrix: positive needs counts");
        return NULL;
    }
    Py_buffer v[8];
    int got = 0;
    Py_ssize_t nnz = -1;
    const int signed_ = o[2] != Py_None;
    if (n_rows < 0 || n_cols < 0 || n_cols > INT32_MAX / 2) {
        PyErr_SetString(PyExc_ValueError, "rows_matrix: n_rows and n_cols must be at least 0, "
                        "n_cols below 2**30");
        return NULL;
    }
    if (get_exact(o[0], &v[0], "il", 4, -1, 0, "rows") < 0)
        goto done;
    got++;
    Py_ssize_t n = v[0].len / 4;
    if (get_exact(o[1], &v[1], "il", 4, n, 0, "codes") < 0)
        goto done;
    got++;
    if (get_exact(o[3], &v[2], "il", 4, n_rows + 1, 1, "indptr") < 0)
        goto done;
    got++;
    if (get_exact(o[4], &v[3], "il", 4, n, 1, "indices") < 0)
        goto done;
    got++;
    if (get_exact(o[5], &v[4], "f", 4, n, 1, "data") < 0)
        goto done;
    got++;
    if (signed_) {
        if (get_exact(o[2], &v[5], "B?", 1, n, 0, "negated") < 0)
            goto done;
        got++;
    }
    const int at_pos = got;  /* where positive and counts are, when counting */
    if (counting) {
        if (get_exact(o[6], &v[got], "B?", 1, n_rows, 0, "positive") < 0)
            goto done;
        got++;
        if (get_exact(o[7], &v[got], "il", 4, 2 * n_cols, 1, "counts") < 0)
            goto done;
        got++;
    }
    if (n >= INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "rows_matrix: 2**31 entries or more in one call");
        goto done;
    }
    const int32_t *rows = v[0].buf, *codes = v[1].buf;
    const uint8_t *neg = signed_ ? v[5].buf : NULL;
    int32_t *indptr = v[2].buf, *indices = v[3].buf;
    float *data = v[4].buf;
    const uint8_t *positive = counting ? v[at_pos].buf : NULL;
    int32_t *counts = counting ? v[at_pos + 1].buf : NULL;
    /* seen[c]: (row + 1) << 32 | the entry's place in that row, for the last row with c */
    int64_t *seen = calloc((size_t)n_cols + 1, sizeof(int64_t));
    int64_t *next = calloc((size_t)n_rows + 1, sizeof(int64_t));
    int32_t *by_row = malloc(sizeof(int32_t) * (size_t)(n ? n : 1));
    uint8_t *flags = malloc((size_t)(n ? n : 1));
    uint64_t *pairs = NULL;  /* the sort's scratch, as long as the longest row */
    if (!seen || !next || !by_row || !flags) {
        PyErr_NoMemory();
        goto failed;
    }
    for (Py_ssize_t i = 0; i < n; i++) {  /* checked, and counted by row */
        if (rows[i] < 0 || rows[i] >= n_rows || codes[i] < 0 || codes[i] >= n_cols) {
            PyErr_SetString(PyExc_IndexError, "rows_matrix: a row or code out of range");
            goto failed;
        }
        next[rows[i] + 1]++;
    }
    if (ordered) {
        int64_t longest = 1;
        for (Py_ssize_t r = 0; r < n_rows; r++)
            longest = next[r + 1] > longest ? next[r + 1] : longest;
        if (!(pairs = malloc(sizeof(uint64_t) * (size_t)longest))) {
            PyErr_NoMemory();
            goto failed;
        }
    }
    Py_BEGIN_ALLOW_THREADS
    /* entries grouped by row, in their order (a counting sort; the input comes as blocks
     * of unigrams, bigrams, ... each in row order, so its writes go in a few streams),
     * the negated mark in the lowest bit */
    for (Py_ssize_t r = 0; r < n_rows; r++)
        next[r + 1] += next[r];
    for (Py_ssize_t i = 0; i < n; i++)
        by_row[next[rows[i]]++] = codes[i] * 2 + (neg ? (neg[i] != 0) : 0);
    /* next[r] is now the end of row r */
    int64_t w = 0, q = 0;
    indptr[0] = 0;
    for (Py_ssize_t r = 0; r < n_rows; r++) {
        const int64_t row0 = w, tag = (int64_t)(r + 1) << 32;
        for (; q < next[r]; q++) {
            if (q + 16 < n)  /* seen[] is read at random: ask for it ahead */
                __builtin_prefetch(&seen[by_row[q + 16] >> 1], 1);
            int32_t c = by_row[q] >> 1, negated = by_row[q] & 1;
            int64_t s = seen[c];
            int64_t at_;
            if ((s & ~(int64_t)0xffffffff) == tag) {
                at_ = row0 + (s & 0xffffffff);
            } else {
                at_ = w++;
                seen[c] = tag | (at_ - row0);
                indices[at_] = c;
                data[at_] = 0.0f;
                flags[at_] = 0;
            }
            data[at_] += negated ? -1.0f : 1.0f;
            flags[at_] |= negated ? 2 : 1;
        }
        /* drop what cancels out; binary presence said each way */
        int64_t kept = row0;
        const int64_t mine = counts ? (positive[r] == 0) * n_cols : 0;  /* most counts */
        for (int64_t k = row0; k < w; k++) {
            if (counts && k + 16 < w)
                __builtin_prefetch(&counts[mine + indices[k + 16]], 1);
            float value = data[k];
            if (signed_ && binary)
                value = (float)((flags[k] & 1) - ((flags[k] >> 1) & 1));
            if (value != 0.0f) {
                if (counts)  /* for the row's class, or the other where said negated */
                    counts[((positive[r] != 0) == (value < 0.0f)) * n_cols + indices[k]]++;
                indices[kept] = indices[k];
                data[kept++] = value;
            }
        }
        w = kept;
        if (ordered && w - row0 > 1) {  /* sorted as column << 32 | the value's bits */
            for (int64_t k = row0; k < w; k++) {
                uint32_t bits;
                memcpy(&bits, &data[k], 4);
                pairs[k - row0] = (uint64_t)(uint32_t)indices[k] << 32 | bits;
            }
            sort_u64(pairs, w - row0);
            for (int64_t k = row0; k < w; k++) {
                uint32_t bits = (uint32_t)pairs[k - row0];
                indices[k] = (int32_t)(pairs[k - row0] >> 32);
                memcpy(&data[k], &bits, 4);
            }
        }
        indptr[r + 1] = (int32_t)w;
    }
    nnz = w;
    Py_END_ALLOW_THREADS
failed:
    free(seen), free(next), free(by_row), free(flags), free(pairs);
done:
    release_buffers(v, got);
    return nnz < 0 ? NULL : PyLong_FromSsize_t(nnz);
}
