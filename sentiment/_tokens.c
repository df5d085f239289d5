/* sentiment._fast, pass 1: the tokens of normalized text, their hashes, negation scopes and
 * n-grams, as sentiment.text._hash_chunk and sentiment.negation.negated make them. */
#include "_fast.h"


static const uint64_t BASE = 0x100000001B3ULL, MIX1 = 0xC2B2AE3D27D4EB4FULL, SALT = 0x165667B19E3779F9ULL;

/* byte classes of sentiment.text: 0 separator, 1 word, 2 "!" or "?", 3 apostrophe */
static inline int byte_class(unsigned char b)
{
    if ((b >= 'a' && b <= 'z') || (b >= '0' && b <= '9') || b >= 0x80)
        return 1;
    if (b == '!' || b == '?')
        return 2;
    return b == '\'' ? 3 : 0;
}

/* the class of byte i once an apostrophe is a word byte only between two word bytes */
static inline int token_class(const unsigned char *b, Py_ssize_t n, Py_ssize_t i)
{
    int c = byte_class(b[i]);
    if (c == 3)
        c = (i > 0 && byte_class(b[i - 1]) == 1 && i + 1 < n && byte_class(b[i + 1]) == 1);
    return c;
}

static inline int is_scope_end(unsigned char b)
{
    return b == '.' || b == ',' || b == ';' || b == ':' || b == '(' || b == ')' ||
           b == '"' || b == 0;
}

static inline int member(uint64_t h, const uint64_t *set, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++)
        if (set[i] == h)
            return 1;
    return 0;
}

/* Walk the tokens of b[0:n]; with out == NULL only count them. */
typedef struct {
    int64_t *starts, *ends;
    uint64_t *h1;
    int32_t *doc;
    uint8_t *inside;  /* NULL: no negation */
    Py_ssize_t window;
    const uint64_t *cues, *stops;
    Py_ssize_t n_cues, n_stops;
} Tokens;

static Py_ssize_t scan_tokens(const unsigned char *b, Py_ssize_t n, const Tokens *out)
{
    Py_ssize_t t = 0, last = -1;
    int32_t doc = 0;
    int scope_end = 0, last_cue = 0;
    Py_ssize_t i = 0;
    while (i < n) {
        int c = token_class(b, n, i);
        if (c == 0) {
            if (b[i] == 0)
                doc++;
            scope_end |= is_scope_end(b[i]);
            i++;
            continue;
        }
        Py_ssize_t e = i + 1;
        if (c == 1)
            while (e < n && token_class(b, n, e) == 1)
                e++;
        if (out) {
            uint64_t h = 0, pw = 1;
            for (Py_ssize_t k = i; k < e; k++) {
                h += (uint64_t)b[k] * pw;
                pw *= BASE;
            }
            out->starts[t] = i;
            out->ends[t] = e;
            out->doc[t] = doc;
            if (out->inside) {
                int cue = member(h, out->cues, out->n_cues) ||
                          (e - i >= 4 && b[e - 1] == 't' && b[e - 2] == '\'' && b[e - 3] == 'n');
                int stop = member(h, out->stops, out->n_stops);
                if (t == 0 || scope_end || stop || cue) {
                    last = t;
                    last_cue = cue;
                }
                out->inside[t] = last_cue && t > last && t - last <= out->window;
                h &= ~(uint64_t)1;
            }
            out->h1[t] = h;
        }
        scope_end = 0;
        t++;
        i = e;
    }
    return t;
}

PyObject *fast_count_tokens(PyObject *self, PyObject *args)
{
    Py_buffer b;
    if (!PyArg_ParseTuple(args, "y*", &b))
        return NULL;
    Py_ssize_t t;
    Py_BEGIN_ALLOW_THREADS
    t = scan_tokens(b.buf, b.len, NULL);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&b);
    return PyLong_FromSsize_t(t);
}

