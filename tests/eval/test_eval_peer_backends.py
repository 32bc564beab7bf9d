"""Peer-model backends: ``hf:`` (any transformers directory) and ``openai:`` (any OpenAI-compatible
server) score the same items as the Compass engine and lm-eval, and fail with one clear line."""

import os

import pytest

from compass.eval.backend import ModelLoadError
from compass.eval.harness import build_context, evaluate
from compass.eval.hf_backend import HFBackend
from compass.eval.loading import load_backend, open_backend, parse_model
from compass.eval.metrics import mc_scores
from compass.eval.openai_backend import OpenAIBackend
from compass.eval.tasks import builtin_suite, load_items

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


@pytest.fixture(autouse=True)
def _one_thread(one_thread):
    """Tiny matmuls on the shared 2-core box are fastest on one thread."""


@pytest.fixture(scope="module")
def mc_task(micro_artifacts):
    """One multiple-choice and one generative task of the built-in suite, English items."""
    specs = {s.name: s for s in builtin_suite(micro_artifacts["data"] / "eval")}
    mc, gen = specs["review_understanding"], specs["numerical_reasoning"]
    mc.filters = gen.filters = {"lang": "en"}
    return mc, gen


def _requests(spec):
    items = load_items(spec)
    return [
        (build_context(spec, items, i), spec.target_delimiter + c)
        for i, it in enumerate(items)
        for c in it.choices
    ]


@pytest.fixture(scope="module")
def engine(micro_artifacts):
    return load_backend(micro_artifacts["ckpt"])


def test_hf_backend_matches_engine_and_lm_eval(micro_artifacts, mc_task, engine):
    """Our HF export through ``hf:``, the checkpoint through the engine, and lm-eval's ``hf``
    model (HFLM): the same log-likelihood of every choice (|Δ| ≤ 1e-4), so the same acc and
    acc_norm. (lm-eval's whole task pipeline on these items: test_eval_harness.py.)"""
    from lm_eval.api.instance import Instance
    from lm_eval.models.huggingface import HFLM

    mc, _ = mc_task
    reqs = _requests(mc)
    hf = HFBackend(micro_artifacts["hf"], batch_size=8)
    ours, theirs = hf.loglikelihood(reqs), engine.loglikelihood(reqs)
    assert max(abs(a[0] - b[0]) for a, b in zip(ours, theirs)) <= 1e-4
    assert [a[1] for a in ours] == [b[1] for b in theirs]
    # Padding-aware: one request at a time gives the same numbers as mixed-length batches.
    hf.batch_size = 1
    assert max(abs(a[0] - b[0]) for a, b in zip(ours, hf.loglikelihood(reqs))) <= 1e-5
    lm = HFLM(pretrained=str(micro_artifacts["hf"]), dtype="float32", batch_size=8, device="cpu")
    insts = [Instance("loglikelihood", {}, r, i) for i, r in enumerate(reqs)]
    lm_lls = lm.loglikelihood(insts, disable_tqdm=True)
    assert max(abs(a[0] - b[0]) for a, b in zip(lm_lls, ours)) <= 1e-4
    items, k = load_items(mc), 0
    per_item = []
    for it in items:
        lls = [ll for ll, _ in lm_lls[k : k + len(it.choices)]]
        per_item.append(mc_scores(lls, it.choices, it.gold))
        k += len(it.choices)
    (res,) = evaluate([mc], hf)
    assert res.metrics["acc"] == sum(a for a, _ in per_item) / len(items)
    assert res.metrics["acc_norm"] == sum(n for _, n in per_item) / len(items)


def test_openai_backend_against_compass_serve(micro_server, micro_artifacts, mc_task, engine):
    """``compass serve`` through ``openai:``: log-likelihoods within float tolerance of the engine,
    greedy generations identical, so the same scores; text prompts (no tokenizer) also work."""
    from compass.tokenizer import load_tokenizer

    url, model = micro_server
    mc, gen = mc_task
    backend = OpenAIBackend(url, model, tokenizer=load_tokenizer(micro_artifacts["tokenizer"]))
    reqs = _requests(mc)
    got, want = backend.loglikelihood(reqs), engine.loglikelihood(reqs)
    assert max(abs(a[0] - b[0]) for a, b in zip(got, want)) <= 1e-4
    assert [a[1] for a in got] == [b[1] for b in want]
    remote = {r.task: r for r in evaluate([mc, gen], backend)}
    local = {r.task: r for r in evaluate([mc, gen], engine)}
    for name in (mc.name, gen.name):
        assert remote[name].metrics == local[name].metrics
    assert [s["output"] for s in remote[gen.name].samples] == [
        s["output"] for s in local[gen.name].samples
    ]
    text_only = OpenAIBackend(url + "/v1")  # the model id from /v1/models
    pair = [("Free shipping on", " all orders")]
    assert text_only.model == model
    assert abs(text_only.loglikelihood(pair)[0][0] - engine.loglikelihood(pair)[0][0]) <= 1e-4


def test_unknown_model_path_is_one_line(tmp_path):
    (tmp_path / "notes.txt").write_text("not a model")
    with pytest.raises(ModelLoadError) as e:
        open_backend(parse_model(f"peer={tmp_path}"))
    msg = str(e.value)
    assert "\n" not in msg and str(tmp_path) in msg and "hf:DIR" in msg
    with pytest.raises(ModelLoadError, match=r"no config\.json"):
        open_backend(parse_model(f"hf:{tmp_path}"))


@pytest.mark.parametrize(
    "arg,label,target",
    [
        ("qwen=hf:/m/Qwen2.5-7B", "qwen", "hf:/m/Qwen2.5-7B"),
        ("hf:/m/Qwen2.5-7B", "Qwen2.5-7B", "hf:/m/Qwen2.5-7B"),
        (
            "openai:http://h:8000/v1#sail/Sailor2",
            "sail/Sailor2",
            "openai:http://h:8000/v1#sail/Sailor2",
        ),
        ("openai:http://h:8000?k=v", "h:8000", "openai:http://h:8000?k=v"),
        ("runs/sft/final", "final", "runs/sft/final"),
    ],
)
def test_model_arguments(arg, label, target):
    ref = parse_model(arg)
    assert (ref.label, ref.target) == (label, target)
