"""What circle_classifier.py promises, as tests. The post's figures appear only here."""

import argparse
import contextlib
import io
import json
import math
import os
import re
import shlex
import signal
import statistics
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F

import circle_classifier as cc

CPU = torch.device("cpu")
needs_cuda = pytest.mark.skipif(
    not torch.cuda.is_available(),
    reason="no CUDA GPU: torch.cuda.is_available() is False",
)

# The figures the post prints (seed 1337, 10,000 points, 1,000 epochs, lr 0.5).
POST_COUNTS = {
    "true_positives": 45,
    "false_positives": 1,
    "true_negatives": 1965,
    "false_negatives": 4,
}
POST_FALSE_POSITIVES = [[-0.5229, -0.9005]]
POST_FALSE_NEGATIVES = [
    [-0.8656, 0.3219],
    [0.8683, 0.4416],
    [0.6218, 0.7571],
    [-0.9056, -0.2783],
]


def run_json(*argv: str) -> dict:
    """Run main() in-process with --json and return what it printed, parsed."""
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        assert cc.main([*argv, "--json"]) == 0
    return json.loads(stdout.getvalue())


def refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run main() in-process on argv, which it must refuse as a user's mistake: exit
    status 2, nothing on stdout, one line on stderr. Returns that line's message."""
    with pytest.raises(SystemExit) as exit:
        cc.main(argv)
    assert exit.value.code == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.endswith("\n")
    return err.split(": error: ", 1)[1][:-1]


def script(*argv: str) -> list[str]:
    """The command that runs the script as a reader does, with warnings as errors."""
    return [sys.executable, "-W", "error", cc.__file__, *argv]


# The subprocesses write through Python's ordinary buffers, whatever this one was given;
# the tests of the output's edges run them unbuffered too, where each write can fail.
PLAIN = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
UNBUFFERED = {**PLAIN, "PYTHONUNBUFFERED": "1"}
BUFFERING = pytest.mark.parametrize(
    "env", [PLAIN, UNBUFFERED], ids=["buffered", "unbuffered"]
)


def run_script(*argv: str, **options: Any) -> subprocess.CompletedProcess:
    """Run the script in a fresh Python process, to its end."""
    options = {"capture_output": True, "text": True, "env": PLAIN, **options}
    return subprocess.run(script(*argv), check=False, **options)


@contextlib.contextmanager
def running(*argv: str, **popen: Any) -> Iterator[subprocess.Popen]:
    """The script started in a fresh Python process, to talk to while it runs; killed
    if the test ends first (a failed assertion, say), so that nothing is left running."""
    # Ctrl-C reaches it as in a terminal, even where the tests run with SIGINT ignored
    # (as a shell's background job does, and then every process started from it)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        process = subprocess.Popen(
            script(*argv),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            **{"env": PLAIN, **popen},
        )
    finally:
        signal.signal(signal.SIGINT, previous)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()


def draw(seed: int, samples: int, device: torch.device) -> list[torch.Tensor]:
    """The data and initial parameters, drawn as the script draws them."""
    generator = torch.Generator().manual_seed(seed)
    data = cc.generate_datasets(generator, samples, device)
    return [*data, *cc.init_network(generator, device)]


def rounded(points: list[list[float]]) -> list[list[float]]:
    """The points to 4 decimals, as the post prints them."""
    return [[round(x, 4) for x in point] for point in points]


# The losses the listing can train with, each of the logit Z (N, 1) and the labels Y.
LISTING_LOSSES = {
    "mse": lambda Z, Y: torch.mean((torch.sigmoid(Z) - Y) ** 2),  # the post's
    "bce": lambda Z, Y: F.binary_cross_entropy(torch.sigmoid(Z), Y),
    "bce_with_logits": lambda Z, Y: F.binary_cross_entropy_with_logits(Z, Y),
}


def post_listing(
    seed: int = 1337,
    samples: int = 10000,
    epochs: int = 1000,
    lr: float = 0.5,
    loss: str = "mse",
    hidden: tuple[int, int] = (10, 5),
) -> dict:
    """The post's listing, written out again here in its own loop and sharing no code
    with the script: on any machine, the script must compute exactly what this does.
    `loss` swaps the post's loss for one of torch's cross entropies."""
    loss_of_logit = LISTING_LOSSES[loss]
    g = torch.Generator().manual_seed(seed)
    X = torch.rand(samples, 2, generator=g) * 10 - 5
    Y = (X[:, 0] ** 2 + X[:, 1] ** 2 < 1).float().unsqueeze(1)
    P = torch.rand(samples, generator=g)
    X_train, Y_train, X_dev, Y_dev = X[P < 0.8], Y[P < 0.8], X[P >= 0.8], Y[P >= 0.8]
    H1, H2 = hidden
    W1 = torch.randn(2, H1, generator=g, requires_grad=True)
    W2 = torch.randn(H1, H2, generator=g, requires_grad=True)
    W3 = torch.randn(H2, 1, generator=g, requires_grad=True)
    b1 = torch.zeros(H1, requires_grad=True)
    b2 = torch.zeros(H2, requires_grad=True)
    b3 = torch.zeros(1, requires_grad=True)

    def logit(X: torch.Tensor) -> torch.Tensor:
        h1 = torch.relu(X @ W1 + b1)
        h2 = torch.relu(h1 @ W2 + b2)
        return h2 @ W3 + b3  # the network's output is its sigmoid

    for _ in range(epochs):
        loss_of_logit(logit(X_train), Y_train).backward()
        with torch.no_grad():
            for p in [W1, b1, W2, b2, W3, b3]:
                p -= lr * p.grad
                p.grad.zero_()
    with torch.no_grad():
        train_loss = loss_of_logit(logit(X_train), Y_train)
        Y_pred = torch.sigmoid(logit(X_dev))
        dev_loss = loss_of_logit(logit(X_dev), Y_dev)
    said, truth = Y_pred.squeeze(1) > 0.5, Y_dev.squeeze(1) == 1
    return {
        "dev_loss": dev_loss.item(),
        "true_positives": int((said & truth).sum()),
        "false_positives": int((said & ~truth).sum()),
        "true_negatives": int((~said & ~truth).sum()),
        "false_negatives": int((~said & truth).sum()),
        "false_positive_samples": X_dev[said & ~truth].tolist(),
        "false_negative_samples": X_dev[~said & truth].tolist(),
        "n_train": len(X_train),
        "n_dev": len(X_dev),
        "train_loss": train_loss.item(),
    }


FIGURES = [*POST_COUNTS, "dev_loss", "false_positive_samples", "false_negative_samples"]


@pytest.fixture(scope="session")
def post_run() -> dict:
    """The post's run on the CPU, trained once, shared by the tests that only read it.
    Its log and map only read what the run computes: its figures are the post's."""
    return run_json("--device", "cpu", "--log-every", "100", "--boundary")


# The smoke test, and the post's own figures


def test_dev_loss_below_threshold(post_run: dict) -> None:
    assert post_run["dev_loss"] < 0.01
    assert post_run["accuracy"] >= 0.99


def test_reproduces_published_figures(post_run: dict) -> None:
    # The post's figures at the precision the post printed them: the digits past that
    # differ between machines (AVX2, AVX-512, thread counts, GPUs) and are not pinned.
    assert f"{post_run['dev_loss']:.4f}" == "0.0027"
    assert {key: post_run[key] for key in POST_COUNTS} == POST_COUNTS
    assert rounded(post_run["false_positive_samples"]) == POST_FALSE_POSITIVES
    assert rounded(post_run["false_negative_samples"]) == POST_FALSE_NEGATIVES
    assert (post_run["n_train"], post_run["n_dev"]) == (7985, 2015)


@pytest.fixture(scope="session")
def listing_run() -> dict:
    """What the post's listing computes at its settings, on this machine."""
    return post_listing()


def test_computes_bit_for_bit_what_the_posts_listing_computes(
    post_run: dict, listing_run: dict
) -> None:
    # On whatever machine this runs, every digit equals the post's own loop's here:
    # the dev loss, the training loss, the counts and the points.
    assert {key: post_run[key] for key in listing_run} == listing_run


@pytest.mark.parametrize(
    "seed, samples, epochs, lr",
    [(7, 3000, 200, 0.5), (2024, 5000, 150, 1.3), (5, 2000, 0, 0.5), (99, 500, 60, 3)],
)
def test_other_settings_follow_the_posts_listing(
    seed: int, samples: int, epochs: int, lr: float
) -> None:
    argv = ["--seed", seed, "--samples", samples, "--epochs", epochs, "--lr", lr]
    result = run_json("--device", "cpu", *map(str, argv))
    listing = post_listing(seed, samples, epochs, lr)
    assert {key: result[key] for key in listing} == listing


def test_misclassified_points_lie_near_the_circle(post_run: dict) -> None:
    points = post_run["false_positive_samples"] + post_run["false_negative_samples"]
    assert all(0.9 < (x1 * x1 + x2 * x2) ** 0.5 < 1.1 for x1, x2 in points)


# Data, parameters and the network, against the post's table


def test_draws_follow_the_posts_order() -> None:
    generator = torch.Generator().manual_seed(1337)
    X = torch.rand(10000, 2, generator=generator) * 10 - 5
    P = torch.rand(10000, generator=generator)
    weights = [
        torch.randn(*shape, generator=generator) for shape in [(2, 10), (10, 5), (5, 1)]
    ]
    X_train, _, X_dev, _, W1, _, W2, _, W3, _ = draw(1337, 10000, CPU)
    assert torch.equal(X_train, X[P < 0.8])
    assert torch.equal(X_dev, X[P >= 0.8])
    for ours, post in zip([W1, W2, W3], weights):
        assert torch.equal(ours.detach(), post)


def test_tensors_have_the_posts_shapes() -> None:
    X_train, Y_train, X_dev, Y_dev, *params = draw(1337, 10000, CPU)
    n_train, n_dev = len(X_train), len(X_dev)
    assert (X_train.shape, Y_train.shape) == ((n_train, 2), (n_train, 1))
    assert (X_dev.shape, Y_dev.shape) == ((n_dev, 2), (n_dev, 1))
    shapes = [tuple(p.shape) for p in params]
    assert shapes == [(2, 10), (10,), (10, 5), (5,), (5, 1), (1,)]
    assert all(p.requires_grad and p.dtype == torch.float32 for p in params)
    assert cc.forward_pass(params, X_dev).shape == (n_dev, 1)
    assert cc.mean_squared_error(Y_dev, Y_dev).shape == ()


def test_biases_start_at_zero() -> None:
    *_, W1, b1, W2, b2, W3, b3 = draw(1337, 10000, CPU)
    assert all(torch.equal(b, torch.zeros_like(b)) for b in (b1, b2, b3))
    assert all(W.abs().sum() > 0 for W in (W1, W2, W3))


@pytest.mark.parametrize("seed, samples", [(1337, 10000), (7, 50000)])
def test_split_is_about_80_20(seed: int, samples: int) -> None:
    X_train, _, X_dev, _, *_ = draw(seed, samples, CPU)
    assert len(X_train) + len(X_dev) == samples
    assert 0.78 < len(X_train) / samples < 0.82


def test_labels_say_inside_the_unit_circle() -> None:
    X_train, Y_train, X_dev, Y_dev, *_ = draw(1337, 10000, CPU)
    for X, Y in [(X_train, Y_train), (X_dev, Y_dev)]:
        assert X.min() >= -5 and X.max() < 5
        assert torch.equal(Y.squeeze(1), (X.norm(dim=1) < 1).float())
    assert 0 < Y_train.sum() < len(Y_train)


def rigged_network(a: float) -> list[torch.Tensor]:
    """Parameters that say "inside" exactly when x1 + a x2 > 0: the network's output is
    sigmoid(100 relu(x1 + a x2) - 1), through one neuron of each hidden layer."""
    W1 = torch.zeros(2, 10)
    W1[:, 0] = torch.tensor([1.0, a])
    W2 = torch.zeros(10, 5)
    W2[0, 0] = 1.0
    W3 = torch.zeros(5, 1)
    W3[0, 0] = 100.0
    return [W1, torch.zeros(10), W2, torch.zeros(5), W3, torch.tensor([-1.0])]


def test_evaluate_counts_by_hand() -> None:
    # Four points, one in each cell of the confusion matrix, and a network that says
    # "inside" exactly when x1 > 0.
    X = torch.tensor([[0.5, 0.0], [3.0, 0.0], [-3.0, 0.0], [-0.5, 0.0]])
    Y = torch.tensor([[1.0], [0.0], [0.0], [1.0]])
    result = cc.evaluate(rigged_network(0.0), X, Y)
    assert [result[key] for key in POST_COUNTS] == [1, 1, 1, 1]
    assert result["false_positive_samples"] == [[3.0, 0.0]]
    assert result["false_negative_samples"] == [[-0.5, 0.0]]


