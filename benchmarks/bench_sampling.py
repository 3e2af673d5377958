"""Benchmark of fast sampling on the swiss roll: DDIM with 50 steps beside DDPM with all 1,000, on one model.

Targets (issue 8), on the 2-D model of notebook 05 (``recipes.train_recipe("swiss_roll")``, about 10 s):
- DDIM with 50 steps (eta = 0, trailing spacing) reaches at most 1.4x the sliced-Wasserstein noise floor, with
  notebook 05's protocol: 10,000 samples against five held-out sets of 10,000
  (:func:`diffusion_helpers.held_out_sets`), divided by the mean distance of five held-out pairs
  (:func:`diffusion_helpers.noise_floor_ratio`), with one fixed set of 256 directions;
- 10,000 samples with DDIM-50 take at most 1 s of wall time.
DDPM with 1,000 steps (the recipe's reverse variance) is printed beside them for reference, not judged.

Method: the model is trained once, in this process, with one thread (as the train command does). The ratio of
one set of 10,000 samples carries the noise of that draw (about +-0.15 for samples of the data distribution
itself), so each sampler draws three sets (seeds 0, 1, 2), with one thread; the target is judged on their mean.
Those runs are also timed (median of the three); DDIM is timed again with torch's default number of threads, and
the time target is judged on the faster of the two. Wall (``perf_counter``) and CPU (``process_time``, all
threads) are printed side by side; the load average before and after: on a shared machine, times are only
comparable when it is below 1.

Run: ``make bench`` (or ``.venv/bin/python benchmarks/bench_sampling.py``).
"""

from __future__ import annotations

import os
import statistics
import sys
import time

import torch

import diffusion_helpers as dh

DATASET = "swiss_roll"
N = 10_000
SAMPLE_SEEDS = (0, 1, 2)
DDIM_STEPS = 50
DDIM_OPTIONS = {"eta": 0.0, "spacing": "trailing", "clip_x0": False}
"""The DDIM sampler judged: ddim_sample's defaults (deterministic, trailing timesteps, no clipping)."""
TARGET_RATIO = 1.4
TARGET_SECONDS = 1.0


def ddim(model, schedule, seed: int) -> torch.Tensor:
    """10,000 DDIM-50 samples (:data:`DDIM_OPTIONS`) for a sampler seed."""
    generator = torch.Generator().manual_seed(seed)
    return dh.ddim_sample(model, schedule, (N, 2), steps=DDIM_STEPS, generator=generator, **DDIM_OPTIONS)


def ddpm(model, schedule, seed: int, variance: str) -> torch.Tensor:
    """10,000 DDPM samples with all T steps for a sampler seed."""
    return dh.ddpm_sample(model, schedule, (N, 2), variance=variance, generator=torch.Generator().manual_seed(seed))


def timed(sample, seed: int) -> tuple[torch.Tensor, float, float]:
    """``sample(seed)``, with its wall and CPU seconds (CPU: every thread of this process)."""
    wall, cpu = time.perf_counter(), time.process_time()
    samples = sample(seed)
    return samples, time.perf_counter() - wall, time.process_time() - cpu


def main() -> int:
    default_threads = torch.get_num_threads()
    print(
        f"sampling on {DATASET}, 1 thread (as the commands) and {default_threads} (torch's default); "
        f"load average {os.getloadavg()[0]:.2f} (times are comparable below 1)"
    )
    torch.set_num_threads(1)
    start = time.perf_counter()
    model, schedule, _, recipe = dh.train_recipe(DATASET, progress=False)
    print(f"  trained the recipe's model in {time.perf_counter() - start:.1f} s; T = {len(schedule)}")
    print(f"  DDIM-{DDIM_STEPS}: {', '.join(f'{key} = {value}' for key, value in DDIM_OPTIONS.items())}")
    held_out = dh.held_out_sets(DATASET, count=5, n=N)
    directions = dh.metrics.random_directions(256, 2, generator=torch.Generator().manual_seed(0))
    ddim_name, ddpm_name = f"DDIM-{DDIM_STEPS}", f"DDPM-{len(schedule)}"
    samplers = {
        ddim_name: lambda seed: ddim(model, schedule, seed),
        ddpm_name: lambda seed: ddpm(model, schedule, seed, recipe["variance"]),
    }
    results = {}
    for name, sample in samplers.items():  # one thread: each seed's samples are scored and timed
        runs = [timed(sample, seed) for seed in SAMPLE_SEEDS]
        ratios = [dh.noise_floor_ratio(x, held_out, projections=directions).ratio for x, _, _ in runs]
        results[name] = ratios, statistics.median(w for _, w, _ in runs), statistics.median(c for _, _, c in runs)
    torch.set_num_threads(default_threads)
    ddim_default = [timed(samplers[ddim_name], seed)[1:] for seed in SAMPLE_SEEDS]
    wall_default = statistics.median(w for w, _ in ddim_default)
    cpu_default = statistics.median(c for _, c in ddim_default)

    seeds = " ".join(map(str, SAMPLE_SEEDS))
    print(f"  {'sampler':10s}{'ratio, seeds ' + seeds:>27s}{'mean':>7s}{'wall s':>9s}{'cpu s':>8s}  (1 thread, median)")
    for name, (ratios, wall, cpu) in results.items():
        each = "  ".join(f"{r:.2f}" for r in ratios)
        print(f"  {name:10s}{each:>27s}{statistics.mean(ratios):7.2f}{wall:9.2f}{cpu:8.2f}")
    print(f"  {ddim_name} with {default_threads} threads: {wall_default:.2f} s wall, {cpu_default:.2f} s CPU")
    ratios, wall, _ = results[ddim_name]
    ratio, seconds = statistics.mean(ratios), min(wall, wall_default)
    print(
        f"  {ddim_name}: {ratio:.2f}x the noise floor (target <= {TARGET_RATIO}; {ddpm_name}: "
        f"{statistics.mean(results[ddpm_name][0]):.2f}x); {N:,} samples in {seconds:.2f} s "
        f"(target <= {TARGET_SECONDS:.0f})"
    )
    print(f"  load average after: {os.getloadavg()[0]:.2f}")
    ok = ratio <= TARGET_RATIO and seconds <= TARGET_SECONDS
    print("all targets met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
