"""DPO training as a :class:`~compass.train.stage.Stage`.

A pair is (prompt ids, chosen ids, rejected ids) with the frozen reference's log-probabilities of
both responses, computed once when the pair is made (the reference never changes, so there is no
reason to run it every step). A batch holds B pairs as 2B rows, chosen first, packed end to end
without padding (``packed_response_rows``); labels
are the next token on response positions and IGNORE elsewhere, so ``response_logprobs_of`` sums
log π(response | prompt). ``loss`` returns the DPO loss (+ ``nll_alpha`` × the chosen response's
per-token NLL on pairs whose chosen answer is verified right) summed over pairs; ``loss_units`` =
pairs. The NLL term is kept to verified answers: on general prompts the chosen answer is only the
reward model's favourite of a few high-temperature samples, and fitting it would teach the
policy to write like its own high-temperature samples.

Legend: B pairs, T tokens.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from compass.model.transformer import ModelOutput
from compass.posttrain.batching import packed_response_rows
from compass.posttrain.dpo.loss import dpo_loss, response_logprobs_of
from compass.train.epochs import ShuffledEpochs
from compass.train.stage import Batch, LossOutput


@dataclass
class DPOPair:
    prompt_ids: list[int]
    chosen_ids: list[int]
    rejected_ids: list[int]
    ref_chosen: float = 0.0
    ref_rejected: float = 0.0
    # The chosen answer is verified right (a math pair): it also gets the NLL term.
    verified: bool = False


def pair_batch(pairs: list[DPOPair]) -> Batch:
    prompts = [p.prompt_ids for p in pairs] * 2
    responses = [p.chosen_ids for p in pairs] + [p.rejected_ids for p in pairs]
    return {
        **packed_response_rows(prompts, responses),
        "chosen_tokens": torch.tensor([len(p.chosen_ids) for p in pairs]),
        "ref_chosen": torch.tensor([p.ref_chosen for p in pairs]),
        "ref_rejected": torch.tensor([p.ref_rejected for p in pairs]),
        "verified": torch.tensor([p.verified for p in pairs]),
    }


class DPOStage:
    """Epochs over one round's pairs, reshuffled each epoch from ``seed``."""

    name = "dpo"

    def __init__(
        self,
        pairs: list[DPOPair],
        batch_size: int,
        beta: float,
        seed: int,
        nll_alpha: float = 0.0,
    ):
        if not pairs:
            raise ValueError("no preference pairs to train on this round")
        self.pairs, self.batch_size = pairs, min(batch_size, len(pairs))
        self.beta, self.seed, self.nll_alpha = beta, seed, nll_alpha
        self.epochs = ShuffledEpochs(len(pairs), seed)

    def next_batch(self) -> Batch:
        picked = [self.pairs[i] for i in self.epochs.take(self.batch_size)]
        return pair_batch(picked)

    def loss_units(self, batch: Batch) -> int:
        return len(batch["ref_chosen"])

    def logprobs(self, model: nn.Module, batch: Batch) -> tuple[torch.Tensor, ModelOutput]:
        """log π(response | prompt) of each row, and the model's output."""
        return response_logprobs_of(model, batch)

    def loss(self, model: nn.Module, batch: Batch) -> LossOutput:
        logp, out = self.logprobs(model, batch)
        B = logp.shape[0] // 2
        loss, stats = dpo_loss(
            logp[:B],
            logp[B:],
            batch["ref_chosen"],
            batch["ref_rejected"],
            self.beta,
            self.nll_alpha,
            batch["chosen_tokens"],
            batch["verified"],
        )
        metrics = {k: float(v) for k, v in stats.items()}
        return LossOutput(loss * B, out.aux_loss, out.z_loss, out.expert_counts_LE, metrics)

    def eval_sets(self) -> dict[str, Callable[[], Iterable[Batch]]]:
        return {}

    def state_dict(self) -> dict[str, Any]:
        return self.epochs.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epochs.load_state_dict(state)
