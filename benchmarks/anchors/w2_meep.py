"""W2 anchor runner: Meep 1.25 2-D Ez field stepping (own process; flush-denormals on import).

A 256 x 256-pixel cell (resolution 10, 20-pixel PML), one Ez Gaussian point source; times
``fields.step()`` for the given number of steps after ``init_sim`` (field stepping only, no
``run`` overheads). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--pml", type=int, default=20)
    args = ap.parse_args()
    import meep as mp

    res = 10
    n = args.size
    sim = mp.Simulation(
        cell_size=mp.Vector3(n / res, n / res),
        resolution=res,
        boundary_layers=[mp.PML(args.pml / res)],
        sources=[
            mp.Source(
                mp.GaussianSource(0.5, fwidth=0.3), component=mp.Ez, center=mp.Vector3(-6.4, 0)
            )
        ],
        Courant=0.5,
    )
    sim.init_sim()
    for _ in range(5):
        sim.fields.step()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        sim.fields.step()
    seconds = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "implementation": "Meep 2-D Ez field stepping",
                "mode": "forward",
                "batch": 1,
                "steps": args.steps,
                "seconds": seconds,
                "mcells_per_s": n * n * args.steps / seconds / 1e6,
                "meep": mp.__version__,
                "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
            }
        )
    )


if __name__ == "__main__":
    main()
