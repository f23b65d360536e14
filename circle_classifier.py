"""Teach a tiny neural network whether a point lies inside the unit circle.

The runnable companion to the blog post "Notes on neural networks: basic concepts".
A 2-10-5-1 network (ReLU, ReLU, sigmoid) is built from raw PyTorch tensors, with no
nn.Module and no optimizer: the forward pass is three matrix products, the loss is the
mean squared error, autograd computes the gradients, and each step of gradient descent
updates the parameters by hand. Then it reports the dev loss, the confusion matrix and
the dev points it got wrong, under the post's names, and what they are measured against:
the training loss, the best constant output, always answering "outside", dead neurons.

Run it:   python circle_classifier.py          the post's run (seed 1337, 1000 epochs)
          python circle_classifier.py --json   the same figures as one JSON object
          ... --backprop manual                gradients by the chain rule, by hand
          ... --log-every 100 --boundary       the loss as it falls; a map of the plane
          ... --seeds 100                      is the post's run typical? 100 seeds
          ... --loss bce                       the post's other loss, cross entropy
Test it:  python -m pytest
"""

import argparse
import errno
import json
import math
import os
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any, NoReturn, TextIO

try:
    import torch
except KeyboardInterrupt:  # Ctrl-C while torch loads, the longest part of a start
    if __name__ != "__main__":
        raise
    print("interrupted", file=sys.stderr)
    sys.exit(130)  # 128 + SIGINT, as a shell reports a command that Ctrl-C stopped

