"""Teach a tiny neural network whether a point lies inside the unit circle.

The runnable companion to the blog post "Notes on neural networks: basic concepts": a
2-10-5-1 network built from raw PyTorch tensors, trained by gradient descent on the mean
squared error, then scored on held-back points. The post's listing comes first, in its
words; what goes beyond it follows, and the command line comes last.

Run it:   python circle_classifier.py              the post's run, and its output
          python circle_classifier.py --seeds 100  is that run typical? 100 at once
          python circle_classifier.py --lr 0.5 5 --activation relu tanh --seeds 100
                                                   the post's choices, compared
Test it:  python -m pytest
"""

import argparse
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
from typing import Any, NamedTuple

import torch
from torch import Tensor

Params = list[Tensor]  # the six, always in this order: [W1, b1, W2, b2, W3, b3]
Data = tuple[Tensor, Tensor, Tensor, Tensor]  # X_train, Y_train, X_dev, Y_dev
Loss = Callable[[Tensor, Tensor], Tensor]
Forward = Callable[[Params, Tensor], Tensor]
Function = Callable[[Tensor], Tensor]
Widths = tuple[int, int]  # of the two hidden layers


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


def init_network(generator: torch.Generator, hidden: Widths = (10, 5)) -> Params:
    """Weights from a standard normal, biases at zero: W1 (2, H1), b1 (H1,), W2 (H1, H2),
    b2 (H2,), W3 (H2, 1), b3 (1,), for hidden = (H1, H2), the post's (10, 5)."""
    H1, H2 = hidden
    W1 = torch.randn(2, H1, generator=generator, requires_grad=True)
    b1 = torch.zeros(H1, requires_grad=True)
    W2 = torch.randn(H1, H2, generator=generator, requires_grad=True)
    b2 = torch.zeros(H2, requires_grad=True)
    W3 = torch.randn(H2, 1, generator=generator, requires_grad=True)
    b3 = torch.zeros(1, requires_grad=True)
    return [W1, b1, W2, b2, W3, b3]


def forward_pass(
    params: Params, X: Tensor, activation: Function = torch.relu
) -> Tensor:
    """Points X (N, 2) -> the network's belief (N, 1), in (0, 1), that each is inside.
    With a leading dimension on every tensor, X (S, N, 2), W1 (S, 2, H1), b1 (S, 1, H1),
    it runs S networks at once: @ and + broadcast over it (see train_together)."""
    W1, b1, W2, b2, W3, b3 = params
    Z1 = activation(X @ W1 + b1)  # (N, 2) @ (2, 10) -> (N, 10), b1 added to each row
    Z2 = activation(Z1 @ W2 + b2)  # (N, 10) @ (10, 5) -> (N, 5)
    Z3 = torch.sigmoid(Z2 @ W3 + b3)  # (N, 5) @ (5, 1) -> (N, 1)
    return Z3


def mean_squared_error(A: Tensor, Y: Tensor) -> Tensor:
    """The mean of (A - Y)^2 over the examples of A, Y (N, 1): a scalar."""
    return ((A - Y) ** 2).mean()


def fit(
    params: Params, X_train: Tensor, Y_train: Tensor, epochs: int = 1000,
    lr: float = 0.5, forward: Forward = forward_pass, loss: Loss = mean_squared_error,
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
    params: Params, X_dev: Tensor, Y_dev: Tensor, loss: Loss = mean_squared_error,
    activation: Function = torch.relu,
) -> dict[str, Any]:  # fmt: skip
    """The post's figures on the dev points X_dev (n_dev, 2), Y_dev (n_dev, 1): the dev
    loss, the confusion matrix (inside is positive), the misclassified points."""
    with torch.no_grad():  # nothing here is trained: no graph to record
        Y_pred = forward_pass(params, X_dev, activation)
        dev_loss = loss(Y_pred, Y_dev)
        said = (Y_pred > 0.5).squeeze(1)  # (n_dev,)
        truth = (Y_dev == 1).squeeze(1)  # (n_dev,)
        cells = [said & truth, said & ~truth, ~said & ~truth, ~said & truth]
    tp, fp, tn, fn = torch.stack(cells).sum(1).tolist()  # one read from the device
    return {
        "dev_loss": dev_loss.item(),
        "true_positives": tp, "false_positives": fp,
        "true_negatives": tn, "false_negatives": fn,
        "false_positive_samples": X_dev[said & ~truth].tolist(),
        "false_negative_samples": X_dev[~said & truth].tolist(),
    }  # fmt: skip


