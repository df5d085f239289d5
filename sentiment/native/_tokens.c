/* sentiment.native._fast, pass 1: the tokens of normalized text, their hashes, negation scopes and
 * n-grams, as sentiment.features.tokens._hash_chunk and sentiment.features.negation.negated make
 * them. */
#include "_fast.h"


static const uint64_t BASE = 0x100000001B3ULL, MIX1 = 0xC2B2AE3D27D4EB4FULL,
                      SALT = 0x165667B19E3779F9ULL;

/* byte classes of sentiment.features.tokens: 0 separator, 1 word, 2 "!" or "?", 3 apostrophe; 4 a
 * separator that ends a negation's scope (. , ; : ( ) " and NUL, which ends a text);
 * filled once, as the module is imported */
static unsigned char CLASS[256];

void fast_fill_classes(void)
{
    for (int b = 0; b < 256; b++)
        CLASS[b] = ((b >= 'a' && b <= 'z') || (b >= '0' && b <= '9') || b >= 0x80) ? 1
                   : (b == '!' || b == '?') ? 2 : b == '\'' ? 3 : 0;
    for (const char *e = SCOPE_BYTES; *e; e++)
        CLASS[(unsigned char)*e] = 4;
    CLASS[0] = 4;
}

static inline int byte_class(unsigned char b)
{
    return CLASS[b] == 4 ? 0 : CLASS[b];
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
    return CLASS[b] == 4;
}

static inline int member(uint64_t h, const uint64_t *set, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++)
        if (set[i] == h)
            return 1;
    return 0;
}

/* Walk the tokens of b[0:n], writing the first ``cap`` to ``out``; return how many. */
typedef struct {
    int32_t *starts, *ends;  /* byte offsets: the text is under 2 GB (checked) */
    uint64_t *h1;
    int32_t *doc;
    uint8_t *inside;  /* NULL: no negation */
    Py_ssize_t window;
    int mix;  /* each token's hash mixed (mix64) before anything reads it */
    int scripts;  /* tokens by Unicode script, and emoticons (_scripts.c) */
    const uint64_t *cues, *stops, *modals, *undo, *free;  /* free: not counted */
    Py_ssize_t n_cues, n_stops, n_modals, n_undo, n_free;
} Tokens;

/* the next token of the rule before scripts: its start, its end in c->i */
static int next_token(const unsigned char *b, Py_ssize_t n, TokenCursor *c, Py_ssize_t *start)
{
    while (c->i < n) {
        const Py_ssize_t i = c->i;
        const int k = token_class(b, n, i);
        if (k == 0) {
            if (b[i] == 0)
                c->doc++;
            c->scope_end |= is_scope_end(b[i]);
            c->i++;
            continue;
        }
        Py_ssize_t e = i + 1;
        if (k == 1)
            while (e < n && token_class(b, n, e) == 1)
                e++;
        *start = i;
        c->i = e;
        return 1;
    }
    return 0;
}

static Py_ssize_t scan_tokens(const unsigned char *b, Py_ssize_t n, const Tokens *out,
                              Py_ssize_t cap)
{
    Py_ssize_t t = 0, last = -1, counted = 0;  /* tokens not free since the scope opened */
    int last_cue = 0, modal = 0, undone = 0;
    TokenCursor cur = {0};
    Py_ssize_t i;
    while (out->scripts ? fast_next_token3(b, n, &cur, &i) : next_token(b, n, &cur, &i)) {
        const Py_ssize_t e = cur.i;
        const int32_t doc = cur.doc;
        int scope_end = cur.scope_end;
        cur.scope_end = 0;
        if (out->scripts && (CLASS[b[i]] == 0 || CLASS[b[i]] == 4)) {
            /* an emoticon (the one token that starts with a separator): a scope byte in it
             * ends the scope before it (its first byte) or after it (the others) */
            scope_end |= is_scope_end(b[i]);
            for (Py_ssize_t k = i + 1; k < e; k++)
                cur.scope_end |= is_scope_end(b[k]);
        }
        if (t < cap) {
            uint64_t h = 0, pw = 1;
            for (Py_ssize_t k = i; k < e; k++) {
                h += (uint64_t)b[k] * pw;
                pw *= BASE;
            }
            if (out->mix)
                h = mix64(h);
            out->starts[t] = (int32_t)i;
            out->ends[t] = (int32_t)e;
            out->doc[t] = doc;
            if (out->inside) {
                int cue = member(h, out->cues, out->n_cues) ||
                          (e - i >= 4 && b[e - 1] == 't' && b[e - 2] == '\'' && b[e - 3] == 'n');
                int stop = member(h, out->stops, out->n_stops);
                if (t == 0 || scope_end || stop || cue) {
                    last = t;
                    last_cue = cue;
                    modal = cue && member(h, out->modals, out->n_modals);
                    undone = 0;
                    counted = 0;
                }
                const int open = last_cue && !undone && t > last;  /* in a scope's reach */
                if (open && counted <= out->window && !member(h, out->free, out->n_free))
                    counted++;
                int in = open && counted <= out->window;
                if (in && modal && member(h, out->undo, out->n_undo)) {  /* can't ... enough */
                    for (Py_ssize_t k = last + 1; k < t; k++)
                        out->inside[k] = 0;
                    undone = 1;
                    in = 0;
                }
                out->inside[t] = (uint8_t)in;
                h &= ~(uint64_t)1;
            }
            out->h1[t] = h;
        }
        t++;
    }
    return t;
}

