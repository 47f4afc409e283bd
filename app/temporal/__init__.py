"""Temporal models over per-frame features: the classifier, TTA views and the ensemble."""
