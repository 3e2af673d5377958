"""Benchmark of training and sampling on the swiss roll: the plain recipe beside the package's, in one run.

Targets (issue 7):
- ``python -m diffusion_helpers.train swiss_roll`` takes at most 30 s of wall time, start-up included (aim: 15 s);
- its samples reach at most 1.2x the sliced-Wasserstein noise floor (aim: 1.1x): 10,000 DDPM samples against
  five held-out sets of 10,000, divided by the mean distance of five held-out pairs
  (:func:`diffusion_helpers.noise_floor_ratio`);
- sampling 2,000 points with 1,000 DDPM steps takes at most 3 s.

Method: each recipe is trained by the command itself, in a fresh interpreter, exactly as a reader types it
(``--recipe plain`` for the baseline; the command uses one thread, its default); wall time and the child's CPU
time are measured around it. Sampling is timed with one thread and with torch's default number. The ratio of
one set of 10,000 samples carries the noise of that draw (about +-0.15 for samples of the data distribution
itself), so the benchmark draws three sets (sampler seeds 0, 1, 2), prints each, and judges the target on
their mean. The load average is printed before and after: on a shared machine, times are only comparable
when it is below 1.

Run: ``make bench`` (or ``.venv/bin/python benchmarks/bench_training.py``).
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

import diffusion_helpers as dh

DATASET = "swiss_roll"
SAMPLE_SEEDS = (0, 1, 2)
N = 10_000
TARGET_SECONDS, AIM_SECONDS = 30.0, 15.0
TARGET_RATIO, AIM_RATIO = 1.2, 1.1
TARGET_SAMPLING_SECONDS = 3.0


def train_with_the_command(recipe: str, out: Path) -> tuple[float, float]:
    """Wall and CPU seconds of ``python -m diffusion_helpers.train swiss_roll --out DIR [--recipe plain]``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    command = [sys.executable, "-m", "diffusion_helpers.train", DATASET, "--out", str(out), "--recipe", recipe]
    subprocess.run([*command, "--quiet"], check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def quality(checkpoint: Path, held_out: list[torch.Tensor]) -> list[float]:
    """The noise-floor ratio of 10,000 samples, for each sampler seed."""
    model, schedule, meta = dh.load_checkpoint(checkpoint)
    directions = dh.metrics.random_directions(256, 2, generator=torch.Generator().manual_seed(0))
    ratios = []
    for seed in SAMPLE_SEEDS:
        samples = dh.ddpm_sample(
            model, schedule, (N, 2), variance=meta["recipe"]["variance"], generator=torch.Generator().manual_seed(seed)
        )
        ratios.append(dh.noise_floor_ratio(samples, held_out, projections=directions).ratio)
    return ratios


def sampling_seconds(checkpoint: Path, threads: int, repeats: int = 3) -> float:
    """Median wall time of 2,000 samples with 1,000 DDPM steps, with torch using ``threads`` threads."""
    model, schedule, _ = dh.load_checkpoint(checkpoint)
    default_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    times = []
    for seed in range(repeats):
        start = time.perf_counter()
        dh.ddpm_sample(model, schedule, (2000, 2), generator=torch.Generator().manual_seed(seed))
        times.append(time.perf_counter() - start)
    torch.set_num_threads(default_threads)
    return statistics.median(times)


def main() -> int:
    print(
        f"training and sampling on {DATASET}, {torch.get_num_threads()} threads; "
        f"load average {os.getloadavg()[0]:.2f} (times are comparable below 1)"
    )
    held_out = dh.held_out_sets(DATASET, count=5, n=N)
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for recipe in ("plain", "recommended"):
            out = Path(folder) / recipe
            wall, cpu = train_with_the_command(recipe, out)
            results[recipe] = (wall, cpu, quality(out / dh.training.CHECKPOINT_NAME, held_out))
        checkpoint = Path(folder) / "recommended" / dh.training.CHECKPOINT_NAME
        threads = sorted({1, torch.get_num_threads()})
        sampling = {n: sampling_seconds(checkpoint, n) for n in threads}
    print(
        f"  {'recipe':12s}{'train wall s':>13s}{'cpu s':>8s}{'ratio, seeds ' + ' '.join(map(str, SAMPLE_SEEDS)):>24s}"
        f"{'mean':>7s}"
    )
    for recipe, (wall, cpu, ratios) in results.items():
        print(
            f"  {recipe:12s}{wall:13.1f}{cpu:8.1f}{'  '.join(f'{r:.2f}' for r in ratios):>24s}"
            f"{statistics.mean(ratios):7.2f}"
        )
    wall, _, ratios = results["recommended"]
    ratio = statistics.mean(ratios)
    print(
        f"  recommended: {wall:.1f} s (target <= {TARGET_SECONDS:.0f}, aim {AIM_SECONDS:.0f}); "
        f"{ratio:.2f}x the noise floor (target <= {TARGET_RATIO}, aim {AIM_RATIO})"
    )
    timings = ", ".join(f"{seconds:.2f} s with {n} thread{'s' if n > 1 else ''}" for n, seconds in sampling.items())
    print(f"  sampling 2,000 points x 1,000 steps: {timings} (target <= {TARGET_SAMPLING_SECONDS:.0f})")
    print(f"  load average after: {os.getloadavg()[0]:.2f}")
    ok = wall <= TARGET_SECONDS and ratio <= TARGET_RATIO and min(sampling.values()) <= TARGET_SAMPLING_SECONDS
    print("all targets met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
