"""Teach a tiny neural network whether a point lies inside the unit circle.

The runnable companion to the blog post "Notes on neural networks: basic concepts": a
2-10-5-1 network built from raw PyTorch tensors, trained by gradient descent on the mean
squared error, then scored on held-back points. Read top to bottom: the post's listing,
which is what runs at the post's choices; backpropagation written out for its three
layers; one general network for every other choice; experiments; the command line.

Run it:   python circle_classifier.py              the post's run, and its output
          python circle_classifier.py --seeds 100  is that run typical? 100 at once
          python circle_classifier.py --lr 0.5 2 --seeds 100   two rates compared
Test it:  python -m pytest
"""

import argparse
import itertools
import json
import math
import os
import statistics
import sys
import time
from argparse import Namespace
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

Params = list[Tensor]  # [W1, b1, W2, b2, W3, b3], or a (W, b) pair for each layer


# The post's listing.
def generate_datasets(
    generator: torch.Generator, samples: int = 10000
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """`samples` points in the square [-5, 5)^2, labelled 1.0 inside the unit circle and
    0.0 outside, split about 80:20: X_train (n_train, 2), Y_train (n_train, 1), X_dev
    (n_dev, 2), Y_dev (n_dev, 1). Examples are rows."""
    X = torch.rand(samples, 2, generator=generator) * 10 - 5  # (samples, 2)
    Y = ((X**2).sum(dim=1, keepdim=True) < 1).float()  # (samples, 1)
    P = torch.rand(samples, generator=generator)  # (samples,)
    X_train, Y_train = X[P < 0.8], Y[P < 0.8]
    X_dev, Y_dev = X[P >= 0.8], Y[P >= 0.8]
    return X_train, Y_train, X_dev, Y_dev


def init_network(generator: torch.Generator) -> Params:
    """Weights from a standard normal, biases at zero: W1 (2, 10), b1 (10,), W2 (10, 5),
    b2 (5,), W3 (5, 1), b3 (1,)."""
    W1 = torch.randn(2, 10, generator=generator, requires_grad=True)
    b1 = torch.zeros(10, requires_grad=True)
    W2 = torch.randn(10, 5, generator=generator, requires_grad=True)
    b2 = torch.zeros(5, requires_grad=True)
    W3 = torch.randn(5, 1, generator=generator, requires_grad=True)
    b3 = torch.zeros(1, requires_grad=True)
    return [W1, b1, W2, b2, W3, b3]


def forward_pass(params: Params, X: Tensor) -> Tensor:
    """Points X (N, 2) -> the network's belief (N, 1), in (0, 1), that each is inside."""
    W1, b1, W2, b2, W3, b3 = params
    Z1 = torch.relu(X @ W1 + b1)  # (N, 2) @ (2, 10) -> (N, 10), b1 added to each row
    Z2 = torch.relu(Z1 @ W2 + b2)  # (N, 10) @ (10, 5) -> (N, 5)
    Z3 = torch.sigmoid(Z2 @ W3 + b3)  # (N, 5) @ (5, 1) -> (N, 1)
    return Z3


def mean_squared_error(A: Tensor, Y: Tensor) -> Tensor:
    """The mean of (A - Y)^2 over the examples of A, Y (N, 1): a scalar."""
    return ((A - Y) ** 2).mean()


def fit(
    params: Params,
    X_train: Tensor,
    Y_train: Tensor,
    epochs: int = 1000,
    lr: float = 0.5,
    forward: Callable = forward_pass,
    loss: Callable = mean_squared_error,
) -> None:
    """Full-batch gradient descent on X_train (N, 2), Y_train (N, 1): `params` in place."""
    for _ in range(epochs):
        Z = forward(params, X_train)
        L = loss(Z, Y_train)
        L.backward()
        # The post writes p.data: the same update, made where autograd does not look.
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad
                p.grad = None  # backward() adds to .grad: clear it for the next epoch


def evaluate(
    params: Params,
    X_dev: Tensor,
    Y_dev: Tensor,
    forward: Callable = forward_pass,
    loss: Callable = mean_squared_error,
) -> dict[str, Any]:
    """The post's figures on the dev points X_dev (n_dev, 2), Y_dev (n_dev, 1): the dev
    loss, the confusion matrix (inside is positive), the misclassified points."""
    with torch.no_grad():  # nothing here is trained: no graph to record
        Y_pred = forward(params, X_dev)
        dev_loss = loss(Y_pred, Y_dev)
    said = (Y_pred > 0.5).squeeze(1)  # (n_dev,)
    truth = (Y_dev == 1).squeeze(1)  # (n_dev,)
    cells = torch.stack([said & truth, said & ~truth, ~said & ~truth, ~said & truth])
    tp, fp, tn, fn = cells.sum(1).tolist()  # one read from the device
    figures = {"dev_loss": dev_loss.item(), "true_positives": tp, "false_positives": fp}
    figures |= {"true_negatives": tn, "false_negatives": fn}
    # the drawn points (x1, x2), whatever other inputs the network was fed
    figures["false_positive_samples"] = X_dev[said & ~truth, :2].tolist()
    figures["false_negative_samples"] = X_dev[~said & truth, :2].tolist()
    return figures


# Backpropagation by hand, for the post's three layers: what L.backward() computes.
def backward_pass(params: Params, X: Tensor, Y: Tensor) -> Params:
    """The gradient of mean_squared_error(forward_pass(params, X), Y) with respect to
    each parameter, by the chain rule from the loss back to W1: [dW1, db1, dW2, db2, dW3,
    db3], each shaped as its parameter. X (N, 2), Y (N, 1); dT means dLoss/dT."""
    W1, b1, W2, b2, W3, b3 = params
    # The forward pass again, keeping what each layer made: the chain rule needs it.
    Z1 = torch.relu(X @ W1 + b1)  # (N, 10)
    Z2 = torch.relu(Z1 @ W2 + b2)  # (N, 5)
    Z3 = torch.sigmoid(Z2 @ W3 + b3)  # (N, 1)
    # Backwards, from the loss: A3 = Z2 @ W3 + b3 is what the sigmoid took, and so on.
    dZ3 = 2 * (Z3 - Y) / len(Y)  # (N, 1): each example's share of the mean
    dA3 = dZ3 * Z3 * (1 - Z3)  # sigmoid' is Z3 (1 - Z3)
    dW3 = Z2.T @ dA3  # (5, N) @ (N, 1) -> (5, 1)
    db3 = dA3.sum(0)  # (1,): b3 was added to every row, so its gradient adds theirs
    dZ2 = dA3 @ W3.T  # (N, 1) @ (1, 5) -> (N, 5)
    dA2 = dZ2 * (Z2 > 0)  # relu' is 1 where the neuron is on, 0 where it is off
    dW2 = Z1.T @ dA2  # (10, N) @ (N, 5) -> (10, 5)
    db2 = dA2.sum(0)  # (5,)
    dZ1 = dA2 @ W2.T  # (N, 5) @ (5, 10) -> (N, 10)
    dA1 = dZ1 * (Z1 > 0)
    dW1 = X.T @ dA1  # (2, N) @ (N, 10) -> (2, 10)
    db1 = dA1.sum(0)  # (10,)
    return [dW1, db1, dW2, db2, dW3, db3]


def fit_by_hand(
    params: Params,
    X_train: Tensor,
    Y_train: Tensor,
    epochs: int = 1000,
    lr: float = 0.5,
    gradients: Callable = backward_pass,
) -> None:
    """fit(), with the gradients computed by hand where L.backward() was."""
    with torch.no_grad():  # plain arithmetic on tensors: nothing for autograd to record
        for _ in range(epochs):
            grads = gradients(params, X_train, Y_train)
            for p, grad in zip(params, grads):
                p -= lr * grad


# The post's exercise, solved: examples as columns, every tensor the transpose.
def forward_columns(params: Params, X: Tensor) -> Tensor:
    """forward_pass with examples as columns: X (2, N) -> Y_pred (1, N); W1 (10, 2),
    b1 (10, 1), W2 (5, 10), b2 (5, 1), W3 (1, 5), b3 (1, 1)."""
    W1, b1, W2, b2, W3, b3 = params
    Z1 = torch.relu(W1 @ X + b1)  # (10, 2) @ (2, N) -> (10, N), b1 added to each column
    Z2 = torch.relu(W2 @ Z1 + b2)  # (5, 10) @ (10, N) -> (5, N)
    Z3 = torch.sigmoid(W3 @ Z2 + b3)  # (1, 5) @ (5, N) -> (1, N)
    return Z3


# Beyond the post: one network of any depth, for every other choice. Layer k computes
# A = Z @ W + b, then Z' = g(A), and the last g is the sigmoid. With a leading dimension
# S on every tensor (W1 (S, 2, 10)) the same code runs S networks at once: a stack.

# What the post's standard normal draws are multiplied by: 1 (the post's), the scales
# of torch.nn.init's kaiming_normal_ and xavier_normal_, or 0.
INITS = {
    "normal": lambda fan_in, fan_out: 1.0,
    "kaiming": lambda fan_in, fan_out: math.sqrt(2 / fan_in),
    "xavier": lambda fan_in, fan_out: math.sqrt(2 / (fan_in + fan_out)),
    "zeros": lambda fan_in, fan_out: 0.0,
}
# The inputs: the post's (x1, x2), or (x1, x2, x1^2, x2^2), in which the circle
# x1^2 + x2^2 = 1 is a straight line.
FEATURES = {"plain": lambda X: X, "squares": lambda X: torch.cat([X, X**2], dim=-1)}
# Each non-linearity, and its derivative in terms of its output Z. relu's Z is 0 or
# positive, so its sign is 1 where the neuron is on and 0 where it is off: Z > 0 as
# numbers, in one pass over memory instead of two.
ACTIVATIONS = {
    "relu": (torch.relu, torch.sign),
    "tanh": (torch.tanh, lambda Z: 1 - Z**2),
    "sigmoid": (torch.sigmoid, lambda Z: Z * (1 - Z)),
}


def init_layers(generator: torch.Generator, widths: list[int], init: str) -> Params:
    """init_network for widths [inputs, H1, ..., 1], drawn in the post's order: each
    W (fan_in, fan_out) from a standard normal, times its scale; each b (fan_out,) 0."""
    params = []
    for fan_in, fan_out in itertools.pairwise(widths):
        W = torch.randn(fan_in, fan_out, generator=generator)
        params += [W * INITS[init](fan_in, fan_out), torch.zeros(fan_out)]
    return params


def layers(params: Params, X: Tensor, g: Callable, columns: bool = False) -> Params:
    """What each layer outputs, [X, Z1, ..., Y_pred]: X (N, F) -> Y_pred (N, 1). With
    columns, as in the exercise, X (F, N) -> Y_pred (1, N) and each W is transposed."""
    Z = [X]
    for k in range(0, len(params), 2):
        W, b = params[k], params[k + 1]
        A = W @ Z[-1] + b if columns else Z[-1] @ W + b  # (N, fan_in) -> (N, fan_out)
        Z.append(g(A) if k + 2 < len(params) else torch.sigmoid(A))
    return Z


def network(params: Params, X: Tensor, g: Callable = torch.relu) -> Tensor:
    """forward_pass for any depth: X (N, F) -> Y_pred (N, 1)."""
    return layers(params, X, g)[-1]


# Each loss's gradient at each point with respect to A, the output neuron's sum; the
# mean's 1 / N, or a stack's weights, multiply it in backprop().
def squared_error_dA(Y_pred: Tensor, Y: Tensor) -> Tensor:
    # sigmoid' = Y_pred (1 - Y_pred) is small wherever Y_pred is near 0 or 1: a sure
    # but wrong output learns slowly
    return 2 * (Y_pred - Y) * Y_pred * (1 - Y_pred)


def cross_entropy_dA(Y_pred: Tensor, Y: Tensor) -> Tensor:
    # -(Y log Y_pred + (1 - Y) log(1 - Y_pred)) has 1 / (Y_pred (1 - Y_pred)) in its
    # derivative, which cancels sigmoid': exact, as ..._with_logits computes it
    return Y_pred - Y


def binary_cross_entropy(Y_pred: Tensor, Y: Tensor) -> Tensor:
    """torch's binary_cross_entropy, the mean of -(Y log Y_pred + (1 - Y) log(1 -
    Y_pred)) over Y_pred, Y (N, 1). torch's refuses a NaN: here a diverged network's NaN
    gives a NaN loss, as the squared error does, and all else is as torch's."""
    loss = F.binary_cross_entropy(Y_pred.nan_to_num(), Y)
    return torch.where(Y_pred.isnan().any(), math.nan, loss)


class Loss(NamedTuple):
    mean: Callable  # what fit() descends and the report measures
    torch: Callable  # torch's own: with reduction="none", each point's, for a stack
    dA: Callable  # each point's gradient with respect to A


# Cross entropy by autograd is torch's binary_cross_entropy, whose own backward divides
# by max(Y_pred (1 - Y_pred), 1e-12); by hand it is exact. The report says which.
LOSSES = {
    "mse": Loss(mean_squared_error, F.mse_loss, squared_error_dA),
    "bce": Loss(binary_cross_entropy, F.binary_cross_entropy, cross_entropy_dA),
}


def backprop(
    params: Params,
    X: Tensor,
    Y: Tensor,
    weight: float | Tensor,
    dA_of: Callable,
    activation: str,
    columns: bool = False,
) -> Params:
    """backward_pass for any depth, loss and non-linearity, a stack too: one loop from
    the last layer to the first. `weight` is each point's share of the loss (1 / N for
    a mean). Returns [dW1, db1, ..., dWL, dbL], each shaped as its parameter."""
    g, g_prime = ACTIVATIONS[activation]
    Z = layers(params, X, g, columns)  # [X, Z1, ..., Y_pred]: the forward pass, kept
    dA = dA_of(Z[-1], Y) * weight  # (N, 1)
    grads: Params = []
    for k in range(len(params) - 2, -1, -2):  # layer by layer, from the last
        W, Z_in = params[k], Z[k // 2]  # this layer's weights, and its input
        if columns:  # (fan_out, N) @ (N, fan_in) -> (fan_out, fan_in)
            grads = [dA @ Z_in.mT, dA.sum(-1, keepdim=True), *grads]
        else:  # (fan_in, N) @ (N, fan_out) -> (fan_in, fan_out); b was added to each row
            grads = [Z_in.mT @ dA, dA.sum(0), *grads]
        if k > 0:  # back through W, then g': (N, fan_out) -> (N, fan_in)
            dZ = W.mT @ dA if columns else dA @ W.mT
            dA = dZ * g_prime(Z_in)
    return grads


# Experiments: one seed's run, as the post's listing computes it, and many at once.
COUNTS = ("true_positives", "false_positives", "true_negatives", "false_negatives")
SAMPLES = ("false_positive_samples", "false_negative_samples")


class RunError(Exception):
    """What was asked for gives no report (an empty dev set, say): one line, status 2."""


class Diverged(RunError):
    """The loss or the parameters stopped being finite."""


class Choice(NamedTuple):  # what a comparison varies, at the post's values
    lr: float = 0.5
    hidden: tuple[int, ...] = (10, 5)  # the hidden layers' widths
    activation: str = "relu"
    init: str = "normal"
    features: str = "plain"


def is_the_posts(choice: Choice, loss: str) -> bool:
    """Whether the post's own functions compute this network (at any rate)."""
    return choice._replace(lr=0.5) == Choice() and loss == "mse"


def forward_of(choice: Choice, loss: str) -> Callable:
    """The post's forward_pass at its choices, else the general network."""
    if is_the_posts(choice, loss):
        return forward_pass
    return partial(network, g=ACTIVATIONS[choice.activation][0])


def prepare(seed: int, args: Namespace, choice: Choice) -> tuple[list, Params]:
    """A run's data, [X_train, Y_train, X_dev, Y_dev], and its initial network, drawn in
    the post's order on the CPU and only then moved: every device starts alike."""
    generator = torch.Generator().manual_seed(seed)
    X_train, Y_train, X_dev, Y_dev = generate_datasets(generator, args.samples)
    for name, X in [("train", X_train), ("dev", X_dev)]:
        if len(X) == 0:
            raise RunError(f"--samples {args.samples} leaves the {name} set empty")
    if is_the_posts(choice, args.loss):
        params = init_network(generator)
    else:
        inputs = 2 if choice.features == "plain" else 4
        params = init_layers(generator, [inputs, *choice.hidden, 1], choice.init)
    inputs_of = FEATURES[choice.features]
    data = [inputs_of(X_train), Y_train, inputs_of(X_dev), Y_dev]
    params = [p.detach().to(args.device).requires_grad_() for p in params]
    return [T.to(args.device) for T in data], params


def all_finite(params: Params) -> bool:
    """Whether every entry of every parameter is finite: one read from the device."""
    return bool(torch.stack([p.detach().isfinite().all() for p in params]).all())


def run(args: Namespace, choice: Choice) -> dict:
    """The run of --seed, as the post's listing computes it. It trains a stretch at a
    time, read from the device only in between: to log, and to check it is finite."""
    data, params = prepare(args.seed, args, choice)
    X_train, Y_train, X_dev, Y_dev = data
    forward, loss = forward_of(choice, args.loss), LOSSES[args.loss]
    gradients = backward_pass  # by hand, at the post's choices; else the general loop
    if not is_the_posts(choice, args.loss):  # with each example 1 / N of the mean
        weight, activation = 1 / len(Y_train), choice.activation
        gradients = partial(
            backprop, weight=weight, dA_of=loss.dA, activation=activation
        )
    history = []  # [epoch, train_loss, dev_loss], as logged
    epoch, start = 0, time.perf_counter()
    while True:
        due = args.log_every > 0 and epoch > 0 and epoch % args.log_every == 0
        if due or (args.log_every > 0 and epoch == args.epochs):
            with torch.no_grad():
                train_loss = loss.mean(forward(params, X_train), Y_train)
                dev_loss = loss.mean(forward(params, X_dev), Y_dev)
            history.append([epoch, *torch.stack([train_loss, dev_loss]).tolist()])
            frame = [LOG.format(*history[-1], width=len(str(args.epochs)))]
            if args.boundary:  # the map as it stands, under the line of its epoch
                figures = evaluate(params, X_dev, Y_dev, forward, loss.mean)
                frame += decision_map(params, figures, forward, choice.features)
                if len(history) > 1 and sys.stderr.isatty():  # over the last one
                    frame[0] = f"\033[{len(frame)}F\033[J" + frame[0]
            print(*frame, sep="\n", file=sys.stderr)
        if epoch == args.epochs or not all_finite(params):
            break
        stop = min(args.epochs, epoch - epoch % 100 + 100)  # checked every 100 epochs
        if args.log_every:  # and at each log
            stop = min(stop, epoch - epoch % args.log_every + args.log_every)
        if args.backprop == "manual":
            fit_by_hand(params, X_train, Y_train, stop - epoch, choice.lr, gradients)
        else:
            fit(params, X_train, Y_train, stop - epoch, choice.lr, forward, loss.mean)
        epoch = stop
    seconds = time.perf_counter() - start
    result = finish(params, data, epoch, args.loss, choice)
    result |= settings(args, args.seed, choice)
    result |= {"fit_seconds": seconds, "loss_history": history}
    if args.boundary:
        result["boundary"] = decision_map(params, result, forward, choice.features)
    return result


def finish(params: Params, data: list, ran: int, loss: str, choice: Choice) -> dict:
    """A run's figures after `ran` epochs, and what they are measured against: the
    training loss, the best constant output (the train set's share inside), "outside"
    always, and each hidden layer's dead neurons."""
    X_train, Y_train, X_dev, Y_dev = data
    mean, (g, g_prime) = LOSSES[loss].mean, ACTIVATIONS[choice.activation]
    forward = forward_of(choice, loss)
    r = evaluate(params, X_dev, Y_dev, forward, mean)
    with torch.no_grad():
        train_loss = mean(forward(params, X_train), Y_train).item()
        hidden = layers(params, X_train, g)[1:-1]  # [Z1, ..., Z_L-1], each (N, width)
        dead = [int((g_prime(Z) == 0).all(0).sum()) for Z in hidden]  # no gradient
        share = Y_train.mean()  # the constant output with the least squared error
        constant = [mean(share.expand_as(Y), Y).item() for Y in (Y_train, Y_dev)]
    if not (math.isfinite(r["dev_loss"] + train_loss) and all_finite(params)):
        raise Diverged(f"training diverged by epoch {ran}")
    tp, fp, tn, fn = (r[k] for k in COUNTS)
    n = len(X_dev)
    # + 0.0: a cross entropy of -0.0 reads as 0
    r["dev_loss"], r["train_loss"] = r["dev_loss"] + 0.0, train_loss + 0.0
    r["constant_output"] = share.item()
    r["constant_train_loss"], r["constant_dev_loss"] = [c + 0.0 for c in constant]
    r["baseline_accuracy"], r["accuracy"] = (tn + fp) / n, (tp + tn) / n
    r["dead_neurons"], r["n_train"], r["n_dev"] = dead, len(X_train), n
    r["learned_nothing"] = tp + fp == 0 or tn + fn == 0  # one answer for every point
    # each set's loss over its own best constant's, as the sets' shares inside differ
    # (none where a set has no point inside, or none outside)
    r["relative_losses"] = None
    if min(constant) > 0:
        r["relative_losses"] = [train_loss / constant[0], r["dev_loss"] / constant[1]]
    return r


def settings(args: Namespace, seed: int, choice: Choice) -> dict:
    """What a run was asked to do, as its results name it."""
    asked = {k: getattr(args, k) for k in ("epochs", "samples", "loss", "backprop")}
    named = choice._asdict() | {"hidden": list(choice.hidden)}  # JSON has no tuples
    return {"seed": seed} | named | {"device": str(args.device)} | asked


# A stack: every tensor gets a leading dimension S of networks, and examples are
# columns, as in the exercise: a CPU's batched products are several times faster so, as
# they write along the examples. CHUNK points at a time keep a group's work in the cache,
# two chunks at once, each on a thread of its own (measured: torch's second thread spins
# while it waits, and beside other busy programs a sweep crawls; a thread here sleeps).
# A network's sums do not depend on its neighbours: each is padded to whole chunks, a
# chunk of padding adds exactly 0 to its gradients, and the chunks add up in order.
GROUP = 16  # networks in a stack on a CPU; a GPU trains all the seeds in one
CHUNK = 2048  # points


def chunk_gradients(
    params: Params, chunk: list, args: Namespace, choice: Choice
) -> Params:
    """The gradients of a chunk's share of each network's mean loss: each network's own.
    The chunk: X (S, F, c), Y (S, 1, c), and each point's share of its network's mean,
    weight (S, 1, c), 0 on padding."""
    X, Y, weight = chunk
    loss, activation = LOSSES[args.loss], choice.activation
    if args.backprop == "manual":
        return backprop(params, X, Y, weight, loss.dA, activation, columns=True)
    leaves = [p.detach().requires_grad_() for p in params]
    g = ACTIVATIONS[activation][0]
    Y_pred = layers(leaves, X, g, columns=True)[-1]  # (S, 1, c)
    # nan_to_num: torch's cross entropy refuses a NaN, a diverged network's, which would
    # stop the others too; it changes nothing where all is finite
    L = (loss.torch(Y_pred.nan_to_num(), Y, reduction="none") * weight).sum()
    return list(torch.autograd.grad(L, leaves))


def train_stack(runs: list, choice: Choice, args: Namespace) -> tuple[list, list]:
    """The networks of `runs`, each (data, params) from prepare, trained at once: each
    one's parameters, and the epoch by which it was seen not finite, else --epochs."""
    # glibc hands a large freed block back to the system, to fault it in again at the
    # next chunk, unless it has seen a larger one freed: free one of 31 MiB first
    torch.empty(31 * 2**20, dtype=torch.uint8)
    counts = [len(data[0]) for data, _ in runs]
    # Each network padded to n points: whole chunks, or fewer --samples, rounded up to
    # a multiple of 16 so that every network's rows are aligned alike.
    size = min(CHUNK, 16 * math.ceil(args.samples / 16))
    n = size * math.ceil(max(counts) / size)
    X_train = runs[0][0][0]
    X = X_train.new_zeros(len(runs), X_train.shape[1], n)  # (S, F, n), 0 on padding
    Y, weight = X_train.new_zeros(2, len(runs), 1, n)  # each (S, 1, n)
    for s, ((X_train, Y_train, *_), _) in enumerate(runs):
        X[s, :, : counts[s]], Y[s, :, : counts[s]] = X_train.T, Y_train.T
        weight[s, :, : counts[s]] = 1 / counts[s]
    chunks = [[T[..., i : i + size] for T in (X, Y, weight)] for i in range(0, n, size)]
    # W (in, out) -> (S, out, in) and b (out,) -> (S, out, 1): each transposed
    shapes = [p.shape for p in runs[0][1]]
    columns = [[p.detach().view(-1, p.shape[-1]).mT for p in net] for _, net in runs]
    params = [torch.stack(stacked) for stacked in zip(*columns)]
    seen: list = [None] * len(runs)  # the epoch each was first seen not finite
    with ThreadPoolExecutor(2) as pool:
        for epoch in range(1, args.epochs + 1):
            jobs = [
                pool.submit(chunk_gradients, params, c, args, choice) for c in chunks
            ]
            grads = [sum(each) for each in zip(*(job.result() for job in jobs))]
            params = [p - choice.lr * grad for p, grad in zip(params, grads)]
            if epoch % 100 == 0 or epoch == args.epochs:
                finite = torch.stack([p.isfinite().flatten(1).all(1) for p in params])
                for s, ok in enumerate(finite.all(0).tolist()):  # one read, 100 epochs
                    if not ok and seen[s] is None:
                        seen[s] = epoch
                if None not in seen:  # a network alone trains on: all stop here
                    break
    nets = [[p.mT.reshape(q) for p, q in zip(net, shapes)] for net in zip(*params)]
    return nets, [args.epochs if epoch is None else epoch for epoch in seen]


def sweep(args: Namespace, choice: Choice, first_seed: int) -> Iterator[list]:
    """Seeds first_seed, first_seed + 1, ... trained in stacks, a group's rows as it
    finishes: a single run's figures (a stack sums in another order, so its last bits
    differ), or why a run has none."""
    seeds = range(first_seed, first_seed + args.seeds)
    size = GROUP if args.device.type == "cpu" else len(seeds)
    size = math.ceil(len(seeds) / math.ceil(len(seeds) / size))  # groups alike in size
    for i in range(0, len(seeds), size):
        group, rows, runs = seeds[i : i + size], {}, {}
        for seed in group:
            try:
                runs[seed] = prepare(seed, args, choice)
            except RunError as error:
                rows[seed] = {"error": str(error), "diverged": False}
        if runs:
            start = time.perf_counter()
            nets, ran = train_stack(list(runs.values()), choice, args)
            share = (time.perf_counter() - start) / len(runs)  # of the group's time
            for (seed, (data, _)), net, epochs in zip(runs.items(), nets, ran):
                try:
                    rows[seed] = finish(net, data, epochs, args.loss, choice)
                    rows[seed]["fit_seconds"] = share
                except Diverged as error:
                    rows[seed] = {"error": str(error), "diverged": True}
        yield [settings(args, seed, choice) | rows[seed] for seed in group]


def quartiles(values: list[float]) -> dict[str, float] | None:
    """Their minimum, quartiles (interpolated as numpy's) and maximum."""
    if not values:
        return None
    many = values if len(values) > 1 else values * 2  # one value: its own quartiles
    q1, q2, q3 = statistics.quantiles(many, method="inclusive")
    return {"min": min(values), "q1": q1, "median": q2, "q3": q3, "max": max(values)}


def summarize(runs: list[dict], seed: int) -> dict[str, Any]:
    """One choice's runs together (a failed one counted, not measured); `seed`'s rank."""
    done = [r for r in runs if "error" not in r]
    mistakes = [r["false_positives"] + r["false_negatives"] for r in done]
    dead = zip(*(r["dead_neurons"] for r in done))  # each hidden layer's, run by run
    summary = {"runs": len(runs), "seeds": [runs[0]["seed"], runs[-1]["seed"]]}
    summary["learned_nothing"] = [r["seed"] for r in done if r["learned_nothing"]]
    summary["diverged"] = [r["seed"] for r in runs if r.get("diverged")]
    summary["failed"] = [r["seed"] for r in runs if r.get("diverged") is False]
    summary["dev_loss"] = quartiles([r["dev_loss"] for r in done])
    summary["mistakes"] = quartiles(mistakes)
    summary["dead_neurons"] = [statistics.median(layer) for layer in dead]
    summary["relative_loss"] = summary["rank"] = None
    if relative := [r["relative_losses"] for r in done if r["relative_losses"]]:
        train, dev = zip(*relative)
        worse = sum(d > t for t, d in relative)  # over-fitting's sign
        medians = {"train": statistics.median(train), "dev": statistics.median(dev)}
        medians |= {"worse_on_dev": worse, "of": len(relative)}
        summary["relative_loss"] = medians
    if ours := [r["dev_loss"] for r in done if r["seed"] == seed]:
        rank = 1 + sum(r["dev_loss"] < ours[0] for r in done)  # ties share the better
        summary["rank"] = {"seed": seed, "rank": rank, "of": len(done)}
    return summary


def failures(summary: dict) -> int:
    """How many runs gave no good answer: learned nothing, diverged, or no result."""
    return sum(len(summary[k]) for k in ("learned_nothing", "diverged", "failed"))


def score(summary: dict) -> tuple:
    """What the best choice has least of: failed runs, then median mistakes, then median
    dev loss. Mistakes alone would flatter runs that say "outside" everywhere."""
    if summary["mistakes"] is None:  # no run gave a result: only the count tells
        return failures(summary), math.inf, math.inf
    return (
        failures(summary),
        summary["mistakes"]["median"],
        summary["dev_loss"]["median"],
    )


# What the network learned, drawn: a map of its belief, and its losses as it trained.
LEGEND = [  # the map's
    "inside: # surely (above 0.9), + leaning;  outside: - leaning, . surely (0.1 or less)",
    "o the true unit circle;  X a misclassified dev point",
]


def decision_map(params: Params, figures: dict, forward: Callable, inputs: str) -> list:
    """What the network believes of [-1.5, 1.5]^2, as 25 lines of 49 cells, each shaded
    by its output: '#' above 0.9, '+' above 0.5 (inside, as the post thresholds it), '-'
    above 0.1, '.' the rest; 'o' on the true unit circle, 'X' on each dev point that
    `figures` (evaluate's) misclassify; a legend. A terminal's characters are about
    twice as tall as wide, so columns are half as far apart."""
    rows, cols, step = 25, 49, 3 / 24
    down, across = torch.linspace(1.5, -1.5, rows), torch.linspace(-1.5, 1.5, cols)
    x2, x1 = torch.meshgrid(down, across, indexing="ij")  # each (rows, cols)
    cells = torch.stack([x1, x2], dim=-1).view(-1, 2)  # (rows * cols, 2)
    with torch.no_grad():
        Y_pred = forward(params, FEATURES[inputs](cells).to(params[0].device))
    bands = sum((Y_pred > p).int() for p in (0.1, 0.5, 0.9))  # (rows * cols, 1): 0 to 3
    grid = [[".-+#"[band] for band in line] for line in bands.view(rows, cols).tolist()]
    # the circle: every cell it passes through, some of its corners inside, some not
    corners = torch.zeros(rows, cols, dtype=torch.int)  # how many corners are inside
    for dx, dy in itertools.product([-step / 4, step / 4], [-step / 2, step / 2]):
        corners = corners + ((x1 + dx) ** 2 + (x2 + dy) ** 2 < 1).int()
    for row, col in ((corners > 0) & (corners < 4)).nonzero().tolist():
        grid[row][col] = "o"
    for x, y in figures["false_positive_samples"] + figures["false_negative_samples"]:
        row, col = round((1.5 - y) / step), round((x + 1.5) / (step / 2))
        if 0 <= row < rows and 0 <= col < cols:
            grid[row][col] = "X"
    return ["".join(line) for line in grid] + LEGEND


def loss_chart(history: list[list[float]], rows: int = 10, cols: int = 50) -> list[str]:
    """The logged losses against the epochs, on a log scale: 't' the training loss, 'd'
    the dev loss, '*' both; '^' under the epoch of the lowest dev loss."""
    first, last = history[0][0], history[-1][0]
    logs = [[math.log10(max(loss, 1e-30)) for loss in losses] for _, *losses in history]
    low, high = min(map(min, logs)), max(map(max, logs))
    grid = [[" "] * cols for _ in range(rows)]
    for (epoch, *_), losses in zip(history, logs):
        col = round((epoch - first) / (last - first or 1) * (cols - 1))
        for char, log in zip("td", losses):
            row = rows - 1 - round((log - low) / (high - low or 1) * (rows - 1))
            grid[row][col] = char if grid[row][col] in (" ", char) else "*"
    labels = {0: f"{10**high:.2g}", rows - 1: f"{10**low:.2g}"}
    lines = ["loss (log scale): t train, d dev, * both"]
    for k, line in enumerate(grid):
        lines.append(f"{labels.get(k, ''):>8} |{''.join(line)}".rstrip())
    lines += [" " * 9 + "+" + "-" * cols, f"{'epoch':>8}  {first:<{cols - 8}}{last:>8}"]
    epoch, _, dev = min(history, key=lambda entry: entry[2])
    col = round((epoch - first) / (last - first or 1) * (cols - 1))
    marker = " " * (10 + col) + f"^ the lowest dev_loss, {dev:.6f}, at epoch {epoch}"
    return [*lines, marker]


# The command line: the report's text, the flags, main() and, last, the entry point.
REPORT = """
device {device}, seed {seed}: {n_train} train points, {n_dev} dev points
network {shape} on {inputs}: {layers}, {init} initial weights
fit: {epochs} epochs, lr {lr!r}, {loss} loss, {backprop} gradients{note}, {fit_seconds:.2f} s
dev_loss in full: {dev_loss:.10g}
accuracy {accuracy:.2%}; misclassified dev points: {where}

measured against:
train_loss      = {train_loss:.4f}  (the loss on the points it trained on)
constant output = {constant_output:.4f}  (the train set's share inside, for every point): \
train_loss {constant_train_loss:.4f}, dev_loss {constant_dev_loss:.4f}
always outside  = accuracy {baseline_accuracy:.2%}
dead neurons    = {dead}
over-fitting    = {overfit}"""
# With cross entropy the two ways to the gradients are two different training runs.
NOTES = {"autograd": " (torch's binary_cross_entropy)", "manual": " (exact)"}
LOG = "epoch {:>{width}}  train_loss {:.6f}  dev_loss {:.6f}"
ROW = "dev_loss {dev_loss:.4f}  tp {true_positives}  fp {false_positives}  \
tn {true_negatives}  fn {false_negatives}"


def post_output(r: dict) -> str:
    """The seven lines the post's listing prints, in its format (torch's for tensors)."""
    lines = [f"dev_loss={torch.tensor(r['dev_loss'])!r}"]
    lines += [f"{k}={float(r[k])}" for k in COUNTS]
    lines += [f"{k}={torch.tensor(r[k]).view(-1, 2)!r}" for k in SAMPLES]  # (count, 2)
    return "\n".join(lines)


def format_report(r: dict) -> str:
    """The post's output, then the run, what it is measured against, and the map."""
    inputs = "x1, x2" if r["features"] == "plain" else "x1, x2, x1^2, x2^2"
    shape = "-".join(map(str, [len(inputs.split(", ")), *r["hidden"], 1]))
    layers = f"{r['activation']} hidden layers" if r["hidden"] else "no hidden layer"
    radii = sorted(math.hypot(*point) for k in SAMPLES for point in r[k])
    where = str(len(radii))
    if radii:  # their distances from the origin: the circle's is 1
        where += f", at {radii[0]:.4f} to {radii[-1]:.4f} from the origin"
    dead = [f"{d} of {width}" for d, width in zip(r["dead_neurons"], r["hidden"])]
    dead = ", ".join(dead) + "  (no gradient at any train point)" if dead else "none"
    overfit = "n/a (a set with no point inside, or none outside)"
    if r["relative_losses"]:
        train, dev = r["relative_losses"]
        overfit = f"{train:.1%} of the constant's loss on train, {dev:.1%} on dev: "
        overfit += "worse on dev" if dev > train else "no worse on dev"
    note = NOTES[r["backprop"]] if r["loss"] == "bce" else ""
    fields = {"shape": shape, "inputs": inputs, "layers": layers, "note": note}
    text = REPORT.format(**r, **fields, where=where, dead=dead, overfit=overfit)
    lines = [post_output(r), *text.split("\n")]
    if r["learned_nothing"]:
        lines.append("learned nothing: it gives the same answer for every dev point")
    if len(r["loss_history"]) > 1:
        lines += ["", *loss_chart(r["loss_history"])]
    if "boundary" in r:
        lines += ["", "the plane from -1.5 to 1.5 in x1 (across) and x2 (up):"]
        lines += r["boundary"]
    return "\n".join(lines)


def flag_text(value: Any) -> str:
    """A choice as its flag takes it: widths as 10,5 or none; a rate as Python has it."""
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value)) or "none"
    return str(value)


