"""The network: sparse layer 1 equals the dense one-hot product, every kernel trains alike,
the batched step follows the true gradient, lazy optimizers equal dense ones on touched
rows, one seed gives one model, and the sigmoid never overflows."""
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from sentiment.nn.network import (
    KERNELS,
    Network,
    csr_backward_add,
    csr_forward,
    layer1_dense,
    layer1_rows,
    log_loss_logits,
    sigmoid,
    update_dense,
    update_rows,
)
from sentiment.nn.optim import SGD, Adagrad, Adam
from sentiment.training.batches import BatchState, run_epoch
from sentiment.training.job import Settings, fit, train

# six reviews over a vocabulary of seven features; values as NB weighting makes them
X = sp.csr_matrix(np.array([[1.0, 0, 0.5, 0, 0, 0, 0],
                            [0, 2.0, 0, 0, 1.0, 0, 0],
                            [0, 0, 0, 0, 0, 0, 0],  # a review with no known word
                            [0.5, 0, 0, 1.5, 0, 0, 1.0],
                            [0, 0, 1.0, 1.0, 1.0, 0, 0],
                            [0, 0.25, 0, 0, 0, 0, 3.0]], dtype=np.float32))
Y = np.array([1, 0, 1, 1, 0, 0], dtype=np.float32)


def make_net(hidden=4, activation="linear", seed=0) -> Network:
    rng = np.random.default_rng(seed)
    net = Network(X.shape[1], hidden, rng, activation=activation, init_scale=0.5)
    net.b1[:] = rng.standard_normal(hidden) * 0.1
    net.b2[:] = 0.1
    return net


def copy_net(net: Network) -> Network:
    return Network.from_params({k: v.copy() for k, v in net.params().items()}, net.activation)


def layer1(kernel: str, W1: np.ndarray) -> np.ndarray:
    """Layer 1 of every row of X by one kernel; all must give X @ W1."""
    if kernel == "csr":
        return csr_forward(X.indptr, X.indices, X.data, W1,
                           np.empty((X.shape[0], W1.shape[1]), np.float32))
    one = layer1_dense if kernel == "dense" else layer1_rows
    return np.stack([one(W1, X.indices[X.indptr[i]:X.indptr[i + 1]],
                         X.data[X.indptr[i]:X.indptr[i + 1]]) for i in range(X.shape[0])])


