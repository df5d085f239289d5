/* sentiment.native._fast: one epoch's minibatches on two threads (_epoch.c's batches(),
 * split), the weights bit for bit those of one thread. */
#include "_fast.h"

#ifndef _WIN32
#include <pthread.h>
#include <sched.h>

/* Two threads through the same minibatches, the results bit for bit those of batches():
 * each computes the forward pass and the deltas of half the batch's rows, listing their
 * non-zeros by the half of the features they fall in (odd or even); then each updates the
 * weight rows (and Adagrad sums) of its own half of the features from both lists, in the
 * rows' order, as batches() does; thread 0 sums the gradients of w2, b1 and b2 in the
 * rows' order meanwhile and steps them. Two waits per batch, spun (a batch is ~0.1 ms). */
typedef struct {
    const Epoch *c;
    Py_ssize_t hidden;
    int64_t *ks[2][2];  /* [thread][features' half]: the batch's non-zeros, by position */
    int32_t *is[2][2];  /* and their row in the batch */
    Py_ssize_t ns[2][2];
    int volatile arrived;  /* threads at the barrier, counted with atomics */
    int volatile phase;  /* bumped by the last thread to arrive */
} Pair;

static void pair_wait(Pair *p)
{
    int phase = __atomic_load_n(&p->phase, __ATOMIC_ACQUIRE);
    if (__atomic_add_fetch(&p->arrived, 1, __ATOMIC_ACQ_REL) == 2) {
        __atomic_store_n(&p->arrived, 0, __ATOMIC_RELAXED);
        __atomic_add_fetch(&p->phase, 1, __ATOMIC_RELEASE);
        return;
    }
    for (unsigned spins = 0; __atomic_load_n(&p->phase, __ATOMIC_ACQUIRE) == phase; spins++)
        if (spins > 2000)
            sched_yield();  /* the other thread lost its core: do not take it longer */
}