PyObject *fast_tokens(PyObject *self, PyObject *args)
{
    Py_buffer b, v[7];
    PyObject *o[7];
    Py_ssize_t window;
    if (!PyArg_ParseTuple(args, "y*nOOOOOOO", &b, &window, &o[0], &o[1], &o[2], &o[3], &o[4],
                          &o[5], &o[6]))
        return NULL;
    Py_ssize_t t = -1;
    int got = 0;
    Tokens out = {0};
    const int negation = o[6] != Py_None;
    if (get_exact(o[0], &v[0], "QL", 8, -1, 0, "cues") < 0)
        goto done;
    got++;
    if (get_exact(o[1], &v[1], "QL", 8, -1, 0, "stops") < 0)
        goto done;
    got++;
    Py_ssize_t m;
    if (get_exact(o[2], &v[2], "ql", 8, -1, 1, "starts") < 0)
        goto done;
    got++;
    m = v[2].len / 8;
    if (get_exact(o[3], &v[3], "ql", 8, m, 1, "ends") < 0)
        goto done;
    got++;
    if (get_exact(o[4], &v[4], "QL", 8, m, 1, "h1") < 0)
        goto done;
    got++;
    if (get_exact(o[5], &v[5], "il", 4, m, 1, "doc") < 0)
        goto done;
    got++;
    if (negation) {
        if (get_exact(o[6], &v[6], "B?", 1, m, 1, "inside") < 0)
            goto done;
        got++;
    }
    out.starts = v[2].buf;
    out.ends = v[3].buf;
    out.h1 = v[4].buf;
    out.doc = v[5].buf;
    out.inside = negation ? v[6].buf : NULL;
    out.window = window;
    out.cues = v[0].buf;
    out.n_cues = v[0].len / 8;
    out.stops = v[1].buf;
    out.n_stops = v[1].len / 8;
    Py_BEGIN_ALLOW_THREADS
    t = scan_tokens(b.buf, b.len, NULL);
    if (t == m)
        scan_tokens(b.buf, b.len, &out);
    Py_END_ALLOW_THREADS
    if (t != m) {
        PyErr_Format(PyExc_ValueError, "tokens: %zd tokens, arrays for %zd", t, m);
        t = -1;
    }
done:
    for (int k = 0; k < got; k++)
        PyBuffer_Release(&v[k]);
    PyBuffer_Release(&b);
    return t < 0 ? NULL : PyLong_FromSsize_t(t);
}

/* ngrams(h1, doc, inside or None, k, out_h, out_doc) -> count: the k-grams within a text */
PyObject *fast_ngrams(PyObject *self, PyObject *args)
{
    PyObject *o[5];
    Py_ssize_t k;
    if (!PyArg_ParseTuple(args, "OOOnOO", &o[0], &o[1], &o[2], &k, &o[3], &o[4]))
        return NULL;
    Py_buffer v[5];
    int got = 0;
    Py_ssize_t m = -1;
    const int negation = o[2] != Py_None;
    if (get_exact(o[0], &v[0], "QL", 8, -1, 0, "h1") < 0)
        goto done;
    got++;
    Py_ssize_t t = v[0].len / 8;
    if (get_exact(o[1], &v[1], "il", 4, t, 0, "doc") < 0)
        goto done;
    got++;
    if (get_exact(o[3], &v[2], "QL", 8, -1, 1, "out_h") < 0)
        goto done;
    got++;
    Py_ssize_t room = v[2].len / 8;
    if (get_exact(o[4], &v[3], "il", 4, room, 1, "out_doc") < 0)
        goto done;
    got++;
    if (negation) {
        if (get_exact(o[2], &v[4], "B?", 1, t, 0, "inside") < 0)
            goto done;
        got++;
    }
    if (k < 2) {
        PyErr_SetString(PyExc_ValueError, "ngrams: k must be at least 2");
        goto done;
    }
    const uint64_t *h1 = v[0].buf;
    const int32_t *doc = v[1].buf;
    const uint8_t *inside = negation ? v[4].buf : NULL;
    uint64_t *oh = v[2].buf;
    int32_t *od = v[3].buf;
    Py_ssize_t made = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i + k <= t; i++) {
        if (doc[i + k - 1] != doc[i])
            continue;
        if (made < room) {
            uint64_t h = h1[i];
            int all = inside ? inside[i] : 0;
            for (Py_ssize_t j = 1; j < k; j++) {
                h = (h * MIX0 + h1[i + j] * MIX1) ^ SALT;
                if (inside)
                    all &= inside[i + j];
            }
            if (inside)
                h = (h & ~(uint64_t)1) | (uint64_t)(all != 0);
            oh[made] = h;
            od[made] = doc[i];
        }
        made++;
    }
    Py_END_ALLOW_THREADS
    if (made != room)
        PyErr_Format(PyExc_ValueError, "ngrams: %zd %zd-grams, room for %zd", made, k, room);
    else
        m = made;
