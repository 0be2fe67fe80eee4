"""Seeded, resumable parameter sweeps, run on Dask (a local or a remote cluster) or serially.

:func:`run_sweep` calls ``task(point, seed)`` once per point of a grid and per repeat, and
collects the outputs into one tidy table (one row per point x repeat). Every task gets a seed
derived from ``(base seed, point, repeat)`` by a hash (:func:`task_seed`), never from the
order in which tasks run, so a sweep gives the same table serially, on a 2-worker local
cluster or on any remote cluster.

Layout of the sweep folder ``out``::

    out/sweep.jsonl      one JSON record per finished task, appended (flushed, fsynced)
                         the moment the task finishes: an interruption loses nothing
    out/results.parquet  the tidy table (columns: point keys, repeat, seed, outputs, wall_s)
    out/results.csv      the same table as CSV
    out/sweep.json       what ran: task, base seed, repeats, scheduler, counts, complete

With ``resume=True`` (the default) a rerun skips every task whose record is already in
``sweep.jsonl`` (same task, same point, same repeat, same seed) and computes only the rest.
The first Ctrl-C or SIGTERM stops the sweep cleanly (pending tasks are cancelled, finished ones
kept and written); a second Ctrl-C aborts at once.

Dask and pandas are imported only when a sweep runs (the ``sweeps`` extra).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import itertools
import json
import logging
import math
import os
import pickle
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from numbers import Integral, Real
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wavebp._core import Progress, check_choice, check_int, check_real
from wavebp.experiments._runfolder import GracefulInterrupt, Report, RunFolder, to_jsonable

if TYPE_CHECKING:  # pragma: no cover
    import pandas

__all__ = [
    "RESERVED_COLUMNS",
    "CodesignSweepConfig",
    "codesign_chip_task",
    "plot_sweep_bands",
    "point_key",
    "run_codesign_sweep",
    "run_sweep",
    "summarize_sweep",
    "sweep_grid",
    "task_seed",
]

#: Columns the engine adds to every row; neither point keys nor task outputs may use them.
RESERVED_COLUMNS: tuple[str, ...] = ("repeat", "seed", "wall_s")

_RECORDS = "sweep.jsonl"
_SEED_BITS = 63  # seeds in [0, 2**63): fit int64 columns and torch.Generator.manual_seed


# -- points and seeds ----------------------------------------------------------------------
def _scalar(name: str, value: Any) -> str | int | float | bool:
    """A point value as a plain Python scalar (numpy scalars unwrapped)."""
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        try:
            value = value.item()
        except (TypeError, ValueError):
            pass
    if isinstance(value, str | bool):
        return value
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, Real):
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"point value {name!r} must be a finite number, got {value!r}")
        return value
    raise ValueError(
        f"point value {name!r} must be a str, bool, int or float scalar, got {value!r} "
        f"({type(value).__name__})"
    )


def _normalize_point(
    point: Any, index: int, *, allow_empty: bool = False
) -> dict[str, str | int | float | bool]:
    if not isinstance(point, Mapping):
        raise ValueError(
            f"points[{index}] must be a dict of parameter name -> scalar, got {point!r}"
        )
    if not point and not allow_empty:
        raise ValueError(f"points[{index}] must hold at least one parameter, got {{}}")
    clean: dict[str, str | int | float | bool] = {}
    for name, value in point.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"points[{index}] keys must be non-empty str, got {name!r}")
        if name in RESERVED_COLUMNS:
            raise ValueError(
                f"points[{index}] key {name!r} is reserved for the engine's own columns "
                f"{RESERVED_COLUMNS}; rename it"
            )
        clean[name] = _scalar(name, value)
    return clean


def point_key(point: Mapping[str, Any]) -> str:
    """The canonical text of a point: JSON with sorted keys (dict order does not matter).

    ``{"b": 2, "a": 0.5}`` and ``{"a": 0.5, "b": 2}`` give the same key. Note that ``2`` and
    ``2.0`` are different values (an int and a float) and give different keys.
    """
    clean = _normalize_point(point, 0)
    return json.dumps(clean, sort_keys=True, separators=(",", ":"))


def task_seed(
    point: Mapping[str, Any],
    repeat: int,
    *,
    seed: int = 0,
    seed_keys: Sequence[str] | None = None,
) -> int:
    """The seed of one task, a hash of ``(seed, point restricted to seed_keys, repeat)``.

    It depends only on these values, never on when or where the task runs.

    Args:
        point: the grid point (parameter name -> scalar).
        repeat: the repeat index, ``>= 0``.
        seed: the sweep's base seed, ``>= 0``.
        seed_keys: the point keys that enter the seed (``None``: all of them). With
            ``seed_keys=()`` repeat ``r`` gets the same seed at every point (common random
            numbers: e.g. chip ``r`` is the same chip at every error scale).

    Returns:
        An integer in ``[0, 2**63)`` (fits int64 and ``torch.Generator.manual_seed``).
    """
    check_int("repeat", repeat, minimum=0)
    check_int("seed", seed, minimum=0)
    clean = _normalize_point(point, 0, allow_empty=True)
    if seed_keys is not None:
        missing = [k for k in seed_keys if k not in clean]
        if missing:
            raise ValueError(
                f"seed_keys must name keys of the point {sorted(clean)}, got unknown {missing}"
            )
        clean = {k: clean[k] for k in seed_keys}
    text = f"wavebp-sweep|{int(seed)}|{json.dumps(clean, sort_keys=True)}|{int(repeat)}"
    digest = hashlib.sha256(text.encode()).digest()
    return int.from_bytes(digest[:8], "big") >> (64 - _SEED_BITS)


def sweep_grid(**axes: Iterable[Any]) -> list[dict[str, Any]]:
    """The Cartesian product of the given axes, as a list of points (first axis slowest).

    ``sweep_grid(a=[1, 2], b=["x", "y"])`` is
    ``[{"a": 1, "b": "x"}, {"a": 1, "b": "y"}, {"a": 2, "b": "x"}, {"a": 2, "b": "y"}]``.

    Raises:
        ValueError: if no axis is given, an axis is empty or repeats a value.
    """
    if not axes:
        raise ValueError("sweep_grid needs at least one axis, e.g. sweep_grid(a=[1, 2])")
    values: dict[str, list[Any]] = {}
    for name, axis in axes.items():
        if isinstance(axis, str | bytes) or not isinstance(axis, Iterable):
            raise ValueError(f"axis {name!r} must be a sequence of values, got {axis!r}")
        items = [_scalar(name, v) for v in axis]
        if not items:
            raise ValueError(f"axis {name!r} must hold at least one value, got []")
        if len(set(map(repr, items))) != len(items):
            raise ValueError(f"axis {name!r} must not repeat a value, got {items!r}")
        values[name] = items
    names = list(values)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*values.values())]


# -- tasks -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Task:
    index: int  # position in the table (point index * repeats + repeat)
    point: dict[str, Any]
    key: str
    repeat: int
    seed: int


def _task_label(task: Callable[..., Any]) -> str:
    """A stable name of the task (module.qualname, with a partial's bound arguments)."""
    if isinstance(task, functools.partial):
        parts = [repr(a) for a in task.args]
        parts += [f"{k}={v!r}" for k, v in sorted(task.keywords.items())]
        return f"{_task_label(task.func)}({', '.join(parts)})"
    module = getattr(task, "__module__", None) or type(task).__module__
    qualname = getattr(task, "__qualname__", None) or type(task).__qualname__
    return f"{module}.{qualname}"


def _check_outputs(outputs: Any, point: Mapping[str, Any]) -> dict[str, float]:
    if not isinstance(outputs, Mapping) or not outputs:
        raise ValueError(
            f"the task must return a non-empty dict of output name -> number, got {outputs!r}"
        )
    clean: dict[str, float] = {}
    for name, value in outputs.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"task output names must be non-empty str, got {name!r}")
        if name in RESERVED_COLUMNS or name in point:
            raise ValueError(
                f"task output {name!r} clashes with a point key or a reserved column "
                f"{RESERVED_COLUMNS}; rename it"
            )
        try:
            if isinstance(value, str | bytes):
                raise TypeError
            clean[name] = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"task output {name!r} must be a real number, got {value!r}") from None
    return clean


