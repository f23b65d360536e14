"""Teach a tiny neural network whether a point lies inside the unit circle.

The runnable companion to the blog post "Notes on neural networks: basic concepts": a
2-10-5-1 network built from raw PyTorch tensors, trained by gradient descent on the mean
squared error, then scored on held-back points. The post's listing comes first, in its
words; one general network (any depth, either layout) follows, and runs everything else;
the command line comes last.

Run it:   python circle_classifier.py              the post's run, and its output
          python circle_classifier.py --seeds 100  is that run typical? 100 at once
          python circle_classifier.py --hidden none 10 10,5 8,8,8,8 --seeds 100
                                                   how deep? depths compared
Test it:  python -m pytest
"""

import argparse
import errno
import itertools
import json
import math
import os
import re
import statistics
import sys
import time
import warnings
from argparse import Namespace
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

Params = list[Tensor]  # [W1, b1, W2, b2, ...]: the post's six, or a pair for each layer
Data = tuple[Tensor, Tensor, Tensor, Tensor]  # X_train, Y_train, X_dev, Y_dev
LossFunction = Callable[[Tensor, Tensor], Tensor]
Forward = Callable[[Params, Tensor], Tensor]
Function = Callable[[Tensor], Tensor]


# The post's listing.


def generate_datasets(generator: torch.Generator, samples: int = 10000) -> Data:
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
    params: Params, X_train: Tensor, Y_train: Tensor, epochs: int = 1000,
    lr: float = 0.5, forward: Forward = forward_pass,
    loss: LossFunction = mean_squared_error,
) -> None:  # fmt: skip
    """Full-batch gradient descent on X_train (N, 2), Y_train (N, 1): `params` in place."""
    for _ in range(epochs):
        Z = forward(params, X_train)
        L = loss(Z, Y_train)
        L.backward()
        with torch.no_grad():  # the post writes p.data: the same, past autograd's back
            for p in params:
                p -= lr * p.grad
                p.grad = None  # backward() adds to a .grad: clear it for the next


def evaluate(
    params: Params, X_dev: Tensor, Y_dev: Tensor, forward: Forward = forward_pass,
    loss: LossFunction = mean_squared_error,
) -> dict[str, Any]:  # fmt: skip
    """The post's figures on the dev points X_dev (n_dev, 2), Y_dev (n_dev, 1): the dev
    loss, the confusion matrix (inside is positive), the misclassified points."""
    with torch.no_grad():  # nothing here is trained: no graph to record
        Y_pred = forward(params, X_dev)
        dev_loss = loss(Y_pred, Y_dev)
        said = (Y_pred > 0.5).squeeze(1)  # (n_dev,)
        truth = (Y_dev == 1).squeeze(1)  # (n_dev,)
        cells = [said & truth, said & ~truth, ~said & ~truth, ~said & truth]
    tp, fp, tn, fn = torch.stack(cells).sum(1).tolist()  # one read from the device
    return {
        "dev_loss": dev_loss.item(),
        "true_positives": tp, "false_positives": fp,
        "true_negatives": tn, "false_negatives": fn,
        # (x1, x2), the drawn point, whatever other inputs the network was fed
        "false_positive_samples": X_dev[said & ~truth, :2].tolist(),
        "false_negative_samples": X_dev[~said & truth, :2].tolist(),
    }  # fmt: skip


# Beyond the post: one network of any depth, which everything below runs. A layer is
# A = Z @ W + b, then Z' = g(A); its choices (widths, g, initial weights, inputs) are
# arguments here, so that the post's functions above stay the post's. The layout:
# examples as rows, as the post; or as columns, the post's exercise, where every tensor
# is transposed and each product turns round (stacks train so on a CPU: it is faster).


def rows(Z: Tensor, W: Tensor) -> Tensor:  # (N, in) @ (in, out) -> (N, out)
    return Z @ W


def columns(Z: Tensor, W: Tensor) -> Tensor:  # (out, in) @ (in, N) -> (out, N)
    return W @ Z


# How the weights are drawn: the post's standard normal times a scale of (fan_in,
# fan_out), as torch.nn.init's kaiming_normal_ and xavier_normal_ draw them; or zero.
INITS: dict[str, Callable[[int, int], float]] = {
    "normal": lambda fan_in, fan_out: 1.0,
    "kaiming": lambda fan_in, fan_out: math.sqrt(2 / fan_in),
    "xavier": lambda fan_in, fan_out: math.sqrt(2 / (fan_in + fan_out)),
    "zeros": lambda fan_in, fan_out: 0.0,
}


def init_layers(
    generator: torch.Generator, widths: list[int], init: str = "normal"
) -> Params:
    """init_network for widths [inputs, H1, ..., 1]: layer by layer, in the post's order,
    W (fan_in, fan_out) drawn from a standard normal, times INITS[init]; b (fan_out,) 0."""
    params = []
    for fan_in, fan_out in itertools.pairwise(widths):
        W = torch.randn(fan_in, fan_out, generator=generator)
        params += [W * INITS[init](fan_in, fan_out), torch.zeros(fan_out)]
    return params


def layers(
    params: Params, X: Tensor, g: Function = torch.relu, product: Callable = rows
) -> list[Tensor]:
    """forward_pass for any depth: each layer's output [X, Z1, ..., Y_pred], X (N, F) and
    Y_pred (N, 1), or (F, N) and (1, N) as columns. With a leading dimension S on every
    tensor (W1 (S, F, H1), b1 (S, 1, H1)) it runs S networks at once."""
    Z = [X]
    for k in range(0, len(params), 2):
        A = product(Z[-1], params[k]) + params[k + 1]  # (N, fan_in) -> (N, fan_out)
        Z.append(g(A) if k + 2 < len(params) else torch.sigmoid(A))
    return Z


def network(
    params: Params, X: Tensor, g: Function = torch.relu, product: Callable = rows
) -> Tensor:
    """What forward_pass computes, for any depth: X (N, F) -> Y_pred (N, 1)."""
    return layers(params, X, g, product)[-1]


def squares(X: Tensor) -> Tensor:
    """(x1, x2, x1^2, x2^2): in these the circle, x1^2 + x2^2 = 1, is a straight line."""
    return torch.cat([X, X**2], dim=-1)  # (N, 2) -> (N, 4)


FEATURES: dict[str, Function] = {"plain": lambda X: X, "squares": squares}  # the inputs


# The post's other loss, and backpropagation by hand.


