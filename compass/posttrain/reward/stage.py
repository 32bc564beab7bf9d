"""Reward-model training as a :class:`~compass.train.stage.Stage`, and pairwise accuracy.

A pair becomes two token sequences, ``chat(prompt) + response + <|im_end|>``, the same ids the
policy produces when it answers, so the reward model scores training pairs and policy samples
alike. A batch holds B pairs as 2B right-padded rows (chosen rows first); the loss is the
Bradley–Terry loss summed over pairs, ``loss_units`` = pairs.

The LM anchor (``lm_rows``): with the likelihood term the backbone's LM is half the reward, and the
pairwise loss alone wrecks it — the trunk is trained for the head and the LM's ranking of the
policy's arithmetic fell far below the verifier warm-up's (``compass.posttrain.reward.verifier``;
docs/reward-model.md), even with no gradient through the likelihood term. So each batch also packs
``lm_batch`` verified solutions and adds ``lm_coef`` × their per-token NLL (the joint verifier + LM
objective of Cobbe et al. 2021).

Legend: B pairs, T tokens.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import torch.nn.functional as F
from torch import nn

from compass.posttrain.batching import pad_rows
from compass.posttrain.formats import prompt_messages
from compass.posttrain.scoring import score_sequences
from compass.posttrain.sft.packing import pack
from compass.train.epochs import ShuffledEpochs
from compass.train.stage import Batch, LossOutput, count_label_tokens, lm_loss

TokPair = tuple[list[int], list[int]]


def encode_response(
    tok, prompt: str | list[dict[str, Any]], response: str, reasoning: str | None = None
) -> list[int]:
    """``reasoning`` given: the deep-mode layout, ``<think>`` + reasoning + ``</think>`` + answer,
    rendered by the chat template exactly as the policy was taught to write it."""
    if reasoning is None:
        ids, _ = tok.render_chat(prompt_messages(prompt), add_generation_prompt=True)
        return list(ids) + tok.encode(response) + [tok.im_end_id]
    reply = {"role": "assistant", "content": response, "reasoning_content": reasoning}
    ids, _ = tok.render_chat([*prompt_messages(prompt), reply], enable_thinking=True)
    ids = list(ids)
    return ids[: len(ids) - ids[::-1].index(tok.im_end_id)]  # up to the reply's <|im_end|>


def tokenize_pairs(
    tok, pairs: list[dict[str, Any]], seq_len: int, skipped: Counter, kept: list[int] | None = None
) -> list[TokPair]:
    """Token ids of each usable pair; ``kept`` (if given) receives the index of each one."""
    out = []
    for i, p in enumerate(pairs):
        c = encode_response(tok, p["prompt"], p["chosen"], p.get("chosen_reasoning"))
        r = encode_response(tok, p["prompt"], p["rejected"], p.get("rejected_reasoning"))
        if c == r:
            skipped["chosen equals rejected"] += 1
        elif max(len(c), len(r)) > seq_len:
            skipped[f"longer than seq_len={seq_len}"] += 1
        else:
            out.append((c, r))
            if kept is not None:
                kept.append(i)
    return out


def pair_batch(pairs: list[TokPair], pad_id: int) -> Batch:
    ids, mask = pad_rows([c for c, _ in pairs] + [r for _, r in pairs], pad_id)
    return {"input_ids": ids, "attention_mask": mask}


class RewardStage:
    """Epochs over a fixed list of pairs, reshuffled each epoch from ``seed`` (exact resume);
    with ``lm_rows`` (``(ids, loss_mask)`` chat samples), ``lm_batch`` of them per batch too."""

    name = "reward"

    def __init__(
        self,
        pairs: list[TokPair],
        batch_size: int,
        pad_id: int,
        seed: int,
        heldout=None,
        lm_rows: list[tuple[list[int], list[int]]] | None = None,
        lm_batch: int = 0,
        lm_coef: float = 0.0,
        lm_seq_len: int = 512,
    ):
        if not pairs:
            raise ValueError("no usable preference pairs to train the reward model on")
        self.pairs, self.batch_size, self.pad_id, self.seed = pairs, batch_size, pad_id, seed
        self.heldout = heldout or []
        self.epochs = ShuffledEpochs(len(pairs), seed)
        self.lm_rows = lm_rows if lm_rows and lm_batch > 0 and lm_coef > 0 else []
        self.lm_batch, self.lm_coef, self.lm_seq_len = lm_batch, lm_coef, lm_seq_len
        self.lm_epochs = ShuffledEpochs(len(self.lm_rows), seed + 1) if self.lm_rows else None

    def next_batch(self) -> Batch:
        picked = [self.pairs[i] for i in self.epochs.take(self.batch_size)]
        batch = pair_batch(picked, self.pad_id)
        if self.lm_epochs is not None:
            rows = [self.lm_rows[i] for i in self.lm_epochs.take(self.lm_batch)]
            b = pack(rows, self.lm_seq_len, self.pad_id)
            batch |= {
                "lm_input_ids": b.input_ids_BT,
                "lm_labels": b.labels_BT,
                "lm_positions": b.positions_BT,
                "lm_doc_ids": b.doc_ids_BT,
            }
        return batch

    def loss_units(self, batch: Batch) -> int:
        return batch["input_ids"].shape[0] // 2

    def loss(self, model: nn.Module, batch: Batch) -> LossOutput:
        reward, out = model.forward_full(batch["input_ids"], batch["attention_mask"])
        B = reward.shape[0] // 2
        margin_B = reward[:B] - reward[B:]
        loss_sum = -F.logsigmoid(margin_B).sum()
        metrics = {"acc": float((margin_B > 0).float().mean())}
        aux, z, counts = out.aux_loss, out.z_loss, out.expert_counts_LE
        if "lm_input_ids" in batch:
            lm_batch = {k[3:]: v for k, v in batch.items() if k.startswith("lm_")}
            lm = lm_loss(
                model.backbone, lm_batch, isolate_docs=True, labelled_only=True, doc_segments=True
            )
            nll = lm.loss_sum / max(count_label_tokens(lm_batch), 1)
            loss_sum = loss_sum + self.lm_coef * nll * B  # per-pair units: × B, the loop ÷ pairs
            aux, z = (aux + lm.aux_loss) / 2, (z + lm.z_loss) / 2
            counts = counts + lm.expert_counts_LE
            metrics["lm_nll"] = float(nll)
        return LossOutput(loss_sum, aux, z, counts, metrics)

    def eval_sets(self) -> dict[str, Callable[[], Iterable[Batch]]]:
        if not self.heldout:
            return {}
        chunks = [
            self.heldout[i : i + self.batch_size]
            for i in range(0, len(self.heldout), self.batch_size)
        ]
        return {"heldout": lambda: [pair_batch(c, self.pad_id) for c in chunks]}

    def state_dict(self) -> dict[str, Any]:
        state = self.epochs.state_dict()
        if self.lm_epochs is not None:
            state = {**state, "lm": self.lm_epochs.state_dict()}
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epochs.load_state_dict({k: v for k, v in state.items() if k != "lm"})
        if self.lm_epochs is not None and "lm" in state:
            self.lm_epochs.load_state_dict(state["lm"])


def pair_wins(rm: nn.Module, pairs: list[TokPair], pad_id: int, batch: int = 32) -> list[bool]:
    """For each pair, whether the chosen response scores strictly higher than the rejected."""
    s = score_sequences(rm, [c for c, _ in pairs] + [r for _, r in pairs], pad_id, batch)
    n = len(pairs)
    return [s[i] > s[n + i] for i in range(n)]


def pairwise_accuracy(rm: nn.Module, pairs: list[TokPair], pad_id: int, batch: int = 32) -> float:
    """Share of pairs whose chosen response scores strictly higher than the rejected one."""
    if not pairs:
        return float("nan")
    wins = pair_wins(rm, pairs, pad_id, batch)
    return sum(wins) / len(wins)
