"""What circle_classifier.py promises, as tests. The post's figures appear only here."""

import argparse
import contextlib
import inspect
import io
import itertools
import json
import math
import platform
import re
import signal
import statistics
import subprocess
import sys
import time
import warnings
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F

import circle_classifier as cc


def test_dev_loss_below_threshold() -> None:
    # The smoke test: the post's functions, called as the post calls them, at its
    # settings (seed 1337, 10,000 points, 1,000 epochs, lr 0.5). Run it alone with
    #   python -m pytest -k test_dev_loss_below_threshold
    generator = torch.Generator().manual_seed(1337)
    X_train, Y_train, X_dev, Y_dev = cc.generate_datasets(generator)
    params = cc.init_network(generator)
    cc.fit(params, X_train, Y_train)
    with torch.no_grad():
        Y_pred = cc.forward_pass(params, X_dev)
        dev_loss = cc.mean_squared_error(Y_pred, Y_dev)
    accuracy = ((Y_pred > 0.5) == (Y_dev == 1)).float().mean()
    assert dev_loss < 0.01
    assert accuracy > 0.99


CPU = torch.device("cpu")
needs_cuda = pytest.mark.skipif(
    not torch.cuda.is_available(),
    reason="no CUDA GPU: torch.cuda.is_available() is False",
)

# The figures the post prints (seed 1337, 10,000 points, 1,000 epochs, lr 0.5), and its
# output, character for character.
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
POST_OUTPUT = """\
dev_loss=tensor(0.0027)
true_positives=45.0
false_positives=1.0
true_negatives=1965.0
false_negatives=4.0
false_positive_samples=tensor([[-0.5229, -0.9005]])
false_negative_samples=tensor([[-0.8656,  0.3219],
        [ 0.8683,  0.4416],
        [ 0.6218,  0.7571],
        [-0.9056, -0.2783]])"""

# The post's own driver, as the post writes it after its functions: pasted against the
# module's, it must run unchanged and print the post's output.
POST_DRIVER = """
generator = torch.Generator().manual_seed(1337)
X_train, Y_train, X_dev, Y_dev = generate_datasets(generator)
params = init_network(generator)
fit(params, X_train, Y_train)

with torch.no_grad():
    Y_pred = forward_pass(params, X_dev)
    dev_loss = mean_squared_error(Y_pred, Y_dev)
    print(f"{dev_loss=}")
    Y_pred = (Y_pred > 0.5).float()
    true_positives = ((Y_pred == 1) & (Y_dev == 1)).float().sum().item()
    false_positives = ((Y_pred == 1) & (Y_dev == 0)).float().sum().item()
    true_negatives = ((Y_pred == 0) & (Y_dev == 0)).float().sum().item()
    false_negatives = ((Y_pred == 0) & (Y_dev == 1)).float().sum().item()
    print(f"{true_positives=}")
    print(f"{false_positives=}")
    print(f"{true_negatives=}")
    print(f"{false_negatives=}")
    false_positive_samples = X_dev[((Y_pred == 1) & (Y_dev == 0)).squeeze()]
    print(f"{false_positive_samples=}")
    false_negative_samples = X_dev[((Y_pred == 0) & (Y_dev == 1)).squeeze()]
    print(f"{false_negative_samples=}")
"""


def run_json(*argv: str) -> dict:
    """Run main() in-process with --json and return what it printed, parsed."""
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        assert cc.main([*argv, "--json"]) == 0
    return json.loads(stdout.getvalue())


def refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run main() in-process on argv, which it must refuse: exit status 2, nothing on
    stdout, one line on stderr. Returns that line's message."""
    with pytest.raises(SystemExit) as exit:
        cc.main(argv)
    assert exit.value.code == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.endswith("\n")
    return err.split(": error: ", 1)[1][:-1]


def script(*argv: str) -> list[str]:
    """The command that runs the script as a reader does, with warnings as errors."""
    return [sys.executable, "-W", "error", cc.__file__, *argv]


def shell(command: str, **options: Any) -> subprocess.CompletedProcess:
    """A bash command line, as a person types it; SCRIPT stands for the script."""
    command = command.replace("SCRIPT", " ".join(script()))
    options = {"capture_output": True, "text": True, **options}
    return subprocess.run(["bash", "-c", command], check=False, **options)


def args_of(**settings: Any) -> argparse.Namespace:
    """The script's arguments at its defaults, but for `settings`."""
    args = cc.build_parser().parse_args(["--device", "cpu"])
    return argparse.Namespace(**{**vars(args), **settings})


def draw(seed: int, samples: int, choice: cc.Choice | None = None) -> list:
    """The data and initial parameters on the CPU, drawn as the script draws them."""
    data, params = cc.prepare(seed, args_of(samples=samples), choice or cc.Choice())
    return [*data, *params]


def rounded(points: list[list[float]]) -> list[list[float]]:
    """The points to 4 decimals, as the post prints them."""
    return [[round(x, 4) for x in point] for point in points]


# The losses the listing can train with, each of the logit Z (N, 1) and the labels Y.
LISTING_LOSSES = {
    "mse": lambda Z, Y: torch.mean((torch.sigmoid(Z) - Y) ** 2),  # the post's
    "bce": lambda Z, Y: F.binary_cross_entropy(torch.sigmoid(Z), Y),
    "bce_with_logits": lambda Z, Y: F.binary_cross_entropy_with_logits(Z, Y),
}
# The hidden layers' functions, and the scale of a weight of fan_in rows, fan_out columns.
LISTING_ACTIVATIONS = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}
LISTING_SCALES = {
    "zeros": lambda fan_in, fan_out: 0.0,
    "normal": lambda fan_in, fan_out: 1.0,
    "kaiming": lambda fan_in, fan_out: math.sqrt(2 / fan_in),
    "xavier": lambda fan_in, fan_out: math.sqrt(2 / (fan_in + fan_out)),
}


def post_listing(
    seed: int = 1337,
    samples: int = 10000,
    epochs: int = 1000,
    lr: float = 0.5,
    loss: str = "mse",
    hidden: tuple[int, ...] = (10, 5),
    activation: str = "relu",
    init: str = "normal",
    features: str = "plain",
) -> dict:
    """The post's listing, written out again here in its own loop and sharing no code
    with the script: on any machine, the script must compute exactly what this does.
    `loss` swaps the post's loss for one of torch's cross entropies, `activation` its
    ReLU, `init` its standard normal for the same draws times a scale (or zero),
    `hidden` its two layers for any number, `features` its inputs for x1, x2, x1^2,
    x2^2. Weights are drawn layer by layer, as the post draws its three."""
    loss_of_logit, g = LISTING_LOSSES[loss], LISTING_ACTIVATIONS[activation]
    gen = torch.Generator().manual_seed(seed)
    X = torch.rand(samples, 2, generator=gen) * 10 - 5
    Y = (X[:, 0] ** 2 + X[:, 1] ** 2 < 1).float().unsqueeze(1)
    P = torch.rand(samples, generator=gen)
    X_train, Y_train, X_dev, Y_dev = X[P < 0.8], Y[P < 0.8], X[P >= 0.8], Y[P >= 0.8]
    inputs_of = {"plain": lambda X: X, "squares": lambda X: torch.cat([X, X * X], 1)}
    inputs = inputs_of[features]
    sizes = [2 if features == "plain" else 4, *hidden, 1]
    params = []
    for i, o in itertools.pairwise(sizes):
        W = torch.randn(i, o, generator=gen) * LISTING_SCALES[init](i, o)
        params += [W.requires_grad_(), torch.zeros(o, requires_grad=True)]

    def hidden_outputs(X: torch.Tensor) -> list[torch.Tensor]:
        h, outputs = inputs(X), []
        for W, b in zip(params[:-2:2], params[1:-2:2]):
            h = g(h @ W + b)
            outputs.append(h)
        return outputs

    def logit(X: torch.Tensor) -> torch.Tensor:
        h = (hidden_outputs(X) or [inputs(X)])[-1]
        return h @ params[-2] + params[-1]  # the network's output is its sigmoid

    for _ in range(epochs):
        loss_of_logit(logit(X_train), Y_train).backward()
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad
                p.grad.zero_()
    with torch.no_grad():
        train_loss = loss_of_logit(logit(X_train), Y_train)
        Y_pred = torch.sigmoid(logit(X_dev))
        dev_loss = loss_of_logit(logit(X_dev), Y_dev)
        # dead: its derivative 0 at every train point (relu 0; tanh +-1; sigmoid 0, 1)
        flat = {"relu": [0.0], "tanh": [-1.0, 1.0], "sigmoid": [0.0, 1.0]}[activation]
        dead = [
            int(torch.isin(h, torch.tensor(flat)).all(0).sum())
            for h in hidden_outputs(X_train)
        ]
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
        "dead_neurons": dead,
    }


def printed_as_the_post(listing: dict) -> str:
    """The post's seven lines for a listing's figures, in the post's own format."""
    fp = torch.tensor(listing["false_positive_samples"]).reshape(-1, 2)
    fn = torch.tensor(listing["false_negative_samples"]).reshape(-1, 2)
    return "\n".join(
        [
            f"dev_loss={torch.tensor(listing['dev_loss'])!r}",
            *(f"{k}={float(listing[k])}" for k in POST_COUNTS),
            f"false_positive_samples={fp!r}",
            f"false_negative_samples={fn!r}",
        ]
    )


FIGURES = [*POST_COUNTS, "dev_loss", "false_positive_samples", "false_negative_samples"]


@pytest.fixture(scope="session")
def post_run() -> dict:
    """The post's run on the CPU, trained once, shared by the tests that only read it.
    Its log and map only read what the run computes: its figures are the post's."""
    return run_json("--device", "cpu", "--log-every", "100", "--boundary")


@pytest.fixture(scope="session")
def listing_run() -> dict:
    """What the post's listing computes at its settings, on this machine."""
    return post_listing()


# The smoke test, and the post's own figures and output


def test_reproduces_published_figures(post_run: dict) -> None:
    # The post's figures at the precision the post printed them: the digits past that
    # differ between machines (AVX2, AVX-512, thread counts, GPUs) and are not pinned.
    assert f"{post_run['dev_loss']:.4f}" == "0.0027"
    assert {key: post_run[key] for key in POST_COUNTS} == POST_COUNTS
    assert rounded(post_run["false_positive_samples"]) == POST_FALSE_POSITIVES
    assert rounded(post_run["false_negative_samples"]) == POST_FALSE_NEGATIVES
    assert (post_run["n_train"], post_run["n_dev"]) == (7985, 2015)


def test_computes_bit_for_bit_what_the_posts_listing_computes(
    post_run: dict, listing_run: dict
) -> None:
    # On whatever machine this runs, every digit equals the post's own loop's here:
    # the dev loss, the training loss, the counts and the points.
    assert {key: post_run[key] for key in listing_run} == listing_run