# Beyond the post: its other loss and non-linearities, other initial weights, backprop by
# hand, the exercise (examples as columns), baselines, a map of what it learned.


def binary_cross_entropy(Y_pred: Tensor, Y: Tensor) -> Tensor:
    """The mean of -(Y log Y_pred + (1 - Y) log(1 - Y_pred)) over Y_pred, Y (N, 1), each
    log clamped at -100 as in torch's: an output of exactly 0 or 1 costs 100, not inf."""
    # log's input is at least 1e-44, so that its gradient is never 1/0 (which times the
    # clamp's 0 is NaN); log(1e-44) is -101.3, which the clamp replaces by -100 anyway.
    log_p = Y_pred.clamp(min=1e-44).log().clamp(min=-100)  # (N, 1)
    log_1_minus_p = (1 - Y_pred).clamp(min=1e-44).log().clamp(min=-100)  # (N, 1)
    return -(Y * log_p + (1 - Y) * log_1_minus_p).mean()


# Each loss's gradient with respect to A3, the sum that the output's sigmoid takes: where
# backprop() starts. N is the number of examples (none: no division by 0).
def squared_error_dA3(Y_pred: Tensor, Y: Tensor) -> Tensor:
    # each example's share of the mean, then sigmoid' = Y_pred (1 - Y_pred): small
    # wherever Y_pred is near 0 or 1, so a sure but wrong output learns slowly
    dY_pred = 2 / (Y.shape[-2] * Y.shape[-1] or 1) * (Y_pred - Y)  # (N, 1)
    return dY_pred * (1 - Y_pred) * Y_pred  # (N, 1)


def cross_entropy_dA3(Y_pred: Tensor, Y: Tensor) -> Tensor:
    # the log's 1 / (Y_pred (1 - Y_pred)) cancels sigmoid': the exact gradient, as in
    # binary_cross_entropy_with_logits. Autograd through the clamped logs gives 0 where
    # float32 rounds Y_pred to exactly 0 or 1.
    return (Y_pred - Y) / (Y.shape[-2] * Y.shape[-1] or 1)  # (N, 1)


LOSSES = {"mse": (mean_squared_error, squared_error_dA3),
          "bce": (binary_cross_entropy, cross_entropy_dA3)}  # fmt: skip
# The hidden layers' non-linearity, and its derivative in terms of its output Z, written
# over Z in place: backprop() needs Z no more, and a pass over memory costs the most.
Activation = tuple[Function, Function]
ACTIVATIONS: dict[str, Activation] = {
    "relu": (torch.relu, torch.Tensor.sign_),  # Z >= 0: 1 where it is on, else 0
    "tanh": (torch.tanh, lambda Z: Z.square_().neg_().add_(1)),  # 1 - Z^2
    "sigmoid": (torch.sigmoid, lambda Z: Z.sub_(Z.square())),  # Z (1 - Z)
}
# How the weights are drawn: the post's standard normal times a scale of (fan_in,
# fan_out), as torch.nn.init's kaiming_normal_ and xavier_normal_ draw them.
INITS: dict[str, Callable[[int, int], float]] = {
    "normal": lambda fan_in, fan_out: 1.0,
    "kaiming": lambda fan_in, fan_out: math.sqrt(2 / fan_in),
    "xavier": lambda fan_in, fan_out: math.sqrt(2 / (fan_in + fan_out)),
}


def scaled(params: Params, scale: Callable[[int, int], float]) -> Params:
    """The same draws, each weight W (fan_in, fan_out) times scale(fan_in, fan_out)."""
    with torch.no_grad():
        for W in params[::2]:
            W *= scale(*W.shape)
    return params


