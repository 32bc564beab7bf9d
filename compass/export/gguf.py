"""GGUF export (llama.cpp) in the Qwen2-MoE architecture, float or llama.cpp-quantized.

The layout is the one llama.cpp's own converter writes for Qwen2-MoE, bridged from ours exactly
as the HF exporter does (compass/export/hf_mapping.py): one shared expert behind a sigmoid gate
with zero weights (0.5 for every token) and its down projection doubled; explicit zero q/k/v
biases; routed experts stacked as ``ffn_{gate,up,down}_exps`` ``[E, out, in]`` (numpy order;
GGUF's ``ne`` lists dims reversed). RoPE is rotate-half (NEOX) in both, so q/k are not permuted.

Tensor types: ``f32``, ``f16``, or a llama.cpp block type (``q8_0``, ``q4_0``, ``q4_1``) for the
2-D matrices, quantized by the ``gguf`` package's reference quantizer. Norms, biases and the MoE
router stay float32 and the LM head float16/32 (report §6.3 keeps head and router unquantized).
A quantized Compass checkpoint is exported from its dequantized weights (AWQ's input scales are
folded in; llama.cpp has no per-input-channel activation scale), then re-quantized.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import gguf
import numpy as np
import torch
from torch import nn

from compass.export.hf_mapping import check_exportable
from compass.model.transformer import CompassModel

log = logging.getLogger(__name__)

ARCH = gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.QWEN2MOE]
QTYPES = {
    "f32": gguf.GGMLQuantizationType.F32,
    "f16": gguf.GGMLQuantizationType.F16,
    "q8_0": gguf.GGMLQuantizationType.Q8_0,
    "q4_0": gguf.GGMLQuantizationType.Q4_0,
    "q4_1": gguf.GGMLQuantizationType.Q4_1,
}
FILE_TYPES = {
    "f32": gguf.LlamaFileType.ALL_F32,
    "f16": gguf.LlamaFileType.MOSTLY_F16,
    "q8_0": gguf.LlamaFileType.MOSTLY_Q8_0,
    "q4_0": gguf.LlamaFileType.MOSTLY_Q4_0,
    "q4_1": gguf.LlamaFileType.MOSTLY_Q4_1,
}


def _float(mod_or_param) -> torch.Tensor:
    """The float32 weight of a float module/parameter or of a quantized one (dequantized)."""
    if isinstance(mod_or_param, nn.Parameter | torch.Tensor):
        return mod_or_param.detach().float()
    return _stacked(mod_or_param.weight)


def _stacked(w) -> torch.Tensor:
    """Routed experts' ``[E, out, in]`` weight: a parameter, or a quantized stack."""
    # torch.Tensor has a (quantized-tensor) dequantize() too: test for our holders by type.
    return w.detach().float() if isinstance(w, torch.Tensor) else w.dequantize()


def gguf_tensors(model: CompassModel) -> Iterator[tuple[str, np.ndarray]]:
    """(GGUF name, float32 numpy array in numpy order) for every tensor of the file."""
    cfg = model.config
    check_exportable(cfg)
    yield "token_embd.weight", _float(model.embed).numpy()
    for i, layer in enumerate(model.layers):
        b = f"blk.{i}"
        a, moe = layer.attn, layer.moe
        yield f"{b}.attn_norm.weight", _float(layer.attn_norm.weight).numpy()
        for short, lin in (("q", a.q_proj), ("k", a.k_proj), ("v", a.v_proj)):
            w = _float(lin)
            yield f"{b}.attn_{short}.weight", w.numpy()
            yield f"{b}.attn_{short}.bias", np.zeros(w.shape[0], dtype=np.float32)
        yield f"{b}.attn_output.weight", _float(a.o_proj).numpy()
        yield f"{b}.ffn_norm.weight", _float(layer.moe_norm.weight).numpy()
        yield f"{b}.ffn_gate_inp.weight", _float(moe.router.weight).numpy()
        gate_up, down = _stacked(moe.experts.gate_up_proj), _stacked(moe.experts.down_proj)
        gate, up = gate_up.chunk(2, dim=1)
        yield f"{b}.ffn_gate_exps.weight", gate.contiguous().numpy()
        yield f"{b}.ffn_up_exps.weight", up.contiguous().numpy()
        yield f"{b}.ffn_down_exps.weight", down.contiguous().numpy()
        sh = moe.shared
        yield f"{b}.ffn_gate_inp_shexp.weight", np.zeros(cfg.d_model, dtype=np.float32)
        yield f"{b}.ffn_gate_shexp.weight", _float(sh.gate_proj).numpy()
        yield f"{b}.ffn_up_shexp.weight", _float(sh.up_proj).numpy()
        # sigmoid(0) = 0.5 gates the shared expert in Qwen2-MoE: doubling is exact in binary.
        yield f"{b}.ffn_down_shexp.weight", (2.0 * _float(sh.down_proj)).numpy()
    yield "output_norm.weight", _float(model.norm.weight).numpy()
    yield "output.weight", _float(model.lm_head.weight).numpy()