def format_row(r: dict, varying: list[str]) -> str:
    """A sweep's line: the choices that vary, the seed, and its figures or why none."""
    row = "".join(f"{name} {flag_text(r[name])}  " for name in varying)
    row += f"seed {r['seed']}  " + (r["error"] if "error" in r else ROW.format(**r))
    return row + ("  learned nothing" if r.get("learned_nothing") else "")


def format_summary(s: dict) -> str:
    """The summary of one choice's runs, under its rows."""
    lines = [f"{s['runs']} runs, seeds {s['seeds'][0]} to {s['seeds'][1]}"]
    for name in ["learned nothing", "diverged", "failed"]:
        found = s[name.replace(" ", "_")]
        if found or name != "failed":
            listed = f" (seeds {', '.join(map(str, found))})" if found else ""
            lines.append(f"{name}: {len(found)}{listed}")
    for name, style in [("dev_loss", ".4f"), ("mistakes", "g")]:
        if s[name]:
            cells = "  ".join(f"{k} {v:{style}}" for k, v in s[name].items())
            lines.append(f"{name + ':':<10} {cells}")
    if rel := s["relative_loss"]:
        median = f"median {rel['train']:.1%} on train, {rel['dev']:.1%} on dev"
        worse = f"worse on dev in {rel['worse_on_dev']} of {rel['of']}"
        lines.append(f"loss / constant's: {median}; {worse}")
    if rank := s["rank"]:
        of = f"{rank['rank']} of {rank['of']}"
        lines.append(f"seed {rank['seed']} ranks {of} by dev_loss (1 is the lowest)")
    return "\n".join(lines)


