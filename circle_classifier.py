"""Teach a tiny neural network whether a point lies inside the unit circle.

The runnable companion to the blog post "Notes on neural networks: basic concepts": a
2-10-5-1 network built from raw PyTorch tensors, trained by gradient descent on the mean
squared error, then scored on held-back points with the post's figures.

Run it:   python circle_classifier.py              the post's run, and its figures
          python circle_classifier.py --seeds 100  is that run typical? 100 at once
          python circle_classifier.py --lr 0.5 2 5 --hidden 10,5 20,10 --seeds 100
                                                   the post's choices, compared
Test it:  python -m pytest
"""

import _signal  # signal's core, built in: at once, where signal takes milliseconds
import os

if __name__ == "__main__":  # Ctrl-C while torch loads (which can swallow it): say so

    def stop(*_: object) -> None:
        try:
            os.write(2, b"interrupted\n")
        finally:
            os._exit(130)  # at once, 128 + SIGINT as a shell says; cli() takes over

    _signal.signal(_signal.SIGINT, stop)

import argparse
import json
import math
import re
import signal
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

import torch
from torch import Tensor

Params = list[Tensor]  # the six, always in this order: [W1, b1, W2, b2, W3, b3]
Data = tuple[Tensor, Tensor, Tensor, Tensor]  # X_train, Y_train, X_dev, Y_dev
Loss = Callable[[Tensor, Tensor], Tensor]
Widths = tuple[int, int]  # of the two hidden layers: the post's (10, 5)
CPU = torch.device("cpu")


def generate_datasets(
    generator: torch.Generator, samples: int, device: torch.device = CPU
) -> Data:
    """`samples` points in the square [-5, 5)^2, labelled 1.0 inside the unit circle
    and 0.0 outside, split 80:20: X_train (n_train, 2), Y_train (n_train, 1), X_dev
    (n_dev, 2), Y_dev (n_dev, 1). Drawn on the CPU and only then moved to the device,
    so every device starts from the very same numbers."""
    X = torch.rand(samples, 2, generator=generator) * 10 - 5  # (samples, 2)
    Y = ((X**2).sum(dim=1, keepdim=True) < 1).float()  # (samples, 1)
    P = torch.rand(samples, generator=generator)  # (samples,)
    X_train, Y_train = X[P < 0.8], Y[P < 0.8]
    X_dev, Y_dev = X[P >= 0.8], Y[P >= 0.8]
    return X_train.to(device), Y_train.to(device), X_dev.to(device), Y_dev.to(device)


def init_network(
    generator: torch.Generator, device: torch.device = CPU, hidden: Widths = (10, 5)
) -> Params:
    """Weights from a standard normal, biases at zero: [W1 (2, H1), b1 (H1,),
    W2 (H1, H2), b2 (H2,), W3 (H2, 1), b3 (1,)] for hidden = (H1, H2), the post's
    (10, 5). Examples are rows, so a weight has a row per output of the layer before."""
    H1, H2 = hidden
    W1 = torch.randn(2, H1, generator=generator)
    b1 = torch.zeros(H1)
    W2 = torch.randn(H1, H2, generator=generator)
    b2 = torch.zeros(H2)
    W3 = torch.randn(H2, 1, generator=generator)
    b3 = torch.zeros(1)
    # requires_grad=True once on the device, so that autograd fills each one's .grad
    return [p.to(device).requires_grad_(True) for p in (W1, b1, W2, b2, W3, b3)]


def forward_pass(params: Params, X: Tensor) -> Tensor:
    """Points X (N, 2) -> the network's belief (N, 1), in (0, 1), that each is inside.
    With a leading dimension on every tensor, X (S, N, 2), W1 (S, 2, H1), b1 (S, 1, H1),
    it runs S networks at once: @ and + broadcast over it (see train_together)."""
    W1, b1, W2, b2, W3, b3 = params
    Z1 = (X @ W1 + b1).relu()  # (N, 2) @ (2, 10) -> (N, 10), + b1 on every row
    Z2 = (Z1 @ W2 + b2).relu()  # (N, 10) @ (10, 5) -> (N, 5)
    Z3 = (Z2 @ W3 + b3).sigmoid()  # (N, 5) @ (5, 1) -> (N, 1)
    return Z3


def mean_squared_error(Y_pred: Tensor, Y: Tensor) -> Tensor:
    """The mean of (Y_pred - Y)^2 over the examples of Y_pred, Y (N, 1): a scalar."""
    return ((Y_pred - Y) ** 2).mean()


