"""From the last position's logits to the next token, one row per request, each with its own
params: repetition penalty -> temperature -> top-k -> top-p -> draw (the order of HF ``generate``
and vLLM). Greedy rows take the argmax of the penalised logits. Every sampled row draws with its
own ``torch.Generator``, so a seeded request gives the same tokens whatever else shares the batch.

Legend: B rows, V vocab.
"""

from __future__ import annotations

import torch

from compass.inference.request import Request, TokenLogprob


def apply_repetition_penalty(
    logits_V: torch.Tensor, seen_ids: list[int], penalty: float
) -> torch.Tensor:
    """CTRL / HF ``RepetitionPenaltyLogitsProcessor``: a seen token's logit is divided by the
    penalty when positive and multiplied by it when negative, so it always becomes less likely."""
    idx = torch.tensor(sorted(set(seen_ids)), dtype=torch.long, device=logits_V.device)
    score = logits_V[idx]
    score = torch.where(score < 0, score * penalty, score / penalty)
    return logits_V.index_copy(0, idx, score)


def top_k_top_p_mask(
    logits_BV: torch.Tensor, top_k_B: torch.Tensor, top_p_B: torch.Tensor
) -> torch.Tensor:
    """Set to -inf every logit outside the row's top-k and top-p nucleus (k=0 / p=1: off).

    Top-p keeps a token when the probability mass of the tokens strictly more likely than it is
    below p — the same set as HF's ``TopPLogitsWarper`` — and always keeps the most likely one.
    """
    V = logits_BV.shape[-1]
    sorted_BV, order_BV = torch.sort(logits_BV, dim=-1, descending=True)
    rank_V = torch.arange(V, device=logits_BV.device)
    k_B = torch.where(top_k_B > 0, top_k_B, V).clamp(max=V)
    drop_BV = rank_V[None, :] >= k_B[:, None]
    sorted_BV = sorted_BV.masked_fill(drop_BV, float("-inf"))
    probs_BV = torch.softmax(sorted_BV, dim=-1)
    mass_before_BV = torch.cumsum(probs_BV, dim=-1) - probs_BV
    drop_BV = (mass_before_BV >= top_p_B[:, None]) & (rank_V[None, :] > 0)
    sorted_BV = sorted_BV.masked_fill(drop_BV, float("-inf"))
    return torch.full_like(logits_BV, float("-inf")).scatter(-1, order_BV, sorted_BV)


class Sampler:
    def __call__(
        self, logits_BV: torch.Tensor, requests: list[Request]
    ) -> tuple[list[int], list[TokenLogprob | None]]:
        logits_BV = logits_BV.float()
        want_lp = [r.params.logprobs is not None for r in requests]
        raw_logprobs_BV = torch.log_softmax(logits_BV, dim=-1) if any(want_lp) else None
        penalised = [i for i, r in enumerate(requests) if r.params.repetition_penalty != 1.0]
        if penalised:
            logits_BV = logits_BV.clone()
            for i in penalised:
                r = requests[i]
                logits_BV[i] = apply_repetition_penalty(
                    logits_BV[i], r.all_ids(), r.params.repetition_penalty
                )
        tokens = logits_BV.argmax(dim=-1).tolist()
        sampled = [i for i, r in enumerate(requests) if not r.params.greedy]
        if sampled:
            for i, tok in zip(
                sampled, self._draw(logits_BV[sampled], [requests[i] for i in sampled])
            ):
                tokens[i] = tok
        logprobs: list[TokenLogprob | None] = [None] * len(requests)
        if raw_logprobs_BV is not None:
            for i, r in enumerate(requests):
                if want_lp[i]:
                    logprobs[i] = token_logprob(raw_logprobs_BV[i], tokens[i], r.params.logprobs)
        return tokens, logprobs

    def _draw(self, logits_BV: torch.Tensor, requests: list[Request]) -> list[int]:
        dev = logits_BV.device
        temp_B = torch.tensor([r.params.temperature for r in requests], device=dev)
        logits_BV = logits_BV / temp_B[:, None]
        if any(r.params.top_k > 0 or r.params.top_p < 1.0 for r in requests):
            top_k_B = torch.tensor([r.params.top_k for r in requests], device=dev)
            top_p_B = torch.tensor([r.params.top_p for r in requests], device=dev)
            logits_BV = top_k_top_p_mask(logits_BV, top_k_B, top_p_B)
        probs_BV = torch.softmax(logits_BV, dim=-1)
        return [
            int(torch.multinomial(probs_BV[i], 1, generator=r.generator))
            for i, r in enumerate(requests)
        ]


def token_logprob(logprobs_V: torch.Tensor, token: int, top_n: int) -> TokenLogprob:
    top: list[tuple[int, float]] = []
    if top_n:
        vals, ids = torch.topk(logprobs_V, top_n)
        top = list(zip(ids.tolist(), vals.tolist()))
    return TokenLogprob(token, float(logprobs_V[token]), top)