def binary_cross_entropy(Y_pred: Tensor, Y: Tensor) -> Tensor:
    """The mean of -(Y log Y_pred + (1 - Y) log(1 - Y_pred)) over Y_pred, Y (N, 1), each
    log clamped at -100 as in torch's: an output of exactly 0 or 1 costs 100, not inf."""
    log_p = Y_pred.log().clamp(min=-100)  # (N, 1)
    log_1_minus_p = (1 - Y_pred).log().clamp(min=-100)  # (N, 1)
    return -(Y * log_p + (1 - Y) * log_1_minus_p).mean()


# Each loss's gradient with respect to A, the sum that the output's sigmoid takes: where
# backprop() starts. N is the number of examples (none: no division by 0).
def squared_error_dA(Y_pred: Tensor, Y: Tensor) -> Tensor:
    # each example's share of the mean, then sigmoid' = Y_pred (1 - Y_pred): small
    # wherever Y_pred is near 0 or 1, so a sure but wrong output learns slowly
    dY_pred = 2 / (Y.shape[-2] * Y.shape[-1] or 1) * (Y_pred - Y)  # (N, 1)
    return dY_pred * (1 - Y_pred) * Y_pred  # (N, 1)


def cross_entropy_dA(Y_pred: Tensor, Y: Tensor) -> Tensor:
    # the log's 1 / (Y_pred (1 - Y_pred)) cancels sigmoid': the exact gradient, as in
    # binary_cross_entropy_with_logits, even where float32 rounds Y_pred to 0 or 1
    return (Y_pred - Y) / (Y.shape[-2] * Y.shape[-1] or 1)  # (N, 1)


class Loss(NamedTuple):
    value: LossFunction  # what a report measures
    autograd: LossFunction  # what autograd differentiates: torch's own
    each: LossFunction  # the same, each point's: what a stack weighs and adds up
    dA: LossFunction  # its gradient where backprop() starts


# torch's binary_cross_entropy has a backward of its own: (Y_pred - Y) divided by
# max(Y_pred (1 - Y_pred), 1e-12), which autograd through the formula above is not.
LOSSES = {
    "mse": Loss(mean_squared_error, mean_squared_error,
                partial(F.mse_loss, reduction="none"), squared_error_dA),
    "bce": Loss(binary_cross_entropy, F.binary_cross_entropy,
                partial(F.binary_cross_entropy, reduction="none"), cross_entropy_dA),
}  # fmt: skip
# The hidden layers' non-linearity, and its derivative in terms of its output Z, written
# over Z in place: backprop() needs Z no more, and a pass over memory costs the most.
Activation = tuple[Function, Function]
ACTIVATIONS: dict[str, Activation] = {
    "relu": (torch.relu, torch.Tensor.sign_),  # Z >= 0: 1 where it is on, else 0
    "tanh": (torch.tanh, lambda Z: Z.square_().neg_().add_(1)),  # 1 - Z^2
    "sigmoid": (torch.sigmoid, lambda Z: Z.sub_(Z.square())),  # Z (1 - Z)
}