@pytest.mark.parametrize("kernel", KERNELS)
def test_layer1_equals_the_dense_one_hot_product(kernel):
    W1 = make_net().W1
    dense = X.toarray() @ W1  # the one-hot (here NB-weighted) input, multiplied out
    np.testing.assert_allclose(layer1(kernel, W1), dense, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(X @ W1, dense, rtol=1e-6, atol=1e-7)


def test_prediction_paths_agree():
    net = make_net(activation="relu")
    hidden = net.hidden_layer(X.data, X.indices, X.indptr)  # numpy only, for predict
    expected = np.maximum(X.toarray() @ net.W1 + net.b1, 0)
    np.testing.assert_allclose(hidden, expected, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(net.logits(X, batch_size=4), expected @ net.w2 + net.b2[0],
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(net.logits_arrays(X.data, X.indices, X.indptr),
                               net.logits(X), rtol=1e-6, atol=1e-6)


def test_w1_updates_agree_and_touch_only_the_words_present():
    row = 3  # features 0, 3 and 6
    span = slice(X.indptr[row], X.indptr[row + 1])
    idx, val = X.indices[span], X.data[span]
    delta = np.array([0.5, -1.0, 0.25, 2.0], np.float32)
    W1 = make_net().W1
    results = []
    for update in (update_dense, update_rows):
        W = W1.copy()
        update(W, idx, val, delta, 0.1)
        results.append(W)
    W = W1.copy()
    csr_backward_add(np.array([0, len(idx)]), idx, val, delta[None, :], W, -0.1)
    results.append(W)
    expected = W1 - 0.1 * np.outer(X[row].toarray()[0], delta)
    for W in results:
        np.testing.assert_allclose(W, expected, rtol=1e-6, atol=1e-7)
        assert np.array_equal(W[[1, 2, 4, 5]], W1[[1, 2, 4, 5]])  # untouched rows


@pytest.mark.parametrize("activation", ["linear", "relu"])
def test_every_kernel_trains_to_the_same_weights(activation):
    """Two epochs of one-review steps with plain SGD: dense, rows and csr agree."""
    weights = {}
    for kernel in KERNELS:
        net = make_net(activation=activation)
        settings = Settings(kernel=kernel, optimizer="sgd", batch_size=1, epochs=2,
                            lr=0.1, lr_decay=False, patience=0)
        fit(net, X, Y, settings, np.random.default_rng(1), progress=False)
        weights[kernel] = net.params()
    for kernel in KERNELS[1:]:
        for name, value in weights[KERNELS[0]].items():
            np.testing.assert_allclose(weights[kernel][name], value, rtol=1e-5, atol=1e-6,
                                       err_msg=f"{kernel} {name}")


# -- the batched step follows the gradient of the loss -----------------------------------

def loss_of(params: dict, activation: str, loss: str, l2: float) -> float:
    """The loss the trainer minimizes, in float64: the reference for the gradient check."""
    z1 = X.toarray().astype(np.float64) @ params["W1"] + params["b1"]
    a1 = np.maximum(z1, 0) if activation == "relu" else z1
    z2 = a1 @ params["w2"] + params["b2"][0]
    p = 1 / (1 + np.exp(-z2))
    if loss == "xent":
        value = -np.mean(Y * np.log(p) + (1 - Y) * np.log(1 - p))
    else:
        value = 0.5 * np.mean((p - Y) ** 2)
    touched = np.unique(X.indices)  # L2 applies to the rows the batch touched
    return value + 0.5 * l2 * np.sum(params["W1"][touched] ** 2)


def numeric_gradient(params: dict, f, eps=1e-6) -> dict:
    grads = {}
    for name, value in params.items():
        g = np.zeros_like(value)
        for i in np.ndindex(value.shape):
            old = value[i]
            value[i] = old + eps
            up = f(params)
            value[i] = old - eps
            down = f(params)
            value[i] = old
            g[i] = (up - down) / (2 * eps)
        grads[name] = g
    return grads


class NoBar:
    def update(self, n):
        pass


@pytest.mark.parametrize("activation, loss, l2", [("linear", "xent", 0.0),
                                                  ("relu", "xent", 0.0),
                                                  ("linear", "mse", 0.0),
                                                  ("linear", "xent", 0.1)])
def test_batched_step_is_minus_lr_times_the_numeric_gradient(activation, loss, l2, loops):
    net = make_net(activation=activation)
    z1 = X.toarray() @ net.W1 + net.b1
    assert np.abs(z1).min() > 1e-3  # no relu kink within the finite-difference step
    before = {k: v.astype(np.float64) for k, v in net.params().items()}
    expected = numeric_gradient({k: v.copy() for k, v in before.items()},
                                lambda p: loss_of(p, activation, loss, l2))
    lr = 1.0
    settings = Settings(optimizer="sgd", loss=loss, l2=l2, activation=activation, lr=lr,
                        batch_size=X.shape[0])
    run_epoch(net, X, Y, settings, SGD(lr), np.random.default_rng(0),
              BatchState(X.shape[1], logits=np.empty(X.shape[0], np.float32)), NoBar())
    for name, value in net.params().items():
        step = (before[name] - value) / lr
        np.testing.assert_allclose(step, expected[name], rtol=1e-3, atol=2e-6, err_msg=name)


# -- lazy optimizers equal dense ones on the rows they touch -----------------------------

def test_lazy_adam_equals_dense_adam_on_touched_rows():
    rng = np.random.default_rng(0)
    W0 = rng.standard_normal((6, 3)).astype(np.float32)
    lazy, dense = Adam(0.01), Adam(0.01)
    W_lazy, W_dense = W0.copy(), W0.copy()
    rows = np.array([1, 4])
    for _ in range(3):
        g = rng.standard_normal((2, 3)).astype(np.float32)
        full = np.zeros_like(W0)
        full[rows] = g
        lazy.tick(), dense.tick()
        lazy.step_rows("W1", W_lazy, rows, g)
        dense.step("W1", W_dense, full)
        np.testing.assert_allclose(W_lazy, W_dense, rtol=1e-6, atol=1e-7)
    assert np.array_equal(W_lazy[[0, 2, 3, 5]], W0[[0, 2, 3, 5]])
    # a batch touching other rows: lazy Adam leaves rows 1 and 4 alone, dense Adam's
    # momentum keeps moving them; the rows touched still agree
    other = np.array([0, 2])
    g = rng.standard_normal((2, 3)).astype(np.float32)
    full = np.zeros_like(W0)
    full[other] = g
    before = W_lazy.copy()
    lazy.tick(), dense.tick()
    lazy.step_rows("W1", W_lazy, other, g)
    dense.step("W1", W_dense, full)
    np.testing.assert_allclose(W_lazy[other], W_dense[other], rtol=1e-6, atol=1e-7)
    assert np.array_equal(W_lazy[rows], before[rows])
    assert not np.allclose(W_dense[rows], before[rows])


def test_sparse_sgd_step_equals_the_dense_step():
    rng = np.random.default_rng(0)
    W0 = rng.standard_normal((7, 3)).astype(np.float32)
    delta = rng.standard_normal((6, 3)).astype(np.float32)
    W_sparse, W_dense = W0.copy(), W0.copy()
    SGD(0.1).step_sparse(W_sparse, X.indptr, X.indices, X.data, delta)
    SGD(0.1).step("W1", W_dense, X.toarray().T @ delta)
    np.testing.assert_allclose(W_sparse, W_dense, rtol=1e-6, atol=1e-6)
    assert np.array_equal(W_sparse[5], W0[5])  # feature 5 is in no review


@pytest.mark.parametrize("binary", [False, True])
@pytest.mark.parametrize("dense_ratio", [0.0, np.inf], ids=["sparse", "buffered"])
def test_rowwise_adagrad_step_equals_its_dense_reference(binary, dense_ratio):
    rng = np.random.default_rng(0)
    W0 = rng.standard_normal((7, 3)).astype(np.float32)
    opt, W = Adagrad(0.1), W0.copy()
    opt.dense_ratio = dense_ratio  # 0: always the sparse path; inf: always the buffer
    W_ref, acc = W0.astype(np.float64), np.full(7, opt.eps, np.float64)
    values = np.ones_like(X.data) if binary else X.data
    dense = sp.csr_matrix((values, X.indices, X.indptr), shape=X.shape).toarray()
    dense = dense.astype(np.float64)
    for _ in range(3):
        delta = rng.standard_normal((6, 3)).astype(np.float32)
        opt.step_sparse(W, X.indptr, X.indices, values, delta, binary)
        # each row's accumulator gains sum over reviews of x**2 |delta|**2; its step is
        # the SGD step divided by the square root of the new accumulator
        acc += (dense ** 2).T @ np.sum(delta.astype(np.float64) ** 2, axis=1)
        W_ref -= 0.1 * (dense.T @ delta) / np.sqrt(acc)[:, None]
    np.testing.assert_allclose(W, W_ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(opt.acc, acc, rtol=1e-5)
    assert np.array_equal(W[5], W0[5])


# -- seeds, and numerics -----------------------------------------------------------------

TEXTS = ["a wonderful film, great acting", "a terrible film, awful acting",
         "i loved it, the best this year", "i hated it, the worst this year",
         "brilliant, moving and wonderful", "dull, stupid and awful"] * 3
LABELS = [1, 0] * 9


@pytest.mark.parametrize("extra", [{}, {"dropout": 0.3}, {"optimizer": "adam"},
                                   {"kernel": "rows", "optimizer": "sgd"}])
def test_same_seed_same_weights(extra):
    settings = Settings(seed=7, epochs=3, min_count=1, val_fraction=0.2, **extra)
    a, b = train(TEXTS, LABELS, settings), train(TEXTS, LABELS, settings)
    assert a.vocab.words == b.vocab.words
    for name, value in a.net.params().items():
        assert np.array_equal(value, b.net.params()[name]), name
    c = train(TEXTS, LABELS, settings.with_(seed=8))
    assert not np.array_equal(a.net.w2, c.net.w2)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_never_overflows(dtype):
    z = np.array([1e6, -1e6, 0.0, 88.0, -88.0, 1000.0, -1000.0, 1e-8], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = sigmoid(z)
        loss = log_loss_logits(z, np.array([0, 1, 1, 0, 1, 0, 1, 0], dtype))
    assert p.dtype == dtype
    assert p[[0, 1, 2]].tolist() == [1.0, 0.0, 0.5]
    assert np.all((p >= 0) & (p <= 1)) and np.isfinite(loss)
    assert p[5] == 1.0 and p[6] == 0.0


def test_sigmoid_of_a_scalar_and_of_integers():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert float(sigmoid(np.float32(-1e6))) == 0.0
        assert sigmoid(np.array([-1000, 1000])).tolist() == [0.0, 1.0]