def _run_one(
    task: Callable[[dict[str, Any], int], Mapping[str, Any]],
    point: dict[str, Any],
    seed: int,
    threads: int,
) -> dict[str, Any]:
    """Run one task (on a worker or in-process) with ``threads`` torch threads; time it."""
    import torch

    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    start = time.perf_counter()
    outputs = task(dict(point), seed)
    wall_s = time.perf_counter() - start
    return {"outputs": _check_outputs(outputs, point), "wall_s": wall_s}


class _StopOnSignal(GracefulInterrupt):
    """:class:`GracefulInterrupt` that also turns SIGTERM into ``stop_requested``."""

    def __enter__(self) -> _StopOnSignal:
        super().__enter__()
        self._previous_term: Any = None
        if self._installed:
            self._previous_term = signal.signal(signal.SIGTERM, self._handler)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._installed:
            signal.signal(signal.SIGTERM, self._previous_term)
        super().__exit__(*exc)


# -- records ---------------------------------------------------------------------------------
def _read_records(path: Path) -> dict[tuple[str, str, int, int], dict[str, Any]]:
    """Finished records by (task label, point key, repeat, seed); a torn last line is skipped."""
    done: dict[tuple[str, str, int, int], dict[str, Any]] = {}
    if not path.exists():
        return done
    with path.open() as fh:
        for line in fh:
            try:
                rec = json.loads(line)
                ident = (str(rec["task"]), str(rec["key"]), int(rec["repeat"]), int(rec["seed"]))
                record = {"outputs": dict(rec["outputs"]), "wall_s": float(rec["wall_s"])}
            except (ValueError, KeyError, TypeError):
                continue  # a line torn by a hard kill mid-write
            done[ident] = record
    return done


