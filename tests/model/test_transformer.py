"""Whole-model checks: attention vs a plain oracle, packing isolation, KV-cache decode == full
forward."""

import math

import pytest
import torch
import torch.nn.functional as F

from compass.config import ConfigError
from compass.model import CompassModel, KVCache, ModelConfig
from compass.model.generate import greedy_generate
from compass.model.rope import apply_rope, rope_cos_sin
from compass.recipes import get_recipe


def _model(seed=0, **over):
    cfg = get_recipe("micro").model
    for k, v in over.items():
        setattr(cfg, k, v)
    torch.manual_seed(seed)
    m = CompassModel(cfg)
    m.init_weights(seed)
    return m.eval()


def _attention_oracle(attn, x_BTD, positions_BT, base):
    """Explicit softmax(QK^T/sqrt(d) + causal) V with K/V heads repeated for each query group."""
    B, T, _ = x_BTD.shape
    H, K, d = attn.n_heads, attn.n_kv_heads, attn.head_dim
    q = attn.q_proj(x_BTD).view(B, T, H, d).transpose(1, 2)
    k = attn.k_proj(x_BTD).view(B, T, K, d).transpose(1, 2)
    v = attn.v_proj(x_BTD).view(B, T, K, d).transpose(1, 2)
    cos, sin = rope_cos_sin(positions_BT, d, base, x_BTD.dtype)
    q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
    k, v = k.repeat_interleave(H // K, dim=1), v.repeat_interleave(H // K, dim=1)
    scores = q @ k.transpose(-1, -2) / math.sqrt(d)
    causal = torch.ones(T, T, dtype=torch.bool).tril()
    scores = scores.masked_fill(~causal, float("-inf"))
    o = torch.softmax(scores, -1) @ v
    return attn.o_proj(o.transpose(1, 2).reshape(B, T, H * d))


def test_attention_matches_plain_oracle():
    m = _model()
    attn = m.layers[0].attn
    x = torch.randn(2, 11, m.config.d_model)
    pos = torch.arange(11)[None].expand(2, 11)
    cos_sin = rope_cos_sin(pos, m.config.head_dim, m.config.rope_base, x.dtype)
    got = attn(x, cos_sin, None, pos, None)
    torch.testing.assert_close(
        got, _attention_oracle(attn, x, pos, m.config.rope_base), rtol=1e-5, atol=1e-5
    )


def test_rope_is_a_rotation_and_relative():
    x = torch.randn(1, 2, 5, 16)
    pos = torch.arange(5)[None]
    cos, sin = rope_cos_sin(pos, 16, 10_000.0, x.dtype)
    y = apply_rope(x, cos, sin)
    torch.testing.assert_close(y.norm(dim=-1), x.norm(dim=-1))
    # q·k depends only on the distance: shift both positions by 7.
    cos2, sin2 = rope_cos_sin(pos + 7, 16, 10_000.0, x.dtype)
    a = apply_rope(x, cos, sin)
    b = apply_rope(x, cos2, sin2)
    torch.testing.assert_close(
        (a[..., 1, :] * a[..., 3, :]).sum(-1), (b[..., 1, :] * b[..., 3, :]).sum(-1)
    )


def test_packed_documents_are_isolated():
    m = _model()
    a, b = torch.randint(0, 1000, (1, 7)), torch.randint(0, 1000, (1, 5))
    packed = torch.cat([a, b], 1)
    doc_ids = torch.tensor([[0] * 7 + [1] * 5])
    positions = torch.cat([torch.arange(7), torch.arange(5)])[None]
    out = m(packed, positions_BT=positions, doc_ids_BT=doc_ids).logits_BTV
    torch.testing.assert_close(out[:, :7], m(a).logits_BTV, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(out[:, 7:], m(b).logits_BTV, rtol=1e-5, atol=1e-5)


def test_kv_cache_incremental_decoding_equals_full_forward():
    m = _model()
    ids = torch.randint(0, 1000, (2, 12))
    full = m(ids).logits_BTV
    cache = KVCache.for_model(m.config, batch=2, max_len=16)
    chunks = [m(ids[:, :5], cache=cache).logits_BTV]
    for t in range(5, 12):
        chunks.append(m(ids[:, t : t + 1], cache=cache).logits_BTV)
    torch.testing.assert_close(torch.cat(chunks, 1), full, rtol=1e-5, atol=1e-5)


def test_kv_cache_rows_at_different_lengths():
    """Rows of one cache advance independently (what continuous batching needs)."""
    m = _model()
    a, b = torch.randint(0, 1000, (9,)), torch.randint(0, 1000, (4,))
    cache = KVCache.for_model(m.config, batch=2, max_len=16)
    m(a[None, :8], cache=KVCache.for_model(m.config, 1, 16))  # warm-up, unrelated cache
    # Prefill both rows in one right-padded batch with explicit positions.
    ids = torch.stack([a[:8], torch.cat([b[:3], torch.zeros(5, dtype=torch.long)])])
    pos = torch.arange(8)[None].expand(2, 8)
    m(ids, positions_BT=pos, cache=cache)
    # Next token: row 0 at position 8, row 1 at position 3 (its padding slots are overwritten
    # later).
    step = m(
        torch.stack([a[8:9], b[3:4]]), positions_BT=torch.tensor([[8], [3]]), cache=cache
    ).logits_BTV
    torch.testing.assert_close(step[0, -1], m(a[None]).logits_BTV[0, -1], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(step[1, -1], m(b[None]).logits_BTV[0, -1], rtol=1e-5, atol=1e-5)


def test_greedy_with_cache_equals_without():
    m = _model()
    prompt = torch.randint(0, 1000, (6,)).tolist()
    assert greedy_generate(m, prompt, 10) == greedy_generate(m, prompt, 10, use_cache=False)


def test_training_step_reduces_loss():
    m = _model().train()
    ids = torch.randint(0, 1000, (4, 33))
    opt = torch.optim.AdamW(m.parameters(), lr=3e-3)
    losses = []
    for _ in range(8):
        out = m(ids[:, :-1])
        loss = (
            F.cross_entropy(out.logits_BTV.flatten(0, 1), ids[:, 1:].flatten())
            + 0.01 * out.aux_loss
        )
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss))
    assert losses[-1] < losses[0] - 0.5


@pytest.mark.parametrize(
    "field,value,needle",
    [
        ("n_kv_heads", 3, "n_kv_heads"),
        ("top_k", 99, "top_k"),
        ("head_dim", 24, "d_model"),
        ("expert_impl", "fast", "expert_impl"),
    ],
)
def test_inconsistent_shapes_fail_at_build_time(field, value, needle):
    cfg = get_recipe("micro").model
    setattr(cfg, field, value)
    with pytest.raises(ConfigError, match=needle):
        CompassModel(cfg)


def test_30b_recipe_counts_on_meta_device():
    with torch.device("meta"):
        m = CompassModel(get_recipe("compass_v2_30b_a5b").model)
    n = m.num_parameters()
    assert abs(n["total"] / 30e9 - 1) <= 0.02, n
    assert abs(n["active"] / 5e9 - 1) <= 0.10, n


def test_active_count_matches_a_direct_count():
    cfg = ModelConfig()
    m = CompassModel(cfg)
    per_expert = 3 * cfg.d_model * cfg.expert_dim
    routed = cfg.n_layers * cfg.n_routed_experts * per_expert
    assert (
        m.num_parameters()["active"]
        == sum(p.numel() for p in m.parameters()) - routed + cfg.n_layers * cfg.top_k * per_expert
    )


def test_logits_index_projects_only_the_chosen_positions():
    m = _model()
    ids = torch.randint(0, 1000, (3, 10))
    idx = torch.tensor([9, 4, 0])
    full = m(ids).logits_BTV
    picked = m(ids, logits_index_B=idx).logits_BTV
    assert picked.shape == (3, 1, full.shape[-1])
    torch.testing.assert_close(picked[:, 0], full[torch.arange(3), idx], rtol=1e-5, atol=1e-5)


def test_logits_mask_projects_only_the_masked_positions_and_lm_loss_keeps_its_sum():
    from compass.train.stage import lm_loss

    m = _model()
    ids = torch.randint(0, 1000, (2, 12))
    labels = torch.randint(0, 1000, (2, 12))
    labels[0, :5], labels[1, 8:] = -100, -100
    keep = labels != -100
    full = m(ids).logits_BTV
    picked = m(ids, logits_mask_BT=keep).logits_BTV
    assert picked.shape == (1, int(keep.sum()), full.shape[-1])
    torch.testing.assert_close(picked[0], full[keep], rtol=1e-5, atol=1e-5)
    batch = {"input_ids": ids, "labels": labels}
    want = lm_loss(m, batch, isolate_docs=False).loss_sum
    got = lm_loss(m, batch, isolate_docs=False, labelled_only=True).loss_sum
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


def test_doc_segments_attend_like_the_block_diagonal_mask():
    """Rows packed with documents of many lengths and trailing padding (id -1, position 0):
    attending one segment at a time gives the masked attention's logits, MoE losses and
    gradients."""
    m = _model()
    lengths = [[9, 1, 17, 3, 2], [28, 4], [5, 5, 5, 5, 5, 5]]
    T = 32
    ids = torch.randint(0, 1000, (3, T))
    docs = torch.full((3, T), -1)
    pos = torch.zeros(3, T, dtype=torch.long)
    for b, row in enumerate(lengths):
        t = 0
        for d, n in enumerate(row):
            docs[b, t : t + n], pos[b, t : t + n] = d, torch.arange(n)
            t += n
    outs = []
    for segments in (False, True):
        m.zero_grad()
        out = m(ids, positions_BT=pos, doc_ids_BT=docs, doc_segments=segments)
        (out.logits_BTV.square().mean() + out.aux_loss + out.z_loss).backward()
        grads = [p.grad.clone() for p in m.parameters()]
        outs.append((out.logits_BTV, out.aux_loss, out.z_loss, grads))
    (want, *rest_w), (got, *rest_g) = outs
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(rest_g[:2], rest_w[:2], rtol=1e-5, atol=1e-6)
    for g, w in zip(rest_g[2], rest_w[2]):
        torch.testing.assert_close(g, w, rtol=1e-4, atol=1e-6)
