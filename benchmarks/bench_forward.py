"""Benchmark of the forward process and of the package's import cost. Prints ratios side by side.

Targets (issue 2):
- ``q_sample`` on a (64, 3, 128, 128) float32 batch with per-sample ``t`` costs at most 1.6x the time of
  ``x0 + noise`` on the same tensors (the memory-bound floor: read two tensors, write one);
- ``import diffusion_helpers`` adds at most 10% to ``import torch``.

Method: after a warm-up, the candidates run interleaved, round-robin, so that both see the same machine
state; we report the median of the per-round ratios. The naive ``a * x0 + b * noise`` (what diffusers'
``add_noise`` does) runs in its own round-robin with the floor, because the two temporaries it frees change
how the allocator serves the next large tensor.

Run: ``make bench`` (or ``.venv/bin/python benchmarks/bench_forward.py``).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import torch

import diffusion_helpers as dh

ROUNDS = 400


def paired_times(candidates: dict[str, Callable[[], object]], rounds: int = ROUNDS) -> dict[str, list[float]]:
    """Wall times (s) of each candidate, run round-robin after a warm-up: round i of each saw the same machine."""
    for run in candidates.values():
        for _ in range(5):
            run()
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(rounds):
        for name, run in candidates.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return times


def paired_ratio(times: dict[str, list[float]], name: str, floor: str = "floor") -> float:
    """Median over rounds of candidate / floor: a drift in machine speed cancels within each round."""
    return statistics.median(c / f for c, f in zip(times[name], times[floor]))


def bench_q_sample() -> float:
    generator = torch.Generator().manual_seed(0)
    x0 = torch.randn(64, 3, 128, 128, generator=generator)  # (B, C, H, W)
    noise = torch.randn(64, 3, 128, 128, generator=generator)
    schedule = dh.make_schedule("linear", 1000)
    t = torch.randint(0, 1001, (64,), generator=generator)  # (B,)
    alpha_bars = torch.cat([torch.ones(1, dtype=torch.float64), schedule.alpha_bars])
    a = alpha_bars[t].sqrt().float().view(-1, 1, 1, 1)
    b = (1 - alpha_bars[t]).sqrt().float().view(-1, 1, 1, 1)

    fast = paired_times({"floor": lambda: x0 + noise, "q_sample": lambda: dh.q_sample(x0, t, schedule, noise=noise)})
    naive = paired_times({"floor": lambda: x0 + noise, "naive": lambda: a * x0 + b * noise})
    print(
        f"q_sample, batch {tuple(x0.shape)} float32, per-sample t, {torch.get_num_threads()} threads, {ROUNDS} rounds"
    )
    print(f"  {'':34s}{'median ms':>10s}{'x floor':>9s}   (median of the per-round ratios)")
    print(f"  {'x0 + noise (floor)':34s}{statistics.median(fast['floor']) * 1e3:10.3f}{1:9.2f}")
    ratio = paired_ratio(fast, "q_sample")
    print(f"  {'q_sample':34s}{statistics.median(fast['q_sample']) * 1e3:10.3f}{ratio:9.2f}   target <= 1.60")
    naive_ratio = paired_ratio(naive, "naive")
    naive_ms = statistics.median(naive["naive"]) * 1e3
    print(f"  {'a * x0 + b * noise (naive)':34s}{naive_ms:10.3f}{naive_ratio:9.2f}   (reference)")
    return ratio


def _run_seconds(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - start


def bench_import(repeats: int = 11) -> float:
    """Import cost in fresh interpreters, run in interleaved triples (empty, torch, package) so that both
    imports see the same machine state; the interpreter's own start-up is subtracted from each."""
    torch_s, package_s = [], []
    for _ in range(repeats):
        empty = _run_seconds("pass")
        torch_s.append(_run_seconds("import torch") - empty)
        package_s.append(_run_seconds("import diffusion_helpers") - empty)
    torch_median, package_median = statistics.median(torch_s), statistics.median(package_s)
    ratio = statistics.median(p / t for p, t in zip(package_s, torch_s))
    print(f"import cost (fresh interpreters, {repeats} interleaved runs, medians)")
    print(f"  {'import torch':34s}{torch_median * 1e3:10.0f} ms{1:9.2f}")
    print(f"  {'import diffusion_helpers':34s}{package_median * 1e3:10.0f} ms{ratio:9.2f}   target <= 1.10")
    return ratio


if __name__ == "__main__":
    q_ratio = bench_q_sample()
    i_ratio = bench_import()
    ok = q_ratio <= 1.6 and i_ratio <= 1.1
    print("all targets met" if ok else "TARGET MISSED")
    sys.exit(0 if ok else 1)
