"""``compass quantize`` settings (report §6.3: weight-only FP8 and AWQ-INT4; head and router kept).

Defaults suit real models (group 128, as in AWQ); the tiny and micro recipes set group 32, because
their input dims are 64–128 and a 128 group would be plain per-channel quantization there.
"""

from __future__ import annotations

from dataclasses import dataclass

from compass.config import Config, ConfigError

METHODS = ("awq-int4", "rtn-int4", "int8", "fp8")


@dataclass
class QuantConfig(Config):
    # awq-int4: activation-aware scales + group-wise asymmetric INT4; rtn-int4: the same INT4
    # without the scale search (the baseline AWQ must beat); int8: per-channel symmetric;
    # fp8: e4m3 with a per-channel scale.
    method: str = "awq-int4"
    group_size: int = 128
    # INT8 rows for the input embedding (the LM head always stays float32).
    quantize_embedding: bool = True
    # AWQ: alpha grid points in [0, 1) (alpha = 0 is plain round-to-nearest), calibration size,
    # and how many activation rows per weight the search keeps.
    awq_grid: int = 20
    # AWQ's second step: per-group range clipping searched on the same activations.
    awq_clip: bool = True
    # AutoAWQ's scheme (compass/quant/awq_fold.py): one scale per shared input, folded into the
    # norms / preceding projections, so `compass export hf` writes every AWQ weight exactly.
    # Off: one scale per weight, applied to its input at run time; the export then re-quantizes
    # the weights whose scale has no exact fold. On by default: equal KL to the float model on
    # both tiny models measured (bench/results/awq_export_quality*.md) and an exact export.
    awq_fold: bool = True
    calib_samples: int = 64
    calib_seq_len: int = 256
    calib_max_rows: int = 4096
    calib_batch_size: int = 8

    def validate(self) -> None:
        errs = []
        if self.method not in METHODS:
            errs.append(f"quant.method={self.method!r}: choose one of {list(METHODS)}")
        if self.group_size not in (32, 64, 128, 256):
            errs.append(
                f"quant.group_size={self.group_size}: choose 32, 64, 128 or 256 "
                "(the group sizes PyTorch's CPU int4 kernel runs)"
            )
        for name in ("awq_grid", "calib_samples", "calib_seq_len", "calib_max_rows"):
            if getattr(self, name) <= 0:
                errs.append(f"quant.{name}={getattr(self, name)} must be positive")
        if errs:
            raise ConfigError("; ".join(errs))

    @property
    def weight_format(self) -> str:
        return {"awq-int4": "int4", "rtn-int4": "int4", "int8": "int8", "fp8": "fp8"}[self.method]
