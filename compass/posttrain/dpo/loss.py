"""The DPO objective (Rafailov et al., 2023) on sequence log-probabilities, with the optional NLL
term on the chosen response of Iterative Reasoning Preference Optimization (Pang et al., 2024).

``L = -log σ(β · ((log π(y_w|x) - log π_ref(y_w|x)) - (log π(y_l|x) - log π_ref(y_l|x))))
      + α · (-log π(y_w|x) / |y_w|)``

DPO alone on reasoning chains lowers the likelihood of the chosen chain too (it only widens the
gap), and the policy drifts off the chains it solves; the length-normalised NLL term keeps the
chosen chains likely. α = 0 is plain DPO.

Legend: B pairs (rows), T tokens, V vocab, N labelled positions.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from compass.model.transformer import ModelOutput
from compass.posttrain.sft.packing import IGNORE


def sequence_logprobs(logits_BTV: torch.Tensor, labels_BT: torch.Tensor) -> torch.Tensor:
    """Sum of log p(label) over the positions whose label is not IGNORE (the response tokens)."""
    mask = labels_BT != IGNORE
    safe = labels_BT.clamp(min=0)
    logp_BT = torch.gather(F.log_softmax(logits_BTV.float(), -1), 2, safe[..., None])[..., 0]
    return (logp_BT * mask).sum(-1)


def response_logprobs_of(
    model: nn.Module, rows: dict[str, torch.Tensor]
) -> tuple[torch.Tensor, ModelOutput]:
    """``sequence_logprobs`` of ``model`` on ``packed_response_rows``, one per packed row, and the
    model's output (for its MoE losses). The rows attend one at a time with no padding, and the LM
    head and log-softmax run only at the labelled (response) positions: the prompts need no
    logits, and the head is the largest matmul."""
    labels_1N, doc_1N = rows["labels"], rows["doc_ids"]
    keep_1N = labels_1N != IGNORE
    out = model(
        rows["input_ids"],
        positions_BT=rows["positions"],
        doc_ids_BT=doc_1N,
        logits_mask_BT=keep_1N,
        doc_segments=True,
    )
    logits_NV = out.logits_BTV[0].float()
    logp_N = logits_NV.gather(1, labels_1N[keep_1N][:, None])[:, 0] - logits_NV.logsumexp(-1)
    n_rows = int(doc_1N[0, -1]) + 1
    return logp_N.new_zeros(n_rows).index_add(0, doc_1N[keep_1N], logp_N), out


def dpo_loss(
    policy_chosen_B: torch.Tensor,
    policy_rejected_B: torch.Tensor,
    ref_chosen_B: torch.Tensor,
    ref_rejected_B: torch.Tensor,
    beta: float = 0.1,
    nll_alpha: float = 0.0,
    chosen_tokens_B: torch.Tensor | None = None,
    nll_mask_B: torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Mean loss over pairs and the usual diagnostics (implicit rewards, margin, preference
    accuracy, and the chosen response's per-token NLL). ``nll_alpha`` > 0 needs
    ``chosen_tokens_B``, each chosen response's length in tokens; ``nll_mask_B`` (default: all
    pairs) says which pairs get the NLL term: those whose chosen answer is known to be right."""
    chosen_reward = beta * (policy_chosen_B - ref_chosen_B)
    rejected_reward = beta * (policy_rejected_B - ref_rejected_B)
    margin = chosen_reward - rejected_reward
    loss_B = -F.logsigmoid(margin)
    stats = {
        "reward_chosen": chosen_reward.detach().mean(),
        "reward_rejected": rejected_reward.detach().mean(),
        "margin": margin.detach().mean(),
        "accuracy": (margin > 0).float().mean().detach(),
    }
    if chosen_tokens_B is not None:
        nll_B = -policy_chosen_B / chosen_tokens_B.clamp(min=1).to(policy_chosen_B.dtype)
        stats["chosen_nll"] = nll_B.detach().mean()
        if nll_alpha:
            mask_B = torch.ones_like(nll_B) if nll_mask_B is None else nll_mask_B.to(nll_B.dtype)
            loss_B = loss_B + nll_alpha * mask_B * nll_B
    elif nll_alpha:
        raise ValueError("dpo_loss: nll_alpha > 0 needs chosen_tokens_B (chosen lengths)")
    return loss_B.mean(), stats