def fit(
    params: Params,
    X: Tensor,
    Y: Tensor,
    epochs: int,
    lr: float,
    loss_fn: Loss = mean_squared_error,
    backward: Callable[[Tensor], None] = Tensor.backward,
    watch: Callable[[int, Tensor], bool] | None = None,
) -> int:
    """Full-batch gradient descent on X (N, 2), Y (N, 1), updating `params` in place.

    backward(loss) fills each p.grad: autograd's, as in the post, or by_hand()'s.
    watch(epoch, loss), if given, runs after each epoch (to log, to check) and stops
    training by returning True. Returns the number of epochs run.
    """
    for epoch in range(1, epochs + 1):
        # forward pass and loss
        Y_pred = forward_pass(params, X)
        loss = loss_fn(Y_pred, Y)
        # backward pass
        backward(loss)
        # update, unrecorded by autograd (the post writes to p.data instead)
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad
                p.grad = None  # clear: backward() adds to what is there
        if watch is not None and watch(epoch, loss):
            return epoch
    return epochs


def evaluate(
    params: Params, X_dev: Tensor, Y_dev: Tensor, loss_fn: Loss = mean_squared_error
) -> dict[str, Any]:
    """The post's figures on the dev points X_dev (n_dev, 2), Y_dev (n_dev, 1): the dev
    loss, the confusion matrix (inside is positive), the misclassified points."""
    with torch.no_grad():  # nothing here is trained: no graph to record
        Y_pred = forward_pass(params, X_dev)
        dev_loss = loss_fn(Y_pred, Y_dev)
        said = (Y_pred > 0.5).squeeze(1)  # (n_dev,)
        truth = (Y_dev == 1).squeeze(1)  # (n_dev,)
        cells = [said & truth, said & ~truth, ~said & ~truth, ~said & truth]
    tp, fp, tn, fn = torch.stack(cells).sum(1).tolist()  # one read from the device
    return {
        "dev_loss": dev_loss.item(),
        "true_positives": tp,
        "false_positives": fp,
        "true_negatives": tn,
        "false_negatives": fn,
        "false_positive_samples": X_dev[said & ~truth].tolist(),
        "false_negative_samples": X_dev[~said & truth].tolist(),
    }


# Beyond the post: its other loss, backprop by hand, baselines, a map of what it learned.


def binary_cross_entropy(Y_pred: Tensor, Y: Tensor) -> Tensor:
    """The mean of -(Y log Y_pred + (1 - Y) log(1 - Y_pred)) over Y_pred, Y (N, 1), each
    log clamped at -100 as in torch's: an output of exactly 0 or 1 costs 100, not inf."""
    # log's input is at least 1e-44, so that its gradient is never 1/0 (which times the
    # clamp's 0 is NaN); log(1e-44) is -101.3, which the clamp replaces by -100 anyway.
    log_p = Y_pred.clamp(min=1e-44).log().clamp(min=-100)  # (N, 1)
    log_1_minus_p = (1 - Y_pred).clamp(min=1e-44).log().clamp(min=-100)  # (N, 1)
    return -(Y * log_p + (1 - Y) * log_1_minus_p).mean()


# Each loss's gradient with respect to A3, the sum that the output's sigmoid takes: where
# backprop() starts. N, the number of rows, is Y.shape[-2] (no rows: no division by 0).
def squared_error_dA3(Y_pred: Tensor, Y: Tensor) -> Tensor:
    # each example's share of the mean, then sigmoid' = Y_pred (1 - Y_pred): small
    # wherever Y_pred is near 0 or 1, so a sure but wrong output learns slowly
    dY_pred = 2 / (Y.shape[-2] or 1) * (Y_pred - Y)  # (N, 1)
    return dY_pred * (1 - Y_pred) * Y_pred  # (N, 1)


def cross_entropy_dA3(Y_pred: Tensor, Y: Tensor) -> Tensor:
    # the log's 1 / (Y_pred (1 - Y_pred)) cancels sigmoid': the exact gradient, as in
    # binary_cross_entropy_with_logits. Autograd through the clamped logs gives 0 where
    # float32 rounds Y_pred to exactly 0 or 1.
    return (Y_pred - Y) / (Y.shape[-2] or 1)  # (N, 1)


LOSSES = {
    "mse": (mean_squared_error, squared_error_dA3),
    "bce": (binary_cross_entropy, cross_entropy_dA3),
}