def format_comparison(summaries: list[dict], varying: list[str]) -> str:
    """A line per choice, in columns: the choices that vary, then the figures."""
    s = summaries[0]["summary"]
    failed = any(c["summary"]["failed"] for c in summaries)  # a column where any did
    counted = ["learned_nothing", "diverged"] + ["failed"] * failed
    table = [[*varying, "learned nothing", "diverged"] + ["no result"] * failed]
    table[0] += ["mistakes (q1-q3)", "dev_loss", "dead neurons"]
    for c in summaries:
        line = [flag_text(c[name]) for name in varying]
        line += [str(len(c["summary"][k])) for k in counted]
        if m := c["summary"]["mistakes"]:
            line.append(f"{m['median']:g} ({m['q1']:g}-{m['q3']:g})")
            line.append(f"{c['summary']['dev_loss']['median']:.4f}")
            line.append(",".join(f"{d:g}" for d in c["summary"]["dead_neurons"]))
        table.append(line)
    columns = itertools.zip_longest(*table, fillvalue="")
    wide = [max(map(len, column)) for column in columns]
    lines = [f"{s['runs']} runs each, seeds {s['seeds'][0]} to {s['seeds'][1]}"]
    for line in table:
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(line, wide)).rstrip())
    return "\n".join(lines)


