"""Redraw the pictures in imgs/ from the package: what `make imgs` runs.

- imgs/noising.png   the forward process x_0 -> x_T on the example image, arrows labelled q(x_t | x_{t-1})
- imgs/denoising.png the reverse direction x_T -> x_0, arrows labelled p_theta(x_{t-1} | x_t). No model is
                     trained yet, so it shows the same forward trajectory read backwards, and says so.

Both come from one seeded trajectory (linear schedule of Ho et al. 2020, T = 1000: the one notebook 01
draws), so running the script again writes the same pictures. Each PNG stays well under 300 KB.

Usage: python scripts/make_imgs.py [OUTPUT_DIR]   (default: imgs/ next to this script's folder)
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

import diffusion_helpers as dh

T = 1000
SEED = 0
NUM_STATES = 5  # x_0, x_250, x_500, x_750, x_1000
DPI = 90  # 1.4-inch panels at 90 dpi are about the example image's 128 pixels: no upsampled noise to store
MAX_BYTES = 300 * 1024


def main(out_dir: Path) -> int:
    x0 = dh.pil_to_tensor(dh.example_image(size=128))  # (3, 128, 128) in [-1, 1]
    schedule = dh.make_schedule("linear", T)
    trajectory = dh.forward_trajectory(x0, schedule, generator=torch.Generator().manual_seed(SEED))  # (T+1, 3, H, W)
    timesteps = dh.timesteps_to_show(T, NUM_STATES)  # includes t = T
    steps_per_arrow = T // (NUM_STATES - 1)

    figures = {
        "noising.png": dh.plotting.show_chain(
            [trajectory[t] for t in timesteps],
            [f"$x_{{{t}}}$" for t in timesteps],
            r"$q(x_t \mid x_{t-1})$",
            suptitle="Forward process: a little Gaussian noise at every step, from the image $x_0$ to noise $x_T$",
            caption=f"One seeded trajectory, linear schedule, T = {T}; each arrow stands for {steps_per_arrow} steps.",
        ),
        "denoising.png": dh.plotting.show_chain(
            [trajectory[t] for t in reversed(timesteps)],
            [f"$x_{{{t}}}$" for t in reversed(timesteps)],
            r"$p_\theta(x_{t-1} \mid x_t)$",
            suptitle=r"Reverse process: a learned model $p_\theta$ removes the noise step by step",
            caption="Illustration only: no model is trained yet, so this is the forward trajectory read backwards.",
        ),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, figure in figures.items():
        path = out_dir / name
        # No "Software" entry: the bytes then do not depend on the matplotlib version.
        figure.savefig(path, dpi=DPI, metadata={"Software": None})
        size = path.stat().st_size
        if size > MAX_BYTES:
            print(f"{path} is {size // 1024} KB, more than {MAX_BYTES // 1024} KB", file=sys.stderr)
            return 1
        print(f"wrote {path} ({size // 1024} KB)")
    return 0


if __name__ == "__main__":
    default = Path(__file__).resolve().parent.parent / "imgs"
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else default))
