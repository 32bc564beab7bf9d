"""Any causal LM that ``transformers`` loads from a local directory, as an evaluation backend.

The peers a user has on disk (and Compass's own HF export) are scored with the same request
encoding as the Compass engine (:func:`compass.eval.backend.encode_pair`, lm-eval's rules), so
``hf:``, the engine and lm-eval's ``hf`` model agree item by item. Log-likelihoods run in batches
sorted by length (little padding), left-padded with an attention mask so that only the
continuation's positions reach the vocabulary projection; requests whose model input is identical
(one-token continuations of one context: lettered multiple choice) share one forward, as lm-eval's
logits cache does. float32 on CPU, bfloat16 on a GPU that has it.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Sequence
from pathlib import Path

import torch

from compass.eval.backend import ModelLoadError, cut_until, encode_pair, encode_text

log = logging.getLogger(__name__)


def is_hf_dir(path: Path) -> bool:
    return (path / "config.json").is_file()


def _device_dtype(device: str | None) -> tuple[str, torch.dtype]:
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda"):
        return device, torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return device, torch.float32


def _max_length(model, tokenizer) -> int:
    for attr in ("n_positions", "max_position_embeddings", "n_ctx"):
        value = getattr(model.config, attr, None)
        if isinstance(value, int) and value > 0:
            return value
    limit = getattr(tokenizer, "model_max_length", 0)
    return limit if 0 < limit < 1_000_000 else 2048  # lm-eval's fallback


class HFBackend:
    """``hf:DIR``: weights and tokenizer from a local transformers directory (nothing
    downloaded)."""

    def __init__(self, path: str | Path, batch_size: int = 16, device: str | None = None):
        from transformers import AutoModelForCausalLM, AutoTokenizer

        path = Path(path)
        if not is_hf_dir(path):
            raise ModelLoadError(
                f"model 'hf:{path}': no config.json there — pass a directory written by "
                "save_pretrained (or `compass export hf`)"
            )
        self.device, dtype = _device_dtype(device)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
            self.model = AutoModelForCausalLM.from_pretrained(
                path, dtype=dtype, local_files_only=True
            )
        except (OSError, ValueError, KeyError) as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ModelLoadError(
                f"model 'hf:{path}': transformers cannot load it ({first}); it needs config.json, "
                "the weights and the tokenizer files in that directory"
            ) from None
        self.model.to(self.device).eval()
        self.batch_size = batch_size
        self.max_len = _max_length(self.model, self.tokenizer)
        tok = self.tokenizer
        prefix = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
        self.prefix_id = prefix if prefix is not None else 0  # lm-eval's empty-context token
        self.pad_id = tok.pad_token_id if tok.pad_token_id is not None else self.prefix_id
        params = inspect.signature(self.model.forward).parameters
        self._keeps_logits = "logits_to_keep" in params

    # -- log-likelihood -------------------------------------------------------------------------

    def _inputs(
        self, pairs: list[tuple[list[int], list[int]]]
    ) -> list[tuple[tuple[int, ...], list[int]]]:
        out = []
        for ctx, cont in pairs:
            ctx = ctx or [self.prefix_id]
            # The last token is only a target; the input is everything before it, cut on the left.
            out.append((tuple((ctx + cont)[-(self.max_len + 1) : -1]), cont))
        return out

    def loglikelihood(self, requests: list[tuple[str, str]]) -> list[tuple[float, bool]]:
        return self.loglikelihood_ids([encode_pair(self.tokenizer, c, x) for c, x in requests])

    def loglikelihood_ids(
        self, pairs: list[tuple[list[int], list[int]]]
    ) -> list[tuple[float, bool]]:
        """(context ids, continuation ids) pairs: the chat forms split their ids themselves."""
        inputs = self._inputs(pairs)
        users: dict[tuple[int, ...], list[int]] = {}
        for k, (inp, _) in enumerate(inputs):
            users.setdefault(inp, []).append(k)
        unique = sorted(users, key=lambda t: (-len(t), t))
        results: list[tuple[float, bool]] = [(0.0, False)] * len(inputs)
        for start in range(0, len(unique), self.batch_size):
            batch = unique[start : start + self.batch_size]
            tails = [max(len(inputs[k][1]) for k in users[inp]) for inp in batch]
            logprobs = self._forward(batch, max(tails))
            for row, inp in enumerate(batch):
                for k in users[inp]:
                    results[k] = self._score(logprobs[row], inputs[k][1])
        return results

    @torch.inference_mode()
    def _forward(self, batch: list[tuple[int, ...]], keep: int) -> torch.Tensor:
        """Log-softmax over the vocabulary at the last ``keep`` positions of each row.

        Rows are left-padded (masked, with positions counted from each row's first real token),
        so the continuation of every row sits in the same last columns: only those reach the
        vocabulary projection and the softmax, the bulk of the cost for a large vocabulary."""
        width = len(batch[0])  # sorted longest first
        ids = torch.full((len(batch), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, inp in enumerate(batch):
            ids[row, width - len(inp) :] = torch.tensor(inp)
            mask[row, width - len(inp) :] = 1
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        kwargs = {"logits_to_keep": keep} if self._keeps_logits else {}
        logits = self.model(
            input_ids=ids.to(self.device),
            attention_mask=mask.to(self.device),
            position_ids=positions.to(self.device),
            **kwargs,
        ).logits[:, -keep:]
        return torch.log_softmax(logits.float(), dim=-1).cpu()

    @staticmethod
    def _score(logprobs: torch.Tensor, cont: list[int]) -> tuple[float, bool]:
        tail = logprobs[-len(cont) :]
        target = torch.tensor(cont)
        ll = tail.gather(1, target[:, None]).sum().item()
        return ll, bool((tail.argmax(-1) == target).all())

    # -- generation -----------------------------------------------------------------------------

    def generate_until(self, requests: list[tuple[str, list[str], int]]) -> list[str]:
        """Greedy, in batches of requests with the same stops and token cap (left-padded)."""
        order = sorted(range(len(requests)), key=lambda k: (requests[k][1], requests[k][2]))
        out: list[str] = [""] * len(requests)
        group: list[int] = []
        for k in [*order, None]:
            if group and (
                k is None
                or requests[k][1:] != requests[group[0]][1:]
                or len(group) == self.batch_size
            ):
                texts = self._generate([requests[j][0] for j in group], *requests[group[0]][1:])
                for j, text in zip(group, texts):
                    out[j] = text
                group = []
            if k is not None:
                group.append(k)
        return out

    def _generate(self, contexts: list[str], until: list[str], max_tokens: int) -> list[str]:
        rows = [encode_text(self.tokenizer, c) for c in contexts]
        new = self._greedy(rows, max_tokens, [s for s in until if s])
        return [cut_until(self.tokenizer.decode(t, skip_special_tokens=True), until) for t in new]

    def generate_ids(
        self, prompts: list[list[int]], max_tokens: list[int], stop_ids: list[int]
    ) -> list[list[int]]:
        """Greedy new ids after each prompt, up to an end of text or a stop id (end of turn)."""
        out: list[list[int]] = [[] for _ in prompts]
        order = sorted(range(len(prompts)), key=lambda k: max_tokens[k])
        for start in range(0, len(order), self.batch_size):
            group = order[start : start + self.batch_size]
            n = max(max_tokens[k] for k in group)
            rows = self._greedy([prompts[k] for k in group], n, [], stop_ids)
            for k, ids in zip(group, rows):
                out[k] = ids[: max_tokens[k]]
        return out

    @torch.inference_mode()
    def _greedy(
        self, rows: list[list[int]], max_tokens: int, stops: list[str], stop_ids: Sequence[int] = ()
    ) -> list[list[int]]:
        room = max(self.max_len - max_tokens, 1)
        rows = [r[-room:] or [self.prefix_id] for r in rows]
        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, r in enumerate(rows):  # left padding: every row's last token is the prompt's end
            ids[i, width - len(r) :] = torch.tensor(r)
            mask[i, width - len(r) :] = 1
        eos = self.model.generation_config.eos_token_id
        ends = [*(eos if isinstance(eos, list) else [] if eos is None else [eos]), *stop_ids]
        gen = self.model.generate(
            input_ids=ids.to(self.device),
            attention_mask=mask.to(self.device),
            max_new_tokens=max_tokens,
            do_sample=False,
            pad_token_id=self.pad_id,
            **({"eos_token_id": ends} if stop_ids else {}),
            **({"stop_strings": stops, "tokenizer": self.tokenizer} if stops else {}),
        )
        return [_until_end(t, set(ends)) for t in gen[:, width:].tolist()]


def _until_end(ids: list[int], ends: set[int]) -> list[int]:
    """A batch row's new ids up to its first end token (later ones are padding)."""
    for i, t in enumerate(ids):
        if t in ends:
            return ids[: i + 1]
    return ids
