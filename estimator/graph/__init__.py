"""Reading .tflite models: generic flatbuffer decoding, the TFLite reader, the graph types."""

from .nodes import ModelGraph, Node, Subgraph, Tensor
from .reader import read_model

__all__ = ["ModelGraph", "Node", "Subgraph", "Tensor", "read_model"]
