/* sentiment.native._fast: the counting table's merge and prune
 * (sentiment.features.counting.FeatureCounter.merge_in).
 *
 * Each source is the table or a chunk's entries: one entry per distinct feature (hash,
 * positive and negative text counts, n, chunk and token of its first sighting), grouped
 * in 256 partitions by the hash's top byte. Partition by partition, the sources' entries
 * go through one small hash table: a feature's counts are summed, the rest comes from its
 * first sighting (the earliest source), features in order of first sighting. */
#include "_fast.h"

#define FIELDS 7 /* hash, pos, neg, n, chunk, token, bounds */

typedef struct {
    Py_buffer v[FIELDS];
    int got;
} Source;

static const char *names[FIELDS] = {"hash", "pos", "neg", "n", "chunk", "token", "bounds"};
static const char *formats[FIELDS] = {"QL", "il", "il", "bB", "il", "il", "ql"};
static const Py_ssize_t sizes[FIELDS] = {8, 4, 4, 1, 4, 4, 8};

/* ``tuple``'s 7 arrays into ``s`` (writable ones if ``writable``), the bounds checked
 * against the entries; errors name the function ``fn``. */
static int open_source(PyObject *tuple, Source *s, int writable, const char *fn)
{
    s->got = 0;
    if (!PyTuple_Check(tuple) || PyTuple_GET_SIZE(tuple) != FIELDS) {
        PyErr_Format(PyExc_TypeError, "%s: each table is a tuple of 7 arrays", fn);
        return -1;
    }
    Py_ssize_t n = -1;
    for (int f = 0; f < FIELDS; f++) {
        Py_ssize_t want = f == 6 ? 257 : n;
        if (get_exact(PyTuple_GET_ITEM(tuple, f), &s->v[f], formats[f], sizes[f], want,
                      writable, names[f]) < 0)
            return -1;
        s->got++;
        if (f == 0)
            n = s->v[0].len / 8;
    }
    const int64_t *b = s->v[6].buf;
    for (int p = 0; p < 256; p++)
        if (b[p] < 0 || b[p + 1] < b[p] || b[p + 1] > n) {
            PyErr_Format(PyExc_ValueError, "%s: bounds outside the entries", fn);
            return -1;
        }
    return 0;
}

static void close_source(Source *s)
{
    for (int f = 0; f < s->got; f++)
        PyBuffer_Release(&s->v[f]);
    s->got = 0;
}

/* merge_counts(sources, out) -> entries: ``out`` is a source-like tuple of arrays big
 * enough for every entry, filled with the merge (its bounds too). */
PyObject *fast_merge_counts(PyObject *self, PyObject *args)
{
    PyObject *sources_obj, *out_obj;
    if (!PyArg_ParseTuple(args, "O!O!", &PyTuple_Type, &sources_obj, &PyTuple_Type, &out_obj))
        return NULL;
    Py_ssize_t k = PyTuple_GET_SIZE(sources_obj);
    Source *src = calloc((size_t)k + 1, sizeof(Source));
    if (!src)
        return PyErr_NoMemory();
    Source *out = src + k;
    PyObject *result = NULL;
    int32_t *table = NULL;
    Py_ssize_t total = 0, opened = 0;
    for (; opened < k; opened++) {
        if (open_source(PyTuple_GET_ITEM(sources_obj, opened), &src[opened], 0,
                        "merge_counts") < 0)
            goto done;
        total += src[opened].v[0].len / 8;
    }
    if (!PyTuple_Check(out_obj) || PyTuple_GET_SIZE(out_obj) != FIELDS) {
        PyErr_SetString(PyExc_TypeError, "merge_counts: out is a tuple of 7 arrays");
        goto done;
    }
    for (int f = 0; f < FIELDS; f++) {
        if (get_exact(PyTuple_GET_ITEM(out_obj, f), &out->v[f], formats[f], sizes[f],
                      f == 6 ? 257 : total, 1, names[f]) < 0)
            goto done;
        out->got++;
    }
    Py_ssize_t biggest = 0;
    for (int p = 0; p < 256; p++) {
        Py_ssize_t size = 0;
        for (Py_ssize_t s = 0; s < k; s++) {
            const int64_t *b = src[s].v[6].buf;
            size += b[p + 1] - b[p];
        }
        biggest = size > biggest ? size : biggest;
    }
    int bits = 1;
    while (((Py_ssize_t)1 << bits) < 2 * biggest)
        bits++;
    table = malloc(sizeof(int32_t) * ((size_t)1 << bits));
    if (!table) {
        PyErr_NoMemory();
        goto done;
    }
    uint64_t *oh = out->v[0].buf;
    int32_t *opos = out->v[1].buf, *oneg = out->v[2].buf, *ochunk = out->v[4].buf,
            *otok = out->v[5].buf;
    int8_t *on = out->v[3].buf;
    int64_t *obounds = out->v[6].buf;
    Py_ssize_t at = 0;
    Py_BEGIN_ALLOW_THREADS
    obounds[0] = 0;
    for (int p = 0; p < 256; p++) {
        Py_ssize_t size = 0;
        for (Py_ssize_t s = 0; s < k; s++) {
            const int64_t *b = src[s].v[6].buf;
            size += b[p + 1] - b[p];
        }
        int b;
        const size_t mask = empty_table(table, size, &b);
        const Py_ssize_t first = at;
        for (Py_ssize_t s = 0; s < k; s++) {
            const int64_t *bd = src[s].v[6].buf;
            const uint64_t *h = src[s].v[0].buf;
            const int32_t *pos = src[s].v[1].buf, *neg = src[s].v[2].buf,
                          *chunk = src[s].v[4].buf, *tok = src[s].v[5].buf;
            const int8_t *n = src[s].v[3].buf;
            for (int64_t i = bd[p]; i < bd[p + 1]; i++) {
                size_t slot = (size_t)((h[i] * MIX0) >> (64 - b)) & mask;
                for (;;) {
                    int32_t e = table[slot];
                    if (e < 0) {
                        table[slot] = (int32_t)(at - first);
                        oh[at] = h[i], opos[at] = pos[i], oneg[at] = neg[i];
                        on[at] = n[i], ochunk[at] = chunk[i], otok[at] = tok[i];
                        at++;
                        break;
                    }
                    if (oh[first + e] == h[i]) {
                        opos[first + e] += pos[i];
                        oneg[first + e] += neg[i];
                        break;
                    }
                    slot = (slot + 1) & mask;
                }
            }
        }
        obounds[p + 1] = at;
    }
    Py_END_ALLOW_THREADS
    result = PyLong_FromSsize_t(at);
done:
    free(table);
    for (Py_ssize_t s = 0; s < opened; s++)
        close_source(&src[s]);
    if (opened < k)
        close_source(&src[opened]);
    close_source(out);
    free(src);
    return result;
}