def backprop(
    params: Params, X: Tensor, Y: Tensor, dA3_of: Loss = squared_error_dA3,
    activation: Activation = ACTIVATIONS["relu"],
) -> Params:  # fmt: skip
    """The gradients of the loss by the chain rule, by hand, as autograd gives them:
    [dW1 (2, 10), db1 (10,), ..., db3 (1,)] for X (N, 2), Y (N, 1) and the loss whose
    dLoss/dA3 is dA3_of(Y_pred, Y). dT stands for dLoss/dT, shaped as T. With a leading
    dimension on every tensor, it serves a stack of networks too."""
    W1, b1, W2, b2, W3, b3 = params
    g, g_prime = activation
    # forward_pass again, keeping each layer's output Z
    Z1 = g(X @ W1 + b1)  # (N, 2) @ (2, 10) -> (N, 10)
    Z2 = g(Z1 @ W2 + b2)  # (N, 10) @ (10, 5) -> (N, 5)
    Y_pred = torch.sigmoid(Z2 @ W3 + b3)  # (N, 5) @ (5, 1) -> (N, 1)
    dA3 = dA3_of(Y_pred, Y)  # (N, 1)
    # A3 = Z2 @ W3 + b3: a weight's gradient is its input, transposed, @ dA3 ...
    dW3 = Z2.mT @ dA3  # (5, N) @ (N, 1) -> (5, 1)
    # ... b3 was broadcast to every row (the post's footnote), so, run backwards, its
    # gradient sums theirs back to its shape
    db3 = dA3.sum_to_size(b3.shape)  # (N, 1) -> (1,)
    # back through the weights, then through the activation: relu' is 1 where it is on
    dA2 = (dA3 @ W3.mT).mul_(g_prime(Z2))  # (N, 1) @ (1, 5) -> (N, 5)
    dW2 = Z1.mT @ dA2  # (10, N) @ (N, 5) -> (10, 5)
    db2 = dA2.sum_to_size(b2.shape)  # (N, 5) -> (5,)
    dA1 = (dA2 @ W2.mT).mul_(g_prime(Z1))  # (N, 5) @ (5, 10) -> (N, 10)
    dW1 = X.mT @ dA1  # (2, N) @ (N, 10) -> (2, 10)
    db1 = dA1.sum_to_size(b1.shape)  # (N, 10) -> (10,)
    return [dW1, db1, dW2, db2, dW3, db3]


def fit_by_hand(
    params: Params, X_train: Tensor, Y_train: Tensor, epochs: int = 1000,
    lr: float = 0.5, gradients: Callable[[Params, Tensor, Tensor], Params] = backprop,
) -> None:  # fmt: skip
    """fit(), with backprop()'s gradients where L.backward() was: no graph, no loss."""
    with torch.no_grad():  # plain tensor arithmetic: nothing for autograd to record
        for _ in range(epochs):
            for p, grad in zip(params, gradients(params, X_train, Y_train)):
                p -= lr * grad


# The post's exercise: examples as columns. Every tensor is the transpose of the rows
# layout's: X (2, N), W1 (H1, 2), b1 (H1, 1), ..., and each product turns round.


def forward_columns(
    params: Params, X: Tensor, activation: Function = torch.relu
) -> Tensor:
    """forward_pass with examples as columns: X (2, N) -> Y_pred (1, N)."""
    W1, b1, W2, b2, W3, b3 = params
    Z1 = activation(W1 @ X + b1)  # (10, 2) @ (2, N) -> (10, N), b1 added to each column
    Z2 = activation(W2 @ Z1 + b2)  # (5, 10) @ (10, N) -> (5, N)
    Z3 = torch.sigmoid(W3 @ Z2 + b3)  # (1, 5) @ (5, N) -> (1, N)
    return Z3


def backprop_columns(
    params: Params, X: Tensor, Y: Tensor, dA3_of: Loss = squared_error_dA3,
    activation: Activation = ACTIVATIONS["relu"],
) -> Params:  # fmt: skip
    """backprop() with examples as columns: X (2, N), Y (1, N) -> [dW1 (10, 2), ...]."""
    W1, b1, W2, b2, W3, b3 = params
    g, g_prime = activation
    Z1 = g(W1 @ X + b1)  # (10, 2) @ (2, N) -> (10, N)
    Z2 = g(W2 @ Z1 + b2)  # (5, 10) @ (10, N) -> (5, N)
    dA3 = dA3_of(torch.sigmoid(W3 @ Z2 + b3), Y)  # (1, 5) @ (5, N) -> (1, N)
    dW3 = dA3 @ Z2.mT  # (1, N) @ (N, 5) -> (1, 5)
    db3 = dA3.sum_to_size(b3.shape)  # (1, N) -> (1, 1)
    dA2 = (W3.mT @ dA3).mul_(g_prime(Z2))  # (5, 1) @ (1, N) -> (5, N)
    dW2 = dA2 @ Z1.mT  # (5, N) @ (N, 10) -> (5, 10)
    db2 = dA2.sum_to_size(b2.shape)  # (5, N) -> (5, 1)
    dA1 = (W2.mT @ dA2).mul_(g_prime(Z1))  # (10, 5) @ (5, N) -> (10, N)
    dW1 = dA1 @ X.mT  # (10, N) @ (N, 2) -> (10, 2)
    db1 = dA1.sum_to_size(b1.shape)  # (10, N) -> (10, 1)
    return [dW1, db1, dW2, db2, dW3, db3]