# The six parameters travel together, always in this order: [W1, b1, W2, b2, W3, b3].
Params = list[torch.Tensor]
# A loss: the network's outputs Y_pred (N, 1) and the labels Y (N, 1) -> a scalar.
Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def generate_datasets(
    generator: torch.Generator, samples: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Draw `samples` points in the square [-5, 5)^2, label them, split them 80:20.

    Returns X_train (n_train, 2), Y_train (n_train, 1), X_dev (n_dev, 2) and
    Y_dev (n_dev, 1); a label is 1.0 inside the unit circle and 0.0 outside.
    """
    # Drawn on the CPU from one seeded generator, in the post's order, and only then
    # moved to the device: so every device starts from the very same numbers.
    X = torch.rand(samples, 2, generator=generator) * 10 - 5  # (samples, 2)
    Y = (X[:, 0] ** 2 + X[:, 1] ** 2 < 1).float().reshape(-1, 1)  # (samples, 1)
    P = torch.rand(samples, generator=generator)  # (samples,), one draw per point
    train, dev = P < 0.8, P >= 0.8
    X_train, Y_train, X_dev, Y_dev = X[train], Y[train], X[dev], Y[dev]
    return X_train.to(device), Y_train.to(device), X_dev.to(device), Y_dev.to(device)


def init_network(generator: torch.Generator, device: torch.device) -> Params:
    """Draw the weights from a standard normal; the biases start at zero.

    Returns [W1 (2, 10), b1 (10,), W2 (10, 5), b2 (5,), W3 (5, 1), b3 (1,)]. Examples
    are rows, so a weight matrix has a row for each output of the layer before it.
    """
    W1 = torch.randn(2, 10, generator=generator)
    W2 = torch.randn(10, 5, generator=generator)
    W3 = torch.randn(5, 1, generator=generator)
    b1, b2, b3 = torch.zeros(10), torch.zeros(5), torch.zeros(1)
    # requires_grad: autograd records what is computed from them, for backward().
    return [p.to(device).requires_grad_() for p in (W1, b1, W2, b2, W3, b3)]


def forward_pass(params: Params, X: torch.Tensor) -> torch.Tensor:
    """Map points X (N, 2) to the network's belief (N, 1), in (0, 1), that each is in.

    A layer is X @ W + b: examples are rows, so each row goes through on its own.
    """
    W1, b1, W2, b2, W3, b3 = params
    H1 = torch.relu(X @ W1 + b1)  # (N, 2) @ (2, 10) -> (N, 10), + b1 on every row
    H2 = torch.relu(H1 @ W2 + b2)  # (N, 10) @ (10, 5) -> (N, 5)
    return torch.sigmoid(H2 @ W3 + b3)  # (N, 5) @ (5, 1) -> (N, 1)


def mean_squared_error(Y_pred: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    """The mean of (Y_pred - Y)^2 over the N examples of Y_pred, Y (N, 1): a scalar."""
    return ((Y_pred - Y) ** 2).mean()


def binary_cross_entropy(Y_pred: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    """The mean of -(Y log Y_pred + (1 - Y) log(1 - Y_pred)) over Y_pred, Y (N, 1).

    The post's other loss, a scalar. As in torch.nn.functional.binary_cross_entropy,
    each log is clamped at -100, so an output of exactly 0 or 1 costs 100, not infinity.
    """
    # Autograd's gradient of log at 0 is 1/0, and times the clamp's 0 that is NaN, not
    # 0: so no log sees 0. Its input is at least 1e-44 (a float32 subnormal), whose log,
    # -101.3, the clamp replaces by -100 just as it would replace log(0).
    log_p = torch.log(Y_pred.clamp(min=1e-44)).clamp(min=-100)  # (N, 1)
    log_1_minus_p = torch.log((1 - Y_pred).clamp(min=1e-44)).clamp(min=-100)  # (N, 1)
    return -(Y * log_p + (1 - Y) * log_1_minus_p).mean()


# The command line's names for the two losses.
LOSSES = {"mse": mean_squared_error, "bce": binary_cross_entropy}


def backprop(
    params: Params,
    X: torch.Tensor,
    Y: torch.Tensor,
    loss_fn: Loss = mean_squared_error,
) -> Params:
    """The gradients of loss_fn(forward_pass(params, X), Y), by hand.

    Returns [dW1 (2, 10), db1 (10,), dW2 (10, 5), db2 (5,), dW3 (5, 1), db3 (1,)] for
    X (N, 2) and Y (N, 1), as autograd would. The forward pass is Z1 = X @ W1 + b1,
    H1 = relu(Z1), Z2 = H1 @ W2 + b2, H2 = relu(Z2), Z3 = H2 @ W3 + b3 and
    Y_pred = sigmoid(Z3); dA stands for dLoss/dA, which has the shape of A. The chain
    rule takes one line a step, from the loss back to W1.
    """
    W1, b1, W2, b2, W3, b3 = params
    N = len(Y)
    if N == 0:  # no examples, nothing to learn from: autograd says zero too
        return [torch.zeros_like(p) for p in params]
    with torch.no_grad():  # no autograd: plain tensor operations, recording nothing
        # The forward pass again, keeping the activations that the chain rule needs.
        H1 = torch.relu(X @ W1 + b1)  # (N, 2) @ (2, 10) -> (N, 10)
        H2 = torch.relu(H1 @ W2 + b2)  # (N, 10) @ (10, 5) -> (N, 5)
        Y_pred = torch.sigmoid(H2 @ W3 + b3)  # (N, 5) @ (5, 1) -> (N, 1)

        if loss_fn is mean_squared_error:
            # Loss = mean((Y_pred - Y)^2): each example's share is 2 (Y_pred - Y) / N.
            dY_pred = 2 / N * (Y_pred - Y)  # (N, 1)
            # sigmoid'(Z3) = sigmoid(Z3) (1 - sigmoid(Z3)) = Y_pred (1 - Y_pred): small
            # wherever Y_pred is near 0 or 1, so a sure but wrong output learns slowly.
            dZ3 = dY_pred * (1 - Y_pred) * Y_pred  # (N, 1)
        elif loss_fn is binary_cross_entropy:
            # dLoss/dY_pred = (Y_pred - Y) / (Y_pred (1 - Y_pred) N), and sigmoid'(Z3) is
            # Y_pred (1 - Y_pred): it cancels. The exact gradient, as torch's
            # binary_cross_entropy_with_logits gives it; autograd through the clamped
            # logs gives 0 wherever float32 rounds Y_pred to exactly 0 or 1.
            dZ3 = (Y_pred - Y) / N  # (N, 1)
        else:
            raise ValueError(f"backprop knows no derivative of {loss_fn.__name__}")
        # Z3 = H2 @ W3 + b3. A weight's gradient is its input, transposed, @ dZ3 ...
        dW3 = H2.T @ dZ3  # (5, N) @ (N, 1) -> (5, 1)
        # ... and b3 was broadcast to all N rows (the post's footnote), so, run
        # backwards, its gradient is the sum of theirs.
        db3 = dZ3.sum(0)  # (N, 1) -> (1,)
        # The input's gradient goes back through the weights, transposed.
        dH2 = dZ3 @ W3.T  # (N, 1) @ (1, 5) -> (N, 5)
        # relu'(Z2) is 1 where Z2 > 0, else 0: that is sign(H2), since H2 = relu(Z2),
        # and one float operation is faster than a comparison and a conversion.
        dZ2 = dH2 * H2.sign()  # (N, 5)
        dW2 = H1.T @ dZ2  # (10, N) @ (N, 5) -> (10, 5)
        db2 = dZ2.sum(0)  # (N, 5) -> (5,)
        dH1 = dZ2 @ W2.T  # (N, 5) @ (5, 10) -> (N, 10)
        dZ1 = dH1 * H1.sign()  # (N, 10)
        dW1 = X.T @ dZ1  # (2, N) @ (N, 10) -> (2, 10)
        db1 = dZ1.sum(0)  # (N, 10) -> (10,)
    return [dW1, db1, dW2, db2, dW3, db3]


def all_finite(params: Params) -> bool:
    """Whether every entry of every parameter is finite: one read from the device."""
    with torch.no_grad():
        return bool(torch.stack([p.isfinite().all() for p in params]).all())


def fit(
    params: Params,
    X: torch.Tensor,
    Y: torch.Tensor,
    epochs: int,
    lr: float,
    manual_backprop: bool = False,
    log_every: int = 0,
    log: TextIO | None = None,
    loss_fn: Loss = mean_squared_error,
    check_every: int = 100,
) -> list[tuple[int, float]]:
    """Full-batch gradient descent on X (N, 2), Y (N, 1), updating `params` in place.

    The gradients of loss_fn come from autograd's backward(), as in the post, or with
    manual_backprop=True from backprop(). An epoch does the post's work and nothing
    more: it reads nothing back from the device, so a GPU does not wait for Python,
    but for one check every check_every epochs that each parameter is still finite: a
    run that diverges stops there, not at its last epoch. Only with log_every=k > 0 is
    the training loss read, every k epochs and at the last, and printed to `log` if
    given: fit returns those [(epoch, loss)], and stops early at one that is not finite.
    """
    history = []
    for epoch in range(1, epochs + 1):
        if manual_backprop:
            # forward and backward pass by hand; the loss itself is not needed
            grads = backprop(params, X, Y, loss_fn)
        else:
            # forward pass and loss
            loss = loss_fn(forward_pass(params, X), Y)
            # backward pass: autograd fills p.grad for every parameter
            loss.backward()
            grads = [p.grad for p in params]
        if log_every and (epoch % log_every == 0 or epoch == epochs):
            if manual_backprop:  # backprop() needs no loss, so compute one to log
                with torch.no_grad():
                    loss = loss_fn(forward_pass(params, X), Y)
            value = loss.item()  # reading it makes Python wait for the device
            history.append((epoch, value))
            if log is not None:
                line = f"epoch {epoch:>{len(str(epochs))}}  loss {value:.6f}"
                # flushed, so that each shows as it comes, through a pipe too
                print(line, file=log, flush=True)
            if not math.isfinite(value):
                break
        # update: not part of the function being differentiated, so autograd must not
        # record it (and it refuses in-place changes to a leaf that requires grad).
        with torch.no_grad():
            for p, grad in zip(params, grads):
                p -= lr * grad
                # backward() adds to .grad, so clear it for the next epoch
                p.grad = None
        if epoch % check_every == 0 and not all_finite(params):
            break
    return history


def evaluate(
    params: Params,
    X_dev: torch.Tensor,
    Y_dev: torch.Tensor,
    loss_fn: Loss = mean_squared_error,
) -> dict[str, Any]:
    """Score the network on the dev points X_dev (n_dev, 2), Y_dev (n_dev, 1).

    Returns the post's figures: dev_loss, the confusion matrix's four counts (inside
    is positive), and the misclassified points as lists of [x1, x2].
    """
    with torch.no_grad():  # nothing here is trained, so there is no graph to record
        Y_pred = forward_pass(params, X_dev)
        dev_loss = loss_fn(Y_pred, Y_dev)
        predicted = (Y_pred > 0.5).squeeze(1)  # (n_dev,) booleans
        actual = (Y_dev == 1).squeeze(1)  # (n_dev,)
        cells = [predicted & actual, predicted & ~actual, ~predicted & ~actual]
        counts = torch.stack([*cells, ~predicted & actual]).sum(1)  # (4,)
    tp, fp, tn, fn = counts.tolist()  # one read from the device for all four
    return {
        "dev_loss": dev_loss.item(),
        "true_positives": tp,
        "false_positives": fp,
        "true_negatives": tn,
        "false_negatives": fn,
        "false_positive_samples": X_dev[predicted & ~actual].tolist(),
        "false_negative_samples": X_dev[~predicted & actual].tolist(),
    }


def assess(
    params: Params,
    X_train: torch.Tensor,
    Y_train: torch.Tensor,
    X_dev: torch.Tensor,
    Y_dev: torch.Tensor,
    loss_fn: Loss = mean_squared_error,
) -> dict[str, Any]:
    """What the post's figures are measured against, computed once after training.

    X_train (n_train, 2), Y_train (n_train, 1), X_dev (n_dev, 2), Y_dev (n_dev, 1).
    Returns the training loss (beside the dev loss, it shows over-fitting), the dev loss
    of the best constant output (the training set's share of points inside, said for
    every point), the accuracy of always answering "outside", and how many neurons of
    each hidden layer are dead: off for every training point, so they learn no more.
    """
    W1, b1, W2, b2, _, _ = params
    with torch.no_grad():
        train_loss = loss_fn(forward_pass(params, X_train), Y_train)
        share_inside = Y_train.mean()  # the constant that minimises the training loss
        constant_dev_loss = loss_fn(share_inside.expand_as(Y_dev), Y_dev)
        H1 = torch.relu(X_train @ W1 + b1)  # (n_train, 10), as in forward_pass
        H2 = torch.relu(H1 @ W2 + b2)  # (n_train, 5)
        dead = [int((H == 0).all(0).sum()) for H in (H1, H2)]  # per layer
    return {
        "train_loss": train_loss.item(),
        "constant_output": share_inside.item(),
        "constant_dev_loss": constant_dev_loss.item(),
        "baseline_accuracy": (Y_dev == 0).sum().item() / len(Y_dev),
        "dead_neurons": dead,
    }


def decision_map(
    params: Params, points: list[list[float]], rows: int = 25
) -> list[str]:
    """What the network says of the square [-1.5, 1.5]^2, as `rows` lines of text.

    Each of the rows * (2 rows - 1) characters is a cell: '#' where the network says
    inside, '.' where it says outside, then 'o' on the true unit circle and 'X' on each
    of `points` ([[x1, x2], ...], say the misclassified dev points) drawn over them.
    A terminal's characters are about twice as tall as wide, so the columns are half
    as far apart as the rows, and the circle looks round.
    """
    cols = 2 * rows - 1
    dy = 3 / (rows - 1)  # rows from y = 1.5 down to y = -1.5 ...
    dx = dy / 2  # ... and columns from x = -1.5 to x = 1.5
    grid_x, grid_y = torch.meshgrid(
        torch.linspace(-1.5, 1.5, cols), torch.linspace(1.5, -1.5, rows), indexing="xy"
    )  # each (rows, cols)
    cells = torch.stack([grid_x, grid_y], dim=-1).reshape(-1, 2)  # (rows * cols, 2)
    with torch.no_grad():  # one forward pass over all the cells, on the run's device
        Y_pred = forward_pass(params, cells.to(params[0].device))  # (rows * cols, 1)
    inside = (Y_pred > 0.5).view(rows, cols).tolist()  # one read from the device
    grid = [["#" if cell else "." for cell in row] for row in inside]

    def mark(x: float, y: float, char: str) -> None:
        row, col = round((1.5 - y) / dy), round((x + 1.5) / dx)
        if 0 <= row < rows and 0 <= col < cols:
            grid[row][col] = char

    # The circle: in each row the cells nearest to where it crosses that row, and the
    # same in each column, so that the line has no gaps where it runs flat or steep.
    for y in (1.5 - k * dy for k in range(rows)):
        if abs(y) <= 1:
            mark(math.sqrt(1 - y * y), y, "o")
            mark(-math.sqrt(1 - y * y), y, "o")
    for x in (-1.5 + k * dx for k in range(cols)):
        if abs(x) <= 1:
            mark(x, math.sqrt(1 - x * x), "o")
            mark(x, -math.sqrt(1 - x * x), "o")
    for x, y in points:
        mark(x, y, "X")
    return ["".join(row) for row in grid]


def ratio(numerator: int, denominator: int) -> float | None:
    """numerator / denominator, or None where that is undefined (0 / 0)."""
    return numerator / denominator if denominator else None


def format_points(label: str, samples: list[list[float]], shown: int = 10) -> list[str]:
    """Report lines for misclassified points [[x1, x2], ...], each with its radius r."""
    lines = [f"{label}: {len(samples)}"]
    for x1, x2 in samples[:shown]:
        lines.append(f"  ({x1:.4f}, {x2:.4f})  r = {math.hypot(x1, x2):.4f}")
    if len(samples) > shown:
        lines.append(f"  ... and {len(samples) - shown} more; --json lists them all")
    return lines


# With cross entropy the two ways to the gradients are not the same training run.
GRADIENT_NOTES = {
    ("bce", "autograd"): " (clamped, as torch's binary_cross_entropy)",
    ("bce", "manual"): " (exact, as binary_cross_entropy_with_logits)",
}


def format_report(result: dict[str, Any]) -> str:
    """The report: the post's figures under its names, then what a reader asks next."""
    r = result
    dead = r["dead_neurons"]
    tp, fp = r["true_positives"], r["false_positives"]
    tn, fn = r["true_negatives"], r["false_negatives"]
    rates = [
        f"{name} {r[name]:.2%}" if r[name] is not None else f"{name} n/a"
        for name in ("accuracy", "precision", "recall")
    ]
    lines = [
        f"device {r['device']}, seed {r['seed']}, {r['n_train']} train points",
        f"fit: {r['epochs']} epochs, lr {r['lr']:g}, {r['loss']} loss, "
        + f"{r['backprop']} gradients{GRADIENT_NOTES.get((r['loss'], r['backprop']), '')}, "
        + f"{r['fit_seconds']:.2f} s",
        f"evaluated on {r['n_dev']} dev points:",
        "",
        f"dev_loss        = {r['dev_loss']:.4f}  ({r['dev_loss']:.10g})",
        f"true_positives  = {tp}",
        f"false_positives = {fp}",
        f"true_negatives  = {tn}",
        f"false_negatives = {fn}",
        "",
        "confusion matrix   predicted inside   predicted outside",
        f"actually inside    {tp:>16}   {fn:>17}",
        f"actually outside   {fp:>16}   {tn:>17}",
        "   ".join(rates),
        "",
        # The post calls the loss low and the mistakes few: against what?
        "measured against:",
        f"train_loss      = {r['train_loss']:.4f}  (the loss on the points it trained on)",
        f"constant output = {r['constant_output']:.4f}  (the train set's share inside, "
        + f"said of every point): dev_loss {r['constant_dev_loss']:.4f}",
        f"always outside  = accuracy {r['baseline_accuracy']:.2%}  (the network: "
        + f"{r['accuracy']:.2%})",
        f"dead neurons    = {dead[0]} of 10, {dead[1]} of 5  (off for every train point)",
        *(
            ["learned nothing: it gives the same answer for every dev point"]
            if r["learned_nothing"]
            else []
        ),
        "",
        # The post's point is that the mistakes lie near the circle: show how near.
        "misclassified dev points, with r = their distance from the origin:",
    ]
    lines += format_points(
        "false positive samples (predicted inside, actually outside)",
        r["false_positive_samples"],
    )
    lines += format_points(
        "false negative samples (predicted outside, actually inside)",
        r["false_negative_samples"],
    )
    if "boundary" in r:
        legend = "# network says inside  . outside  o true unit circle  X misclassified"
        lines += ["", "the plane from -1.5 to 1.5 in x1 (across) and x2 (up):"]
        lines += [*r["boundary"], legend]
    return "\n".join(lines)


def quartiles(values: list[float]) -> dict[str, float]:
    """The minimum, quartiles, median and maximum of values (at least one).

    Between two sorted values a quartile is interpolated linearly, as numpy's default.
    """
    ordered = sorted(values)

    def at(q: float) -> float:
        position = q * (len(ordered) - 1)
        low = math.floor(position)
        high = min(low + 1, len(ordered) - 1)
        return ordered[low] + (position - low) * (ordered[high] - ordered[low])

    return {
        "min": at(0),
        "q1": at(0.25),
        "median": at(0.5),
        "q3": at(0.75),
        "max": at(1),
    }


def summarize(runs: list[dict[str, Any]], seed: int) -> dict[str, Any]:
    """What a sweep's runs say together, and where the run with `seed` stands.

    A run that failed (diverged, say) is counted, and left out of the statistics.
    """
    done = [r for r in runs if "error" not in r]
    summary: dict[str, Any] = {
        "runs": len(runs),
        "seeds": [runs[0]["seed"], runs[-1]["seed"]] if runs else [],
        "learned_nothing": [r["seed"] for r in done if r["learned_nothing"]],
        "diverged": [r["seed"] for r in runs if r.get("diverged")],
        "failed": [r["seed"] for r in runs if "error" in r and not r.get("diverged")],
        "dev_loss": None,
        "mistakes": None,
        "rank": None,
    }
    if done:
        summary["dev_loss"] = quartiles([r["dev_loss"] for r in done])
        mistakes = [r["false_positives"] + r["false_negatives"] for r in done]
        summary["mistakes"] = quartiles(mistakes)
    ours = [r["dev_loss"] for r in done if r["seed"] == seed]
    if ours:  # 1 is the lowest dev loss; ties share the better rank
        rank = 1 + sum(r["dev_loss"] < ours[0] for r in done)
        summary["rank"] = {"seed": seed, "rank": rank, "of": len(done)}
    return summary


def format_row(result: dict[str, Any]) -> str:
    """One line of a sweep: a run's seed and figures, or why it has none."""
    r = result
    if "error" in r:
        return f"seed {r['seed']}  {r['error']}"
    row = f"seed {r['seed']}  dev_loss {r['dev_loss']:.4f}  "
    row += f"tp {r['true_positives']}  fp {r['false_positives']}  "
    row += f"tn {r['true_negatives']}  fn {r['false_negatives']}"
    row += f"  accuracy {r['accuracy']:.2%}  fit {r['fit_seconds']:.2f} s"
    return row + ("  learned nothing" if r["learned_nothing"] else "")


def format_summary(summary: dict[str, Any]) -> str:
    """The summary of a sweep, under its rows."""
    s = summary

    def seeds(label: str, found: list[int]) -> str:
        return f"{label}: {len(found)}" + (
            f" (seeds {', '.join(map(str, found))})" if found else ""
        )

    lines = [
        f"{s['runs']} runs, seeds {s['seeds'][0]} to {s['seeds'][1]}",
        seeds("learned nothing", s["learned_nothing"]),
        seeds("diverged", s["diverged"]),
    ]
    if s["failed"]:
        lines.append(seeds("failed", s["failed"]))
    for name, style in [("dev_loss", ".4f"), ("mistakes", "g")]:
        if s[name] is not None:
            q = s[name]
            lines.append(
                f"{name + ':':<10} min {q['min']:{style}}  q1 {q['q1']:{style}}  "
                f"median {q['median']:{style}}  q3 {q['q3']:{style}}  "
                f"max {q['max']:{style}}"
            )
    if s["rank"] is not None:
        rank = s["rank"]
        lines.append(
            f"seed {rank['seed']} ranks {rank['rank']} of {rank['of']} by dev_loss "
            "(1 is the lowest)"
        )
    return "\n".join(lines)


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a mistake costs the user one line on stderr, not the usage too."""

    def error(self, message: str) -> NoReturn:
        if len(message) > 200:  # argparse's own messages echo a value however long
            message = message[:197] + "..."
        self.exit(2, f"{self.prog}: error: {message}\n")


def shown(text: str) -> str:
    """A value as an error message names it: quoted when empty, cut when long."""
    if not text:
        return "''"
    return text if len(text) <= 40 else text[:37] + "..."


def parse_count(minimum: int) -> Callable[[str], int]:
    """An argparse type: an integer >= minimum."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(
                f"must be an integer >= {minimum}, not {shown(text)}"
            )
        return value

    return parse


