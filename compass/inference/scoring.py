"""Log-likelihoods of given text, for evaluation (multiple choice, perplexity, ``echo`` logprobs).

One full forward per batch of sequences, no cache and no sampling: the evaluator's
``loglikelihood(context, continuation)`` and the server's ``/v1/completions`` with ``echo``.
"""

from __future__ import annotations

from compass.inference.request import TokenLogprob
from compass.inference.runner import ModelRunner
from compass.inference.sampler import token_logprob


class Scorer:
    def __init__(self, runner: ModelRunner, max_seq_len: int):
        self.runner, self.max_seq_len = runner, max_seq_len

    def _check(self, ids: list[int], what: str) -> None:
        if len(ids) > self.max_seq_len:
            raise ValueError(
                f"{what} has {len(ids)} tokens but the context holds {self.max_seq_len}: "
                "truncate the context from the left or raise max_seq_len"
            )

    def score_batch(
        self, pairs: list[tuple[list[int], list[int]]], batch_size: int = 16
    ) -> list[tuple[float, bool]]:
        """(sum log p(continuation | prompt), continuation == greedy decode) per pair."""
        for prompt, cont in pairs:
            if not prompt or not cont:
                raise ValueError("score() needs a non-empty prompt and a non-empty continuation")
            self._check(list(prompt) + list(cont), "prompt + continuation")
        results: list[tuple[float, bool]] = [(0.0, False)] * len(pairs)
        # Similar lengths share a batch so padding stays small.
        order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            seqs = [list(pairs[i][0]) + list(pairs[i][1]) for i in chunk]
            for i, lp_TV in zip(chunk, self.runner.full_logprobs(seqs)):
                n_prompt, cont = len(pairs[i][0]), list(pairs[i][1])
                lp_CV = lp_TV[n_prompt - 1 : n_prompt - 1 + len(cont)]
                picked = lp_CV.gather(-1, lp_CV.new_tensor(cont).long()[:, None])
                greedy = lp_CV.argmax(-1).tolist() == cont
                results[i] = (float(picked.sum()), greedy)
        return results

    def prompt_logprobs(self, ids: list[int], top_n: int = 0) -> list[TokenLogprob | None]:
        self._check(ids, "the text to score")
        lp_TV = self.runner.full_logprobs([list(ids)])[0]
        return [None] + [token_logprob(lp_TV[t - 1], ids[t], top_n) for t in range(1, len(ids))]
