"""Reciprocity and time-reversal checks; the seed paper's predictions as experiments."""
