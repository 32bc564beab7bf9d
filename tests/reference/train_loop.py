"""The plain one-process training step the parallel layouts must reproduce.

The arithmetic of ``compass.train.loop.Trainer.train_step`` on one process, written out flat:
for M micro-batches per step, backprop ``Σ_m CE_sum_m / G + (α·aux_m + β·z_m) / M`` (G = label
tokens of the step), clip to ``grad_clip``, AdamW at ``lr_at(step)``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from compass.train.optim import build_adamw
from compass.train.schedule import coef_at, lr_at


def micro_batches(step: int, n_micro: int, batch: int, seq: int, vocab: int, packed: bool):
    """The step's M micro-batches, the same in every process (seeded by the step)."""
    gen = torch.Generator().manual_seed(1000 + step)
    out = []
    for _ in range(n_micro):
        ids = torch.randint(0, vocab, (batch, seq + 1), generator=gen)
        b = {"input_ids": ids[:, :-1].contiguous(), "labels": ids[:, 1:].contiguous()}
        if packed:  # three documents per row, positions restarting at each
            cuts = sorted(torch.randperm(seq - 2, generator=gen)[:2].add(1).tolist())
            doc = torch.zeros(seq, dtype=torch.long)
            for c in cuts:
                doc[c:] += 1
            starts = torch.tensor([0, *cuts])[doc]
            b["doc_ids"] = doc[None].expand(batch, seq).contiguous()
            b["positions"] = (torch.arange(seq) - starts)[None].expand(batch, seq).contiguous()
        out.append(b)
    return out


def train_one_process(model, cfg, steps: int, make_batches, start: int = 0, optim=None):
    """Steps ``start..steps-1``: per step {loss, aux, z, counts (expert load summed over the
    step, [L, E]), grad_norm (before clipping)}, and the final weights."""
    optim = optim or build_adamw(model, cfg)
    records = []
    for step in range(start, steps):
        lr = lr_at(step, cfg)
        alpha, beta = coef_at(step, cfg, cfg.aux_coef), coef_at(step, cfg, cfg.z_coef)
        for g in optim.param_groups:
            g["lr"] = lr
        batches = make_batches(step)
        units = sum(int(b["labels"].numel()) for b in batches)
        total, aux, z, counts = 0.0, 0.0, 0.0, 0
        for b in batches:
            kw = (
                {"positions_BT": b["positions"], "doc_ids_BT": b["doc_ids"]}
                if "doc_ids" in b
                else {}
            )
            out = model(b["input_ids"], **kw)
            ce = F.cross_entropy(
                out.logits_BTV.flatten(0, 1), b["labels"].flatten(), reduction="sum"
            )
            loss = ce / units + (alpha * out.aux_loss + beta * out.z_loss) / len(batches)
            loss.backward()
            total += float(ce.detach())
            aux, z = aux + float(out.aux_loss.detach()), z + float(out.z_loss.detach())
            counts = counts + out.expert_counts_LE.double()
        norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip))
        optim.step()
        optim.zero_grad(set_to_none=True)
        n = len(batches)
        records.append(
            {"loss": total / units, "aux": aux / n, "z": z / n, "counts": counts, "grad_norm": norm}
        )
    return records, {k: v.detach().clone() for k, v in model.state_dict().items()}