def rate(text: str) -> float:
    """An argparse type: a finite learning rate above 0."""
    if not 0 < float(text) < math.inf:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, not {text!r}")
    return float(text)


def hidden_widths(text: str) -> tuple[int, ...]:
    """An argparse type: "10,5" -> (10, 5), and "none" -> (), no hidden layer."""
    widths = () if text == "none" else tuple(map(int, text.split(",")))
    if any(width < 1 for width in widths):
        raise argparse.ArgumentTypeError(f"widths must be at least 1, not {text!r}")
    return widths


def device(name: str) -> torch.device:
    """An argparse type: auto (CUDA if there is one, else the CPU), or a device here."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        torch.zeros(1, device=name)
    except (RuntimeError, AssertionError):  # torch's ways of saying "not here"
        raise argparse.ArgumentTypeError(f"no such device here: {name!r}") from None
    return torch.device(name)


def build_parser() -> argparse.ArgumentParser:
    """The flags, at the post's values. No usage line: a mistake is then one line."""
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        usage=argparse.SUPPRESS,
    )
    add = parser.add_argument_group("the run").add_argument
    add("--seed", type=int, default=1337, help="seeds the data and the weights")
    add("--samples", type=int, default=10000, help="points, split 80:20")
    add("--epochs", type=int, default=1000, help="steps of gradient descent")
    add("--loss", choices=LOSSES, default="mse", help="or cross entropy")
    ways = ["autograd", "manual"]
    add("--backprop", choices=ways, default="autograd", help="or by hand")
    add("--device", type=device, default="auto", help="auto: CUDA if there is one")
    add = parser.add_argument_group("choices: several values are compared").add_argument
    add("--lr", type=rate, nargs="+", default=[0.5], help="learning rates")
    add("--hidden", type=hidden_widths, nargs="+", default=[(10, 5)], help="or none")
    add("--activation", choices=ACTIVATIONS, nargs="+", default=["relu"], help="hidden")
    add("--init", choices=INITS, nargs="+", default=["normal"], help="weights")
    add("--features", choices=FEATURES, nargs="+", default=["plain"], help="inputs")
    add("--seeds", type=int, default=1, help="N: --seed, and the N - 1 after it")
    add = parser.add_argument_group("what is shown").add_argument
    add("--log-every", type=int, default=0, help="N: both losses, every N epochs")
    add("--boundary", action="store_true", help="a map of what the network says")
    add("--json", action="store_true", help="one JSON object")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run as the command line asks and print the report; a mistake exits with 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    least = {"epochs": 0, "seed": 0, "samples": 1, "seeds": 1, "log_every": 0}
    for name, value in least.items():
        if getattr(args, name) < value:
            parser.error(f"--{name.replace('_', '-')} must be at least {value}")
    if args.seed + 2 * args.seeds > 2**64:  # a comparison confirms on as many again
        parser.error(f"--seed {args.seed} --seeds {args.seeds}: past torch's last seed")
    values = [getattr(args, name) for name in Choice._fields]
    choices = [Choice(*chosen) for chosen in itertools.product(*values)]
    if (len(choices) > 1 or args.seeds > 1) and (args.boundary or args.log_every):
        parser.error("--boundary and --log-every are for a single run")
    try:
        if len(choices) == 1 and args.seeds == 1:
            result = run(args, choices[0])
            print(json.dumps(result) if args.json else format_report(result))
        else:
            # Measured: one thread trains a stack about as fast as two on an idle
            # machine, and many times faster beside other busy programs, where torch's
            # threads spin waiting for each other.
            torch.set_num_threads(1)
            compare(args, choices)
    except Diverged as error:
        parser.error(f"{error}; try a smaller --lr than {min(args.lr)!r}")
    except RunError as error:
        parser.error(str(error))
    except (MemoryError, RuntimeError) as error:
        # "can't allocate", "Tried to allocate": torch's words when memory runs out
        if isinstance(error, RuntimeError) and "allocate" not in str(error):
            raise  # a bug: loud
        parser.error(f"not enough memory on {args.device} for this run")
    return 0