def test_the_posts_driver_runs_against_the_module_as_the_post_calls_it(
    listing_run: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    # The post's calls, unchanged: generate_datasets(generator), init_network(generator),
    # fit(params, X_train, Y_train), forward_pass and mean_squared_error.
    namespace: dict[str, Any] = {}
    driver = "import torch\nfrom circle_classifier import *\n" + POST_DRIVER
    exec(driver, namespace)  # noqa: S102 (the post's own code, as written above)
    assert capsys.readouterr().out == POST_OUTPUT + "\n"
    # and bit for bit what the listing computes in this process
    assert namespace["dev_loss"].item() == listing_run["dev_loss"]
    assert (
        namespace["false_negative_samples"].tolist()
        == (listing_run["false_negative_samples"])
    )
    assert all(p.is_leaf and p.requires_grad for p in namespace["params"])


def test_init_network_asks_autograd_for_each_of_the_six() -> None:
    params = cc.init_network(torch.Generator().manual_seed(0))
    assert [tuple(p.shape) for p in params] == SHAPES
    assert all(p.is_leaf and p.requires_grad and p.grad is None for p in params)


@pytest.mark.parametrize(
    "seed, samples, epochs, lr",
    [(7, 3000, 200, 0.5), (2024, 5000, 150, 1.3), (5, 2000, 0, 0.5), (99, 500, 60, 3)],
)
def test_other_settings_follow_the_posts_listing(
    seed: int, samples: int, epochs: int, lr: float, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--seed", seed, "--samples", samples, "--epochs", epochs, "--lr", lr]
    assert cc.main(["--device", "cpu", *map(str, argv)]) == 0
    listing = post_listing(seed, samples, epochs, lr)
    # every single run opens as the post's does, with its own figures ...
    assert capsys.readouterr().out.startswith(printed_as_the_post(listing) + "\n\n")
    result = run_json("--device", "cpu", *map(str, argv))
    assert {key: result[key] for key in listing} == listing  # ... and every digit


def test_no_misclassified_point_prints_as_torch_prints_an_empty_tensor() -> None:
    figures = dict.fromkeys(POST_COUNTS, 0) | {"dev_loss": 0.5}
    figures |= {"false_positive_samples": [], "false_negative_samples": [[1.0, 0.25]]}
    assert cc.post_output(figures).splitlines()[-2:] == [
        "false_positive_samples=tensor([], size=(0, 2))",
        "false_negative_samples=tensor([[1.0000, 0.2500]])",
    ]


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
    X_train, _, X_dev, _, W1, _, W2, _, W3, _ = draw(1337, 10000)
    assert torch.equal(X_train, X[P < 0.8])
    assert torch.equal(X_dev, X[P >= 0.8])
    for ours, post in zip([W1, W2, W3], weights):
        assert torch.equal(ours.detach(), post)


def test_tensors_have_the_posts_shapes() -> None:
    X_train, Y_train, X_dev, Y_dev, *params = draw(1337, 10000)
    n_train, n_dev = len(X_train), len(X_dev)
    assert (X_train.shape, Y_train.shape) == ((n_train, 2), (n_train, 1))
    assert (X_dev.shape, Y_dev.shape) == ((n_dev, 2), (n_dev, 1))
    assert [tuple(p.shape) for p in params] == SHAPES
    assert all(p.dtype == torch.float32 for p in params)
    assert cc.forward_pass(params, X_dev).shape == (n_dev, 1)
    assert cc.mean_squared_error(Y_dev, Y_dev).shape == ()


def test_biases_start_at_zero() -> None:
    *_, W1, b1, W2, b2, W3, b3 = draw(1337, 10000)
    assert all(torch.equal(b, torch.zeros_like(b)) for b in (b1, b2, b3))
    assert all(W.abs().sum() > 0 for W in (W1, W2, W3))


@pytest.mark.parametrize("seed, samples", [(1337, 10000), (7, 50000)])
def test_split_is_about_80_20(seed: int, samples: int) -> None:
    X_train, _, X_dev, _, *_ = draw(seed, samples)
    assert len(X_train) + len(X_dev) == samples
    assert 0.78 < len(X_train) / samples < 0.82


def test_labels_say_inside_the_unit_circle() -> None:
    X_train, Y_train, X_dev, Y_dev, *_ = draw(1337, 10000)
    for X, Y in [(X_train, Y_train), (X_dev, Y_dev)]:
        assert X.min() >= -5 and X.max() < 5
        assert torch.equal(Y.squeeze(1), (X.norm(dim=1) < 1).float())
    assert 0 < Y_train.sum() < len(Y_train)


SHAPES = [(2, 10), (10,), (10, 5), (5,), (5, 1), (1,)]


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
    # With every parameter zero the output is sigmoid(0), exactly 0.5, everywhere.
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
    # the points amplify that rounding to ~5e-5 (measured); allow 1e-3.
    [(torch.float64, 1e-10, 1000), (torch.float32, 1e-3, None)],
)
def test_matches_torch_nn_and_sgd(
    dtype: torch.dtype, rtol: float, points: int | None
) -> None:
    X_train, Y_train, _, _, *start = draw(1337, 10000)
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
            linear.weight.copy_(W.T)  # nn.Linear stores (out, in): W transposed
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
    params: list[torch.Tensor], X: torch.Tensor, Y: torch.Tensor, g: Any = torch.relu
) -> tuple[torch.Tensor, ...]:
    """What the post's backward() would put in each p.grad."""
    params = [p.detach().requires_grad_() for p in params]
    loss = cc.mean_squared_error(cc.network(params, X, g), Y)
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


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_backprop_knows_each_activations_derivative(activation: str) -> None:
    g = cc.ACTIVATIONS[activation]
    for seed, n, dead in CASES:
        X, Y, *params = random_case(seed, n, dead)
        expected = autograd_gradients(params, X, Y, g[0])
        for ours, oracle in zip(cc.backprop(params, X, Y, activation=g), expected):
            assert_close_to_scale(ours, oracle, 1e-10)


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
    assert rounded(manual["false_negative_samples"]) == POST_FALSE_NEGATIVES
    assert manual["dev_loss"] == pytest.approx(post_run["dev_loss"], rel=1e-4)
    assert (manual["backprop"], post_run["backprop"]) == ("manual", "autograd")


def test_manual_backprop_trains_with_backprop(monkeypatch: pytest.MonkeyPatch) -> None:
    # On the CPU both ways can give the same figures: count the calls instead.
    calls = []
    real = cc.backprop

    def counted(*args: object, **kwargs: Any) -> list[torch.Tensor]:
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(cc, "backprop", counted)
    argv = ["--device", "cpu", "--epochs", "7", "--samples", "300"]
    run_json(*argv)
    assert calls == []
    manual = run_json(*argv, "--backprop", "manual")
    assert len(calls) == 7 and manual["backprop"] == "manual"


def test_fit_by_hand_computes_one_forward_pass_an_epoch_and_no_loss(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    X, Y, _, _, *params = draw(1337, 500)
    calls = []
    for name in ["sigmoid", "relu"]:
        real = getattr(torch, name)
        monkeypatch.setattr(torch, name, lambda T, real=real, name=name: calls.append(
            name) or real(T))  # fmt: skip
    relu = (torch.relu, torch.sign)
    gradients = lambda p, X, Y: cc.backprop(p, X, Y, activation=relu)
    cc.fit_by_hand(params, X, Y, 5, 0.5, gradients)
    assert calls.count("sigmoid") == 5 and calls.count("relu") == 10


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


def bce_autograd_gradients(
    params: list[torch.Tensor], X: torch.Tensor, Y: torch.Tensor, through: str
) -> tuple[torch.Tensor, ...]:
    """Autograd's gradients of the cross entropy: through torch's loss on the logit
    ("logits"), or through the script's autograd loss on the output ("output")."""
    params = [p.detach().requires_grad_() for p in params]
    W1, b1, W2, b2, W3, b3 = params
    Z3 = torch.relu(torch.relu(X @ W1 + b1) @ W2 + b2) @ W3 + b3
    if through == "logits":
        loss = F.binary_cross_entropy_with_logits(Z3, Y)
    else:  # what --backprop autograd differentiates
        loss = cc.LOSSES["bce"].autograd(torch.sigmoid(Z3), Y)
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
        ours = cc.backprop(params, X, Y, cc.cross_entropy_dA)
        for grad, oracle in zip(ours, bce_autograd_gradients(params, X, Y, "logits")):
            assert torch.isfinite(grad).all()
            assert_close_to_scale(grad, oracle, rtol)


def test_autograd_trains_cross_entropy_with_torchs_own_backward() -> None:
    # torch's binary_cross_entropy divides by max(p (1 - p), 1e-12) in its backward:
    # where float32 rounds an output to exactly 0 or 1, a sure but wrong point still
    # pulls. Autograd through the clamped logs would give those points nothing.
    X, Y, *params = saturating_case(torch.float32)
    Y_pred = cc.network(params, X)
    saturated = (Y_pred == 0) | (Y_pred == 1)
    assert saturated.sum() > 50 and (saturated & (Y_pred != Y)).sum() > 5
    assert cc.LOSSES["bce"].autograd is F.binary_cross_entropy
    ours = bce_autograd_gradients(params, X, Y, "output")
    assert all(torch.isfinite(g).all() for g in ours)
    # at a saturated output, torch's gradient (p - y) / 1e-12, through sigmoid' = 0
    Y_pred = Y_pred.detach().requires_grad_()
    F.binary_cross_entropy(Y_pred, Y).backward()
    wrong = saturated & (Y_pred != Y)
    assert (Y_pred.grad[wrong].abs() > 1e6).all()
    # the formula's value is torch's, to rounding
    assert cc.binary_cross_entropy(Y_pred, Y).item() == pytest.approx(
        F.binary_cross_entropy(Y_pred, Y).item(), rel=1e-6
    )
    exact = cc.backprop(params, X, Y, cc.cross_entropy_dA)
    assert not torch.allclose(ours[-1], exact[-1], rtol=1e-3)  # two ways, two runs


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
    "seed, samples, epochs, lr",
    [(1337, 10000, 200, 0.5), (11, 4000, 300, 2.0), (1340, 800, 200, 0.5)],
)
def test_cross_entropy_runs_as_the_posts_loop_with_torchs_loss(
    backprop: str, listing_loss: str, seed: int, samples: int, epochs: int, lr: float
) -> None:
    argv = ["--seed", seed, "--samples", samples, "--epochs", epochs, "--lr", lr]
    argv += ["--loss", "bce", "--backprop", backprop]
    result = run_json("--device", "cpu", *map(str, argv))
    listing = post_listing(seed, samples, epochs, lr, listing_loss)
    assert rounded_figures(result) == rounded_figures(listing)
    assert result["dead_neurons"] == listing["dead_neurons"]
    if backprop == "autograd":  # torch's loss, and so its gradient: the same training
        losses = ["dev_loss", "train_loss"]  # their value by the formula, to rounding
        assert {k: result[k] for k in listing if k not in losses} == {
            k: v for k, v in listing.items() if k not in losses
        }
        assert [result[k] for k in losses] == pytest.approx(
            [listing[k] for k in losses]
        )
    assert result["loss"] == "bce"


def test_cross_entropy_trains_a_seed_the_squared_error_leaves_stuck() -> None:
    # test_a_seed_that_learns_nothing_says_so: seed 29 is stuck at these settings
    argv = ["--device", "cpu", "--seed", "29", "--epochs", "300", "--loss", "bce"]
    for backprop in ["autograd", "manual"]:
        result = run_json(*argv, "--backprop", backprop)
        assert result["learned_nothing"] is False
        assert result["true_positives"] >= 10
        assert result["false_positives"] + result["false_negatives"] < 60


def test_report_says_which_loss_and_which_gradient(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["--device", "cpu", "--epochs", "5", "--samples", "500", "--loss", "bce"]
    for backprop, note in [
        ("autograd", " (torch's binary_cross_entropy)"),
        ("manual", " (exact, as binary_cross_entropy_with_logits)"),
    ]:
        assert cc.main([*argv, "--backprop", backprop]) == 0
        line = report_line(capsys.readouterr().out, "fit: ")
        assert line.startswith(f"fit: 5 epochs, lr 0.5, bce loss, {backprop} gradients")
        assert line.rsplit(", ", 1)[0].endswith(note)
    assert cc.main(argv[:-2]) == 0
    line = report_line(capsys.readouterr().out, "fit: ")
    assert line.startswith("fit: 5 epochs, lr 0.5, mse loss, autograd gradients, ")


def report_line(report: str, start: str) -> str:
    """The one line of a report that starts so."""
    (line,) = [line for line in report.splitlines() if line.startswith(start)]
    return line


def test_constant_output_is_scored_with_the_trained_loss() -> None:
    result = run_json("--device", "cpu", "--epochs", "5", "--loss", "bce")
    share = result["constant_output"]
    _, Y_train, _, Y_dev, *_ = draw(1337, 10000)
    for Y, key in [(Y_train, "constant_train_loss"), (Y_dev, "constant_dev_loss")]:
        inside, n = Y.sum().item(), len(Y)
        expected = -(inside * math.log(share) + (n - inside) * math.log(1 - share))
        assert result[key] == pytest.approx(expected / n, rel=1e-5)


def test_no_negative_zero_is_printed(capsys: pytest.CaptureFixture[str]) -> None:
    # a cross entropy of exactly 0 (every output exactly right) is -0.0 in float32
    argv = ["--device", "cpu", "--samples", "13", "--loss", "bce", "--lr", "100"]
    assert cc.main([*argv, "--epochs", "50"]) == 0
    out = capsys.readouterr().out
    assert "dev_loss in full: 0\n" in out and "-0" not in out
    result = run_json(*argv, "--epochs", "50")
    assert math.copysign(1, result["dev_loss"]) == 1 and result["dev_loss"] == 0


# Reproducibility


def test_same_seed_same_result() -> None:
    argv = ["--device", "cpu", "--epochs", "100", "--log-every", "50", "--boundary"]
    first, again = run_json(*argv), run_json(*argv)
    assert {**again, "fit_seconds": 0} == {**first, "fit_seconds": 0}


def test_other_seed_other_data() -> None:
    assert not torch.equal(draw(1337, 100)[0][:5], draw(1338, 100)[0][:5])


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=needs_cuda)])
def test_data_and_initial_weights_do_not_depend_on_the_device(device: str) -> None:
    on_cpu = draw(1337, 10000)
    on_device = cc.prepare(1337, args_of(device=torch.device(device)), cc.Choice())
    for a, b in zip(on_cpu, [*on_device[0], *on_device[1]]):
        assert b.device.type == device
        assert torch.equal(a, b.cpu())


