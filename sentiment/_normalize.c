/* sentiment._fast: texts normalized and joined (sentiment.text.normalized_bytes) for the
 * tokenizer, those of one byte a character (ASCII, Latin-1: nearly all reviews) without a
 * Python string operation each. */
#include "_fast.h"

/* the HTML line breaks sentiment.text.normalize replaces by a space, after lower-casing */
static const char *BREAKS[] = {"<br />", "<br/>", "<br>"};

/* LOW: a character of a one-byte (Latin-1) text as normalize leaves it before the
 * breaks go: a NUL a space (normalized_bytes' doing), A-Z and the Latin-1 capitals lower
 * case (what str.lower does to them; tests/test_fast.py checks all 256). OUT: then folded
 * as sentiment.text._FOLD's Latin-1 entries say: ` and the acute accent an apostrophe,
 * the guillemets and the no-break space a space. Filled once, as the module is imported. */
static unsigned char LOW[256], OUT[256];
/* NFKC[c]: the Latin-1 character c is one NFKC changes (once folded: the no-break space
 * and the acute accent are folded before NFKC, as normalize does; tests/test_fast.py
 * checks all 256) */
static unsigned char NFKC[256];

void fast_fill_normalize(void)
{
    for (int c = 0; c < 256; c++) {
        int low = c == 0 ? ' ' : ((c >= 'A' && c <= 'Z') || (c >= 0xC0 && c <= 0xDE && c != 0xD7))
                  ? c + 32 : c;
        LOW[c] = (unsigned char)low;
        OUT[c] = (unsigned char)((low == '`' || low == 0xB4) ? '\'' :
                                 (low == 0xAB || low == 0xBB || low == 0xA0) ? ' ' : low);
    }
    static const unsigned char changed[] = {0xA8, 0xAA, 0xAF, 0xB2, 0xB3, 0xB5, 0xB8, 0xB9,
                                            0xBA, 0xBC, 0xBD, 0xBE};
    for (size_t k = 0; k < sizeof changed; k++)
        NFKC[changed[k]] = 1;
}


/* whether the one-byte text s[0:n] needs what only Python's normalize does under a rule
 * that decodes entities: a Latin-1 character NFKC changes, or what may be an HTML entity
 * ("&", 1 to 33 letters, digits or "#", ";": a superset of the entities it decodes) */
static int needs_python(const unsigned char *s, Py_ssize_t n, int ascii)
{
    if (!ascii)
        for (Py_ssize_t i = 0; i < n; i++)
            if (NFKC[s[i]])
                return 1;
    const unsigned char *amp = memchr(s, '&', (size_t)n);
    for (; amp; amp = memchr(amp + 1, '&', (size_t)(n - (amp + 1 - s)))) {
        const Py_ssize_t i = amp - s;
        Py_ssize_t j = i + 1;
        while (j < n && j - i <= 33 && (s[j] == '#' || (s[j] >= '0' && s[j] <= '9') ||
                                        ((s[j] | 0x20) >= 'a' && (s[j] | 0x20) <= 'z')))
            j++;
        if (j < n && j > i + 1 && s[j] == ';')
            return 1;
        if (i + 1 >= n)
            break;
    }
    return 0;
}

/* the length of the break that starts at s[i] ('<'), or 0, the characters read through
 * ``map`` (LOW, or OUT where folding comes first: "<br\xa0/>" is a break then) */
static Py_ssize_t break_at(const unsigned char *s, Py_ssize_t n, Py_ssize_t i,
                           const unsigned char *map)
{
    if (i + 3 >= n || map[s[i + 1]] != 'b' || map[s[i + 2]] != 'r')
        return 0;
    for (int k = 0; k < 3; k++) {
        Py_ssize_t m = (Py_ssize_t)strlen(BREAKS[k]), j = 3;
        while (j < m && i + j < n && map[s[i + j]] == (unsigned char)BREAKS[k][j])
            j++;
        if (j == m)
            return m;
    }
    return 0;
}

