"""``write_tasks``: the world's post-training data as files in the formats the stages read.

```
OUT/sft.jsonl                    instruction samples, both stages (OpenAI messages + metadata)
OUT/verifier.jsonl               right step-by-step cart chains (deep mode) for the verifier
OUT/pairs/train.jsonl            preference pairs (TRL: prompt, chosen, rejected)
OUT/pairs/heldout.jsonl          held-out pairs (prompts disjoint from train)
OUT/prompts/dpo.jsonl            online-DPO prompts, in round order
OUT/prompts/dpo_heldout.jsonl    held-out DPO prompts (math with answers first, then general)
OUT/prompts/bon.jsonl            Best-of-N math prompts with answers
OUT/prompts/rm_policy.jsonl      math prompts for on-policy reward pairs (when configured)
OUT/eval/cart_arithmetic.jsonl   held-out arithmetic for deep vs fast mode
OUT/eval/answer_language.jsonl   held-out generative prompts for the answer-language check
OUT/report.json                  counts per file
```

No prompt of the world's held-out evaluation suite (``eval_dir``) appears in any training file;
training and held-out files are disjoint by construction (each split excludes the others).
"""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

from compass.data.synth.lexicon import get_lexicon
from compass.data.synth.tasks.cart import cart_problems, eval_item
from compass.data.synth.tasks.config import TasksConfig
from compass.data.synth.tasks.dpo_prompts import build_prompts
from compass.data.synth.tasks.math_items import math_items
from compass.data.synth.tasks.pairs import generate_pairs
from compass.data.synth.tasks.sft_samples import SFTGenerator, generate_language
from compass.data.synth.world import World
from compass.utils.io import atomic_write_json, write_jsonl

PROMPT_KEYS = ("answer", "answer_minor", "currency", "solution")


def eval_prompts(eval_dir: str | Path | None) -> set[str]:
    """Prompts of the held-out evaluation files: never written into a training file."""
    if eval_dir is None or not Path(eval_dir).is_dir():
        return set()
    out: set[str] = set()
    for f in sorted(Path(eval_dir).glob("*.jsonl")):
        with open(f, encoding="utf-8") as fh:
            out |= {json.loads(line)["prompt"] for line in fh if line.strip()}
    return out


def _trl_pair(p: dict[str, Any]) -> dict[str, Any]:
    """TRL's preference row; an answer with reasoning becomes an assistant message carrying
    ``reasoning_content`` (the think block the chat template renders)."""
    row = {"prompt": p["prompt"], "lang": p["lang"], "kind": p["kind"]}
    for side in ("chosen", "rejected"):
        steps = p.get(f"{side}_reasoning")
        row[side] = (
            [{"role": "assistant", "content": p[side], "reasoning_content": steps}]
            if steps
            else p[side]
        )
    return row


def _prompt_row(p: dict[str, Any], category: str) -> dict[str, Any]:
    row = {"prompt": p["prompt"], "lang": p["lang"], "category": category}
    if category == "math":  # other sets' items may carry an answer; only math is checked by rule
        row |= {k: p[k] for k in PROMPT_KEYS if k in p}
    if "answer" in row:  # the localised answer line a right reply ends with
        row["reference"] = get_lexicon(p["lang"]).answer.format(value=row["answer"])
    return row


def _sft(cfg: TasksConfig, world: World, exclude: set[str], out: Path) -> dict[str, Any]:
    from compass.posttrain.sft.records import check_sample

    s = cfg.sft
    held = {lang: cart_problems(lang, s.eval_cart_per_lang, cfg.seed, "eval") for lang in cfg.langs}
    held_q = {p.question for ps in held.values() for p in ps}
    write_jsonl(
        [eval_item(p, i) for ps in held.values() for i, p in enumerate(ps)],
        out / "eval" / "cart_arithmetic.jsonl",
    )
    samples, bad = [], Counter()
    for lang in cfg.langs:
        for sample in generate_language(world, lang, s, cfg.seed, exclude, held_q):
            reason = check_sample(sample)
            if reason:  # a generator bug must be visible, not silently trained on
                bad[reason] += 1
            else:
                samples.append(sample)
    write_jsonl(samples, out / "sft.jsonl")
    lang_eval = []
    for lang in cfg.langs:
        g = SFTGenerator(world, lang, cfg.seed, set())
        g.rng = random.Random(f"lang-eval:{cfg.seed}:{lang}")
        for _ in range(s.eval_language_per_lang):
            user, reply = g.creative()["messages"]
            # The generator's own reply: what the language judge's error rate is measured on.
            lang_eval.append(
                {"lang": lang, "prompt": user["content"], "reference": reply["content"]}
            )
    write_jsonl(lang_eval, out / "eval" / "answer_language.jsonl")
    return {
        "sft": len(samples),
        "sft_generator_rejects": dict(bad),
        "eval_cart_arithmetic": len(held_q),
        "eval_answer_language": len(lang_eval),
    }


