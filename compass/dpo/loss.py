"""The DPO objective (Rafailov et al., 2023) on sequence log-probabilities.

``L = -log σ(β · ((log π(y_w|x) - log π_ref(y_w|x)) - (log π(y_l|x) - log π_ref(y_l|x))))``

Legend: B pairs, T tokens, V vocab.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from compass.sft.packing import IGNORE


def sequence_logprobs(logits_BTV: torch.Tensor, labels_BT: torch.Tensor) -> torch.Tensor:
    """Sum of log p(label) over the positions whose label is not IGNORE (the response tokens)."""
    mask = labels_BT != IGNORE
    safe = labels_BT.clamp(min=0)
    logp_BT = torch.gather(F.log_softmax(logits_BTV.float(), -1), 2, safe[..., None])[..., 0]
    return (logp_BT * mask).sum(-1)


def dpo_loss(
    policy_chosen_B: torch.Tensor,
    policy_rejected_B: torch.Tensor,
    ref_chosen_B: torch.Tensor,
    ref_rejected_B: torch.Tensor,
    beta: float = 0.1,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Mean DPO loss and the usual diagnostics (implicit rewards, margin, preference accuracy)."""
    chosen_reward = beta * (policy_chosen_B - ref_chosen_B)
    rejected_reward = beta * (policy_rejected_B - ref_rejected_B)
    margin = chosen_reward - rejected_reward
    loss = -F.logsigmoid(margin).mean()
    stats = {
        "reward_chosen": chosen_reward.detach().mean(),
        "reward_rejected": rejected_reward.detach().mean(),
        "margin": margin.detach().mean(),
        "accuracy": (margin > 0).float().mean().detach(),
    }
    return loss, stats