done:
    for (int q = 0; q < got; q++)
        PyBuffer_Release(&v[q]);
    return m < 0 ? NULL : PyLong_FromSsize_t(m);
}

/* join_tokens(data, starts, ends, first, n) -> bytes: the token runs first[i] ..
 * first[i] + n[i] - 1 of ``data`` (token t: data[starts[t]:ends[t]]), tokens joined by a
 * space, runs by a newline; see sentiment.text.join_tokens. */
PyObject *fast_join_tokens(PyObject *self, PyObject *args)
{
    PyObject *o[5];
    if (!PyArg_ParseTuple(args, "OOOOO", &o[0], &o[1], &o[2], &o[3], &o[4]))
        return NULL;
    Py_buffer v[5];
    int got = 0;
    PyObject *result = NULL;
    if (get_exact(o[0], &v[0], "Bbc", 1, -1, 0, "data") < 0)
        goto done;
    got++;
    if (get_exact(o[1], &v[1], "il", 4, -1, 0, "starts") < 0)
        goto done;
    got++;
    Py_ssize_t t = v[1].len / 4;
    if (get_exact(o[2], &v[2], "il", 4, t, 0, "ends") < 0)
        goto done;
    got++;
    if (get_exact(o[3], &v[3], "ql", 8, -1, 0, "first") < 0)
        goto done;
    got++;
    Py_ssize_t m = v[3].len / 8;
    if (get_exact(o[4], &v[4], "ql", 8, m, 0, "n") < 0)
        goto done;
    got++;
    const unsigned char *data = v[0].buf;
    const int32_t *starts = v[1].buf, *ends = v[2].buf;
    const int64_t *first = v[3].buf, *n = v[4].buf;
    Py_ssize_t size = 0;
    for (Py_ssize_t i = 0; i < m; i++) {
        if (n[i] < 1 || first[i] < 0 || first[i] + n[i] > t) {
            PyErr_SetString(PyExc_IndexError, "join_tokens: a run outside the tokens");
            goto done;
        }
        for (int64_t k = first[i]; k < first[i] + n[i]; k++) {
            if (starts[k] < 0 || ends[k] < starts[k] || ends[k] > v[0].len) {
                PyErr_SetString(PyExc_IndexError, "join_tokens: a token outside the data");
                goto done;
            }
            size += ends[k] - starts[k] + 1;
        }
    }
    result = PyBytes_FromStringAndSize(NULL, size ? size - 1 : 0);
    if (!result || !size)
        goto done;
    char *out = PyBytes_AS_STRING(result);
    Py_BEGIN_ALLOW_THREADS
    Py_ssize_t w = 0;
    for (Py_ssize_t i = 0; i < m; i++)
        for (int64_t k = first[i]; k < first[i] + n[i]; k++) {
            memcpy(out + w, data + starts[k], (size_t)(ends[k] - starts[k]));
            w += ends[k] - starts[k];
            if (w < size - 1)
                out[w++] = k + 1 < first[i] + n[i] ? ' ' : '\n';
        }
    Py_END_ALLOW_THREADS
done:
    for (int q = 0; q < got; q++)
        PyBuffer_Release(&v[q]);
    return result;
}

