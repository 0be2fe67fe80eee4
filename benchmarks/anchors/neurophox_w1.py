"""W1 runner for neurophox 0.1.0a4 (run with ``.bench-venv/neurophox/bin/python``).

Contenders, all the full-depth rectangular (Clements) mesh ``RM*(N)`` (``num_layers = N``):

* ``neurophox torch RMTorch``: float32 (real, imaginary) pairs, input ``(2, batch, N)``;
  forward and forward+backward (autograd w.r.t. ``theta``, ``phi``, ``gamma``).
* ``neurophox TensorFlow RM``: complex64, ``transform`` is a ``tf.function``; gradient by
  ``tf.GradientTape`` w.r.t. ``theta``, ``phi``, ``gamma`` (Keras 3 does not track the layer's
  ``tf.Variable`` attributes as trainable weights, so they are named explicitly).
* ``neurophox numpy RMNumpy``: complex128 forward only (no gradient in that backend; its
  per-column matrices are precomputed when the layer is built, so this times propagation).

Workarounds (no neurophox code is copied): the numpy aliases removed in numpy 1.24
(``np.complex``, ``np.float``, ``np.int``, ``np.bool``, ``np.long``, ``np.object``) are put
back before the import; neurophox is installed with ``--no-deps`` next to tensorflow-cpu
2.21 / Keras 3 (neurophox asks for ``tensorflow>=2.0`` only).
"""

from __future__ import annotations

import _runner_common as rc

WORKAROUNDS = [
    "numpy aliases removed in numpy 1.24 restored before import "
    "(np.complex, np.float, np.int, np.bool, np.long, np.object)",
    "installed with --no-deps beside tensorflow-cpu 2.21 (Keras 3) and CPU torch 2.13",
    "TensorFlow gradient taken w.r.t. layer.theta/phi/gamma explicitly "
    "(Keras 3 does not list them in trainable_variables)",
]


def _restore_numpy_aliases() -> None:
    import numpy as np

    aliases = {
        "complex": complex,
        "float": float,
        "int": int,
        "bool": bool,
        "object": object,
        "long": np.int64,
    }
    for name, value in aliases.items():
        if name not in np.__dict__:
            setattr(np, name, value)


def _torch_entries(n: int, args, res: dict) -> None:
    import numpy as np
    import torch
    from neurophox.torch import RMTorch

    torch.manual_seed(0)
    layer = RMTorch(n)
    x = rc.random_input_np(n, args.batch)
    xt = torch.tensor(np.stack([x.real, x.imag]), dtype=torch.float32)
    w = torch.linspace(0.1, 1.0, n)
    params = [layer.theta, layer.phi, layer.gamma]

    def loss() -> torch.Tensor:
        y = layer(xt)
        return (w * (y[0].square() + y[1].square())).sum()

    def fwd() -> None:
        with torch.no_grad():
            loss()

    def fwd_bwd() -> None:
        for p in params:
            p.grad = None
        loss().backward()

    key = "neurophox torch RMTorch (float32 pairs)"
    rc.run_entry(res, key + " forward", fwd, args)
    rc.run_entry(res, key + " forward+backward", fwd_bwd, args)
    with torch.no_grad():
        y = layer(xt)
        p_out = (y[0].square() + y[1].square()).sum(-1)
    res[key + " forward"]["check_power_err"] = float((p_out - 1).abs().max())


def _tf_entries(n: int, args, res: dict) -> None:
    import tensorflow as tf
    from neurophox.tensorflow import RM

    tf.random.set_seed(0)
    layer = RM(n)
    x = tf.constant(rc.random_input_np(n, args.batch), dtype=tf.complex64)
    w = tf.constant(rc.weights_np(n, "float32"))
    params = [layer.theta, layer.phi, layer.gamma]

    def loss() -> tf.Tensor:
        y = layer.transform(x)
        return tf.reduce_sum(w * tf.math.real(y * tf.math.conj(y)))

    def fwd() -> None:
        loss().numpy()

    def fwd_bwd() -> None:
        with tf.GradientTape() as tape:
            val = loss()
        grads = tape.gradient(val, params)
        for g in grads:
            g.numpy()

    key = "neurophox TensorFlow RM (tf.function), complex64"
    rc.run_entry(res, key + " forward", fwd, args)
    rc.run_entry(res, key + " forward+backward", fwd_bwd, args)
    y = layer.transform(x)
    p_out = tf.reduce_sum(tf.math.real(y * tf.math.conj(y)), axis=-1)
    res[key + " forward"]["check_power_err"] = float(tf.reduce_max(tf.abs(p_out - 1)))


def _numpy_entries(n: int, args, res: dict) -> None:
    import numpy as np
    from neurophox.numpy import RMNumpy

    np.random.seed(0)  # noqa: NPY002 - neurophox draws its init from the global generator
    layer = RMNumpy(n)
    x = rc.random_input_np(n, args.batch)
    w = rc.weights_np(n, "float64")

    def fwd() -> None:
        y = layer.transform(x)
        float((w * (y.real**2 + y.imag**2)).sum())

    key = "neurophox numpy RMNumpy, complex128"
    rc.run_entry(res, key + " forward", fwd, args, note="propagation only (layers precomputed)")
    res[key + " forward+backward"] = {"skipped": "no gradient in neurophox's numpy backend"}
    y = layer.transform(x)
    res[key + " forward"]["check_power_err"] = float(np.abs((np.abs(y) ** 2).sum(-1) - 1).max())


def main() -> None:
    args = rc.parse_args()
    rc.limit_threads(args.threads)
    _restore_numpy_aliases()
    import torch

    torch.set_num_threads(args.threads)
    versions = {k: rc.version_of(k) for k in ("neurophox", "torch", "tensorflow-cpu", "numpy")}
    versions["keras"] = rc.version_of("keras")
    tf_error = None
    try:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except Exception as exc:
        tf_error = f"{type(exc).__name__}: {exc}"

    results: dict[str, dict] = {}
    for n in args.sizes:
        res: dict[str, dict] = {}
        results[str(n)] = res
        parts = {
            "neurophox torch RMTorch (float32 pairs)": _torch_entries,
            "neurophox TensorFlow RM (tf.function), complex64": _tf_entries,
            "neurophox numpy RMNumpy, complex128": _numpy_entries,
        }
        for label, part in parts.items():
            if part is _tf_entries and tf_error:
                res[label] = {"error": tf_error}
                continue
            try:
                part(n, args, res)
            except Exception as exc:  # e.g. an import failing: recorded, the rest still run
                res[label] = {"error": f"{type(exc).__name__}: {exc}"}

    rc.emit(
        {
            "anchor": "neurophox",
            "versions": versions,
            "workarounds": WORKAROUNDS,
            "results": results,
        }
    )


if __name__ == "__main__":
    main()