def test_an_output_of_exactly_one_half_says_outside() -> None:
    # With every parameter zero the output is sigmoid(0), exactly 0.5, everywhere; an
    # untrained network says so wherever both hidden layers are off, since b3 is 0.
    zero = [torch.zeros(shape) for shape in SHAPES]
    X = torch.tensor([[0.0, 0.0], [3.0, 0.0]])
    assert torch.equal(cc.forward_pass(zero, X), torch.full((2, 1), 0.5))
    result = cc.evaluate(zero, X, torch.tensor([[1.0], [0.0]]))
    assert [result[key] for key in POST_COUNTS] == [0, 0, 1, 1]
    assert result["false_negative_samples"] == [[0.0, 0.0]]
    rows = cc.decision_map(zero, [])
    assert "#" not in "".join(rows) and rows[12][24] == "."


# An independent oracle: the same network in PyTorch's own layers, loss and optimizer


@pytest.mark.parametrize(
    "dtype, rtol, points",
    # float64: only rounding differs (nn.Linear fuses the bias add), so they agree to
    # ~1e-12 (a subset of the points is enough, and quicker). float32: 300 steps on all
    # the points amplify that rounding to ~5e-5 (measured); allow 1e-3. (On a subset a
    # ReLU that the rounding switches can make that 3e-2: not a comparison of methods.)
    [(torch.float64, 1e-10, 1000), (torch.float32, 1e-3, None)],
)
def test_matches_torch_nn_and_sgd(
    dtype: torch.dtype, rtol: float, points: int | None
) -> None:
    X_train, Y_train, _, _, *start = draw(1337, 10000, CPU)
    X, Y = X_train[:points].to(dtype), Y_train[:points].to(dtype)
    params = [p.detach().to(dtype, copy=True).requires_grad_() for p in start]
    net = torch.nn.Sequential(
        torch.nn.Linear(2, 10), torch.nn.ReLU(),
        torch.nn.Linear(10, 5), torch.nn.ReLU(),
        torch.nn.Linear(5, 1), torch.nn.Sigmoid(),
    ).to(dtype)  # fmt: skip
    linears = [net[0], net[2], net[4]]
    with torch.no_grad():
        for linear, W, b in zip(linears, params[0::2], params[1::2]):
            linear.weight.copy_(
                W.T
            )  # nn.Linear stores (out, in): the post's W transposed
            linear.bias.copy_(b)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.5)
    for _ in range(300):
        optimizer.zero_grad()
        torch.nn.MSELoss()(net(X), Y).backward()
        optimizer.step()

    cc.fit(params, X, Y, epochs=300, lr=0.5)

    theirs = [t for linear in linears for t in (linear.weight.T, linear.bias)]
    for ours, oracle in zip(params, theirs):
        scale = oracle.abs().max().item()
        torch.testing.assert_close(ours, oracle, rtol=rtol, atol=rtol * scale)
    assert not torch.equal(params[0], start[0])  # it did train


# Backpropagation by hand, against autograd

SHAPES = [(2, 10), (10,), (10, 5), (5,), (5, 1), (1,)]


def random_case(seed: int, n: int, dead: str = "") -> list[torch.Tensor]:
    """X (n, 2), Y (n, 1) and six parameters, all random (biases and targets too), in
    float64 on the CPU. dead="some" kills four first-layer neurons for every example,
    dead="layer" the whole second layer."""
    generator = torch.Generator().manual_seed(seed)
    X = torch.rand(n, 2, generator=generator, dtype=torch.float64) * 10 - 5
    Y = torch.rand(n, 1, generator=generator, dtype=torch.float64)
    params = [torch.randn(s, generator=generator, dtype=torch.float64) for s in SHAPES]
    if dead == "some":
        params[1][:4] = -1000.0  # |X @ W1| stays far below 1000 for X in [-5, 5)
    if dead == "layer":
        params[3][:] = -1000.0
    return [X, Y, *params]


def autograd_gradients(
    params: list[torch.Tensor], X: torch.Tensor, Y: torch.Tensor
) -> tuple[torch.Tensor, ...]:
    """What the post's backward() would put in each p.grad."""
    params = [p.detach().requires_grad_() for p in params]
    loss = cc.mean_squared_error(cc.forward_pass(params, X), Y)
    return torch.autograd.grad(loss, params)


def assert_close_to_scale(
    ours: torch.Tensor, oracle: torch.Tensor, rtol: float
) -> None:
    """Equal to within rtol of the oracle's largest entry (exactly, when that is 0)."""
    assert ours.shape == oracle.shape and ours.dtype == oracle.dtype
    atol = rtol * oracle.abs().max().item()
    torch.testing.assert_close(ours, oracle, rtol=rtol, atol=atol)


CASES = [
    (seed, n, dead)
    for seed in range(4)
    for n, dead in [
        (1, ""),
        (2, ""),
        (37, ""),
        (1000, ""),
        (200, "some"),
        (200, "layer"),
    ]
]


@pytest.mark.parametrize(
    "dtype, rtol",
    # float64: the same operations, so equal to rounding, far inside 1e-10.
    # float32: unit roundoff u = 6e-8; a gradient sums N = 1000 examples, which can
    # lose up to N * u = 6e-5 of its largest term, so 1e-4 bounds any order of summing.
    [(torch.float64, 1e-10), (torch.float32, 1e-4)],
)
@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=needs_cuda)])
def test_backprop_equals_autograd(device: str, dtype: torch.dtype, rtol: float) -> None:
    for seed, n, dead in CASES:
        X, Y, *params = (t.to(device, dtype) for t in random_case(seed, n, dead))
        expected = autograd_gradients(params, X, Y)
        for ours, oracle in zip(cc.backprop(params, X, Y), expected):
            assert ours.device == oracle.device
            assert_close_to_scale(ours, oracle, rtol)


def test_dead_relus_get_no_gradient() -> None:
    X, Y, *params = random_case(0, 200, dead="some")
    dW1, db1, *_ = cc.backprop(params, X, Y)
    assert not dW1[:, :4].any() and not db1[:4].any()
    assert dW1[:, 4:].any()
    X, Y, *params = random_case(0, 200, dead="layer")
    dW1, db1, dW2, db2, dW3, db3 = cc.backprop(params, X, Y)
    assert not any(g.any() for g in (dW1, db1, dW2, db2, dW3))
    assert db3.item() != 0  # only the output bias still learns


def test_autograd_passes_gradcheck() -> None:
    X, Y, *params = random_case(5, 20)
    params = [p.requires_grad_() for p in params]

    def loss(*params: torch.Tensor) -> torch.Tensor:
        return cc.mean_squared_error(cc.forward_pass(list(params), X), Y)

    assert torch.autograd.gradcheck(loss, params)


def test_backprop_equals_finite_differences() -> None:
    # Independent of autograd: nudge each parameter entry both ways and watch the loss.
    X, Y, *params = random_case(6, 20)
    eps = 1e-6
    for p, grad in zip(params, cc.backprop(params, X, Y)):
        for i in range(p.numel()):
            original = p.view(-1)[i].item()
            p.view(-1)[i] = original + eps
            up = cc.mean_squared_error(cc.forward_pass(params, X), Y).item()
            p.view(-1)[i] = original - eps
            down = cc.mean_squared_error(cc.forward_pass(params, X), Y).item()
            p.view(-1)[i] = original
            assert grad.view(-1)[i].item() == pytest.approx(
                (up - down) / (2 * eps), abs=1e-7
            )


def test_backprop_of_no_examples_is_zero() -> None:
    X, Y, *params = random_case(0, 0)
    expected = autograd_gradients(params, X, Y)
    for ours, oracle in zip(cc.backprop(params, X, Y), expected):
        assert torch.equal(ours, oracle) and not ours.any()


def test_manual_backprop_reproduces_the_posts_figures(post_run: dict) -> None:
    manual = run_json("--device", "cpu", "--backprop", "manual")
    assert {key: manual[key] for key in POST_COUNTS} == POST_COUNTS
    assert manual["dev_loss"] == pytest.approx(post_run["dev_loss"], rel=1e-4)
    assert (manual["backprop"], post_run["backprop"]) == ("manual", "autograd")


@pytest.mark.parametrize("seed", ["1", "2024"])
def test_manual_backprop_agrees_with_autograd_on_other_seeds(seed: str) -> None:
    argv = ["--device", "cpu", "--seed", seed, "--epochs", "300", "--samples", "4000"]
    autograd = run_json(*argv)
    manual = run_json(*argv, "--backprop", "manual")
    assert {k: manual[k] for k in POST_COUNTS} == {k: autograd[k] for k in POST_COUNTS}
    assert manual["dev_loss"] == pytest.approx(autograd["dev_loss"], rel=1e-4)


def test_manual_backprop_trains_with_backprop(monkeypatch: pytest.MonkeyPatch) -> None:
    # On the CPU both ways give the same bits, so the figures cannot tell them apart:
    # count the calls instead.
    calls = []
    real = cc.backprop

    def counted(*args: object) -> list[torch.Tensor]:
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(cc, "backprop", counted)
    run_json("--device", "cpu", "--epochs", "7", "--samples", "300")
    assert calls == []
    manual = run_json(
        "--device", "cpu", "--epochs", "7", "--samples", "300", "--backprop", "manual"
    )
    assert len(calls) == 7 and manual["backprop"] == "manual"


# The post's other loss: binary cross entropy


def saturating_case(dtype: torch.dtype) -> list[torch.Tensor]:
    """X (300, 2), labels Y (300, 1) and parameters large enough that many outputs
    are exactly 0 or 1 in `dtype`, some of them wrong."""
    X, _, *params = random_case(7, 300)
    Y = (X.norm(dim=1, keepdim=True) < 2.5).double()
    return [t.to(dtype) for t in (X, Y, *(p * 12 for p in params))]


def test_binary_cross_entropy_equals_torchs() -> None:
    generator = torch.Generator().manual_seed(3)
    Y_pred = torch.rand(1000, 1, generator=generator)
    Y = (torch.rand(1000, 1, generator=generator) < 0.3).float()
    torch.testing.assert_close(
        cc.binary_cross_entropy(Y_pred, Y), F.binary_cross_entropy(Y_pred, Y)
    )
    # outputs of exactly 0 and 1, right and wrong: the clamp makes a wrong one cost 100
    Y_pred = torch.tensor([[0.0], [0.0], [1.0], [1.0], [0.25]])
    Y = torch.tensor([[0.0], [1.0], [0.0], [1.0], [1.0]])
    ours = cc.binary_cross_entropy(Y_pred, Y)
    torch.testing.assert_close(ours, F.binary_cross_entropy(Y_pred, Y))
    assert ours.item() == pytest.approx((100 + 100 - math.log(0.25)) / 5)


def test_binary_cross_entropy_has_finite_gradients_at_0_and_1() -> None:
    Y_pred = torch.tensor([[0.0], [0.0], [1.0], [1.0], [0.25]], requires_grad=True)
    Y = torch.tensor([[0.0], [1.0], [0.0], [1.0], [1.0]])
    cc.binary_cross_entropy(Y_pred, Y).backward()
    assert torch.isfinite(Y_pred.grad).all()
    assert Y_pred.grad[4].item() == pytest.approx(-1 / 0.25 / 5)


def bce_autograd_gradients(
    params: list[torch.Tensor], X: torch.Tensor, Y: torch.Tensor, through: str
) -> tuple[torch.Tensor, ...]:
    """Autograd's gradients of the cross entropy: through torch's loss on the logit
    ("logits"), or through cc.binary_cross_entropy on the output ("output")."""
    params = [p.detach().requires_grad_() for p in params]
    W1, b1, W2, b2, W3, b3 = params
    Z3 = torch.relu(torch.relu(X @ W1 + b1) @ W2 + b2) @ W3 + b3
    if through == "logits":
        loss = F.binary_cross_entropy_with_logits(Z3, Y)
    else:
        loss = cc.binary_cross_entropy(torch.sigmoid(Z3), Y)
    return torch.autograd.grad(loss, params)


@pytest.mark.parametrize(
    "dtype, rtol",
    # float64: the same operations up to rounding. float32: as for the squared error,
    # a sum of N = 1000 terms may lose N u = 6e-5 of its largest one.
    [(torch.float64, 1e-10), (torch.float32, 1e-4)],
)
@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=needs_cuda)])
def test_backprop_of_cross_entropy_equals_autograd_with_logits(
    device: str, dtype: torch.dtype, rtol: float
) -> None:
    cases = [random_case(seed, n, dead) for seed, n, dead in CASES]
    cases += [saturating_case(torch.float64)]
    for X, Y, *params in cases:
        X, Y, *params = (t.to(device, dtype) for t in (X, Y.round(), *params))
        ours = cc.backprop(params, X, Y, cc.cross_entropy_dA3)
        for grad, oracle in zip(ours, bce_autograd_gradients(params, X, Y, "logits")):
            assert torch.isfinite(grad).all()
            assert_close_to_scale(grad, oracle, rtol)


