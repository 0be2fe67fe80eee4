"""Mesh diagram helper: column fields (checked against the reference matrix) and drawing."""

from __future__ import annotations

import math

import pytest
import torch
from matplotlib.figure import Figure

from wavebp.devices import mzi
from wavebp.photonic._haar import haar_phases
from wavebp.photonic._plot import column_fields, plot_mesh
from wavebp.simulators.mesh import mesh_layout, mesh_matrix_reference


@pytest.mark.parametrize("topology", ["clements", "reck"])
def test_column_fields_end_at_mesh_output(topology, generator):
    layout = mesh_layout(5, topology=topology)
    theta, phi = haar_phases(layout, generator=generator)
    gamma = torch.rand(5, generator=generator, dtype=torch.float64) * 2 * math.pi
    x = torch.randn(3, 5, generator=generator, dtype=torch.complex128)
    fields = column_fields(layout, theta, phi, x, output_phase=gamma)
    assert fields.shape == (layout.n_columns + 1, 3, 5)
    u = mesh_matrix_reference(mzi(theta, phi), gamma, layout)
    assert float((fields[-1] - x @ u.T).abs().max()) < 1e-14
    assert torch.equal(fields[0], x)
    power = (fields.abs() ** 2).sum(-1)  # lossless: conserved at every boundary
    assert float((power - power[0]).abs().max()) < 1e-12


def test_plot_mesh_draws_and_validates(generator):
    layout = mesh_layout(4)
    theta, phi = haar_phases(layout, generator=generator)
    x = torch.zeros(4, dtype=torch.complex128)
    x[1] = 1
    power = column_fields(layout, theta, phi, x).abs() ** 2
    ax = Figure().subplots()
    assert plot_mesh(layout, theta=theta, power=power, ax=ax) is ax
    lines, boxes = ax.collections[:2]
    assert len(boxes.get_paths()) == layout.n_mzis
    assert len(lines.get_array()) == 2 * layout.n_ports * layout.n_columns
    assert len(ax.figure.axes) == 3  # the diagram and two colorbars
    with pytest.raises(ValueError, match=r"power must have shape \(5, 4\)"):
        plot_mesh(layout, power=power[:-1], ax=Figure().subplots())
    with pytest.raises(ValueError, match=r"theta must have shape \(6,\)"):
        plot_mesh(layout, theta=theta[:2], ax=Figure().subplots())
    with pytest.raises(ValueError, match=r"x must have shape \(\.\.\., 4\)"):
        column_fields(layout, theta, phi, torch.zeros(3, dtype=torch.complex128))