def backprop(
    params: Params, X: Tensor, Y: Tensor, dA3_of: Loss = squared_error_dA3
) -> Params:
    """The gradients of the loss by the chain rule, by hand, as autograd would give
    them: [dW1 (2, 10), db1 (10,), ..., db3 (1,)] for X (N, 2), Y (N, 1) and the loss
    whose dLoss/dA3 is dA3_of(Y_pred, Y). dT stands for dLoss/dT, shaped as T. With a
    leading dimension on every tensor, it serves a stack of networks too."""
    W1, b1, W2, b2, W3, b3 = params
    with torch.no_grad():  # plain tensor operations, recording nothing
        # forward_pass again, keeping each layer's sum A and activation Z
        A1 = X @ W1 + b1  # (N, 2) @ (2, 10) -> (N, 10)
        Z1 = A1.relu()
        A2 = Z1 @ W2 + b2  # (N, 10) @ (10, 5) -> (N, 5)
        Z2 = A2.relu()
        Y_pred = (Z2 @ W3 + b3).sigmoid()  # (N, 5) @ (5, 1) -> (N, 1)
        dA3 = dA3_of(Y_pred, Y)  # (N, 1)
        # A3 = Z2 @ W3 + b3: a weight's gradient is its input, transposed, @ dA3 ...
        dW3 = Z2.mT @ dA3  # (5, N) @ (N, 1) -> (5, 1)
        # ... b3 was broadcast to every row (the post's footnote), so, run backwards,
        # its gradient sums theirs back to its shape
        db3 = dA3.sum_to_size(b3.shape)  # (N, 1) -> (1,)
        dZ2 = dA3 @ W3.mT  # (N, 1) @ (1, 5) -> (N, 5): back through the weights
        dA2 = dZ2 * Z2.sign()  # relu' is 1 where A2 > 0, else 0: sign(Z2)
        dW2 = Z1.mT @ dA2  # (10, N) @ (N, 5) -> (10, 5)
        db2 = dA2.sum_to_size(b2.shape)  # (N, 5) -> (5,)
        dZ1 = dA2 @ W2.mT  # (N, 5) @ (5, 10) -> (N, 10)
        dA1 = dZ1 * Z1.sign()
        dW1 = X.mT @ dA1  # (2, N) @ (N, 10) -> (2, 10)
        db1 = dA1.sum_to_size(b1.shape)  # (N, 10) -> (10,)
    return [dW1, db1, dW2, db2, dW3, db3]


def by_hand(params: Params, X: Tensor, Y: Tensor, dA3_of: Loss) -> Callable:
    """A backward for fit(): each p.grad from backprop(), not from autograd."""

    def backward(loss: Tensor) -> None:
        for p, grad in zip(params, backprop(params, X, Y, dA3_of)):
            p.grad = grad

    return backward


def assess(params: Params, data: Data, loss_fn: Loss) -> dict[str, Any]:
    """What the post's figures are measured against: the training loss (over-fitting?),
    the best constant output (the train set's share inside), always saying "outside",
    and each hidden layer's dead neurons: off for every train point, they learn no more."""
    X_train, Y_train, _, Y_dev = data
    W1, b1, W2, b2, _, _ = params
    with torch.no_grad():
        train_loss = loss_fn(forward_pass(params, X_train), Y_train)
        share = Y_train.mean()  # the constant that minimises the training loss
        constant_dev_loss = loss_fn(share.expand_as(Y_dev), Y_dev)
        Z1 = (X_train @ W1 + b1).relu()  # (n_train, H1), as in forward_pass
        Z2 = (Z1 @ W2 + b2).relu()  # (n_train, H2)
        dead = [int((Z == 0).all(0).sum()) for Z in (Z1, Z2)]
    return {
        "train_loss": train_loss.item(),
        "constant_output": share.item(),
        "constant_dev_loss": constant_dev_loss.item(),
        "baseline_accuracy": (Y_dev == 0).sum().item() / len(Y_dev),
        "dead_neurons": dead,
    }


def decision_map(params: Params, points: list[list[float]]) -> list[str]:
    """What the network says of [-1.5, 1.5]^2, as 25 lines of 49 cells: '#' inside, '.'
    outside, 'o' on the true unit circle, 'X' on each of `points`. A terminal's
    characters are twice as tall as wide, so columns are half as far apart."""
    rows, cols, dy = 25, 49, 3 / 24
    y, x = torch.meshgrid(
        torch.linspace(1.5, -1.5, rows), torch.linspace(-1.5, 1.5, cols), indexing="ij"
    )  # each (rows, cols)
    cells = torch.stack([x, y], dim=-1).reshape(-1, 2)  # (rows * cols, 2)
    with torch.no_grad():
        Y_pred = forward_pass(params, cells.to(params[0].device))  # (rows * cols, 1)
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


def prepare(seed: int, args: argparse.Namespace, hidden: Widths) -> tuple[Data, Params]:
    """A run's data and initial network, from one generator, in the post's order."""
    generator = torch.Generator().manual_seed(seed)
    data = generate_datasets(generator, args.samples, args.device)
    for name, X in [("train", data[0]), ("dev", data[2])]:
        if len(X) == 0:
            raise RunError(f"--samples {args.samples} leaves the {name} set empty")
    return data, init_network(generator, args.device, hidden)