def backprop(
    params: Params, X: Tensor, Y: Tensor, dA_of: LossFunction = squared_error_dA,
    activation: Activation = ACTIVATIONS["relu"], product: Callable = rows,
) -> Params:  # fmt: skip
    """The gradients of the loss by the chain rule, by hand, as autograd gives them:
    [dW1, db1, ..., dWL, dbL], each shaped as its parameter, for X (N, F), Y (N, 1) and
    the loss whose dLoss/dA at the output is dA_of(Y_pred, Y). dT stands for dLoss/dT.
    Any depth, either layout, a stack of networks too: the order is what matters."""
    g, g_prime = activation
    Z = layers(params, X, g, product)  # [X, Z1, ..., Y_pred]: the forward pass, kept
    dA = dA_of(Z[-1], Y)  # (N, 1)
    grads: Params = []
    for k in range(len(params) // 2, 0, -1):  # from the last layer to the first
        W, b = params[2 * k - 2 : 2 * k]  # layer k: A = Z[k - 1] @ W + b
        # a weight's gradient is its input, transposed, @ dA; b was broadcast to every
        # row (the post's footnote), so, run backwards, its gradient sums theirs
        dW = product(Z[k - 1].mT, dA)  # (fan_in, N) @ (N, fan_out) -> (fan_in, fan_out)
        grads[:0] = [dW, dA.sum_to_size(b.shape)]  # (N, fan_out) -> (fan_out,)
        if k > 1:  # back through W, then through g: relu' is 1 where it is on
            # (N, fan_out) @ (fan_out, fan_in) -> (N, fan_in)
            dA = product(dA, W.mT).mul_(g_prime(Z[k - 1]))
    return grads


def fit_by_hand(
    params: Params, X_train: Tensor, Y_train: Tensor, epochs: int = 1000,
    lr: float = 0.5, gradients: Callable[[Params, Tensor, Tensor], Params] = backprop,
) -> None:  # fmt: skip
    """fit(), with backprop()'s gradients where L.backward() was: no graph, no loss."""
    with torch.no_grad():  # plain tensor arithmetic: nothing for autograd to record
        for _ in range(epochs):
            for p, grad in zip(params, gradients(params, X_train, Y_train)):
                p -= lr * grad


# The post's exercise, solved: examples as columns, the post's network written out.


def forward_columns(params: Params, X: Tensor) -> Tensor:
    """forward_pass with examples as columns: X (2, N) -> Y_pred (1, N), W1 (10, 2),
    b1 (10, 1), ..., every tensor the transpose of the post's."""
    W1, b1, W2, b2, W3, b3 = params
    Z1 = torch.relu(W1 @ X + b1)  # (10, 2) @ (2, N) -> (10, N), b1 added to each column
    Z2 = torch.relu(W2 @ Z1 + b2)  # (5, 10) @ (10, N) -> (5, N)
    Z3 = torch.sigmoid(W3 @ Z2 + b3)  # (1, 5) @ (5, N) -> (1, N)
    return Z3


# What the post's figures are measured against, and a map of what the network learned.


def assess(
    params: Params, data: Data, loss: LossFunction, activation: Activation
) -> dict:
    """The training loss, the best constant output (the train set's share inside),
    "outside" always, and each hidden layer's dead neurons."""
    X_train, Y_train, _, Y_dev = data
    g, g_prime = activation
    with torch.no_grad():
        Z = layers(params, X_train, g)  # [X, Z1, ..., Y_pred]
        train_loss = loss(Z[-1], Y_train)
        share = Y_train.mean()  # the constant that minimises the squared error
        dead = [int((g_prime(Zk) == 0).all(0).sum()) for Zk in Z[1:-1]]  # no gradient
    constant = [loss(share.expand_as(Y), Y).item() for Y in (Y_train, Y_dev)]
    return {"train_loss": train_loss.item(), "constant_output": share.item(),
            "constant_train_loss": constant[0], "constant_dev_loss": constant[1],
            "baseline_accuracy": (Y_dev == 0).sum().item() / len(Y_dev),
            "dead_neurons": dead}  # fmt: skip


def decision_map(
    params: Params, points: list, forward: Forward = forward_pass,
    features: Function = FEATURES["plain"],
) -> list[str]:  # fmt: skip
    """What the network says of [-1.5, 1.5]^2, as 25 lines of 49 cells: '#' inside, '.'
    outside, 'o' on the true unit circle, 'X' on each of `points`. A terminal's
    characters are twice as tall as wide, so columns are half as far apart."""
    rows, cols, dy = 25, 49, 3 / 24
    y, x = torch.meshgrid(
        torch.linspace(1.5, -1.5, rows), torch.linspace(-1.5, 1.5, cols), indexing="ij"
    )  # each (rows, cols)
    cells = torch.stack([x, y], dim=-1).reshape(-1, 2)  # (rows * cols, 2)
    with torch.no_grad():
        Y_pred = forward(params, features(cells).to(params[0].device))
    inside = (Y_pred > 0.5).view(rows, cols).tolist()  # one read from the device
    grid = [["#" if cell else "." for cell in row] for row in inside]

    def mark(x: float, y: float, char: str) -> None:
        row, col = round((1.5 - y) / dy), round((x + 1.5) / (dy / 2))
        if 0 <= row < rows and 0 <= col < cols:
            grid[row][col] = char

    for k in range(cols):  # the circle where it crosses each row and each column, so
        y, x = 1.5 - k * dy, -1.5 + k * dy / 2  # that it has no gaps, flat or steep
        for sign in (1, -1):
            if abs(y) <= 1:
                mark(sign * math.sqrt(1 - y * y), y, "o")
            if abs(x) <= 1:
                mark(x, sign * math.sqrt(1 - x * x), "o")
    for x1, x2 in points:
        mark(x1, x2, "X")
    return ["".join(row) for row in grid]


# Experiments: the run of one seed, as the post's listing, and many trained at once.


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


def widths(choice: Choice) -> list[int]:
    """The network's widths: its inputs, its hidden layers', its one output."""
    inputs = FEATURES[choice.features](torch.zeros(1, 2)).shape[1]
    return [inputs, *choice.hidden, 1]


def prepare(seed: int, args: Namespace, choice: Choice) -> tuple[Data, Params]:
    """A run's data and initial network, drawn in the post's order on the CPU and only
    then moved to the device, so that every device starts from the same numbers."""
    generator = torch.Generator().manual_seed(seed)
    X_train, Y_train, X_dev, Y_dev = generate_datasets(generator, args.samples)
    for name, X in [("train", X_train), ("dev", X_dev)]:
        if len(X) == 0:
            raise RunError(f"--samples {args.samples} leaves the {name} set empty")
    params = init_layers(generator, widths(choice), choice.init)
    features = FEATURES[choice.features]
    data = (features(X_train), Y_train, features(X_dev), Y_dev)
    return tuple(T.to(args.device) for T in data), [p.to(args.device) for p in params]


def trainer(params: Params, data: Data, args: Namespace, choice: Choice) -> Callable:
    """fit() or fit_by_hand(), bound to all but the epochs: training goes a stretch at a
    time, read from the device only in between."""
    loss, g = LOSSES[args.loss], ACTIVATIONS[choice.activation]
    if args.backprop == "manual":
        by_hand = partial(backprop, dA_of=loss.dA, activation=g)
        return partial(fit_by_hand, params, *data[:2], lr=choice.lr, gradients=by_hand)
    for p in params:
        p.requires_grad_(True)
    forward = partial(network, g=g[0])
    return partial(
        fit, params, *data[:2], lr=choice.lr, forward=forward, loss=loss.autograd
    )


def stops(epochs: int, *every: int) -> Iterator[int]:
    """The epochs at which training pauses: each multiple of an `every`, and the last
    (epoch 0 when there are none, to see the untrained network)."""
    done = 0
    if epochs == 0:
        yield 0
    while done < epochs:
        done = min([epochs] + [done - done % e + e for e in every if e])
        yield done


def all_finite(params: Params) -> bool:
    """Whether every entry of every parameter is finite: one read from the device."""
    return bool(torch.stack([p.detach().isfinite().all() for p in params]).all())


def finish(
    params: Params, data: Data, ran: int, args: Namespace, choice: Choice
) -> dict:
    """A run's figures once trained for `ran` epochs; Diverged if they are not finite."""
    loss, g = LOSSES[args.loss].value, ACTIVATIONS[choice.activation]
    forward = partial(network, g=g[0])
    r = evaluate(params, *data[2:], forward, loss) | assess(params, data, loss, g)
    if not (math.isfinite(r["dev_loss"] + r["train_loss"]) and all_finite(params)):
        raise Diverged(f"training diverged by epoch {ran}")
    for k in ("dev_loss", "train_loss", "constant_train_loss", "constant_dev_loss"):
        r[k] += 0.0  # a loss of -0.0 (a cross entropy's) reads as 0
    tp, fp, tn, fn = (r[k] for k in COUNTS)
    return r | {"learned_nothing": tp + fp == 0 or tn + fn == 0,  # one answer for all
                "accuracy": (tp + tn) / len(data[3]),
                "precision": tp / (tp + fp) if tp + fp else None,
                "recall": tp / (tp + fn) if tp + fn else None,
                "n_train": len(data[0]), "n_dev": len(data[3])}  # fmt: skip


def named(choice: Choice) -> dict:
    """A choice, as the results name it (JSON has lists, not tuples)."""
    return choice._asdict() | {"hidden": list(choice.hidden)}


def settings(args: Namespace, seed: int, choice: Choice) -> dict:
    """What a run was asked to do, as its results name it."""
    device = str(torch.empty(0, device=args.device).device)  # "cuda:0", not "cuda"
    asked = {k: getattr(args, k) for k in ("epochs", "samples", "loss", "backprop")}
    return {"seed": seed} | named(choice) | {"device": device} | asked


def run(args: Namespace, choice: Choice) -> dict:
    """The run of --seed, as the post's listing computes it; --log-every N, on stderr."""
    data, params = prepare(args.seed, args, choice)
    loss, g = LOSSES[args.loss], ACTIVATIONS[choice.activation][0]
    forward = partial(network, g=g)
    train = trainer(params, data, args, choice)
    history: list[list[float]] = []  # [epoch, train_loss, dev_loss] as logged
    ran, start = 0, time.perf_counter()
    for epoch in stops(args.epochs, 100, args.log_every):
        train(epoch - ran)
        ran = epoch
        if args.log_every and (epoch % args.log_every == 0 or epoch == args.epochs):
            with torch.no_grad():  # both losses, read only where a log asks for them
                sets = [data[:2], data[2:]]
                Ls = torch.stack([loss.value(forward(params, X), Y) for X, Y in sets])
            history.append([epoch, *(L + 0.0 for L in Ls.tolist())])
            tell(LOG.format(epoch, *history[-1][1:], width=len(str(args.epochs))))
            if not all(map(math.isfinite, history[-1])):
                break
        if not all_finite(params):  # one read in 100 epochs, or at each log
            break
    synchronize(args.device)
    result = finish(params, data, ran, args, choice) | settings(args, args.seed, choice)
    result |= {"fit_seconds": time.perf_counter() - start, "loss_history": history}
    if args.boundary:
        mistakes = result["false_positive_samples"] + result["false_negative_samples"]
        features = FEATURES[choice.features]
        result["boundary"] = decision_map(params, mistakes, forward, features)
    return result


def synchronize(device: torch.device) -> None:
    """Wait for the work queued on `device`, so that a timer measures the work done."""
    if device.type != "cpu":
        torch.zeros(1, device=device).item()  # a read waits for all that came before


def train_together(
    runs: list[tuple[Data, Params]], args: Namespace, choice: Choice,
    layout: str | None = None,
) -> tuple[list[Params], list[int]]:  # fmt: skip
    """The networks of `runs` trained at once, a leading dimension S on every tensor, on
    the sum of each one's own mean loss, so that each one's gradient is its own: their
    parameters, and when each was seen not finite (else the epochs run)."""
    layout = layout or ("columns" if args.device.type == "cpu" else "rows")  # faster
    product, points = (columns, -1) if layout == "columns" else (rows, -2)
    # A chunk of points at a time, its gradients summed: a chunk's work stays in the
    # cache. The chunk and so the padded length depend on --samples and the network
    # alone, so that a network's sums are the same whichever others share its stack.
    size = chunk_points(args, widths(choice))
    counts = [len(data[0]) for data, _ in runs]
    n = size * math.ceil(max(counts) / size)  # (n - count) points of padding
    first = runs[0][0][0]  # the stack's tensors are of its dtype, on its device
    X = first.new_zeros(len(runs), n, first.shape[1])  # (S, n, F), 0 on padding
    # Y (S, n, 1), and each point's weight: from a chunk's mean loss to its network's
    Y, weight = first.new_zeros(2, len(runs), n, 1)  # 0 on padding: it adds nothing
    for s, ((X_train, Y_train, *_), _) in enumerate(runs):
        own = slice(0, counts[s])
        X[s, own], Y[s, own], weight[s, own] = X_train, Y_train, size / counts[s]
    # W1 (S, F, H1), b1 (S, 1, H1), ...: a bias as a row, to broadcast as in the post
    shapes, nets = [p.shape for p in runs[0][1]], zip(*[net for _, net in runs])
    params = [torch.stack([p.view(-1, p.shape[-1]) for p in ps]) for ps in nets]
    if layout == "columns":  # each of them transposed: X (S, F, n), b1 (S, H1, 1), ...
        X, Y, weight, *params = [T.mT.contiguous() for T in (X, Y, weight, *params)]
    loss, g = LOSSES[args.loss], ACTIVATIONS[choice.activation]
    # glibc gives a freed block back to the system, to fault it in again at the next
    # chunk, unless it has seen a larger one freed: free one of 31 MiB (its most), so
    # that the tensors a chunk frees stay in its heap, reused by the next chunk
    torch.empty(31 * 2**20, dtype=torch.uint8)  # freed at once

    def chunk_gradients(params: Params, X: Tensor, Y: Tensor, w: Tensor) -> Params:
        # the chunk's share of each network's mean loss, its gradient its own
        if args.backprop == "manual":

            def dA_of(Y_pred: Tensor, Y: Tensor) -> Tensor:
                return loss.dA(Y_pred, Y) * w

            return backprop(params, X, Y, dA_of, g, product)
        with torch.enable_grad():  # what L.backward() would put in each .grad
            leaves = [p.detach().requires_grad_() for p in params]
            L = (loss.each(network(leaves, X, g[0], product), Y) * w).sum() / size
            return list(torch.autograd.grad(L, leaves))

    def gradients(params: Params, X: Tensor, Y: Tensor) -> Params:
        total = [torch.zeros_like(p) for p in params]
        for start in range(0, n, size):
            chunk = [T.narrow(points, start, size) for T in (X, Y, weight)]
            for t, grad in zip(total, chunk_gradients(params, *chunk)):
                t += grad
        return total

    seen: list[int | None] = [None] * len(runs)
    ran = 0  # epochs trained
    for epoch in stops(args.epochs, 100):
        fit_by_hand(params, X, Y, epoch - ran, choice.lr, gradients)
        ran = epoch
        finite = torch.stack([p.isfinite().flatten(1).all(1) for p in params])
        for s, ok in enumerate(finite.all(0).tolist()):  # one read in 100 epochs
            seen[s] = seen[s] or (None if ok else ran)
        progress(f"epoch {ran} of {args.epochs}")
        if all(seen):  # a network alone trains on; all of them stop here
            break
    params = [p.mT if layout == "columns" else p for p in params]
    nets = [[p[s].reshape(q) for p, q in zip(params, shapes)] for s in range(len(seen))]
    return nets, [s or ran for s in seen]


CACHE = 32 * 2**20  # bytes of L3 cache, where the machine does not say
GROUP, FILL = 32, 2  # networks in a CPU's stack; the share of the L3 a chunk fills: 1/2


def chunk_points(args: Namespace, widths: list[int]) -> int:
    """How many points a chunk of a stack holds: on a GPU, --samples (one chunk); on a
    CPU, as many as keep a full group's work in a part of the L3 cache."""
    if args.device.type != "cpu":
        return args.samples
    try:
        with open("/sys/devices/system/cpu/cpu0/cache/index3/size") as file:
            cache = int(file.read().strip().rstrip("K")) * 1024
    except (OSError, ValueError):  # not Linux, or no L3 named there
        cache = CACHE
    per_point = network_bytes(1, widths) - network_bytes(0, widths)
    points = min(args.samples, cache // FILL // (GROUP * per_point))
    # a multiple of 16 floats: each network's rows then start 64-byte aligned wherever
    # it stands in the stack, so vectorized kernels sum them the same way
    return max(16, points // 16 * 16)


def network_bytes(samples: int, widths: list[int]) -> int:
    """A stacked network's bytes: data, points' weights, activations and gradients, four
    times its parameters (its own, the stack's, their gradients and updates)."""
    hidden = sum(widths[1:-1])
    parameters = sum((n_in + 1) * n_out for n_in, n_out in itertools.pairwise(widths))
    return 4 * (samples * (widths[0] + 6 + 4 * hidden) + 4 * parameters)


def memory(device: torch.device) -> int:
    """The bytes of memory on `device`: a GPU's, or this machine's (unknown: no limit)."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[1]
    if not hasattr(os, "sysconf"):  # Windows
        return 2**62
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def group_size(args: Namespace, widths: list[int]) -> int:
    """How many networks train as one stack: GROUP on a CPU, a chunk of each in its
    cache; as many as half a GPU's free memory holds; fewer where memory holds fewer."""
    data = 4 * (widths[0] + 2) * args.samples  # X, Y and the mask, of every point
    need = network_bytes(chunk_points(args, widths), widths) + data
    if args.device.type == "cuda":
        return torch.cuda.mem_get_info(args.device)[0] // 2 // need
    return min(GROUP, memory(args.device) // 4 // need)


def sweep(args: Namespace, choice: Choice) -> Iterator[list[dict]]:
    """Seeds --seed, --seed + 1, ... trained in groups: each group's rows (its single
    runs' figures computed another way, so their last bits differ), or why one has none."""
    seeds = range(args.seed, args.seed + args.seeds)
    size = max(1, group_size(args, widths(choice)))  # check() refused a 0
    # groups of even size: a small last one would pay as much per epoch as a full one
    size = math.ceil(len(seeds) / math.ceil(len(seeds) / size))
    for group in (seeds[i : i + size] for i in range(0, len(seeds), size)):
        rows, runs = {}, {}
        for seed in group:
            try:
                runs[seed] = prepare(seed, args, choice)
            except RunError as error:
                rows[seed] = {"error": str(error), "diverged": False}
        if runs:
            start = time.perf_counter()
            nets, seen = train_together([*runs.values()], args, choice)
            synchronize(args.device)
            progress("")
            share = (time.perf_counter() - start) / len(runs)  # of the group's fit
            for (seed, (data, _)), net, ran in zip(runs.items(), nets, seen):
                try:
                    rows[seed] = finish(net, data, ran, args, choice)
                    rows[seed]["fit_seconds"] = share
                except Diverged as error:
                    rows[seed] = {"error": str(error), "diverged": True}
        yield [settings(args, seed, choice) | rows[seed] for seed in group]


def spread(values: list[float]) -> dict[str, float] | None:
    """Their minimum, quartiles (interpolated as numpy's) and maximum."""
    if not values:
        return None
    many = values if len(values) > 1 else values * 2  # one value: its own quartiles
    q1, q2, q3 = statistics.quantiles(many, method="inclusive")
    return {"min": min(values), "q1": q1, "median": q2, "q3": q3, "max": max(values)}


def relative_losses(r: dict) -> tuple[float, float] | None:
    """Each set's loss over its own best constant's, as the sets' shares inside differ
    (None where a set has no point inside, or none outside)."""
    train, dev = r["constant_train_loss"], r["constant_dev_loss"]
    return (r["train_loss"] / train, r["dev_loss"] / dev) if train and dev else None


def summarize(runs: list[dict], seed: int) -> dict[str, Any]:
    """One choice's runs together (a failed one counted, not measured); `seed`'s rank."""
    done = [r for r in runs if "error" not in r]
    ours = [r["dev_loss"] for r in done if r["seed"] == seed]
    rank = 1 + sum(r["dev_loss"] < ours[0] for r in done) if ours else 0  # ties: best
    dead = [statistics.median(d) for d in zip(*(r["dead_neurons"] for r in done))]
    relative = [relative_losses(r) for r in done if relative_losses(r)]
    worse = sum(dev > train for train, dev in relative)  # over-fitting's sign
    train, dev = [statistics.median(losses) for losses in zip(*relative)] or [0, 0]
    of = {"train": train, "dev": dev, "worse_on_dev": worse, "of": len(relative)}
    return {
        "runs": len(runs),
        "seeds": [runs[0]["seed"], runs[-1]["seed"]],
        "learned_nothing": [r["seed"] for r in done if r["learned_nothing"]],
        "diverged": [r["seed"] for r in runs if r.get("diverged")],
        "failed": [r["seed"] for r in runs if r.get("diverged") is False],
        "dev_loss": spread([r["dev_loss"] for r in done]),
        "mistakes": spread([r["false_positives"] + r["false_negatives"] for r in done]),
        "dead_neurons": dead,  # each hidden layer's median
        "relative_loss": of if relative else None,
        "rank": {"seed": seed, "rank": rank, "of": len(done)} if ours else None,
    }


def failures(s: dict) -> int:
    """How many runs of a summary gave no good answer: learned nothing, or none at all."""
    return sum(len(s[k]) for k in ("learned_nothing", "diverged", "failed"))


def best(choices: list[dict]) -> dict | None:
    """The fewest failed runs, then median mistakes, then median dev loss: mistakes alone
    would flatter a choice whose runs learn to say "outside" everywhere. None where every
    run of every choice failed."""

    def score(c: dict) -> list[float]:
        s = c["summary"]
        return [failures(s)] + [s[k]["median"] if s[k] else math.inf for k in MEDIANS]

    chosen = min(choices, key=score)
    return chosen if failures(chosen["summary"]) < chosen["summary"]["runs"] else None


# The command line: the report's text, parsing, main() and, last, the entry point.

COUNTS = ("true_positives", "false_positives", "true_negatives", "false_negatives")
SAMPLES = ("false_positive_samples", "false_negative_samples")
MEDIANS = ("mistakes", "dev_loss")  # a comparison's best: the fewest, the lowest
RATES = ("accuracy", "precision", "recall")
REPORT = """
device {device}, seed {seed}: {n_train} train points, {n_dev} dev points
network {shape} on {inputs}: {hidden_layers}, {init} initial weights
fit: {epochs} epochs, lr {lr!r}, {loss} loss, {backprop} gradients{note}, {fit_seconds:.2f} s
dev_loss in full: {dev_loss:.10g}

confusion matrix   predicted inside   predicted outside
actually inside    {true_positives:>16}   {false_negatives:>17}
actually outside   {false_positives:>16}   {true_negatives:>17}
{rates}
{where}

measured against:
train_loss      = {train_loss:.4f}  (the loss on the points it trained on)
constant output = {constant_output:.4f}  (the train set's share inside, said of every \
point): train_loss {constant_train_loss:.4f}, dev_loss {constant_dev_loss:.4f}
always outside  = accuracy {baseline_accuracy:.2%}  (the network: {accuracy:.2%})
dead neurons    = {dead}
over-fitting    = {overfit}
{nothing}"""
INPUTS = {"plain": "x1, x2", "squares": "x1, x2, x1^2, x2^2"}
# With cross entropy the two ways to the gradients are two different training runs.
NOTES = {"autograd": " (torch's binary_cross_entropy)",
         "manual": " (exact, as binary_cross_entropy_with_logits)"}  # fmt: skip
NOTHING = "learned nothing: it gives the same answer for every dev point"
LEGEND = "# network says inside  . outside  o true unit circle  X misclassified"
LOG = "epoch {:>{width}}  train_loss {:.6f}  dev_loss {:.6f}"
ROW = (  # of a sweep, after the seed
    "dev_loss {dev_loss:.4f}  tp {true_positives}  fp {false_positives}  tn "
    "{true_negatives}  fn {false_negatives}  accuracy {accuracy:.2%}  fit "
    "{fit_seconds:.2f} s"
)
COLUMNS = (  # of the comparison
    "lr      {hidden}activation  init     features  runs  learned nothing  diverged"
    "  no result  mistakes: median (q1 to q3)  dev_loss median  dead neurons median"
)
OOM = "out of memory|can't allocate memory"  # what too large a --samples does


def post_output(r: dict) -> str:
    """The seven lines the post's listing prints, in its format (torch's for tensors)."""
    figures = {"dev_loss": torch.tensor(r["dev_loss"])}
    figures |= {k: float(r[k]) for k in COUNTS}
    figures |= {k: torch.tensor(r[k]).view(-1, 2) for k in SAMPLES}  # (count, 2)
    return "\n".join(f"{name}={value!r}" for name, value in figures.items())


def overfitting(r: dict) -> str:
    """Over-fitting's sign: the dev set, against its constant, worse than the train set."""
    if not (relative := relative_losses(r)):
        return "n/a (a set with no point inside, or none outside)"
    train, dev = relative
    verdict = "worse on dev" if dev > train else "no worse on dev"
    return f"{train:.1%} of the constant's loss on train, {dev:.1%} on dev: {verdict}"


def hidden_text(hidden: list[int]) -> str:
    """The hidden layers' widths as --hidden takes them: "10,5", or "none"."""
    return ",".join(map(str, hidden)) or "none"


def format_report(r: dict) -> str:
    """The post's output, then the run, what it is measured against, and the map."""
    rates = [f"{k} {r[k]:.2%}" if r[k] is not None else f"{k} n/a" for k in RATES]
    shape = [len(INPUTS[r["features"]].split(", ")), *r["hidden"], 1]
    more = {"shape": "-".join(map(str, shape)), "inputs": INPUTS[r["features"]]}
    more["hidden_layers"] = f"{r['activation']} hidden layers" if r["hidden"] else (
        "no hidden layer")  # fmt: skip
    dead = [f"{d} of {h}" for d, h in zip(r["dead_neurons"], r["hidden"])]
    more["dead"] = ", ".join(dead) + "  (no gradient at any train point)" if dead else (
        "none: no hidden layer")  # fmt: skip
    more["note"] = NOTES[r["backprop"]] if r["loss"] == "bce" else ""
    more["nothing"] = NOTHING if r["learned_nothing"] else ""
    radii = sorted(math.hypot(*point) for k in SAMPLES for point in r[k])
    more["where"] = f"misclassified dev points: {len(radii)}"
    if len(radii) == 1:  # their distances from the origin: the circle's is 1
        more["where"] += f", at {radii[0]:.4f} from the origin"
    elif radii:
        more["where"] += f", at {radii[0]:.4f} to {radii[-1]:.4f} from the origin"
    text = REPORT.format(**r, **more, rates="   ".join(rates), overfit=overfitting(r))
    lines = [post_output(r), *text.rstrip("\n").split("\n")]
    if len(r["loss_history"]) > 1:
        lines += ["", *loss_chart(r["loss_history"])]
    if "boundary" in r:
        lines += ["", "the plane from -1.5 to 1.5 in x1 (across) and x2 (up):"]
        lines += [*r["boundary"], LEGEND]
    return "\n".join(lines)


def loss_chart(history: list[list[float]], rows: int = 10, cols: int = 50) -> list[str]:
    """The logged losses against the epochs, on a log scale: 't' the training loss, 'd'
    the dev loss, '*' both; '^' under the epoch of the lowest dev loss."""

    def where(value: float, low: float, high: float, cells: int) -> int:
        return round((value - low) / (high - low or 1) * (cells - 1))

    first, last = history[0][0], history[-1][0]
    logs = [[math.log10(max(loss, 1e-30)) for loss in losses] for _, *losses in history]
    low, high = min(map(min, logs)), max(map(max, logs))
    grid = [[" "] * cols for _ in range(rows)]
    for (epoch, *_), losses in zip(history, logs):
        col = where(epoch, first, last, cols)
        for char, log in zip("td", losses):
            row = rows - 1 - where(log, low, high, rows)
            grid[row][col] = char if grid[row][col] in (" ", char) else "*"
    epoch, _, dev = min(history, key=lambda h: h[2])
    labels = {0: f"{10**high:.2g}", rows - 1: f"{10**low:.2g}"}
    lines = ["loss (log scale): t train, d dev, * both"]
    lines += [
        f"{labels.get(k, ''):>8} |{''.join(r)}".rstrip() for k, r in enumerate(grid)
    ]
    lines += [" " * 9 + "+" + "-" * cols, f"{'epoch':>8}  {first:<{cols - 8}}{last:>8}"]
    mark = " " * (10 + where(epoch, first, last, cols))
    return lines + [f"{mark}^ the lowest dev_loss, {dev:.6f}, at epoch {epoch}"]


def format_row(r: dict, choice: bool = False) -> str:
    """One line of a sweep: a run's seed (and choice) and figures, or why it has none."""
    row = f"lr {r['lr']!r}  hidden {hidden_text(r['hidden'])}  {r['activation']}  " \
        f"{r['init']}  {r['features']}  " if choice else ""  # fmt: skip
    row += f"seed {r['seed']}  " + (r["error"] if "error" in r else ROW.format(**r))
    return row + ("  learned nothing" if r.get("learned_nothing") else "")


def format_summary(s: dict) -> str:
    """The summary of one choice's runs, under its rows."""
    lines = [f"{s['runs']} runs, seeds {s['seeds'][0]} to {s['seeds'][1]}"]
    for name in ["learned nothing", "diverged", "failed"][: 3 if s["failed"] else 2]:
        found = s[name.replace(" ", "_")]
        listed = f" (seeds {', '.join(map(str, found))})" if found else ""
        lines.append(f"{name}: {len(found)}{listed}")
    for name, style in [("dev_loss", ".4f"), ("mistakes", "g")]:
        if s[name]:
            cells = "  ".join(f"{k} {v:{style}}" for k, v in s[name].items())
            lines.append(f"{name + ':':<10} {cells}")
    if rel := s["relative_loss"]:
        lines.append(f"loss / constant's: median {rel['train']:.1%} on train, {rel['dev']:.1%}"
                     f" on dev; worse on dev in {rel['worse_on_dev']} of {rel['of']}")  # fmt: skip
    if rank := s["rank"]:
        of = f"{rank['rank']} of {rank['of']}"
        lines.append(f"seed {rank['seed']} ranks {of} by dev_loss (1 is the lowest)")
    return "\n".join(lines)


def format_comparison(choices: list[dict]) -> str:
    """A line per choice, then the best of them."""
    wide = max(9, *(len(hidden_text(c["hidden"])) + 1 for c in choices))
    lines = [COLUMNS.format(hidden="hidden".ljust(wide + 1))]
    for c in choices:
        s, m = c["summary"], c["summary"]["mistakes"]
        row = (
            f"{c['lr']!r:<7} {hidden_text(c['hidden']):<{wide}} {c['activation']:<11} "
        )
        row += f"{c['init']:<8} {c['features']:<8}{s['runs']:>6}"
        counted = [len(s[k]) for k in ("learned_nothing", "diverged", "failed")]
        row += "  {:>15}  {:>8}  {:>9}  ".format(*counted)
        if m:
            dead = ", ".join(f"{d:g}" for d in s["dead_neurons"])
            row += f"{m['median']:>8g} ({m['q1']:g} to {m['q3']:g})".ljust(29)
            row += f"{s['dev_loss']['median']:>15.4f}  {dead:>19}"
        lines.append(row.rstrip())
    if not (b := best(choices)):
        return "\n".join([*lines, "best: none, every run of every choice failed"])
    # a float prints as Python's repr, the shortest form that reads back as itself
    flags = [f"--{k} {hidden_text(b[k]) if k == 'hidden' else b[k]}" for k in SEVERAL]
    best_line = "best, by fewest failed runs, then median mistakes: " + " ".join(flags)
    return "\n".join([*lines, best_line])


def format_confirmation(s: dict) -> str:
    """The best choice's summary on fresh seeds, in a line."""
    line = f"the best, again on fresh seeds {s['seeds'][0]} to {s['seeds'][1]}: "
    line += f"{failures(s)} of {s['runs']} failed"
    if m := s["mistakes"]:
        line += f", mistakes median {m['median']:g} ({m['q1']:g} to {m['q3']:g})"
        line += f", dev_loss median {s['dev_loss']['median']:.4f}"
    return line


def argument(convert: Callable, good: Callable, wanted: str) -> Callable[[str], Any]:
    """An argparse type: convert(text) where that is good, else a one-line refusal."""

    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:  # not a number
            value = None
        if value is None or not good(value):
            raise argparse.ArgumentTypeError(f"must be {wanted}, not {text!r}")
        return value

    return parse


def device_of(name: str) -> torch.device:
    """An argparse type: auto (CUDA if there is one, else the CPU), or a device here."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # of device types torch no longer serves
            device = torch.device(name)
        torch.zeros(1, device=device).item()  # can this machine compute there?
    except (RuntimeError, AssertionError, ImportError):  # torch's words for "not here"
        raise argparse.ArgumentTypeError(f"no such device here: {name!r}")
    return device


def count(least: int) -> Callable:
    """An argparse type: an integer >= least."""
    return argument(int, lambda n: n >= least, f"an integer >= {least}")


def hidden_widths(text: str) -> tuple[int, ...]:
    """--hidden's value: "10,5" -> (10, 5), "none" -> ()."""
    return () if text == "none" else tuple(map(int, text.split(",")))


SEEDS = 2**32  # torch's CPU generator reads a seed's low 32 bits: 2**32 is 0 again
a_rate = argument(float, lambda v: 0 < v < math.inf, "a finite number > 0")
a_seed = argument(int, lambda n: 0 <= n < SEEDS, f"an integer from 0 to {SEEDS - 1}")
some_widths = argument(hidden_widths, lambda widths: all(w > 0 for w in widths),
                       "widths >= 1 joined by commas, as 10,5, or none")  # fmt: skip
FLAGS = [  # each flag: its type (or its choices), its default (the post's), its use
    ("--epochs", count(0), 1000, "steps of gradient descent"),
    ("--lr", a_rate, [0.5], "learning rate; several compare"),
    ("--hidden", some_widths, [(10, 5)], "widths, or none; several compare"),
    ("--activation", [*ACTIVATIONS], ["relu"], "hidden layers'; several compare"),
    ("--init", [*INITS], ["normal"], "how weights are drawn; several compare"),
    ("--features", [*FEATURES], ["plain"], "inputs: x1, x2, or with their squares"),
    ("--seed", a_seed, 1337, "seed of the one generator of data and weights"),
    ("--seeds", count(1), 1, "N: run seeds --seed to --seed + N - 1, all at once"),
    ("--samples", count(1), 10000, "points drawn, split 80:20 into train and dev"),
    ("--device", device_of, "auto", "cpu, cuda, cuda:N, mps, ...; auto: CUDA if any"),
    ("--backprop", ["autograd", "manual"], "autograd", "autograd's, or backprop()"),
    ("--loss", ["mse", "bce"], "mse", "squared error, or binary cross entropy"),
    ("--log-every", count(0), 0, "N: log both losses every N epochs, on stderr"),
]
SEVERAL = [flag[2:] for flag, _, default, _ in FLAGS if isinstance(default, list)]


class ArgumentParser(argparse.ArgumentParser):
    """argparse, whose error is one line: the usage is one --help away."""

    def error(self, message: str) -> Any:
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> ArgumentParser:
    """The command line: FLAGS, and two switches."""
    raw = argparse.RawDescriptionHelpFormatter  # the docstring, as written
    parser = ArgumentParser(description=__doc__, formatter_class=raw)
    for flag, kind, default, use in FLAGS:
        many, choices = isinstance(default, list), isinstance(kind, list)
        shown = default[0] if many else default
        shown = hidden_text(shown) if flag == "--hidden" else shown
        options = {"choices": kind} if choices else {"type": kind}
        options |= {"nargs": "+"} if many else {}
        options |= {"default": default, "help": f"{use} (default: {shown})"}
        parser.add_argument(flag, **options)
    parser.add_argument("--boundary", action="store_true", help="map what it learned")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def check(parser: ArgumentParser, args: Namespace) -> None:
    """What no flag can check on its own; parser.error() for each."""
    for name in SEVERAL:
        if len(set(values := getattr(args, name))) < len(values):
            parser.error(f"--{name}: each value once, not {values}")
    runs = args.seeds * math.prod(len(getattr(args, name)) for name in SEVERAL)
    if runs > 1 and (args.boundary or args.log_every):
        flag = "--boundary" if args.boundary else "--log-every"
        parser.error(f"{flag} is for one run, not {runs}")
    seeds = args.seeds * (2 if runs > args.seeds else 1)  # a comparison confirms
    if (last := args.seed + seeds - 1) >= SEEDS:
        parser.error(f"--seeds {args.seeds} from --seed {args.seed} ends at {last}, "
                     f"past torch's last seed, {SEEDS - 1}")  # fmt: skip
    room = memory(args.device)  # by arithmetic, before anything runs
    where = f"the {room / 2**30:.0f} GiB of {args.device.type} memory"
    for hidden, features in itertools.product(args.hidden, args.features):
        shape = widths(Choice(hidden=hidden, features=features))
        if (weights := network_bytes(0, shape)) > room:
            parser.error(f"--hidden {hidden_text(hidden)}: the weights need "
                         f"{weights / 2**30:.0f} GiB, more than {where}")  # fmt: skip
        if (need := network_bytes(args.samples, shape)) > room:
            parser.error(f"--samples {args.samples}: a network of --hidden "
                         f"{hidden_text(hidden)} needs {need / 2**30:.0f} GiB, more "
                         f"than {where}")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Run as the command line asks and print the report; a mistake exits with 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    check(parser, args)
    if args.samples * min(args.seeds, 10) < 100_000:
        # Small work: a second thread saves nothing, and on a busy CPU torch's threads
        # spin waiting for each other, tens of times slower.
        torch.set_num_threads(1)
    chosen = itertools.product(*(getattr(args, name) for name in SEVERAL))
    choices = [Choice(**dict(zip(SEVERAL, choice))) for choice in chosen]
    try:
        if len(choices) == 1 and args.seeds == 1:
            result = run(args, choices[0])
            out(dumps(result) if args.json else format_report(result))
        else:
            compare(args, choices)
    except Diverged as error:
        parser.error(f"{error}; try a smaller --lr than {min(args.lr)!r}")
    except RunError as error:
        parser.error(str(error))
    except (MemoryError, RuntimeError) as error:
        # out of memory is what too large a --samples does: say so. Else: a bug, loud.
        if isinstance(error, RuntimeError) and not re.search(OOM, str(error)):
            raise
        parser.error(f"--samples {args.samples} does not fit in {args.device} memory")
    return 0


def compare(args: Namespace, choices: list[Choice]) -> None:
    """Each choice over the seeds, its rows as they come, then the summary or table; a
    comparison's best, again on fresh seeds."""
    runs: list[dict] = []
    interrupted = False
    try:
        for choice in choices:
            for rows in sweep(args, choice):
                runs += rows
                for row in rows:
                    (tell if args.json else out)(format_row(row, len(choices) > 1))
    except KeyboardInterrupt:  # Ctrl-C: the summary of the runs so far, then stop
        progress("")
        if not runs:
            raise
        interrupted = True
    if not interrupted and all("error" in r for r in runs):  # as a single such run
        failed = Diverged if all(r["diverged"] for r in runs) else RunError
        raise failed(
            f"no run gave a result: seed {runs[0]['seed']}: {runs[0]['error']}"
        )
    each = [runs[k : k + args.seeds] for k in range(0, len(runs), args.seeds)]
    summaries = [
        named(c) | {"summary": summarize(r, args.seed)} for c, r in zip(choices, each)
    ]
    if len(choices) == 1:
        result = {"runs": runs, "summary": summaries[0]["summary"]}
        text = format_summary(summaries[0]["summary"])
    else:
        result = {"runs": runs, "choices": summaries}
        text = format_comparison(summaries)
    chosen = not interrupted and len(choices) > 1 and best(summaries)
    if not (args.json and chosen):
        out(dumps(result) if args.json else "\n" + text)
    if interrupted:
        raise KeyboardInterrupt
    if chosen:  # chosen on these seeds' dev sets: the post keeps a dev set to judge
        # what training made, so judge the best again on as many seeds not yet seen
        fresh = Namespace(**vars(args) | {"seed": args.seed + args.seeds})
        again = Choice(
            **{k: chosen[k] for k in SEVERAL} | {"hidden": tuple(chosen["hidden"])}
        )
        confirmed = summarize(
            [r for rows in sweep(fresh, again) for r in rows], fresh.seed
        )
        result["confirmed"] = named(again) | {"summary": confirmed}
        out(dumps(result) if args.json else format_confirmation(confirmed))


def out(text: str) -> None:
    """The output (the report, the JSON, a sweep's rows), on stdout as it comes."""
    if sys.stdout is None:  # started with stdout closed (>&-): a write that fails
        raise OSError(errno.EBADF, "stdout is closed")
    print(text, flush=True)


def dumps(result: dict) -> str:  # strictly: a NaN in a result is a bug, not a figure
    return json.dumps(result, allow_nan=False)


def tell(text: str) -> None:
    """A line for whoever watches (a log, a sweep's rows beside --json), on stderr;
    nowhere if stderr is closed (print would write it to stdout)."""
    if sys.stderr is not None:
        print(text, file=sys.stderr)


def progress(text: str) -> None:
    """On a terminal, a line on stderr that says how far a sweep is ("" clears it)."""
    if sys.stderr is not None and sys.stderr.isatty():
        print(f"\r\033[K{text}", end="", file=sys.stderr, flush=True)


def last_word(message: str) -> None:
    """An error's one line on stderr, where it can still be written."""
    if sys.stderr is None:  # closed: nothing can be said (print would use stdout)
        return
    try:
        print(message, file=sys.stderr, flush=True)
    except OSError:  # full: point it at nothing, so that Python's last flush is quiet
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stderr.fileno())


if __name__ == "__main__":
    try:
        status = main()
        if sys.stdout is not None:
            sys.stdout.flush()  # a closed pipe or a full disk shows here, if not before
    except OSError as error:  # a closed pipe (| head) quietly, as the signal module's
        # "Note on SIGPIPE" shows: Python flushes stdout once more as it leaves, so
        # point stdout at nothing first
        if sys.stdout is not None:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        status = 1 if isinstance(error, BrokenPipeError) else 2
        if status == 2:  # a full disk, say
            message = f"error: cannot write the output: {error.strerror}"
            last_word(f"{os.path.basename(sys.argv[0])}: {message}")
    except KeyboardInterrupt:
        last_word("interrupted")
        status = 130  # 128 + SIGINT, as a shell says
    sys.exit(status)