LAYOUTS = {"rows": (forward_pass, backprop), "columns": (forward_columns, backprop_columns)}  # fmt: skip


def assess(params: Params, data: Data, loss: Loss, activation: Activation) -> dict:
    """What the post's figures are measured against: the training loss, the best constant
    output (the train set's share inside), "outside" always, and the dead neurons."""
    X_train, Y_train, _, Y_dev = data
    W1, b1, W2, b2, _, _ = params
    g, g_prime = activation
    with torch.no_grad():
        train_loss = loss(forward_pass(params, X_train, g), Y_train)
        share = Y_train.mean()  # the constant that minimises the squared error
        Z1 = g(X_train @ W1 + b1)  # (n_train, H1), as in forward_pass
        Z2 = g(Z1 @ W2 + b2)  # (n_train, H2)
        dead = [int((g_prime(Z) == 0).all(0).sum()) for Z in (Z1, Z2)]  # no gradient
    return {
        "train_loss": train_loss.item(), "constant_output": share.item(),
        "constant_train_loss": loss(share.expand_as(Y_train), Y_train).item(),
        "constant_dev_loss": loss(share.expand_as(Y_dev), Y_dev).item(),
        "baseline_accuracy": (Y_dev == 0).sum().item() / len(Y_dev), "dead_neurons": dead,
    }  # fmt: skip


def decision_map(params: Params, points: list, activation: Function = torch.relu) -> list:  # fmt: skip
    """What the network says of [-1.5, 1.5]^2, as 25 lines of 49 cells: '#' inside, '.'
    outside, 'o' on the true unit circle, 'X' on each of `points`. A terminal's
    characters are twice as tall as wide, so columns are half as far apart."""
    rows, cols, dy = 25, 49, 3 / 24
    y, x = torch.meshgrid(
        torch.linspace(1.5, -1.5, rows), torch.linspace(-1.5, 1.5, cols), indexing="ij"
    )  # each (rows, cols)
    cells = torch.stack([x, y], dim=-1).reshape(-1, 2)  # (rows * cols, 2)
    with torch.no_grad():
        Y_pred = forward_pass(params, cells.to(params[0].device), activation)
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
    hidden: Widths = (10, 5)
    activation: str = "relu"
    init: str = "normal"


def prepare(seed: int, args: Namespace, choice: Choice) -> tuple[Data, Params]:
    """A run's data and initial network, drawn in the post's order on the CPU and only
    then moved to the device, so that every device starts from the same numbers."""
    generator = torch.Generator().manual_seed(seed)
    data = generate_datasets(generator, args.samples)
    for name, X in [("train", data[0]), ("dev", data[2])]:
        if len(X) == 0:
            raise RunError(f"--samples {args.samples} leaves the {name} set empty")
    params = scaled(init_network(generator, choice.hidden), INITS[choice.init])
    X_train, Y_train, X_dev, Y_dev = (T.to(args.device) for T in data)
    return (X_train, Y_train, X_dev, Y_dev), [
        p.detach().to(args.device) for p in params
    ]


def trainer(
    params: Params, X: Tensor, Y: Tensor, args: Namespace, choice: Choice,
    losses: tuple[Loss, Loss], layout: str = "rows",
) -> Callable[[int], None]:  # fmt: skip
    """fit() or fit_by_hand(), bound to all but the epochs: training goes a stretch at a
    time, read from the device only in between."""
    (forward, gradients), g = LAYOUTS[layout], ACTIVATIONS[choice.activation]
    if args.backprop == "manual":
        by_hand = lambda p, X, Y: gradients(p, X, Y, losses[1], g)
        return lambda epochs: fit_by_hand(params, X, Y, epochs, choice.lr, by_hand)
    for p in params:
        p.requires_grad_(True)
    with_g = lambda p, X: forward(p, X, g[0])
    return lambda epochs: fit(params, X, Y, epochs, choice.lr, with_g, losses[0])


