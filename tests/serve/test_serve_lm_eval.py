"""lm-eval's own ``local-completions`` client scores log-likelihoods through the server, and gets
exactly what the engine computes directly (issue #9: echo + logprobs for lm-eval)."""

from __future__ import annotations

import math

import pytest

pytest.importorskip("tenacity", reason="lm-eval's API models need tenacity")
openai_completions = pytest.importorskip("lm_eval.models.openai_completions")
from lm_eval.api.instance import Instance  # noqa: E402

PAIRS = [("Free shipping on", " all orders"), ("Xin chào", " shop"), ("这款手机壳", " 质量很好")]


def test_lm_eval_local_completions_loglikelihood(
    live_server, e2e_artifacts, engine_backend, monkeypatch
):
    url, _ = live_server
    _, tok_dir = e2e_artifacts
    monkeypatch.setenv("OPENAI_API_KEY", "sk-compass-e2e-key")
    lm = openai_completions.LocalCompletionsAPI(
        base_url=url + "/v1/completions",
        model="micro",
        tokenizer_backend="huggingface",
        tokenizer=str(tok_dir),
        num_concurrent=1,
        max_retries=1,
    )
    reqs = [
        Instance(request_type="loglikelihood", doc={}, arguments=pair, idx=i)
        for i, pair in enumerate(PAIRS)
    ]
    got = lm.loglikelihood(reqs)
    tok = engine_backend.tok
    for (ctx, cont), (ll, greedy) in zip(PAIRS, got):
        # lm-eval's split: the context's own ids, then the rest of the whole text's ids
        ctx_ids = tok.encode(ctx)
        cont_ids = tok.encode(ctx + cont)[len(ctx_ids) :]
        assert cont_ids
        ref_ll, ref_greedy = engine_backend.engine.score(ctx_ids, cont_ids)
        assert math.isclose(ll, ref_ll, abs_tol=1e-3) and greedy == ref_greedy
