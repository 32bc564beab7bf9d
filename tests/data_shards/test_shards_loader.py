"""The packed loader against a plain oracle: packing, rank slicing, exact resume, weighting."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from compass.data.shards import LoaderSpec, PackedLoader, ShardError, open_split


def _oracle_stream(shards, split="train"):
    """Documents in index order, end to end — what an unshuffled, unweighted loader must pack."""
    ix = open_split(shards, split)
    return np.asarray(ix.tokens, dtype=np.int64), ix.offsets


def test_unshuffled_packing_matches_plain_concatenation(shards_dir):
    T, B = 32, 3
    loader = PackedLoader(
        shards_dir, LoaderSpec(seq_len=T, batch_size=B, shuffle=False, use_weights=False)
    )
    stream, offsets = _oracle_stream(shards_dir)
    doc_of = np.searchsorted(offsets, np.arange(len(stream)), side="right") - 1
    for step in range(4):
        batch = loader.next_batch()
        for b in range(B):
            s = (step * B + b) * (T + 1)
            chunk = stream[s : s + T + 1]
            assert torch.equal(batch["input_ids"][b], torch.from_numpy(chunk[:-1]))
            assert torch.equal(batch["labels"][b], torch.from_numpy(chunk[1:]))
            docs = doc_of[s : s + T]
            # doc_ids number the segments; positions restart in every segment
            new = np.r_[True, docs[1:] != docs[:-1]]
            assert torch.equal(batch["doc_ids"][b], torch.from_numpy(np.cumsum(new) - 1))
            starts = np.maximum.accumulate(np.where(new, np.arange(T), 0))
            assert torch.equal(batch["positions"][b], torch.from_numpy(np.arange(T) - starts))


def test_boundary_labels_masked_when_isolating(shards_dir):
    spec = LoaderSpec(seq_len=64, batch_size=4, shuffle=False, mask_doc_boundaries=True)
    batch = PackedLoader(shards_dir, spec).next_batch()
    ids, labels = batch["input_ids"], batch["labels"]
    assert (labels[ids == 257] == -100).all()  # after EOS comes another document: no target
    assert (labels != -100).sum() > 0.9 * labels.numel()


def test_ranks_split_each_global_batch(shards_dir):
    spec = LoaderSpec(seq_len=48, batch_size=2, seed=3)
    one = PackedLoader(shards_dir, spec)
    ranks = [PackedLoader(shards_dir, spec, rank=r, world_size=2) for r in range(2)]
    for _ in range(3):
        glob = torch.cat([one.next_batch()["input_ids"], one.next_batch()["input_ids"]])
        parts = torch.cat([r.next_batch()["input_ids"] for r in ranks])
        assert torch.equal(glob, parts)


def test_state_dict_resumes_exactly_across_epochs(shards_dir):
    spec = LoaderSpec(seq_len=256, batch_size=8, seed=1)
    ref = PackedLoader(shards_dir, spec)
    ref_batches = [ref.next_batch() for _ in range(60)]
    assert ref.epoch >= 1  # the run crossed an epoch boundary
    a = PackedLoader(shards_dir, spec)
    for _ in range(25):
        a.next_batch()
    state = a.state_dict()
    b = PackedLoader(shards_dir, spec)
    b.load_state_dict(state)
    for want in ref_batches[25:]:
        got = b.next_batch()
        assert all(torch.equal(got[k], want[k]) for k in want)


def _segments(loader, n_seq):
    """(doc, tokens) segments of the next ``n_seq`` sequences, as the loader cuts them."""
    return [loader._take(loader.spec.seq_len + 1, True) for _ in range(n_seq)]


def test_whole_document_packing_keeps_short_documents_whole(shards_dir):
    """With fit_lookahead, every document that fits a sequence comes whole and exactly as stored;
    the plain loader cuts many of them (so the test can fail); padding fills only what no
    document near could, carries no labels, and the documents are the epoch's own."""
    T, n_seq = 192, 100  # about half an epoch of the fixture's byte-tokenized documents
    ix = open_split(shards_dir, "train")
    lengths = np.asarray(ix.lengths)
    assert ((lengths <= T + 1) & (lengths > T // 2)).sum() > 10  # docs that can be cut

    def cut_short(spec):
        segs = [s for seq in _segments(PackedLoader(shards_dir, spec), n_seq) for s in seq]
        return [d for d, t in segs if d >= 0 and lengths[d] <= T + 1 and len(t) < lengths[d]]

    plain = LoaderSpec(seq_len=T, batch_size=1, seed=2)
    assert len(cut_short(plain)) > 20
    spec = LoaderSpec(seq_len=T, batch_size=1, seed=2, fit_lookahead=16)
    assert cut_short(spec) == []
    loader = PackedLoader(shards_dir, spec)
    whole = loader._epoch_order(0)
    for seq in _segments(loader, n_seq):
        assert sum(len(t) for _, t in seq) == T + 1
        for doc, toks in seq:
            if doc >= 0 and lengths[doc] <= T + 1:
                start = ix.offsets[doc]
                assert np.array_equal(toks, ix.tokens[start : start + lengths[doc]])
    assert loader.epoch == 0 and sorted(loader._order) == sorted(whole)  # reordered, not changed
    assert 0 < loader.padded < 0.1 * n_seq * (T + 1)
    batched = PackedLoader(shards_dir, replace(spec, batch_size=n_seq))
    labels = batched.next_batch()["labels"]
    assert batched.padded == loader.padded  # the same sequences
    assert (labels == -100).sum() == loader.padded  # no boundary masking: only padding is -100


def test_whole_document_packing_resumes_exactly(shards_dir):
    spec = LoaderSpec(seq_len=64, batch_size=4, seed=1, fit_lookahead=16)
    ref = PackedLoader(shards_dir, spec)
    ref_batches = [ref.next_batch() for _ in range(80)]
    a = PackedLoader(shards_dir, spec)
    for _ in range(30):
        a.next_batch()
    b = PackedLoader(shards_dir, spec)
    b.load_state_dict(a.state_dict())
    assert b.padded == a.padded
    for want in ref_batches[30:]:
        got = b.next_batch()
        assert all(torch.equal(got[k], want[k]) for k in want)


def test_weights_quality_and_length_mix(shards_dir):
    ix = open_split(shards_dir, "train")
    loader = PackedLoader(shards_dir, LoaderSpec(seed=0))
    counts = np.zeros(ix.n_docs)
    for e in range(200):
        np.add.at(counts, loader._epoch_order(e), 1)
    # expected copies per epoch = curation weight (1.5 for HQ docs, 0.8 for the rest)
    assert np.allclose(counts / 200, ix.weight, atol=0.12)
    hq = PackedLoader(shards_dir, LoaderSpec(quality_min=0.7))
    assert (ix.quality[hq.docs] >= 0.7).all() and len(hq.docs) == (ix.quality >= 0.7).sum()
    dom = PackedLoader(shards_dir, LoaderSpec(domain_weights={"general": 0.0}))
    general = dom.meta["domains"].index("general")
    assert (ix.domain[dom._epoch_order(0)] != general).all()
    lang = PackedLoader(shards_dir, LoaderSpec(lang_weights={"vi": 3.0}, use_weights=False))
    vi = lang.meta["langs"].index("vi")
    order = np.concatenate([lang._epoch_order(e) for e in range(20)])
    share = (ix.lang[order] == vi).mean()
    base = (ix.lang == vi).mean()
    assert share == pytest.approx(3 * base / (3 * base + 1 - base), abs=0.02)
    mix = PackedLoader(shards_dir, LoaderSpec(short_doc_frac=0.4, short_doc_len=300))
    lengths = ix.lengths.astype(float)
    order = np.concatenate([mix._epoch_order(e) for e in range(50)])
    share = lengths[order][lengths[order] < 300].sum() / lengths[order].sum()
    assert share == pytest.approx(0.4, abs=0.03)


def test_bad_loader_inputs_are_named(shards_dir, tmp_path):
    with pytest.raises(ShardError, match="no document with quality >= 2"):
        PackedLoader(shards_dir, LoaderSpec(quality_min=2.0))
    state = PackedLoader(shards_dir, LoaderSpec(seed=1)).state_dict()
    with pytest.raises(ShardError, match="another shard set or seed"):
        PackedLoader(shards_dir, LoaderSpec(seed=2)).load_state_dict(state)
