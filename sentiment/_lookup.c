/* sentiment._fast: the vocabulary's lookups (sentiment.vocab.Vocabulary.lookup): a hash
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
        PyBuffer_Release(&v[0]);
        return NULL;
    }
    const uint64_t *hashes = v[0].buf;
    int32_t *table = v[1].buf;
    Py_ssize_t n = v[0].len / 8, slots = v[1].len / 4;
    int bits = table_bits(slots);
    if (((Py_ssize_t)1 << bits) != slots || slots < 2 * n || n >= INT32_MAX || bits < 1) {
        PyBuffer_Release(&v[0]);
        PyBuffer_Release(&v[1]);
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
    PyBuffer_Release(&v[0]);
    PyBuffer_Release(&v[1]);
    Py_RETURN_NONE;
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
    int bits = table_bits(slots);
    if (((Py_ssize_t)1 << bits) != slots || slots < 2 * n || bits < 1) {
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
        size_t s = home_slot(q[i], bits);
        int64_t found = -1;
        /* a table of lookup_table's has an empty slot and only columns below n; any other
         * array is probed at most once round and read within bounds */
        for (Py_ssize_t probes = 0; probes < slots; probes++, s = (s + 1) & (size_t)(slots - 1)) {
            int32_t c = table[s];
            if (c < 0 || c >= n)
                break;
            if (hashes[c] == q[i]) {
                found = c;
                break;
            }
        }
        out[i] = found;
    }
    Py_END_ALLOW_THREADS
    result = Py_None;
    Py_INCREF(result);
done:
    for (int k = 0; k < got; k++)
        PyBuffer_Release(&v[k]);
    return result;
}
