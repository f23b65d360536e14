"""Time a sweep's fits: one by one (the single run's code), and stacked in either layout
(rows, the post's; columns, its exercise), with autograd and by hand.

    python tests/benchmark.py [--repeats 5] [--ways ...] [the script's flags]

    e.g.  python tests/benchmark.py --seeds 16 --epochs 200
          python tests/benchmark.py --seeds 1 --ways single --repeats 9

Each repeat times every way once, in turn, in this one process, on the same seeds, so
that all of them meet the same machine; the medians are printed with the machine, as
ms a seed-epoch beside the floor of memory traffic: the bytes an epoch moves (a
network's activations, their gradients, its data: cc.network_bytes) over the copy
bandwidth of a large tensor, measured here. Not a test: pytest does not collect it.
Time one torch process at a time.
"""

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import circle_classifier as cc

WAYS = [
    f"{layout} {backprop}"
    for layout in ["single", "rows", "columns"]
    for backprop in ["autograd", "manual"]
]


def copy_bandwidth(device: torch.device) -> float:
    """Bytes a second that a copy of a 256 MiB tensor reads and writes: the median of 5."""
    source = torch.ones(2**26, device=device)
    target = torch.empty_like(source)
    times = []
    for _ in range(5):
        cc.synchronize(device)
        start = time.perf_counter()
        target.copy_(source)
        cc.synchronize(device)
        times.append(time.perf_counter() - start)
    return 2 * 4 * source.numel() / statistics.median(times)


def main() -> None:
    ours = argparse.ArgumentParser()
    ours.add_argument("--repeats", type=int, default=5)
    ours.add_argument("--ways", nargs="+", default=WAYS, help=f"of {WAYS}")
    known, rest = ours.parse_known_args()
    parser = cc.build_parser()
    args = parser.parse_args(rest)
    cc.check(parser, args)
    default = torch.get_num_threads()
    # as main() chooses for these seeds
    torch.set_num_threads(
        1 if args.samples * min(args.seeds, 10) < 100_000 else default
    )
    choice = cc.Choice(*(getattr(args, name)[0] for name in cc.SEVERAL))
    seeds = range(args.seed, args.seed + args.seeds)
    runs = [cc.prepare(seed, args, choice) for seed in seeds]
    times: dict[str, list[float]] = {way: [] for way in known.ways}
    for _ in range(known.repeats):
        for way, seconds in times.items():
            layout, args.backprop = way.split()
            start = time.perf_counter()
            if layout == "single":  # the single run's own code, a seed at a time
                for seed in seeds:
                    args.seed = seed
                    cc.run(args, choice)
            else:
                cc.train_together(runs, args, choice, layout)
                cc.synchronize(args.device)
            seconds.append(time.perf_counter() - start)
    device = str(args.device)
    if args.device.type == "cuda":
        device += f" ({torch.cuda.get_device_name(args.device)})"
    else:
        device += f" ({platform.processor() or platform.machine()}, {default} cores)"
    print(f"{args.seeds} seeds, {args.samples} samples, {args.epochs} epochs, {device}")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads;")
    epochs = args.seeds * args.epochs  # seed-epochs
    moved = statistics.mean(
        cc.network_bytes(len(data[0]), cc.widths(choice)) for data, _ in runs
    )
    bandwidth = copy_bandwidth(args.device)
    floor = moved / bandwidth * 1e3
    print(f"floor: {moved / 1e6:.1f} MB a seed-epoch over {bandwidth / 1e9:.0f} GB/s "
          f"(a large copy) = {floor:.3f} ms a seed-epoch")  # fmt: skip
    print(f"fits, medians of {known.repeats} alternated repeats:")
    for way, seconds in times.items():
        rounded = ", ".join(f"{s:.2f}" for s in seconds)
        median = statistics.median(seconds)
        print(f"  {way:<17} {median:7.3f} s  {median / epochs * 1e3:6.3f} ms a "
              f"seed-epoch, {median / epochs * 1e3 / floor:4.1f}x the floor   ({rounded})")  # fmt: skip


if __name__ == "__main__":
    main()
