"""W1 runner for torchonn 0.0.8 (run with ``.bench-venv/torchonn/bin/python``).

torchonn's MZI layers are *real* (orthogonal meshes of Givens rotations): in ``phase`` mode the
weight ``W = U diag(S) V`` is rebuilt from phases each forward by
``RealUnitaryDecomposerBatch.reconstruct``, which on CPU goes through numpy
(``phi_mat.cpu().numpy()``); so the phases get no gradient (the call even raises while they
require one). Only the forward pass is timed, with the phases' ``requires_grad`` switched off.

Contenders (float32, real input ``(batch, N)``):

* ``torchonn MZIBlockLinear phase mode``: the layer as a user builds it, one ``N x N`` block
  (``miniblock=(1, 1, N, N)``), Clements layout: two real ``N``-meshes (U, V) and a diagonal.
* ``torchonn reconstruct (one real mesh) + matmul``: the single-mesh core, closer to W1.

Workarounds (no torchonn code is copied): stand-in modules from ``anchors/stubs`` for ``mmcv``,
``torchvision`` and the CUDA extension ``matrix_parametrization_cuda`` (looked up by
``decompose`` even on CPU); see ``benchmarks/README.md``.
"""

from __future__ import annotations

import _runner_common as rc

WORKAROUNDS = [
    "stub module mmcv (torchonn.layers.base_layer imports mmcv.cnn.bricks; unused here)",
    "stub module torchvision (torchonn-pyutils' dataset helpers import it; the PyPI wheel is a "
    "CUDA build that fails against CPU torch 2.13: 'operator torchvision::nms does not exist')",
    "stub module matrix_parametrization_cuda (decompose() looks up its CUDA functions on CPU)",
    "phase parameters set requires_grad=False: the CPU reconstruct calls .numpy() on them",
]


def main() -> None:
    args = rc.parse_args()
    rc.limit_threads(args.threads)
    rc.use_stubs()
    import torch

    torch.set_num_threads(args.threads)
    from torchonn.layers import MZIBlockLinear

    results: dict[str, dict] = {}
    for n in args.sizes:
        res: dict[str, dict] = {}
        results[str(n)] = res
        torch.manual_seed(0)  # torchonn initialises from the global generator
        w = torch.linspace(0.1, 1.0, n)
        x = torch.randn(args.batch, n)
        x = x / x.norm(dim=1, keepdim=True)

        layer = MZIBlockLinear(
            n, n, bias=False, miniblock=(1, 1, n, n), mode="phase", decompose_alg="clements"
        )
        layer.requires_grad_(False)
        layer.eval()

        def layer_fwd(layer=layer, x=x, w=w):
            y = layer(x)
            return (w * y.square()).sum()

        rc.run_entry(
            res,
            "torchonn MZIBlockLinear phase mode (U S V, two real meshes), float32",
            layer_fwd,
            args,
        )
        res["torchonn MZIBlockLinear phase mode (U S V, two real meshes), float32"]["backward"] = (
            "not differentiable w.r.t. phases (CPU reconstruct goes through numpy)"
        )

        dec = layer.decomposer
        delta = layer.delta_list_U.detach()
        phases = layer.phase_U.detach()

        def mesh_fwd(dec=dec, delta=delta, phases=phases, x=x, w=w, n=n):
            u = dec.reconstruct(delta, dec.v2m(phases)).reshape(n, n)
            y = x @ u.T
            return (w * y.square()).sum()

        key = "torchonn reconstruct (one real Clements mesh) + matmul, float32"
        rc.run_entry(res, key, mesh_fwd, args)
        if "median_s" in res[key]:
            u = dec.reconstruct(delta, dec.v2m(phases)).reshape(n, n).double()
            res[key]["check_orthogonality_err"] = float(
                (u @ u.T - torch.eye(n, dtype=u.dtype)).abs().max()
            )
            res[key]["backward"] = "not differentiable w.r.t. phases"

    rc.emit(
        {
            "anchor": "torchonn",
            "versions": {
                k: rc.version_of(k) for k in ("torchonn", "torchonn-pyutils", "torch", "numpy")
            },
            "workarounds": WORKAROUNDS,
            "results": results,
        }
    )


if __name__ == "__main__":
    main()