def parse_samples(text: str) -> int:
    """An argparse type: a number of points >= 1 that this machine's memory can hold."""
    samples = parse_count(1)(text)
    try:  # the machine's memory, where the system tells it
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # no sysconf on Windows
        memory = 2**56
    # X, Y and P alone take 16 bytes a point: refuse at once what cannot fit (from 2**60
    # points on, torch's own size arithmetic overflows). Less may still not fit.
    if 16 * samples > memory:
        raise argparse.ArgumentTypeError(f"{shown(text)} points do not fit in memory")
    return samples


def parse_lr(text: str) -> float:
    """An argparse type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(
            f"must be a finite number > 0, not {shown(text)}"
        )
    return value


def parse_seed(text: str) -> int:
    """An argparse type: an integer that torch.Generator.manual_seed accepts."""
    try:
        torch.Generator().manual_seed(int(text))
    except (RuntimeError, ValueError):  # not an integer, or out of torch's range
        raise argparse.ArgumentTypeError(f"not a seed torch accepts: {shown(text)}")
    return int(text)


def parse_device(name: str) -> torch.device:
    """An argparse type: the --device choice, as a torch.device this machine has."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        with warnings.catch_warnings():
            # torch warns of device types it no longer computes on, such as mkldnn
            warnings.simplefilter("error")
            device = torch.device(name)
    except RuntimeError:
        raise argparse.ArgumentTypeError(f"not a device torch knows: {shown(name)}")
    except Warning:
        raise argparse.ArgumentTypeError(f"not a device torch computes on: {name}")
    if device.type == "cpu":
        return device
    # torch.cuda, torch.mps, torch.xpu, ... each know whether this machine has one.
    backend = getattr(torch, device.type, None)
    if not (hasattr(backend, "is_available") and backend.is_available()):
        raise argparse.ArgumentTypeError(f"no {device.type} device here: {shown(name)}")
    count = backend.device_count() if hasattr(backend, "device_count") else 1
    if device.index is not None and device.index >= count:
        last = f"{device.type}:{count - 1}"
        raise argparse.ArgumentTypeError(f"{name}: the last device here is {last}")
    return device