def test_saturated_outputs_are_there_and_only_autograd_loses_them() -> None:
    X, Y, *params = saturating_case(torch.float32)
    Y_pred = cc.forward_pass(params, X)
    saturated = (Y_pred == 0) | (Y_pred == 1)
    wrong = saturated & (Y_pred != Y)
    assert saturated.sum() > 50 and wrong.sum() > 5
    clamped = bce_autograd_gradients(params, X, Y, "output")
    exact = cc.backprop(params, X, Y, cc.cross_entropy_dA3)
    assert all(torch.isfinite(g).all() for g in (*clamped, *exact))
    # the output's bias: autograd leaves out the points that are surely wrong
    assert not torch.allclose(clamped[5], exact[5], rtol=1e-3)
    kept = ~saturated.squeeze(1)
    again = bce_autograd_gradients(params, X[kept], Y[kept], "output")
    exact_kept = cc.backprop(params, X[kept], Y[kept], cc.cross_entropy_dA3)
    for grad, oracle in zip(exact_kept, again):
        assert_close_to_scale(grad, oracle, 1e-4)


def test_backprop_of_cross_entropy_equals_autograd_through_its_output() -> None:
    # where no output is exactly 0 or 1, the clamp changes nothing
    for seed, n, dead in CASES:
        X, Y, *params = random_case(seed, n, dead)
        params = [p / 4 for p in params]  # small enough that no output saturates
        Y_pred = cc.forward_pass(params, X)
        assert ((Y_pred > 0) & (Y_pred < 1)).all()
        ours = cc.backprop(params, X, Y.round(), cc.cross_entropy_dA3)
        oracle = bce_autograd_gradients(params, X, Y.round(), "output")
        for grad, expected in zip(ours, oracle):
            assert_close_to_scale(grad, expected, 1e-10)


def rounded_figures(result: dict) -> dict:
    """The figures as the report prints them."""
    figures = {key: result[key] for key in POST_COUNTS}
    figures["dev_loss"] = f"{result['dev_loss']:.4f}"
    for key in ["false_positive_samples", "false_negative_samples"]:
        figures[key] = rounded(result[key])
    return figures


@pytest.mark.parametrize(
    "backprop, listing_loss",
    [("autograd", "bce"), ("manual", "bce_with_logits")],
)
@pytest.mark.parametrize(
    "seed, samples, epochs, lr", [(1337, 10000, 200, 0.5), (11, 4000, 300, 2.0)]
)
def test_cross_entropy_runs_as_the_posts_loop_with_torchs_loss(
    backprop: str, listing_loss: str, seed: int, samples: int, epochs: int, lr: float
) -> None:
    argv = ["--seed", seed, "--samples", samples, "--epochs", epochs, "--lr", lr]
    argv += ["--loss", "bce", "--backprop", backprop]
    result = run_json("--device", "cpu", *map(str, argv))
    listing = post_listing(seed, samples, epochs, lr, listing_loss)
    assert rounded_figures(result) == rounded_figures(listing)
    assert result["loss"] == "bce"
    if backprop == "manual":  # the same arithmetic: every digit of every point
        assert result["false_negative_samples"] == listing["false_negative_samples"]
        assert result["false_positive_samples"] == listing["false_positive_samples"]


def test_cross_entropy_trains_a_seed_the_squared_error_leaves_stuck() -> None:
    # test_a_seed_that_learns_nothing_says_so: seed 29 is stuck at these settings
    argv = ["--device", "cpu", "--seed", "29", "--epochs", "300"]
    stuck = {"false_positives": 0, "false_negatives": 60}

    def mistakes(result: dict) -> int:
        return result["false_positives"] + result["false_negatives"]

    for backprop in ["autograd", "manual"]:
        result = run_json(*argv, "--loss", "bce", "--backprop", backprop)
        assert result["learned_nothing"] is False
        assert result["true_positives"] >= 10
        assert mistakes(result) < mistakes(stuck)


def test_report_says_which_loss_and_which_gradient(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["--device", "cpu", "--epochs", "5", "--samples", "500", "--loss", "bce"]
    for backprop, note in [
        ("autograd", " (clamped, as torch's binary_cross_entropy)"),
        ("manual", " (exact, as binary_cross_entropy_with_logits)"),
    ]:
        assert cc.main([*argv, "--backprop", backprop]) == 0
        line = capsys.readouterr().out.splitlines()[1]
        assert line.startswith(f"fit: 5 epochs, lr 0.5, bce loss, {backprop} gradients")
        assert line.rsplit(", ", 1)[0].endswith(note)
    assert cc.main(argv[:-2]) == 0
    line = capsys.readouterr().out.splitlines()[1]
    assert line.startswith("fit: 5 epochs, lr 0.5, mse loss, autograd gradients, ")


def test_constant_output_is_scored_with_the_trained_loss() -> None:
    result = run_json("--device", "cpu", "--epochs", "5", "--loss", "bce")
    share = result["constant_output"]
    _, _, _, Y_dev, *_ = draw(1337, 10000, CPU)
    inside = Y_dev.sum().item()
    expected = -(inside * math.log(share) + (2015 - inside) * math.log(1 - share))
    assert result["constant_dev_loss"] == pytest.approx(expected / 2015, rel=1e-5)


def test_a_cross_entropy_sweep(capsys: pytest.CaptureFixture[str]) -> None:
    sweep = run_json(*SWEEP, "--seeds", "2", "--loss", "bce")
    assert [run["loss"] for run in sweep["runs"]] == ["bce", "bce"]
    singles = [run_json(*SWEEP[:-1], seed, "--loss", "bce") for seed in ["40", "41"]]
    assert_like_their_single_runs(sweep["runs"], singles)


# Reproducibility


def test_same_seed_same_result() -> None:
    argv = ["--device", "cpu", "--epochs", "100", "--log-every", "50", "--boundary"]
    first, again = run_json(*argv), run_json(*argv)
    assert {**again, "fit_seconds": 0} == {**first, "fit_seconds": 0}


def test_other_seed_other_data() -> None:
    assert not torch.equal(draw(1337, 100, CPU)[0][:5], draw(1338, 100, CPU)[0][:5])


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=needs_cuda)])
def test_data_and_initial_weights_do_not_depend_on_the_device(device: str) -> None:
    on_cpu = draw(1337, 10000, CPU)
    on_device = draw(1337, 10000, torch.device(device))
    for a, b in zip(on_cpu, on_device):
        assert b.device.type == device
        assert torch.equal(a.detach(), b.detach().cpu())


# The command line


def test_json_has_every_field(post_run: dict) -> None:
    integers = [
        "true_positives",
        "false_positives",
        "true_negatives",
        "false_negatives",
    ]
    integers += ["n_train", "n_dev", "seed", "epochs", "samples"]
    assert all(type(post_run[key]) is int for key in integers)
    assert all(
        type(post_run[key]) is float for key in ["dev_loss", "lr", "fit_seconds"]
    )
    for key in ["false_positive_samples", "false_negative_samples"]:
        assert all(len(point) == 2 for point in post_run[key])
    expected = {
        "seed": 1337,
        "epochs": 1000,
        "lr": 0.5,
        "samples": 10000,
        "device": "cpu",
        "backprop": "autograd",
        "accuracy": (45 + 1965) / 2015,
        "precision": 45 / 46,
        "recall": 45 / 49,
    }
    assert {key: post_run[key] for key in expected} == expected
    assert 0 < post_run["fit_seconds"] < 600


def test_flags_reach_the_run() -> None:
    result = run_json("--device", "cpu", "--epochs", "30", "--lr", "0.1", "--seed", "3",
                      "--samples", "500")  # fmt: skip
    assert (result["epochs"], result["lr"], result["seed"]) == (30, 0.1, 3)
    assert result["n_train"] + result["n_dev"] == result["samples"] == 500


def test_epochs_0_reports_the_untrained_network() -> None:
    result = run_json("--device", "cpu", "--epochs", "0")
    listing = post_listing(epochs=0)
    assert {key: result[key] for key in listing} == listing
    assert result["epochs"] == 0 and result["loss_history"] == []


def test_auto_device_prefers_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert cc.device_of("auto") == torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert cc.device_of("auto") == torch.device("cpu")


def test_report_names_the_posts_figures(capsys: pytest.CaptureFixture[str]) -> None:
    assert cc.main(["--device", "cpu", "--epochs", "20"]) == 0
    report = capsys.readouterr().out
    for name in [
        "dev_loss",
        *POST_COUNTS,
        "false positive samples",
        "confusion matrix",
    ]:
        assert name in report
    assert "device cpu" in report


def test_report_prints_the_posts_figures_in_their_places(post_run: dict) -> None:
    lines = cc.format_report(post_run).splitlines()
    assert lines[:3] == [
        "device cpu, seed 1337, 7985 train points, a 2-10-5-1 network",
        f"fit: 1000 epochs, lr 0.5, mse loss, autograd gradients, {post_run['fit_seconds']:.2f} s",
        "evaluated on 2015 dev points:",
    ]
    assert lines[4].startswith("dev_loss        = 0.0027  (0.00271")
    assert lines[5:9] == [
        "true_positives  = 45",
        "false_positives = 1",
        "true_negatives  = 1965",
        "false_negatives = 4",
    ]
    assert lines[10:14] == [
        "confusion matrix   predicted inside   predicted outside",
        "actually inside                  45                   4",
        "actually outside                  1                1965",
        "accuracy 99.75%   precision 97.83%   recall 91.84%",
    ]
    assert lines[15:21] == [
        "measured against:",
        (
            f"train_loss      = {post_run['train_loss']:.4f}  (the loss on the points "
            "it trained on)"
        ),
        (
            "constant output = 0.0293  (the train set's share inside, said of every "
            f"point): dev_loss {post_run['constant_dev_loss']:.4f}"
        ),
        "always outside  = accuracy 97.57%  (the network: 99.75%)",
        "dead neurons    = 0 of 10, 1 of 5  (off for every train point)",
        "",
    ]
    assert lines[22:29] == [
        "false positive samples (predicted inside, actually outside): 1",
        "  (-0.5229, -0.9005)  r = 1.0413",
        "false negative samples (predicted outside, actually inside): 4",
        "  (-0.8656, 0.3219)  r = 0.9235",
        "  (0.8683, 0.4416)  r = 0.9741",
        "  (0.6218, 0.7571)  r = 0.9797",
        "  (-0.9056, -0.2783)  r = 0.9474",
    ]


def test_report_rounds_what_it_measures_against(post_run: dict) -> None:
    small = {
        **post_run,
        "train_loss": 0.000123,
        "constant_output": 0.00123,
        "constant_dev_loss": 0.0123456,
        "baseline_accuracy": 0.5,
        "accuracy": 0.25,
        "dead_neurons": [3, 4],
    }
    assert cc.format_report(small).splitlines()[16:20] == [
        "train_loss      = 0.0001  (the loss on the points it trained on)",
        (
            "constant output = 0.0012  (the train set's share inside, said of every "
            "point): dev_loss 0.0123"
        ),
        "always outside  = accuracy 50.00%  (the network: 25.00%)",
        "dead neurons    = 3 of 10, 4 of 5  (off for every train point)",
    ]


def test_report_says_n_a_where_a_ratio_is_0_over_0(post_run: dict) -> None:
    nothing_inside = {
        **post_run,
        "true_positives": 0,
        "false_positives": 0,
        "precision": None,
        "recall": 0.0,
    }
    report = cc.format_report(nothing_inside)
    assert "accuracy 99.75%   precision n/a   recall 0.00%" in report.splitlines()


def test_report_shows_ten_points_of_a_kind_and_counts_the_rest(post_run: dict) -> None:
    points = [[k / 10, -k / 10] for k in range(1, 14)]
    lines = cc.format_report(
        {**post_run, "false_positive_samples": points}
    ).splitlines()
    start = lines.index(
        "false positive samples (predicted inside, actually outside): 13"
    )
    assert lines[start + 1 : start + 3] == [
        "  (0.1000, -0.1000)  r = 0.1414",
        "  (0.2000, -0.2000)  r = 0.2828",
    ]
    assert lines[start + 11] == "  ... and 3 more; --json lists them all"
    assert lines[start + 12].startswith("false negative samples")
    ten = {**post_run, "false_positive_samples": points[:10]}
    assert "more; --json lists them all" not in cc.format_report(ten)
    eleven = {**post_run, "false_positive_samples": points[:11]}
    assert "  ... and 1 more; --json lists them all" in cc.format_report(eleven)