static inline __attribute__((always_inline)) void
pair_batches(Pair *p, int t, Py_ssize_t hidden)
{
    const Epoch *c = p->c;
    EPOCH_LOCALS(c, hidden);
    for (Py_ssize_t lo = 0; lo < n_rows; lo += batch) {
        Py_ssize_t hi = lo + batch < n_rows ? lo + batch : n_rows, m = hi - lo;
        Py_ssize_t half = m / 2, i0 = t ? half : 0, i1 = t ? m : half;
        int64_t *ks[2] = {p->ks[t][0], p->ks[t][1]};
        int32_t *is[2] = {p->is[t][0], p->is[t][1]};
        Py_ssize_t ns[2] = {0, 0};
        for (Py_ssize_t i = i0; i < i1; i++) {
            float *zi = z + i * hidden, *di = d1 + i * hidden;
            const int64_t r = ROW(c, lo + i);
            for (Py_ssize_t h = 0; h < hidden; h++)
                zi[h] = 0.0f;
            for (int64_t k = at(ip, r), e = at(ip, r + 1); k < e; k++) {
                const int64_t j = at(ix, k);
                const int o = (int)(j & 1);
                if (k + AHEAD < e)
                    __builtin_prefetch(W1 + at(ix, k + AHEAD) * hidden);
                ks[o][ns[o]] = k;
                is[o][ns[o]++] = (int32_t)i;
                const float x = data[k], *w = W1 + j * hidden;
                for (Py_ssize_t h = 0; h < hidden; h++)
                    zi[h] += x * w[h];
            }
            for (Py_ssize_t h = 0; h < hidden; h++)
                zi[h] += b1[h];
            float d = row_delta(zi, w2, b2, relu, hidden, y[lo + i], m, &logits[lo + i]);
            d2[i] = d;
            float s = 0.0f;
            for (Py_ssize_t h = 0; h < hidden; h++) {
                float g = (relu && zi[h] <= 0.0f) ? 0.0f : d * w2[h];
                di[h] = g * -lr;  /* the step, -lr * delta, as batches() */
                s += g * g;
            }
            per[i] = s;
        }
        p->ns[t][0] = ns[0];
        p->ns[t][1] = ns[1];
        pair_wait(p);  /* every row's delta known, and its non-zeros listed */
        if (adagrad) {
            for (int src = 0; src < 2; src++) {
                const int64_t *kk = p->ks[src][t];
                const int32_t *ii = p->is[src][t];
                for (Py_ssize_t n = 0, end = p->ns[src][t]; n < end; n++) {
                    const int64_t k = kk[n];
                    acc[at(ix, k)] += data[k] * data[k] * per[ii[n]];
                }
            }
        }
        for (int src = 0; src < 2; src++) {
            const int64_t *kk = p->ks[src][t];
            const int32_t *ii = p->is[src][t];
            for (Py_ssize_t n = 0, end = p->ns[src][t]; n < end; n++) {
                const int64_t k = kk[n], j = at(ix, k);
                if (n + AHEAD < end)
                    __builtin_prefetch(W1 + at(ix, kk[n + AHEAD]) * hidden, 1);
                const float x = adagrad ? (1.0f / sqrtf(acc[j])) * data[k] : data[k];
                const float *di = d1 + ii[n] * hidden;
                float *w = W1 + j * hidden;
                for (Py_ssize_t h = 0; h < hidden; h++)
                    w[h] += x * di[h];
            }
        }
        if (t == 0) {  /* the gradients of w2, b1, b2 in the rows' order, as batches() */
            float gb2 = 0.0f;
            for (Py_ssize_t h = 0; h < hidden; h++)
                gw2[h] = gb1[h] = 0.0f;
            for (Py_ssize_t i = 0; i < m; i++) {
                const float *zi = z + i * hidden;
                const float d = d2[i];
                gb2 += d;
                for (Py_ssize_t h = 0; h < hidden; h++) {
                    gw2[h] += zi[h] * d;
                    gb1[h] += (relu && zi[h] <= 0.0f) ? 0.0f : d * w2[h];
                }
            }
            for (Py_ssize_t h = 0; h < hidden; h++) {
                w2[h] -= lr * gw2[h];
                b1[h] -= lr * gb1[h];
            }
            b2[0] -= lr * gb2;
        }
        pair_wait(p);  /* every weight stepped */
    }
}

static void pair_run(Pair *p, int t)
{
    if (p->hidden == 8)
        pair_batches(p, t, 8);
    else
        pair_batches(p, t, p->hidden);
}

static void *pair_second(void *arg)
{
    pair_run(arg, 1);
    return NULL;
}

int fast_batches_on_two(const Epoch *c, Py_ssize_t hidden)
{
    Pair p;
    memset(&p, 0, sizeof p);
    p.c = c;
    p.hidden = hidden;
    /* the most non-zeros of any batch: the size of each list */
    Py_ssize_t most = 0;
    for (Py_ssize_t lo = 0; lo < c->n_rows; lo += c->batch) {
        Py_ssize_t hi = lo + c->batch < c->n_rows ? lo + c->batch : c->n_rows, n = 0;
        for (Py_ssize_t i = lo; i < hi; i++)
            n += at(c->indptr, ROW(c, i) + 1) - at(c->indptr, ROW(c, i));
        most = n > most ? n : most;
    }
    char *lists = malloc((size_t)(most ? most : 1) * 4 * (sizeof(int64_t) + sizeof(int32_t)));
    if (!lists)
        return 0;
    for (int t = 0; t < 2; t++)
        for (int o = 0; o < 2; o++) {
            p.ks[t][o] = (int64_t *)lists + (2 * t + o) * most;
            p.is[t][o] = (int32_t *)((int64_t *)lists + 4 * most) + (2 * t + o) * most;
        }
    pthread_t second;
    int started = pthread_create(&second, NULL, pair_second, &p) == 0;
    if (started) {
        pair_run(&p, 0);
        pthread_join(second, NULL);
    }
    free(lists);
    return started;
}
#else
int fast_batches_on_two(const Epoch *c, Py_ssize_t hidden)
{
    (void)c; (void)hidden;
    return 0;
}
#endif