def build_parser() -> ArgumentParser:
    """The command line. Every default is the post's."""
    parser = ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add = parser.add_argument
    add(
        "--epochs",
        type=parse_count(0),
        default=1000,
        help="steps of full-batch gradient descent (default: 1000)",
    )
    add("--lr", type=parse_lr, default=0.5, help="learning rate (default: 0.5)")
    add(
        "--seed",
        type=parse_seed,
        default=1337,
        help="seed of the one generator behind data and weights (default: 1337)",
    )
    add(
        "--seeds",
        type=parse_count(1),
        default=1,
        metavar="N",
        help="run the whole experiment for the N seeds --seed, --seed + 1, ..., a line "
        "each, then summarize them (default: 1)",
    )
    add(
        "--samples",
        type=parse_samples,
        default=10000,
        help="points drawn before the 80:20 split into train and dev (default: 10000)",
    )
    add(
        "--device",
        type=parse_device,
        default="auto",
        help="auto (CUDA if there is one, else CPU), cpu, cuda, cuda:N, or another "
        "device torch knows (default: auto)",
    )
    add(
        "--backprop",
        choices=["autograd", "manual"],
        default="autograd",
        help="gradients by autograd's backward(), as in the post, or by the hand-made "
        "backprop() (default: autograd)",
    )
    add(
        "--loss",
        choices=list(LOSSES),
        default="mse",
        help="the loss trained: mse, the post's mean squared error, or bce, the binary "
        "cross entropy it names. With bce, --backprop autograd differentiates the "
        "clamped logs as torch's binary_cross_entropy does (no gradient where an "
        "output rounds to 0 or 1); --backprop manual takes the exact gradient, as "
        "binary_cross_entropy_with_logits (default: mse)",
    )
    add(
        "--log-every",
        type=parse_count(0),
        default=0,
        metavar="N",
        help="print the training loss every N epochs and at the last; 0 prints none, "
        "as in the post (default: 0)",
    )
    add(
        "--boundary",
        action="store_true",
        help="after training, draw what the network says of the plane near the circle",
    )
    add(
        "--json",
        action="store_true",
        help="print the results as one JSON object on stdout (a log goes to stderr)",
    )
    return parser