def all_finite(params: Params) -> bool:
    """Whether every entry of every parameter is finite: one read from the device."""
    return bool(torch.stack([p.detach().isfinite().all() for p in params]).all())


def finish(params: Params, data: Data, ran: int, args: argparse.Namespace) -> dict:
    """A run's figures once trained for `ran` epochs; Diverged if they are not finite."""
    loss_fn = LOSSES[args.loss][0]
    r = evaluate(params, data[2], data[3], loss_fn) | assess(params, data, loss_fn)
    if not (math.isfinite(r["dev_loss"] + r["train_loss"]) and all_finite(params)):
        raise Diverged(f"training diverged by epoch {ran}")
    tp, fp, tn, fn = (r[k] for k in COUNTS)
    return r | {
        "learned_nothing": tp + fp == 0 or tn + fn == 0,  # one answer for every point
        "accuracy": (tp + tn) / len(data[3]),
        "precision": tp / (tp + fp) if tp + fp else None,
        "recall": tp / (tp + fn) if tp + fn else None,
        "n_train": len(data[0]),
        "n_dev": len(data[3]),
    }


def settings(args: argparse.Namespace, seed: int, lr: float, hidden: Widths) -> dict:
    """What a run was asked to do, as its results name it."""
    device = str(torch.empty(0, device=args.device).device)  # "cuda:0", not "cuda"
    asked = {k: getattr(args, k) for k in ("epochs", "samples", "loss", "backprop")}
    return {"seed": seed, "lr": lr, "hidden": list(hidden), "device": device} | asked


def run(args: argparse.Namespace, lr: float, hidden: Widths, say: Callable) -> dict:
    """The run of --seed: what the post's listing computes at these settings."""
    data, params = prepare(args.seed, args, hidden)
    loss_fn, dA3_of = LOSSES[args.loss]
    backward = Tensor.backward
    if args.backprop == "manual":  # and no graph to record: backprop() needs none
        backward = by_hand([p.requires_grad_(False) for p in params], *data[:2], dA3_of)
    history: list[tuple[int, float]] = []

    def watch(epoch: int, loss: Tensor) -> bool:
        if args.log_every and (epoch % args.log_every == 0 or epoch == args.epochs):
            history.append((epoch, loss.item()))  # a read: only where a log asks ...
            say(f"epoch {epoch:>{len(str(args.epochs))}}  loss {history[-1][1]:.6f}")
            if not math.isfinite(history[-1][1]):
                return True
        return epoch % 100 == 0 and not all_finite(params)  # ... and 1 in 100 epochs

    start = time.perf_counter()
    ran = fit(params, *data[:2], args.epochs, lr, loss_fn, backward, watch)
    synchronize(args.device)
    seconds = time.perf_counter() - start
    result = finish(params, data, ran, args) | settings(args, args.seed, lr, hidden)
    result |= {"fit_seconds": seconds, "loss_history": history}
    if args.boundary:
        mistakes = result["false_positive_samples"] + result["false_negative_samples"]
        result["boundary"] = decision_map(params, mistakes)
    return result


def synchronize(device: torch.device) -> None:
    """Wait for the work queued on `device`, so that a timer measures the work done."""
    if device.type != "cpu":
        torch.zeros(1, device=device).item()  # a read waits for all that came before


