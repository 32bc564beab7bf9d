"""Weight-only quantization (report §6.3): AWQ-INT4, round-to-nearest INT4, INT8 and FP8.

``quantize_model(model, QuantConfig(method=...), calib_ids)`` converts a ``CompassModel`` in
place; ``save_quantized`` / ``load_quantized`` / ``load_checkpoint`` handle the on-disk form
(see ``compass/quant/io.py`` for the tensor layout).
"""

from compass.quant.apply import dequantized_model, quantize_model
from compass.quant.calib import load_calibration
from compass.quant.config import METHODS, QuantConfig
from compass.quant.io import is_quantized, load_checkpoint, load_quantized, save_quantized

__all__ = [
    "METHODS",
    "QuantConfig",
    "dequantized_model",
    "is_quantized",
    "load_calibration",
    "load_checkpoint",
    "load_quantized",
    "quantize_model",
    "save_quantized",
]