def synchronize(device: torch.device) -> None:
    """Wait for the work queued on `device`, so that a timer measures the work done."""
    if device.type != "cpu":
        getattr(torch, device.type).synchronize(device)


class RunError(Exception):
    """What the user asked for gives no meaningful report (too few samples, say)."""


class Diverged(RunError):
    """The loss stopped being finite: a run of a sweep, but no report of its own."""


def run(args: argparse.Namespace, seed: int) -> dict[str, Any]:
    """The post's steps, end to end, as the command line asks: the results by name."""
    generator = torch.Generator().manual_seed(seed)
    X_train, Y_train, X_dev, Y_dev = generate_datasets(
        generator, args.samples, args.device
    )
    if len(X_train) == 0 or len(X_dev) == 0:
        empty = "train" if len(X_train) == 0 else "dev"
        raise RunError(f"--samples {args.samples} leaves the {empty} set empty")
    params = init_network(generator, args.device)
    initial = [p.detach().clone() for p in params]  # to replay a run that diverges
    manual_backprop = args.backprop == "manual"
    loss_fn = LOSSES[args.loss]

    start = time.perf_counter()
    history = fit(
        params,
        X_train,
        Y_train,
        args.epochs,
        args.lr,
        manual_backprop,
        args.log_every,
        log=sys.stderr if args.json else sys.stdout,  # stdout is for the JSON alone
        loss_fn=loss_fn,
    )
    synchronize(args.device)
    fit_seconds = time.perf_counter() - start
    result = evaluate(params, X_dev, Y_dev, loss_fn)

    if not (math.isfinite(result["dev_loss"]) and all_finite(params)):
        # Rare, so rather than read the loss every epoch of every run, replay this one
        # reading the loss and the parameters every epoch, to name where it went wrong
        # in the words of the log: the loss an epoch logs is the one before its update.
        replay = [p.requires_grad_() for p in initial]
        steps = fit(
            replay,
            X_train,
            Y_train,
            args.epochs,
            args.lr,
            manual_backprop,
            log_every=1,
            loss_fn=loss_fn,
            check_every=1,
        )
        bad = [epoch for epoch, loss in steps if not math.isfinite(loss)]
        last = steps[-1][0] if steps else args.epochs
        if bad:
            what = f"the loss is not finite from epoch {bad[0]} on"
        elif not all_finite(replay):
            what = f"the parameters are not finite after the update of epoch {last}"
        else:
            what = f"the dev loss is not finite after the update of epoch {last}"
        raise Diverged(
            f"training diverged: {what}; try a smaller --lr than {args.lr:g}"
        )

    tp, fp = result["true_positives"], result["false_positives"]
    tn, fn = result["true_negatives"], result["false_negatives"]
    result |= assess(params, X_train, Y_train, X_dev, Y_dev, loss_fn)
    result |= {
        # the same answer for every dev point, however accurate that looks
        "learned_nothing": tp + fp == 0 or tn + fn == 0,
        "accuracy": ratio(tp + tn, len(X_dev)),
        "precision": ratio(tp, tp + fp),
        "recall": ratio(tp, tp + fn),
        "n_train": len(X_train),
        "n_dev": len(X_dev),
        "seed": seed,
        "epochs": args.epochs,
        "lr": args.lr,
        "samples": args.samples,
        "backprop": args.backprop,
        "loss": args.loss,
        "device": str(X_dev.device),
        "fit_seconds": fit_seconds,
        "loss_history": history,
    }
    if args.boundary:
        mistakes = result["false_positive_samples"] + result["false_negative_samples"]
        result["boundary"] = decision_map(params, mistakes)
    return result