def stops(epochs: int, *every: int) -> Iterator[int]:
    """The epochs at which training pauses: each multiple of an `every`, and the last."""
    done = 0
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
    loss, g = LOSSES[args.loss][0], ACTIVATIONS[choice.activation]
    r = evaluate(params, *data[2:], loss, g[0]) | assess(params, data, loss, g)
    if not (math.isfinite(r["dev_loss"] + r["train_loss"]) and all_finite(params)):
        raise Diverged(f"training diverged by epoch {ran}")
    for k in ("dev_loss", "train_loss", "constant_train_loss", "constant_dev_loss"):
        r[k] += 0.0  # a loss of -0.0 (a cross entropy's) reads as 0
    tp, fp, tn, fn = (r[k] for k in COUNTS)
    return r | {
        "learned_nothing": tp + fp == 0 or tn + fn == 0,  # one answer for every point
        "accuracy": (tp + tn) / len(data[3]),
        "precision": tp / (tp + fp) if tp + fp else None,
        "recall": tp / (tp + fn) if tp + fn else None,
        "n_train": len(data[0]), "n_dev": len(data[3]),
    }  # fmt: skip


def settings(args: Namespace, seed: int, choice: Choice) -> dict:
    """What a run was asked to do, as its results name it."""
    device = str(torch.empty(0, device=args.device).device)  # "cuda:0", not "cuda"
    chosen = dict(zip(SEVERAL, choice)) | {"hidden": list(choice.hidden)}
    asked = {k: getattr(args, k) for k in ("epochs", "samples", "loss", "backprop")}
    return {"seed": seed} | chosen | {"device": device} | asked


def run(args: Namespace, choice: Choice) -> dict:
    """The run of --seed, as the post's listing computes it; --log-every N, on stderr."""
    data, params = prepare(args.seed, args, choice)
    loss, g = LOSSES[args.loss][0], ACTIVATIONS[choice.activation][0]
    train = trainer(params, *data[:2], args, choice, LOSSES[args.loss])
    history: list[list[float]] = []  # [epoch, train_loss, dev_loss] as logged
    ran, start = 0, time.perf_counter()
    for epoch in stops(args.epochs, 100, args.log_every):
        train(epoch - ran)
        ran = epoch
        if args.log_every and (epoch % args.log_every == 0 or epoch == args.epochs):
            with torch.no_grad():  # both losses, read only where a log asks for them
                Ls = [
                    loss(forward_pass(params, X, g), Y) for X, Y in [data[:2], data[2:]]
                ]
            history.append([epoch, *(L + 0.0 for L in torch.stack(Ls).tolist())])
            tell(LOG.format(epoch, *history[-1][1:], width=len(str(args.epochs))))
            if not all(map(math.isfinite, history[-1])):
                break
        if not all_finite(params):  # one read in 100 epochs, or at each log
            break
    synchronize(args.device)
    seconds = time.perf_counter() - start
    result = finish(params, data, ran, args, choice) | settings(args, args.seed, choice)
    result |= {"fit_seconds": seconds, "loss_history": history}
    if args.boundary:
        mistakes = result["false_positive_samples"] + result["false_negative_samples"]
        result["boundary"] = decision_map(params, mistakes, g)
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
    loss, dA3_of = LOSSES[args.loss]
    pad = torch.nn.utils.rnn.pad_sequence  # train sets differ in length: pad with 0
    X = pad([data[0] for data, _ in runs], batch_first=True)  # (S, n, 2), n the most
    Y = pad([data[1] for data, _ in runs], batch_first=True)  # (S, n, 1)
    mask = pad([torch.ones_like(data[1]) for data, _ in runs], batch_first=True)
    scale = X.shape[1] / mask.sum((1, 2))  # (S,): n / each one's count of points
    # W1 (S, 2, H1), b1 (S, 1, H1), ...: a bias as a row, to broadcast as in the post
    shapes, nets = [p.shape for p in runs[0][1]], zip(*[net for _, net in runs])
    params = [torch.stack([p.view(-1, p.shape[-1]) for p in ps]) for ps in nets]
    if layout == "columns":  # each of them transposed: X (S, 2, n), b1 (S, H1, 1), ...
        X, Y, mask, *params = [T.mT.contiguous() for T in (X, Y, mask, *params)]
    weight = mask * scale[:, None, None]  # 0 on the padding, n / count elsewhere

    def stacked_loss(Y_pred: Tensor, Y: Tensor) -> Tensor:
        # 0 in both on the padding (Y is padded with 0), which so adds 0 to each
        # network's mean over n points; the scale makes that its mean over its own
        return torch.vmap(loss)(Y_pred * mask, Y) @ scale  # (S,) @ (S,) -> ()

    stacked_dA3 = lambda Y_pred, Y: dA3_of(Y_pred, Y) * weight
    train = trainer(params, X, Y, args, choice, (stacked_loss, stacked_dA3), layout)
    seen: list[int | None] = [None] * len(runs)
    ran = 0
    for epoch in stops(args.epochs, 100):
        train(epoch - ran)
        ran = epoch
        finite = torch.stack([p.detach().isfinite().flatten(1).all(1) for p in params])
        for s, ok in enumerate(finite.all(0).tolist()):  # one read in 100 epochs
            seen[s] = seen[s] or (None if ok else ran)
        progress(f"epoch {ran} of {args.epochs}")
        if all(seen):  # a network alone trains on; all of them stop here
            break
    params = [p.mT if layout == "columns" else p for p in params]
    nets = [
        [p[s].detach().reshape(q) for p, q in zip(params, shapes)]
        for s in range(len(seen))
    ]
    return nets, [s or ran for s in seen]


