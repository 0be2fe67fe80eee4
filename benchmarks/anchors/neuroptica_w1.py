"""W1 runner for neuroptica 0.1.0 (run with ``.bench-venv/neuroptica/bin/python``).

neuroptica is numpy (complex128), fields as columns ``X`` of shape ``(N, batch)``.

* forward: ``ClementsLayer(N).forward_pass(X)`` (multiplies out the mesh transfer matrix from
  its MZI objects, then one matmul), then the loss.
* forward + gradient: neuroptica's own in-situ (adjoint-field) gradient, the sequence its
  ``InSituAdam`` optimiser runs for one step: ``forward_pass(X, cache_fields=True)``,
  ``backward_pass(dL, cache_fields=True)``, ``mesh.compute_gradients(X, dL, cache_fields=True)``
  (every MZI's ``theta``, ``phi`` and the input phase screen), with
  ``dL = 2 w conj(Y)`` for ``L = sum w |Y|^2`` (neuroptica's losses return ``dL/dX`` this way:
  ``conj(X - T)`` for ``|X - T|^2 / 2``). ``use_partial_vectors`` is left at its default.

No workaround is needed: it installs with numpy 1.26 and numba from PyPI as is.
"""

from __future__ import annotations

import _runner_common as rc


def main() -> None:
    args = rc.parse_args()
    rc.limit_threads(args.threads)
    import neuroptica as neu
    import numpy as np

    results: dict[str, dict] = {}
    for n in args.sizes:
        res: dict[str, dict] = {}
        results[str(n)] = res
        np.random.seed(0)  # noqa: NPY002 - neuroptica draws its phases from the global generator
        layer = neu.ClementsLayer(n)
        x = np.ascontiguousarray(rc.random_input_np(n, args.batch).T)  # (N, batch)
        w = rc.weights_np(n, "float64")[:, None]

        def fwd(layer=layer, x=x, w=w) -> float:
            y = layer.forward_pass(x)
            return float((w * (y.real**2 + y.imag**2)).sum())

        def fwd_grad(layer=layer, x=x, w=w) -> dict:
            y = layer.forward_pass(x, cache_fields=True)
            d_loss = 2 * w * np.conj(y)
            layer.backward_pass(d_loss, cache_fields=True)
            return layer.mesh.compute_gradients(x, d_loss, cache_fields=True)

        key = "neuroptica ClementsLayer, complex128"
        rc.run_entry(res, key + " forward", fwd, args)
        rc.run_entry(
            res, key + " forward+backward", fwd_grad, args, note="neuroptica's in-situ gradient"
        )
        y = layer.forward_pass(x)
        res[key + " forward"]["check_power_err"] = float(np.abs((np.abs(y) ** 2).sum(0) - 1).max())

    rc.emit(
        {
            "anchor": "neuroptica",
            "versions": {k: rc.version_of(k) for k in ("neuroptica", "numpy", "numba")},
            "workarounds": [],
            "results": results,
        }
    )


if __name__ == "__main__":
    main()
