/* Shared by the sources of sentiment._fast: buffer checks and the functions of each file. */
#ifndef SENTIMENT_FAST_H
#define SENTIMENT_FAST_H
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* the multiplier that mixes n-gram hashes, also used to spread keys over hash slots */
#define MIX0 0x9E3779B97F4A7C15ULL

/* A C-contiguous buffer of ``obj`` whose items have ``itemsize`` bytes and a format among
 * ``fmt`` (struct characters), ``n`` items long (n < 0: any length); a ValueError naming
 * it otherwise. */
static inline int get_exact(PyObject *obj, Py_buffer *v, const char *fmt, Py_ssize_t itemsize,
                            Py_ssize_t n, int writable, const char *name)
{
    if (PyObject_GetBuffer(obj, v, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT |
                           (writable ? PyBUF_WRITABLE : 0)) < 0)
        return -1;
    const char *f = v->format ? v->format : "B";
    if (*f == '<' || *f == '=' || *f == '@')
        f++;
    if (v->itemsize != itemsize || !strchr(fmt, *f) || (n >= 0 && v->len != n * itemsize)) {
        PyErr_Format(PyExc_ValueError, "%s: wrong type or size", name);
        PyBuffer_Release(v);
        return -1;
    }
    return 0;
}

/* _tokens.c */
PyObject *fast_count_tokens(PyObject *self, PyObject *args);
PyObject *fast_tokens(PyObject *self, PyObject *args);
PyObject *fast_ngrams(PyObject *self, PyObject *args);
PyObject *fast_join_tokens(PyObject *self, PyObject *args);
PyObject *fast_interleave_lines(PyObject *self, PyObject *args);
/* _counting.c */
PyObject *fast_factorize(PyObject *self, PyObject *args);
PyObject *fast_rows_matrix(PyObject *self, PyObject *args);
PyObject *fast_lookup_table(PyObject *self, PyObject *args);
PyObject *fast_lookup(PyObject *self, PyObject *args);
/* _merge.c */
PyObject *fast_merge_counts(PyObject *self, PyObject *args);

#endif
