"""W2 anchor runner for wavetorch 0.2.1 (run INSIDE .bench-venv/wavetorch).

Calls wavetorch's own WaveCell / WaveGeometryFreeForm / WaveRNN; no wavetorch code is copied.
Workarounds (stand-ins, listed in the JSON): wavetorch/__init__.py imports a ``data``
subpackage that the 0.2.1 sdist does not ship, plus plotting/training modules (seaborn,
pandas, sklearn); the runner registers the package without running its ``__init__`` and
imports only cell, geom, source, probe and rnn. ``geom`` imports ``skimage.draw.circle``
(removed from scikit-image), used only to build its 3x3 blur kernel: a stand-in returns the
pixels of the disc. ``utils`` imports ``sklearn.metrics.confusion_matrix`` (unused here).

Prints one JSON line: seconds, M cell-updates/s, peak memory (max RSS - RSS before, MB).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import sys
import time
import types

WORKAROUNDS = [
    "package registered without wavetorch/__init__.py (missing data subpackage)",
    "skimage.draw.circle stand-in (disc pixels) for the blur kernel",
    "sklearn.metrics stand-in (confusion_matrix unused)",
]


def _stand_ins() -> None:
    import numpy as np

    def circle(r, c, radius):
        rr, cc = np.mgrid[: int(2 * radius + r + 1), : int(2 * radius + c + 1)]
        inside = (rr - r) ** 2 + (cc - c) ** 2 < radius**2
        return rr[inside], cc[inside]

    sk = types.ModuleType("skimage")
    draw = types.ModuleType("skimage.draw")
    draw.circle = circle
    sk.draw = draw
    sys.modules["skimage"], sys.modules["skimage.draw"] = sk, draw
    skl = types.ModuleType("sklearn")
    metrics = types.ModuleType("sklearn.metrics")
    metrics.confusion_matrix = None
    skl.metrics = metrics
    sys.modules["sklearn"], sys.modules["sklearn.metrics"] = skl, metrics
    spec = importlib.util.find_spec("wavetorch")
    pkg = types.ModuleType("wavetorch")
    pkg.__path__ = list(spec.submodule_search_locations)
    sys.modules["wavetorch"] = pkg


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--pml", type=int, default=20)
    ap.add_argument("--mode", default="forward", choices=["forward", "forward+backward"])
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    _stand_ins()
    import torch

    torch.set_num_threads(args.threads)
    from wavetorch.cell import WaveCell
    from wavetorch.geom import WaveGeometryFreeForm
    from wavetorch.probe import WaveProbe
    from wavetorch.rnn import WaveRNN
    from wavetorch.source import WaveSource

    n = args.size
    geom = WaveGeometryFreeForm((n, n), h=1.0, c0=1.0, c1=0.9, abs_N=args.pml)
    cell = WaveCell(0.5, geom)
    model = WaveRNN(cell, [WaveSource(64, n // 2)], [WaveProbe(3 * n // 4, n // 2)])
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(args.batch, args.steps, generator=gen)

    def run(steps: int) -> None:
        xs = x[:, :steps]
        if args.mode == "forward":
            with torch.no_grad():
                model(xs)
        else:
            model.zero_grad()
            model(xs).pow(2).sum().backward()

    # a 2-step warm-up, then one full call: its time and its peak memory (a batch-16 call
    # takes minutes here, so it is not repeated)
    run(2)
    rss0 = _rss_mb()
    t0 = time.perf_counter()
    run(args.steps)
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6 - rss0  # KiB
    print(
        json.dumps(
            {
                "implementation": "wavetorch 0.2.1",
                "mode": args.mode,
                "batch": args.batch,
                "steps": args.steps,
                "seconds": seconds,
                "mcells_per_s": n * n * args.steps * args.batch / seconds / 1e6,
                "peak_mem_mb": peak,
                "torch": torch.__version__,
                "workarounds": WORKAROUNDS,
            }
        )
    )


if __name__ == "__main__":
    main()