def test_untrained_run_counts_every_mistake(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_json("--device", "cpu", "--epochs", "0")
    n_fp = result["false_positives"]
    assert n_fp > 10 and len(result["false_positive_samples"]) == n_fp
    assert cc.main(["--device", "cpu", "--epochs", "0"]) == 0
    report = capsys.readouterr().out
    assert f"actually inside, actually outside): {n_fp}\n" not in report
    assert f"(predicted inside, actually outside): {n_fp}\n" in report
    assert f"  ... and {n_fp - 10} more; --json lists them all\n" in report


def test_script_prints_the_posts_figures_as_a_subprocess() -> None:
    run = run_script("--device", "cpu")
    assert run.returncode == 0
    assert run.stderr == ""  # no warning (each would have been an error), nothing else
    assert "dev_loss        = 0.0027" in run.stdout
    for name, count in POST_COUNTS.items():
        assert f"{name:<15} = {count}\n" in run.stdout
    assert "(-0.5229, -0.9005)  r = 1.0413" in run.stdout


def first_dev_only_seed() -> int:
    """A seed whose single drawn point goes to the dev set, leaving train empty."""
    for seed in range(100):
        generator = torch.Generator().manual_seed(seed)
        torch.rand(1, 2, generator=generator)
        if torch.rand(1, generator=generator).item() >= 0.8:
            return seed
    raise AssertionError("no such seed below 100")


NO_CUDA = torch.cuda.device_count() == 0
BAD_INPUTS = [
    # (argv, the one line's message after "error: ")
    (["--device", "nonsense"], "argument --device: no such device here: nonsense"),
    # torch knows meta, but it cannot compute anything
    (["--device", "meta"], "argument --device: no such device here: meta"),
    *(
        [(["--device", "cuda"], "argument --device: no such device here: cuda")]
        if NO_CUDA
        else []
    ),
    (["--epochs", "-1"], "argument --epochs: must be an integer >= 0, not -1"),
    (["--epochs", "1.5"], "argument --epochs: must be an integer >= 0, not 1.5"),
    (["--epochs", "ten"], "argument --epochs: must be an integer >= 0, not ten"),
    (["--lr", "0"], "argument --lr: must be a finite number > 0, not 0"),
    (["--lr=-0.5"], "argument --lr: must be a finite number > 0, not -0.5"),
    (["--lr", "nan"], "argument --lr: must be a finite number > 0, not nan"),
    (["--lr", "inf"], "argument --lr: must be a finite number > 0, not inf"),
    (["--lr=-inf"], "argument --lr: must be a finite number > 0, not -inf"),
    (["--lr", "fast"], "argument --lr: must be a finite number > 0, not fast"),
    # one point cannot fill both a train and a dev set; at seed 1337 it is drawn to train
    (["--samples", "1"], "--samples 1 leaves the dev set empty"),
    (
        ["--samples", "1", "--seed", str(first_dev_only_seed())],
        "--samples 1 leaves the train set empty",
    ),
    (["--samples", "0"], "argument --samples: must be an integer >= 1, not 0"),
    (["--samples", "-5"], "argument --samples: must be an integer >= 1, not -5"),
    (["--samples", "2.5"], "argument --samples: must be an integer >= 1, not 2.5"),
    (["--seed", str(2**64)], f"argument --seed: {2**64} is out of range"),
    (["--seed", "x"], "argument --seed: must be a seed, not x"),
    (["--bogus"], "unrecognized arguments: --bogus"),
    (["--lr"], "argument --lr: expected at least one argument"),
    (["--backprop", "sideways"], "argument --backprop: invalid choice: 'sideways'"),
    (["--log-every", "-1"], "argument --log-every: must be an integer >= 0, not -1"),
    (
        ["--log-every", "often"],
        "argument --log-every: must be an integer >= 0, not often",
    ),
    (["--boundary", "yes"], "unrecognized arguments: yes"),
]


@pytest.mark.parametrize(
    "argv, message", BAD_INPUTS, ids=[" ".join(argv) for argv, _ in BAD_INPUTS]
)
def test_bad_input_exits_2_with_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert refused(["--device", "cpu", *argv], capsys).startswith(message)


def test_count_flags_take_their_smallest_value() -> None:
    # --samples 2 at seed 5 puts one point in each set; --log-every 0 logs nothing
    argv = ["--device", "cpu", "--seed", "5", "--samples", "2", "--log-every", "0"]
    result = run_json(*argv, "--epochs", "0")
    assert (result["epochs"], result["n_train"], result["n_dev"]) == (0, 1, 1)
    assert run_json(*argv, "--epochs", "3")["loss_history"] == []


def test_device_past_the_last_gpu_is_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    past = f"cuda:{torch.cuda.device_count()}"
    message = f"argument --device: no such device here: {past}"
    assert refused(["--device", past], capsys) == message


def first_bad_logged_epoch(log: str) -> int:
    """The first epoch of a training log whose loss is not finite."""
    for line in log.splitlines():
        _, epoch, _, loss = line.split()
        if not math.isfinite(float(loss)):
            return int(epoch)
    raise AssertionError(f"every logged loss is finite:\n{log}")


@pytest.mark.parametrize("backprop", ["autograd", "manual"])
def test_divergence_names_the_epoch_its_log_shows(
    backprop: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Which epoch goes bad first depends on the machine's last bits (epoch 2 on one
    # CPU, 3 on another at lr 1e30): the error must name the one its own log shows.
    argv = ["--device", "cpu", "--lr", "1e30", "--epochs", "20", "--backprop", backprop]
    with pytest.raises(SystemExit) as exit:
        cc.main([*argv, "--log-every", "1"])
    assert exit.value.code == 2
    log, err = capsys.readouterr()
    bad = first_bad_logged_epoch(log)
    assert log.splitlines()[-1].split()[:2] == ["epoch", str(bad)]  # the log stops
    message = f"training diverged by epoch {bad}; try a smaller --lr than 1e+30\n"
    assert err.endswith(f": error: {message}")
    with pytest.raises(SystemExit) as exit:  # without a log: noticed at the check
        cc.main(argv)
    assert exit.value.code == 2
    message = "training diverged by epoch 20; try a smaller --lr than 1e+30\n"
    out, err = capsys.readouterr()
    assert out == "" and err.endswith(f": error: {message}") and err.count("\n") == 1


def test_running_out_of_host_memory_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def out_of_memory(*args: object, **kwargs: object) -> None:
        raise RuntimeError(
            "DefaultCPUAllocator: can't allocate memory: you tried to "
            "allocate 800000000000 bytes."
        )

    monkeypatch.setattr(cc, "fit", out_of_memory)
    message = refused(["--device", "cpu", "--samples", "300"], capsys)
    assert message == "--samples 300 does not fit in cpu memory"


def test_any_other_runtime_error_stays_loud(monkeypatch: pytest.MonkeyPatch) -> None:
    def bug(*args: object, **kwargs: object) -> None:
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")

    monkeypatch.setattr(cc, "fit", bug)
    with pytest.raises(RuntimeError, match="shapes cannot be multiplied"):
        cc.main(["--device", "cpu", "--samples", "300"])


@pytest.mark.parametrize("device", ["hpu", "privateuseone", "mtia", "xla", "meta"])
def test_a_device_type_this_torch_cannot_serve_is_one_line(
    device: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Each fails its own way, and differently on each torch: an assertion, an operator
    # with no kernel there, a module torch 2.13 does not have (torch.hpu), or a meta
    # tensor that holds no value.
    message = f"argument --device: no such device here: {device}"
    assert refused(["--device", device], capsys) == message


def test_a_device_torch_warns_about_is_one_line_even_under_w_error() -> None:
    # newer torch warns that mkldnn is no longer a device type (with -W error, a
    # traceback); torch 2.3 does not: the same line either way
    run = run_script("--device", "mkldnn")
    assert (run.returncode, run.stdout) == (2, "")
    expected = "circle_classifier.py: error: argument --device: no such device here"
    assert run.stderr == f"{expected}: mkldnn\n"


# No traceback for anything a user does


def test_a_closed_pipe_ends_the_run_quietly() -> None:
    # as `python circle_classifier.py --log-every 1 | head -3` does
    argv = ["--device", "cpu", "--samples", "500", "--epochs", "100000", "--log-every"]
    with running(*argv, "1") as process:
        lines = [process.stdout.readline() for _ in range(3)]
        process.stdout.close()
        returncode = process.wait(timeout=300)
        err = process.stderr.read()
    assert [line.split()[:2] for line in lines] == [
        ["epoch", str(k)] for k in (1, 2, 3)
    ]
    assert (returncode, err) == (141, "")  # 128 + SIGPIPE, as the shell would report


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full here")
def test_a_full_disk_is_one_line() -> None:
    with open("/dev/full", "w") as full:
        run = subprocess.run(
            script("--device", "cpu", "--samples", "300", "--epochs", "0"),
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
    assert run.returncode == 2
    assert run.stderr == (
        "circle_classifier.py: error: cannot write the output: No space left on "
        "device\n"
    )


def test_ctrl_c_while_training_is_one_line() -> None:
    argv = ["--device", "cpu", "--samples", "500", "--epochs", "1000000"]
    with running(*argv, "--log-every", "1") as process:
        first = process.stdout.readline()
        assert first.split()[:2] == ["epoch", "1"]  # training has begun
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=300)
    assert (process.returncode, err) == (130, "interrupted\n")  # 128 + SIGINT
    assert "Traceback" not in out


def test_ctrl_c_while_torch_loads_is_one_line(tmp_path: Path) -> None:
    # A stand-in for torch that is interrupted as it loads, as Ctrl-C during the
    # second or so that importing torch takes would interrupt it.
    (tmp_path / "torch").mkdir()
    (tmp_path / "torch" / "__init__.py").write_text(
        "import os, signal\nos.kill(os.getpid(), signal.SIGINT)\n"
    )
    environment = {**PLAIN, "PYTHONPATH": str(tmp_path)}
    with running("--device", "cpu", env=environment) as process:
        out, err = process.communicate(timeout=300)
    assert (process.returncode, out, err) == (130, "", "interrupted\n")


def test_a_finished_run_leaves_without_pythons_teardown(tmp_path: Path) -> None:
    # torch's teardown takes a second, and a Ctrl-C in its late part ended a finished
    # run silently with 130: the script now leaves as soon as its output is flushed,
    # so that an exit hook (here one that interrupts it) never runs.
    (tmp_path / "sitecustomize.py").write_text(
        "import atexit, os, signal\n"
        "atexit.register(lambda: os.kill(os.getpid(), signal.SIGINT))\n"
    )
    run = run_script(*SWEEP, "--seeds", "2", env={**PLAIN, "PYTHONPATH": str(tmp_path)})
    assert (run.returncode, run.stderr) == (0, "")
    assert run.stdout.splitlines()[-1].startswith("seed 40 ranks ")  # the summary


def interrupted_at(call: int, real: Any) -> Any:
    """real, but its call-th call is interrupted, as a Ctrl-C then would interrupt it."""
    calls = []

    def interrupted(*args: Any) -> Any:
        calls.append(args)
        if len(calls) == call:
            raise KeyboardInterrupt
        return real(*args)

    return interrupted


def test_ctrl_c_in_a_sweep_first_summarizes_the_runs_so_far(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = cc.train_together
    monkeypatch.setattr(cc, "train_together", interrupted_at(2, real))
    monkeypatch.setattr(cc, "group_size", lambda *args: 2)  # groups: 40-41, 42-43, ...
    assert cc.cli([*SWEEP, "--seeds", "10"]) == 130
    out, err = capsys.readouterr()
    assert err == "interrupted\n"
    rows, summary = out.split("\n\n")
    assert len(rows.splitlines()) == 2
    assert summary.splitlines()[0] == "2 runs, seeds 40 to 41"
    monkeypatch.setattr(cc, "train_together", interrupted_at(2, real))
    assert cc.cli([*SWEEP, "--seeds", "10", "--json"]) == 130
    assert json.loads(capsys.readouterr().out)["summary"]["runs"] == 2


def test_cli_leaves_ctrl_c_as_it_found_it(capsys: pytest.CaptureFixture[str]) -> None:
    # As a script, that is the start-up guard's: a Ctrl-C while the run ends is one
    # line too, not a KeyboardInterrupt in Python's last steps.
    before = signal.getsignal(signal.SIGINT)
    assert cc.cli(["--device", "cpu", "--lr", "0"]) == 2
    assert signal.getsignal(signal.SIGINT) is before
    assert capsys.readouterr().err.count("\n") == 1


def test_ctrl_c_after_runs_that_all_failed_summarizes_them(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # --samples 1 leaves one set empty at every seed: the first group's two rows say
    # so, and Ctrl-C comes in the second. Interrupted, not "no run gave a result".
    monkeypatch.setattr(cc, "prepare", interrupted_at(3, cc.prepare))
    monkeypatch.setattr(cc, "group_size", lambda *args: 2)
    assert cc.cli(["--device", "cpu", "--samples", "1", "--seeds", "6"]) == 130
    out, err = capsys.readouterr()
    assert err == "interrupted\n"
    rows, summary = out.split("\n\n")
    assert len(rows.splitlines()) == 2 and "failed: 2" in summary


def test_ctrl_c_before_any_run_finished_prints_no_summary(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cc, "fit", interrupted)
    for argv in [[], ["--seeds", "3"]]:
        assert cc.cli(["--device", "cpu", *argv]) == 130
        assert capsys.readouterr() == ("", "interrupted\n")


def test_too_many_samples_are_refused_before_anything_runs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for samples in [2**60, 2**63, 10**30]:
        message = refused(["--device", "cpu", "--samples", str(samples)], capsys)
        expected = f"--samples {samples}, --hidden 10,5: too large for memory"
        assert message == expected


def test_running_out_of_python_memory_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # as listing millions of misclassified points under `ulimit -v` does
    def out_of_memory(*args: object) -> None:
        raise MemoryError

    monkeypatch.setattr(cc, "evaluate", out_of_memory)
    message = refused(["--device", "cpu", "--samples", "300", "--epochs", "0"], capsys)
    assert message == "--samples 300 does not fit in cpu memory"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--lr", "-1e-3"], "argument --lr: must be a finite number > 0, not -1e-3"),
        (["--lr", "-inf"], "argument --lr: must be a finite number > 0, not -inf"),
        (["--lr", "-1"], "argument --lr: must be a finite number > 0, not -1"),
        (["--lr", "-.5"], "argument --lr: must be a finite number > 0, not -.5"),
        (["--lr", "-NaN"], "argument --lr: must be a finite number > 0, not -NaN"),
        (["--lr", ""], "argument --lr: must be a finite number > 0, not ''"),
        (["--epochs", ""], "argument --epochs: must be an integer >= 0, not ''"),
        (["--seed", ""], "argument --seed: must be a seed, not ''"),
        (["--device", ""], "argument --device: no such device here: ''"),
        (["--epochs", "-2e3"], "argument --epochs: must be an integer >= 0, not -2e3"),
        (["--seed", "-5", "--epochs", "-1"], "argument --epochs: must be an integer"),
    ],
)
def test_messages_name_the_value_and_read_negative_numbers(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert refused(["--device", "cpu", *argv], capsys).startswith(message)


@pytest.mark.parametrize("flag", ["--lr", "--epochs", "--seed", "--device", "--loss"])
def test_a_long_value_is_shortened_in_its_message(
    flag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    message = refused(["--device", "cpu", flag, "7" * 100_000 + "x"], capsys)
    assert message.startswith(f"argument {flag}: ") and len(message) < 250
    assert "7777777777" in message and "7" * 38 not in message and "7..." in message


def test_a_negative_seed_is_still_a_seed() -> None:
    assert run_json("--device", "cpu", "--seed", "-5", "--epochs", "3")["seed"] == -5


def test_seed_0_is_a_seed() -> None:
    assert run_json("--device", "cpu", "--seed", "0", "--epochs", "3")["seed"] == 0


def test_divergence_stops_within_a_hundred_epochs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # 10**12 epochs would take weeks: the run must stop soon after it went bad, at
    # the next check (every 100 epochs), then replay as far to name the epoch.
    calls = []
    real = cc.forward_pass

    def counted(params: list[torch.Tensor], X: torch.Tensor) -> torch.Tensor:
        calls.append(len(X))
        assert len(calls) < 1000, "training went on long after it diverged"
        return real(params, X)

    monkeypatch.setattr(cc, "forward_pass", counted)
    with pytest.raises(SystemExit) as exit:
        cc.main(["--device", "cpu", "--lr", "1e30", "--epochs", str(10**12)])
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert "training diverged by epoch 100; " in err
    assert len(calls) <= 100 + 2


def test_fit_stops_at_the_first_check_after_a_parameter_is_not_finite() -> None:
    X, Y, _, _, *params = draw(1337, 500, CPU)
    with torch.no_grad():
        params[2][0, 0] = math.inf

    def check_every_7(epoch: int, loss: torch.Tensor) -> bool:
        return epoch % 7 == 0 and not cc.all_finite(params)

    assert cc.fit(params, X, Y, 10**12, 0.5, watch=check_every_7) == 7  # it returns
    assert not cc.all_finite(params)
    X, Y, _, _, *params = draw(1337, 500, CPU)
    assert cc.fit(params, X, Y, 30, 0.5, watch=check_every_7) == 30  # all 30 epochs
    assert cc.all_finite(params)


@pytest.mark.parametrize("epochs", [1, 2, 3, 20])
def test_the_divergence_message_agrees_with_the_log(
    epochs: int, capsys: pytest.CaptureFixture[str]
) -> None:
    # The log's loss at epoch k is the one before k's update. Where each epoch goes
    # bad is the machine's rounding (on one CPU the loss at epoch 2, on another only
    # the update of epoch 2, and after one epoch the run may still be finite): what
    # must hold is that a report is finite, and an error names the last epoch logged.
    argv = ["--device", "cpu", "--lr", "1e30", "--epochs", str(epochs)]
    try:
        status = cc.main([*argv, "--log-every", "1", "--json"])
    except SystemExit as exit:
        status = exit.code
    out, err = capsys.readouterr()
    log = [line.split() for line in err.splitlines() if line.startswith("epoch")]
    _, epoch, _, loss = log[-1]
    if status == 0:  # finite to the end: a report, with every figure finite
        assert int(epoch) == epochs and math.isfinite(float(loss))
        assert math.isfinite(json.loads(out)["train_loss"])
    else:
        assert status == 2 and out == ""
        assert int(epoch) == epochs or not math.isfinite(float(loss))
        message = f"training diverged by epoch {epoch}; try a smaller --lr than 1e+30"
        assert err.endswith(f"{message}\n")
    if epochs == 20:  # by the twentieth epoch it has diverged on every machine
        assert status == 2


# What the post's figures are measured against


def test_baselines_are_what_a_direct_computation_gives(post_run: dict) -> None:
    # A direct computation on the post's data: the share of insiders in the training
    # set, said of every dev point, and the accuracy of always answering "outside".
    _, Y_train, _, Y_dev, *_ = draw(1337, 10000, CPU)
    share = Y_train.sum().item() / len(Y_train)
    constant_loss = sum((share - y) ** 2 for y in Y_dev.squeeze(1).tolist()) / 2015
    assert post_run["constant_output"] == pytest.approx(share, rel=1e-6)
    assert post_run["constant_dev_loss"] == pytest.approx(constant_loss, rel=1e-5)
    assert post_run["baseline_accuracy"] == (1965 + 1) / 2015
    # the scale the post's "low" loss is measured against, and 2 points of accuracy
    assert f"{post_run['constant_dev_loss']:.3f}" == "0.024"
    assert f"{post_run['baseline_accuracy']:.1%}" == "97.6%"


def test_train_loss_is_the_loss_of_the_final_parameters(
    post_run: dict, listing_run: dict
) -> None:
    assert post_run["train_loss"] == listing_run["train_loss"]
    # and no sign of over-fitting at the post's settings: dev loss below train loss
    assert post_run["dev_loss"] < post_run["train_loss"]
    assert f"{post_run['train_loss']:.4f}" == "0.0040"


def test_dead_neurons_are_counted_per_layer() -> None:
    # rigged_network: one live neuron in each hidden layer, the others all zero.
    params = rigged_network(0.0)
    X = torch.tensor([[0.5, 0.0], [-3.0, 1.0], [2.0, 2.0]])
    Y = torch.tensor([[1.0], [0.0], [0.0]])
    assert cc.assess(params, (X, Y, X, Y), cc.mean_squared_error)["dead_neurons"] == [
        9,
        4,
    ]
    params[1][3] = 1.0  # neuron 4 of layer 1 is now on everywhere, but feeds nothing
    params[3][2] = -1.0  # neuron 3 of layer 2 is off everywhere: still dead
    assert cc.assess(params, (X, Y, X, Y), cc.mean_squared_error)["dead_neurons"] == [
        8,
        4,
    ]
    params[0][0, 0] = -1.0  # neuron 1 of layer 1 now off at every x1 > 0 ...
    X_right = X[X[:, 0] > 0]
    assert cc.assess(params, (X_right, Y[:2], X, Y), cc.mean_squared_error)[
        "dead_neurons"
    ] == [9, 5]


def test_dead_neurons_after_the_posts_run(post_run: dict) -> None:
    assert post_run["dead_neurons"] == [0, 1]


@pytest.mark.parametrize("seed", [2, 29])
def test_a_seed_that_learns_nothing_says_so(seed: int) -> None:
    argv = ["--device", "cpu", "--seed", str(seed), "--epochs", "300"]
    result = run_json(*argv)
    assert result["learned_nothing"] is True
    assert result["true_positives"] == result["false_positives"] == 0
    assert result["accuracy"] == result["baseline_accuracy"] > 0.96  # looks good ...
    report = cc.format_report(result)
    assert "learned nothing: it gives the same answer for every dev point\n" in report
    assert "precision n/a" in report


def test_a_seed_that_learns_says_nothing_of_the_kind(post_run: dict) -> None:
    assert post_run["learned_nothing"] is False
    assert "learned nothing" not in cc.format_report(post_run)


def test_as_many_false_as_true_positives_is_still_learning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = cc.evaluate

    def three_and_three(*args: object) -> dict:
        return {**real(*args), "true_positives": 3, "false_positives": 3}

    monkeypatch.setattr(cc, "evaluate", three_and_three)
    result = run_json("--device", "cpu", "--epochs", "0", "--samples", "300")
    assert result["learned_nothing"] is False and result["precision"] == 0.5


def test_learned_nothing_also_when_it_says_inside_everywhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def inside_everywhere(*args: object) -> list:
        params = [torch.zeros(shape) for shape in SHAPES]
        params[5] += 10.0  # b3: the output is sigmoid(10) for every point
        return [p.requires_grad_() for p in params]

    monkeypatch.setattr(cc, "init_network", inside_everywhere)
    result = run_json("--device", "cpu", "--epochs", "0", "--samples", "500")
    assert result["true_negatives"] == result["false_negatives"] == 0
    assert result["learned_nothing"] is True


# A sweep of seeds: is the post's run typical?

# Three quick runs: seed 40 learns nothing in them, 41 and 42 learn.
SWEEP = ["--device", "cpu", "--epochs", "100", "--samples", "3000", "--lr", "3"]
SWEEP += ["--seed", "40"]


def printed(run: dict) -> dict:
    """A run's figures as its report or its row prints them, and its settings: a
    stacked sweep computes them another way, so only these must be its single run's."""
    figures = {key: run[key] for key in [*POST_COUNTS, "learned_nothing"]}
    figures |= {key: run[key] for key in ["seed", "lr", "hidden", "epochs", "samples"]}
    figures |= {key: run[key] for key in ["loss", "backprop", "n_train", "n_dev"]}
    figures |= {
        "dev_loss": f"{run['dev_loss']:.4f}",
        "accuracy": f"{run['accuracy']:.2%}",
    }
    return figures | {key: rounded(run[key]) for key in FIGURES[-2:]}


def assert_like_their_single_runs(rows: list[dict], singles: list[dict]) -> None:
    """A stacked sweep's rows against their single runs: the same settings, verdicts
    and printed figures. Its sums are rounded another way, as on another CPU, so one
    row may differ at its last printed digit, and a point by the boundary fall the
    other way (seen once in thirty on a server CPU): one such row at most."""
    assert [r["seed"] for r in rows] == [s["seed"] for s in singles]
    assert [r["learned_nothing"] for r in rows] == [
        s["learned_nothing"] for s in singles
    ]
    off = [r["seed"] for r, s in zip(rows, singles) if printed(r) != printed(s)]
    assert len(off) <= 1, f"rows unlike their single runs: seeds {off}"
    for r, s in zip(rows, singles):
        assert sum(abs(r[k] - s[k]) for k in POST_COUNTS) <= 2  # a point at most
        assert r["dev_loss"] == pytest.approx(s["dev_loss"], rel=0.02, abs=1e-4)
        assert {k: r[k] for k in SETTINGS} == {k: s[k] for k in SETTINGS}


SETTINGS = ["seed", "lr", "hidden", "epochs", "samples", "loss", "backprop", "device"]


def test_each_run_of_a_sweep_is_the_single_run_with_its_seed() -> None:
    sweep = run_json(*SWEEP, "--seeds", "3")
    singles = [run_json(*SWEEP[:-1], seed) for seed in ["40", "41", "42"]]
    assert_like_their_single_runs(sweep["runs"], singles)
    assert all(set(run) == set(singles[0]) - {"loss_history"} for run in sweep["runs"])


def test_a_sweep_prints_a_row_per_run_then_the_summary(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cc.main([*SWEEP, "--seeds", "3"]) == 0
    out = capsys.readouterr().out
    rows, summary = out.split("\n\n")
    assert [row.split()[:2] for row in rows.splitlines()] == [
        ["seed", "40"],
        ["seed", "41"],
        ["seed", "42"],
    ]
    runs = run_json(*SWEEP, "--seeds", "3")["runs"]
    for row, run in zip(rows.splitlines(), runs):
        counts = [run[key] for key in POST_COUNTS]
        assert row.startswith(
            f"seed {run['seed']}  dev_loss {run['dev_loss']:.4f}  tp {counts[0]}  "
            f"fp {counts[1]}  tn {counts[2]}  fn {counts[3]}  "
            f"accuracy {run['accuracy']:.2%}  fit "
        )
    assert summary.splitlines()[:3] == [
        "3 runs, seeds 40 to 42",
        "learned nothing: 1 (seeds 40)",
        "diverged: 0",
    ]
    assert (
        summary.splitlines()[-1] == "seed 40 ranks 3 of 3 by dev_loss (1 is the lowest)"
    )
    assert rows.splitlines()[0].endswith("  learned nothing")
    assert not rows.splitlines()[1].endswith("  learned nothing")


def test_json_sweep_rows_go_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    assert cc.main([*SWEEP, "--seeds", "2", "--json"]) == 0
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert set(result) == {"runs", "summary"} and len(result["runs"]) == 2
    assert [line.split()[:2] for line in err.splitlines()] == [
        ["seed", "40"],
        ["seed", "41"],
    ]


def made_run(seed: int, dev_loss: float, mistakes: int, nothing: bool = False) -> dict:
    return {
        "seed": seed,
        "dev_loss": dev_loss,
        "false_positives": mistakes // 2,
        "false_negatives": mistakes - mistakes // 2,
        "learned_nothing": nothing,
        "dead_neurons": [seed % 3, 1],
    }


def test_summary_statistics_on_hand_made_runs() -> None:
    losses = [0.5, 0.1, 0.4, 0.3, 0.9, 0.2, 0.05]
    mistakes = [10, 3, 8, 6, 40, 4, 2]
    runs = [made_run(seed, *pair) for seed, pair in enumerate(zip(losses, mistakes))]
    runs[4]["learned_nothing"] = True
    runs.insert(2, {"seed": 99, "error": "training diverged: ...", "diverged": True})
    summary = cc.summarize(runs, seed=3)
    q1, median, q3 = statistics.quantiles(losses, n=4, method="inclusive")
    assert summary["dev_loss"] == pytest.approx(
        {"min": 0.05, "q1": q1, "median": median, "q3": q3, "max": 0.9}
    )
    assert summary["dev_loss"]["median"] == pytest.approx(0.3)
    q1, median, q3 = statistics.quantiles(mistakes, n=4, method="inclusive")
    assert summary["mistakes"] == {"min": 2, "q1": q1, "median": 6, "q3": q3, "max": 40}
    assert (summary["runs"], summary["seeds"]) == (8, [0, 6])
    assert summary["learned_nothing"] == [4] and summary["diverged"] == [99]
    # seed 3's dev loss, 0.3, is the 4th lowest of the 7 runs that finished
    assert summary["rank"] == {"seed": 3, "rank": 4, "of": 7}
    assert cc.summarize(runs, seed=6)["rank"]["rank"] == 1
    assert cc.summarize(runs, seed=99)["rank"] is None  # it diverged


def test_summary_of_an_even_number_of_runs_interpolates() -> None:
    runs = [made_run(seed, loss, 0) for seed, loss in enumerate([0.4, 0.1, 0.2, 0.3])]
    quarts = cc.summarize(runs, 0)["dev_loss"]
    assert quarts == pytest.approx(
        {"min": 0.1, "q1": 0.175, "median": 0.25, "q3": 0.325, "max": 0.4}
    )
    assert cc.summarize(runs[:1], 0)["dev_loss"] == pytest.approx(
        dict.fromkeys(["min", "q1", "median", "q3", "max"], 0.4)
    )


def test_summary_as_printed() -> None:
    runs = [made_run(7, 0.0125, 3), made_run(8, 0.5, 9, nothing=True)]
    runs.append({"seed": 9, "error": "training diverged: ...", "diverged": True})
    assert cc.format_summary(cc.summarize(runs, 7)).splitlines() == [
        "3 runs, seeds 7 to 9",
        "learned nothing: 1 (seeds 8)",
        "diverged: 1 (seeds 9)",
        "dev_loss:  min 0.0125  q1 0.1344  median 0.2562  q3 0.3781  max 0.5000",
        "mistakes:  min 3  q1 4.5  median 6  q3 7.5  max 9",
        "seed 7 ranks 1 of 2 by dev_loss (1 is the lowest)",
    ]


def test_a_run_that_diverges_is_a_row_of_the_sweep(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["--device", "cpu", "--lr", "1e30", "--epochs", "8", "--seeds", "2"]
    stable = ["--device", "cpu", "--epochs", "8", "--samples", "2000", "--seeds", "2"]
    result = run_json(*stable, "--lr", "1e30", "0.5")  # a comparison: one choice fails
    assert [run["seed"] for run in result["runs"]] == [1337, 1338] * 2
    assert all(run["diverged"] for run in result["runs"][:2])
    assert result["runs"][0]["error"] == "training diverged by epoch 8"
    assert result["choices"][0]["summary"]["diverged"] == [1337, 1338]
    assert result["choices"][0]["summary"]["rank"] is None
    assert result["choices"][1]["summary"]["diverged"] == []
    # a sweep whose every run diverged has no result, as a single such run
    with pytest.raises(SystemExit) as exit:
        cc.main(argv)
    assert exit.value.code == 2
    out, err = capsys.readouterr()
    assert out.splitlines() == ["seed 1337  training diverged by epoch 8"] + [
        "seed 1338  training diverged by epoch 8"
    ]
    assert err.endswith(
        "error: no run gave a result: seed 1337: training diverged by epoch 8\n"
    )


def test_seeds_1_prints_what_a_single_run_prints(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["--device", "cpu", "--epochs", "30", "--samples", "1000"]
    assert cc.main(argv) == 0
    single = capsys.readouterr().out.splitlines()
    assert cc.main([*argv, "--seeds", "1"]) == 0
    again = capsys.readouterr().out.splitlines()
    assert again[0] == single[0] and again[2:] == single[2:]  # [1] has the fit time


BAD_SEEDS = [
    (["--seeds", "0"], "argument --seeds: must be an integer >= 1, not 0"),
    (["--seeds=-2"], "argument --seeds: must be an integer >= 1, not -2"),
    (["--seeds", "many"], "argument --seeds: must be an integer >= 1, not many"),
    (["--seeds", "2.5"], "argument --seeds: must be an integer >= 1, not 2.5"),
    (
        ["--seed", str(2**64 - 2), "--seeds", "3"],
        f"--seeds 3 from --seed {2**64 - 2} runs past torch's seeds",
    ),
    (
        ["--seeds", "2", "--boundary"],
        "--boundary is for one run, not 2",
    ),
    (
        ["--seeds", "3", "--log-every", "5"],
        "--log-every is for one run, not 3",
    ),
]


@pytest.mark.parametrize(
    "argv, message", BAD_SEEDS, ids=[" ".join(argv) for argv, _ in BAD_SEEDS]
)
def test_bad_seeds_exit_2_with_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert refused(["--device", "cpu", *argv], capsys) == message


# The training log and the map of the decision boundary


def test_log_reads_the_loss_every_n_epochs_and_at_the_last(post_run: dict) -> None:
    epochs = [epoch for epoch, _ in post_run["loss_history"]]
    assert epochs == list(range(100, 1001, 100))
    result = run_json("--device", "cpu", "--epochs", "250", "--log-every", "100")
    assert [epoch for epoch, _ in result["loss_history"]] == [100, 200, 250]


def test_logged_loss_falls(post_run: dict) -> None:
    losses = [loss for _, loss in post_run["loss_history"]]
    assert losses[0] > losses[-1]
    assert losses == sorted(losses, reverse=True)  # and at every logged step, here


def test_log_prints_a_line_per_logged_epoch(capsys: pytest.CaptureFixture[str]) -> None:
    assert cc.main(["--device", "cpu", "--epochs", "50", "--log-every", "10"]) == 0
    lines = capsys.readouterr().out.splitlines()
    expected = [["epoch", str(epoch)] for epoch in (10, 20, 30, 40, 50)]
    assert [line.split()[:2] for line in lines[:5]] == expected
    assert all(float(line.split()[-1]) > 0 for line in lines[:5])


def test_no_log_and_no_map_unless_asked(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_json("--device", "cpu", "--epochs", "50")
    assert result["loss_history"] == [] and "boundary" not in result
    assert cc.main(["--device", "cpu", "--epochs", "50"]) == 0
    report = capsys.readouterr().out
    assert report.startswith("device cpu")
    assert "#" not in report and "epoch " not in report


def test_disabled_logging_reads_no_loss(monkeypatch: pytest.MonkeyPatch) -> None:
    X, Y, _, _, *params = draw(1337, 1000, CPU)
    reads = []
    item = torch.Tensor.item

    def counted(tensor: torch.Tensor) -> float:
        reads.append(tensor)
        return item(tensor)

    monkeypatch.setattr(torch.Tensor, "item", counted)
    for backward in (
        torch.Tensor.backward,
        cc.by_hand(params, X, Y, cc.squared_error_dA3),
    ):
        reads.clear()
        cc.fit(params, X, Y, 30, 0.5, backward=backward)
        assert reads == []
    for argv in [[], ["--backprop", "manual"]]:  # a log reads the loss it prints
        reads.clear()
        run_json("--device", "cpu", "--epochs", "30", "--samples", "1000", *argv)
        logged = len(reads)
        run_json(
            "--device",
            "cpu",
            "--epochs",
            "30",
            "--samples",
            "1000",
            *argv,
            "--log-every",
            "10",
        )
        assert len(reads) - 2 * logged == 3


def test_json_stays_one_object_with_log_and_map(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["--device", "cpu", "--epochs", "200", "--log-every", "100", "--boundary"]
    assert cc.main([*argv, "--json"]) == 0
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert [epoch for epoch, _ in result["loss_history"]] == [100, 200]
    assert err.count("\n") == 2 and err.startswith("epoch 100")
    assert len(result["boundary"]) == 25


def test_map_has_the_promised_size(post_run: dict) -> None:
    assert len(post_run["boundary"]) == 25
    assert all(len(row) == 49 for row in post_run["boundary"])
    assert set("".join(post_run["boundary"])) <= set("#.oX")


def test_map_calls_the_centre_inside_and_the_corners_outside(post_run: dict) -> None:
    rows = post_run["boundary"]
    assert rows[12][24] == "#"
    assert rows[0][0] == rows[0][-1] == rows[-1][0] == rows[-1][-1] == "."


def cell_centre(row: int, col: int) -> tuple[float, float]:
    """The point (x1, x2) at the centre of a cell of the 25-row, 49-column map."""
    return -1.5 + col * 3 / 48, 1.5 - row * 3 / 24


def cells_holding(rows: list[str], char: str) -> set[tuple[int, int]]:
    return {
        (r, c) for r, row in enumerate(rows) for c, x in enumerate(row) if x == char
    }


def test_map_draws_the_true_circle(post_run: dict) -> None:
    rows = post_run["boundary"]
    # where the circle crosses the axes: (1, 0), (-1, 0), (0, 1), (0, -1)
    assert [rows[12][40], rows[12][8], rows[4][24], rows[20][24]] == ["o"] * 4
    ring = cells_holding(rows, "o")
    assert len(ring) > 60  # enough to go round
    for r, c in ring:  # and every one of them on the circle, to within half a cell
        assert abs(math.hypot(*cell_centre(r, c)) - 1) <= 3 / 24 / 2 + 1e-6


def test_map_draws_the_circle_without_gaps() -> None:
    rows = cc.decision_map(rigged_network(2.0), [])
    ring = cells_holding(rows, "o")
    for r, c in ring:  # a closed line: each cell of it touches two others at least
        around = {(r + i, c + j) for i in (-1, 0, 1) for j in (-1, 0, 1)} - {(r, c)}
        assert len(around & ring) >= 2, (r, c)
    for r in range(4, 21):  # from y = 1 down to y = -1, on the left and on the right
        assert "o" in rows[r][:24] and "o" in rows[r][25:]


def test_map_marks_the_misclassified_points(post_run: dict) -> None:
    points = post_run["false_positive_samples"] + post_run["false_negative_samples"]
    nearest = {(round((1.5 - x2) * 8), round((x1 + 1.5) * 16)) for x1, x2 in points}
    assert cells_holding(post_run["boundary"], "X") == nearest


def test_map_draws_what_the_network_says() -> None:
    # "Inside" exactly when x1 + 2 x2 > 0: lopsided, so a map flipped or turned fails.
    rows = cc.decision_map(rigged_network(2.0), [[-0.5, 0.5]])
    assert cells_holding(rows, "X") == {(8, 16)}
    drawn = cells_holding(rows, "#") | cells_holding(rows, ".")
    assert len(drawn) > 1000
    for r, c in drawn:
        x1, x2 = cell_centre(r, c)
        assert (rows[r][c] == "#") == (x1 + 2 * x2 > 0)


def test_map_leaves_out_points_beyond_its_square() -> None:
    beyond = [[1.6, 0.0], [0.0, -1.6], [-5.0, 5.0], [-1.6, -1.6]]
    rows = cc.decision_map(rigged_network(2.0), [*beyond, [1.5, -1.5], [-1.5, 1.5]])
    assert cells_holding(rows, "X") == {(24, 48), (0, 0)}  # only the two corners


# CUDA


@needs_cuda
@pytest.mark.parametrize("backprop", ["autograd", "manual"])
def test_cuda_run_passes_the_loss_threshold(backprop: str) -> None:
    flags = ["--backprop", backprop, "--log-every", "100", "--boundary"]
    result = run_json("--device", "cuda", *flags)
    assert result["device"].startswith("cuda")
    assert result["dev_loss"] < 0.01
    assert result["accuracy"] >= 0.99
    assert result["boundary"][12][24] == "#"


@needs_cuda
@pytest.mark.parametrize("manual", [False, True])
def test_fit_never_waits_for_the_gpu(manual: bool) -> None:
    X, Y, _, _, *params = draw(1337, 10000, torch.device("cuda"))
    backward = torch.Tensor.backward
    if manual:
        backward = cc.by_hand(params, X, Y, cc.squared_error_dA3)
    cc.fit(params, X, Y, 1, 0.5, backward=backward)  # warm up: CUDA sets itself up
    with warnings.catch_warnings():
        # torch warns that its sync debug mode is a prototype: known, and not ours
        warnings.filterwarnings("ignore", message=".*prototype", category=UserWarning)
        torch.cuda.set_sync_debug_mode("error")  # any host sync now raises
        try:
            cc.fit(params, X, Y, 20, 0.5, backward=backward)
        finally:
            torch.cuda.set_sync_debug_mode("default")


@needs_cuda
def test_a_stacked_fit_waits_for_the_gpu_once_in_a_hundred_epochs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    args = argparse.Namespace(samples=3000, device=torch.device("cuda"))
    runs = [cc.prepare(seed, args, (10, 5)) for seed in (1, 2, 3)]
    real, epochs = cc.fit, []

    def checked(*fit_args: Any) -> int:
        watch = fit_args[-1]

        def strict(epoch: int, loss: torch.Tensor) -> bool:
            epochs.append(epoch)
            torch.cuda.set_sync_debug_mode("default" if epoch % 100 == 0 else "error")
            try:
                return watch(epoch, loss)
            finally:
                torch.cuda.set_sync_debug_mode("error")

        torch.cuda.set_sync_debug_mode("error")
        try:
            return real(*fit_args[:-1], strict)
        finally:
            torch.cuda.set_sync_debug_mode("default")

    monkeypatch.setattr(cc, "fit", checked)
    args = argparse.Namespace(loss="mse", backprop="autograd", epochs=120)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*prototype", category=UserWarning)
        cc.train_together(runs, args, 0.5)
    assert epochs == list(range(1, 121))


# Right results at the edges of divergence, whichever goes first: loss or parameters

TINY = ["--device", "cpu", "--samples", "40", "--seed", "1"]


def test_a_run_whose_training_loss_is_not_finite_diverged(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # at this rate the dev loss stays finite while the training loss is NaN
    message = refused([*TINY, "--lr", "3e14", "--epochs", "1", "--json"], capsys)
    assert message == "training diverged by epoch 1; try a smaller --lr than 3e+14"


@pytest.mark.parametrize("epochs", ["2", "150"])
def test_a_log_never_changes_whether_a_run_diverged(
    epochs: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [*TINY, "--lr", "3e14", "--epochs", epochs]
    with pytest.raises(SystemExit) as exit:
        cc.main([*argv, "--log-every", "1"])
    assert exit.value.code == 2
    log = capsys.readouterr().out
    refused(argv, capsys)  # without the log too
    assert "nan" in log.splitlines()[-1]


def test_divergence_by_the_loss_first_is_named_as_the_log_shows(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = cc.init_network

    def nan_in_W3(*args: Any) -> list[torch.Tensor]:  # the loss is NaN from epoch 1
        params = real(*args)
        params[4].data[0, 0] = math.nan
        return params

    monkeypatch.setattr(cc, "init_network", nan_in_W3)
    argv = ["--device", "cpu", "--samples", "500", "--epochs", "250"]
    with pytest.raises(SystemExit):
        cc.main([*argv, "--log-every", "1"])
    log, err = capsys.readouterr()
    assert log.splitlines() == ["epoch   1  loss nan"]
    assert err.endswith("training diverged by epoch 1; try a smaller --lr than 0.5\n")
    message = refused(argv, capsys)  # no log: noticed at the check of epoch 100
    assert message == "training diverged by epoch 100; try a smaller --lr than 0.5"


def test_divergence_by_the_parameters_first_is_named_as_the_log_shows(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real, calls = cc.backprop, []

    def infinite_at_the_second(*args: Any) -> list[torch.Tensor]:
        calls.append(1)
        grads = real(*args)
        if len(calls) == 2:  # epoch 2's loss is finite; its update makes W1 infinite
            grads[0][0, 0] = -math.inf
        return grads

    monkeypatch.setattr(cc, "backprop", infinite_at_the_second)
    argv = ["--device", "cpu", "--samples", "500", "--epochs", "250"]
    argv += ["--backprop", "manual"]
    with pytest.raises(SystemExit):
        cc.main([*argv, "--log-every", "1"])
    log, err = capsys.readouterr()
    assert math.isfinite(float(log.splitlines()[1].split()[-1]))  # epoch 2: finite
    _, last, _, loss = log.splitlines()[-1].split()  # the log stops where it went bad
    assert int(last) > 2 and loss == "nan"
    assert err.endswith(
        f"training diverged by epoch {last}; try a smaller --lr than 0.5\n"
    )
    calls.clear()
    message = refused(argv, capsys)  # no log: noticed at the check of epoch 100
    assert message == "training diverged by epoch 100; try a smaller --lr than 0.5"


def test_a_sweep_with_no_result_exits_as_its_single_run(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit:
        cc.main(["--device", "cpu", "--samples", "1", "--seeds", "3"])
    assert exit.value.code == 2
    out, err = capsys.readouterr()
    assert out.splitlines()[0] == "seed 1337  --samples 1 leaves the dev set empty"
    assert err.endswith(
        "no run gave a result: seed 1337: --samples 1 leaves the dev set empty\n"
    )


def test_a_failed_run_of_a_sweep_is_counted_as_failed_not_diverged(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = run_json(
        "--device", "cpu", "--samples", "5", "--seeds", "6", "--epochs", "3"
    )
    failed = [r["seed"] for r in result["runs"] if "error" in r]
    assert failed and len(failed) < 6  # some seeds leave a set empty, the sweep goes on
    assert result["summary"]["failed"] == failed and result["summary"]["diverged"] == []
    assert (
        cc.main(["--device", "cpu", "--samples", "5", "--seeds", "6", "--epochs", "3"])
        == 0
    )
    out = capsys.readouterr().out
    assert f"failed: {len(failed)} (seeds {', '.join(map(str, failed))})" in out


def test_small_runs_train_on_one_thread() -> None:
    # on a busy CPU, torch's threads spin waiting for each other: hundreds of times
    # slower. At the post's size a second thread saves nothing (see the README).
    torch.set_num_threads(2)
    run_json("--device", "cpu", "--epochs", "1")
    assert torch.get_num_threads() == 1


def test_the_fit_time_is_in_a_sweeps_rows(capsys: pytest.CaptureFixture[str]) -> None:
    assert cc.main([*SWEEP, "--seeds", "2"]) == 0
    rows = capsys.readouterr().out.split("\n\n")[0].splitlines()
    assert all(re.search(r"  fit \d+\.\d\d s", row) for row in rows)


def test_a_tie_in_dev_loss_shares_the_better_rank() -> None:
    runs = [made_run(seed, loss, 1) for seed, loss in enumerate([0.2, 0.1, 0.1, 0.3])]
    assert cc.summarize(runs, 2)["rank"] == {"seed": 2, "rank": 1, "of": 4}
    assert cc.summarize(runs, 3)["rank"]["rank"] == 4


def test_a_cross_entropy_log_logs_the_cross_entropy() -> None:
    argv = ["--device", "cpu", "--epochs", "20", "--samples", "500", "--loss", "bce"]
    result = run_json(*argv, "--backprop", "manual", "--log-every", "20")
    listing = post_listing(1337, 500, 19, 0.5, "bce_with_logits")  # before epoch 20
    assert result["loss_history"][0][1] == pytest.approx(
        listing["train_loss"], rel=1e-5
    )


# The output's edges: closed and full streams, signals, odd values


def shell(command: str, **options: Any) -> subprocess.CompletedProcess:
    """A bash command line, as a person types it; SCRIPT stands for the script."""
    command = command.replace("SCRIPT", f"{shlex.quote(sys.executable)} -W error "
                              f"{shlex.quote(cc.__file__)}")  # fmt: skip
    options = {"capture_output": True, "text": True, "env": PLAIN, **options}
    return subprocess.run(
        ["bash", "-o", "pipefail", "-c", command], check=False, **options
    )


SMALL = "--device cpu --epochs 5 --samples 500"


@BUFFERING
@pytest.mark.parametrize("redirect", [">&-", "1</dev/null"])  # closed; read-only
def test_stdout_closed_or_unwritable_is_one_line(redirect: str, env: dict) -> None:
    for argv in ["", "--json", "--seeds 2"]:
        run = shell(f"SCRIPT {SMALL} {argv} {redirect}", env=env)
        assert run.returncode == 2 and run.stderr.count("\n") == 1
        assert run.stderr.startswith(
            "circle_classifier.py: error: cannot write the output"
        )


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full here")
@BUFFERING  # unbuffered, argparse's own print_help() would hide the failed write
def test_help_to_a_full_disk_or_a_closed_pipe(env: dict) -> None:
    run = shell("SCRIPT -h > /dev/full", env=env)
    message = "circle_classifier.py: error: cannot write the output: No space left"
    assert run.returncode == 2 and run.stderr == message + " on device\n"
    run = shell("SCRIPT -h | true", env=env)
    assert (run.returncode, run.stderr) == (141, "")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full here")
@BUFFERING
@pytest.mark.parametrize("redirect", ["2>/dev/full", "2>&-"])
def test_a_full_or_closed_stderr_leaves_the_json_whole(
    redirect: str, env: dict
) -> None:
    run = shell(f"SCRIPT {SMALL} --seeds 3 --json {redirect}", env=env)
    assert run.returncode == 0 and len(json.loads(run.stdout)["runs"]) == 3
    run = shell(f"SCRIPT {SMALL} --lr 0 {redirect}", env=env)  # nothing to say it on
    assert (run.returncode, run.stdout) == (2, "")


@BUFFERING
def test_a_file_size_limit_is_one_line(tmp_path: Path, env: dict) -> None:
    run = shell(
        "ulimit -f 1; SCRIPT --epochs 1 --boundary > big", cwd=tmp_path, env=env
    )
    message = "circle_classifier.py: error: cannot write the output: File too large\n"
    assert (run.returncode, run.stderr) == (2, message)


@BUFFERING
def test_a_pipe_closed_on_the_rows_or_the_log_ends_quietly(env: dict) -> None:
    # More than a pipe holds (64 KiB), so that the script still writes when head stops
    for argv, lines in [
        ("--seeds 1000 --samples 50 --epochs 1 --json", 1),  # 1000 rows, on stderr
        ("--samples 500 --epochs 5000 --log-every 1 --json", 2),  # 5000 lines of log
    ]:
        run = shell(f"SCRIPT --device cpu {argv} 2>&1 | head -n {lines}", env=env)
        assert run.returncode == 141 and len(run.stdout.splitlines()) == lines


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--lr", "1\n2"], "argument --lr: must be a finite number > 0, not 1\\n2"),
        (["--", "-5"], "unrecognized arguments: -- -5"),
        (["--", "--lr", "-5"], "unrecognized arguments: -- --lr -5"),  # as typed
        (["--seed", "-0x10"], "argument --seed: must be a seed, not -0x10"),
        (
            ["--epochs", "9" * 5000],
            f"argument --epochs: {'9' * 37}... is out of range",
        ),
        (
            ["--hidden", "0,5"],
            "argument --hidden: must be two widths >= 1, as 10,5, not 0,5",
        ),
        (
            ["--hidden", "10"],
            "argument --hidden: must be two widths >= 1, as 10,5, not 10",
        ),
        (["--hidden", "10,5,3"], "argument --hidden: must be two widths >= 1"),
        (["--hidden", "a,b"], "argument --hidden: must be two widths >= 1"),
        (["--hidden", "10,,5"], "argument --hidden: must be two widths >= 1"),
        (
            ["--hidden", "10,5", "10,5"],
            "--hidden: each value once, not [(10, 5), (10, 5)]",
        ),
        (["--lr", "0.5", "0.5"], "--lr: each value once, not [0.5, 0.5]"),
        (
            ["--hidden", "999999999,999999999"],  # no machine's memory holds W2
            "--samples 10000, --hidden 999999999,999999999: too large",
        ),
    ],
)
def test_odd_values_are_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert refused(["--device", "cpu", *argv], capsys).startswith(message)


# Every seed at once: a sweep trains its networks as one stacked program


def test_a_seeds_row_does_not_depend_on_its_neighbours() -> None:
    # the same seed beside others whose train sets are longer or shorter
    small = ["--device", "cpu", "--epochs", "150", "--samples", "2000", "--lr", "2"]
    rows, alone = [], run_json(*small, "--seed", "5")
    for first, seeds in [("3", "4"), ("5", "3"), ("4", "2")]:
        sweep = run_json(*small, "--seed", first, "--seeds", seeds)
        rows += [r for r in sweep["runs"] if r["seed"] == 5]
    assert_like_their_single_runs(rows, [alone] * 3)


def test_a_diverging_network_leaves_the_others_unchanged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    small = ["--device", "cpu", "--epochs", "150", "--samples", "2000", "--seeds", "3"]
    clean = run_json(*small)["runs"]
    real = cc.prepare

    def poisoned(seed: int, *args: Any) -> tuple:
        data, params = real(seed, *args)
        if seed == 1338:  # its first weight NaN: NaN from its first epoch
            params[0].data[0, 0] = math.nan
        return data, params

    monkeypatch.setattr(cc, "prepare", poisoned)
    runs = run_json(*small)["runs"]
    assert runs[1]["diverged"] and runs[1]["error"] == "training diverged by epoch 100"
    for a, b in [(runs[0], clean[0]), (runs[2], clean[2])]:
        assert printed(a) == printed(b)


def test_a_sweep_whose_every_run_diverges_stops_within_a_hundred_epochs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls, real, prepare = [], cc.forward_pass, cc.prepare

    def counted(params: list[torch.Tensor], X: torch.Tensor) -> torch.Tensor:
        calls.append(1)
        assert len(calls) < 1000, "the stack trained on long after every run diverged"
        return real(params, X)

    def poisoned(*args: Any) -> tuple:  # every run NaN from its first epoch
        data, params = prepare(*args)
        params[4].data[0, 0] = math.nan
        return data, params

    monkeypatch.setattr(cc, "forward_pass", counted)
    monkeypatch.setattr(cc, "prepare", poisoned)
    argv = ["--device", "cpu", "--epochs", str(10**12), "--seeds", "3"]
    with pytest.raises(SystemExit):
        cc.main([*argv, "--samples", "500"])
    rows = capsys.readouterr().out.splitlines()
    assert rows == [
        f"seed {s}  training diverged by epoch 100" for s in (1337, 1338, 1339)
    ]


def test_small_groups_give_the_rows_of_one_group(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    argv = [*SWEEP, "--seeds", "5"]
    together = run_json(*argv)["runs"]
    monkeypatch.setattr(cc, "group_size", lambda *args: 2)
    apart = run_json(*argv)["runs"]
    assert_like_their_single_runs(apart, together)


def test_manual_backprop_and_cross_entropy_work_in_a_sweep() -> None:
    for extra in [
        ["--backprop", "manual"],
        ["--loss", "bce"],
        ["--loss", "bce", "--backprop", "manual"],
    ]:
        sweep = run_json(*SWEEP, "--seeds", "2", *extra)
        singles = [run_json(*SWEEP[:-1], seed, *extra) for seed in ["40", "41"]]
        assert_like_their_single_runs(sweep["runs"], singles)


@pytest.mark.parametrize("loss", ["mse", "bce"])
@pytest.mark.parametrize("backprop", ["autograd", "manual"])
def test_a_stack_trains_each_network_as_it_trains_alone(
    loss: str, backprop: str
) -> None:
    # In float64, where the other way of rounding is far below what 40 epochs can
    # amplify: train sets of different lengths (so, padding), each network its own.
    args = argparse.Namespace(samples=300, device=CPU, loss=loss, backprop=backprop)
    runs = [cc.prepare(seed, args, (6, 4)) for seed in (1, 2, 3)]
    assert len({len(data[0]) for data, _ in runs}) == 3
    runs = [
        (tuple(d.double() for d in data), [p.detach().double() for p in params])
        for data, params in runs
    ]
    start = [p.clone() for p in runs[0][1]]
    nets, seen = cc.train_together(runs, argparse.Namespace(**vars(args), epochs=40), 2)
    assert not torch.equal(nets[0][0], start[0])  # it trained
    loss_fn, dA3_of = cc.LOSSES[loss]
    for (data, params), net in zip(runs, nets):
        backward = torch.Tensor.backward
        if backprop == "manual":
            backward = cc.by_hand(params, data[0], data[1], dA3_of)
        else:
            params = [p.requires_grad_() for p in params]
        cc.fit(params, data[0], data[1], 40, 2.0, loss_fn, backward)
        for ours, theirs in zip(net, params):
            torch.testing.assert_close(ours, theirs.detach(), rtol=1e-10, atol=1e-12)
    assert seen == [40, 40, 40]


@needs_cuda
def test_a_cuda_sweep_equals_its_cpu_rows() -> None:
    gpu = run_json(*SWEEP[2:], "--device", "cuda", "--seeds", "3")["runs"]
    cpu = run_json(*SWEEP, "--seeds", "3")["runs"]
    assert [r["device"] for r in gpu] == ["cuda:0"] * 3
    assert_like_their_single_runs(gpu, [run | {"device": "cuda:0"} for run in cpu])


# The post's choices: widths and learning rates compared


def test_hidden_10_5_is_the_default_run(post_run: dict) -> None:
    result = run_json("--device", "cpu", "--hidden", "10,5")
    assert {k: result[k] for k in FIGURES} == {k: post_run[k] for k in FIGURES}
    assert result["hidden"] == [10, 5]


@pytest.mark.parametrize("hidden", [(3, 7), (16, 2)])
def test_other_widths_follow_the_posts_listing(hidden: tuple[int, int]) -> None:
    argv = ["--seed", "3", "--samples", "2000", "--epochs", "150", "--lr", "1.5"]
    result = run_json("--device", "cpu", *argv, "--hidden", f"{hidden[0]},{hidden[1]}")
    listing = post_listing(3, 2000, 150, 1.5, hidden=hidden)
    assert {key: result[key] for key in listing} == listing
    assert result["hidden"] == list(hidden) and len(result["dead_neurons"]) == 2


def test_dead_neurons_are_counted_per_layer_of_any_width(
    capsys: pytest.CaptureFixture[str],
) -> None:
    generator = torch.Generator().manual_seed(0)
    params = cc.init_network(generator, CPU, (7, 3))
    X = torch.rand(50, 2, generator=generator)
    with torch.no_grad():
        params[1][:4] = -100.0  # four of the seven first-layer neurons off everywhere
    dead = cc.assess(params, (X, X[:, :1], X, X[:, :1]), cc.mean_squared_error)
    with torch.no_grad():
        Z1 = (X @ params[0] + params[1]).relu()
        Z2 = (Z1 @ params[2] + params[3]).relu()
    expected = [int((Z == 0).all(0).sum()) for Z in (Z1, Z2)]
    assert dead["dead_neurons"] == expected and expected[0] >= 4
    assert cc.main(["--device", "cpu", "--epochs", "3", "--hidden", "7,3"]) == 0
    report = capsys.readouterr().out
    assert ", a 2-7-3-1 network" in report.splitlines()[0]
    assert re.search(r"dead neurons    = \d of 7, \d of 3 ", report)


def test_a_comparison_runs_every_choice_over_the_same_seeds(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["--device", "cpu", "--epochs", "60", "--samples", "1500", "--seeds", "2"]
    result = run_json(*argv, "--lr", "0.5", "3", "--hidden", "10,5", "4,4")
    choices = [(r["lr"], r["hidden"], r["seed"]) for r in result["runs"]]
    assert choices == [
        (lr, h, s) for lr in (0.5, 3) for h in ([10, 5], [4, 4]) for s in (1337, 1338)
    ]
    assert [(c["lr"], c["hidden"]) for c in result["choices"]] == [
        (lr, h) for lr in (0.5, 3) for h in ([10, 5], [4, 4])
    ]
    singles = [
        run_json(*argv[:-2], "--seed", seed, "--lr", "3", "--hidden", "4,4")
        for seed in ["1337", "1338"]
    ]
    assert_like_their_single_runs(result["runs"][-2:], singles)
    assert cc.main([*argv, "--lr", "0.5", "3", "--hidden", "10,5", "4,4"]) == 0
    rows, table = capsys.readouterr().out.split("\n\n")
    assert rows.splitlines()[0].startswith("lr 0.5  hidden 10,5  seed 1337  dev_loss ")
    assert len(table.splitlines()) == 1 + 4 + 1


def test_the_comparison_table_on_hand_made_runs() -> None:
    def choice(
        lr: float, hidden: list[int], mistakes: list[int], nothing: int = 0
    ) -> dict:
        runs = [
            made_run(s, 0.01 * (s + 1) * lr, m, s < nothing)
            for s, m in enumerate(mistakes)
        ]
        return {"lr": lr, "hidden": hidden, "summary": cc.summarize(runs, 0)}

    table = cc.format_comparison(
        [choice(0.5, [10, 5], [8, 9, 12, 4], 1), choice(5, [20, 10], [2, 3, 3, 5])]
    ).splitlines()
    assert table[1].split() == [
        "0.5",
        "10,5",
        "4",
        "1",
        "0",
        "8.5",
        "(7",
        "to",
        "9.75)",
        "0.0125",
        "0.5,",
        "1",
    ]
    assert table[2].split()[:9] == [
        "5",
        "20,10",
        "4",
        "0",
        "0",
        "3",
        "(2.75",
        "to",
        "3.5)",
    ]
    assert table[-1] == "best, by median mistakes: --lr 5 --hidden 20,10"


# The post's exercise, solved: examples as columns


def test_the_exercise_examples_as_columns() -> None:
    # Every tensor transposed: X (2, N), W1 (10, 2), b1 (10, 1), ..., Y (1, N), and
    # each product the other way round: Z1 = relu(W1 @ X + b1) (10, N).
    X_train, Y_train, X_dev, Y_dev, *params = draw(1337, 10000, CPU)
    columns = [
        p.detach().T.contiguous() if p.dim() == 2 else p.detach()[:, None]
        for p in params
    ]
    columns = [p.clone().requires_grad_() for p in columns]
    W1, b1, W2, b2, W3, b3 = columns
    assert [tuple(p.shape) for p in columns] == [
        (10, 2),
        (10, 1),
        (5, 10),
        (5, 1),
        (1, 5),
        (1, 1),
    ]

    def forward(X: torch.Tensor) -> torch.Tensor:  # X (2, N) -> (1, N)
        Z1 = (W1 @ X + b1).relu()  # (10, 2) @ (2, N) -> (10, N)
        Z2 = (W2 @ Z1 + b2).relu()  # (5, 10) @ (10, N) -> (5, N)
        return (W3 @ Z2 + b3).sigmoid()  # (1, 5) @ (5, N) -> (1, N)

    for _ in range(1000):
        ((forward(X_train.T) - Y_train.T) ** 2).mean().backward()
        with torch.no_grad():
            for p in columns:
                p -= 0.5 * p.grad
                p.grad = None
    trained = draw(1337, 10000, CPU)[4:]
    cc.fit(trained, X_train, Y_train, 1000, 0.5)
    # The transposes, to float32 precision: the products sum in another order, which
    # 1,000 epochs amplify to about 1e-3 of a parameter's scale (measured, with each
    # of torch's CPU kernels); a wrong layout is off by far more.
    for rows, cols in zip(trained, columns):
        expected = torch.atleast_2d(rows.detach()).T
        scale = expected.abs().max().item()
        torch.testing.assert_close(
            cols.detach(), expected, rtol=5e-3, atol=5e-3 * scale
        )
    with torch.no_grad():
        said, truth = forward(X_dev.T)[0] > 0.5, Y_dev[:, 0] == 1
        dev_loss = ((forward(X_dev.T) - Y_dev.T) ** 2).mean().item()
    counts = [
        int(c.sum())
        for c in (said & truth, said & ~truth, ~said & ~truth, ~said & truth)
    ]
    assert (
        dict(zip(POST_COUNTS, counts)) == POST_COUNTS and f"{dev_loss:.4f}" == "0.0027"
    )
