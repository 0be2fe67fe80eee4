"""Run folders: config, metrics, arrays, figures, checkpoints and an HTML report.

Layout of a run folder (``--out DIR``)::

    DIR/config.json        the frozen config, versions, command line, start time
    DIR/metrics.json       the summary numbers of the run
    DIR/history.csv        one row per epoch (or step), appended as the run goes
    DIR/arrays/*.npz       arrays behind the figures
    DIR/figures/*.png      figures
    DIR/checkpoints/       latest.pt and epoch_NNN.pt, written atomically
    DIR/report.html        what a person reads first

Checkpoints are written to a temporary file and renamed, so an interrupted write never
corrupts the previous checkpoint. :class:`GracefulInterrupt` turns the first Ctrl-C into a
flag the training loop polls (save, then exit cleanly); a second Ctrl-C aborts at once.
"""

from __future__ import annotations

import csv
import dataclasses
import html
import json
import math
import os
import platform
import shutil
import signal
import sys
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np
import torch

__all__ = ["GracefulInterrupt", "Report", "RunFolder", "to_jsonable"]


def to_jsonable(value: Any) -> Any:
    """Convert dataclasses, tensors, numpy values and paths into JSON-friendly objects."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, torch.Tensor):
        return to_jsonable(value.detach().cpu().numpy())
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.generic):
        return to_jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, complex):
        return {"re": value.real, "im": value.imag}
    if isinstance(value, torch.dtype):
        return str(value).removeprefix("torch.")
    return value


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


class RunFolder:
    """A run folder (see the module docstring for its layout).

    Args:
        path: the folder (created if missing).
        resume: continue a run already in ``path`` (its checkpoints are kept).
        overwrite: empty an existing, non-empty ``path`` first. Without ``resume`` or
            ``overwrite``, a non-empty folder that holds a run raises ``FileExistsError``.
    """

    def __init__(self, path: str | Path, *, resume: bool = False, overwrite: bool = False) -> None:
        self.path = Path(path)
        has_run = (self.path / "config.json").exists()
        if has_run and not resume:
            if not overwrite:
                raise FileExistsError(
                    f"run folder {self.path} already holds a run; pass --resume to continue "
                    "it, --overwrite to replace it, or choose another --out"
                )
            shutil.rmtree(self.path)
        if resume and not has_run:
            raise FileNotFoundError(f"--resume given but {self.path} holds no run to resume")
        for sub in ("", "arrays", "figures", "checkpoints"):
            (self.path / sub).mkdir(parents=True, exist_ok=True)

    # -- config and metrics -------------------------------------------------------------
    def write_config(self, config: Any, **extra: Any) -> Path:
        """Write ``config.json``: the config plus versions, command line and start time."""
        record = {
            "config": to_jsonable(config),
            "config_type": type(config).__name__,
            "started_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "command": sys.argv,
            "versions": {
                "python": platform.python_version(),
                "torch": torch.__version__,
                "numpy": np.__version__,
                "wavebp": _wavebp_version(),
            },
            **{k: to_jsonable(v) for k, v in extra.items()},
        }
        path = self.path / "config.json"
        _atomic_write_bytes(path, (json.dumps(record, indent=2) + "\n").encode())
        return path

    def read_config(self) -> dict[str, Any]:
        """The ``config`` entry of ``config.json``."""
        return json.loads((self.path / "config.json").read_text())["config"]

    def write_metrics(self, metrics: Mapping[str, Any]) -> Path:
        """Write (replace) ``metrics.json``."""
        path = self.path / "metrics.json"
        _atomic_write_bytes(path, (json.dumps(to_jsonable(metrics), indent=2) + "\n").encode())
        return path

    def read_metrics(self) -> dict[str, Any]:
        """``metrics.json`` as a dict (empty if not written yet)."""
        path = self.path / "metrics.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def append_history(self, row: Mapping[str, Any], *, name: str = "history") -> None:
        """Append one row to ``<name>.csv`` (header from the first row's keys)."""
        path = self.path / f"{name}.csv"
        row = {k: to_jsonable(v) for k, v in row.items()}
        new = not path.exists()
        with path.open("a", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(row))
            if new:
                writer.writeheader()
            writer.writerow(row)

    def read_history(self, *, name: str = "history") -> list[dict[str, str]]:
        """Rows of ``<name>.csv`` (strings, as written)."""
        path = self.path / f"{name}.csv"
        if not path.exists():
            return []
        with path.open(newline="") as fh:
            return list(csv.DictReader(fh))

    def truncate_history(self, keep: int, *, name: str = "history") -> None:
        """Keep only the first ``keep`` rows of ``<name>.csv`` (used when resuming)."""
        rows = self.read_history(name=name)
        path = self.path / f"{name}.csv"
        if not rows:
            return
        with path.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows[:keep])

    # -- arrays, figures ----------------------------------------------------------------
    def save_arrays(self, name: str, **arrays: Any) -> Path:
        """Save arrays (tensors allowed) to ``arrays/<name>.npz``."""
        path = self.path / "arrays" / f"{name}.npz"
        np.savez_compressed(
            path,
            **{
                k: v.detach().cpu().numpy() if isinstance(v, torch.Tensor) else np.asarray(v)
                for k, v in arrays.items()
            },
        )
        return path

    def figure_path(self, name: str) -> Path:
        """Where to save figure ``name`` (``figures/<name>.png``)."""
        return self.path / "figures" / f"{name}.png"

    # -- checkpoints --------------------------------------------------------------------
    def save_checkpoint(self, state: Mapping[str, Any], *, epoch: int | None = None) -> Path:
        """Write ``checkpoints/latest.pt`` (and ``epoch_NNN.pt`` if ``epoch`` is given)."""
        import io

        buf = io.BytesIO()
        torch.save(dict(state), buf)
        data = buf.getvalue()
        latest = self.path / "checkpoints" / "latest.pt"
        _atomic_write_bytes(latest, data)
        if epoch is not None:
            _atomic_write_bytes(self.path / "checkpoints" / f"epoch_{epoch:03d}.pt", data)
        return latest

    def load_checkpoint(self) -> dict[str, Any] | None:
        """The latest checkpoint, or ``None`` if there is none."""
        latest = self.path / "checkpoints" / "latest.pt"
        if not latest.exists():
            return None
        return torch.load(latest, map_location="cpu", weights_only=False)


