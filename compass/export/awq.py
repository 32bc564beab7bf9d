"""Export an INT4 checkpoint (awq-int4 / rtn-int4) as a Qwen2-MoE directory in AutoAWQ's layout.

Same names, config and side files as the float export (``hf.py`` / ``hf_mapping.py``), but every
quantized linear is written as ``{name}.qweight|qzeros|scales`` (``awq_layout.py``) and
``config.json`` carries ``quantization_config`` (quant_method "awq", version "gemm"). The LM head,
the router (``mlp.gate``) and the shared-expert gate stay float, as our quantizer keeps them; the
embedding, int8 in our checkpoint, is written dequantized (AWQ has no quantized embedding).

Our AWQ divides each quantized weight's input by its own per-channel ``input_scale``; the AWQ
format has no such scale, so each is folded into the operation that produces the input, where
that is exact:
- a down projection's input is ``silu(gate)·up``: ``1/s`` goes into the up projection's output
  rows, i.e. its group scales (codes unchanged); same for the shared MLP;
- ``o_proj``'s input is attention's weighted sum of v rows: ``1/s`` goes into ``v_proj``'s rows
  when ``s`` is equal across the query heads sharing each KV head (always when n_heads = n_kv);
- the shared down projection is doubled (Qwen2-MoE's sigmoid(0) = 0.5 gate) on its scales.
q/k/v and the gate/up projections (routed and shared) have no exact fold: several weights with
different scales read one norm output. Those weights are re-quantized round-to-nearest from their
effective float weight: lossy, reported per weight in ``awq_conversion.json`` and summarised in
the manifest. Checkpoints quantized with ``quant.awq_fold=true`` (AutoAWQ's scheme: one scale per
shared input, folded into the float model; ``compass/quant/awq_fold.py``) carry no input scales
and, like rtn-int4 ones, export code for code.

Legend: H query heads, KV key/value heads, d head dim, D model dim, I expert dim.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import torch
from safetensors import safe_open

from compass.config import ConfigError
from compass.export.awq_layout import AwqTensors, QLinear, qlinear, to_awq
from compass.export.hf_mapping import to_hf_config
from compass.export.safetensors_dir import DEFAULT_SHARD_BYTES, write_sharded
from compass.model.config import ModelConfig
from compass.model.io import WEIGHTS, load_model_config, resolve_checkpoint
from compass.quant import int4
from compass.quant.io import is_quantized, load_quant_config
from compass.utils.io import atomic_write_json

log = logging.getLogger(__name__)

# vLLM matches these as substrings of a module name, transformers as name suffixes.
MODULES_NOT_CONVERTED = ["lm_head", "mlp.gate", "mlp.shared_expert_gate"]
REPORT = "awq_conversion.json"


def awq_group_size(cfg: ModelConfig, group_size: int, source: str) -> int:
    """The one group size of the export; an error naming the fix when our weights have several.

    Our quantizer falls back to a smaller group for an input dim the configured size does not
    divide; AutoAWQ's config holds one group size for all layers.
    """
    ins = {
        "d_model (q/k/v, gate/up)": cfg.d_model,
        "n_heads·head_dim (o_proj)": cfg.n_heads * cfg.head_dim,
        "expert_dim (expert down_proj)": cfg.expert_dim,
        "n_shared_experts·expert_dim (shared down_proj)": cfg.n_shared_experts * cfg.expert_dim,
    }
    groups = {what: int4.effective_group_size(k, group_size) for what, k in ins.items()}
    if len(set(groups.values())) > 1:
        raise ConfigError(
            f"{source}: quant.group_size={group_size} does not divide every input dim, so the "
            f"weights were quantized with different groups {groups}; the AWQ format has one "
            "group_size — re-quantize with --quant.group_size=G where G divides "
            f"{sorted(set(ins.values()))} (e.g. {min(groups.values())})"
        )
    outs = {
        "q": cfg.n_heads * cfg.head_dim,
        "k/v": cfg.n_kv_heads * cfg.head_dim,
        "d_model": cfg.d_model,
        "expert_dim": cfg.expert_dim,
    }
    bad = {k: n for k, n in outs.items() if n % 8}
    if bad:
        raise ConfigError(
            f"{source}: output dims {bad} are not multiples of 8: AWQ packs 8 codes per int32 "
            "along the output dim; this model cannot be exported as AWQ (export it as float)"
        )
    return next(iter(groups.values()))


def awq_quantization_config(group_size: int) -> dict:
    return {
        "quant_method": "awq",
        "bits": 4,
        "group_size": group_size,
        "zero_point": True,
        "version": "gemm",
        "modules_to_not_convert": list(MODULES_NOT_CONVERTED),
    }


class _Reader:
    """Our INT4 buffers by module name, from one safetensors file."""

    def __init__(self, f):
        self.f, self.names = f, set(f.keys())

    def get(self, name: str) -> torch.Tensor:
        return self.f.get_tensor(name)

    def linear(self, prefix: str) -> QLinear:
        inp = f"{prefix}.input_scale"
        return qlinear(
            self.get(f"{prefix}.qweight"),
            self.get(f"{prefix}.scales"),
            self.get(f"{prefix}.zeros"),
            self.get(inp) if inp in self.names else None,
        )

    def stack(self, prefix: str) -> list[QLinear]:
        """Routed experts ``[E, ·, ·]``: one ``QLinear`` per expert (each read once per layer)."""
        qw, s, z = (self.get(f"{prefix}.{n}") for n in ("qweight", "scales", "zeros"))
        inp = f"{prefix}.input_scale"
        si = self.get(inp) if inp in self.names else None
        return [qlinear(qw[e], s[e], z[e], None if si is None else si[e]) for e in range(len(qw))]

    def embedding(self) -> torch.Tensor:
        if "embed.weight" in self.names:
            return self.get("embed.weight")
        return self.get("embed.weight.qweight").float() * self.get("embed.weight.scales")[:, None]


def o_scale_on_kv(s_o: torch.Tensor | None, cfg: ModelConfig) -> torch.Tensor | None:
    """o_proj's input scale as one per v_proj row, or None when the query heads sharing a KV
    head disagree (then no fold into v_proj is exact)."""
    if s_o is None:
        return None
    n_rep = cfg.n_heads // cfg.n_kv_heads
    s_KRd = s_o.view(cfg.n_kv_heads, n_rep, cfg.head_dim)
    if not torch.equal(s_KRd, s_KRd[:, :1].expand_as(s_KRd)):
        return None
    return s_KRd[:, 0].reshape(-1)


def _fold_down(down: QLinear) -> tuple[QLinear, torch.Tensor | None]:
    """(down without its input scale, the row scale its up projection takes instead)."""
    if down.input_scale is None:
        return down, None
    return replace(down, input_scale=None), 1.0 / down.input_scale


def _emit(name: str, t: AwqTensors, report: dict) -> Iterator[tuple[str, torch.Tensor]]:
    report[name] = {"exact": t.exact, "max_err": t.max_err, "max_abs": t.max_abs}
    yield f"{name}.qweight", t.qweight
    yield f"{name}.qzeros", t.qzeros
    yield f"{name}.scales", t.scales


def _layer(
    cfg: ModelConfig, r: _Reader, i: int, dtype: torch.dtype, report: dict
) -> Iterator[tuple[str, torch.Tensor]]:
    ours, p = f"layers.{i}.", f"model.layers.{i}."
    q, k, v, o = (r.linear(f"{ours}attn.{x}_proj.weight") for x in "qkvo")
    s_kv, v_rows = o_scale_on_kv(o.input_scale, cfg), None
    if s_kv is not None:
        o, v_rows = replace(o, input_scale=None), 1.0 / s_kv
    yield p + "input_layernorm.weight", r.get(ours + "attn_norm.weight").to(dtype)
    for x, lin, rows in (("q", q, None), ("k", k, None), ("v", v, v_rows)):
        t = to_awq(lin, rows)
        yield from _emit(f"{p}self_attn.{x}_proj", t, report)
        # vLLM's Qwen2-MoE always adds q/k/v biases (see hf_mapping.py).
        yield f"{p}self_attn.{x}_proj.bias", torch.zeros(t.scales.shape[1], dtype=dtype)
    yield from _emit(p + "self_attn.o_proj", to_awq(o), report)
    yield p + "post_attention_layernorm.weight", r.get(ours + "moe_norm.weight").to(dtype)
    yield p + "mlp.gate.weight", r.get(ours + "moe.router.weight").to(dtype)
    sh = ours + "moe.shared."
    down, up_rows = _fold_down(r.linear(sh + "down_proj.weight"))
    sp = p + "mlp.shared_expert."
    yield from _emit(sp + "gate_proj", to_awq(r.linear(sh + "gate_proj.weight")), report)
    yield from _emit(sp + "up_proj", to_awq(r.linear(sh + "up_proj.weight"), up_rows), report)
    twice = torch.full((cfg.d_model,), 2.0)  # ×2 on float16 scales is exact
    yield from _emit(sp + "down_proj", to_awq(down, twice), report)
    yield p + "mlp.shared_expert_gate.weight", torch.zeros(1, cfg.d_model, dtype=dtype)
    inner = cfg.expert_dim
    gate_ups = r.stack(ours + "moe.experts.gate_up_proj")
    downs = r.stack(ours + "moe.experts.down_proj")
    for e, (gu, dn) in enumerate(zip(gate_ups, downs, strict=True)):
        dn, up_rows = _fold_down(dn)
        ep = f"{p}mlp.experts.{e}."
        yield from _emit(ep + "gate_proj", to_awq(gu.rows(0, inner)), report)
        yield from _emit(ep + "up_proj", to_awq(gu.rows(inner, 2 * inner), up_rows), report)
        yield from _emit(ep + "down_proj", to_awq(dn), report)


def awq_tensors(
    cfg: ModelConfig, r: _Reader, dtype: torch.dtype, report: dict
) -> Iterator[tuple[str, torch.Tensor]]:
    """Every tensor of the export, in order; per-weight conversion figures go into ``report``."""
    yield "model.embed_tokens.weight", r.embedding().to(dtype)
    for i in range(cfg.n_layers):
        yield from _layer(cfg, r, i, dtype, report)
    yield "model.norm.weight", r.get("norm.weight").to(dtype)
    if not cfg.tie_embeddings:
        yield "lm_head.weight", r.get("lm_head.weight").to(dtype)


def summarize(report: dict) -> dict:
    exact = [v for v in report.values() if v["exact"]]
    requant = [v for v in report.values() if not v["exact"]]

    def worst(vs: list[dict]) -> tuple[float, float]:
        return (
            max((v["max_err"] for v in vs), default=0.0),
            max((v["max_err"] / max(v["max_abs"], 1e-30) for v in vs), default=0.0),
        )

    (e_abs, e_rel), (r_abs, r_rel) = worst(exact), worst(requant)
    return {
        "awq_linears_exact": len(exact),
        "awq_linears_requantized": len(requant),
        "awq_exact_max_abs_err": e_abs,
        "awq_exact_max_rel_err": e_rel,
        "awq_requantized_max_abs_err": r_abs,
        "awq_requantized_max_rel_err": r_rel,
    }


def write_awq_weights(
    ckpt: str | Path,
    out: Path,
    dtype: torch.dtype = torch.float16,
    max_shard_bytes: int = DEFAULT_SHARD_BYTES,
) -> tuple[dict, dict]:
    """Write the AWQ weights of INT4 checkpoint ``ckpt`` into ``out``: (config.json, metrics).

    ``dtype`` is that of the float tensors and of the activations loaders run in (AWQ kernels
    are float16-first; vLLM's CUDA AWQ accepts only float16).
    """
    t0 = time.time()
    ckpt_dir = resolve_checkpoint(ckpt)
    if not is_quantized(ckpt_dir):
        raise ConfigError(
            f"{ckpt_dir}: no quantization_config.json, a float checkpoint — `compass export hf` "
            "writes it as float; for AWQ, quantize it first: `compass quantize CKPT --method "
            "awq-int4 --calib DATA --out QDIR`"
        )
    qcfg = load_quant_config(ckpt_dir)
    if qcfg.weight_format != "int4":
        raise ConfigError(
            f"{ckpt_dir}: quant.method={qcfg.method!r} is not INT4; only awq-int4 / rtn-int4 "
            "checkpoints export in the AWQ layout — export the float checkpoint it came from "
            "(`compass export hf FLOAT_CKPT`), or re-quantize with --quant.method=awq-int4"
        )
    cfg = load_model_config(ckpt_dir)
    group = awq_group_size(cfg, qcfg.group_size, str(ckpt_dir / "quantization_config.json"))
    report: dict = {}
    with safe_open(str(ckpt_dir / WEIGHTS), framework="pt") as f:
        r = _Reader(f)
        files = write_sharded(awq_tensors(cfg, r, dtype, report), out, max_shard_bytes)
    hf_config = to_hf_config(cfg, dtype) | {"quantization_config": awq_quantization_config(group)}
    summary = summarize(report)
    atomic_write_json(out / REPORT, {"summary": summary, "linears": report})
    if summary["awq_linears_requantized"]:
        log.warning(
            "%d of %d quantized linears had an AWQ input scale with no exact fold and were "
            "re-quantized (max error %.3g of the weight's max |w|); see %s — for an exact "
            "export, quantize with quant.awq_fold=true (the default)",
            summary["awq_linears_requantized"],
            len(report),
            summary["awq_requantized_max_rel_err"],
            out / REPORT,
        )
    metrics = {
        "weight_files": len(files),
        "group_size": group,
        **summary,
        "awq_wall_time_s": time.time() - t0,
    }
    return hf_config, metrics
