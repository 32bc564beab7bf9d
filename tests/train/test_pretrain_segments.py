"""Pretraining's per-document attention (``doc_segments``) gives the block-diagonal mask's loss,
MoE losses and gradients on the loader's packed batches (whole documents + a padding tail)."""

import torch

import compass.pretrain.stage as pretrain_stage
from compass.distributed.env import DistInfo
from compass.model import CompassModel
from compass.train.stage import lm_loss
from tests.train.conftest import micro_recipe


def test_pretrain_segments_match_the_mask(shards_dir, monkeypatch):
    recipe = micro_recipe(fit_lookahead=16, micro_batch_size=4)
    stage = pretrain_stage.build_stage("main", recipe.pretrain, shards_dir, DistInfo(), 0)
    batch = stage.next_batch()
    assert max(len(row.unique()) for row in batch["doc_ids"]) > 1  # rows of several documents
    monkeypatch.setattr(pretrain_stage, "SEGMENT_MIN_LEN", batch["input_ids"].shape[1])
    torch.manual_seed(0)
    m = CompassModel(recipe.model)
    m.init_weights(0)
    outs = []
    for loss in (lambda: lm_loss(m, batch, isolate_docs=True), lambda: stage.loss(m, batch)):
        m.zero_grad()
        out = loss()
        (out.loss_sum + out.aux_loss + out.z_loss).backward()
        grads = [p.grad.clone() for p in m.parameters()]
        outs.append((out.loss_sum, out.aux_loss, out.z_loss, grads))
    (*want, w_grads), (*got, g_grads) = outs
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    for g, w in zip(g_grads, w_grads):
        torch.testing.assert_close(g, w, rtol=1e-4, atol=1e-5)
