"""The use cases, once: build, train, estimate, measure and evaluate. The ``leti`` CLI and the
viewer both call these and nothing below them."""