def sweep(args: argparse.Namespace, rows: TextIO) -> tuple[dict[str, Any], bool]:
    """Run the whole experiment for seeds --seed, --seed + 1, ..., one after another.

    Each run is exactly the single run with its seed; a line for each goes to `rows`
    as it finishes. A run that fails (diverges, say) is a row too, and the sweep goes on.
    Returns {"runs": [...], "summary": {...}}, and whether Ctrl-C cut the sweep short.
    """
    runs, interrupted = [], False
    try:
        for seed in range(args.seed, args.seed + args.seeds):
            try:
                result = run(args, seed)
            except RunError as error:
                result = {
                    "seed": seed,
                    "error": str(error),
                    "diverged": isinstance(error, Diverged),
                }
            runs.append(result)
            print(format_row(result), file=rows, flush=True)
    except KeyboardInterrupt:  # Ctrl-C: stop, and summarize the runs finished so far
        interrupted = True
    return {"runs": runs, "summary": summarize(runs, args.seed)}, interrupted


def glue_negative_values(argv: list[str]) -> list[str]:
    """argv, with a negative number after a flag joined to it: --lr -1e-3 -> --lr=-1e-3.

    argparse takes "-1e-3" or "-inf" for a flag of its own, and would answer "expected
    one argument"; joined, the value reaches the flag's own check and its message.
    """
    glued: list[str] = []
    for word in argv:
        joinable = glued and glued[-1].startswith("--") and "=" not in glued[-1]
        if joinable and word.startswith("-") and is_number(word):
            glued[-1] += "=" + word
        else:
            glued.append(word)
    return glued