def tensor_type(name: str, arr: np.ndarray, kind: str) -> gguf.GGMLQuantizationType:
    if arr.ndim == 1 or ".ffn_gate_inp." in name:
        return gguf.GGMLQuantizationType.F32
    if name == "output.weight":
        return QTYPES["f32" if kind == "f32" else "f16"]
    qtype = QTYPES[kind]
    block, _ = gguf.GGML_QUANT_SIZES[qtype]
    if arr.shape[-1] % block:
        log.warning(
            "%s: row length %d is not a multiple of %d; kept f16", name, arr.shape[-1], block
        )
        return gguf.GGMLQuantizationType.F16
    return qtype


def _encode(arr: np.ndarray, qtype: gguf.GGMLQuantizationType) -> np.ndarray:
    if qtype == gguf.GGMLQuantizationType.F32:
        return arr.astype(np.float32)
    if qtype == gguf.GGMLQuantizationType.F16:
        return arr.astype(np.float16)
    return gguf.quants.quantize(arr.astype(np.float32), qtype)


def _add_metadata(w: gguf.GGUFWriter, model: CompassModel, kind: str) -> None:
    c = model.config
    w.add_name("compass")
    w.add_context_length(c.max_seq_len)
    w.add_embedding_length(c.d_model)
    w.add_block_count(c.n_layers)
    w.add_feed_forward_length(c.n_shared_experts * c.expert_dim)
    w.add_head_count(c.n_heads)
    w.add_head_count_kv(c.n_kv_heads)
    w.add_rope_freq_base(c.rope_base)
    w.add_layer_norm_rms_eps(c.norm_eps)
    w.add_expert_count(c.n_routed_experts)
    w.add_expert_used_count(c.top_k)
    w.add_expert_feed_forward_length(c.expert_dim)
    w.add_expert_shared_feed_forward_length(c.n_shared_experts * c.expert_dim)
    w.add_file_type(FILE_TYPES[kind])
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)


def _add_tokenizer(w: gguf.GGUFWriter, tokenizer_dir: str | Path, vocab_size: int) -> None:
    """SentencePiece vocabulary as llama.cpp's ``llama`` (SPM) tokenizer, padded to the model."""
    from compass.tokenizer import load_tokenizer

    tok = load_tokenizer(tokenizer_dir)
    sp = tok.sp
    tokens, scores, types = [], [], []
    for i in range(vocab_size):
        if i >= sp.get_piece_size():
            tokens.append(f"[PAD{i}]")
            scores.append(-1e4)
            types.append(gguf.TokenType.UNUSED)
            continue
        tokens.append(sp.id_to_piece(i))
        scores.append(sp.get_score(i))
        if sp.is_unknown(i):
            types.append(gguf.TokenType.UNKNOWN)
        elif sp.is_control(i):
            types.append(gguf.TokenType.CONTROL)
        elif sp.is_byte(i):
            types.append(gguf.TokenType.BYTE)
        elif sp.is_unused(i):
            types.append(gguf.TokenType.UNUSED)
        else:
            types.append(gguf.TokenType.NORMAL)
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    if getattr(tok, "bos_id", None) is not None and tok.bos_id >= 0:
        w.add_bos_token_id(tok.bos_id)
    w.add_eos_token_id(tok.eos_id)
    w.add_add_bos_token(False)
    template = Path(tokenizer_dir) / "chat_template.jinja"
    if template.exists():
        w.add_chat_template(template.read_text())


def export_gguf(
    model: CompassModel,
    out_file: str | Path,
    kind: str = "f16",
    tokenizer: str | Path | None = None,
) -> Path:
    if kind not in QTYPES:
        raise ValueError(f"GGUF tensor type {kind!r}: choose one of {sorted(QTYPES)}")
    out = Path(out_file)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    writer = gguf.GGUFWriter(str(tmp), ARCH)
    _add_metadata(writer, model, kind)
    if tokenizer is not None:
        _add_tokenizer(writer, tokenizer, model.config.vocab_size)
    with torch.no_grad():
        for name, arr in gguf_tensors(model):
            qtype = tensor_type(name, arr, kind)
            writer.add_tensor(name, _encode(arr, qtype), raw_dtype=qtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    tmp.replace(out)
    return out


def read_gguf(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Every tensor dequantized to float32 in numpy order, and each tensor's GGML type name."""
    reader = gguf.GGUFReader(str(path))
    arrays, types = {}, {}
    for t in reader.tensors:
        shape = tuple(int(d) for d in reversed(t.shape.tolist()))
        arrays[t.name] = gguf.quants.dequantize(t.data, t.tensor_type).reshape(shape)
        types[t.name] = t.tensor_type.name
    return arrays, types


def read_field(path: str | Path, key: str):
    field = gguf.GGUFReader(str(path)).fields[key]
    return field.contents()