def network_bytes(samples: int, hidden: Widths) -> int:
    """A stacked network's bytes: data, mask, activations and their gradients, and four
    times its parameters (its own, the stack's, their gradients and updates)."""
    H1, H2 = hidden
    parameters = (2 + 1) * H1 + (H1 + 1) * H2 + H2 + 1
    return 4 * (samples * (8 + 4 * (H1 + H2)) + 4 * parameters)


def group_size(args: Namespace, hidden: Widths) -> int:
    """How many networks fit in 1/4 GiB, or half a GPU's free memory (maybe 0)."""
    cuda = args.device.type == "cuda"
    room = torch.cuda.mem_get_info(args.device)[0] // 2 if cuda else 2**28
    return room // network_bytes(args.samples, hidden)


def sweep(args: Namespace, choice: Choice) -> Iterator[list[dict]]:
    """Seeds --seed, --seed + 1, ... trained in groups: each group's rows (its single
    runs' figures, computed another way), or why a run has none."""
    seeds = range(args.seed, args.seed + args.seeds)
    size = max(1, group_size(args, choice.hidden))  # check() refused a 0
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
    return {
        "runs": len(runs),
        "seeds": [runs[0]["seed"], runs[-1]["seed"]],
        "learned_nothing": [r["seed"] for r in done if r["learned_nothing"]],
        "diverged": [r["seed"] for r in runs if r.get("diverged")],
        "failed": [r["seed"] for r in runs if r.get("diverged") is False],
        "dev_loss": spread([r["dev_loss"] for r in done]),
        "mistakes": spread([r["false_positives"] + r["false_negatives"] for r in done]),
        "dead_neurons": dead or None,  # each layer's median
        "relative_loss": {
            "train": statistics.median(train for train, _ in relative),
            "dev": statistics.median(dev for _, dev in relative),
            "worse_on_dev": worse,
            "of": len(relative),
        }
        if relative
        else None,
        "rank": {"seed": seed, "rank": rank, "of": len(done)} if ours else None,
    }


def best(choices: list[dict]) -> dict:
    """The fewest failed runs, then median mistakes, then median dev loss: mistakes alone
    would flatter a choice whose runs learn to say "outside" everywhere."""

    def score(c: dict) -> list[float]:
        s = c["summary"]
        failed = sum(len(s[k]) for k in ("learned_nothing", "diverged", "failed"))
        return [failed] + [s[k]["median"] if s[k] else math.inf for k in MEDIANS]

    return min(choices, key=score)


# The command line: the report's text, parsing, main() and, last, the entry point.

