"""A reward model: the Compass backbone plus a scalar head read at each sequence's last real token.

Legend: B sequences, T tokens, D model dim.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from compass.model.transformer import CompassModel, ModelOutput


class RewardModel(nn.Module):
    """Reward = head · (hidden state at the last real token) [+ ``lp_scale`` · the mean
    log-probability the backbone's own LM gives the reply, when ``think_ids`` is set].

    ``head_seed`` None: a zero head. Else a small random head drawn from that seed alone.
    A zero head is a saddle of the pairwise loss: the backbone gets no gradient until the head
    has grown, and the head grows only as fast as the backbone tells chosen from rejected apart
    (a tiny model sat at loss log 2 for ~100 steps). A random head breaks the tie from step one.
    Runs that are averaged must share one head init (the same seed), or the soup mixes heads
    pointing in unrelated directions.

    The likelihood term (``think_ids`` = the ``<think>``, ``</think>`` ids) averages log p over
    the reply — the tokens after the last ``<think>`` — with its own trained weight for replies
    with reasoning (``lp_scale[0]``) and without (``lp_scale[1]``; the chat template's empty
    block, ``<think>`` + one blank token + ``</think>``). On chains it is a generative verifier:
    checking a chain's sums is what a 1M-parameter head cannot learn from a few thousand pairs
    but a backbone trained as an LM on right chains can (``compass.posttrain.reward.verifier``). One
    weight for both kinds of reply made the head learn to cancel the term on replies where
    likelihood says little about quality (another language, another product's price) and so
    turn against it on arithmetic; dropping the term on replies without reasoning lost the
    grounding pairs it helped (a price copied from the prompt is likely). The cost of the
    second weight: there the backbone's LM is close to the policy's, so it favours the policy's
    own greedy answers (docs/reward-model.md)."""

    def __init__(
        self,
        backbone: CompassModel,
        head_seed: int | None = None,
        think_ids: tuple[int, int] | None = None,
        lp_scale: tuple[float, float] = (1.0, 1.0),
    ):
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
        self.think_ids = tuple(think_ids) if think_ids is not None else None
        self.lp_scale = (  # [with reasoning, without]
            nn.Parameter(torch.tensor([float(lp_scale[0]), float(lp_scale[1])]))
            if think_ids is not None
            else None
        )

    @property
    def config(self):
        """The backbone's config: what the training loop records and checks on resume."""
        return self.backbone.config

    def forward_full(
        self, input_ids_BT: torch.Tensor, attention_mask_BT: torch.Tensor
    ) -> tuple[torch.Tensor, ModelOutput]:
        """(reward per sequence, the backbone's output with its MoE losses)."""
        last_B = attention_mask_BT.sum(-1) - 1
        B = input_ids_BT.shape[0]
        # The LM head is the largest matmul: without the likelihood term compute it at one
        # position only, with it only where the reply's tokens are predicted.
        if self.think_ids is not None:
            need_BT, deep_B = reply_positions(input_ids_BT, attention_mask_BT, *self.think_ids)
            head = {"logits_mask_BT": need_BT}
        else:
            head = {"logits_index_B": last_B}
        out = self.backbone(
            input_ids_BT, attention_mask_BT=attention_mask_BT, return_hidden=True, **head
        )
        h_BD = out.hidden_BTD[torch.arange(B, device=last_B.device), last_B]
        reward_B = self.score(h_BD).squeeze(-1).float()
        if self.think_ids is not None:
            lp_B = mean_logprob(out.logits_BTV[0], input_ids_BT, need_BT)
            scale = self.lp_scale.float()
            reward_B = reward_B + torch.where(deep_B, scale[0], scale[1]) * lp_B
        return reward_B, out

    def forward(
        self, input_ids_BT: torch.Tensor, attention_mask_BT: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(reward per sequence, router aux loss); right-padded input, mask 1 on real tokens."""
        reward_B, out = self.forward_full(input_ids_BT, attention_mask_BT)
        return reward_B, out.aux_loss


def reply_positions(
    ids_BT: torch.Tensor, mask_BT: torch.Tensor, think_start_id: int, think_end_id: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """(the positions whose next token is a reply token: those after each row's last
    ``think_start_id``, none for a row without one; whether that think block holds more than one
    token — a reply with reasoning, a block left open by a sample cut off mid-thought included).
    Right-padded rows."""
    T = ids_BT.shape[1]
    pos_T = torch.arange(T, device=ids_BT.device)
    real_BT = mask_BT > 0
    start_B = torch.where((ids_BT == think_start_id) & real_BT, pos_T, -1).max(-1).values
    after_BT = pos_T[None] > start_B[:, None]
    is_end = (ids_BT == think_end_id) & real_BT & after_BT
    end_B = torch.where(is_end, pos_T, T + 2).min(-1).values  # no </think>: an open block
    has_B = (start_B >= 0) & (end_B - start_B > 2)
    # position t predicts ids[t + 1]
    next_BT = after_BT[:, 1:] & real_BT[:, 1:] & (start_B >= 0)[:, None]
    return F.pad(next_BT, (0, 1)), has_B


def mean_logprob(logits_NV: torch.Tensor, ids_BT: torch.Tensor, need_BT: torch.Tensor):
    """Each row's mean log p(next token) over the positions ``need_BT`` (0 for a row with none),
    from the logits at those positions only (row-major order, as ``logits_mask_BT`` gives)."""
    next_BT = F.pad(ids_BT[:, 1:], (0, 1))
    logp_N = torch.gather(F.log_softmax(logits_NV.float(), -1), 1, next_BT[need_BT][:, None])[:, 0]
    row_N = need_BT.nonzero()[:, 0]
    sum_B = logp_N.new_zeros(ids_BT.shape[0]).index_add(0, row_N, logp_N)
    return sum_B / need_BT.sum(-1).clamp(min=1)


def reasoning_logprob(
    logits_BTV: torch.Tensor,
    ids_BT: torch.Tensor,
    mask_BT: torch.Tensor,
    think_start_id: int,
    think_end_id: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean log p(token | prefix) over the tokens after each row's last ``think_start_id``, 0
    for a row without one; whether the reply has reasoning, as ``reply_positions``) from the
    logits at every position. Right-padded rows."""
    need_BT, has_B = reply_positions(ids_BT, mask_BT, think_start_id, think_end_id)
    return mean_logprob(logits_BTV[need_BT], ids_BT, need_BT), has_B


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
