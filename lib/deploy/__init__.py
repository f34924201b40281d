"""Deployment: a tracker's per-frame network as ONNX (``onnx_export``) and run by onnxruntime (``onnx_backend``).

Nothing here is imported by the PyTorch path: ``onnx`` and ``onnxruntime`` load only when a tool asks for them."""
