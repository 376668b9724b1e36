"""Shipped model files (detector and recognizer, .pt and .onnx), read with importlib.resources."""
