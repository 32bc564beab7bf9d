"""The tiny pipeline's stages as steps of ``compass run``; each calls its stage's library API.

A step writes into its own directory ``<run>/<step>/`` and returns the metrics that go into its
manifest and into ``REPORT.md``. Imports are local so ``compass run --dry-run`` stays fast.
"""

from __future__ import annotations

import copy
from typing import Any

from compass.config import ConfigError
from compass.pipeline.runner import Step, StepContext
from compass.posttrain.dpo.steps import dpo_step, final_policy
from compass.posttrain.reward.steps import reward_step
from compass.posttrain.sft import steps as sft_steps
from compass.tokenizer.locate import place_tokenizer


def _generate(ctx: StepContext) -> dict[str, Any]:
    from compass.data.synth.generate import generate

    return generate(ctx.recipe.datagen, ctx.out, progress=True)


def _tasks(ctx: StepContext) -> dict[str, Any]:
    from compass.data.synth.tasks.produce import write_tasks
    from compass.data.synth.world import World

    gen = ctx.deps["generate"]
    return write_tasks(ctx.recipe.tasks, World.load(gen / "world.json"), ctx.out, gen / "eval")


def _curate(ctx: StepContext) -> dict[str, Any]:
    from compass.data.curation.run import curate

    cfg = copy.deepcopy(ctx.recipe.curation)
    cfg.inputs = [str(ctx.deps["generate"] / "docs")]
    report = curate(cfg, ctx.out)
    return {k: report[k] for k in ("accounting", "mixture") if k in report}


def _tokenizer(ctx: StepContext) -> dict[str, Any]:
    from compass.tokenizer.build import train_tokenizer

    metrics = train_tokenizer(
        ctx.recipe.tokenizer,
        [str(ctx.deps["curate"] / "curated")],
        ctx.out,
        model_max_length=ctx.recipe.model.max_seq_len,
    )
    if metrics["vocab_size"] > ctx.recipe.model.vocab_size:
        raise ConfigError(
            f"the tokenizer has {metrics['vocab_size']} tokens but model.vocab_size is "
            f"{ctx.recipe.model.vocab_size}: pass --model.vocab_size={metrics['vocab_size']}"
        )
    return metrics


def _tokenize(ctx: StepContext) -> dict[str, Any]:
    from compass.data.shards.writer import tokenize_curated
    from compass.tokenizer import load_tokenizer
    from compass.utils.manifest import hash_path

    tok_dir = ctx.deps["tokenizer"]
    meta = tokenize_curated(
        ctx.deps["curate"] / "curated",
        load_tokenizer(tok_dir),
        ctx.out / "shards",
        ctx.recipe.shards,
        tokenizer_hash=hash_path(tok_dir),
    )
    return {"splits": meta["splits"], "counts": meta["counts"]}


def _pretrain(stage: str, init_from: str | None):
    def fn(ctx: StepContext) -> dict[str, Any]:
        from compass.pretrain.run import run_stage

        init = ctx.deps[init_from] / "ckpt" if init_from else None
        result = run_stage(
            ctx.recipe, stage, ctx.deps["tokenize"] / "shards", ctx.out / "ckpt", init=init
        )
        # The tokenizer travels with the weights so export, serving and eval find it.
        place_tokenizer(ctx.deps["tokenizer"], ctx.out / "ckpt")
        return {
            "step": result.step,
            "final_loss": result.losses[-1] if result.losses else None,
            "eval": result.eval,
            "tokens_per_s": round(result.tokens_per_s, 1),
            "load_max_mean": result.load_max_mean,
            "eval_load_max_mean": result.eval_load_max_mean,
        }

    return fn


def _niah(ctx: StepContext) -> dict[str, Any]:
    from compass.eval.niah_stages import compare_stages, headline

    pre, base = ctx.recipe.pretrain, ctx.recipe.model.rope_base
    after = pre.long.rope_base or base
    ckpts = {
        f"before: anneal, RoPE base {base:,.0f}": ctx.deps["pretrain_anneal"] / "ckpt",
        f"after: long, RoPE base {after:,.0f}": ctx.deps["pretrain_long"] / "ckpt",
    }
    metrics = compare_stages(
        ckpts, ctx.recipe.eval.niah, pre.main.seq_len, pre.long.seq_len, ctx.out
    )
    return headline(metrics)


def _export(ctx: StepContext) -> dict[str, Any]:
    from compass.export.hf import export_hf

    export_hf(final_policy(ctx), ctx.out / "hf")
    return {"hf_dir": str(ctx.out / "hf")}


def _quant_methods(ctx: StepContext) -> list[str]:
    return list(ctx.recipe.eval.quant_methods or ["fp8", "awq-int4"])


def _quantize(ctx: StepContext) -> dict[str, Any]:
    from compass.quant.run import quantize_checkpoint

    metrics: dict[str, Any] = {}
    for method in _quant_methods(ctx):
        cfg = copy.deepcopy(ctx.recipe.quant)
        cfg.method = method
        _, metrics[method] = quantize_checkpoint(
            final_policy(ctx),
            cfg,
            ctx.out / method,
            ctx.deps["tokenize"] / "shards",
            ctx.deps["tokenizer"],
        )
    return metrics