def compare(args: Namespace, choices: list[Choice]) -> None:
    """Each choice over the seeds, its rows as they come, then its summary, or the
    table of all and the best, again on fresh seeds."""
    varying = [name for name in Choice._fields if len(getattr(args, name)) > 1]
    out = sys.stderr if args.json else sys.stdout  # with --json, stdout has only JSON
    runs = []
    for choice in choices:
        for rows in sweep(args, choice, args.seed):
            runs += rows
            print(*(format_row(row, varying) for row in rows), sep="\n", file=out)
            out.flush()
    if all("error" in r for r in runs):  # no result at all: as a single such run
        failed = Diverged if all(r["diverged"] for r in runs) else RunError
        first = f"seed {runs[0]['seed']}: {runs[0]['error']}"
        raise failed(f"no run gave a result: {first}")
    summaries = []
    for k, choice in enumerate(choices):
        each = runs[k * args.seeds : (k + 1) * args.seeds]
        named = choice._asdict() | {"hidden": list(choice.hidden)}  # as JSON has it
        summaries.append(named | {"summary": summarize(each, args.seed)})
    if len(choices) == 1:
        result = {"runs": runs, "summary": summaries[0]["summary"]}
        print("\n" + format_summary(result["summary"]), file=out, flush=True)
    else:
        result = {"runs": runs, "choices": summaries}
        print("\n" + format_comparison(summaries, varying), file=out)
        best = min(summaries, key=lambda c: score(c["summary"]))
        flags = " ".join(f"--{name} {flag_text(best[name])}" for name in varying)
        if failures(best["summary"]) == args.seeds:
            flags = "none, every run of every choice failed"
        print(f"best, by fewest failed runs, then mistakes: {flags}", file=out)
        out.flush()
        if failures(best["summary"]) < args.seeds:
            # Chosen on these seeds' dev sets: but the post keeps a dev set to judge
            # what training made, so judge the best again on as many fresh seeds.
            choice, fresh = choices[summaries.index(best)], args.seed + args.seeds
            rows = [row for rows in sweep(args, choice, fresh) for row in rows]
            s = summarize(rows, fresh)
            result["confirmed"] = best | {"summary": s}
            line = f"the best again, on fresh seeds {fresh} to {s['seeds'][1]}: "
            line += f"{failures(s)} of {s['runs']} failed"
            if m := s["mistakes"]:
                line += f", mistakes {m['median']:g} ({m['q1']:g}-{m['q3']:g})"
                line += f", dev_loss {s['dev_loss']['median']:.4f}"
            print(line, file=out)
    if args.json:
        print(json.dumps(result, allow_nan=False))


if __name__ == "__main__":
    try:
        status = main()
        sys.stdout.flush()  # a closed pipe shows here, if not before
    except BrokenPipeError:  # | head: quietly, as the signal module's "Note on
        # SIGPIPE" shows; Python flushes stdout once more as it exits, so point it at
        # nothing first
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        status = 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        status = 130  # 128 + SIGINT, as a shell says
    sys.exit(status)