/* interleave_lines(parts, total) -> bytes: ``total`` lines, one per line, from ``parts``:
 * (positions int64, bytes of as many lines joined by newlines); see
 * sentiment.pipeline.interleave_lines. */
PyObject *fast_interleave_lines(PyObject *self, PyObject *args)
{
    PyObject *parts;
    Py_ssize_t total;
    if (!PyArg_ParseTuple(args, "O!n", &PyTuple_Type, &parts, &total))
        return NULL;
    Py_ssize_t k = PyTuple_GET_SIZE(parts);
    Py_buffer *v = calloc(2 * (size_t)k + 1, sizeof(Py_buffer));
    int64_t *start = calloc((size_t)total + 1, sizeof(int64_t));
    PyObject *result = NULL;
    Py_ssize_t got = 0;
    if (!v || !start) {
        PyErr_NoMemory();
        goto done;
    }
    for (int64_t i = 0; i <= total; i++)
        start[i] = -1;
    for (Py_ssize_t p = 0; p < k; p++) {  /* each line's length, at its position */
        PyObject *part = PyTuple_GET_ITEM(parts, p);
        if (!PyTuple_Check(part) || PyTuple_GET_SIZE(part) != 2) {
            PyErr_SetString(PyExc_TypeError, "interleave_lines: parts are (positions, bytes)");
            goto done;
        }
        if (get_exact(PyTuple_GET_ITEM(part, 0), &v[got], "ql", 8, -1, 0, "positions") < 0)
            goto done;
        got++;
        if (get_exact(PyTuple_GET_ITEM(part, 1), &v[got], "Bbc", 1, -1, 0, "lines") < 0)
            goto done;
        got++;
        const int64_t *where = v[got - 2].buf;
        const char *raw = v[got - 1].buf;
        Py_ssize_t m = v[got - 2].len / 8, len = v[got - 1].len, line = 0, from = 0;
        for (Py_ssize_t b = 0; b <= len; b++)
            if (b == len || raw[b] == '\n') {
                if (line >= m || where[line] < 0 || where[line] >= total ||
                    start[where[line]] >= 0) {
                    PyErr_SetString(PyExc_ValueError, "interleave_lines: lines and positions "
                                    "do not match");
                    goto done;
                }
                start[where[line++]] = b - from;
                from = b + 1;
            }
        if (line != m) {
            PyErr_SetString(PyExc_ValueError, "interleave_lines: fewer lines than positions");
            goto done;
        }
    }
    int64_t size = 0;
    for (int64_t i = 0; i < total; i++) {  /* lengths become starts */
        if (start[i] < 0) {
            PyErr_SetString(PyExc_ValueError, "interleave_lines: a position has no line");
            goto done;
        }
        int64_t length = start[i];
        start[i] = size;
        size += length + 1;
    }
    result = PyBytes_FromStringAndSize(NULL, size ? size - 1 : 0);
    if (!result || !size)
        goto done;
    char *out = PyBytes_AS_STRING(result);
    for (int64_t i = 1; i < total; i++)
        out[start[i] - 1] = '\n';
    for (Py_ssize_t p = 0; p < k; p++) {
        const int64_t *where = v[2 * p].buf;
        const char *raw = v[2 * p + 1].buf;
        Py_ssize_t len = v[2 * p + 1].len, line = 0, from = 0;
        for (Py_ssize_t b = 0; b <= len; b++)
            if (b == len || raw[b] == '\n') {
                memcpy(out + start[where[line++]], raw + from, (size_t)(b - from));
                from = b + 1;
            }
    }
done:
    for (Py_ssize_t q = 0; q < got; q++)
        PyBuffer_Release(&v[q]);
    free(v);
    free(start);
    return result;
}
