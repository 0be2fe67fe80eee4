"""Optical networks: Clements/Reck meshes, decompositions, ONN models, in-situ backprop."""
