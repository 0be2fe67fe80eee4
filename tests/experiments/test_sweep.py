"""The sweep engine: seeds, tidy table, Dask == serial, resume, interruption, bad arguments."""

from __future__ import annotations

import functools
import json
import logging
import os
import signal
import sys
import uuid
from pathlib import Path

import pytest
import torch

pandas = pytest.importorskip("pandas")
pytest.importorskip("pyarrow")

from pandas.testing import assert_frame_equal  # noqa: E402

from wavebp.experiments import (  # noqa: E402
    plot_sweep_bands,
    point_key,
    run_sweep,
    summarize_sweep,
    sweep_grid,
    task_seed,
)

POINTS = sweep_grid(scale=[0.5, 2.0], kind=["a", "b"], n=[3])


# -- toy tasks (top level, so Dask workers can unpickle them) ----------------------------------
def toy_task(point: dict, seed: int) -> dict[str, float]:
    """A deterministic torch computation whose result depends on the point and the seed."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(point["n"], 4, dtype=torch.float64, generator=g)
    shift = 1.0 if point["kind"] == "a" else -1.0
    y = torch.tanh(point["scale"] * x @ x.T + shift)
    return {"mean": float(y.mean()), "norm": float(torch.linalg.matrix_norm(y))}


def worker_task(point: dict, seed: int) -> dict[str, float]:
    """toy_task plus where and with how many torch threads it ran."""
    return {**toy_task(point, seed), "pid": float(os.getpid()), "threads": torch.get_num_threads()}


def counting_task(point: dict, seed: int, *, calls: str) -> dict[str, float]:
    """toy_task that leaves one file per call in ``calls`` (counts calls across processes)."""
    Path(calls, f"{seed}-{uuid.uuid4().hex}").touch()
    return toy_task(point, seed)


def signalling_task(point: dict, seed: int, *, calls: str, after: int, signum: int) -> dict:
    """counting_task that sends ``signum`` to its own process on call number ``after``."""
    result = counting_task(point, seed, calls=calls)
    if len(os.listdir(calls)) == after:
        os.kill(os.getpid(), signum)
    return result


def failing_task(point: dict, seed: int) -> dict[str, float]:
    if point["kind"] == "b" and point["scale"] == 2.0:
        raise ArithmeticError("boom")
    return toy_task(point, seed)


class _Unpicklable:
    def __call__(self, point, seed):
        return {"x": 1.0}

    def __reduce__(self):
        raise TypeError("not picklable")


def _n_calls(calls: Path) -> int:
    return len(os.listdir(calls))


def _without_wall(table):
    return table.drop(columns="wall_s")


# -- seeds and grids -------------------------------------------------------------------------
def test_task_seed_depends_on_values_not_order():
    p = {"a": 1.5, "b": "x"}
    s = task_seed(p, 0, seed=7)
    assert s == task_seed({"b": "x", "a": 1.5}, 0, seed=7)  # key order does not matter
    assert 0 <= s < 2**63
    others = {
        task_seed(p, 1, seed=7),
        task_seed(p, 0, seed=8),
        task_seed({"a": 2.5, "b": "x"}, 0, seed=7),
    }
    assert s not in others and len(others) == 3
    # seed_keys=(): repeat r gets the same seed at every point (common random numbers)
    assert task_seed(p, 3, seed=7, seed_keys=()) == task_seed(
        {"a": 9.0, "b": "y"}, 3, seed=7, seed_keys=()
    )
    assert task_seed(p, 3, seed_keys=["b"]) == task_seed({"a": 0.1, "b": "x"}, 3, seed_keys=["b"])
    assert point_key({"b": "x", "a": 1.5}) == '{"a":1.5,"b":"x"}'
    with pytest.raises(ValueError, match="seed_keys"):
        task_seed(p, 0, seed_keys=["c"])


def test_sweep_grid_product_and_errors():
    assert sweep_grid(a=[1, 2], b=["x", "y"]) == [
        {"a": 1, "b": "x"},
        {"a": 1, "b": "y"},
        {"a": 2, "b": "x"},
        {"a": 2, "b": "y"},
    ]
    with pytest.raises(ValueError, match="axis 'a' must hold at least one value"):
        sweep_grid(a=[])
    with pytest.raises(ValueError, match="must not repeat"):
        sweep_grid(a=[1, 1])
    with pytest.raises(ValueError, match="sequence of values"):
        sweep_grid(a="abc")
    with pytest.raises(ValueError, match="at least one axis"):
        sweep_grid()


# -- the serial reference ----------------------------------------------------------------------
def test_serial_table_layout_files_and_seeds(tmp_path):
    table = run_sweep(toy_task, POINTS, out=tmp_path, repeats=3, seed=5, scheduler="serial")
    assert list(table.columns) == ["scale", "kind", "n", "repeat", "seed", "mean", "norm", "wall_s"]
    assert len(table) == len(POINTS) * 3
    # rows in grid order, repeats innermost; seeds from (base seed, point, repeat) only
    for i, row in enumerate(table.itertuples(index=False)):
        point = POINTS[i // 3]
        assert (row.scale, row.kind, row.n, row.repeat) == (
            point["scale"],
            point["kind"],
            point["n"],
            i % 3,
        )
        assert row.seed == task_seed(point, i % 3, seed=5)
        assert row.mean == toy_task(point, row.seed)["mean"]  # same computation, same bits
    assert table["seed"].nunique() == len(table)
    assert (table["wall_s"] >= 0).all()
    assert str(table["repeat"].dtype) == "int64" and str(table["seed"].dtype) == "int64"
    assert table.attrs["complete"] is True and table.attrs["n_computed"] == len(table)
    # the files hold the same table (CSV floats round-trip through repr exactly)
    assert_frame_equal(pandas.read_parquet(tmp_path / "results.parquet"), table)
    from_csv = pandas.read_csv(tmp_path / "results.csv", float_precision="round_trip")
    assert_frame_equal(from_csv, table, check_dtype=False, check_exact=True)
    info = json.loads((tmp_path / "sweep.json").read_text())
    assert info["complete"] is True and info["n_tasks"] == 12 and info["task"].endswith("toy_task")
    assert len((tmp_path / "sweep.jsonl").read_text().splitlines()) == 12


def test_table_does_not_depend_on_execution_order(tmp_path):
    forward = run_sweep(toy_task, POINTS, out=tmp_path / "f", repeats=2, scheduler="serial")
    backward = run_sweep(toy_task, POINTS[::-1], out=tmp_path / "b", repeats=2, n_workers=0)
    keys = ["scale", "kind", "repeat"]
    a = _without_wall(forward).sort_values(keys).reset_index(drop=True)
    b = _without_wall(backward).sort_values(keys).reset_index(drop=True)
    assert_frame_equal(a, b)


def test_serial_sets_and_restores_threads(tmp_path):
    before = torch.get_num_threads()
    table = run_sweep(
        worker_task, POINTS[:1], out=tmp_path, scheduler="serial", threads_per_worker=1
    )
    assert table["threads"].tolist() == [1.0]
    assert table["pid"].tolist() == [float(os.getpid())]
    assert torch.get_num_threads() == before


# -- Dask ------------------------------------------------------------------------------------
@pytest.fixture
def _pickle_tests_by_value():
    # workers are fresh processes: ship this module's functions by value, not by reference
    cloudpickle = pytest.importorskip("cloudpickle")
    module = sys.modules[__name__]
    cloudpickle.register_pickle_by_value(module)
    yield
    cloudpickle.unregister_pickle_by_value(module)


@pytest.fixture
def _restore_torch_threads():
    # in-process (thread) workers set this process's torch thread count
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.mark.usefixtures("_pickle_tests_by_value")
def test_local_cluster_equals_serial(tmp_path):
    """The default scheduler (a 2-process LocalCluster) gives the serial table, bit for bit."""
    pytest.importorskip("distributed")
    serial = run_sweep(worker_task, POINTS, out=tmp_path / "s", repeats=2, scheduler="serial")
    dask = run_sweep(
        worker_task, POINTS, out=tmp_path / "d", repeats=2, n_workers=2, threads_per_worker=1
    )
    assert dask.attrs["complete"] is True
    # the tasks ran in the worker processes, with the thread count asked for
    pids = set(dask["pid"])
    assert os.getpid() not in pids and 1 <= len(pids) <= 2
    assert set(dask["threads"]) == {1.0}
    assert_frame_equal(
        _without_wall(serial).drop(columns="pid"), _without_wall(dask).drop(columns="pid")
    )


@pytest.mark.usefixtures("_restore_torch_threads")
def test_scheduler_address_and_client_resume(tmp_path):
    """A scheduler address (as for a remote cluster) and a Client give the serial table;
    resuming on the cluster recomputes nothing. (Thread workers in this process, reached over
    TCP: starts in a fraction of the time of worker processes.)"""
    distributed = pytest.importorskip("distributed")
    calls = tmp_path / "calls"
    calls.mkdir()
    task = functools.partial(counting_task, calls=str(calls))
    serial = run_sweep(toy_task, POINTS, out=tmp_path / "s", repeats=2, scheduler="serial")
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=False,
        protocol="tcp",
        dashboard_address=None,
        silence_logs=logging.ERROR,
    ) as cluster:
        assert cluster.scheduler_address.startswith("tcp://")
        # first half of the points through the address, then all of them through a Client
        half = run_sweep(
            task, POINTS[:2], out=tmp_path / "d", repeats=2, scheduler=cluster.scheduler_address
        )
        assert half.attrs["n_computed"] == 4 and _n_calls(calls) == 4
        with distributed.Client(cluster) as client:
            full = run_sweep(task, POINTS, out=tmp_path / "d", repeats=2, scheduler=client)
            assert client.status == "running"  # a Client passed in is not closed
            # a task that raises on a worker stops the sweep with the point in the message
            with pytest.raises(RuntimeError, match=r"'kind': 'b'.*ArithmeticError: boom"):
                run_sweep(failing_task, POINTS, out=tmp_path / "e", scheduler=client)
            assert client.status == "running"
    assert full.attrs["n_resumed"] == 4 and full.attrs["n_computed"] == 4
    assert _n_calls(calls) == len(POINTS) * 2  # each task ran exactly once
    assert_frame_equal(_without_wall(serial), _without_wall(full))


# -- resume and interruption -------------------------------------------------------------------
def test_resume_skips_finished_points(tmp_path):
    calls = tmp_path / "calls"
    calls.mkdir()
    task = functools.partial(counting_task, calls=str(calls))
    out = tmp_path / "run"
    run_sweep(task, POINTS[1:3], out=out, repeats=2, scheduler="serial")
    assert _n_calls(calls) == 4
    table = run_sweep(task, POINTS, out=out, repeats=2, scheduler="serial")
    assert _n_calls(calls) == 8  # only the 4 new (point, repeat) pairs ran
    assert table.attrs["n_resumed"] == 4 and table.attrs["n_computed"] == 4
    reference = run_sweep(toy_task, POINTS, out=tmp_path / "ref", repeats=2, scheduler="serial")
    assert_frame_equal(_without_wall(table), _without_wall(reference))
    # again: nothing to do; a different base seed means new tasks; resume=False redoes all
    run_sweep(task, POINTS, out=out, repeats=2, scheduler="serial")
    assert _n_calls(calls) == 8
    run_sweep(task, POINTS[:1], out=out, repeats=2, seed=1, scheduler="serial")
    assert _n_calls(calls) == 10
    run_sweep(task, POINTS[:1], out=out, repeats=2, scheduler="serial", resume=False)
    assert _n_calls(calls) == 12
    assert len((out / "sweep.jsonl").read_text().splitlines()) == 2  # old records discarded


def test_task_name_decides_which_records_resume(tmp_path):
    calls = tmp_path / "calls"
    calls.mkdir()
    same_dir = [
        functools.partial(counting_task, calls=str(calls)),
        functools.partial(counting_task, calls=f"{calls}/"),  # same folder, other spelling
    ]
    run_sweep(same_dir[0], POINTS, out=tmp_path / "a", scheduler="serial")
    run_sweep(same_dir[1], POINTS, out=tmp_path / "a", scheduler="serial")
    assert _n_calls(calls) == 8  # default name includes the bound arguments: recomputed
    for task in same_dir:
        run_sweep(task, POINTS, out=tmp_path / "b", scheduler="serial", task_name="chip")
    assert _n_calls(calls) == 12  # a fixed name: the second spelling resumes everything
    info = json.loads((tmp_path / "b" / "sweep.json").read_text())
    assert info["task"] == "chip" and info["n_resumed"] == 4


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_then_resume_equals_uninterrupted(tmp_path, signum, capsys):
    calls = tmp_path / "calls"
    calls.mkdir()
    out = tmp_path / "run"
    task = functools.partial(signalling_task, calls=str(calls), after=3, signum=int(signum))
    handler = signal.getsignal(signum)
    partial = run_sweep(task, POINTS, out=out, repeats=2, scheduler="serial")
    assert signal.getsignal(signum) is handler  # handlers restored
    assert "interrupt" in capsys.readouterr().err
    # the task in flight finished; the rest did not start; what finished is on disk
    assert partial.attrs["complete"] is False and len(partial) == 3 and _n_calls(calls) == 3
    assert json.loads((out / "sweep.json").read_text())["complete"] is False
    assert len(pandas.read_parquet(out / "results.parquet")) == 3
    # a hard kill may tear the last line of the record file: resume must cope
    with (out / "sweep.jsonl").open("a") as fh:
        fh.write('{"task": "torn')
    resumed = run_sweep(task, POINTS, out=out, repeats=2, scheduler="serial")
    assert resumed.attrs["complete"] is True and resumed.attrs["n_resumed"] == 3
    assert _n_calls(calls) == len(POINTS) * 2  # no finished task was recomputed
    reference = run_sweep(toy_task, POINTS, out=tmp_path / "ref", repeats=2, scheduler="serial")
    assert_frame_equal(_without_wall(resumed), _without_wall(reference))


def test_task_error_names_point_and_keeps_finished_rows(tmp_path):
    with pytest.raises(RuntimeError, match=r"'kind': 'b'.*ArithmeticError: boom") as exc:
        run_sweep(failing_task, POINTS, out=tmp_path, scheduler="serial")
    assert isinstance(exc.value.__cause__, ArithmeticError)
    finished = pandas.read_parquet(tmp_path / "results.parquet")
    assert len(finished) == 3  # the points before the failing one
    assert json.loads((tmp_path / "sweep.json").read_text())["complete"] is False


@pytest.mark.parametrize(
    ("output", "message"),
    [
        ({"mean": "high"}, "task output 'mean' must be a real number"),
        ({"seed": 1.0}, "task output 'seed' clashes"),
        ({"scale": 1.0}, "task output 'scale' clashes"),
        ({}, "non-empty dict"),
        ([1.0], "non-empty dict"),
    ],
)
def test_bad_task_outputs(tmp_path, output, message):
    def task(point, seed):
        return output

    with pytest.raises(RuntimeError, match=message):
        run_sweep(task, POINTS[:1], out=tmp_path, scheduler="serial")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"task": 3}, "task must be callable"),
        ({"points": []}, "at least one point"),
        ({"points": {"a": 1}}, "sequence of dicts"),
        ({"points": [1, 2]}, r"points\[0\] must be a dict"),
        ({"points": [{}]}, "at least one parameter"),
        ({"points": [{"a": 1}, {"b": 1}]}, "same keys"),
        ({"points": [{"a": 1}, {"a": 1}]}, "must not repeat a point"),
        ({"points": [{"a": [1, 2]}]}, "point value 'a' must be a str, bool, int or float"),
        ({"points": [{"a": float("nan")}]}, "finite number"),
        ({"points": [{"seed": 1}]}, "reserved"),
        ({"seed": -1}, "seed must be an integer >= 0"),
        ({"repeats": 0}, "repeats must be an integer >= 1"),
        ({"repeats": 1.5}, "repeats must be an integer"),
        ({"n_workers": -1}, "n_workers must be an integer >= 0"),
        ({"threads_per_worker": 0}, "threads_per_worker must be an integer >= 1"),
        ({"scheduler": "localhost:8786"}, "scheduler must be None"),
        ({"scheduler": 8786}, "scheduler must be None"),
        ({"resume": "yes"}, "resume must be True or False"),
        ({"seed_keys": ["zz"]}, "seed_keys must name point keys"),
        ({"seed_keys": "scale"}, "seed_keys must be a sequence"),
        ({"task_name": ""}, "task_name must be a non-empty str"),
        ({"task": _Unpicklable(), "scheduler": "tcp://127.0.0.1:1"}, "task must be picklable"),
    ],
)
def test_bad_arguments(tmp_path, kwargs, message):
    args = {"task": toy_task, "points": POINTS, "out": tmp_path, "scheduler": "serial", **kwargs}
    with pytest.raises(ValueError, match=message):
        run_sweep(**args)
    assert not (tmp_path / "sweep.jsonl").exists()  # validated before anything is written


# -- summaries and figures ---------------------------------------------------------------------
def test_summary_and_band_figure(tmp_path):
    table = run_sweep(toy_task, POINTS, out=tmp_path, repeats=4, scheduler="serial")
    summary = summarize_sweep(table, by=["kind", "scale"], value="mean")
    assert len(summary) == 4 and set(summary["n"]) == {4}
    group = table[(table["kind"] == "a") & (table["scale"] == 2.0)]["mean"]
    row = summary[(summary["kind"] == "a") & (summary["scale"] == 2.0)].iloc[0]
    assert row["mean"] == pytest.approx(group.mean(), rel=1e-12)  # float64 reductions
    assert row["std"] == pytest.approx(group.std(ddof=1), rel=1e-12)
    with pytest.raises(ValueError, match="column 'nope'"):
        summarize_sweep(table, by=["nope"], value="mean")
    path = plot_sweep_bands(
        table, x="scale", y="mean", by=["kind"], panels=["n"], path=tmp_path / "f" / "bands.png"
    )
    assert path.stat().st_size > 5_000
