"""A reward model: the Compass backbone plus a scalar head read at each sequence's last real token.

Legend: B sequences, T tokens, D model dim.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from compass.model.transformer import CompassModel, ModelOutput


class RewardModel(nn.Module):
    """``head_seed`` None: a zero head. Else a small random head drawn from that seed alone.

    A zero head is a saddle of the pairwise loss: the backbone gets no gradient until the head
    has grown, and the head grows only as fast as the backbone tells chosen from rejected apart
    (a tiny model sat at loss log 2 for ~100 steps). A random head breaks the tie from step one.
    Runs that are averaged must share one head init (the same seed), or the soup mixes heads
    pointing in unrelated directions."""

    def __init__(self, backbone: CompassModel, head_seed: int | None = None):
        super().__init__()
        self.backbone = backbone
        d = backbone.config.d_model
        self.score = nn.Linear(d, 1, bias=False)
        if head_seed is None:
            nn.init.zeros_(self.score.weight)
        else:
            g = torch.Generator().manual_seed(head_seed)
            w = torch.randn(self.score.weight.shape, generator=g) / d**0.5
            with torch.no_grad():
                self.score.weight.copy_(w.to(self.score.weight.dtype))

    @property
    def config(self):
        """The backbone's config: what the training loop records and checks on resume."""
        return self.backbone.config

    def forward_full(
        self, input_ids_BT: torch.Tensor, attention_mask_BT: torch.Tensor
    ) -> tuple[torch.Tensor, ModelOutput]:
        """(reward per sequence, the backbone's output with its MoE losses)."""
        last_B = attention_mask_BT.sum(-1) - 1
        # The LM head is unused here and the largest matmul: compute it at one position only.
        out = self.backbone(
            input_ids_BT, attention_mask_BT=attention_mask_BT, return_hidden=True,
            logits_index_B=last_B,
        )  # fmt: skip
        h_BD = out.hidden_BTD[torch.arange(input_ids_BT.shape[0]), last_B]
        return self.score(h_BD).squeeze(-1).float(), out

    def forward(
        self, input_ids_BT: torch.Tensor, attention_mask_BT: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(reward per sequence, router aux loss); right-padded input, mask 1 on real tokens."""
        reward_B, out = self.forward_full(input_ids_BT, attention_mask_BT)
        return reward_B, out.aux_loss


def bradley_terry_loss(r_chosen_B: torch.Tensor, r_rejected_B: torch.Tensor) -> torch.Tensor:
    """``-log σ(r_w - r_l)``: the pairwise preference likelihood."""
    return -F.logsigmoid(r_chosen_B - r_rejected_B).mean()


@torch.no_grad()
def average_weights(state_dicts: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Uniform weight average ("model soup") of reward models fine-tuned from one initialisation."""
    if not state_dicts:
        raise ValueError("average_weights needs at least one state dict")
    keys = state_dicts[0].keys()
    for i, sd in enumerate(state_dicts[1:], 1):
        if sd.keys() != keys:
            raise ValueError(f"run {i} has different tensors than run 0: cannot average them")
    return {
        k: torch.stack([sd[k].float() for sd in state_dicts]).mean(0).to(state_dicts[0][k].dtype)
        for k in keys
    }
