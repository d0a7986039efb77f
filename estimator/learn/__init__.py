"""Learning from measurements: features' regressors, per-op model selection, the analytic
throughput, and the whole-network composition model."""
