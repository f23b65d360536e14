"""Time a sweep's training against its peers. Not a test: pytest does not collect it.

    python tests/benchmark.py sweep [--seeds 48] [--epochs 200] [--repeats 5]
    python tests/benchmark.py busy [--repeats 3]

sweep: each way trains the same seeds' networks (the post's 2-10-5-1 on 10,000 points)
in a fresh process, the ways in turn, `--repeats` times; it prints each way's median
and its ratio to the peers'. The ways: a stack as the script trains it, with autograd
and by hand; PyTorch's model-ensembling recipe (torch.func.stack_module_state and
vmap); the post's listing, run seed after seed. The peers keep torch's default threads.

busy: `circle_classifier.py --seeds 10 --epochs 100`, whole, idle and then beside three
other busy torch programs; the ratio of the medians. Time nothing else meanwhile.
"""

import argparse
import copy
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
import circle_classifier as cc

WAYS = ["stack autograd", "stack manual", "ensembling recipe", "listing loop"]


def train(way: str, seeds: int, epochs: int) -> float:
    """Seconds that `way` takes to train the networks of seeds 1337, 1338, ..."""
    args = cc.build_parser().parse_args(["--device", "cpu", "--epochs", str(epochs)])
    runs = [cc.prepare(seed, args, cc.Choice()) for seed in range(1337, 1337 + seeds)]
    start = time.perf_counter()
    if way.startswith("stack"):
        torch.set_num_threads(1)  # as the script trains a stack
        args.backprop = "manual" if way == "stack manual" else "autograd"
        for i in range(0, seeds, cc.GROUP):  # what sweep() does, but for the reports
            cc.train_stack(runs[i : i + cc.GROUP], cc.Choice(), args)
    elif way == "ensembling recipe":
        ensemble(runs, epochs)
    else:
        for (X_train, Y_train, *_), params in runs:
            cc.fit(params, X_train, Y_train, epochs=epochs)
    return time.perf_counter() - start


def torch_network(params: list) -> torch.nn.Sequential:
    """The post's network as torch.nn layers, holding `params` (W1, b1, ..., rows)."""
    model = torch.nn.Sequential(
        torch.nn.Linear(2, 10),
        torch.nn.ReLU(),
        torch.nn.Linear(10, 5),
        torch.nn.ReLU(),
        torch.nn.Linear(5, 1),
        torch.nn.Sigmoid(),
    )
    with torch.no_grad():
        for layer, W, b in zip(model[::2], params[::2], params[1::2]):
            layer.weight.copy_(W.T)
            layer.bias.copy_(b)
    return model


def ensemble(runs: list, epochs: int) -> None:
    """PyTorch's model-ensembling recipe: one module per network, their parameters
    stacked by torch.func, the forward pass vmapped; each point weighs 1 / its count."""
    models, n = [], max(len(data[0]) for data, _ in runs)
    X, Y, weight = torch.zeros(len(runs), n, 2), *torch.zeros(2, len(runs), n, 1)
    for s, ((X_train, Y_train, *_), params) in enumerate(runs):
        X[s, : len(X_train)], Y[s, : len(X_train)] = X_train, Y_train
        weight[s, : len(X_train)] = 1 / len(X_train)
        model = torch_network(params)
        models.append(model)
    stacked, buffers = torch.func.stack_module_state(models)
    base = copy.deepcopy(models[0]).to("meta")

    def one_model(params: dict, buffers: dict, X: torch.Tensor) -> torch.Tensor:
        return torch.func.functional_call(base, (params, buffers), (X,))

    for _ in range(epochs):
        Y_pred = torch.vmap(one_model)(stacked, buffers, X)
        L = (((Y_pred - Y) ** 2) * weight).sum()
        grads = torch.autograd.grad(L, list(stacked.values()))
        with torch.no_grad():
            for p, grad in zip(stacked.values(), grads):
                p -= 0.5 * grad


def fresh(*argv: str) -> float:
    """Run this file again with argv in a new process; return what it printed."""
    command = [sys.executable, __file__, *argv]
    ran = subprocess.run(command, capture_output=True, text=True, check=True)
    return float(ran.stdout)


def whole(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, capture_output=True, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["sweep", "busy", "one"])
    parser.add_argument("--way", choices=WAYS)
    parser.add_argument("--seeds", type=int, default=48)
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    machine = f"torch {torch.__version__}, {torch.get_num_threads()} threads by default"
    if args.what == "one":
        print(train(args.way, args.seeds, args.epochs))
    elif args.what == "sweep":
        times = {way: [] for way in WAYS}
        size = ["--seeds", str(args.seeds), "--epochs", str(args.epochs)]
        for _ in range(args.repeats):
            for way, seconds in times.items():
                seconds.append(fresh("one", "--way", way, *size))
        print(f"{args.seeds} seeds x {args.epochs} epochs, training only; {machine}")
        median = {way: statistics.median(seconds) for way, seconds in times.items()}
        for way, seconds in times.items():
            ratios = "  ".join(
                f"{median[way] / median[peer]:.2f}x {peer}" for peer in WAYS[2:]
            )
            listed = ", ".join(f"{s:.2f}" for s in seconds)
            print(f"{way:18} median {median[way]:6.2f} s  {ratios}   ({listed})")
    else:
        script = [sys.executable, str(HERE.parent / "circle_classifier.py")]
        sweep = [*script, "--device", "cpu", "--seeds", "10", "--epochs", "100"]
        idle = [whole(sweep) for _ in range(args.repeats)]
        busy_program = [*script, "--device", "cpu", "--epochs", "100000000"]
        others = [subprocess.Popen(busy_program) for _ in range(3)]
        time.sleep(3)  # their imports done: they train
        busy = [whole(sweep) for _ in range(args.repeats)]
        for other in others:
            other.kill()
        print(f"--seeds 10 --epochs 100, whole; {machine}")
        print(f"idle: {statistics.median(idle):.2f} s ({idle})")
        print(
            f"beside three busy torch programs: {statistics.median(busy):.2f} s ({busy})"
        )
        print(
            f"ratio of medians: {statistics.median(busy) / statistics.median(idle):.1f}x"
        )


if __name__ == "__main__":
    main()