# The command line


def test_json_has_every_field(post_run: dict) -> None:
    integers = [*POST_COUNTS, "n_train", "n_dev", "seed", "epochs", "samples"]
    assert all(type(post_run[key]) is int for key in integers)
    floats = ["dev_loss", "lr", "fit_seconds", "train_loss", "constant_train_loss"]
    assert all(type(post_run[key]) is float for key in floats)
    for key in ["false_positive_samples", "false_negative_samples"]:
        assert all(len(point) == 2 for point in post_run[key])
    expected = {
        "seed": 1337,
        "epochs": 1000,
        "lr": 0.5,
        "hidden": [10, 5],
        "activation": "relu",
        "init": "normal",
        "samples": 10000,
        "device": "cpu",
        "backprop": "autograd",
        "loss": "mse",
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
    result = run_json("--device", "cpu", "--epochs", "0", "--log-every", "5")
    listing = post_listing(epochs=0)
    assert {key: result[key] for key in listing} == listing
    # the log, asked for, shows the untrained network's losses at epoch 0
    assert result["epochs"] == 0
    assert result["loss_history"] == [[0, listing["train_loss"], listing["dev_loss"]]]


def test_auto_device_prefers_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert cc.device_of("auto") == torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert cc.device_of("auto") == torch.device("cpu")


def test_report_prints_what_follows_the_posts_output(post_run: dict) -> None:
    lines = cc.format_report(post_run).splitlines()
    assert "\n".join(lines[:10]) == POST_OUTPUT
    seconds = f"{post_run['fit_seconds']:.2f}"
    assert lines[10:15] == [
        "",
        "device cpu, seed 1337: 7985 train points, 2015 dev points",
        "network 2-10-5-1 on x1, x2: relu hidden layers, normal initial weights",
        f"fit: 1000 epochs, lr 0.5, mse loss, autograd gradients, {seconds} s",
        f"dev_loss in full: {post_run['dev_loss']:.10g}",
    ]
    assert lines[16:21] == [
        "confusion matrix   predicted inside   predicted outside",
        "actually inside                  45                   4",
        "actually outside                  1                1965",
        "accuracy 99.75%   precision 97.83%   recall 91.84%",
        "misclassified dev points: 5, at 0.9235 to 1.0413 from the origin",
    ]
    train, dev = post_run["train_loss"], post_run["dev_loss"]
    constant_train, constant_dev = (
        post_run[k] for k in ["constant_train_loss", "constant_dev_loss"]
    )
    assert lines[22:29] == [
        "measured against:",
        f"train_loss      = {train:.4f}  (the loss on the points it trained on)",
        (
            "constant output = 0.0293  (the train set's share inside, said of every "
            f"point): train_loss {constant_train:.4f}, dev_loss {constant_dev:.4f}"
        ),
        "always outside  = accuracy 97.57%  (the network: 99.75%)",
        "dead neurons    = 0 of 10, 1 of 5  (no gradient at any train point)",
        (
            f"over-fitting    = {train / constant_train:.1%} of the constant's loss "
            f"on train, {dev / constant_dev:.1%} on dev: no worse on dev"
        ),
        "",
    ]


def test_report_rounds_what_it_measures_against(post_run: dict) -> None:
    small = {
        **post_run,
        "train_loss": 0.000123,
        "constant_output": 0.00123,
        "constant_train_loss": 0.001,
        "constant_dev_loss": 0.0123456,
        "baseline_accuracy": 0.5,
        "accuracy": 0.25,
        "dead_neurons": [3, 4],
    }
    assert cc.format_report(small).splitlines()[23:28] == [
        "train_loss      = 0.0001  (the loss on the points it trained on)",
        (
            "constant output = 0.0012  (the train set's share inside, said of every "
            "point): train_loss 0.0010, dev_loss 0.0123"
        ),
        "always outside  = accuracy 50.00%  (the network: 25.00%)",
        "dead neurons    = 3 of 10, 4 of 5  (no gradient at any train point)",
        (
            "over-fitting    = 12.3% of the constant's loss on train, "
            f"{post_run['dev_loss'] / 0.0123456:.1%} on dev: worse on dev"
        ),
    ]


def test_over_fitting_compares_each_set_with_its_own_constant() -> None:
    base = {"constant_train_loss": 0.04, "constant_dev_loss": 0.02}
    # the same loss on both sets, but the dev set has fewer points inside: worse there
    assert cc.overfitting(base | {"train_loss": 0.004, "dev_loss": 0.004}) == (
        "10.0% of the constant's loss on train, 20.0% on dev: worse on dev"
    )
    assert cc.overfitting(base | {"train_loss": 0.004, "dev_loss": 0.002}).endswith(
        "10.0% on dev: no worse on dev"
    )
    nothing_inside = base | {"constant_dev_loss": 0.0, "train_loss": 0.1, "dev_loss": 0}
    assert cc.overfitting(nothing_inside).startswith("n/a")


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


def test_untrained_run_prints_its_many_mistakes_as_torch_does(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = run_json("--device", "cpu", "--epochs", "0")
    n_fp = result["false_positives"]
    assert n_fp > 500 and len(result["false_positive_samples"]) == n_fp
    assert cc.main(["--device", "cpu", "--epochs", "0"]) == 0
    report = capsys.readouterr().out
    points = torch.tensor(result["false_positive_samples"])
    assert f"false_positive_samples={points}\n" in report  # torch's summary, with ...
    assert "        ...,\n" in report
    assert (
        f"misclassified dev points: {n_fp + result['false_negatives']}, at " in report
    )


def test_the_script_prints_the_posts_output_and_no_warning_as_a_subprocess() -> None:
    run = subprocess.run(script("--device", "cpu"), capture_output=True, text=True,
                         check=False)  # fmt: skip
    assert run.returncode == 0
    assert run.stderr == ""  # no warning (each would have been an error), nothing else
    assert run.stdout.startswith(POST_OUTPUT + "\n\n")
    # what follows adds to it, and repeats none of its lines
    rest = run.stdout[len(POST_OUTPUT) :].splitlines()
    assert not set(rest) & set(POST_OUTPUT.splitlines())
    assert report_line(run.stdout, "dev_loss in full: ").startswith(
        "dev_loss in full: 0.00271"
    )


def first_dev_only_seed() -> int:
    """A seed whose single drawn point goes to the dev set, leaving train empty."""
    for seed in range(100):
        generator = torch.Generator().manual_seed(seed)
        torch.rand(1, 2, generator=generator)
        if torch.rand(1, generator=generator).item() >= 0.8:
            return seed
    raise AssertionError("no such seed below 100")


NO_CUDA = torch.cuda.device_count() == 0
SEEDS = "an integer from 0 to 4294967295"
WIDTHS = "widths >= 1 joined by commas, as 10,5, or none"
BAD_INPUTS = [
    # (argv, the one line's message after "error: ")
    (["--device", "nonsense"], "argument --device: no such device here: 'nonsense'"),
    # torch knows meta, but it cannot compute anything
    (["--device", "meta"], "argument --device: no such device here: 'meta'"),
    *[(["--device", "cuda"], "argument --device: no such device here: 'cuda'")]
    * NO_CUDA,
    (["--epochs=-1"], "argument --epochs: must be an integer >= 0, not '-1'"),
    (["--epochs", "1.5"], "argument --epochs: must be an integer >= 0, not '1.5'"),
    (["--epochs", "ten"], "argument --epochs: must be an integer >= 0, not 'ten'"),
    (["--epochs", ""], "argument --epochs: must be an integer >= 0, not ''"),
    (["--lr", "0"], "argument --lr: must be a finite number > 0, not '0'"),
    (["--lr=-0.5"], "argument --lr: must be a finite number > 0, not '-0.5'"),
    (["--lr", "nan"], "argument --lr: must be a finite number > 0, not 'nan'"),
    (["--lr", "inf"], "argument --lr: must be a finite number > 0, not 'inf'"),
    (["--lr", "1e400"], "argument --lr: must be a finite number > 0, not '1e400'"),
    (["--lr", "fast"], "argument --lr: must be a finite number > 0, not 'fast'"),
    # argparse reads a word like -1e-3 as a flag: its own message
    (["--lr", "-1e-3"], "argument --lr: expected at least one argument"),
    (["--lr"], "argument --lr: expected at least one argument"),
    # one point cannot fill both a train and a dev set; at seed 1337 it is drawn to train
    (["--samples", "1"], "--samples 1 leaves the dev set empty"),
    (
        ["--samples", "1", "--seed", str(first_dev_only_seed())],
        "--samples 1 leaves the train set empty",
    ),
    (["--samples", "0"], "argument --samples: must be an integer >= 1, not '0'"),
    (["--samples", "2.5"], "argument --samples: must be an integer >= 1, not '2.5'"),
    (["--seed", str(2**32)], f"argument --seed: must be {SEEDS}, not '4294967296'"),
    (["--seed=-5"], f"argument --seed: must be {SEEDS}, not '-5'"),
    (["--seed", "x"], f"argument --seed: must be {SEEDS}, not 'x'"),
    (["--bogus"], "unrecognized arguments: --bogus"),
    (["--backprop", "sideways"], "argument --backprop: invalid choice: 'sideways'"),
    (["--activation", "gelu"], "argument --activation: invalid choice: 'gelu'"),
    (["--init", "ones"], "argument --init: invalid choice: 'ones'"),
    (["--features", "cubes"], "argument --features: invalid choice: 'cubes'"),
    (["--log-every", "often"], "argument --log-every: must be an integer >= 0"),
    (["--boundary", "yes"], "unrecognized arguments: yes"),
    *[
        (["--hidden", bad], f"argument --hidden: must be {WIDTHS}, not {bad!r}")
        for bad in ["0", "0,5", "10,,5", "10,-1", "none,5", "", "a,b", "10,5,", "None"]
    ],
    (["--hidden", "10,5", "10,5"], "--hidden: each value once, not [(10, 5), (10, 5)]"),
    (["--lr", "0.5", "0.5"], "--lr: each value once, not [0.5, 0.5]"),
    (["--activation", "tanh", "tanh"], "--activation: each value once, not"),
    (["--init", "xavier", "xavier"], "--init: each value once, not"),
    (["--seeds", "0"], "argument --seeds: must be an integer >= 1, not '0'"),
    (["--seeds", "2", "--boundary"], "--boundary is for one run, not 2"),
    (["--lr", "1", "2", "--log-every", "5"], "--log-every is for one run, not 2"),
    (
        ["--seed", str(2**32 - 2), "--seeds", "3"],
        (
            "--seeds 3 from --seed 4294967294 ends at 4294967296, past torch's last "
            "seed, 4294967295"
        ),
    ),
]


@pytest.mark.parametrize(
    "argv, message", BAD_INPUTS, ids=[" ".join(argv) for argv, _ in BAD_INPUTS]
)
def test_bad_input_exits_2_with_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert refused(["--device", "cpu", *argv], capsys).startswith(message)


def test_seeds_are_what_torch_tells_apart() -> None:
    # torch's CPU generator reads a seed's low 32 bits: 2**32 would be seed 0 again
    g = lambda seed: torch.rand(3, generator=torch.Generator().manual_seed(seed))
    assert torch.equal(g(0), g(2**32)) and not torch.equal(g(0), g(1))
    last = 2**32 - 1
    assert (
        run_json("--device", "cpu", "--seed", str(last), "--epochs", "1")["seed"]
        == last
    )
    assert run_json("--device", "cpu", "--seed", "0", "--epochs", "1")["seed"] == 0


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
    message = f"argument --device: no such device here: '{past}'"
    assert refused(["--device", past], capsys) == message


@pytest.mark.parametrize(
    "device", ["hpu", "privateuseone", "mtia", "xla", "meta", "mkldnn"]
)
def test_a_device_type_this_torch_cannot_serve_is_one_line(
    device: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Each fails its own way, and differently on each torch (newer ones warn of mkldnn,
    # which the suite turns into an error): one line all the same.
    message = f"argument --device: no such device here: '{device}'"
    assert refused(["--device", device], capsys) == message


def test_running_out_of_memory_is_one_line(
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

    def python_out_of_memory(*args: object) -> None:
        raise MemoryError

    monkeypatch.setattr(cc, "evaluate", python_out_of_memory)
    message = refused(["--device", "cpu", "--samples", "300", "--epochs", "0"], capsys)
    assert message == "--samples 300 does not fit in cpu memory"


def test_any_other_runtime_error_stays_loud(monkeypatch: pytest.MonkeyPatch) -> None:
    def bug(*args: object, **kwargs: object) -> None:
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")

    monkeypatch.setattr(cc, "fit", bug)
    with pytest.raises(RuntimeError, match="shapes cannot be multiplied"):
        cc.main(["--device", "cpu", "--samples", "300"])


@pytest.mark.parametrize("samples", [2**60, 2**63, 10**30])
def test_too_many_samples_are_refused_before_anything_runs(
    samples: int, capsys: pytest.CaptureFixture[str]
) -> None:
    message = refused(["--device", "cpu", "--samples", str(samples)], capsys)
    assert message.startswith(f"--samples {samples}: a network of --hidden 10,5 needs ")
    assert re.search(r"GiB, more than the \d+ GiB of cpu memory$", message)


@pytest.mark.parametrize("hidden", ["1000000,1000000", "999999999,5", "50000,50000,3"])
def test_widths_too_wide_for_memory_are_refused(
    hidden: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # the weights alone: the flag at fault is --hidden, whatever --samples is
    for argv in [["--epochs", "0"], ["--samples", "10"], ["--seeds", "3"]]:
        message = refused(["--device", "cpu", "--hidden", hidden, *argv], capsys)
        assert message.startswith(f"--hidden {hidden}: the weights need ")
        assert re.search(r"GiB, more than the \d+ GiB of cpu memory$", message)
    # a size that this machine holds runs (a wide network of few points, no epoch)
    assert run_json("--device", "cpu", "--hidden", "3000,3000", "--epochs", "0",
                    "--samples", "20")["hidden"] == [3000, 3000]  # fmt: skip


# The output's edges: a closed pipe, a full disk, Ctrl-C


def test_a_closed_pipe_ends_the_run_quietly() -> None:
    # More than a pipe holds (64 KiB: the JSON of an untrained network's thousands of
    # mistakes), so that the script still writes when head has stopped reading
    run = shell("SCRIPT --device cpu --samples 50000 --epochs 0 --json | head -c 12; "
                "echo \" ${PIPESTATUS[0]}\"")  # fmt: skip
    assert (run.stdout, run.stderr) == ('{"dev_loss": 1\n', "")  # the recipe's 1


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full here")
def test_a_full_disk_is_one_line() -> None:
    run = shell("SCRIPT --device cpu --samples 300 --epochs 0 > /dev/full")
    assert run.returncode == 2
    message = "circle_classifier.py: error: cannot write the output: No space left"
    assert run.stderr == f"{message} on device\n"


def test_ctrl_c_while_training_is_one_line() -> None:
    argv = ["--device", "cpu", "--samples", "500", "--epochs", "10000000"]
    # Ctrl-C reaches it as in a terminal, even where the tests run with SIGINT ignored
    # (as a shell's background job does, and every process it starts)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        process = subprocess.Popen(
            script(*argv, "--log-every", "1"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    finally:
        signal.signal(signal.SIGINT, previous)
    with process:
        first = process.stderr.readline()
        assert first.split()[:2] == ["epoch", "1"]  # training has begun
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=300)
    assert process.returncode == 130  # 128 + SIGINT
    assert (out, err.splitlines()[-1]) == ("", "interrupted")
    assert "Traceback" not in err


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
    with pytest.raises(KeyboardInterrupt):
        cc.main([*SWEEP, "--seeds", "10"])
    rows, summary = capsys.readouterr().out.split("\n\n")
    assert len(rows.splitlines()) == 2
    assert summary.splitlines()[0] == "2 runs, seeds 40 to 41"
    monkeypatch.setattr(cc, "train_together", interrupted_at(2, real))
    with pytest.raises(KeyboardInterrupt):
        cc.main([*SWEEP, "--seeds", "10", "--json"])
    assert json.loads(capsys.readouterr().out)["summary"]["runs"] == 2


def test_ctrl_c_after_runs_that_all_failed_summarizes_them(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # --samples 1 leaves one set empty at every seed: the first group's two rows say
    # so, and Ctrl-C comes in the second. Interrupted, not "no run gave a result".
    monkeypatch.setattr(cc, "prepare", interrupted_at(3, cc.prepare))
    monkeypatch.setattr(cc, "group_size", lambda *args: 2)
    with pytest.raises(KeyboardInterrupt):
        cc.main(["--device", "cpu", "--samples", "1", "--seeds", "6"])
    rows, summary = capsys.readouterr().out.split("\n\n")
    assert len(rows.splitlines()) == 2 and "failed: 2" in summary


def test_ctrl_c_before_any_run_finished_prints_no_summary(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cc, "fit", interrupted)  # a single run's
    monkeypatch.setattr(cc, "fit_by_hand", interrupted)  # a stack's
    for argv in [[], ["--seeds", "3"]]:
        with pytest.raises(KeyboardInterrupt):
            cc.main(["--device", "cpu", *argv])
        assert capsys.readouterr() == ("", "")


# Divergence, whichever goes first: the loss or the parameters


def logged(err: str) -> list[list[float]]:
    """A training log, [epoch, train_loss, dev_loss] a line."""
    lines = [line.split() for line in err.splitlines() if line.startswith("epoch ")]
    assert all(line[2::2] == ["train_loss", "dev_loss"] for line in lines)
    return [[int(line[1]), float(line[3]), float(line[5])] for line in lines]


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
    out, err = capsys.readouterr()
    log = logged(err)
    bad = [epoch for epoch, *losses in log if not all(map(math.isfinite, losses))]
    assert out == "" and bad == [log[-1][0]]  # the log stops where it went bad
    message = f"training diverged by epoch {bad[0]}; try a smaller --lr than 1e+30\n"
    assert err.endswith(f": error: {message}")
    message = "training diverged by epoch 20; try a smaller --lr than 1e+30"
    assert refused(argv, capsys) == message  # without a log: at the last epoch's check


def test_divergence_stops_within_a_hundred_epochs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # 10**12 epochs would take weeks: the run must stop at the next check (every 100
    # epochs) after it went bad, and train no epoch more.
    stretches, real = [], cc.fit

    def counted(*args: Any, **kwargs: Any) -> None:
        stretches.append(args[3])
        return real(*args, **kwargs)

    monkeypatch.setattr(cc, "fit", counted)
    message = refused(
        ["--device", "cpu", "--lr", "1e30", "--epochs", str(10**12)], capsys
    )
    assert message == "training diverged by epoch 100; try a smaller --lr than 1e+30"
    assert stretches == [100]


def test_training_pauses_at_each_check_and_log() -> None:
    assert list(cc.stops(250, 100)) == [100, 200, 250]
    assert list(cc.stops(250, 100, 30))[:5] == [30, 60, 90, 100, 120]
    assert list(cc.stops(250, 100, 0)) == [100, 200, 250]
    assert list(cc.stops(0, 100)) == [0] and list(cc.stops(7, 100, 5)) == [5, 7]
    assert next(cc.stops(10**18, 100)) == 100  # and never lists them all


TINY = ["--device", "cpu", "--samples", "40", "--seed", "1"]


def test_a_run_whose_training_loss_is_not_finite_diverged(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # at this rate the dev loss stays finite while the training loss is NaN
    message = refused([*TINY, "--lr", "3e14", "--epochs", "1", "--json"], capsys)
    lr = "300000000000000.0"  # as Python's repr writes 3e14: the float, as given
    assert message == f"training diverged by epoch 1; try a smaller --lr than {lr}"


def test_divergence_by_the_loss_first_is_named_as_the_log_shows(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = cc.init_layers

    def nan_in_W3(*args: Any) -> list[torch.Tensor]:  # the loss is NaN from the start
        params = real(*args)
        params[4][0, 0] = math.nan
        return params

    monkeypatch.setattr(cc, "init_layers", nan_in_W3)
    argv = ["--device", "cpu", "--samples", "500", "--epochs", "250"]
    with pytest.raises(SystemExit):
        cc.main([*argv, "--log-every", "1"])
    log = capsys.readouterr().err.splitlines()
    assert log[0] == "epoch   1  train_loss nan  dev_loss nan"
    assert log[1].endswith("training diverged by epoch 1; try a smaller --lr than 0.5")
    message = refused(argv, capsys)  # no log: noticed at the check of epoch 100
    assert message == "training diverged by epoch 100; try a smaller --lr than 0.5"


def test_divergence_by_the_parameters_first_is_named_as_the_log_shows(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real, calls = cc.backprop, []

    def infinite_at_the_second(*args: Any, **kwargs: Any) -> list[torch.Tensor]:
        calls.append(1)
        grads = real(*args, **kwargs)
        if len(calls) == 2:  # epoch 2's update makes W1 infinite
            grads[0][0, 0] = -math.inf
        return grads

    monkeypatch.setattr(cc, "backprop", infinite_at_the_second)
    argv = ["--device", "cpu", "--samples", "500", "--epochs", "250"]
    argv += ["--backprop", "manual"]
    with pytest.raises(SystemExit):
        cc.main([*argv, "--log-every", "1"])
    err = capsys.readouterr().err
    log = logged(err)
    # epoch 2's update made W1 infinite, though the outputs (sigmoid of +-inf) and so
    # the losses can still be finite: the run stops there, where the check saw it
    assert math.isfinite(log[0][1]) and [epoch for epoch, *_ in log] == [1, 2]
    message = f"training diverged by epoch {log[-1][0]}; try a smaller --lr than 0.5\n"
    assert err.endswith(message)
    calls.clear()
    message = refused(argv, capsys)  # no log: noticed at the check of epoch 100
    assert message == "training diverged by epoch 100; try a smaller --lr than 0.5"


# What the post's figures are measured against


def test_baselines_are_what_a_direct_computation_gives(post_run: dict) -> None:
    # A direct computation on the post's data: the share of insiders in the training
    # set, said of every point, and the accuracy of always answering "outside".
    _, Y_train, _, Y_dev, *_ = draw(1337, 10000)
    share = Y_train.sum().item() / len(Y_train)
    for Y, key in [(Y_train, "constant_train_loss"), (Y_dev, "constant_dev_loss")]:
        constant_loss = sum((share - y) ** 2 for y in Y.squeeze(1).tolist()) / len(Y)
        assert post_run[key] == pytest.approx(constant_loss, rel=1e-5)
    assert post_run["constant_output"] == pytest.approx(share, rel=1e-6)
    assert post_run["baseline_accuracy"] == (1965 + 1) / 2015
    # the scale the post's "low" loss is measured against, and 2 points of accuracy
    assert f"{post_run['constant_dev_loss']:.3f}" == "0.024"
    assert f"{post_run['baseline_accuracy']:.1%}" == "97.6%"


def test_train_loss_is_the_loss_of_the_final_parameters(
    post_run: dict, listing_run: dict
) -> None:
    assert post_run["train_loss"] == listing_run["train_loss"]
    assert f"{post_run['train_loss']:.4f}" == "0.0040"


def test_dead_neurons_are_counted_per_layer() -> None:
    # rigged_network: one live neuron in each hidden layer, the others all zero.
    params = rigged_network(0.0)
    X = torch.tensor([[0.5, 0.0], [-3.0, 1.0], [2.0, 2.0]])
    Y = torch.tensor([[1.0], [0.0], [0.0]])
    relu = cc.ACTIVATIONS["relu"]

    def dead(X_train: torch.Tensor, Y_train: torch.Tensor) -> list[int]:
        data = (X_train, Y_train, X, Y)
        return cc.assess(params, data, cc.mean_squared_error, relu)["dead_neurons"]

    assert dead(X, Y) == [9, 4]
    params[1][3] = 1.0  # neuron 4 of layer 1 is now on everywhere, but feeds nothing
    params[3][2] = -1.0  # neuron 3 of layer 2 is off everywhere: still dead
    assert dead(X, Y) == [8, 4]
    params[0][0, 0] = -1.0  # neuron 1 of layer 1 now off at every x1 > 0 ...
    assert dead(X[X[:, 0] > 0], Y[:2]) == [9, 5]


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_a_saturated_neuron_is_dead_for_tanh_and_sigmoid(activation: str) -> None:
    # Dead means the same for each: its derivative is 0 at every train point, so no
    # gradient passes. For tanh and sigmoid that is an output of exactly -1, 0 or 1.
    X, Y, *params = (t.float() for t in random_case(0, 50))
    with torch.no_grad():
        params[1][:3] = -1000.0  # three first-layer neurons saturated everywhere
    g = cc.ACTIVATIONS[activation]
    dead = cc.assess(params, (X, Y, X, Y), cc.mean_squared_error, g)["dead_neurons"]
    assert dead[0] == 3
    for dA in cc.backprop(params, X, Y, activation=g)[:2]:  # dW1, db1: none for them
        assert not dA[..., :3].any() and dA[..., 3:].any()


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
    assert "learned nothing: it gives the same answer for every dev point" in report
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
        return params

    monkeypatch.setattr(cc, "init_layers", inside_everywhere)
    result = run_json("--device", "cpu", "--epochs", "0", "--samples", "500")
    assert result["true_negatives"] == result["false_negatives"] == 0
    assert result["learned_nothing"] is True


# A sweep of seeds: is the post's run typical?

# Three quick runs: seed 40 learns nothing in them, 41 and 42 learn.
SWEEP = ["--device", "cpu", "--epochs", "100", "--samples", "3000", "--lr", "3"]
SWEEP += ["--seed", "40"]
SETTINGS = ["seed", "lr", "hidden", "activation", "init", "epochs", "samples", "loss"]
SETTINGS += ["backprop", "device"]


def printed(run: dict) -> dict:
    """A run's figures as its report or its row prints them, and its settings: a
    stacked sweep computes them another way, so only these must be its single run's."""
    figures = {key: run[key] for key in [*POST_COUNTS, "learned_nothing", *SETTINGS]}
    figures |= {key: run[key] for key in ["n_train", "n_dev"]}
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
    nothing = [r["learned_nothing"] for r in rows]
    assert nothing == [s["learned_nothing"] for s in singles]
    off = [r["seed"] for r, s in zip(rows, singles) if printed(r) != printed(s)]
    assert len(off) <= 1, f"rows unlike their single runs: seeds {off}"
    for r, s in zip(rows, singles):
        assert sum(abs(r[k] - s[k]) for k in POST_COUNTS) <= 2  # a point at most
        assert r["dev_loss"] == pytest.approx(s["dev_loss"], rel=0.02, abs=1e-4)
        assert {k: r[k] for k in SETTINGS} == {k: s[k] for k in SETTINGS}


@pytest.fixture(scope="session")
def sweep_runs() -> list[dict]:
    """The runs of SWEEP's three seeds, stacked, and each alone."""
    singles = [run_json(*SWEEP[:-1], seed) for seed in ["40", "41", "42"]]
    return [run_json(*SWEEP, "--seeds", "3")["runs"], singles]


def test_each_run_of_a_sweep_is_the_single_run_with_its_seed(sweep_runs: list) -> None:
    rows, singles = sweep_runs
    assert_like_their_single_runs(rows, singles)
    assert all(set(run) == set(singles[0]) - {"loss_history"} for run in rows)


def test_a_sweep_prints_a_row_per_run_then_the_summary(
    sweep_runs: list, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cc.main([*SWEEP, "--seeds", "3"]) == 0
    rows, summary = capsys.readouterr().out.split("\n\n")
    seeds = [row.split()[:2] for row in rows.splitlines()]
    assert seeds == [["seed", "40"], ["seed", "41"], ["seed", "42"]]
    for row, run in zip(rows.splitlines(), sweep_runs[0]):
        counts = [run[key] for key in POST_COUNTS]
        assert row.startswith(
            f"seed {run['seed']}  dev_loss {run['dev_loss']:.4f}  tp {counts[0]}  "
            f"fp {counts[1]}  tn {counts[2]}  fn {counts[3]}  "
            f"accuracy {run['accuracy']:.2%}  fit "
        )
        assert re.search(r"  fit \d+\.\d\d s", row)
    assert summary.splitlines()[:3] == [
        "3 runs, seeds 40 to 42",
        "learned nothing: 1 (seeds 40)",
        "diverged: 0",
    ]
    last = "seed 40 ranks 3 of 3 by dev_loss (1 is the lowest)"
    assert summary.splitlines()[-1] == last
    assert rows.splitlines()[0].endswith("  learned nothing")
    assert not rows.splitlines()[1].endswith("  learned nothing")


def test_json_sweep_rows_go_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--device", "cpu", "--epochs", "5", "--samples", "300", "--seeds", "2"]
    assert cc.main([*argv, "--json"]) == 0
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert set(result) == {"runs", "summary"} and len(result["runs"]) == 2
    rows = [line.split()[:2] for line in err.splitlines()]
    assert rows == [["seed", "1337"], ["seed", "1338"]]


def made_run(seed: int, dev_loss: float, mistakes: int, nothing: bool = False) -> dict:
    return {
        "seed": seed,
        "dev_loss": dev_loss,
        "false_positives": mistakes // 2,
        "false_negatives": mistakes - mistakes // 2,
        "learned_nothing": nothing,
        "dead_neurons": [seed % 3, 1],
        "train_loss": dev_loss * (1 + seed % 2),  # half of them worse on train
        "constant_train_loss": 1.0,
        "constant_dev_loss": 1.0,
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
        "loss / constant's: median 26.2% on train, 25.6% on dev; worse on dev in 0 of 2",
        "seed 7 ranks 1 of 2 by dev_loss (1 is the lowest)",
    ]


def test_the_summary_counts_the_runs_worse_on_dev_than_on_train() -> None:
    runs = [made_run(seed, 0.1, 1) for seed in range(5)]  # seeds 0, 2, 4: train = dev
    runs[0] |= {
        "constant_dev_loss": 0.5
    }  # its dev loss, relative, is twice its train's
    runs[1] |= {"constant_dev_loss": 0.0}  # no point inside its dev set: not counted
    relative = cc.summarize(runs, 0)["relative_loss"]
    assert relative == pytest.approx(
        {"train": 0.1, "dev": 0.1, "worse_on_dev": 1, "of": 4}
    )


def test_a_tie_in_dev_loss_shares_the_better_rank() -> None:
    runs = [made_run(seed, loss, 1) for seed, loss in enumerate([0.2, 0.1, 0.1, 0.3])]
    assert cc.summarize(runs, 2)["rank"] == {"seed": 2, "rank": 1, "of": 4}
    assert cc.summarize(runs, 3)["rank"]["rank"] == 4


def test_a_run_that_diverges_is_a_row_of_the_sweep(
    capsys: pytest.CaptureFixture[str],
) -> None:
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
        cc.main([*stable, "--lr", "1e30"])
    assert exit.value.code == 2
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        f"seed {seed}  training diverged by epoch 8" for seed in (1337, 1338)
    ]
    assert err.endswith(
        "error: no run gave a result: seed 1337: training diverged by epoch 8; try a "
        "smaller --lr than 1e+30\n"
    )


def test_seeds_1_prints_what_a_single_run_prints(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["--device", "cpu", "--epochs", "30", "--samples", "1000"]
    assert cc.main(argv) == 0
    single = capsys.readouterr().out.splitlines()
    assert cc.main([*argv, "--seeds", "1"]) == 0
    again = capsys.readouterr().out.splitlines()
    fit = next(k for k, line in enumerate(single) if line.startswith("fit: "))
    assert again[:fit] + again[fit + 1 :] == single[:fit] + single[fit + 1 :]


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
    argv = ["--device", "cpu", "--samples", "5", "--seeds", "6", "--epochs", "3"]
    result = run_json(*argv)
    failed = [r["seed"] for r in result["runs"] if "error" in r]
    assert failed and len(failed) < 6  # some seeds leave a set empty, the sweep goes on
    assert result["summary"]["failed"] == failed and result["summary"]["diverged"] == []
    assert cc.main(argv) == 0
    out = capsys.readouterr().out
    assert f"failed: {len(failed)} (seeds {', '.join(map(str, failed))})" in out


def test_small_runs_train_on_one_thread() -> None:
    # on a busy CPU, torch's threads spin waiting for each other: tens of times
    # slower. At the post's size a second thread saves nothing (see the README).
    torch.set_num_threads(2)
    run_json("--device", "cpu", "--epochs", "1")
    assert torch.get_num_threads() == 1


# The training log and the map of the decision boundary


def test_log_reads_both_losses_every_n_epochs_and_at_the_last(post_run: dict) -> None:
    epochs = [epoch for epoch, _, _ in post_run["loss_history"]]
    assert epochs == list(range(100, 1001, 100))
    # each the loss after so many epochs: the last, the run's own train and dev loss
    assert post_run["loss_history"][-1] == [
        1000, post_run["train_loss"], post_run["dev_loss"]
    ]  # fmt: skip
    result = run_json("--device", "cpu", "--epochs", "250", "--log-every", "100")
    assert [epoch for epoch, *_ in result["loss_history"]] == [100, 200, 250]


def test_a_logged_epoch_is_what_the_listing_computes_after_so_many() -> None:
    argv = ["--device", "cpu", "--samples", "800", "--epochs", "40", "--seed", "9"]
    result = run_json(*argv, "--log-every", "15")
    for epoch, train_loss, dev_loss in result["loss_history"]:
        listing = post_listing(9, 800, epoch)
        assert [train_loss, dev_loss] == [listing["train_loss"], listing["dev_loss"]]


def test_logged_training_loss_falls(post_run: dict) -> None:
    losses = [loss for _, loss, _ in post_run["loss_history"]]
    assert losses == sorted(losses, reverse=True)  # at every logged step, here


def test_the_log_shows_both_losses_on_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = [
        "--device",
        "cpu",
        "--epochs",
        "50",
        "--samples",
        "500",
        "--log-every",
        "10",
    ]
    assert cc.main(argv) == 0
    out, err = capsys.readouterr()
    log = logged(err)
    assert [epoch for epoch, *_ in log] == [10, 20, 30, 40, 50]
    assert all(loss > 0 for _, *losses in log for loss in losses)
    assert err.splitlines()[0].startswith("epoch 10  train_loss 0.")
    assert out.startswith("dev_loss=tensor(")  # the report opens as the post's does
    result = run_json(*argv)
    assert [[e, round(t, 6), round(d, 6)] for e, t, d in result["loss_history"]] == log


def test_no_log_and_no_map_unless_asked(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_json("--device", "cpu", "--epochs", "50")
    assert result["loss_history"] == [] and "boundary" not in result
    assert cc.main(["--device", "cpu", "--epochs", "50"]) == 0
    out, err = capsys.readouterr()
    assert "#" not in out and err == ""


def test_disabled_logging_reads_nothing_between_checks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    X, Y, _, _, *params = draw(1337, 1000)
    reads = []
    for name in ["item", "tolist", "__bool__"]:
        real = getattr(torch.Tensor, name)
        monkeypatch.setattr(torch.Tensor, name, lambda T, *a, real=real: reads.append(
            1) or real(T, *a))  # fmt: skip
    cc.fit([p.requires_grad_() for p in params], X, Y, 30, 0.5)
    cc.fit_by_hand([p.detach() for p in params], X, Y, 30, 0.5)
    assert reads == []


def test_json_stays_one_object_with_log_and_map(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["--device", "cpu", "--epochs", "200", "--log-every", "100", "--boundary"]
    assert cc.main([*argv, "--samples", "500", "--json"]) == 0
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert [epoch for epoch, *_ in result["loss_history"]] == [100, 200]
    assert [epoch for epoch, *_ in logged(err)] == [100, 200]
    assert len(result["boundary"]) == 25


def test_map_has_the_promised_size(post_run: dict) -> None:
    assert len(post_run["boundary"]) == 25
    assert all(len(row) == 49 for row in post_run["boundary"])
    assert set("".join(post_run["boundary"])) <= set("#.oX")
    assert cc.format_report(post_run).splitlines()[-1] == cc.LEGEND


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


def test_the_map_uses_the_runs_activation() -> None:
    # W2's one weight -1: through ReLUs that is relu(-relu(s)) = 0, "outside" at every
    # point; through tanh, tanh(-tanh(s)) > 0 where s = x1 + 2 x2 < 0: inside there.
    params = rigged_network(2.0)
    params[2][0, 0] = -1.0
    assert "#" not in "".join(cc.decision_map(params, []))
    rows = cc.decision_map(params, [], partial(cc.network, g=torch.tanh))
    for r, c in cells_holding(rows, "#") | cells_holding(rows, "."):
        x1, x2 = cell_centre(r, c)
        assert (rows[r][c] == "#") == (x1 + 2 * x2 < -0.03)  # s: 1/16 apart


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


@contextlib.contextmanager
def no_gpu_sync() -> Any:
    """Any wait for the GPU in here raises."""
    with warnings.catch_warnings():
        # torch warns that its sync debug mode is a prototype: known, and not ours
        warnings.filterwarnings("ignore", message=".*prototype", category=UserWarning)
        torch.cuda.set_sync_debug_mode("error")
        try:
            yield
        finally:
            torch.cuda.set_sync_debug_mode("default")


@needs_cuda
def test_fit_never_waits_for_the_gpu() -> None:
    data, params = cc.prepare(1337, args_of(device=torch.device("cuda")), cc.Choice())
    X, Y = data[:2]
    autograd = [p.clone().requires_grad_() for p in params]
    cc.fit(autograd, X, Y, 1)  # warm up: CUDA sets itself up
    cc.fit_by_hand(params, X, Y, 1)
    before = [p.detach().clone() for p in params]
    with no_gpu_sync():
        with pytest.raises(RuntimeError):  # the guard is on: a read would wait
            X.sum().item()
        cc.fit(autograd, X, Y, 20)  # and neither fit reads
        cc.fit_by_hand(params, X, Y, 20)
    assert not torch.equal(params[0], before[0])  # they trained
    for a, b in zip(autograd, params):  # the same training, two ways to gradients
        torch.testing.assert_close(a.detach(), b, rtol=1e-3, atol=1e-4)


@needs_cuda
@pytest.mark.parametrize("backprop", ["autograd", "manual"])
def test_a_stacked_fit_waits_for_the_gpu_once_in_a_hundred_epochs(
    backprop: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = args_of(samples=3000, device=torch.device("cuda"), epochs=250)
    args.backprop = backprop
    runs = [cc.prepare(seed, args, cc.Choice()) for seed in (1, 2, 3)]
    stretches, real = [], {"fit": cc.fit, "fit_by_hand": cc.fit_by_hand}

    def strict(name: str) -> Any:
        def fit(*fit_args: Any, **kwargs: Any) -> None:
            stretches.append(fit_args[3])
            with no_gpu_sync():
                real[name](*fit_args, **kwargs)

        return fit

    for name in real:
        monkeypatch.setattr(cc, name, strict(name))
    cc.train_together(runs, args, cc.Choice())
    assert stretches == [100, 100, 50]


@needs_cuda
def test_a_cuda_sweep_equals_its_cpu_rows(sweep_runs: list) -> None:
    gpu = run_json(*SWEEP[2:], "--device", "cuda", "--seeds", "3")["runs"]
    assert [r["device"] for r in gpu] == ["cuda:0"] * 3
    assert_like_their_single_runs(
        gpu, [run | {"device": "cuda:0"} for run in sweep_runs[1]]
    )


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
            params[0][0, 0] = math.nan
        return data, params

    monkeypatch.setattr(cc, "prepare", poisoned)
    runs = run_json(*small)["runs"]
    assert runs[1]["diverged"] and runs[1]["error"] == "training diverged by epoch 100"
    for a, b in [(runs[0], clean[0]), (runs[2], clean[2])]:
        assert printed(a) == printed(b)


def test_a_sweep_whose_every_run_diverges_stops_within_a_hundred_epochs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stretches, real, prepare = [], cc.fit_by_hand, cc.prepare

    def counted(*args: Any, **kwargs: Any) -> None:
        stretches.append(args[3])
        return real(*args, **kwargs)

    def poisoned(*args: Any) -> tuple:  # every run NaN from its first epoch
        data, params = prepare(*args)
        params[4][0, 0] = math.nan
        return data, params

    monkeypatch.setattr(cc, "fit_by_hand", counted)  # a stack trains by it
    monkeypatch.setattr(cc, "prepare", poisoned)
    argv = ["--device", "cpu", "--epochs", str(10**12), "--seeds", "3"]
    with pytest.raises(SystemExit):
        cc.main([*argv, "--samples", "500"])
    rows = capsys.readouterr().out.splitlines()
    assert rows == [
        f"seed {s}  training diverged by epoch 100" for s in (1337, 1338, 1339)
    ]
    assert stretches == [100]


def test_small_groups_give_the_rows_of_one_group(
    monkeypatch: pytest.MonkeyPatch, sweep_runs: list
) -> None:
    monkeypatch.setattr(cc, "group_size", lambda *args: 2)
    apart = run_json(*SWEEP, "--seeds", "3")["runs"]
    assert_like_their_single_runs(apart, sweep_runs[0])


@pytest.mark.parametrize(
    "extra", [["--backprop", "manual"], ["--loss", "bce"], ["--loss", "bce", "--backprop",
              "manual"], ["--activation", "tanh", "--init", "xavier"]]
)  # fmt: skip
def test_every_kind_of_run_works_in_a_sweep(extra: list[str]) -> None:
    sweep = run_json(*SWEEP, "--seeds", "2", *extra)
    singles = [run_json(*SWEEP[:-1], seed, *extra) for seed in ["40", "41"]]
    assert_like_their_single_runs(sweep["runs"], singles)


@pytest.mark.parametrize("layout", ["rows", "columns"])
@pytest.mark.parametrize(
    "loss, backprop, activation",
    [("mse", "autograd", "relu"), ("mse", "manual", "relu"), ("bce", "autograd", "tanh"),
     ("bce", "manual", "relu"), ("mse", "manual", "sigmoid")],
)  # fmt: skip
def test_a_stack_trains_each_network_as_it_trains_alone(
    layout: str, loss: str, backprop: str, activation: str
) -> None:
    # In float64, where the other way of rounding is far below what 40 epochs can
    # amplify: train sets of different lengths (so, padding), each network its own.
    args = args_of(samples=300, loss=loss, backprop=backprop, epochs=40)
    choice = cc.Choice(2.0, (6, 4), activation, "kaiming")
    runs = [cc.prepare(seed, args, choice) for seed in (1, 2, 3)]
    assert len({len(data[0]) for data, _ in runs}) == 3
    runs = [
        (tuple(d.double() for d in data), [p.double() for p in params])
        for data, params in runs
    ]
    start = [p.clone() for p in runs[0][1]]
    nets, seen = cc.train_together(runs, args, choice, layout)
    assert not torch.equal(nets[0][0], start[0])  # it trained
    fns = cc.LOSSES[loss]
    g = cc.ACTIVATIONS[activation]
    for (data, params), net in zip(runs, nets):
        params = [p.clone() for p in params]
        if backprop == "manual":
            by_hand = partial(cc.backprop, dA_of=fns.dA, activation=g)
            cc.fit_by_hand(params, data[0], data[1], 40, 2.0, by_hand)
        else:
            params = [p.requires_grad_() for p in params]
            forward = partial(cc.network, g=g[0])
            cc.fit(params, data[0], data[1], 40, 2.0, forward, fns.autograd)
        for ours, theirs in zip(net, params):
            assert ours.shape == theirs.shape
            torch.testing.assert_close(ours, theirs.detach(), rtol=1e-10, atol=1e-12)
    assert seen == [40, 40, 40]


def test_stacks_train_in_the_exercises_layout_on_a_cpu(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shapes = []

    def seen(Z: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
        shapes.append(tuple(Z.shape))
        return W @ Z

    monkeypatch.setattr(cc, "columns", seen)
    argv = ["--device", "cpu", "--epochs", "3", "--samples", "300", "--seeds", "2"]
    run_json(*argv)
    # three layers an epoch; the first's input X (S, 2, n): examples as columns
    assert len(shapes) == 3 * 3 and shapes[0][:2] == (2, 2)
    run_json(*argv[:-2])  # a single run: the post's listing, rows
    assert len(shapes) == 3 * 3


def test_a_group_counts_every_tensor_of_its_networks() -> None:
    # wide layers: the weights, not the points, fill the group
    per_network = cc.network_bytes(10, [2, 3000, 3000, 1])
    parameters = 3 * 3000 + 3001 * 3000 + 3001
    assert per_network == 4 * (10 * (8 + 4 * 6000) + 4 * parameters)
    deep = [4, 8, 8, 8, 8, 1]  # any depth, any inputs
    parameters = 5 * 8 + 3 * 9 * 8 + 9
    assert cc.network_bytes(10, deep) == 4 * (10 * (10 + 4 * 32) + 4 * parameters)
    # a group fills a part of the cache on a CPU; fewer networks where memory is short
    assert cc.group_size(args_of(samples=10000), [2, 10, 5, 1]) == cc.GROUP
    assert 1 <= cc.group_size(args_of(samples=10), [2, 10000, 10000, 1]) < cc.GROUP
    assert cc.group_size(args_of(samples=10), [2, 10**6, 10**6, 1]) == 0


def test_a_sweep_runs_whatever_one_network_of_it_can(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # a million points a network: a chunk at a time, no quarter-GiB limit
    result = run_json("--device", "cpu", "--samples", "1000000", "--seeds", "2",
                      "--epochs", "1")  # fmt: skip
    assert [r["n_train"] + r["n_dev"] for r in result["runs"]] == [10**6] * 2
    capsys.readouterr()  # its rows, on stderr beside the JSON
    message = refused(["--device", "cpu", "--hidden", "10,5", "--samples", str(10**11),
                       "--seeds", "2"], capsys)  # fmt: skip
    assert message.startswith(f"--samples {10**11}: a network of --hidden 10,5 needs")


# The post's choices: widths, learning rates, non-linearities and initial weights


def test_the_defaults_are_the_posts_choices(post_run: dict) -> None:
    args = cc.build_parser().parse_args([])
    assert (args.hidden, args.activation, args.init) == (
        [(10, 5)],
        ["relu"],
        ["normal"],
    )
    choice = [post_run[k] for k in ["lr", "hidden", "activation", "init"]]
    assert choice == [0.5, [10, 5], "relu", "normal"]


@pytest.mark.parametrize(
    "hidden, activation, init, backprop",
    [((3, 7), "relu", "normal", "autograd"), ((16, 2), "tanh", "kaiming", "autograd"),
     ((10, 5), "sigmoid", "xavier", "autograd"), ((10, 5), "tanh", "normal", "manual"),
     ((8, 4), "relu", "kaiming", "manual"), ((10, 5), "sigmoid", "kaiming", "manual")],
)  # fmt: skip
def test_other_choices_follow_the_posts_listing(
    hidden: tuple[int, int], activation: str, init: str, backprop: str
) -> None:
    argv = ["--seed", "3", "--samples", "2000", "--epochs", "150", "--lr", "1.5"]
    argv += ["--hidden", f"{hidden[0]},{hidden[1]}", "--activation", activation]
    result = run_json("--device", "cpu", *argv, "--init", init, "--backprop", backprop)
    listing = post_listing(3, 2000, 150, 1.5, hidden=hidden, activation=activation,
                           init=init)  # fmt: skip
    if backprop == "autograd":  # the listing's own arithmetic: every digit
        assert {key: result[key] for key in listing} == listing
    else:  # the same gradients summed another way: the printed figures
        assert rounded_figures(result) == rounded_figures(listing)
    assert (result["activation"], result["init"]) == (activation, init)
    assert result["hidden"] == list(hidden) and len(result["dead_neurons"]) == 2


def test_initial_weights_are_the_same_draws_scaled() -> None:
    normal = draw(5, 100, cc.Choice(hidden=(8, 4)))[4:]
    for init, scale in [("kaiming", lambda i, o: math.sqrt(2 / i)),
                        ("xavier", lambda i, o: math.sqrt(2 / (i + o)))]:  # fmt: skip
        scaled = draw(5, 100, cc.Choice(hidden=(8, 4), init=init))[4:]
        for W, V in zip(normal[::2], scaled[::2]):
            assert torch.equal(V, W * scale(*W.shape))
        assert all(not b.any() for b in scaled[1::2])


def test_the_report_names_the_choices(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--device", "cpu", "--epochs", "3", "--hidden", "7,3"]
    assert cc.main([*argv, "--activation", "tanh", "--init", "xavier"]) == 0
    report = capsys.readouterr().out
    assert report_line(report, "network ") == (
        "network 2-7-3-1 on x1, x2: tanh hidden layers, xavier initial weights"
    )
    assert re.search(r"dead neurons    = \d of 7, \d of 3 ", report)


def test_a_comparison_runs_every_choice_over_the_same_seeds(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["--device", "cpu", "--epochs", "60", "--samples", "1500", "--seeds", "2"]
    argv += ["--lr", "0.5", "3", "--activation", "relu", "tanh"]
    argv += ["--init", "normal", "kaiming"]
    result = run_json(*argv)
    keys = ["lr", "activation", "init"]
    runs = [(*(r[k] for k in keys), r["seed"]) for r in result["runs"]]
    assert runs == [
        (lr, a, i, s)
        for lr in (0.5, 3)
        for a in ("relu", "tanh")
        for i in ("normal", "kaiming")
        for s in (1337, 1338)
    ]
    assert [tuple(c[k] for k in keys) for c in result["choices"]] == [
        run[:3] for run in runs[::2]
    ]
    assert all(c["hidden"] == [10, 5] for c in result["choices"])
    single = [
        "--seed",
        "1338",
        "--lr",
        "3",
        "--activation",
        "tanh",
        "--init",
        "kaiming",
    ]
    alone = run_json(*argv[:6], *single)
    assert_like_their_single_runs(result["runs"][-1:], [alone])
    assert cc.main(argv) == 0
    rows, table = capsys.readouterr().out.split("\n\n")
    assert rows.splitlines()[0].startswith(
        "lr 0.5  hidden 10,5  relu  normal  plain  seed 1337  dev_loss "
    )
    assert len(table.splitlines()) == 1 + 8 + 2  # the header, the lines, the best
    assert table.splitlines()[0].split()[:4] == ["lr", "hidden", "activation", "init"]


def test_two_non_linearities_and_two_inits_make_four_lines(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["--device", "cpu", "--epochs", "5", "--samples", "300", "--seeds", "2"]
    assert cc.main([*argv, "--activation", "relu", "tanh", "--init", "normal",
                    "kaiming"]) == 0  # fmt: skip
    table = capsys.readouterr().out.split("\n\n")[1].splitlines()
    assert [line.split()[2:4] for line in table[1:5]] == [
        ["relu", "normal"], ["relu", "kaiming"], ["tanh", "normal"], ["tanh", "kaiming"]
    ]  # fmt: skip


def made_choice(
    lr: float, mistakes: list[int], nothing: int = 0, diverged: int = 0
) -> dict:
    """A choice's summary of hand-made runs: the first `nothing` learned nothing, and
    `diverged` more runs diverged."""
    runs = [
        made_run(s, 0.01 * (s + 1) * lr, m, s < nothing) for s, m in enumerate(mistakes)
    ]
    runs += [
        {"seed": 90 + s, "error": "...", "diverged": True} for s in range(diverged)
    ]
    c = {"lr": lr, "hidden": [10, 5], "activation": "relu", "init": "normal"}
    c["features"] = "plain"
    return c | {"summary": cc.summarize(runs, 0)}


def test_the_comparison_table_on_hand_made_runs() -> None:
    failing = made_choice(0.5, [8, 9, 12, 4], nothing=1)
    failing["summary"]["failed"] = [7]  # and one run without a result
    table = cc.format_comparison([failing, made_choice(5, [2, 3, 3, 5])]).splitlines()
    assert table[1].split() == [
        "0.5", "10,5", "relu", "normal", "plain", "4", "1", "0", "1", "8.5", "(7",
        "to", "9.75)", "0.0125", "0.5,", "1",
    ]  # fmt: skip
    assert table[2].split()[:13] == [
        "5", "10,5", "relu", "normal", "plain", "4", "0", "0", "0", "3", "(2.75",
        "to", "3.5)",
    ]  # fmt: skip
    assert table[-1] == (
        "best, by fewest failed runs, then median mistakes: --lr 5 --hidden 10,5 "
        "--activation relu --init normal --features plain"
    )


def test_the_best_choice_is_the_most_reliable_first() -> None:
    # fewer mistakes, but a run of it learned nothing: the other is the best
    few_but_failing = made_choice(1e20, [1, 1, 1], nothing=1)
    reliable = made_choice(0.02, [9, 9, 9])
    assert cc.best([few_but_failing, reliable]) is reliable
    # every run of a choice failed: it is never the best, whatever its few mistakes
    all_diverged = made_choice(7, [], diverged=3)
    assert cc.best([all_diverged, made_choice(3, [50, 60], nothing=1)])["lr"] == 3
    # every run of every choice failed: no best, and the table says so
    nothing_learned = [all_diverged, made_choice(3, [50, 60], nothing=2)]
    assert cc.best(nothing_learned) is None
    assert cc.format_comparison(nothing_learned).splitlines()[-1] == (
        "best: none, every run of every choice failed"
    )
    # equally reliable: the fewer median mistakes, then the lower median dev loss
    assert cc.best([made_choice(2, [5, 5]), made_choice(1, [5, 5])])["lr"] == 1
    assert cc.best([made_choice(2, [4, 6]), made_choice(1, [6, 6])])["lr"] == 2


# The post's exercise, solved: examples as columns


def columns_of(params: list[torch.Tensor]) -> list[torch.Tensor]:
    """The post's parameters in the exercise's layout: W1 (10, 2), b1 (10, 1), ..."""
    return [torch.atleast_2d(p.detach()).T.clone() for p in params]


def test_the_exercise_examples_as_columns() -> None:
    # Every tensor transposed: X (2, N), W1 (10, 2), b1 (10, 1), ..., Y (1, N), and
    # each product the other way round: Z1 = relu(W1 @ X + b1) (10, N).
    X_train, Y_train, X_dev, Y_dev, *params = draw(1337, 10000)
    columns = [p.requires_grad_() for p in columns_of(params)]
    assert [tuple(p.shape) for p in columns] == [
        (10, 2), (10, 1), (5, 10), (5, 1), (1, 5), (1, 1)
    ]  # fmt: skip
    assert cc.forward_columns(columns, X_dev.T).shape == (1, len(X_dev))
    cc.fit(columns, X_train.T, Y_train.T, forward=cc.forward_columns)
    trained = [p.requires_grad_() for p in params]
    cc.fit(trained, X_train, Y_train)
    # The transposes, to float32 precision: the products sum in another order, which
    # 1,000 epochs amplify to about 1e-3 of a parameter's scale (measured, with each
    # of torch's CPU kernels); a wrong layout is off by far more.
    for rows, cols in zip(columns_of(trained), columns):
        scale = rows.abs().max().item()
        torch.testing.assert_close(cols.detach(), rows, rtol=5e-3, atol=5e-3 * scale)
    back = [p.detach().T.reshape(q.shape) for p, q in zip(columns, trained)]
    assert rounded_figures(cc.evaluate(back, X_dev, Y_dev)) == rounded_figures(
        {"dev_loss": 0.0027, **POST_COUNTS, "false_positive_samples":
         POST_FALSE_POSITIVES, "false_negative_samples": POST_FALSE_NEGATIVES}
    )  # fmt: skip


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
@pytest.mark.parametrize("loss", ["mse", "bce"])
def test_backprop_in_columns_is_backprop_transposed(activation: str, loss: str) -> None:
    g, dA_of = cc.ACTIVATIONS[activation], cc.LOSSES[loss].dA
    for seed, n, dead in CASES:
        X, Y, *params = random_case(seed, n, dead)
        Y = Y.round()
        rows = columns_of(cc.backprop(params, X, Y, dA_of, g))
        columns = cc.backprop(columns_of(params), X.T, Y.T, dA_of, g, cc.columns)
        for ours, oracle in zip(columns, rows):
            assert_close_to_scale(ours, oracle, 1e-10)


# One general network: any depth, the squares as inputs, zero weights


def test_the_posts_functions_take_the_posts_arguments() -> None:
    def names(function: Any) -> list[str]:
        return list(inspect.signature(function).parameters)

    assert names(cc.init_network) == ["generator"]
    assert names(cc.forward_pass) == ["params", "X"]
    assert names(cc.mean_squared_error) == ["A", "Y"]


def test_the_general_network_at_the_posts_choice_is_the_posts_bit_for_bit() -> None:
    # the same draws, the same outputs, the same training, to the last bit
    post = cc.init_network(torch.Generator().manual_seed(4))
    general = cc.init_layers(torch.Generator().manual_seed(4), [2, 10, 5, 1])
    assert all(torch.equal(p.detach(), q) for p, q in zip(post, general))
    X, Y, *_ = draw(4, 2000)
    assert torch.equal(cc.forward_pass(post, X), cc.network(general, X))
    general = [p.requires_grad_() for p in general]
    cc.fit(post, X, Y, 60)
    cc.fit(general, X, Y, 60, forward=cc.network)
    assert all(torch.equal(p, q) for p, q in zip(post, general))
    columns = columns_of(cc.init_network(torch.Generator()))  # W1 (10, 2), b1 (10, 1)
    assert torch.equal(
        cc.forward_columns(columns, X.T), cc.network(columns, X.T, product=cc.columns)
    )


DEPTHS = [
    # (hidden, activation, init, features, loss)
    ((), "relu", "normal", "plain", "mse"),
    ((7,), "tanh", "kaiming", "plain", "bce"),
    ((6, 5, 4), "relu", "kaiming", "squares", "mse"),
    ((5, 5, 5, 5, 5, 5), "sigmoid", "xavier", "plain", "mse"),
    ((3,), "relu", "normal", "squares", "bce"),
    ((10, 5), "relu", "zeros", "plain", "mse"),
    ((), "relu", "zeros", "squares", "mse"),
]


@pytest.mark.parametrize("backprop", ["autograd", "manual"])
@pytest.mark.parametrize("hidden, activation, init, features, loss", DEPTHS)
def test_depth_inputs_and_zero_weights_follow_the_posts_listing(
    hidden: tuple[int, ...], activation: str, init: str, features: str, loss: str,
    backprop: str,
) -> None:  # fmt: skip
    argv = ["--seed", "8", "--samples", "1500", "--epochs", "120", "--lr", "1.5"]
    argv += ["--hidden", ",".join(map(str, hidden)) or "none", "--init", init]
    argv += ["--activation", activation, "--features", features, "--loss", loss]
    result = run_json("--device", "cpu", *argv, "--backprop", backprop)
    if loss == "bce" and backprop == "manual":  # the exact gradient: torch's on logits
        loss = "bce_with_logits"
    listing = post_listing(8, 1500, 120, 1.5, loss, hidden, activation, init, features)
    assert rounded_figures(result) == rounded_figures(listing)
    assert result["dead_neurons"] == listing["dead_neurons"]
    if (
        backprop == "autograd" and loss == "mse"
    ):  # the listing's arithmetic: every digit
        assert {key: result[key] for key in listing} == listing
    assert (result["hidden"], result["features"]) == (list(hidden), features)
    assert all(len(point) == 2 for point in result["false_negative_samples"])


@pytest.mark.parametrize("layout", ["rows", "columns"])
@pytest.mark.parametrize(
    "widths", [[2, 1], [2, 4, 1], [4, 3, 6, 2, 1], [2, 9, 9, 9, 9, 1]]
)
def test_backprop_equals_autograd_at_any_depth(layout: str, widths: list[int]) -> None:
    product = getattr(cc, layout)
    for seed, (activation, loss) in enumerate(
        itertools.product(cc.ACTIVATIONS, cc.LOSSES)
    ):
        generator = torch.Generator().manual_seed(seed)
        X = torch.rand(50, widths[0], generator=generator, dtype=torch.float64) * 4 - 2
        Y = (torch.rand(50, 1, generator=generator, dtype=torch.float64) < 0.4).double()
        params = cc.init_layers(generator, widths)
        params = [p.double() + 0.1 * torch.randn(p.shape, generator=generator,
                  dtype=torch.float64) for p in params]  # fmt: skip
        if layout == "columns":
            X, Y, params = X.T, Y.T, columns_of(params)
        fns, g = cc.LOSSES[loss], cc.ACTIVATIONS[activation]
        leaves = [p.clone().requires_grad_() for p in params]
        L = fns.autograd(cc.network(leaves, X, g[0], product), Y)
        expected = torch.autograd.grad(L, leaves)
        if loss == "bce":  # the exact gradient: torch's on the logits
            logit = cc.layers(leaves, X, g[0], product)[-1].logit()
            L = F.binary_cross_entropy_with_logits(logit, Y)
            expected = torch.autograd.grad(L, leaves)
        ours = cc.backprop(params, X, Y, fns.dA, g, product)
        assert len(ours) == len(params)
        for grad, oracle in zip(ours, expected):
            assert_close_to_scale(grad, oracle, 1e-8)


def test_zero_weights_learn_nothing_in_a_hidden_layer() -> None:
    # every hidden neuron computes relu(0) = 0 for every point: no weight gets a
    # gradient (each is its input, 0, times dA; dA is W's 0 times that), only b3
    result = run_json("--device", "cpu", "--init", "zeros", "--epochs", "200")
    assert result["learned_nothing"] and result["dead_neurons"] == [10, 5]
    _, _, _, _, *params = draw(1337, 10000, cc.Choice(init="zeros"))
    assert all(not W.any() for W in params[::2])
    X, Y, *_ = draw(1337, 2000)
    grads = cc.backprop(params, X, Y)
    assert all(not dW.any() for dW in grads[:-1]) and grads[-1].item() != 0
    # one neuron on the squares has no symmetry to break: from zero, it learns
    squares = ["--hidden", "none", "--features", "squares", "--init", "zeros"]
    assert not run_json("--device", "cpu", *squares, "--epochs", "200")[
        "learned_nothing"
    ]


def test_the_squares_are_fed_after_the_posts_draws() -> None:
    X_train, Y_train, X_dev, _, W1, *_ = draw(
        1337, 10000, cc.Choice(features="squares")
    )
    plain_train, plain_Y, plain_dev, *_ = draw(1337, 10000)
    assert torch.equal(X_train, torch.cat([plain_train, plain_train**2], 1))
    assert torch.equal(X_dev[:, :2], plain_dev) and torch.equal(Y_train, plain_Y)
    generator = torch.Generator().manual_seed(1337)
    torch.rand(10000, 3, generator=generator)  # X and P, as generate_datasets draws
    assert W1.shape == (4, 10)
    assert torch.equal(W1, torch.randn(4, 10, generator=generator))


def test_the_report_and_json_name_the_depth_and_the_inputs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["--device", "cpu", "--epochs", "3", "--samples", "300"]
    deep = (
        "network 4-8-8-8-8-1 on x1, x2, x1^2, x2^2: relu hidden layers, normal "
        "initial weights"
    )
    none = "network 2-1 on x1, x2: no hidden layer, normal initial weights"
    for extra, network, dead in [
        (["--hidden", "8,8,8,8", "--features", "squares"], deep,
         r"\d of 8, \d of 8, \d of 8, \d of 8  \(no gradient"),
        (["--hidden", "none"], none, "none: no hidden layer"),
    ]:  # fmt: skip
        assert cc.main([*argv, *extra]) == 0
        report = capsys.readouterr().out
        assert report_line(report, "network ") == network
        assert re.search("dead neurons    = " + dead, report)
    result = run_json(*argv, "--hidden", "none")
    assert (result["hidden"], result["features"], result["dead_neurons"]) == (
        [], "plain", []
    )  # fmt: skip


def test_a_comparison_of_depths_and_inputs_gives_each_row_its_single_run(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["--device", "cpu", "--epochs", "80", "--samples", "1200", "--seeds", "2"]
    argv += [
        "--lr",
        "2",
        "--hidden",
        "none",
        "6",
        "5,5,5",
        "--features",
        "plain",
        "squares",
    ]
    result = run_json(*argv)
    combos = [(h, f) for h in ([], [6], [5, 5, 5]) for f in ("plain", "squares")]
    assert [(c["hidden"], c["features"]) for c in result["choices"]] == combos
    for k, (hidden, features) in enumerate(combos):
        rows = result["runs"][2 * k : 2 * k + 2]
        flags = [
            "--hidden",
            ",".join(map(str, hidden)) or "none",
            "--features",
            features,
        ]
        singles = [run_json(*argv[:6], "--lr", "2", *flags, "--seed", str(seed))
                   for seed in (1337, 1338)]  # fmt: skip
        assert_like_their_single_runs(rows, singles)
        assert all(len(r["dead_neurons"]) == len(hidden) for r in rows)
    assert cc.main(argv) == 0
    table = capsys.readouterr().out.split("\n\n")[1].splitlines()
    assert len(table) == 1 + 6 + 2
    assert [line.split()[1] + " " + line.split()[4] for line in table[1:7]] == [
        f"{','.join(map(str, h)) or 'none'} {f}" for h, f in combos
    ]


# What a hostile user found


def test_rates_print_as_given(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--device", "cpu", "--epochs", "150", "--samples", "1500", "--seeds", "2"]
    result = run_json(*argv, "--lr", "2.1234567", "2.5000001")
    assert [c["lr"] for c in result["choices"]] == [2.1234567, 2.5000001]
    assert cc.main([*argv, "--lr", "2.1234567", "2.5000001"]) == 0
    rows, table = capsys.readouterr().out.split("\n\n")
    assert [row.split()[1] for row in rows.splitlines()] == ["2.1234567"] * 2 + [
        "2.5000001"
    ] * 2  # fmt: skip
    assert [line.split()[0] for line in table.splitlines()[1:3]] == [
        "2.1234567", "2.5000001"
    ]  # fmt: skip
    assert re.search(r"--lr (2\.1234567|2\.5000001) --hidden", table.splitlines()[-2])
    assert cc.main(["--device", "cpu", "--epochs", "3", "--lr", "2.1234567"]) == 0
    assert report_line(capsys.readouterr().out, "fit: ").startswith(
        "fit: 3 epochs, lr 2.1234567, "
    )
    # two spellings of one float are one value
    message = refused([*argv, "--lr", "0.5", "0.50000000000000001"], capsys)
    assert message == "--lr: each value once, not [0.5, 0.5]"


def test_one_misclassified_point_prints_its_distance_once() -> None:
    result = run_json("--device", "cpu", "--epochs", "0", "--samples", "300")
    one = result | {
        "false_positive_samples": [[0.6, 0.8]],
        "false_negative_samples": [],
    }
    lines = cc.format_report(one).splitlines()
    assert "misclassified dev points: 1, at 1.0000 from the origin" in lines


def test_a_sweep_rows_fit_is_its_share_of_its_groups(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ticks = iter(range(0, 10**6, 12))  # every reading of the clock 12 s after the last
    monkeypatch.setattr(time, "perf_counter", lambda: next(ticks))
    result = run_json(
        "--device", "cpu", "--epochs", "2", "--samples", "300", "--seeds", "3"
    )
    # one group of three: its fit timed once, 12 s, a third of it each
    assert [r["fit_seconds"] for r in result["runs"]] == [4.0] * 3


def test_a_closed_stdout_is_one_line_on_stderr() -> None:
    run = shell("SCRIPT --device cpu --samples 300 --epochs 0 >&-")
    assert run.returncode == 2
    message = "circle_classifier.py: error: cannot write the output: stdout is closed"
    assert run.stderr == message + "\n"
    run = shell("SCRIPT --device cpu --samples 300 --epochs 0 >&- 2>&-")
    assert (run.returncode, run.stdout) == (2, "")


def test_a_closed_or_full_stderr_keeps_the_log_off_stdout() -> None:
    command = "SCRIPT --device cpu --samples 300 --epochs 4 --log-every 2 --json"
    run = shell(command + " 2>&-")
    assert run.returncode == 0 and json.loads(run.stdout)["loss_history"][-1][0] == 4
    if Path("/dev/full").exists():  # the log cannot be written: a failed write, 2
        run = shell(command + " 2>/dev/full")
        assert (run.returncode, run.stdout) == (2, "")
        run = shell("SCRIPT --device cpu --samples 300 --epochs 4 --json 2>/dev/full")
        assert run.returncode == 0 and json.loads(run.stdout)["epochs"] == 4


def test_a_comparison_confirms_its_best_on_fresh_seeds(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["--device", "cpu", "--epochs", "100", "--samples", "1500", "--seeds", "3"]
    argv += ["--lr", "0.5", "4"]
    result = run_json(*argv)
    chosen = cc.best(result["choices"])
    confirmed = result["confirmed"]
    assert confirmed["lr"] == chosen["lr"] and confirmed["summary"]["seeds"] == [
        1340, 1342
    ]  # fmt: skip
    # the best's own sweep of the three seeds after those compared
    alone = run_json(*argv[:8], "--lr", repr(chosen["lr"]), "--seed", "1340")
    assert confirmed["summary"] == alone["summary"]
    assert cc.main(argv) == 0
    last = capsys.readouterr().out.splitlines()[-1]
    assert last == cc.format_confirmation(alone["summary"])
    assert last.startswith("the best, again on fresh seeds 1340 to 1342: ")
    # no best, nothing to confirm; no comparison, no confirmation
    assert "confirmed" not in run_json(*argv[:8])


def test_a_logged_run_draws_its_losses(post_run: dict) -> None:
    report = cc.format_report(post_run).splitlines()
    top = report.index("loss (log scale): t train, d dev, * both")
    chart = report[top + 1 : top + 11]
    assert [line[9] for line in chart] == ["|"] * 10
    # ten logs, one column each: both curves fall, the first epoch at the left
    columns = [
        "".join(line[10:][c : c + 1] or " " for line in chart) for c in range(50)
    ]
    drawn = [(c, col) for c, col in enumerate(columns) if col.strip()]
    assert len(drawn) == 10 and drawn[0][0] == 0 and drawn[-1][0] == 49
    assert drawn[0][1].index(drawn[0][1].strip()[0]) < drawn[-1][1].rindex(
        drawn[-1][1].strip()[-1]
    )  # fmt: skip
    assert report[top + 12].split() == ["epoch", "100", "1000"]
    epoch, _, dev = min(post_run["loss_history"], key=lambda h: h[2])
    assert report[top + 13].endswith(
        f"^ the lowest dev_loss, {dev:.6f}, at epoch {epoch}"
    )
    assert report[top + 13].index("^") == 10 + round((epoch - 100) / 900 * 49)
    # not for a run without a log
    assert "loss (log scale)" not in cc.format_report(post_run | {"loss_history": []})


def test_a_seeds_row_is_the_same_in_any_group_to_the_last_digit() -> None:
    # at a chaotic rate too, where a last bit decides: seed 1340 beside other seeds
    argv = ["--device", "cpu", "--lr", "20", "--epochs", "300", "--samples", "1000"]
    rows = []
    for first, seeds in [("1337", "10"), ("1340", "2"), ("1339", "5")]:
        runs = run_json(*argv, "--seed", first, "--seeds", seeds)["runs"]
        rows += [r | {"fit_seconds": 0} for r in runs if r["seed"] == 1340]
    assert rows[0] == rows[1] == rows[2]


FAULTS = """
import resource, sys
import circle_classifier as cc
args = cc.build_parser().parse_args(["--device", "cpu", "--backprop", sys.argv[1]])
runs = [cc.prepare(seed, args, cc.Choice()) for seed in range(8)]
for epochs in (5, 5, 20):  # the heap grows to its size in the first calls
    args.epochs = epochs
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    cc.train_together(runs, args, cc.Choice())
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(
    sys.platform != "linux" or platform.libc_ver()[0] != "glibc",
    reason="counts the page faults of glibc's allocator",
)
@pytest.mark.parametrize("backprop", ["autograd", "manual"])
def test_a_stacks_epochs_fault_no_memory_in(backprop: str) -> None:
    # without the 31 MiB block freed first, glibc gives a chunk's freed tensors back
    # to the system and faults them in again: 8,000 to 56,000 pages in 20 epochs
    # here, against 200 at most with it. A fresh process: one that has freed a large
    # tensor before would not show it.
    here = Path(cc.__file__).parent
    command = [sys.executable, "-c", FAULTS, backprop]
    run = subprocess.run(command, cwd=here, capture_output=True, text=True, check=True)
    assert int(run.stdout) < 1000, f"{run.stdout} pages faulted in over 20 epochs"
