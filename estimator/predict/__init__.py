"""Prediction: a trained estimator composes per-node latencies into a model's total."""
