"""Numerical engines with no knowledge of networks (mesh, tmm, fdtd, dynamics, meep)."""