/* prune_counts(table, entries, size, threshold) -> (entries kept, threshold): keep at
 * most ``size`` of the first ``entries`` entries of ``table`` (a source-like tuple, as
 * merge_counts fills it), in place: the count a feature needs (its positive and negative
 * texts) is raised from ``threshold`` to the least that leaves ``size`` or fewer, counts
 * over 2**20 counting as 2**20 (FeatureCounter.prune's rule, in two passes and no
 * temporary array per field). The bounds are updated; the entries kept keep their order.
 *
 * The histogram has a bin per count below SMALL_COUNTS and one for the rest: a full one
 * (8 MB, a bin per count up to 2**20) was a fresh mapping and thousands of page faults per
 * prune, the most frequent features' counts reaching the number of texts. Only when more
 * than ``size`` entries reach SMALL_COUNTS is the full one made. */
#define PRUNE_CAP (1 << 20)
#define SMALL_COUNTS (1 << 16)

/* the least count c (at most ``bins`` - 1, counts clamped to it) whose entries with c or
 * more number at most ``size``, or one past the largest count if none */
static int64_t least_fitting(const int32_t *pos, const int32_t *neg, Py_ssize_t entries,
                             int64_t bins, Py_ssize_t size, int64_t *hist)
{
    int64_t top = 0;
    memset(hist, 0, sizeof(int64_t) * (size_t)bins);
    for (Py_ssize_t i = 0; i < entries; i++) {
        int64_t c = (int64_t)pos[i] + neg[i];
        c = c < 0 ? 0 : (c > bins - 1 ? bins - 1 : c);
        hist[c]++;
        top = c > top ? c : top;
    }
    int64_t fits = top + 1, at_least = 0;
    for (int64_t c = top; c >= 0; c--) {
        at_least += hist[c];
        if (at_least > size)
            break;
        fits = c;
    }
    return fits;
}

PyObject *fast_prune_counts(PyObject *self, PyObject *args)
{
    PyObject *table_obj;
    Py_ssize_t entries, size;
    long long threshold;
    if (!PyArg_ParseTuple(args, "O!nnL", &PyTuple_Type, &table_obj, &entries, &size,
                          &threshold))
        return NULL;
    Source t;
    if (open_source(table_obj, &t, 1, "prune_counts") < 0) {
        close_source(&t);
        return NULL;
    }
    int64_t *bounds = t.v[6].buf;
    if (entries < 0 || bounds[0] != 0 || bounds[256] != entries) {
        close_source(&t);
        PyErr_SetString(PyExc_ValueError, "prune_counts: bounds outside the entries");
        return NULL;
    }
    int64_t *hist = malloc(sizeof(int64_t) * (SMALL_COUNTS + 1));
    if (!hist) {
        close_source(&t);
        return PyErr_NoMemory();
    }
    uint64_t *h = t.v[0].buf;
    int32_t *pos = t.v[1].buf, *neg = t.v[2].buf, *chunk = t.v[4].buf, *tok = t.v[5].buf;
    int8_t *nn = t.v[3].buf;
    Py_ssize_t at = 0;
    int failed = 0;
    Py_BEGIN_ALLOW_THREADS
    /* the last bin holds every count of SMALL_COUNTS or more: exact below it */
    int64_t fits = least_fitting(pos, neg, entries, SMALL_COUNTS + 1, size, hist);
    if (fits > SMALL_COUNTS) { /* more than size entries that frequent: the full histogram */
        int64_t *full = malloc(sizeof(int64_t) * (PRUNE_CAP + 1));
        if (full)
            fits = least_fitting(pos, neg, entries, PRUNE_CAP + 1, size, full);
        else
            failed = 1;
        free(full);
    }
    if (!failed) {
        if (fits > threshold)
            threshold = fits;
        int64_t lo = 0;
        for (int p = 0; p < 256; p++) {
            const int64_t hi = bounds[p + 1];
            for (int64_t i = lo; i < hi; i++)
                if ((int64_t)pos[i] + neg[i] >= threshold) {
                    h[at] = h[i], pos[at] = pos[i], neg[at] = neg[i];
                    nn[at] = nn[i], chunk[at] = chunk[i], tok[at] = tok[i];
                    at++;
                }
            lo = hi;
            bounds[p + 1] = at;
        }
    }
    Py_END_ALLOW_THREADS
    free(hist);
    close_source(&t);
    if (failed)
        return PyErr_NoMemory();
    return Py_BuildValue("nL", at, threshold);
}