def train_together(
    runs: list[tuple[Data, Params]], args: argparse.Namespace, lr: float
) -> tuple[list[Params], list[int]]:
    """The post's fit() of the networks of `runs` at once, a leading dimension S on every
    tensor, on the sum of each one's mean loss, so that each one's gradient is its own.
    Returns their parameters, and when each was seen not finite (else the epochs run)."""
    loss_fn, dA3_of = LOSSES[args.loss]
    S = len(runs)
    pad = torch.nn.utils.rnn.pad_sequence  # train sets differ in length: pad with 0
    X = pad([data[0] for data, _ in runs], batch_first=True)  # (S, n, 2), n the most
    Y = pad([data[1] for data, _ in runs], batch_first=True)  # (S, n, 1)
    mask = pad([data[1] * 0 + 1 for data, _ in runs], batch_first=True)  # (S, n, 1)
    scale = X.shape[1] / mask.sum((1, 2))  # (S,): n / each one's count of points
    # W1 (S, 2, H1), b1 (S, 1, H1), ...: a bias as a row, to broadcast as in the post
    nets = [[p.detach().view(-1, p.shape[-1]) for p in params] for _, params in runs]
    params = [torch.stack(ps) for ps in zip(*nets)]

    def stacked_loss(Y_pred: Tensor, Y: Tensor) -> Tensor:
        # 0 in both on the padding (Y is padded with 0), which so adds 0 to each
        # network's mean over n rows; the scale makes that its mean over its own
        return torch.vmap(loss_fn)(Y_pred * mask, Y) @ scale  # (S,) @ (S,) -> ()

    backward = Tensor.backward
    if args.backprop == "manual":
        weight = mask * scale[:, None, None]  # (S, n, 1): 0 on the padding
        backward = by_hand(params, X, Y, lambda P, Y: dA3_of(P, Y) * weight)
    else:
        params = [p.requires_grad_(True) for p in params]
    seen: list[int | None] = [None] * S

    def watch(epoch: int, _: Tensor) -> bool:
        if epoch % 100:
            return False
        finite = torch.stack([p.detach().isfinite().flatten(1).all(1) for p in params])
        for s, ok in enumerate(finite.all(0).tolist()):  # one read in 100 epochs
            seen[s] = seen[s] or (None if ok else epoch)
        progress(f"epoch {epoch} of {args.epochs}")
        return all(seen)  # a network alone trains on; all of them stop here

    ran = fit(params, X, Y, args.epochs, lr, stacked_loss, backward, watch)
    shapes = [p.shape for p in runs[0][1]]  # each network's own, back from the stack
    nets = [[p[s].detach().view(q) for p, q in zip(params, shapes)] for s in range(S)]
    return nets, [s or ran for s in seen]