def _wavebp_version() -> str:
    from wavebp import __version__

    return __version__


class Report:
    """A self-contained ``report.html`` built from headings, paragraphs, tables, figures.

    Figures are linked by relative path (``figures/x.png``) so the folder can be moved.
    """

    def __init__(self, title: str) -> None:
        self.title = title
        self._parts: list[str] = []

    def heading(self, text: str, level: int = 2) -> Report:
        self._parts.append(f"<h{level}>{html.escape(text)}</h{level}>")
        return self

    def paragraph(self, text: str) -> Report:
        self._parts.append(f"<p>{html.escape(text)}</p>")
        return self

    def preformatted(self, text: str) -> Report:
        self._parts.append(f"<pre>{html.escape(text)}</pre>")
        return self

    def table(self, rows: Sequence[Mapping[str, Any]], *, caption: str = "") -> Report:
        if not rows:
            return self
        cols = list(rows[0])
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in cols)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(_fmt(r.get(c)))}</td>" for c in cols) + "</tr>"
            for r in rows
        )
        cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
        self._parts.append(f"<table>{cap}<tr>{head}</tr>{body}</table>")
        return self

    def figure(self, path: str | Path, *, caption: str = "", root: str | Path = ".") -> Report:
        rel = os.path.relpath(Path(path), Path(root))
        self._parts.append(
            f'<figure><img src="{html.escape(rel)}" alt="{html.escape(caption)}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        )
        return self

    def write(self, path: str | Path) -> Path:
        path = Path(path)
        style = (
            "body{font-family:sans-serif;max-width:980px;margin:2em auto;line-height:1.45}"
            "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;"
            "padding:3px 8px;text-align:right}th{background:#eee}img{max-width:100%}"
            "figcaption{color:#555;font-size:90%}pre{background:#f6f6f6;padding:8px}"
        )
        doc = (
            f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>"
            f"{html.escape(self.title)}</title><style>{style}</style></head><body>"
            f"<h1>{html.escape(self.title)}</h1>{''.join(self._parts)}"
            f"<p style='color:#888'>written {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC "
            f"by wavebp {_wavebp_version()}</p></body></html>\n"
        )
        _atomic_write_bytes(path, doc.encode())
        return path


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


class GracefulInterrupt:
    """Turn the first SIGINT (Ctrl-C) into ``stop_requested``; the second aborts.

    Use as a context manager around a training loop; poll ``stop_requested`` at safe points
    (after an optimizer step), save a checkpoint and return. Outside the main thread it does
    nothing (signals can only be handled there).
    """

    def __init__(self) -> None:
        self.stop_requested = False
        self._previous: Any = None
        self._installed = False

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        if self.stop_requested:
            raise KeyboardInterrupt
        self.stop_requested = True
        print(
            "\ninterrupt: finishing this step, saving a checkpoint and exiting "
            "(Ctrl-C again to abort at once)",
            file=sys.stderr,
        )

    def __enter__(self) -> GracefulInterrupt:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handler)
            self._installed = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)
            self._installed = False
