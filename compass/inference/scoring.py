"""Log-likelihoods of given text, for evaluation (multiple choice, perplexity, ``echo`` logprobs).

No sampling: the evaluator's ``loglikelihood(context, continuation)`` and the server's
``/v1/completions`` with ``echo``. A multiple-choice item asks for one context with each of its
choices, so ``score_batch`` runs each distinct context once into a KV cache, then only the
continuations on copies of its cache rows: the context's last position gives the first
continuation token's log-probability, the continuation's own tokens the rest (a one-token
continuation, a lettered option, needs no second forward). The LM head and the log-softmax run
only where they are read.

Legend: B prompts, R continuation rows, T tokens per row, V vocab.
"""

from __future__ import annotations

from collections import defaultdict

import torch

from compass.inference.request import TokenLogprob
from compass.inference.runner import ModelRunner
from compass.inference.sampler import token_logprob
from compass.model.kv_cache import KVCache

Pair = tuple[list[int], list[int]]


class Scorer:
    def __init__(self, runner: ModelRunner, max_seq_len: int):
        self.runner, self.max_seq_len = runner, max_seq_len

    def _check(self, ids: list[int], what: str) -> None:
        if len(ids) > self.max_seq_len:
            raise ValueError(
                f"{what} has {len(ids)} tokens but the context holds {self.max_seq_len}: "
                "truncate the context from the left or raise max_seq_len"
            )

    def score_batch(self, pairs: list[Pair], batch_size: int = 16) -> list[tuple[float, bool]]:
        """(sum log p(continuation | prompt), continuation == greedy decode) per pair;
        ``batch_size`` distinct prompts (and as many continuations) per forward."""
        for prompt, cont in pairs:
            if not prompt or not cont:
                raise ValueError("score() needs a non-empty prompt and a non-empty continuation")
            self._check(list(prompt) + list(cont), "prompt + continuation")
        by_prompt: dict[tuple[int, ...], list[int]] = defaultdict(list)
        for i, (prompt, _) in enumerate(pairs):
            by_prompt[tuple(prompt)].append(i)
        prompts = sorted(by_prompt, key=len)  # similar lengths share a batch: little padding
        results: list[tuple[float, bool]] = [(0.0, False)] * len(pairs)
        for start in range(0, len(prompts), batch_size):
            chunk = prompts[start : start + batch_size]
            rows = [(b, i) for b, p in enumerate(chunk) for i in by_prompt[p]]
            conts = [list(pairs[i][1]) for _, i in rows]
            scored = self._score(chunk, [b for b, _ in rows], conts, batch_size)
            for (_, i), r in zip(rows, scored):
                results[i] = r
        return results

    @torch.inference_mode()
    def _score(
        self, prompts: list[tuple[int, ...]], b_R: list[int], conts: list[list[int]], rows: int
    ) -> list[tuple[float, bool]]:
        """Continuation r follows prompt ``b_R[r]``: one prefill of the prompts, then the
        continuations longer than one token, ``rows`` at a time."""
        model, device = self.runner.model, self.runner.device
        n_B = torch.tensor([len(p) for p in prompts])
        T = int(n_B.max())
        ids_BT = torch.tensor([list(p) + [0] * (T - len(p)) for p in prompts])
        pos_BT = torch.arange(T)[None].expand(len(prompts), T)
        longest = max(len(c) for c in conts)
        dtype = self.runner.cache.k[0].dtype
        cache = KVCache.for_model(model.config, len(prompts), T + longest, dtype, device)
        out = model(
            ids_BT.to(device),
            positions_BT=pos_BT.to(device),
            cache=cache,
            logits_index_B=(n_B - 1).to(device),
        )
        first_BV = torch.log_softmax(out.logits_BTV[:, 0].float(), -1).cpu()
        b = torch.tensor(b_R)
        c0 = torch.tensor([c[0] for c in conts])
        sum_R = first_BV[b, c0].double()
        greedy_R = first_BV.argmax(-1)[b] == c0
        multi = [r for r, c in enumerate(conts) if len(c) > 1]
        for s in range(0, len(multi), rows):
            part = torch.tensor(multi[s : s + rows])
            tail_sum, tail_greedy = self._continue(
                cache.rows(b[part]), n_B[b[part]], [conts[r] for r in part.tolist()]
            )
            sum_R[part] += tail_sum
            greedy_R[part] &= tail_greedy
        return [(float(x), bool(g)) for x, g in zip(sum_R, greedy_R)]

    def _continue(
        self, cache: KVCache, n_R: torch.Tensor, conts: list[list[int]]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(sum of log p, all greedy) over each continuation's tokens after its first, fed on
        ``cache`` (a copy of the rows of its prompt) from position ``n_R``."""
        model, device = self.runner.model, self.runner.device
        T = max(len(c) for c in conts) - 1
        ids_RT = torch.tensor([c[:-1] + [0] * (T + 1 - len(c)) for c in conts])
        next_RT = torch.tensor([c[1:] + [0] * (T + 1 - len(c)) for c in conts])
        valid_RT = torch.arange(T)[None] < torch.tensor([len(c) - 1 for c in conts])[:, None]
        pos_RT = n_R[:, None] + torch.arange(T)[None]
        logits = model(ids_RT.to(device), positions_BT=pos_RT.to(device), cache=cache).logits_BTV
        lp_RTV = torch.log_softmax(logits.float(), -1).cpu()
        picked_RT = lp_RTV.gather(-1, next_RT[..., None])[..., 0].double()
        greedy_RT = lp_RTV.argmax(-1) == next_RT
        return (picked_RT * valid_RT).sum(-1), (greedy_RT | ~valid_RT).all(-1)

    def prompt_logprobs(self, ids: list[int], top_n: int = 0) -> list[TokenLogprob | None]:
        self._check(ids, "the text to score")
        lp_TV = self.runner.full_logprobs([list(ids)])[0]
        return [None] + [token_logprob(lp_TV[t - 1], ids[t], top_n) for t in range(1, len(ids))]