def is_number(text: str) -> bool:
    """Whether float() reads text, as it reads "-1e-3", "-inf" and "nan"."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def silence_stdout() -> None:
    """Point stdout at the null device, so that Python's last flush, at exit, cannot
    fail again on a pipe that was closed or a disk that is full."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def main(argv: list[str] | None = None) -> int:
    """Run as the command line asks and print the report; bad input exits with 2."""
    parser = build_parser()
    try:
        args = parser.parse_args(
            glue_negative_values(sys.argv[1:] if argv is None else argv)
        )
        if args.seeds > 1 and (args.boundary or args.log_every):
            flag = "--boundary" if args.boundary else "--log-every"
            parser.error(f"{flag} is for one run, not a sweep of --seeds {args.seeds}")
        last = args.seed + args.seeds - 1
        try:
            parse_seed(str(last))
        except argparse.ArgumentTypeError:
            parser.error(
                f"--seeds {args.seeds} from --seed {args.seed} runs past the "
                f"seeds torch accepts, to {last}"
            )
        if args.seeds > 1:
            results, interrupted = sweep(
                args, rows=sys.stderr if args.json else sys.stdout
            )
            if results["runs"]:
                print(
                    json.dumps(results)
                    if args.json
                    else "\n" + format_summary(results["summary"])
                )
            sys.stdout.flush()
            if interrupted:  # the summary of the runs so far is out: now say why
                raise KeyboardInterrupt
            return 0
        result = run(args, args.seed)
        print(json.dumps(result) if args.json else format_report(result))
        sys.stdout.flush()  # so that a closed pipe or a full disk shows here
    except RunError as error:
        parser.error(str(error))
    except MemoryError:  # Python's own lists of millions of misclassified points
        parser.error(f"--samples {args.samples} does not fit in memory")
    except RuntimeError as error:
        # Running out of memory is what too large a --samples does, not a bug: say it
        # plainly. Any other error is a bug, and stays loud.
        if not ("out of memory" in str(error) or "can't allocate memory" in str(error)):
            raise
        parser.error(f"--samples {args.samples} does not fit in {args.device} memory")
    except BrokenPipeError:
        # Whoever read the output stopped reading (| head): stop quietly, as a command-line
        # tool does, with the status of a process that SIGPIPE ended, 128 + 13.
        silence_stdout()
        return 141
    except OSError as error:
        if error.errno != errno.ENOSPC:
            raise
        silence_stdout()
        parser.error(f"cannot write the output: {error.strerror}")
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130  # 128 + SIGINT, as a shell reports a command that Ctrl-C stopped
    return 0


if __name__ == "__main__":
    sys.exit(main())