PyObject *fast_tokens(PyObject *self, PyObject *args)
{
    Py_buffer b, v[10];
    PyObject *o[10];  /* cues, stops, modals, undo, free, starts, ends, h1, doc, inside */
    Py_ssize_t window;
    int mix, scripts;
    if (!PyArg_ParseTuple(args, "y*nppOOOOOOOOOO", &b, &window, &mix, &scripts, &o[0], &o[1],
                          &o[2], &o[3], &o[4], &o[5], &o[6], &o[7], &o[8], &o[9]))
        return NULL;
    Py_ssize_t t = -1;
    int got = 0;
    Tokens out = {0};
    const int negation = o[9] != Py_None;
    static const char *const words[5] = {"cues", "stops", "modals", "undo", "free"};
    for (int w = 0; w < 5; w++) {
        if (get_exact(o[w], &v[w], "QL", 8, -1, 0, words[w]) < 0)
            goto done;
        got++;
    }
    Py_ssize_t m;
    if (b.len >= INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "tokens: a text of 2 GB or more in one call");
        goto done;
    }
    if (get_exact(o[5], &v[5], "il", 4, -1, 1, "starts") < 0)
        goto done;
    got++;
    m = v[5].len / 4;
    if (get_exact(o[6], &v[6], "il", 4, m, 1, "ends") < 0)
        goto done;
    got++;
    if (get_exact(o[7], &v[7], "QL", 8, m, 1, "h1") < 0)
        goto done;
    got++;
    if (get_exact(o[8], &v[8], "il", 4, m, 1, "doc") < 0)
        goto done;
    got++;
    if (negation) {
        if (get_exact(o[9], &v[9], "B?", 1, m, 1, "inside") < 0)
            goto done;
        got++;
    }
    out.starts = v[5].buf;
    out.ends = v[6].buf;
    out.h1 = v[7].buf;
    out.doc = v[8].buf;
    out.inside = negation ? v[9].buf : NULL;
    out.window = window;
    out.mix = mix;
    out.scripts = scripts;
    out.cues = v[0].buf;
    out.n_cues = v[0].len / 8;
    out.stops = v[1].buf;
    out.n_stops = v[1].len / 8;
    out.modals = v[2].buf;
    out.n_modals = v[2].len / 8;
    out.undo = v[3].buf;
    out.n_undo = v[3].len / 8;
    out.free = v[4].buf;
    out.n_free = v[4].len / 8;
    Py_BEGIN_ALLOW_THREADS
    t = scan_tokens(b.buf, b.len, &out, m);  /* writes only the first m */
    Py_END_ALLOW_THREADS
    if (t > m) {
        PyErr_Format(PyExc_ValueError, "tokens: %zd tokens, arrays for %zd", t, m);
        t = -1;
    }
done:
    release_buffers(v, got);
    PyBuffer_Release(&b);
    return t < 0 ? NULL : PyLong_FromSsize_t(t);
}

/* ngrams(h1, doc, inside or None, k, mix, out_h, out_doc) -> count: the k-grams within a
 * text (``mix``: each k-gram's hash mixed by mix64 before the negation bit is set) */
PyObject *fast_ngrams(PyObject *self, PyObject *args)
{
    PyObject *o[5];
    Py_ssize_t k;
    int mix;
    if (!PyArg_ParseTuple(args, "OOOnpOO", &o[0], &o[1], &o[2], &k, &mix, &o[3], &o[4]))
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
            if (mix)
                h = mix64(h);
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
    release_buffers(v, got);
    return m < 0 ? NULL : PyLong_FromSsize_t(m);
}