COUNTS = ("true_positives", "false_positives", "true_negatives", "false_negatives")
SAMPLES = ("false_positive_samples", "false_negative_samples")
MEDIANS = ("mistakes", "dev_loss")  # a comparison's best: the fewest, the lowest
RATES = ("accuracy", "precision", "recall")
REPORT = """
device {device}, seed {seed}: {n_train} train points, {n_dev} dev points
network 2-{h1}-{h2}-1: {activation} hidden layers, {init} initial weights
fit: {epochs} epochs, lr {lr:g}, {loss} loss, {backprop} gradients{note}, {fit_seconds:.2f} s
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
dead neurons    = {d1} of {h1}, {d2} of {h2}  (no gradient at any train point)
over-fitting    = {overfit}
{nothing}"""
# With cross entropy the two ways to the gradients are two different training runs.
NOTES = {"autograd": " (clamped, as torch's binary_cross_entropy)",
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
    "lr      hidden  activation  init     runs  learned nothing  diverged  no result"
    "  mistakes: median (q1 to q3)  dev_loss median  dead neurons median"
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


def format_report(r: dict) -> str:
    """The post's output, then the run, what it is measured against, and the map."""
    rates = [f"{k} {r[k]:.2%}" if r[k] is not None else f"{k} n/a" for k in RATES]
    more = dict(zip(["h1", "h2", "d1", "d2"], r["hidden"] + r["dead_neurons"]))
    more["note"] = NOTES[r["backprop"]] if r["loss"] == "bce" else ""
    more["nothing"] = NOTHING if r["learned_nothing"] else ""
    radii = sorted(math.hypot(*point) for k in SAMPLES for point in r[k])
    more["where"] = f"misclassified dev points: {len(radii)}"
    if radii:  # their distances from the origin: the circle's is 1
        span = f"{radii[0]:.4f}" + f" to {radii[-1]:.4f}" * (len(radii) > 1)
        more["where"] += f", at {span} from the origin"
    text = REPORT.format(**r, **more, rates="   ".join(rates), overfit=overfitting(r))
    lines = [post_output(r), *text.rstrip("\n").split("\n")]
    if "boundary" in r:
        lines += ["", "the plane from -1.5 to 1.5 in x1 (across) and x2 (up):"]
        lines += [*r["boundary"], LEGEND]
    return "\n".join(lines)


def format_row(r: dict, choice: bool = False) -> str:
    """One line of a sweep: a run's seed (and choice) and figures, or why it has none."""
    row = f"lr {r['lr']:g}  hidden {r['hidden'][0]},{r['hidden'][1]}  " * choice
    row += f"{r['activation']}  {r['init']}  " * choice
    row += f"seed {r['seed']}  " + (r["error"] if "error" in r else ROW.format(**r))
    return row + "  learned nothing" * r.get("learned_nothing", False)


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
    lines = [COLUMNS]
    for c in choices:
        s, m = c["summary"], c["summary"]["mistakes"]
        hidden = f"{c['hidden'][0]},{c['hidden'][1]}"
        row = f"{c['lr']:<7g} {hidden:<7} {c['activation']:<11} {c['init']:<9}{s['runs']:>4}"
        counted = [len(s[k]) for k in ("learned_nothing", "diverged", "failed")]
        row += "  {:>15}  {:>8}  {:>9}  ".format(*counted)
        if m:
            dead = ", ".join(f"{d:g}" for d in s["dead_neurons"])
            row += f"{m['median']:>8g} ({m['q1']:g} to {m['q3']:g})".ljust(29)
            row += f"{s['dev_loss']['median']:>15.4f}  {dead:>19}"
        lines.append(row.rstrip())
    b = best(choices)
    flags = f"--lr {b['lr']:g} --hidden {b['hidden'][0]},{b['hidden'][1]}"
    flags += f" --activation {b['activation']} --init {b['init']}"
    return "\n".join(
        [*lines, f"best, by fewest failed runs, then median mistakes: {flags}"]
    )


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


SEEDS = 2**32  # torch's CPU generator reads a seed's low 32 bits: 2**32 is 0 again
a_rate = argument(float, lambda v: 0 < v < math.inf, "a finite number > 0")
a_pair = argument(lambda text: tuple(map(int, text.split(","))),  # "10,5" -> (10, 5)
                  lambda widths: len(widths) == 2 and min(widths) > 0,
                  "two widths >= 1, as 10,5")  # fmt: skip
a_seed = argument(int, lambda n: 0 <= n < SEEDS, f"an integer from 0 to {SEEDS - 1}")
FLAGS = [  # each flag: its type (or its choices), its default (the post's), its use
    ("--epochs", count(0), 1000, "steps of gradient descent"),
    ("--lr", a_rate, [0.5], "learning rate; several compare"),
    ("--hidden", a_pair, [(10, 5)], "H1,H2: hidden layers' widths; several compare"),
    ("--activation", [*ACTIVATIONS], ["relu"], "hidden layers'; several compare"),
    ("--init", [*INITS], ["normal"], "how weights are drawn; several compare"),
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
        shown = str(default[0] if many else default).replace(" ", "").strip("()")
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
    if (last := args.seed + args.seeds - 1) >= SEEDS:
        parser.error(f"--seeds {args.seeds} from --seed {args.seed} ends at {last}, "
                     f"past torch's last seed, {SEEDS - 1}")  # fmt: skip
    for H1, H2 in args.hidden:  # by arithmetic: beyond any machine, or a sweep's group
        need = network_bytes(args.samples, (H1, H2))
        if need > 2**50 or (runs > 1 and not group_size(args, (H1, H2))):
            where = "memory" if need > 2**50 else "a group of a sweep"
            parser.error(f"--samples {args.samples}, --hidden {H1},{H2}: one network "
                         f"needs {need / 2**20:.0f} MiB, too much for {where}")  # fmt: skip


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
    choices = [Choice(*choice) for choice in chosen]
    try:
        if len(choices) == 1 and args.seeds == 1:
            result = run(args, choices[0])
            out(dumps(result) if args.json else format_report(result))
        else:
            compare(args, choices)
    except Diverged as error:
        parser.error(f"{error}; try a smaller --lr than {args.lr[0]:g}")
    except RunError as error:
        parser.error(str(error))
    except (MemoryError, RuntimeError) as error:
        # out of memory is what too large a --samples does: say so. Else: a bug, loud.
        if isinstance(error, RuntimeError) and not re.search(OOM, str(error)):
            raise
        parser.error(f"--samples {args.samples} does not fit in {args.device} memory")
    return 0


def compare(args: Namespace, choices: list[Choice]) -> None:
    """Each choice over the seeds, its rows as they come, then the summary or table."""
    runs: list[dict] = []
    try:
        for choice in choices:
            for rows in sweep(args, choice):
                progress("")
                runs += rows
                for row in rows:
                    (tell if args.json else out)(format_row(row, len(choices) > 1))
        interrupted = False
    except KeyboardInterrupt:  # Ctrl-C: the summary of the runs so far, then stop
        progress("")
        if not runs:
            raise
        interrupted = True
    if not interrupted and all("error" in r for r in runs):  # as a single such run
        raise RunError(
            f"no run gave a result: seed {runs[0]['seed']}: {runs[0]['error']}"
        )
    summaries = []
    for k, choice in enumerate(choices):  # each one's runs, as far as they got
        if mine := runs[k * args.seeds : (k + 1) * args.seeds]:
            named = dict(zip(SEVERAL, choice)) | {"hidden": list(choice.hidden)}
            summaries.append(named | {"summary": summarize(mine, args.seed)})
    if len(choices) == 1:
        result = {"runs": runs, "summary": summaries[0]["summary"]}
        text = format_summary(summaries[0]["summary"])
    else:
        result = {"runs": runs, "choices": summaries}
        text = format_comparison(summaries)
    out(dumps(result) if args.json else "\n" + text)
    if interrupted:
        raise KeyboardInterrupt


def out(text: str) -> None:
    """The output (the report, the JSON, a sweep's rows), on stdout as it comes."""
    print(text, flush=True)


def dumps(result: dict) -> str:  # strictly: a NaN in a result is a bug, not a figure
    return json.dumps(result, allow_nan=False)


def tell(text: str) -> None:
    """A line for whoever watches (a log, a sweep's rows beside --json), on stderr."""
    print(text, file=sys.stderr)


def progress(text: str) -> None:
    """On a terminal, a line on stderr that says how far a sweep is ("" clears it)."""
    if sys.stderr.isatty():
        print(f"\r\033[K{text}", end="", file=sys.stderr, flush=True)


if __name__ == "__main__":
    try:
        status = main()
        sys.stdout.flush()  # a closed pipe or a full disk shows here, if not before
    except OSError as error:  # a closed pipe (| head) quietly, as the signal module's
        # "Note on SIGPIPE" shows: Python flushes stdout once more as it leaves, so
        # point stdout at nothing first
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        status = 1 if isinstance(error, BrokenPipeError) else 2
        if status == 2:  # a full disk, say
            message = f"error: cannot write the output: {error.strerror}"
            print(f"{os.path.basename(sys.argv[0])}: {message}", file=sys.stderr)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        status = 130  # 128 + SIGINT, as a shell says
    sys.exit(status)
