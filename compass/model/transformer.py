"""The Compass decoder: embeddings, pre-norm blocks (GQA attention + MoE), final norm, LM head.

The forward returns raw auxiliary losses (mean over layers, so uniform routing gives L_aux = 1 at
any depth); the training loop owns their coefficients and decay. No torch.distributed here:
FSDP and friends are applied from compass.distributed.

Legend: B batch, T tokens, D model dim, V vocab, L layers, E routed experts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from compass.model.attention import Attention, DocSegments, build_mask
from compass.model.config import ModelConfig
from compass.model.moe.layer import MoELayer
from compass.model.norm import RMSNorm
from compass.model.rope import rope_cos_sin


@dataclass
class ModelOutput:
    logits_BTV: torch.Tensor
    aux_loss: torch.Tensor
    z_loss: torch.Tensor
    expert_counts_LE: torch.Tensor  # tokens per routed expert per layer (detached)
    hidden_BTD: torch.Tensor | None = None


class Block(nn.Module):
    def __init__(self, config: ModelConfig, layer_idx: int):
        super().__init__()
        self.attn_norm = RMSNorm(config.d_model, config.norm_eps)
        self.attn = Attention(config, layer_idx)
        self.moe_norm = RMSNorm(config.d_model, config.norm_eps)
        self.moe = MoELayer(config)

    def forward(self, x_BTD, cos_sin, mask_BTS, positions_BT, cache, token_mask_BT):
        x_BTD = x_BTD + self.attn(self.attn_norm(x_BTD), cos_sin, mask_BTS, positions_BT, cache)
        y_BTD, routing = self.moe(self.moe_norm(x_BTD), token_mask_BT)
        return x_BTD + y_BTD, routing


class CompassModel(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        config.validate()
        self.config = config
        self.embed = nn.Embedding(config.vocab_size, config.d_model)
        self.layers = nn.ModuleList(Block(config, i) for i in range(config.n_layers))
        self.norm = RMSNorm(config.d_model, config.norm_eps)
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        if config.tie_embeddings:
            self.lm_head.weight = self.embed.weight

    @torch.no_grad()
    def init_weights(self, seed: int | None = None) -> None:
        """Every initialisation in one place (so a meta-device build can be materialised later).

        Normal(0, init_std) for matrices; residual output projections scaled by 1/sqrt(2L) as in
        GPT-2/OLMo so the residual stream's variance does not grow with depth; norms at 1.
        """
        gen = torch.Generator(device="cpu")
        if seed is not None:
            gen.manual_seed(seed)
        std = self.config.init_std
        out_std = std / math.sqrt(2 * self.config.n_layers)
        for name, p in self.named_parameters():
            if name.endswith("norm.weight"):
                p.fill_(1.0)
                continue
            is_out = name.endswith(("o_proj.weight", "down_proj.weight", "down_proj"))
            sample = torch.empty(p.shape, dtype=torch.float32).normal_(
                0.0, out_std if is_out else std, generator=gen
            )
            p.copy_(sample.to(p.dtype))

    def forward(
        self,
        input_ids_BT: torch.Tensor,
        positions_BT: torch.Tensor | None = None,
        attention_mask_BT: torch.Tensor | None = None,
        doc_ids_BT: torch.Tensor | None = None,
        cache=None,
        return_hidden: bool = False,
        logits_index_B: torch.Tensor | None = None,
        logits_mask_BT: torch.Tensor | None = None,
        doc_segments: bool = False,
    ) -> ModelOutput:
        """``logits_index_B`` (one position per row) computes logits only there, as [B, 1, V]:
        a prefill needs just each row's last real token, and the LM head is the largest matmul.
        ``logits_mask_BT`` (boolean) computes them only where it is true, as [1, N, V] in row-major
        order: a loss on a few positions (SFT's assistant tokens) needs no others.
        ``doc_segments`` (with ``doc_ids_BT``, no cache or attention mask): attend one document at
        a time (``DocSegments``) instead of through a [B, T, T] mask, for rows packed with many
        short documents (SFT), where most of the mask is off."""
        B, T = input_ids_BT.shape
        if positions_BT is None:
            start = cache.lengths[:, None] if cache is not None else 0
            positions_BT = start + torch.arange(T, device=input_ids_BT.device)[None, :].expand(B, T)
        if cache is not None and (doc_ids_BT is not None or attention_mask_BT is not None):
            raise ValueError("cached decoding takes explicit positions, not doc_ids/attention_mask")
        if doc_segments and doc_ids_BT is not None and attention_mask_BT is None:
            mask_BTS = DocSegments.build(doc_ids_BT)
        elif cache is None:
            mask_BTS = build_mask(positions_BT, doc_ids_BT, attention_mask_BT)
        else:
            mask_BTS = None
        x_BTD = self.embed(input_ids_BT)
        cos_sin = rope_cos_sin(
            positions_BT, self.config.head_dim, self.config.rope_base, x_BTD.dtype
        )
        aux, zl, counts = [], [], []
        for layer in self.layers:
            x_BTD, routing = layer(x_BTD, cos_sin, mask_BTS, positions_BT, cache, attention_mask_BT)
            aux.append(routing.aux_loss)
            zl.append(routing.z_loss)
            counts.append(routing.counts_E)
        if cache is not None:
            cache.advance(positions_BT)
        h_BTD = self.norm(x_BTD)
        head_in = h_BTD
        if logits_index_B is not None:
            head_in = h_BTD[torch.arange(B, device=h_BTD.device), logits_index_B][:, None]
        elif logits_mask_BT is not None:
            head_in = h_BTD[logits_mask_BT][None]
        return ModelOutput(
            logits_BTV=self.lm_head(head_in),
            aux_loss=torch.stack(aux).mean(),
            z_loss=torch.stack(zl).mean(),
            expert_counts_LE=torch.stack(counts),
            hidden_BTD=h_BTD if return_hidden else None,
        )

    def num_parameters(self) -> dict[str, int]:
        """Total and per-token active parameter counts (works on the meta device)."""
        c = self.config
        total = sum(p.numel() for p in self.parameters())
        per_expert = 3 * c.d_model * c.expert_dim
        inactive = c.n_layers * (c.n_routed_experts - c.top_k) * per_expert
        return {"total": total, "active": total - inactive, "embedding": self.embed.weight.numel()}
