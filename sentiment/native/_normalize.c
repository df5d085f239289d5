/* sentiment.native._fast: texts normalized and joined (sentiment.features.tokens.normalized_bytes)
 * for the
 * tokenizer, those of one byte a character (ASCII, Latin-1: nearly all reviews) without a
 * Python string operation each. */
#include "_fast.h"

/* the HTML line breaks sentiment.features.tokens.normalize replaces by a space, after lower-casing
 * */
static const char *BREAKS[] = {"<br />", "<br/>", "<br>"};

/* LOW: a character of a one-byte (Latin-1) text as normalize leaves it before the
 * breaks go: a NUL a space (normalized_bytes' doing), A-Z and the Latin-1 capitals lower
 * case (what str.lower does to them; tests/test_fast.py checks all 256). OUT: then folded
 * as sentiment.features.tokens._FOLD's Latin-1 entries say: ` and the acute accent an apostrophe,
 * the guillemets and the no-break space a space. Filled once, as the module is imported. */
static unsigned char LOW[256], OUT[256];
/* NFKC[c]: the Latin-1 character c is one NFKC changes (once folded: the no-break space
 * and the acute accent are folded before NFKC, as normalize does; tests/test_fast.py
 * checks all 256) */
static unsigned char NFKC[256];
/* ALPHA[c]: the Latin-1 character c is a letter (str.isalpha), whose runs of three or more
 * the rule with elongation keeps twice (sentiment.features.folding.shorten_elongations) */
static unsigned char ALPHA[256];

