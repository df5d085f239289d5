/* sentiment.native._fast: the words of features, read back from the tokens of the text they were
 * first seen in (sentiment.features.tokens.join_tokens), and put in the vocabulary's order
 * (sentiment.training.pipeline.interleave_lines). */
#include "_fast.h"

/* join_tokens(data, starts, ends, first, n) -> bytes: the token runs first[i] ..
 * first[i] + n[i] - 1 of ``data`` (token t: data[starts[t]:ends[t]]), tokens joined by a
 * space, runs by a newline; see sentiment.features.tokens.join_tokens. */
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
        if (n[i] < 1 || first[i] < 0 || first[i] > t || n[i] > t - first[i]) {
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
    release_buffers(v, got);
    return result;
}

/* interleave_lines(parts, total) -> bytes: ``total`` lines, one per line, from ``parts``:
 * (positions int64, bytes of as many lines joined by newlines); see
 * sentiment.training.pipeline.interleave_lines. */
PyObject *fast_interleave_lines(PyObject *self, PyObject *args)
{
    PyObject *parts;
    Py_ssize_t total;
    if (!PyArg_ParseTuple(args, "O!n", &PyTuple_Type, &parts, &total))
        return NULL;
    if (total < 0) {
        PyErr_SetString(PyExc_ValueError, "interleave_lines: total must be at least 0");
        return NULL;
    }
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
    release_buffers(v, got);
    free(v);
    free(start);
    return result;
}