class _RecordWriter:
    """Appends one JSON line per finished task and fsyncs it at once."""

    def __init__(self, path: Path, *, fresh: bool) -> None:
        if fresh or not path.exists():
            self._fh = path.open("w")
        else:
            self._fh = path.open("a+")
            # a hard kill may have torn the last line: start on a fresh line
            if self._fh.tell() > 0:
                self._fh.seek(self._fh.tell() - 1)
                last = self._fh.read(1)
                if last != "\n":
                    self._fh.write("\n")

    def write(self, label: str, task: _Task, result: Mapping[str, Any]) -> None:
        record = {
            "task": label,
            "key": task.key,
            "repeat": task.repeat,
            "seed": task.seed,
            "outputs": result["outputs"],
            "wall_s": result["wall_s"],
        }
        self._fh.write(json.dumps(record) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        self._fh.close()


def _atomic(path: Path, write: Callable[[Path], Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    write(tmp)
    os.replace(tmp, path)


def _build_table(
    tasks: Sequence[_Task], results: Mapping[int, Mapping[str, Any]], point_names: list[str]
) -> pandas.DataFrame:
    import pandas

    rows = []
    output_names: list[str] = []
    for task in tasks:
        result = results.get(task.index)
        if result is None:
            continue
        for name in result["outputs"]:
            if name not in output_names:
                output_names.append(name)
        rows.append(
            {
                **task.point,
                "repeat": task.repeat,
                "seed": task.seed,
                **result["outputs"],
                "wall_s": result["wall_s"],
            }
        )
    columns = [*point_names, "repeat", "seed", *output_names, "wall_s"]
    table = pandas.DataFrame(rows, columns=columns)
    table["repeat"] = table["repeat"].astype("int64")
    table["seed"] = table["seed"].astype("int64")
    for name in [*output_names, "wall_s"]:
        table[name] = table[name].astype("float64")
    return table


# -- the engine ------------------------------------------------------------------------------
def run_sweep(
    task: Callable[[dict[str, Any], int], Mapping[str, Any]],
    points: Iterable[Mapping[str, Any]],
    *,
    out: str | Path,
    seed: int = 0,
    repeats: int = 1,
    seed_keys: Sequence[str] | None = None,
    scheduler: Any = None,
    n_workers: int = 2,
    threads_per_worker: int = 1,
    resume: bool = True,
    progress: bool | None = None,
    task_name: str | None = None,
) -> pandas.DataFrame:
    """Run ``task(point, seed)`` for every point and repeat; collect one tidy table.

    Args:
        task: a callable ``task(point: dict, seed: int) -> dict[str, float]``; for Dask it
            must be picklable (a top-level function, or a ``functools.partial`` of one).
            It must derive all its randomness from ``seed`` (e.g.
            ``torch.Generator().manual_seed(seed)``).
        points: the grid points, each a dict parameter name -> scalar (str, bool, int,
            float); all points must have the same keys and no point may repeat (see
            :func:`sweep_grid`).
        out: the sweep folder (created; layout in the module docstring).
        seed: the base seed, ``>= 0``.
        repeats: runs per point (e.g. Monte-Carlo chips), ``>= 1``.
        seed_keys: the point keys the task seeds depend on (``None``: all; ``()``: only
            the repeat, so repeat ``r`` uses the same seed at every point). See
            :func:`task_seed`.
        scheduler: ``None``: start a ``distributed.LocalCluster`` of ``n_workers`` processes
            (closed at the end); ``"serial"``: run in this process without Dask (the
            reference); a scheduler address such as ``"tcp://10.0.0.5:8786"``: connect to
            that cluster (its workers need wavebp installed); or a ``distributed.Client``
            (used, not closed).
        n_workers: worker processes of the local cluster, ``>= 0``; ``0`` means serial.
        threads_per_worker: Dask threads per worker, ``>= 1``; also the torch and OpenMP
            thread count each task runs with (set in the workers and, for a serial sweep,
            in this process for the duration of the sweep).
        resume: skip tasks whose records are already in ``out/sweep.jsonl`` (same task
            name, point, repeat and seed); ``False`` discards those records first.
        progress: show a progress bar over the tasks (``None``: only on a terminal or with
            ``WAVEBP_PROGRESS=1``).
        task_name: the name records are filed under, for ``resume`` (``None``: the task's
            ``module.qualname`` with a partial's bound arguments, so changing those arguments
            recomputes everything; give a fixed name when they hold, e.g., a path that may
            be spelled differently).

    Returns:
        The table, one row per finished point x repeat in grid order: the point's
        parameters, ``repeat``, ``seed``, the task's outputs and ``wall_s`` (the task's
        wall time, s). ``table.attrs`` holds ``complete`` (False after an interruption),
        ``n_tasks``, ``n_resumed``, ``n_computed`` and ``wall_s`` (the sweep's wall time).

    Raises:
        ValueError: for bad arguments (naming the argument and the value).
        RuntimeError: if a task raises (the finished tasks are kept and the table written).
    """
    if not callable(task):
        raise ValueError(f"task must be callable as task(point, seed), got {task!r}")
    check_int("seed", seed, minimum=0)
    check_int("repeats", repeats, minimum=1)
    check_int("n_workers", n_workers, minimum=0)
    check_int("threads_per_worker", threads_per_worker, minimum=1)
    if not isinstance(resume, bool):
        raise ValueError(f"resume must be True or False, got {resume!r}")
    if isinstance(points, Mapping) or isinstance(points, str | bytes):
        raise ValueError(f"points must be a sequence of dicts (one per point), got {points!r}")
    if not isinstance(points, Iterable):
        raise ValueError(f"points must be a sequence of dicts, got {points!r}")
    clean_points = [_normalize_point(p, i) for i, p in enumerate(points)]
    if not clean_points:
        raise ValueError("points must hold at least one point, got an empty sequence")
    point_names = list(clean_points[0])
    keys: list[str] = []
    for i, point in enumerate(clean_points):
        if set(point) != set(point_names):
            raise ValueError(
                f"all points must have the same keys; points[0] has {sorted(point_names)}, "
                f"points[{i}] has {sorted(point)}"
            )
        keys.append(json.dumps(point, sort_keys=True, separators=(",", ":")))
    if len(set(keys)) != len(keys):
        dup = next(k for k in keys if keys.count(k) > 1)
        raise ValueError(f"points must not repeat a point, got {dup} more than once")
    if seed_keys is not None:
        if isinstance(seed_keys, str):
            raise ValueError(f"seed_keys must be a sequence of point keys, got {seed_keys!r}")
        unknown = [k for k in seed_keys if k not in point_names]
        if unknown:
            raise ValueError(f"seed_keys must name point keys {point_names}, got unknown {unknown}")
    mode = _scheduler_mode(scheduler, n_workers)
    if mode != "serial":
        _check_picklable(task)

    tasks = [
        _Task(
            index=i * repeats + r,
            point=point,
            key=key,
            repeat=r,
            seed=task_seed(point, r, seed=seed, seed_keys=seed_keys),
        )
        for i, (point, key) in enumerate(zip(clean_points, keys, strict=True))
        for r in range(repeats)
    ]
    if task_name is not None and (not isinstance(task_name, str) or not task_name):
        raise ValueError(f"task_name must be a non-empty str or None, got {task_name!r}")
    label = _task_label(task) if task_name is None else task_name
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    records_path = out / _RECORDS
    old = _read_records(records_path) if resume else {}
    results: dict[int, dict[str, Any]] = {}
    for t in tasks:
        rec = old.get((label, t.key, t.repeat, t.seed))
        if rec is not None:
            results[t.index] = rec
    n_resumed = len(results)
    todo = [t for t in tasks if t.index not in results]

    started = datetime.now(timezone.utc)
    start = time.perf_counter()
    complete = False
    error: BaseException | None = None
    writer = _RecordWriter(records_path, fresh=not resume)
    description = "serial" if mode == "serial" else str(scheduler or f"local:{n_workers}")
    try:
        with (
            _StopOnSignal() as interrupt,
            Progress(len(todo), desc="sweep", enabled=progress) as bar,
        ):

            def finished(t: _Task, result: dict[str, Any]) -> None:
                writer.write(label, t, result)
                results[t.index] = result
                bar.update(1, done=f"{len(results)}/{len(tasks)}")

            try:
                if mode == "serial":
                    complete = _run_serial(task, todo, threads_per_worker, finished, interrupt)
                else:
                    complete = _run_dask(
                        task,
                        todo,
                        scheduler if mode == "client" or mode == "address" else None,
                        n_workers,
                        threads_per_worker,
                        finished,
                        interrupt,
                    )
            except _TaskFailed as exc:
                error = exc
    finally:
        writer.close()
        table = _build_table(tasks, results, point_names)
        _atomic(out / "results.parquet", lambda p: table.to_parquet(p, index=False))
        _atomic(out / "results.csv", lambda p: table.to_csv(p, index=False))
        wall_s = time.perf_counter() - start
        info = {
            "task": label,
            "seed": seed,
            "repeats": repeats,
            "seed_keys": None if seed_keys is None else list(seed_keys),
            "scheduler": description,
            "n_workers": n_workers if mode == "local" else None,
            "threads_per_worker": threads_per_worker,
            "n_points": len(clean_points),
            "n_tasks": len(tasks),
            "n_resumed": n_resumed,
            "n_computed": len(results) - n_resumed,
            "n_finished": len(results),
            "complete": complete and len(results) == len(tasks),
            "wall_s": wall_s,
            "started_utc": started.isoformat(timespec="seconds"),
            "finished_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "columns": list(table.columns),
        }
        _atomic(
            out / "sweep.json",
            lambda p: p.write_text(json.dumps(to_jsonable(info), indent=2) + "\n"),
        )
    if error is not None:
        raise RuntimeError(str(error)) from error.__cause__
    table.attrs.update(
        complete=info["complete"],
        n_tasks=len(tasks),
        n_resumed=n_resumed,
        n_computed=info["n_computed"],
        wall_s=wall_s,
    )
    return table


def _scheduler_mode(scheduler: Any, n_workers: int) -> str:
    if scheduler is None:
        return "serial" if n_workers == 0 else "local"
    if isinstance(scheduler, str):
        if scheduler == "serial":
            return "serial"
        if "://" in scheduler and scheduler.split("://", 1)[1]:
            return "address"
        raise ValueError(
            "scheduler must be None (a local cluster), 'serial' or a scheduler address such "
            f"as 'tcp://10.0.0.5:8786', got {scheduler!r}"
        )
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - depends on the environment
        Client = None
    if Client is not None and isinstance(scheduler, Client):
        return "client"
    raise ValueError(
        "scheduler must be None (a local cluster), 'serial', a scheduler address such as "
        f"'tcp://10.0.0.5:8786' or a distributed.Client, got {scheduler!r}"
    )


def _check_picklable(task: Callable[..., Any]) -> None:
    try:
        import cloudpickle

        cloudpickle.dumps(task)
    except ImportError:  # pragma: no cover - distributed depends on cloudpickle
        pickle.dumps(task)
    except Exception as exc:
        raise ValueError(
            "task must be picklable to run on Dask workers (a top-level function or a "
            f"functools.partial of one), got {task!r}: {exc}"
        ) from exc


class _TaskFailed(Exception):
    pass


def _failure(t: _Task, exc: BaseException) -> _TaskFailed:
    err = _TaskFailed(
        f"sweep task failed at point {t.point} repeat {t.repeat} (seed {t.seed}): "
        f"{type(exc).__name__}: {exc}"
    )
    err.__cause__ = exc
    return err


def _run_serial(
    task: Callable[..., Any],
    todo: Sequence[_Task],
    threads: int,
    finished: Callable[[_Task, dict[str, Any]], None],
    interrupt: GracefulInterrupt,
) -> bool:
    import torch

    old_threads = torch.get_num_threads()
    try:
        for t in todo:
            if interrupt.stop_requested:
                return False
            try:
                result = _run_one(task, t.point, t.seed, threads)
            except Exception as exc:
                raise _failure(t, exc) from exc
            finished(t, result)
        return True
    finally:
        if torch.get_num_threads() != old_threads:
            torch.set_num_threads(old_threads)


def _fetch(future: Any, interrupt: GracefulInterrupt) -> dict[str, Any] | None:
    """The result of a finished future; ``None`` if a stop is requested while waiting (a
    worker that died holding the result would otherwise block the fetch for ever)."""
    while True:
        try:
            return future.result(timeout=1.0)
        except TimeoutError:
            if interrupt.stop_requested:
                return None


@contextlib.contextmanager
def _workers_ignore_sigint() -> Iterator[None]:
    """Ignore SIGINT while the local workers are spawned: they inherit the ignored signal,
    so a Ctrl-C in the terminal (sent to the whole process group) reaches only this process,
    which stops the sweep cleanly and closes the cluster, instead of killing the workers
    while they hold finished results."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _run_dask(
    task: Callable[..., Any],
    todo: Sequence[_Task],
    scheduler: Any,
    n_workers: int,
    threads: int,
    finished: Callable[[_Task, dict[str, Any]], None],
    interrupt: GracefulInterrupt,
) -> bool:
    from distributed import Client, LocalCluster, as_completed

    if not todo:
        return True  # nothing left: do not start or connect to a cluster
    cluster = None
    own_client = not isinstance(scheduler, Client)
    if scheduler is None:
        env = {
            name: str(threads)
            for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
        }
        with _workers_ignore_sigint():
            cluster = LocalCluster(
                n_workers=n_workers,
                threads_per_worker=threads,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.ERROR,
                env=env,
            )
        client = Client(cluster)
    elif isinstance(scheduler, str):
        client = Client(scheduler)
    else:
        client = scheduler
    try:
        futures = {
            client.submit(_run_one, task, t.point, t.seed, threads, pure=False): t for t in todo
        }
        pending = as_completed(list(futures), raise_errors=False)
        while not pending.is_empty():
            if interrupt.stop_requested:
                pending.clear()
                client.cancel([f for f in futures if not f.done()])
                return False
            batch = pending.next_batch(block=False)
            if not batch:
                time.sleep(0.05)
                continue
            for future in batch:
                t = futures[future]
                if future.status == "error":
                    exc = future.exception()
                    pending.clear()
                    client.cancel([f for f in futures if not f.done()])
                    raise _failure(t, exc) from exc
                result = _fetch(future, interrupt)
                if result is None:  # stop requested while fetching: leave it to --resume
                    pending.clear()
                    client.cancel([f for f in futures if not f.done()])
                    return False
                finished(t, result)
                future.release()
        return True
    finally:
        if own_client:
            client.close()
        if cluster is not None:
            cluster.close()


# -- summaries and figures -------------------------------------------------------------------
def summarize_sweep(table: pandas.DataFrame, *, by: Sequence[str], value: str) -> pandas.DataFrame:
    """Mean, standard deviation (ddof=1), min, max and count of ``value`` per group ``by``.

    Args:
        table: a sweep table (see :func:`run_sweep`).
        by: the point columns to group by, in the order of the result's columns.
        value: the output column to summarize.

    Returns:
        One row per group, sorted by ``by``: ``by`` columns, ``mean``, ``std`` (NaN for a
        group of one), ``min``, ``max``, ``n``.
    """
    for name in [*by, value]:
        if name not in table.columns:
            raise ValueError(
                f"column {name!r} is not in the sweep table (columns: {list(table.columns)})"
            )
    grouped = table.groupby(list(by), sort=True)[value]
    summary = grouped.agg(["mean", "std", "min", "max", "count"]).reset_index()
    return summary.rename(columns={"count": "n"})


def plot_sweep_bands(
    table: pandas.DataFrame,
    *,
    x: str,
    y: str,
    by: Sequence[str] = (),
    panels: Sequence[str] = (),
    path: str | Path,
    title: str = "",
    xlabel: str | None = None,
    ylabel: str | None = None,
) -> Path:
    """Plot the mean of ``y`` against ``x`` with a +-1 std band, one line per ``by`` group.

    Args:
        table: a sweep table.
        x: the point column on the horizontal axis.
        y: the output column (mean over repeats and any columns not named).
        by: point columns whose combinations get one line each.
        panels: point columns whose combinations get one subplot each.
        path: the PNG to write.
        title: figure title.
        xlabel, ylabel: axis labels (default: the column names).

    Returns:
        ``path``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by, panels = list(by), list(panels)
    panel_groups = list(table.groupby(panels, sort=True)) if panels else [((), table)]
    n = len(panel_groups)
    cols = min(n, 3)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(max(6.4, 4.6 * cols), 3.6 * rows + 0.5), squeeze=False, sharey=True
    )
    for ax, (pkey, sub) in zip(axes.flat, panel_groups, strict=False):
        summary = summarize_sweep(sub, by=[*by, x], value=y)
        line_groups = list(summary.groupby(by, sort=True)) if by else [((), summary)]
        for lkey, line in line_groups:
            line = line.sort_values(x)
            lkey = lkey if isinstance(lkey, tuple) else (lkey,)
            label = ", ".join(f"{k}={v}" for k, v in zip(by, lkey, strict=True)) or y
            std = line["std"].fillna(0.0)
            ax.plot(line[x], line["mean"], marker="o", label=label)
            ax.fill_between(line[x], line["mean"] - std, line["mean"] + std, alpha=0.2)
        pkey = pkey if isinstance(pkey, tuple) else (pkey,)
        if panels:
            ax.set_title(", ".join(f"{k}={v}" for k, v in zip(panels, pkey, strict=True)))
        ax.set_xlabel(xlabel or x)
        ax.set_ylabel(ylabel or y)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# -- the co-design Monte-Carlo (``wavebp sweep``) -------------------------------------------------
_CORRECTIONS = ("none", "rescaled", "corrected")
_TRAININGS = ("nominal", "aware")
_CODESIGN_AXES = (
    "training",
    "correction",
    "wavelength_nm",
    "loss_db",
    "phase_sigma",
    "gap_sigma_nm",
)


def _distinct(name: str, values: Sequence[Any]) -> tuple[Any, ...]:
    values = tuple(values)
    if not values:
        raise ValueError(f"{name} must hold at least one value, got ()")
    if len(set(values)) != len(values):
        raise ValueError(f"{name} must not repeat a value, got {values!r}")
    return values


@dataclass(frozen=True, kw_only=True)
class CodesignSweepConfig:
    """The grid and the Monte-Carlo size of ``wavebp sweep``.

    Every combination of the axes is one point; each point is evaluated on ``chips``
    fabricated chips. Chip ``r`` gets the same seed at every point (common random numbers,
    ``seed_keys=()``), so the curves compare the same chips across error scales,
    corrections and trainings.

    Attributes:
        gap_sigma_nm: coupler gap-error stds in nm, each ``>= 0``.
        phase_sigma: static phase-offset stds in rad, each ``>= 0``.
        loss_db: insertion losses per MZI in dB, each ``>= 0``.
        wavelength_nm: operating wavelengths in nm, each in ``(0, 1e5)``.
        correction: programming modes, from ``none | rescaled | corrected``
            (corrected: post-fabrication correction from the measured errors).
        training: networks, from ``nominal | aware`` (aware: trained under sampled errors).
        chips: chips per point, ``>= 1``.
        fast: small training of the two networks (``prepare_codesign(fast=True)``).
        seed: base seed of the training and of the chip seeds, ``>= 0``.
        coupler_model: ``table | coupled-mode`` (see ``wavebp codesign``).
    """

    gap_sigma_nm: tuple[float, ...] = (0.0, 2.0, 5.0, 10.0)
    phase_sigma: tuple[float, ...] = (0.0,)
    loss_db: tuple[float, ...] = (0.0,)
    wavelength_nm: tuple[float, ...] = (1550.0,)
    correction: tuple[str, ...] = ("none", "corrected")
    training: tuple[str, ...] = ("nominal", "aware")
    chips: int = 20
    fast: bool = False
    seed: int = 0
    coupler_model: str = "table"

    def __post_init__(self) -> None:
        for name, low, high, unit in (
            ("gap_sigma_nm", 0.0, math.inf, "nm"),
            ("phase_sigma", 0.0, math.inf, "rad"),
            ("loss_db", 0.0, math.inf, "dB"),
            ("wavelength_nm", 0.0, 1e5, "nm"),
        ):
            values = _distinct(name, getattr(self, name))
            for v in values:
                check_real(
                    f"{name} entries",
                    v,
                    low=low,
                    high=high,
                    unit=unit,
                    low_inclusive=name != "wavelength_nm",
                    high_inclusive=False,
                )
            object.__setattr__(self, name, tuple(float(v) for v in values))
        for name, allowed in (("correction", _CORRECTIONS), ("training", _TRAININGS)):
            values = _distinct(name, getattr(self, name))
            for v in values:
                check_choice(f"{name} entries", v, allowed)
            object.__setattr__(self, name, values)
        check_int("chips", self.chips, minimum=1)
        if not isinstance(self.fast, bool):
            raise ValueError(f"fast must be True or False, got {self.fast!r}")
        check_int("seed", self.seed, minimum=0)
        check_choice("coupler_model", self.coupler_model, ("table", "coupled-mode"))

    def points(self) -> list[dict[str, Any]]:
        """The grid points (training slowest, gap sigma fastest)."""
        return sweep_grid(**{axis: getattr(self, axis) for axis in _CODESIGN_AXES})


def codesign_chip_task(point: dict[str, Any], seed: int, *, model_dir: str) -> dict[str, float]:
    """:func:`wavebp.experiments._codesign.chip_task` as a sweep task.

    Outputs that only echo a point parameter (``wavelength_nm``) are dropped, so they do not
    clash with the point's column.
    """
    from wavebp.experiments._codesign import chip_task

    outputs = chip_task(point, seed, model_dir=model_dir)
    clean = {}
    for name, value in outputs.items():
        if name in point:
            if not math.isclose(float(value), float(point[name]), rel_tol=1e-12, abs_tol=1e-12):
                raise ValueError(
                    f"chip_task output {name!r} = {value!r} differs from the point's "
                    f"{point[name]!r}"
                )
            continue
        clean[name] = value
    return clean


def _codesign_functions() -> tuple[Callable[..., Any], Callable[..., Any]]:
    """(prepare, task): the co-design network level (replaceable in tests)."""
    from wavebp.experiments._codesign import prepare_codesign

    return prepare_codesign, codesign_chip_task


def _codesign_metrics(table: pandas.DataFrame) -> dict[str, Any]:
    """Mean accuracy at the smallest and largest gap sigma per curve, and what correction and
    hardware-aware training recover at the largest."""
    if table.empty or "accuracy" not in table.columns:
        return {}
    others = ["wavelength_nm", "phase_sigma", "loss_db"]
    summary = summarize_sweep(
        table, by=["training", "correction", *others, "gap_sigma_nm"], value="accuracy"
    )
    lo, hi = summary["gap_sigma_nm"].min(), summary["gap_sigma_nm"].max()
    curves = []
    for key, group in summary.groupby(["training", "correction", *others], sort=True):
        at = group.set_index("gap_sigma_nm")
        row = dict(zip(["training", "correction", *others], key, strict=True))
        row["accuracy_at_min_sigma"] = float(at.loc[lo, "mean"]) if lo in at.index else None
        row["accuracy_at_max_sigma"] = float(at.loc[hi, "mean"]) if hi in at.index else None
        row["std_at_max_sigma"] = float(at.loc[hi, "std"]) if hi in at.index else None
        curves.append(row)
    at_hi = summary[summary["gap_sigma_nm"] == hi]
    recovered = []
    for key, group in at_hi.groupby(others, sort=True):
        mean = {(r.training, r.correction): r.mean for r in group.itertuples()}
        entry = dict(zip(others, key, strict=True))
        base = mean.get(("nominal", "none"))
        for (training, correction), value in sorted(mean.items()):
            if base is not None and (training, correction) != ("nominal", "none"):
                entry[f"{training}+{correction} minus nominal+none"] = float(value - base)
        recovered.append(entry)
    return {
        "min_gap_sigma_nm": float(lo),
        "max_gap_sigma_nm": float(hi),
        "curves": curves,
        "recovered_at_max_sigma": recovered,
    }


def run_codesign_sweep(
    config: CodesignSweepConfig,
    out: str | Path,
    *,
    scheduler: Any = None,
    n_workers: int = 2,
    threads_per_worker: int = 1,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool | None = None,
) -> dict[str, Any]:
    """The co-design Monte-Carlo of ``config`` over a grid, written to the run folder ``out``.

    Trains (or, on resume, loads) the nominal and hardware-aware networks once
    (``out/models``), runs :func:`codesign_chip_task` for every point x chip through
    :func:`run_sweep`, and writes ``results.parquet``/``results.csv`` (one row per chip),
    ``summary.csv`` (mean/std per point), ``figures/accuracy_vs_gap_sigma.png`` (mean +- std
    bands, one line per training x correction), ``metrics.json`` and ``report.html``.

    Args:
        config: the grid and Monte-Carlo size.
        out: the run folder.
        scheduler: as in :func:`run_sweep`. For a remote cluster ``out`` must be on a file
            system the workers share (they read ``out/models``).
        n_workers: local-cluster workers (``0``: serial).
        threads_per_worker: threads per worker and per task.
        resume: continue the run in ``out`` (finished chips are not recomputed); its
            ``fast``, ``seed`` and ``coupler_model`` must match ``config``.
        overwrite: replace a run already in ``out``.
        progress: progress bar (``None``: only on a terminal).

    Returns:
        The metrics (also in ``metrics.json``), with ``complete``, ``n_tasks``,
        ``n_resumed``, ``n_computed`` and ``wall_s``.
    """
    check_int("n_workers", n_workers, minimum=0)
    check_int("threads_per_worker", threads_per_worker, minimum=1)
    _scheduler_mode(scheduler, n_workers)  # bad values fail before anything is written
    from wavebp.experiments._codesign import _check_wavelengths_in_model

    _check_wavelengths_in_model("wavelength_nm", config.wavelength_nm, config.coupler_model)
    folder = RunFolder(out, resume=resume, overwrite=overwrite)
    if resume:
        old = folder.read_config()
        for name in ("fast", "seed", "coupler_model"):
            if old.get(name) != getattr(config, name):
                raise ValueError(
                    f"--resume: the run in {folder.path} has {name}={old.get(name)!r}, "
                    f"this one {name}={getattr(config, name)!r}; they must match"
                )
    folder.write_config(
        config,
        scheduler=scheduler if isinstance(scheduler, str | None) else repr(scheduler),
        n_workers=n_workers,
        threads_per_worker=threads_per_worker,
    )
    prepare, chip = _codesign_functions()
    start = time.perf_counter()
    model_dir = prepare(
        folder.path, fast=config.fast, seed=config.seed, coupler_model=config.coupler_model
    )
    prepare_s = time.perf_counter() - start
    table = run_sweep(
        functools.partial(chip, model_dir=str(model_dir)),
        config.points(),
        out=folder.path,
        seed=config.seed,
        repeats=config.chips,
        seed_keys=(),
        scheduler=scheduler,
        n_workers=n_workers,
        threads_per_worker=threads_per_worker,
        resume=resume,
        progress=progress,
        task_name="wavebp.experiments.codesign_chip_task",  # not tied to how out is spelled
    )
    info = dict(table.attrs)
    metrics: dict[str, Any] = {**info, "prepare_s": prepare_s, **_codesign_metrics(table)}
    folder.write_metrics(metrics)
    _codesign_report(folder, config, table, metrics, Path(model_dir), scheduler, n_workers)
    return to_jsonable(metrics)


def _codesign_report(
    folder: RunFolder,
    config: CodesignSweepConfig,
    table: pandas.DataFrame,
    metrics: Mapping[str, Any],
    model_dir: Path,
    scheduler: Any,
    n_workers: int,
) -> None:
    report = Report("Chip co-design: accuracy vs fabrication error, Monte-Carlo sweep")
    report.paragraph(
        f"{len(table)} chips evaluated ({metrics['n_tasks']} planned: "
        f"{len(config.points())} grid points x {config.chips} chips). Each chip samples "
        "coupler gap errors (std gap_sigma_nm), phase offsets (std phase_sigma) and loss "
        "(loss_db per MZI), maps the gap errors through the coupler model to coupler errors, "
        "programs the trained phases (correction 'none') or the phases re-solved for the "
        "measured errors ('corrected', after Bandyopadhyay et al., Optica 2021) and measures "
        "test accuracy on the digits task. 'aware' is the network trained under sampled chip "
        "errors, 'nominal' the one trained on an ideal mesh. Chip r uses the same seed at "
        "every grid point (common random numbers), so curves compare the same chips."
    )
    if not metrics.get("complete", False):
        report.paragraph(
            "INCOMPLETE: the sweep was interrupted; rerun the same command with --resume to "
            "finish it (finished chips are kept)."
        )
    meta_path = model_dir / "meta.json"
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        report.table(
            [
                {"training": name, "clean test accuracy": m.get("clean_test_accuracy")}
                for name, m in meta.get("models", {}).items()
            ],
            caption=f"The two networks (coupler model: {meta.get('coupler_model')})",
        )
    if not table.empty and "accuracy" in table.columns:
        others = [c for c in ("wavelength_nm", "phase_sigma", "loss_db") if table[c].nunique() > 1]
        fig = plot_sweep_bands(
            table,
            x="gap_sigma_nm",
            y="accuracy",
            by=["training", "correction"],
            panels=others,
            path=folder.figure_path("accuracy_vs_gap_sigma"),
            title="Test accuracy vs coupler gap-error std (mean +- std over chips)",
            xlabel="gap-error std (nm)",
            ylabel="test accuracy",
        )
        report.figure(fig, caption="accuracy vs gap sigma", root=folder.path)
        if "fidelity" in table.columns:
            fig = plot_sweep_bands(
                table,
                x="gap_sigma_nm",
                y="fidelity",
                by=["training", "correction"],
                panels=others,
                path=folder.figure_path("fidelity_vs_gap_sigma"),
                title="Matrix fidelity vs coupler gap-error std (mean +- std over chips)",
                xlabel="gap-error std (nm)",
                ylabel="fidelity",
            )
            report.figure(fig, caption="fidelity vs gap sigma", root=folder.path)
        summary = summarize_sweep(
            table,
            by=[
                "training",
                "correction",
                "wavelength_nm",
                "phase_sigma",
                "loss_db",
                "gap_sigma_nm",
            ],
            value="accuracy",
        )
        _atomic(folder.path / "summary.csv", lambda p: summary.to_csv(p, index=False))
        report.table(summary.to_dict("records"), caption="Test accuracy per grid point")
        if metrics.get("recovered_at_max_sigma"):
            report.table(
                metrics["recovered_at_max_sigma"],
                caption=f"Accuracy recovered at gap sigma {metrics['max_gap_sigma_nm']:g} nm "
                "(mean over chips, vs nominal training without correction)",
            )
    where = (
        scheduler
        if isinstance(scheduler, str)
        else ("serial" if n_workers == 0 else f"local cluster, {n_workers} workers")
    )
    report.preformatted(
        f"scheduler: {where}\ntasks: {metrics['n_tasks']} (resumed {metrics['n_resumed']}, "
        f"computed {metrics['n_computed']})\nsweep wall time: {metrics['wall_s']:.1f} s; "
        f"training/loading the networks: {metrics['prepare_s']:.1f} s\n"
        "files: results.parquet / results.csv (one row per chip), summary.csv, sweep.jsonl "
        "(records, for --resume), sweep.json, metrics.json, models/"
    )
    report.write(folder.path / "report.html")