def group_size(args: argparse.Namespace, hidden: Widths) -> int:
    """How many networks train together: as many as fit in 1/4 GiB (on a GPU, in half
    its free memory), with their data, activations and gradients."""
    on_gpu = args.device.type == "cuda"
    budget = torch.cuda.mem_get_info(args.device)[0] // 2 if on_gpu else 2**28
    return max(1, budget // (4 * args.samples * (8 + 4 * sum(hidden))))  # float32s


def sweep(args: argparse.Namespace, lr: float, hidden: Widths) -> Iterator[list[dict]]:
    """The runs of seeds --seed, --seed + 1, ... at lr and widths, trained in groups:
    yields each group's rows, its single runs' figures computed another way, or why a
    run has none."""
    seeds, size = range(args.seed, args.seed + args.seeds), group_size(args, hidden)
    for group in (seeds[i : i + size] for i in range(0, len(seeds), size)):
        rows, runs = {}, {}
        for seed in group:
            try:
                runs[seed] = prepare(seed, args, hidden)
            except RunError as error:
                rows[seed] = {"error": str(error), "diverged": False}
        if runs:
            start = time.perf_counter()
            nets, seen = train_together([*runs.values()], args, lr)
            synchronize(args.device)
            share = (time.perf_counter() - start) / len(runs)  # of the group's fit
            for (seed, (data, _)), net, ran in zip(runs.items(), nets, seen):
                try:
                    rows[seed] = finish(net, data, ran, args) | {"fit_seconds": share}
                except Diverged as error:
                    rows[seed] = {"error": str(error), "diverged": True}
        yield [settings(args, seed, lr, hidden) | rows[seed] for seed in group]


def spread(values: list[float]) -> dict[str, float] | None:
    """Their minimum, quartiles (interpolated as numpy's) and maximum."""
    if not values:
        return None
    many = values if len(values) > 1 else values * 2  # one value: its own quartiles
    q1, q2, q3 = statistics.quantiles(many, method="inclusive")
    return {"min": min(values), "q1": q1, "median": q2, "q3": q3, "max": max(values)}


def summarize(runs: list[dict], seed: int) -> dict[str, Any]:
    """What one choice's runs say together (a failed one is counted, not measured), and
    where the run of `seed` ranks."""
    done = [r for r in runs if "error" not in r]
    ours = [r["dev_loss"] for r in done if r["seed"] == seed]
    rank = 1 + sum(r["dev_loss"] < ours[0] for r in done) if ours else 0  # ties: best
    dead = [statistics.median(d) for d in zip(*(r["dead_neurons"] for r in done))]
    return {
        "runs": len(runs),
        "seeds": [runs[0]["seed"], runs[-1]["seed"]],
        "learned_nothing": [r["seed"] for r in done if r["learned_nothing"]],
        "diverged": [r["seed"] for r in runs if r.get("diverged")],
        "failed": [r["seed"] for r in runs if r.get("diverged") is False],
        "dev_loss": spread([r["dev_loss"] for r in done]),
        "mistakes": spread([r["false_positives"] + r["false_negatives"] for r in done]),
        "dead_neurons": dead or None,  # each layer's median
        "rank": {"seed": seed, "rank": rank, "of": len(done)} if ours else None,
    }


# The command line: the report's text, parsing, main() and, last, its guard.

COUNTS = ("true_positives", "false_positives", "true_negatives", "false_negatives")
REPORT = """\
device {device}, seed {seed}, {n_train} train points, a 2-{h1}-{h2}-1 network
fit: {epochs} epochs, lr {lr:g}, {loss} loss, {backprop} gradients{note}, {fit_seconds:.2f} s
evaluated on {n_dev} dev points:

dev_loss        = {dev_loss:.4f}  ({dev_loss:.10g})
true_positives  = {true_positives}
false_positives = {false_positives}
true_negatives  = {true_negatives}
false_negatives = {false_negatives}

confusion matrix   predicted inside   predicted outside
actually inside    {true_positives:>16}   {false_negatives:>17}
actually outside   {false_positives:>16}   {true_negatives:>17}
{rates}

measured against:
train_loss      = {train_loss:.4f}  (the loss on the points it trained on)
constant output = {constant_output:.4f}  (the train set's share inside, said of every \
point): dev_loss {constant_dev_loss:.4f}
always outside  = accuracy {baseline_accuracy:.2%}  (the network: {accuracy:.2%})
dead neurons    = {d1} of {h1}, {d2} of {h2}  (off for every train point)
{nothing}
misclassified dev points, with r = their distance from the origin:"""
# With cross entropy the two ways to the gradients are two different training runs.
NOTES = {
    "autograd": " (clamped, as torch's binary_cross_entropy)",
    "manual": " (exact, as binary_cross_entropy_with_logits)",
}
NOTHING = "learned nothing: it gives the same answer for every dev point\n"
LEGEND = "# network says inside  . outside  o true unit circle  X misclassified"
RATES = ("accuracy", "precision", "recall")
SAID = {"positive": "inside, actually outside", "negative": "outside, actually inside"}
ROW = (  # of a sweep, after the seed
    "dev_loss {dev_loss:.4f}  tp {true_positives}  fp {false_positives}  tn "
    "{true_negatives}  fn {false_negatives}  accuracy {accuracy:.2%}  fit "
    "{fit_seconds:.2f} s"
)
COLUMNS = (  # of the comparison
    "lr      hidden   runs  learned nothing  diverged  mistakes: median (q1 to q3)"
    "  dev_loss median  dead neurons median"
)
OOM = "out of memory|can't allocate memory"  # what too large a --samples does


def format_report(r: dict) -> str:
    """The report: the post's figures, what they are measured against, the mistakes."""
    rates = [f"{k} {r[k]:.2%}" if r[k] is not None else f"{k} n/a" for k in RATES]
    more = dict(zip(["h1", "h2", "d1", "d2"], r["hidden"] + r["dead_neurons"]))
    more["note"] = NOTES[r["backprop"]] if r["loss"] == "bce" else ""
    more["nothing"] = NOTHING * r["learned_nothing"]
    lines = REPORT.format(**r, **more, rates="   ".join(rates)).split("\n")
    for kind, said in SAID.items():
        points = r[f"false_{kind}_samples"]
        lines.append(f"false {kind} samples (predicted {said}): {len(points)}")
        for x1, x2 in points[:10]:
            lines.append(f"  ({x1:.4f}, {x2:.4f})  r = {math.hypot(x1, x2):.4f}")
        if len(points) > 10:
            lines.append(f"  ... and {len(points) - 10} more; --json lists them all")
    if "boundary" in r:
        lines += ["", "the plane from -1.5 to 1.5 in x1 (across) and x2 (up):"]
        lines += [*r["boundary"], LEGEND]
    return "\n".join(lines)


def format_row(r: dict, choice: bool = False) -> str:
    """One line of a sweep: a run's seed (and choice) and figures, or why it has none."""
    row = f"lr {r['lr']:g}  hidden {r['hidden'][0]},{r['hidden'][1]}  " * choice
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
    if rank := s["rank"]:
        of = f"{rank['rank']} of {rank['of']}"
        lines.append(f"seed {rank['seed']} ranks {of} by dev_loss (1 is the lowest)")
    return "\n".join(lines)


def format_comparison(choices: list[dict]) -> str:
    """A line per choice of lr and widths, then the best of them."""
    lines = [COLUMNS]
    for c in choices:
        s, m = c["summary"], c["summary"]["mistakes"]
        row = f"{c['lr']:<7g} {c['hidden'][0]:>3},{c['hidden'][1]:<4} {s['runs']:>4}"
        row += f"  {len(s['learned_nothing']):>15}  {len(s['diverged']):>8}  "
        if m:
            dead = ", ".join(f"{d:g}" for d in s["dead_neurons"])
            row += f"{m['median']:>8g} ({m['q1']:g} to {m['q3']:g})".ljust(29)
            row += f"{s['dev_loss']['median']:>15.4f}  {dead:>19}"
        lines.append(row)
    if scored := [c for c in choices if c["summary"]["mistakes"]]:
        medians = ("mistakes", "dev_loss")  # the fewest, then the lowest
        b = min(scored, key=lambda c: [c["summary"][k]["median"] for k in medians])
        best = f"--lr {b['lr']:g} --hidden {b['hidden'][0]},{b['hidden'][1]}"
        lines.append(f"best, by median mistakes: {best}")
    return "\n".join(lines)


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a mistake is one line: no usage, no raw newline, long words cut."""

    def error(self, message: str) -> NoReturn:
        message = "".join(c if c.isprintable() else repr(c)[1:-1] for c in message)
        message = re.sub(r"\S{41,}", lambda word: word[0][:37] + "...", message)
        self.exit(2, f"{self.prog}: error: {message[:200]}\n")

    def print_help(self, file: Any = None) -> None:  # argparse's hides a failed write
        (file or sys.stdout).write(self.format_help())


def argument(convert: Callable, good: Callable, wanted: str) -> Callable[[str], Any]:
    """An argparse type: convert(text) where that is good, else a one-line refusal."""

    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except (ValueError, RuntimeError):  # not a number, or past int()'s or torch's
            if text.strip().lstrip("+-").isdigit():  # an integer all the same
                raise argparse.ArgumentTypeError(f"{text} is out of range")
        else:
            if good(value):
                return value
        raise argparse.ArgumentTypeError(f"must be {wanted}, not {text or repr(text)}")

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
        raise argparse.ArgumentTypeError(f"no such device here: {name or repr(name)}")
    return device


def seed_of(text: str) -> int:
    """An integer that torch's generators take."""
    torch.Generator().manual_seed(int(text))
    return int(text)


def count(least: int) -> Callable:
    """An argparse type: an integer >= least."""
    return argument(int, lambda n: n >= least, f"an integer >= {least}")


a_rate = argument(float, lambda v: 0 < v < math.inf, "a finite number > 0")
a_pair = argument(  # "10,5" -> (10, 5)
    lambda text: tuple(map(int, text.split(","))),
    lambda widths: len(widths) == 2 and min(widths) > 0,
    "two widths >= 1, as 10,5",
)
a_seed = argument(seed_of, lambda _: True, "a seed")  # any that torch takes
FLAGS = [  # each flag: its type (or its choices), its default (the post's), its use
    ("--epochs", count(0), 1000, "steps of gradient descent"),
    ("--lr", a_rate, [0.5], "learning rate; several compare"),
    ("--hidden", a_pair, [(10, 5)], "H1,H2: hidden layers' widths; several compare"),
    ("--seed", a_seed, 1337, "seed of the one generator of data and weights"),
    ("--seeds", count(1), 1, "N: run seeds --seed to --seed + N - 1, all at once"),
    ("--samples", count(1), 10000, "points drawn, split 80:20 into train and dev"),
    ("--device", device_of, "auto", "cpu, cuda, cuda:N, mps, ...; auto: CUDA if any"),
    ("--backprop", ["autograd", "manual"], "autograd", "autograd's, or backprop()"),
    ("--loss", ["mse", "bce"], "mse", "squared error, or binary cross entropy"),
    ("--log-every", count(0), 0, "N: print the training loss every N epochs"),
]


def build_parser() -> ArgumentParser:
    """The command line: FLAGS, and two switches."""
    raw = argparse.RawDescriptionHelpFormatter  # the docstring, as written
    parser = ArgumentParser(description=__doc__, formatter_class=raw)
    # argparse takes a word that starts with - for a flag, unless this (private)
    # pattern calls it a negative number: widened from -5 and -.5 to -1e-3 and -inf
    parser._negative_number_matcher = re.compile(r"-(\d|\.\d|inf|nan)", re.IGNORECASE)
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


def check(parser: ArgumentParser, args: argparse.Namespace) -> None:
    """What no flag can check on its own; parser.error() for each."""
    for flag, values in [("--lr", args.lr), ("--hidden", args.hidden)]:
        if len(set(values)) < len(values):
            parser.error(f"{flag}: each value once, not {values}")
    runs = args.seeds * len(args.lr) * len(args.hidden)
    if runs > 1 and (args.boundary or args.log_every):
        flag = "--boundary" if args.boundary else "--log-every"
        parser.error(f"{flag} is for one run, not {runs}")
    if args.seed + args.seeds > 2**64:
        parser.error(
            f"--seeds {args.seeds} from --seed {args.seed} runs past torch's seeds"
        )
    try:  # the machine's memory, where the system tells it (not on Windows)
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        memory = 2**56
    for H1, H2 in args.hidden:  # the points, and one network's activations on them
        if 4 * args.samples * (4 + 2 * (H1 + H2)) + 4 * H1 * H2 > memory:
            parser.error(
                f"--samples {args.samples}, --hidden {H1},{H2}: too large for memory"
            )


def main(argv: list[str] | None = None) -> int:
    """Run as the command line asks and print the report; a mistake exits with 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    check(parser, args)
    if args.samples * min(args.seeds, 10) < 100_000:
        # Small work: a second thread saves nothing, and on a busy CPU torch's threads
        # spin waiting for each other, hundreds of times slower.
        torch.set_num_threads(1)
    choices = [(lr, hidden) for lr in args.lr for hidden in args.hidden]
    try:
        if len(choices) == 1 and args.seeds == 1:
            result = run(args, *choices[0], say=tell if args.json else out)
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


def compare(args: argparse.Namespace, choices: list[tuple]) -> None:
    """Sweep each choice of lr and widths over the seeds, with each group's rows as it
    finishes (on stderr with --json); then the summary, or the comparison of several."""
    runs: list[dict] = []
    try:
        for lr, hidden in choices:
            for rows in sweep(args, lr, hidden):
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
        first = f"seed {runs[0]['seed']}: {runs[0]['error']}"
        raise RunError(f"no run gave a result: {first}")
    summaries = []
    for lr, hidden in choices:
        if mine := [r for r in runs if (r["lr"], r["hidden"]) == (lr, list(hidden))]:
            summary = summarize(mine, args.seed)
            summaries.append({"lr": lr, "hidden": list(hidden), "summary": summary})
    if len(choices) == 1:
        result = {"runs": runs, "summary": summaries[0]["summary"]}
        text = format_summary(summaries[0]["summary"])
    else:
        result = {"runs": runs, "choices": summaries}
        text = format_comparison(summaries)
    out(dumps(result) if args.json else "\n" + text)
    if interrupted:
        raise KeyboardInterrupt


def dumps(result: dict) -> str:
    """JSON, strictly: a NaN or an infinity in a result is a bug, not a figure."""
    return json.dumps(result, allow_nan=False)


def out(text: str) -> None:
    """The output (the report, the JSON, a sweep's rows): stdout, as it comes."""
    print(text, flush=True)


def tell(text: str, end: str = "\n") -> None:
    """A line for whoever watches, on stderr: lost, not fatal, if stderr is full."""
    try:
        print(text, end=end, file=sys.stderr, flush=True)
    except BrokenPipeError:
        raise
    except OSError:
        pass


def progress(text: str) -> None:
    """On a terminal, a line on stderr that says how far a sweep is ("" clears it)."""
    if sys.stderr.isatty():
        tell(f"\r\033[K{text}", end="")


def cli(argv: list[str] | None = None) -> int:
    """main(), guarded: whatever befalls the output, whenever Ctrl-C comes, one line
    (none for a closed pipe) and an exit status."""

    def interrupt(*_: object) -> None:  # once: a second Ctrl-C cannot cut it short
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise KeyboardInterrupt

    before = signal.signal(signal.SIGINT, interrupt)
    sys.stderr = sys.stderr or open(os.devnull, "w")  # noqa: SIM115 (not to stdout)
    try:
        if sys.stdout is None:
            raise OSError(9, "stdout is closed")
        try:
            status = main(argv)
        except SystemExit as exit:  # argparse: --help, or a mistake
            status = exit.code
        sys.stdout.flush()  # a closed pipe or a full disk shows here
    except BrokenPipeError:  # whoever read stopped (| head): quietly, as SIGPIPE does
        status = 141
    except OSError as error:
        prog = os.path.basename(sys.argv[0])
        tell(f"{prog}: error: cannot write the output: {error.strerror}")
        status = 2
    except KeyboardInterrupt:
        tell("interrupted")
        status = 130  # 128 + SIGINT, as a shell says
    signal.signal(signal.SIGINT, before)  # (the script's: "interrupted", 130, at once)
    for stream in (sys.stdout, sys.stderr):  # what is left: os._exit flushes nothing
        try:
            stream.flush()
        except (OSError, AttributeError):  # a stream that cannot take it loses it
            pass
    return status


if __name__ == "__main__":
    # Leave at once, without Python's teardown: torch's takes a second, and a Ctrl-C
    # in it would end the run silently. cli() has flushed all it wrote.
    os._exit(cli())