def _evaluate(ctx: StepContext) -> dict[str, Any]:
    from compass.eval.forms import column
    from compass.eval.harness import evaluate
    from compass.eval.loading import load_backend
    from compass.eval.report import main_metric, write_results
    from compass.eval.tasks import builtin_suite
    from compass.model.io import resolve_checkpoint

    specs = builtin_suite(ctx.deps["generate"] / "eval")
    for spec in specs:
        spec.items_per_lang = ctx.recipe.eval.items_per_lang
    # Every stage's model in one table (report Tables 6-8 style): the effect of each stage shows.
    models = {
        "base (pretrain)": resolve_checkpoint(ctx.deps["pretrain_long"] / "ckpt"),
        "sft": resolve_checkpoint(ctx.deps["sft2"] / "ckpt"),
        "dpo": resolve_checkpoint(final_policy(ctx)),
    }
    models |= {f"dpo {m}": ctx.deps["quantize"] / m for m in _quant_methods(ctx)}
    # Each model also as it is meant to be used (chat template, lettered options, deep mode),
    # beside the raw form; the columns name their form.
    # The base model has only seen running text: raw is the form it is used in. The quantized
    # models are set beside the DPO model in every form that scores all tasks; deep-mode
    # generation, the slowest form, is left to the chat models before quantization.
    forms = ctx.recipe.eval.forms
    forms_of = {"base (pretrain)": ["raw"], "sft": forms, "dpo": forms}
    results = {}
    for label, path in models.items():
        backend = load_backend(path, batch_size=ctx.recipe.eval.batch_size)
        for form in forms_of.get(label, [f for f in forms if f != "deep"]):
            results[column(label, form, forms)] = evaluate(specs, backend, form=form)
    write_results(results, ctx.out)
    return {
        label: {r.task: round(r.metrics[main_metric(r)], 4) for r in rs if not r.skipped}
        for label, rs in results.items()
    }


def tiny_pipeline() -> list[Step]:
    """Every stage of the pipeline, in order."""
    pre = ("model", "pretrain")
    return [
        Step(
            "generate",
            _generate,
            ("datagen",),
            describe="built-in multilingual e-commerce corpus",
            estimate_s=20,
        ),
        Step("curate", _curate, ("curation",), ("generate",), "LID, filters, quality, dedup", 60),
        Step("tokenizer", _tokenizer, ("tokenizer",), ("curate",), "SEA tokenizer", 40),
        Step("tokenize", _tokenize, ("shards",), ("curate", "tokenizer"), "token shards", 30),
        Step(
            "pretrain_main",
            _pretrain("main", None),
            pre,
            ("tokenize", "tokenizer"),
            "pretraining stage 1 (main)",
            150,
        ),
        Step(
            "pretrain_anneal",
            _pretrain("anneal", "pretrain_main"),
            pre,
            ("pretrain_main", "tokenize", "tokenizer"),
            "stage 2 (high-quality anneal)",
            60,
        ),
        Step(
            "pretrain_long",
            _pretrain("long", "pretrain_anneal"),
            pre,
            ("pretrain_anneal", "tokenize", "tokenizer"),
            "stage 3 (long context, ABF)",
            60,
        ),
        Step(
            "niah",
            _niah,
            ("model", "pretrain", "eval"),
            ("pretrain_anneal", "pretrain_long"),
            "needle in a haystack before and after the long-context stage",
            30,
        ),
        Step(
            "tasks",
            _tasks,
            ("tasks",),
            ("generate",),
            "post-training files: SFT samples, preference pairs, prompts",
            20,
        ),
        Step(
            "sft_data",
            sft_steps.sft_data,
            ("sft",),
            ("generate", "tasks"),
            "SFT data: read, select",
            40,
        ),
        Step(
            "sft1",
            sft_steps.sft_stage(1, "pretrain_long"),
            ("model", "sft"),
            ("sft_data", "pretrain_long", "tokenizer"),
            "SFT stage 1 (general instructions)",
            50,
        ),
        Step(
            "sft2",
            sft_steps.sft_stage(2, "sft1"),
            ("model", "sft"),
            ("sft_data", "sft1", "tokenizer"),
            "SFT stage 2 (reasoning, long-CoT, tools)",
            380,
        ),
        Step(
            "reward",
            reward_step("sft2"),
            ("model", "reward"),
            ("tasks", "sft2", "tokenizer"),
            "reward models: verifier warm-up, runs averaged into a soup, Best-of-N",
            330,
        ),
        Step(
            "dpo",
            dpo_step("sft2"),
            ("model", "dpo"),
            ("tasks", "sft2", "reward", "tokenizer"),
            "online DPO: sample n, reward + math check, pairs, DPO",
            110,
        ),
        Step("export", _export, (), ("dpo",), "Hugging Face Qwen2-MoE export", 10),
        Step(
            "quantize",
            _quantize,
            ("quant", "eval"),
            ("dpo", "tokenize", "tokenizer"),
            "FP8 and AWQ-INT4 weights",
            30,
        ),
        Step(
            "eval",
            _evaluate,
            ("eval",),
            ("generate", "pretrain_long", "sft2", "dpo", "quantize"),
            "built-in held-out suite: base, SFT, DPO, quantized",
            60,
        ),
        Step(
            "eval_reasoning",
            sft_steps.eval_reasoning,
            ("sft",),
            ("tasks", "sft2"),
            "deep vs fast mode on held-out arithmetic, per language",
            60,
        ),
    ]
