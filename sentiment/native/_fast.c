/* sentiment.native._fast: the hot loops of training and scoring, compiled.
 *
 * An optional accelerator: the package runs the same steps with numpy and scipy when this
 * module is not built (no compiler at install time) or SENTIMENT_PURE=1 is set
 * (sentiment/fast.py chooses). Each function does what its numpy counterpart does, with
 * the same results (tests/test_fast.py compares them):
 *
 *   _epoch.c     epoch: the minibatches of sentiment.training.batches.run_epoch (two classes,
 *                cross-entropy, row-wise Adagrad or SGD), rows read in place in any order;
 *   _fast.c      logits: sentiment.nn.network.Network.logits for two classes; the module;
 *   _tokens.c    tokens, ngrams: sentiment.features.tokens._hash_chunk's tokens, hashes, negation
 *                scopes and n-grams, in one pass over the bytes;
 *   _words.c     join_tokens, interleave_lines: features' words read back and ordered;
 *   _normalize.c normalized: sentiment.features.tokens.normalized_bytes, a one-byte (ASCII,
 * Latin-1)
 *                text without a Python string operation;
 *   _counting.c  factorize, rows_matrix: distinct hashes numbered, each text's features
 *                counted;
 *   _lookup.c    lookup_table, lookup: the vocabulary's lookups; feature_sums: a
 *                compact model's logits (sentiment.model.model.Model.logits) in one pass;
 *                chunk_columns: a chunk's codes as columns (pass 2, test read ahead);
 *   _merge.c     merge_counts, prune_counts: the counting table's merge and prune
 *                (FeatureCounter.merge_in).
 *
 * Why it pays: numpy/scipy walk the data once per operation with a temporary array and a
 * Python call in between, or sort where a hash table does; here one loop does each pass.
 * Arrays arrive through the buffer protocol (no numpy headers needed to build); the GIL
 * is released while the loops run. What it measured: docs/benchmarks.md.
 */
#include "_fast.h"

static const char *logits_doc =
    "logits(indptr, indices, data, W1, b1, w2, b2, relu, out)\n\n"
    "out[i] = act(x_i @ W1 + b1) @ w2 + b2 for each CSR row i (two classes), float32.";

static PyObject *logits(PyObject *self, PyObject *args)
{
    PyObject *o[8];
    int relu;
    if (!PyArg_ParseTuple(args, "OOOOOOOpO", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &o[6],
                          &relu, &o[7]))
        return NULL;
    Arr a[8];
    memset(a, 0, sizeof a);
    static const char kinds[] = "iifffff" "f";
    static const char *names[] = {"indptr", "indices", "data", "W1", "b1", "w2", "b2", "out"};
    for (int i = 0; i < 8; i++)
        if (get_array(o[i], &a[i], kinds[i], i == 7, names[i]) < 0) {
            release(a, 8);
            return NULL;
        }
    Py_ssize_t n_rows = items(&a[0]) - 1, hidden = items(&a[4]);
    Py_ssize_t n_inputs = hidden ? items(&a[3]) / hidden : 0;
    if (n_rows < 0 || hidden < 1 || items(&a[5]) != hidden || items(&a[6]) != 1 ||
        items(&a[3]) != n_inputs * hidden || items(&a[7]) < n_rows ||
        fast_check_indices(&a[0], &a[1], items(&a[2]), n_rows, n_inputs) < 0) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "logits: arrays of inconsistent sizes");
        release(a, 8);
        return NULL;
    }
    const float *data = a[2].view.buf, *W1 = a[3].view.buf, *b1 = a[4].view.buf;
    const float *w2 = a[5].view.buf, *b2 = a[6].view.buf;
    float *out = a[7].view.buf;
    float *z = malloc(sizeof(float) * (size_t)hidden);
    if (!z) {
        release(a, 8);
        return PyErr_NoMemory();
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t r = 0; r < n_rows; r++) {
        row_forward(&a[0], &a[1], data, W1, b1, hidden, r, z);
        float z2 = 0.0f;
        for (Py_ssize_t h = 0; h < hidden; h++)
            z2 += (relu && z[h] < 0.0f ? 0.0f : z[h]) * w2[h];
        out[r] = z2 + b2[0];
    }
    Py_END_ALLOW_THREADS
    free(z);
    release(a, 8);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"epoch", fast_epoch, METH_VARARGS, NULL},
    {"logits", logits, METH_VARARGS, NULL},
    {"tokens", fast_tokens, METH_VARARGS,
     "tokens(text, window, mix, scripts, cues, stops, modals, undo, free, starts, ends, h1, "
     "doc, inside) -> tokens: each token's bytes, hash (mixed if mix), text and (inside not "
     "None) whether a negation governs it; scripts: tokens by Unicode script, emoticons"},
    {"ngrams", fast_ngrams, METH_VARARGS,
     "ngrams(h1, doc, inside, k, mix, out_h, out_doc) -> the k-grams within a text"},
    {"normalized", fast_normalized, METH_VARARGS,
     "normalized(texts, other, unescape, elongation=False) -> bytes: the texts normalized, "
     "joined by NUL bytes (the one-byte ones here, any other by other(text))"},
    {"text_hashes", fast_text_hashes, METH_VARARGS,
     "text_hashes(texts, out): a 64-bit hash of each text (out: uint64)"},
    {"join_tokens", fast_join_tokens, METH_VARARGS,
     "join_tokens(data, starts, ends, first, n) -> bytes: token runs, one per line"},
    {"interleave_lines", fast_interleave_lines, METH_VARARGS,
     "interleave_lines(parts, total) -> bytes: parts' lines put at their positions"},
    {"factorize", fast_factorize, METH_VARARGS,
     "factorize(keys, codes, uniques, first, bounds) -> distinct keys"},
    {"merge_counts", fast_merge_counts, METH_VARARGS,
     "merge_counts(sources, out) -> entries: counting tables merged (FeatureCounter)"},
    {"prune_counts", fast_prune_counts, METH_VARARGS,
     "prune_counts(table, entries, size, threshold) -> (entries, threshold): at most size "
     "entries kept in place, the threshold raised as FeatureCounter.prune does"},
    {"lookup_table", fast_lookup_table, METH_VARARGS,
     "lookup_table(hashes, table): fill the int32 table (a power of two, at least twice "
     "the hashes) that lookup reads"},
    {"lookup", fast_lookup, METH_VARARGS,
     "lookup(table, hashes, queries, out): out[i] = the position of queries[i] in hashes, "
     "or -1"},
    {"feature_sums", fast_feature_sums, METH_VARARGS,
     "feature_sums(table, hashes, queries, rows, negation, presence, W1, stamps, plain, "
     "negated): a compact model's sums of weights over each text's known features"},
    {"chunk_columns", fast_chunk_columns, METH_VARARGS,
     "chunk_columns(indptr, indices, ids, data, sign, scale, out_indptr, out_indices, "
     "out_data) -> non-zeros: a chunk's local codes as columns, values signed and scaled"},
    {"rows_matrix", fast_rows_matrix, METH_VARARGS,
     "rows_matrix(rows, codes, negated, n_rows, n_cols, binary, ordered, indptr, indices, "
     "data[, positive, counts]) -> non-zeros"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "sentiment.native._fast",
    "Compiled loops for training and scoring (optional; see sentiment/fast.py).", -1, methods,
};

PyMODINIT_FUNC PyInit__fast(void)
{
    fast_fill_classes();
    fast_fill_normalize();
    fast_fill_scripts();
    methods[0].ml_doc = fast_epoch_doc;
    methods[1].ml_doc = logits_doc;
    return PyModule_Create(&module);
}
