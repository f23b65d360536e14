"""What circle_classifier.py promises, as tests. The post's figures appear only here."""

import contextlib
import io
import itertools
import json
import math
import os
import signal
import subprocess
import sys
from argparse import Namespace
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from benchmark import torch_network

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


# The post's figures and output, character for character (seed 1337, 10,000 points,
# 1,000 epochs, lr 0.5). Digits past these depend on the machine and are not pinned.
POST_COUNTS = {
    "true_positives": 45,
    "false_positives": 1,
    "true_negatives": 1965,
    "false_negatives": 4,
}
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

# The post's own driver, as the post writes it after its functions.
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
CPU = ["--device", "cpu"]
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")


def run_json(*argv: Any) -> dict:
    """main() in this process with --json: what it printed, parsed."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert cc.main([*CPU, *map(str, argv), "--json"]) == 0
    return json.loads(out.getvalue())


def script(*argv: Any, **options: Any) -> subprocess.CompletedProcess:
    """The script as a user's shell runs it: output to pipes, so block-buffered."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    command = [sys.executable, "-W", "error", cc.__file__, *map(str, argv)]
    options = {"capture_output": True, "text": True, "env": env, **options}
    return subprocess.run(command, check=False, **options)


def refused(argv: list, capsys: pytest.CaptureFixture[str]) -> str:
    """main(argv) must exit with 2, print nothing on stdout and one line on stderr."""
    with pytest.raises(SystemExit) as exit:
        cc.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert exit.value.code == 2 and out == "" and err.count("\n") == 1
    return err


def args_of(**settings: Any) -> Namespace:
    """The script's arguments at the post's values, but for `settings`."""
    return Namespace(**vars(cc.build_parser().parse_args(CPU)) | settings)


# An independent oracle: the post's listing, written again in its own loop, sharing no
# code with the script, and generalised to each choice the script offers.
LISTING_LOSSES = {
    "mse": lambda Y_pred, Y: torch.mean((Y_pred - Y) ** 2),
    "bce": lambda Y_pred, Y: F.binary_cross_entropy(Y_pred, Y),
}
LISTING_ACTIVATIONS = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}
LISTING_SCALES = {
    "zeros": lambda i, o: 0.0,
    "normal": lambda i, o: 1.0,
    "kaiming": lambda i, o: math.sqrt(2 / i),
    "xavier": lambda i, o: math.sqrt(2 / (i + o)),
}


POSTS_CHOICES = {
    "seed": 1337,
    "samples": 10000,
    "epochs": 1000,
    "lr": 0.5,
    "loss": "mse",
}
POSTS_CHOICES |= {"hidden": (10, 5), "activation": "relu", "init": "normal"}


def post_listing(**choices: Any) -> dict:
    """The figures of the post's listing at these choices, on this machine."""
    c = Namespace(**POSTS_CHOICES | {"features": "plain"} | choices)
    L, g = LISTING_LOSSES[c.loss], LISTING_ACTIVATIONS[c.activation]
    gen = torch.Generator().manual_seed(c.seed)
    X = torch.rand(c.samples, 2, generator=gen) * 10 - 5
    Y = (X[:, 0] ** 2 + X[:, 1] ** 2 < 1).float().unsqueeze(1)
    P = torch.rand(c.samples, generator=gen)
    X_train, Y_train, X_dev, Y_dev = X[P < 0.8], Y[P < 0.8], X[P >= 0.8], Y[P >= 0.8]
    widths = [2 if c.features == "plain" else 4, *c.hidden, 1]
    params = []
    for i, o in itertools.pairwise(widths):
        W = torch.randn(i, o, generator=gen) * LISTING_SCALES[c.init](i, o)
        params += [W.requires_grad_(), torch.zeros(o, requires_grad=True)]

    def forward(X: torch.Tensor) -> list[torch.Tensor]:
        h = [X if c.features == "plain" else torch.cat([X, X * X], 1)]
        for k in range(0, len(params) - 2, 2):
            h.append(g(h[-1] @ params[k] + params[k + 1]))
        return h + [torch.sigmoid(h[-1] @ params[-2] + params[-1])]

    for _ in range(c.epochs):
        L(forward(X_train)[-1], Y_train).backward()
        with torch.no_grad():
            for p in params:
                p -= c.lr * p.grad
                p.grad.zero_()
    with torch.no_grad():
        hidden_outputs = forward(X_train)[1:-1]
        train_loss = L(forward(X_train)[-1], Y_train).item()
        Y_pred = forward(X_dev)[-1]
        dev_loss = L(Y_pred, Y_dev).item()
    flat = {"relu": [0.0], "tanh": [-1.0, 1.0], "sigmoid": [0.0, 1.0]}[c.activation]
    dead = [int(torch.isin(h, torch.tensor(flat)).all(0).sum()) for h in hidden_outputs]
    said, truth = Y_pred.squeeze(1) > 0.5, Y_dev.squeeze(1) == 1
    cells = [said & truth, said & ~truth, ~said & ~truth, ~said & truth]
    return {
        "dev_loss": dev_loss,
        "train_loss": train_loss,
        **{k: int(c.sum()) for k, c in zip(POST_COUNTS, cells)},
        "false_positive_samples": X_dev[said & ~truth].tolist(),
        "false_negative_samples": X_dev[~said & truth].tolist(),
        "n_train": len(X_train),
        "n_dev": len(X_dev),
        "dead_neurons": dead,
    }