void fast_fill_normalize(void)
{
    for (int c = 0; c < 256; c++) {
        int low = c == 0 ? ' ' : ((c >= 'A' && c <= 'Z') || (c >= 0xC0 && c <= 0xDE && c != 0xD7))
                  ? c + 32 : c;
        LOW[c] = (unsigned char)low;
        ALPHA[c] = (unsigned char)(Py_UNICODE_ISALPHA((Py_UCS4)c) ? 1 : 0);
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
 * folds before it lower-cases, so the breaks are found on the folded characters. With
 * ``elong``, a letter written after two of itself is left out (the run kept twice), on the
 * characters as written: after the breaks and the folds, as normalize does last. */
static Py_ssize_t normalize_1byte(const unsigned char *s, Py_ssize_t n, unsigned char *out,
                                  int ascii, int fold_first, int elong)
{
    const unsigned char *map = fold_first ? OUT : LOW;
    Py_ssize_t w = 0;
    unsigned char p1 = 0, p2 = 0;  /* the last two characters written */
    for (Py_ssize_t i = 0; i < n; i++) {
        const unsigned char c = OUT[s[i]];
        if (c == '<') {
            Py_ssize_t len = break_at(s, n, i, map);
            if (len) {
                out[w++] = ' ';
                p2 = p1;
                p1 = ' ';
                i += len - 1;
                continue;
            }
        }
        if (c == p1 && c == p2 && elong && ALPHA[c])
            continue;
        p2 = p1;
        p1 = c;
        if (ascii || c < 0x80) {
            out[w++] = c;
        } else {
            out[w++] = (unsigned char)(0xC0 | (c >> 6));
            out[w++] = (unsigned char)(0x80 | (c & 0x3F));
        }
    }
    return w;
}

/* The combining class NFKC orders marks by, for the Thai marks that have one (0: none);
 * the wide fast path takes a run of marks only in the order NFKC leaves it. */
static inline int thai_ccc(Py_UCS4 cp)
{
    return (cp == 0x0E38 || cp == 0x0E39) ? 103 : cp == 0x0E3A ? 9
           : (cp >= 0x0E48 && cp <= 0x0E4B) ? 107 : 0;
}

/* A character of a wide text as the rule that decodes entities leaves it, when that is
 * plain: one NFKC and lower-casing leave alone (Han, Kana, Hangul syllables, Thai, CJK
 * brackets and stops, emoji), an ASCII or Latin-1 one as the one-byte path folds it, the
 * typographic ones folded (sentiment.features.folding._FOLD); 0 for any other (Python's normalize
 * then does the text). */
static inline Py_UCS4 plain(Py_UCS4 cp)
{
    if (cp < 0x100)
        return (cp == '&' || NFKC[cp]) ? 0 : OUT[cp];
    if (cp >= 0xFF01 && cp <= 0xFF5E)  /* full-width ASCII: NFKC makes it ASCII */
        return OUT[cp - 0xFEE0];
    if (cp == 0x3000)  /* the ideographic space */
        return ' ';
    if ((cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
        (cp >= 0x3041 && cp <= 0x3096) || cp == 0x309D || cp == 0x309E ||
        (cp >= 0x30A1 && cp <= 0x30FE) || (cp >= 0xAC00 && cp <= 0xD7A3) ||
        (cp >= 0x0E01 && cp <= 0x0E5B && cp != 0x0E33) || (cp >= 0x3001 && cp <= 0x3007) ||
        cp == 0x200B || cp == 0x200D || cp == 0x2022 || (cp >= 0xFE00 && cp <= 0xFE0F) ||
        (cp >= 0x2600 && cp <= 0x27BF) ||
        (cp >= 0x3008 && cp <= 0x3011) || (cp >= 0x1F300 && cp <= 0x1F64F) ||
        (cp >= 0x1F680 && cp <= 0x1F6FF) || (cp >= 0x1F900 && cp <= 0x1F9FF))
        return cp;
    if (cp == 0x2019 || cp == 0x2018)
        return '\'';
    if (cp == 0x201C || cp == 0x201D || cp == 0x2014 || cp == 0x2013 || cp == 0x2026)
        return ' ';
    return 0;
}

/* A text of two or four bytes a character normalized as UTF-8 (new bytes) when every
 * character is plain, else Py_None (new reference): the text goes to Python. */
static PyObject *normalize_wide(PyObject *t, int elong)
{
    const int kind = PyUnicode_KIND(t);
    const void *data = PyUnicode_DATA(t);
    const Py_ssize_t n = PyUnicode_GET_LENGTH(t);
    Py_UCS4 *m = PyMem_Malloc(sizeof(Py_UCS4) * (size_t)(2 * n + 1));
    if (!m)
        return PyErr_NoMemory();
    int last_ccc = 0;
    Py_ssize_t len = 0;
    for (Py_ssize_t k = 0; k < n; k++) {
        const Py_UCS4 cp = PyUnicode_READ(kind, data, k);
        const int ccc = thai_ccc(cp);
        if (cp == 0x0E33) {  /* SARA AM: NFKC writes it NIKHAHIT, SARA AA */
            m[len++] = 0x0E4D;
            m[len++] = 0x0E32;
        } else {
            m[len++] = plain(cp);
        }
        if (!m[len - 1] || (ccc && last_ccc > ccc)) {
            PyMem_Free(m);
            Py_RETURN_NONE;
        }
        last_ccc = ccc;
    }
    const Py_ssize_t total = len;
    PyObject *out = PyBytes_FromStringAndSize(NULL, 4 * total);
    if (!out) {
        PyMem_Free(m);
        return NULL;
    }
    unsigned char *o = (unsigned char *)PyBytes_AS_STRING(out);
    Py_ssize_t w = 0;
    Py_UCS4 p1 = 0, p2 = 0;  /* the last two characters written (normalize_1byte's elong) */
    for (Py_ssize_t k = 0; k < total; k++) {
        const Py_UCS4 c = m[k];
        if (c == '<') {  /* the breaks, on the folded, lower-cased characters */
            Py_ssize_t br = 0;
            for (int b = 0; b < 3 && !br; b++) {
                Py_ssize_t L = (Py_ssize_t)strlen(BREAKS[b]), j = 1;
                while (j < L && k + j < total &&
                       m[k + j] == (Py_UCS4)(unsigned char)BREAKS[b][j])
                    j++;
                if (j == L)
                    br = L;
            }
            if (br) {
                o[w++] = ' ';
                p2 = p1;
                p1 = ' ';
                k += br - 1;
                continue;
            }
        }
        if (c == p1 && c == p2 && elong && Py_UNICODE_ISALPHA(c))
            continue;
        p2 = p1;
        p1 = c;
        if (c < 0x80) {
            o[w++] = (unsigned char)c;
        } else if (c < 0x800) {
            o[w++] = (unsigned char)(0xC0 | (c >> 6));
            o[w++] = (unsigned char)(0x80 | (c & 0x3F));
        } else if (c < 0x10000) {
            o[w++] = (unsigned char)(0xE0 | (c >> 12));
            o[w++] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
            o[w++] = (unsigned char)(0x80 | (c & 0x3F));
        } else {
            o[w++] = (unsigned char)(0xF0 | (c >> 18));
            o[w++] = (unsigned char)(0x80 | ((c >> 12) & 0x3F));
            o[w++] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
            o[w++] = (unsigned char)(0x80 | (c & 0x3F));
        }
    }
    PyMem_Free(m);
    if (_PyBytes_Resize(&out, w) < 0)
        return NULL;
    return out;
}

/* normalized(texts, other, unescape, elongation=False) -> bytes: the texts of the list
 * ``texts`` normalized as UTF-8, separated by NUL bytes; a one-byte (Latin-1) one here, any
 * other by ``other(text) -> bytes`` (with ``unescape``, also a one-byte text needs_python
 * says); with ``elongation``, a letter's runs of three or more kept twice. */
PyObject *fast_normalized(PyObject *self, PyObject *args)
{
    PyObject *texts, *other;
    int unescape, elong = 0;
    if (!PyArg_ParseTuple(args, "O!Op|p", &PyList_Type, &texts, &other, &unescape, &elong))
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
        PyObject *b = NULL;
        if (unescape && PyUnicode_KIND(t) != PyUnicode_1BYTE_KIND) {
            b = normalize_wide(t, elong);  /* Chinese, Japanese, Thai ... without Python */
            if (!b)
                goto failed;
            if (b == Py_None) {
                Py_DECREF(b);
                b = NULL;
            }
        }
        if (!b)
            b = PyObject_CallOneArg(other, t);
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
                                 PyUnicode_IS_ASCII(t), unescape, elong);
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

/* text_hashes(texts, out): out[i] = a 64-bit hash of texts[i] (a list of str), from its
 * characters as Python stores them (one, two or four bytes each: always the narrowest,
 * so equal texts hash alike in every process): the bytes read as 64-bit words in the
 * machine's order, w_0, w_1, ... (the last padded with zero bytes), then
 * mix64(kind * MIX0 + bytes * TEXT_MIX + sum_i mix64(w_i + i * MIX0)), wrapping.
 * sentiment.cli.report.text_hashes is the numpy twin. */
#define TEXT_MIX 0xC2B2AE3D27D4EB4FULL

PyObject *fast_text_hashes(PyObject *self, PyObject *args)
{
    PyObject *texts, *o;
    if (!PyArg_ParseTuple(args, "O!O", &PyList_Type, &texts, &o))
        return NULL;
    Py_ssize_t n = PyList_GET_SIZE(texts);
    Py_buffer v;
    if (get_exact(o, &v, "QL", 8, n, 1, "out") < 0)
        return NULL;
    uint64_t *out = v.buf;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *t = PyList_GET_ITEM(texts, i);
        if (!PyUnicode_Check(t)) {
            PyBuffer_Release(&v);
            PyErr_Format(PyExc_TypeError, "text_hashes: item %zd is not a str", i);
            return NULL;
        }
        uint64_t kind = (uint64_t)PyUnicode_KIND(t);
        size_t len = (size_t)PyUnicode_GET_LENGTH(t) * kind, words = len / 8;
        const unsigned char *p = PyUnicode_DATA(t);
        uint64_t sum = 0, w;
        for (size_t k = 0; k < words; k++) {
            memcpy(&w, p + 8 * k, 8);
            sum += mix64(w + (uint64_t)k * MIX0);
        }
        if (len % 8) {
            w = 0;
            memcpy(&w, p + 8 * words, len % 8);
            sum += mix64(w + (uint64_t)words * MIX0);
        }
        out[i] = mix64(kind * MIX0 + (uint64_t)len * TEXT_MIX + sum);
    }
    PyBuffer_Release(&v);
    Py_RETURN_NONE;
}
