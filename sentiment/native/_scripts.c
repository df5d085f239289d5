/* sentiment.native._fast: tokens by Unicode script, and emoticons, as sentiment.features.scripts
 * finds them
 * (the ranges and emoticons are that module's; tests/test_fast.py compares the two). */
#include "_fast.h"

enum { SEP = 0, WORD = 1, SINGLE = 2, APOSTROPHE = 3, ALONE = 5 };

/* sentiment.features.scripts.ALONE and SEPARATORS as one sorted list of (first code point, class
 * from there on) */
static const struct { uint32_t from; unsigned char cls; } BOUNDS[] = {
    {0x80, WORD}, {0xA0, SEP}, {0xC0, WORD}, {0xD7, SEP}, {0xD8, WORD}, {0xF7, SEP},
    {0xF8, WORD}, {0x0E00, ALONE}, {0x0F00, WORD}, {0x1000, ALONE}, {0x10A0, WORD},
    {0x1780, ALONE}, {0x1800, WORD}, {0x2000, SEP}, {0x2070, WORD}, {0x2190, SEP},
    {0x2200, WORD}, {0x2500, SEP}, {0x2600, ALONE}, {0x27C0, WORD}, {0x2B00, ALONE},
    {0x2C00, WORD}, {0x3000, SEP}, {0x3040, ALONE}, {0x3100, WORD}, {0x31F0, ALONE},
    {0x3200, WORD}, {0x3400, ALONE}, {0x4DC0, WORD}, {0x4E00, ALONE}, {0xA000, WORD},
    {0xF900, ALONE}, {0xFB00, WORD}, {0xFE00, SEP}, {0xFE10, WORD}, {0xFE30, SEP},
    {0xFE70, WORD}, {0xFF00, SEP}, {0xFF66, ALONE}, {0xFFA0, WORD}, {0x1F000, ALONE},
    {0x1F3FB, SEP}, {0x1F400, ALONE}, {0x1FB00, WORD}, {0x20000, ALONE}, {0x31350, WORD},
};
#define N_BOUNDS ((int)(sizeof BOUNDS / sizeof BOUNDS[0]))

static inline int range_class(uint32_t cp)
{
    if (cp >= 0x4E00 && cp < 0xA000)  /* the common case of Chinese and Japanese */
        return ALONE;
    int lo = 0, hi = N_BOUNDS - 1;  /* the last bound at or below cp */
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (BOUNDS[mid].from <= cp)
            lo = mid;
        else
            hi = mid - 1;
    }
    return BOUNDS[lo].cls;
}

static inline int ascii_class(unsigned char c)
{
    return ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) ? WORD
           : (c == '!' || c == '?') ? SINGLE : c == '\'' ? APOSTROPHE : SEP;
}

/* per ASCII byte: its class (ASCII_CLASS), whether it may start an emoticon (2) or ends a
 * negation's scope (1) (SEPARATOR_KIND); filled once, as the module is imported */
static unsigned char ASCII_CLASS[128], SEPARATOR_KIND[128];

void fast_fill_scripts(void)
{
    for (int c = 0; c < 128; c++) {
        ASCII_CLASS[c] = (unsigned char)ascii_class((unsigned char)c);
        SEPARATOR_KIND[c] = (unsigned char)((strchr(":;=<)(^->", c) && c ? 2 : 0) |
                                            (c == 0 || (strchr(SCOPE_BYTES, c) && c) ? 1 : 0));
    }
}

/* the code point at b[i] (not ASCII), its bytes in *w */
static inline uint32_t decode(const unsigned char *b, Py_ssize_t n, Py_ssize_t i, int *w)
{
    const unsigned char c = b[i];
    int width = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    uint32_t cp = c & (width == 4 ? 0x07 : width == 3 ? 0x0F : 0x1F);
    for (int k = 1; k < width; k++)
        cp = (cp << 6) | (i + k < n ? (b[i + k] & 0x3F) : 0);
    *w = i + width > n ? (int)(n - i) : width;
    return cp;
}

/* the class of the code point at b[i] (before the apostrophe's rule), its bytes in *w */
static inline int base_class(const unsigned char *b, Py_ssize_t n, Py_ssize_t i, int *w)
{
    if (b[i] < 0x80) {
        *w = 1;
        return ASCII_CLASS[b[i]];
    }
    return range_class(decode(b, n, i, w));
}

/* sentiment.features.scripts.MARKS: the vowel signs and tone marks that stay on their letter */
static const uint32_t MARKS[][2] = {
    {0x0E31, 0x0E31}, {0x0E34, 0x0E3A}, {0x0E47, 0x0E4E}, {0x0EB1, 0x0EB1}, {0x0EB4, 0x0EBC},
    {0x0EC8, 0x0ECD}, {0x102B, 0x103E}, {0x1056, 0x1059}, {0x105E, 0x1060}, {0x1062, 0x1064},
    {0x1067, 0x106D}, {0x1071, 0x1074}, {0x1082, 0x108D}, {0x108F, 0x108F}, {0x109A, 0x109D},
    {0x17B4, 0x17D3}, {0x17DD, 0x17DD}};