def printed(r: dict) -> dict:
    """A run's figures at the precision the post prints them."""
    figures = {k: r[k] for k in POST_COUNTS} | {"dev_loss": f"{r['dev_loss']:.4f}"}
    points = r["false_positive_samples"] + r["false_negative_samples"]
    return figures | {"points": [[round(x, 4) for x in p] for p in points]}


@pytest.fixture(scope="session")
def post_run() -> dict:
    """The post's run, through main(), with a log and a map."""
    return run_json("--log-every", 100, "--boundary")


@pytest.fixture(scope="session")
def listing_run() -> dict:
    return post_listing()


def test_reproduces_published_figures(post_run: dict) -> None:
    assert f"{post_run['dev_loss']:.4f}" == "0.0027"
    assert {key: post_run[key] for key in POST_COUNTS} == POST_COUNTS
    report = cc.format_report(post_run)
    assert report.startswith(POST_OUTPUT + "\n\n")
    assert (post_run["n_train"], post_run["n_dev"]) == (7985, 2015)


def test_computes_bit_for_bit_what_the_posts_listing_computes(
    post_run: dict, listing_run: dict
) -> None:
    assert {key: post_run[key] for key in listing_run} == listing_run


def test_the_posts_driver_runs_against_the_module(
    listing_run: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    namespace: dict[str, Any] = {}
    driver = "import torch\nfrom circle_classifier import *\n" + POST_DRIVER
    exec(driver, namespace)  # noqa: S102 (the post's own code, above)
    assert capsys.readouterr().out == POST_OUTPUT + "\n"
    assert namespace["dev_loss"].item() == listing_run["dev_loss"]


def edited(name: str) -> dict[str, Any]:
    """The module as a learner leaves it after putting a raise at the top of `name`."""
    source = Path(cc.__file__).read_text()
    start = source.index(f"def {name}(")
    body = (
        source.index('"""\n', source.index('"""', start) + 3) + 4
    )  # after the docstring
    source = source[:body] + f"    raise AssertionError('{name} ran')\n" + source[body:]
    namespace = {"__name__": "edited"}
    exec(compile(source, cc.__file__, "exec"), namespace)  # noqa: S102
    return namespace


POSTS = ["generate_datasets", "init_network", "forward_pass", "mean_squared_error"]


@pytest.mark.parametrize(
    "name, argv",
    [(name, []) for name in [*POSTS, "fit", "evaluate"]]
    + [("forward_pass", ["--log-every", 100, "--boundary"])]
    + [("backward_pass", ["--backprop", "manual"])]
    + [("fit_by_hand", ["--backprop", "manual"])],
)
def test_what_runs_at_the_posts_choices_is_the_posts_own_code(
    name: str, argv: list
) -> None:
    # a learner who edits one of them sees the change in the run
    main = edited(name)["main"]
    with pytest.raises(AssertionError, match=f"{name} ran"):
        main([*CPU, "--samples", "1000", *map(str, argv)])


@pytest.mark.parametrize(
    "choices",
    [
        {"seed": 7, "samples": 3000, "epochs": 200},
        {"lr": 1.3, "samples": 2000, "epochs": 150},
        {"hidden": (6, 4, 3), "init": "kaiming", "samples": 3000, "epochs": 300},
        {"hidden": (), "features": "squares", "epochs": 200},
        {"activation": "tanh", "init": "xavier", "samples": 3000, "epochs": 200},
        {"activation": "sigmoid", "init": "zeros", "epochs": 50},
        {"loss": "bce", "samples": 4000, "epochs": 300},
        {"epochs": 0},
    ],
)
def test_single_runs_compute_what_the_listing_computes(choices: dict) -> None:
    argv = [x for k, v in choices.items() for x in (f"--{k}", cc.flag_text(v))]
    result = run_json(*argv)
    listing = post_listing(**choices)
    assert {key: result[key] for key in listing} == listing


# The data, the network and its figures, against the post's table


def test_draws_follow_the_posts_order() -> None:
    generator = torch.Generator().manual_seed(1337)
    X = torch.rand(10000, 2, generator=generator) * 10 - 5
    P = torch.rand(10000, generator=generator)
    weights = [torch.randn(*s, generator=generator) for s in [(2, 10), (10, 5), (5, 1)]]
    (X_train, Y_train, X_dev, _), params = cc.prepare(1337, args_of(), cc.Choice())
    assert torch.equal(X_train, X[P < 0.8]) and torch.equal(X_dev, X[P >= 0.8])
    assert all(torch.equal(ours.detach(), w) for ours, w in zip(params[::2], weights))
    assert all(not b.any() for b in params[1::2])  # biases start at zero
    assert torch.equal(Y_train.squeeze(1), (X_train.norm(dim=1) < 1).float())
    shapes = [(2, 10), (10,), (10, 5), (5,), (5, 1), (1,)]
    assert [tuple(p.shape) for p in params] == shapes
    assert all(p.is_leaf and p.requires_grad for p in cc.init_network(generator))


def test_an_output_of_exactly_one_half_says_outside() -> None:
    params = [torch.zeros(2, 10), torch.zeros(10), torch.zeros(10, 5), torch.zeros(5)]
    params += [torch.zeros(5, 1), torch.zeros(1)]  # sigmoid(0) = 0.5 everywhere
    result = cc.evaluate(params, torch.tensor([[0.0, 0.0]]), torch.tensor([[1.0]]))
    assert result["false_negatives"] == 1 and result["true_positives"] == 0


def test_the_general_network_at_the_posts_choice_is_the_posts_bit_for_bit() -> None:
    (X, Y, *_), params = cc.prepare(3, args_of(samples=500), cc.Choice())
    assert torch.equal(cc.network(params, X), cc.forward_pass(params, X))
    general = [p.detach().clone().requires_grad_() for p in params]
    cc.fit(params, X, Y, epochs=20)
    cc.fit(general, X, Y, epochs=20, forward=cc.network)
    assert all(torch.equal(a, b) for a, b in zip(params, general))


def test_matches_torch_nn() -> None:
    # torch.nn's layers and loss, from the same initial weights, train the same (plain
    # gradient descent, as torch.optim.SGD steps; its first step imports a second's code)
    (X, Y, *_), params = cc.prepare(11, args_of(samples=2000), cc.Choice())
    model = torch_network(params)
    for _ in range(50):
        model.zero_grad()
        F.mse_loss(model(X), Y).backward()
        with torch.no_grad():
            for p in model.parameters():
                p -= 0.5 * p.grad
    cc.fit(params, X, Y, epochs=50)
    for layer, W in zip(model[::2], params[::2]):
        torch.testing.assert_close(layer.weight.T, W.detach(), rtol=1e-4, atol=1e-5)


# Backpropagation by hand, against autograd and finite differences


def double_case(seed: int, widths: list[int], n: int = 40) -> tuple:
    """Points, labels and parameters in float64, where the two ways agree to 1e-12."""
    gen = torch.Generator().manual_seed(seed)
    X = (torch.rand(n, widths[0], generator=gen, dtype=torch.float64) - 0.5) * 4
    Y = (torch.rand(n, 1, generator=gen, dtype=torch.float64) < 0.3).double()
    params = []
    for i, o in itertools.pairwise(widths):
        params += [torch.randn(i, o, generator=gen, dtype=torch.float64)]
        params += [torch.randn(o, generator=gen, dtype=torch.float64) * 0.1]
    return X, Y, params


def autograd_gradients(params: list, X: Any, Y: Any, forward: Any, loss: Any) -> list:
    leaves = [p.clone().requires_grad_() for p in params]
    return list(torch.autograd.grad(loss(forward(leaves, X), Y), leaves))


def test_backward_pass_equals_autograd_and_the_general_loop() -> None:
    X, Y, params = double_case(1, [2, 10, 5, 1])
    by_hand = cc.backward_pass(params, X, Y)
    oracle = autograd_gradients(params, X, Y, cc.forward_pass, cc.mean_squared_error)
    general = cc.backprop(params, X, Y, 1 / len(Y), cc.squared_error_dA, "relu")
    for ours, theirs, loop in zip(by_hand, oracle, general):
        assert ours.shape == theirs.shape
        torch.testing.assert_close(ours, theirs, rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(loop, ours, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
@pytest.mark.parametrize("widths", [[2, 1], [4, 7, 1], [2, 6, 5, 4, 3, 1]])
@pytest.mark.parametrize("loss", ["mse", "bce"])
def test_backprop_equals_autograd_at_any_depth(
    activation: str, widths: list[int], loss: str
) -> None:
    X, Y, params = double_case(2, widths)
    g = cc.ACTIVATIONS[activation][0]
    leaves = [p.clone().requires_grad_() for p in params]
    if loss == "mse":
        L = cc.mean_squared_error(cc.network(leaves, X, g), Y)
    else:  # the exact cross entropy's gradient: what torch's with-logits one gives
        logits = cc.layers(leaves, X, g)[-2] @ leaves[-2] + leaves[-1]
        L = F.binary_cross_entropy_with_logits(logits, Y)
    oracle = torch.autograd.grad(L, leaves)
    ours = cc.backprop(params, X, Y, 1 / len(Y), cc.LOSSES[loss].dA, activation)
    for a, b in zip(ours, oracle):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
    # and in the exercise's layout, every tensor transposed
    columns = [p.mT if p.dim() == 2 else p[:, None] for p in params]
    ours_t = cc.backprop(
        columns, X.T, Y.T, 1 / len(Y), cc.LOSSES[loss].dA, activation, True
    )
    for a, b in zip(ours_t, oracle):
        torch.testing.assert_close(a, b.mT if b.dim() == 2 else b[:, None])


def test_backward_pass_equals_finite_differences() -> None:
    X, Y, params = double_case(3, [2, 10, 5, 1])
    grads = cc.backward_pass(params, X, Y)
    for k, index in [(0, (1, 3)), (1, (4,)), (2, (7, 2)), (4, (3, 0)), (5, (0,))]:
        loss = []
        for step in (1e-6, -1e-6):
            nudged = [p.clone() for p in params]
            nudged[k][index] += step
            loss.append(cc.mean_squared_error(cc.forward_pass(nudged, X), Y).item())
        assert abs((loss[0] - loss[1]) / 2e-6 - grads[k][index].item()) < 1e-7


def test_dead_relus_get_no_gradient() -> None:
    # a neuron whose sum is negative at every point outputs 0, passes back 0, learns 0
    X, Y, params = double_case(4, [2, 10, 5, 1])
    params[1][3] = -100.0  # neuron 4 of the first layer: off everywhere
    dW1, db1, dW2, *_ = cc.backward_pass(params, X, Y)
    assert not dW1[:, 3].any() and db1[3] == 0 and not dW2[3].any()
    assert dW1[:, 2].any()


def test_zero_weights_learn_nothing() -> None:
    # every hidden neuron outputs relu(0) = 0: only the output's bias learns
    run = run_json("--init", "zeros", "--epochs", 100, "--samples", 3000)
    assert run["dead_neurons"] == [10, 5] and run["learned_nothing"]


def test_one_neuron_on_the_squares_learns() -> None:
    # in (x1^2, x2^2) the circle is a line, which one neuron can draw, from zeros too
    run = run_json("--hidden", "none", "--features", "squares", "--init", "zeros")
    assert not run["learned_nothing"] and run["accuracy"] > 0.99
    plain = run_json("--hidden", "none", "--epochs", 300)  # no line encloses a circle
    assert plain["learned_nothing"]


def test_the_exercise_examples_as_columns() -> None:
    (X, Y, *_), params = cc.prepare(1337, args_of(samples=3000), cc.Choice())
    columns = [(p.mT if p.dim() == 2 else p[:, None]).detach().clone() for p in params]
    columns = [p.requires_grad_() for p in columns]
    assert cc.forward_columns(columns, X.T).shape == (1, len(X))
    cc.fit(columns, X.T, Y.T, epochs=100, forward=cc.forward_columns)
    cc.fit(params, X, Y, epochs=100)
    for ours, rows in zip(columns, params):
        rows = rows.detach()
        torch.testing.assert_close(
            ours.detach(), rows.mT if rows.dim() == 2 else rows[:, None]
        )


def test_manual_backprop_reproduces_the_posts_figures(listing_run: dict) -> None:
    assert printed(run_json("--backprop", "manual")) == printed(listing_run)


# Many seeds at once: a stack


def test_a_stack_trains_each_network_as_it_trains_alone() -> None:
    # in float64 and over sets of different lengths: padding, and each its own mean
    for loss, method, activation in [
        ("mse", "autograd", "relu"),
        ("bce", "manual", "tanh"),
    ]:
        args = args_of(samples=3000, epochs=30, loss=loss, backprop=method)
        choice = cc.Choice(2.0, (6, 4), activation, "kaiming")
        runs = [cc.prepare(seed, args, choice) for seed in (1, 2, 3)]
        runs = [
            ([T.double() for T in data], [p.double() for p in ps]) for data, ps in runs
        ]
        assert len({len(data[0]) for data, _ in runs}) > 1
        nets, seen = cc.train_stack(runs, choice, args)
        for (data, params), net in zip(runs, nets):
            params = [p.detach().clone().requires_grad_() for p in params]
            forward = cc.forward_of(choice, loss)
            cc.fit(params, data[0], data[1], 30, 2.0, forward, cc.LOSSES[loss].mean)
            for ours, alone in zip(net, params):
                torch.testing.assert_close(ours, alone.detach(), rtol=1e-9, atol=1e-11)
        assert seen == [30, 30, 30]


def test_a_sweeps_rows_are_their_single_runs_at_the_printed_precision() -> None:
    sweep = run_json("--seeds", 3, "--samples", 2000, "--epochs", 200, "--lr", 2)
    assert [r["seed"] for r in sweep["runs"]] == [1337, 1338, 1339]
    for row in sweep["runs"]:
        alone = run_json(
            "--seed", row["seed"], "--samples", 2000, "--epochs", 200, "--lr", 2
        )
        assert printed(row) == printed(alone)


def test_a_seeds_row_is_the_same_in_any_group(monkeypatch: pytest.MonkeyPatch) -> None:
    # at a chaotic rate too, where the last bit decides: seed 1340 beside others
    argv = ["--lr", 20, "--epochs", 300, "--samples", 1000]
    rows = []
    for first, seeds, group in [(1337, 6, 16), (1340, 2, 16), (1339, 3, 2)]:
        monkeypatch.setattr(cc, "GROUP", group)
        runs = run_json(*argv, "--seed", first, "--seeds", seeds)["runs"]
        rows += [r | {"fit_seconds": 0} for r in runs if r["seed"] == 1340]
    assert rows[0] == rows[1] == rows[2]


def test_a_stacked_run_by_hand_gives_the_rows_of_autograd() -> None:
    argv = ["--seeds", 2, "--samples", 2000, "--epochs", 100, "--activation", "tanh"]
    by_hand = run_json(*argv, "--backprop", "manual")["runs"]
    assert [printed(r) for r in by_hand] == [
        printed(r) for r in run_json(*argv)["runs"]
    ]


def made_run(seed: int, dev_loss: float, mistakes: int, nothing: bool = False) -> dict:
    return {
        "seed": seed,
        "dev_loss": dev_loss,
        "false_positives": 0,
        "false_negatives": mistakes,
        "learned_nothing": nothing,
        "dead_neurons": [0, 1],
        "relative_losses": [0.1, 0.2 if seed % 2 else 0.05],
    }


def test_the_summary_of_hand_made_runs() -> None:
    runs = [made_run(1, 0.004, 6), made_run(2, 0.002, 2), made_run(3, 0.03, 50, True)]
    runs.append(
        {"seed": 4, "error": "training diverged by epoch 100", "diverged": True}
    )
    s = cc.summarize(runs, seed=1)
    assert s["learned_nothing"] == [3] and s["diverged"] == [4] and s["failed"] == []
    assert s["mistakes"] == {"min": 2, "q1": 4, "median": 6, "q3": 28, "max": 50}
    assert s["rank"] == {"seed": 1, "rank": 2, "of": 3}
    assert s["relative_loss"]["worse_on_dev"] == 2 and cc.failures(s) == 2
    text = cc.format_summary(s)
    assert "learned nothing: 1 (seeds 3)" in text and "diverged: 1 (seeds 4)" in text
    assert "seed 1 ranks 2 of 3" in text


def test_a_comparison_shows_the_choices_that_vary_its_best_and_confirms_it() -> None:
    result = run_json("--lr", 0.5, 4, "--seeds", 3, "--samples", 2000, "--epochs", 200)
    assert [c["lr"] for c in result["choices"]] == [0.5, 4.0]
    assert len(result["runs"]) == 6
    best = min(result["choices"], key=lambda c: cc.score(c["summary"]))
    assert result["confirmed"]["lr"] == best["lr"]
    assert result["confirmed"]["summary"]["seeds"] == [1340, 1342]
    # the confirmation's count of failed runs counts those that learned nothing
    again = run_json(
        "--lr",
        best["lr"],
        "--seed",
        1340,
        "--seeds",
        3,
        "--samples",
        2000,
        "--epochs",
        200,
    )
    assert cc.failures(result["confirmed"]["summary"]) == len(
        again["summary"]["learned_nothing"]
    )


def test_a_comparisons_lines_are_at_most_100_characters(capsys: Any) -> None:
    for varied in [["--lr", 0.5, 2], ["--hidden", "10,5", "10,10,10,10,10,10"]]:
        argv = [*varied, "--seeds", 2, "--samples", 500, "--epochs", 20]
        assert cc.main([*CPU, *map(str, argv)]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert max(map(len, lines)) <= 100
        table = lines[lines.index("") + 2]  # the header, under "N runs each, ..."
        assert table.split()[0] == varied[0][2:] and "activation" not in table


def test_the_best_is_the_most_reliable_first() -> None:
    reliable = {
        "summary": cc.summarize([made_run(1, 0.01, 9), made_run(2, 0.01, 9)], 1)
    }
    lucky = [made_run(1, 0.001, 1), made_run(2, 0.03, 50, True)]
    lucky = {"summary": cc.summarize(lucky, 1)}
    assert min([lucky, reliable], key=lambda c: cc.score(c["summary"])) is reliable


# The log, the chart and the map


def test_a_log_prints_every_n_epochs_and_the_last(capsys: Any) -> None:
    assert (
        cc.main([*CPU, *["--samples", "1000", "--epochs", "250", "--log-every", "70"]])
        == 0
    )
    err = capsys.readouterr().err.splitlines()
    assert [int(line.split()[1]) for line in err] == [70, 140, 210, 250]


def test_a_logged_epoch_is_what_the_listing_computes_after_so_many(
    post_run: dict,
) -> None:
    epochs = [entry[0] for entry in post_run["loss_history"]]
    assert epochs == list(range(100, 1001, 100))
    epoch, train_loss, dev_loss = post_run["loss_history"][2]
    listing = post_listing(epochs=epoch)
    assert (train_loss, dev_loss) == (listing["train_loss"], listing["dev_loss"])
    assert post_run["loss_history"][-1][1:] == [
        post_run["train_loss"],
        post_run["dev_loss"],
    ]


def test_the_chart_draws_the_losses_on_a_log_scale() -> None:
    history = [[100, 1e-1, 1e-1], [200, 1e-2, 1e-3], [300, 1e-3, 1e-2]]
    chart = cc.loss_chart(history, rows=10, cols=50)
    assert chart[1].startswith("     0.1 |*")  # the top label: the highest loss
    assert chart[10].startswith("   0.001 |")  # the bottom: the lowest
    assert chart[10][10 + 49] == "t" and chart[10][10 + 24] == "d"
    assert chart[5 + 1][10 + 49] == "d" and chart[6][10 + 24] == "t"  # 1e-2: halfway
    assert chart[12].split() == ["epoch", "100", "300"]
    assert (
        chart[13] == " " * (10 + 24) + "^ the lowest dev_loss, 0.001000, at epoch 200"
    )


def test_the_map_draws_what_the_network_says(post_run: dict) -> None:
    grid = post_run["boundary"][:25]  # then the legend
    assert {len(line) for line in grid} == {49} and "".join(grid).count("X") == 5
    assert grid[12][24] == "#" and grid[0][0] == "."
    assert {"#", "+", "-", "."} < set("".join(grid))  # the belief in four shades
    # the true circle: in every line from its top (x2 = 1) to its bottom, twice
    ring = [k for k, line in enumerate(grid) if "o" in line]
    assert ring == list(range(4, 21))
    assert all(line.index("o") < 24 < line.rindex("o") for line in grid[5:20])


def test_a_cell_is_inside_exactly_where_the_output_is_above_one_half() -> None:
    # one neuron on the squares, with a belief known in closed form:
    # sigmoid(4 - 4 x1^2 - 4 x2^2), computed here in float64 for each cell's centre
    params = [torch.tensor([[0.0], [0.0], [-4.0], [-4.0]]), torch.tensor([4.0])]
    forward = cc.forward_of(cc.Choice(hidden=(), features="squares"), "mse")
    none = {"false_positive_samples": [], "false_negative_samples": []}
    grid = cc.decision_map(params, none, forward, "squares")
    for row, col in itertools.product(range(25), range(49)):
        x1, x2 = -1.5 + col * 3 / 48, 1.5 - row * 3 / 24
        p = 1 / (1 + math.exp(-(4 - 4 * x1 * x1 - 4 * x2 * x2)))
        if grid[row][col] != "o" and min(abs(p - t) for t in (0.1, 0.5, 0.9)) > 1e-4:
            assert grid[row][col] == ".-+#"[(p > 0.1) + (p > 0.5) + (p > 0.9)]


def frames(err: str) -> list[list[str]]:
    """The maps a run drew as it trained: each under the log line of its epoch."""
    lines = err.splitlines()
    starts = [k for k, line in enumerate(lines) if "epoch" in line]
    return [lines[k : k + 28] for k in starts]


def test_a_map_at_each_logged_epoch_the_last_the_runs(capsys: Any) -> None:
    argv = [*CPU, "--samples", "2000", "--epochs", "500", "--boundary", "--log-every"]
    assert cc.main([*argv, "250", "--json"]) == 0
    out, err = capsys.readouterr()
    drawn = frames(err)  # piped: one after the other
    assert [frame[0].split()[:2] for frame in drawn] == [
        ["epoch", "250"],
        ["epoch", "500"],
    ]
    assert drawn[-1][1:] == json.loads(out)["boundary"]  # --json: the last map only
    assert drawn[0][1:] != drawn[-1][1:]


def test_on_a_terminal_each_map_redraws_the_last(
    capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stderr", Terminal())
    argv = ["--samples", "2000", "--epochs", "300", "--boundary", "--log-every", "100"]
    assert cc.main([*CPU, *argv]) == 0
    drawn = frames(sys.stderr.getvalue())
    # up 28 lines to the start of the last map, and clear what is below
    assert [frame[0][:8] for frame in drawn] == ["epoch 10", *["\033[28F\033[J"] * 2]


# The command line, as a user meets it


def test_the_script_prints_the_posts_output_first_and_no_warning() -> None:
    ran = script("--device", "cpu")  # as a user's shell runs it, warnings as errors
    assert ran.returncode == 0 and ran.stderr == ""
    assert ran.stdout.startswith(POST_OUTPUT + "\n\n")


def test_a_sweeps_rows_come_as_they_are_made_and_a_closed_pipe_ends_it_quietly() -> (
    None
):
    argv = [cc.__file__, "--device", "cpu", "--samples", "500", "--epochs", "300"]
    command = [sys.executable, *argv, "--seeds", "20"]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    options = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    with subprocess.Popen(command, env=env, **options) as process:
        first = process.stdout.readline()  # the first group's rows, to a pipe
        running = process.poll() is None  # while the second group trains
        process.stdout.close()  # as `| head -n 1` does
        err = process.stderr.read()
    assert first.startswith("seed 1337  dev_loss ") and running
    assert err == "" and process.returncode == 1


@pytest.mark.parametrize(
    "argv",
    [
        ["--epochs", "-1"],
        ["--epochs", "ten"],
        ["--lr", "0"],
        ["--lr", "inf"],
        ["--hidden", "10,0"],
        ["--hidden", "ten"],
        ["--activation", "softmax"],
        ["--seeds", "0"],
        ["--samples", "0"],
        ["--seed", "-1"],
        ["--device", "nowhere"],
        ["--seeds", "2", "--boundary"],
        ["--lr", "1", "2", "--log-every", "10"],
        ["--samples", "3"],
        ["--no-such-flag"],
        ["--seed", str(2**64)],
    ],
)
def test_a_users_mistake_is_one_line_and_status_2(argv: list, capsys: Any) -> None:
    refused([*CPU, *argv], capsys)


def test_a_divergence_is_one_line_naming_the_smallest_rate(capsys: Any) -> None:
    for loss in ["mse", "bce"]:
        err = refused([*CPU, "--lr", "1e30", "--epochs", "300", "--loss", loss], capsys)
        assert "diverged by epoch 100" in err and "--lr than 1e+30" in err
    argv = [
        "--lr",
        "3e30",
        "1e30",
        "--seeds",
        "2",
        "--samples",
        "2000",
        "--epochs",
        "200",
    ]
    with pytest.raises(SystemExit) as exit:
        cc.main([*CPU, *argv])
    out, err = capsys.readouterr()  # each run's row, then why there is no summary
    assert exit.value.code == 2 and out.count("diverged by epoch 100") == 4
    assert err.count("\n") == 1 and "--lr than 1e+30" in err


def test_an_allocation_torch_refuses_is_one_line(
    capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: Any) -> None:
        torch.empty(2**62, dtype=torch.uint8)  # torch's own refusal

    monkeypatch.setattr(cc, "generate_datasets", refuse)
    refused([*CPU], capsys)


def test_any_other_error_stays_loud(monkeypatch: pytest.MonkeyPatch) -> None:
    def bug(*args: Any) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(cc, "generate_datasets", bug)
    with pytest.raises(RuntimeError, match="a bug"):
        cc.main(CPU)


def test_ctrl_c_once_running_prints_interrupted_and_exits_130() -> None:
    argv = [cc.__file__, "--device", "cpu", "--epochs", "10**6", "--log-every", "1"]
    argv[-3] = str(10**6)
    process = subprocess.Popen(
        [sys.executable, *argv], stderr=subprocess.PIPE, text=True
    )
    process.stderr.readline()  # its first log line: it is training
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130 and err.splitlines()[-1] == "interrupted"


def test_json_is_one_object_with_the_runs_figures_and_settings(post_run: dict) -> None:
    assert {
        "seed",
        "lr",
        "hidden",
        "epochs",
        "device",
        "loss_history",
        "boundary",
    } <= set(post_run)
    assert post_run["hidden"] == [10, 5] and post_run["dead_neurons"] == [0, 1]
    summary = run_json("--seeds", 2, "--samples", 500, "--epochs", 10)
    assert set(summary) == {"runs", "summary"}


def test_the_report_measures_the_run_against_its_baselines(post_run: dict) -> None:
    report = cc.format_report(post_run)
    assert "dead neurons    = 0 of 10, 1 of 5" in report
    assert "misclassified dev points: 5, at 0.92" in report
    assert "no worse on dev" in report and "learned nothing" not in report
    assert "always outside  = accuracy 97.57%" in report


@needs_cuda
@pytest.mark.parametrize("backprop", ["autograd", "manual"])
def test_a_cuda_run_gives_the_posts_figures(backprop: str) -> None:
    run = json.loads(
        script("--device", "cuda", "--backprop", backprop, "--json").stdout
    )
    assert printed(run) == printed(post_listing()) and run["device"] == "cuda"


@needs_cuda
def test_a_cuda_sweep_gives_the_cpus_rows_at_the_printed_precision() -> None:
    argv = ["--seeds", 3, "--samples", 2000, "--epochs", 200, "--json"]
    cuda = json.loads(script("--device", "cuda", *argv).stdout)["runs"]
    cpu = json.loads(script("--device", "cpu", *argv).stdout)["runs"]
    assert [printed(r) for r in cuda] == [printed(r) for r in cpu]
