"""Benchmark models: which configurations to measure, and the .tflite files that hold them."""
