"""Time a sweep's fits one by one (the single run's code) against stacked (--seeds N).

    python tests/benchmark.py [--seeds 20] [--repeats 3] [--device cpu] [other flags]

Each repeat times both ways, alternately, in this one process (so both pay the same
start-up), and the medians are printed with the machine. Not a test: pytest does not
collect it.
"""

import argparse
import contextlib
import io
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import circle_classifier as cc


def main() -> None:
    ours = argparse.ArgumentParser()
    ours.add_argument("--repeats", type=int, default=3)
    known, rest = ours.parse_known_args()
    parser = cc.build_parser()
    args = parser.parse_args(rest)
    cc.check(parser, args)
    default = torch.get_num_threads()

    def threads(seeds: int) -> None:  # as main() chooses them for that many seeds
        torch.set_num_threads(1 if args.samples * min(seeds, 10) < 100_000 else default)

    hidden, lr = args.hidden[0], args.lr[0]
    seeds = range(args.seed, args.seed + args.seeds)
    times: dict[str, list[float]] = {"one by one": [], "stacked": []}
    for _ in range(known.repeats):
        threads(1)
        start = time.perf_counter()
        for seed in seeds:  # the single run's own code, a seed at a time
            args.seed = seed
            cc.run(args, lr, hidden, say=print)
        times["one by one"].append(time.perf_counter() - start)
        args.seed = seeds[0]
        threads(args.seeds)
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            cc.compare(args, [(lr, hidden)])
        times["stacked"].append(time.perf_counter() - start)
    device = str(args.device)
    if args.device.type == "cuda":
        device += f" ({torch.cuda.get_device_name(args.device)})"
    else:
        device += f" ({platform.processor() or platform.machine()}, {default} cores)"
    print(
        f"{args.seeds} seeds, {args.samples} samples, {args.epochs} epochs on {device},"
    )
    print(f"torch {torch.__version__}; medians of {known.repeats}, alternated:")
    for way, seconds in times.items():
        print(f"  {way:<10}  {statistics.median(seconds):7.2f} s   {seconds}")


if __name__ == "__main__":
    main()