/* the bytes of the marks that start at b[i], 0 if none */
static inline Py_ssize_t marks_at(const unsigned char *b, Py_ssize_t n, Py_ssize_t i)
{
    Py_ssize_t e = i;
    while (e < n && b[e] >= 0xE0) {
        int w, mark = 0;
        const uint32_t cp = decode(b, n, e, &w);
        for (size_t k = 0; k < sizeof MARKS / sizeof MARKS[0] && !mark; k++)
            mark = cp >= MARKS[k][0] && cp <= MARKS[k][1];
        if (!mark)
            break;
        e += w;
    }
    return e - i;
}

/* the class of the code point that ends at b[i - 1] */
static inline int class_before(const unsigned char *b, Py_ssize_t n, Py_ssize_t i)
{
    Py_ssize_t j = i - 1;
    while (j > 0 && (b[j] & 0xC0) == 0x80)
        j--;
    int w;
    return base_class(b, n, j, &w);
}

/* the class at b[i]: an apostrophe is a word character only between two (the left one not
 * the end of an emoticon) */
static inline int class_at(const unsigned char *b, Py_ssize_t n, Py_ssize_t i,
                           Py_ssize_t emoticon_end, int *w)
{
    int c = base_class(b, n, i, w);
    if (c == APOSTROPHE) {
        int w2;
        c = (i > 0 && i != emoticon_end && class_before(b, n, i) == WORD && i + 1 < n &&
             base_class(b, n, i + 1, &w2) == WORD) ? WORD : SEP;
    }
    return c;
}

/* the length of the emoticon at b[i] (sentiment.features.scripts.EMOTICON_PATTERN), or 0 */
static Py_ssize_t emoticon(const unsigned char *b, Py_ssize_t n, Py_ssize_t i)
{
#define AT(k) (i + (k) < n ? b[i + (k)] : 0)
    const unsigned char c = b[i];
    Py_ssize_t j;
    if (c == ':' || c == ';' || c == '=') {
        j = i + 1 + (AT(1) == '-' || AT(1) == '\'' || AT(1) == '^');
        if (j >= n)
            return 0;
        const unsigned char m = b[j];
        if (m == ')' || m == '(' || m == ']' || m == '[' || m == '|' || m == '*' || m == '3') {
            Py_ssize_t e = j + 1;
            while (e < n && b[e] == m)
                e++;
            return e - i;
        }
        if (m == 'd' || m == 'p' || m == 'o') {
            const unsigned char next = j + 1 < n ? b[j + 1] : 0;
            return (next >= 0x80 || ascii_class(next) == WORD) ? 0 : j + 1 - i;
        }
        return 0;
    }
    if (c == '<') {
        if (AT(1) == '3') {
            for (j = i + 2; j < n && b[j] == '3'; j++)
                ;
            return j - i;
        }
        return (AT(1) == '/' && AT(2) == '3') ? 3 : 0;
    }
    if (c == ')' || c == '(') {
        for (j = i + 1; j < n && b[j] == c; j++)
            ;
        return j - i >= 2 ? j - i : 0;
    }
    if (c == '^')
        return AT(1) == '^' ? 2 : (AT(1) == '_' && AT(2) == '^') ? 3 : 0;
    if (c == '-' && AT(1) == '_') {
        for (j = i + 1; j < n && b[j] == '_'; j++)
            ;
        return (j < n && b[j] == '-') ? j + 1 - i : 0;
    }
    if (c == '>')
        return (AT(1) == '_' && AT(2) == '<') ? 3 : 0;
    return 0;
#undef AT
}

int fast_next_token3(const unsigned char *b, Py_ssize_t n, TokenCursor *c, Py_ssize_t *start)
{
    while (c->i < n) {
        const Py_ssize_t i = c->i;
        const unsigned char c0 = b[i];
        if (c0 < 0x80 && ASCII_CLASS[c0] == SEP && !(SEPARATOR_KIND[c0] & 2)) {  /* most */
            c->doc += c0 == 0;
            c->scope_end |= SEPARATOR_KIND[c0] & 1;
            c->i++;
            continue;
        }
        int w;
        const int k = class_at(b, n, i, c->emoticon_end, &w);
        if (k == SEP) {
            const Py_ssize_t m = w == 1 ? emoticon(b, n, i) : 0;
            if (m) {
                *start = i;
                c->i = c->emoticon_end = i + m;
                return 1;
            }
            if (b[i] == 0)
                c->doc++;
            c->scope_end |= b[i] < 0x80 && (SEPARATOR_KIND[b[i]] & 1);
            c->i += w;
            continue;
        }
        Py_ssize_t e = i + w;
        if (k == ALONE)  /* a letter of Thai, ... keeps its marks */
            e += marks_at(b, n, e);
        if (k == WORD) {
            int w2;
            for (;;) {  /* ASCII letters and digits without a call, the rest by class_at */
                while (e < n && ((b[e] >= 'a' && b[e] <= 'z') || (b[e] >= '0' && b[e] <= '9')))
                    e++;
                if (e >= n || class_at(b, n, e, c->emoticon_end, &w2) != WORD)
                    break;
                e += w2;
            }
        }
        *start = i;
        c->i = e;
        return 1;
    }
    return 0;
}
