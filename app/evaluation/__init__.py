"""Evaluation: metrics, plots and the stored report."""