def generated_solutions(langs: list[str], n: int, seed: int, exclude: set[str]) -> list[dict]:
    """``n`` right cart chains in deep mode, spread over ``langs``, none asking an excluded
    prompt."""
    out: list[dict[str, Any]] = []
    for i, lang in enumerate(langs):
        k = n // len(langs) + (i < n % len(langs))
        for pr in cart_problems(lang, k, seed, "verifier", exclude):
            out.append({"messages": pr.messages(deep=True), "long_cot": True, "lang": lang})
    return out


def _reward(cfg: TasksConfig, world: World, exclude: set[str], out: Path) -> dict[str, Any]:
    r = cfg.reward
    bon = [
        it
        for lang in cfg.langs
        for it in math_items(
            world, r.bon_task, lang, r.bon_prompts_per_lang, cfg.seed, exclude, stream="bon"
        )
    ]
    exclude = exclude | {it["prompt"] for it in bon}
    heldout = generate_pairs(
        world, cfg.langs, r.kinds, r.heldout_pairs_per_lang_kind, cfg.seed, "pref-heldout", exclude
    )
    held = {p["prompt"] for p in heldout}
    train = generate_pairs(
        world,
        cfg.langs,
        r.kinds,
        r.train_pairs_per_lang_kind,
        cfg.seed,
        "pref-train",
        exclude | held,
        r.kind_pairs_per_lang,
    )
    write_jsonl([_trl_pair(p) for p in train], out / "pairs" / "train.jsonl")
    write_jsonl([_trl_pair(p) for p in heldout], out / "pairs" / "heldout.jsonl")
    write_jsonl([_prompt_row(it, "math") for it in bon], out / "prompts" / "bon.jsonl")
    chains = generated_solutions(cfg.langs, r.verifier_chains, cfg.seed, exclude | held)
    write_jsonl(chains, out / "verifier.jsonl")
    counts = {
        "pairs_train": len(train),
        "pairs_heldout": len(heldout),
        "bon_prompts": len(bon),
        "verifier_chains": len(chains),
    }
    if r.policy_prompts_per_lang:
        taken = exclude | held | {p["prompt"] for p in train}
        policy = [
            it
            for lang in cfg.langs
            for it in math_items(
                world,
                r.bon_task,
                lang,
                r.policy_prompts_per_lang,
                cfg.seed,
                taken,
                stream="rm-policy",
            )
        ]
        write_jsonl([_prompt_row(it, "math") for it in policy], out / "prompts" / "rm_policy.jsonl")
        counts["rm_policy_prompts"] = len(policy)
    return counts


def _dpo(cfg: TasksConfig, world: World, exclude: set[str], out: Path) -> dict[str, Any]:
    d = cfg.dpo
    args = (world, cfg.langs, cfg.seed, d.math_task)
    h_math = build_prompts(*args, "dpo-heldout", exclude, {"math": d.eval_math_per_lang})
    h_general = build_prompts(
        *args,
        "dpo-heldout",
        exclude,
        {"general": d.eval_general_per_lang, "ecommerce": d.eval_general_per_lang},
    )
    heldout = h_math + h_general
    write_jsonl([_prompt_row(p, p["set"]) for p in heldout], out / "prompts" / "dpo_heldout.jsonl")
    taken = exclude | {p["prompt"] for p in heldout}
    rounds = [build_prompts(*args, f"dpo-r{r}", taken, d.prompts_per_lang) for r in range(d.rounds)]
    write_jsonl(
        [_prompt_row(p, p["set"]) for ps in rounds for p in ps], out / "prompts" / "dpo.jsonl"
    )
    return {"dpo_prompts": sum(map(len, rounds)), "dpo_heldout": len(heldout)}


def write_tasks(
    cfg: TasksConfig, world: World, out: str | Path, eval_dir: str | Path | None = None
) -> dict[str, Any]:
    """Write every file of the layout above; returns the counts (also ``report.json``)."""
    out = Path(out)
    for sub in ("eval", "pairs", "prompts"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    exclude = eval_prompts(eval_dir)
    report = {"excluded_eval_prompts": len(exclude)}
    report |= _sft(cfg, world, exclude, out)
    report |= _reward(cfg, world, exclude, out)
    report |= _dpo(cfg, world, exclude, out)
    atomic_write_json(out / "report.json", report)
    return report