/* Write the one-byte text s[0:n] normalized, as UTF-8, to out (room for 2n bytes); return
 * the bytes written. normalize lower-cases, then replaces each break in turn, then folds.
 * The three breaks start with "<br" and hold no other "<", so their places in the
 * lower-cased text never overlap, and a space put for one cannot complete a break replaced
 * before it ("<br />", the only one with a space, goes first); a fold comes after them
 * all: one pass from the left that replaces a break where it starts, on the characters
 * before folding, is the same. Under a rule that decodes entities (``fold_first``) normalize
 * folds before it lower-cases, so the breaks are found on the folded characters. */
static Py_ssize_t normalize_1byte(const unsigned char *s, Py_ssize_t n, unsigned char *out,
                                  int ascii, int fold_first)
{
    const unsigned char *map = fold_first ? OUT : LOW;
    Py_ssize_t w = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        const unsigned char c = OUT[s[i]];
        if (c == '<') {
            Py_ssize_t len = break_at(s, n, i, map);
            if (len) {
                out[w++] = ' ';
                i += len - 1;
                continue;
            }
        }
        if (ascii || c < 0x80) {
            out[w++] = c;
        } else {
            out[w++] = (unsigned char)(0xC0 | (c >> 6));
            out[w++] = (unsigned char)(0x80 | (c & 0x3F));
        }
    }
    return w;
}

/* normalized(texts, other, unescape) -> bytes: the texts of the list ``texts`` normalized
 * as UTF-8, separated by NUL bytes; a one-byte (Latin-1) one here, any other by
 * ``other(text) -> bytes`` (with ``unescape``, also a one-byte text needs_python says). */
PyObject *fast_normalized(PyObject *self, PyObject *args)
{
    PyObject *texts, *other;
    int unescape;
    if (!PyArg_ParseTuple(args, "O!Op", &PyList_Type, &texts, &other, &unescape))
        return NULL;
    Py_ssize_t n = PyList_GET_SIZE(texts), total = n ? n - 1 : 0;
    PyObject *done = PyList_New(n);  /* each text's bytes from other(), or the text */
    if (!done)
        return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *t = PyList_GET_ITEM(texts, i);
        if (!PyUnicode_Check(t)) {
            PyErr_Format(PyExc_TypeError, "normalized: item %zd is not a str", i);
            goto failed;
        }
        if (PyUnicode_KIND(t) == PyUnicode_1BYTE_KIND &&  /* ASCII or Latin-1: kept */
            !(unescape && needs_python(PyUnicode_1BYTE_DATA(t), PyUnicode_GET_LENGTH(t),
                                       PyUnicode_IS_ASCII(t)))) {
            total += PyUnicode_GET_LENGTH(t) * (PyUnicode_IS_ASCII(t) ? 1 : 2);
            Py_INCREF(t);
            PyList_SET_ITEM(done, i, t);
            continue;
        }
        PyObject *b = PyObject_CallOneArg(other, t);
        if (!b)
            goto failed;
        if (!PyBytes_Check(b)) {
            Py_DECREF(b);
            PyErr_SetString(PyExc_TypeError, "normalized: other() must return bytes");
            goto failed;
        }
        PyList_SET_ITEM(done, i, b);
        total += PyBytes_GET_SIZE(b);
    }
    PyObject *out = PyBytes_FromStringAndSize(NULL, total);
    if (!out)
        goto failed;
    unsigned char *o = (unsigned char *)PyBytes_AS_STRING(out);
    Py_ssize_t w = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (i)
            o[w++] = 0;
        PyObject *b = PyList_GET_ITEM(done, i);  /* held here: other() cannot free it */
        if (PyBytes_Check(b)) {
            memcpy(o + w, PyBytes_AS_STRING(b), (size_t)PyBytes_GET_SIZE(b));
            w += PyBytes_GET_SIZE(b);
        } else {
            PyObject *t = b;
            w += normalize_1byte(PyUnicode_1BYTE_DATA(t), PyUnicode_GET_LENGTH(t), o + w,
                                 PyUnicode_IS_ASCII(t), unescape);
        }
    }
    Py_DECREF(done);
    if (w < total && _PyBytes_Resize(&out, w) < 0)
        return NULL;
    return out;
failed:
    Py_DECREF(done);
    return NULL;
}
