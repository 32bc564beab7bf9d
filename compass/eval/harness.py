"""Run tasks against a backend: build contexts (with few-shot examples), score, aggregate per
language."""

from __future__ import annotations

import logging
import random
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from tqdm import tqdm

from compass.eval.answers import extract, is_correct
from compass.eval.backend import Backend, Unsupported
from compass.eval.chat import chat_loglikelihood, generate_chat
from compass.eval.forms import LETTERS, chat_answer, instruction_for, lettered, user_turn
from compass.eval.metrics import mc_scores, mean_stderr
from compass.eval.tasks import (
    GenItem,
    MCItem,
    TaskFileError,
    TaskSpec,
    load_fewshot,
    load_items,
)
from compass.eval.templates import is_jinja

log = logging.getLogger(__name__)


@dataclass
class TaskResult:
    task: str
    kind: str
    n: int
    metrics: dict[str, float]  # metric -> value, and metric_stderr
    by_lang: dict[str, dict[str, float]] = field(default_factory=dict)
    samples: list[dict[str, Any]] = field(default_factory=list)
    skipped: str = ""  # why this backend could not score the task; "" = scored

    def to_dict(self) -> dict[str, Any]:
        out = {
            "task": self.task,
            "kind": self.kind,
            "n": self.n,
            "metrics": self.metrics,
            "by_lang": self.by_lang,
        }
        return {**out, "skipped": self.skipped} if self.skipped else out


def _target(item: MCItem | GenItem) -> str:
    return item.choices[item.gold] if isinstance(item, MCItem) else item.answer


def _text(spec: TaskSpec, item: MCItem | GenItem) -> str:
    # A Jinja template was rendered over the whole record when the item was read.
    return item.prompt if is_jinja(spec.template) else spec.template.format(prompt=item.prompt)


def _shots(spec: TaskSpec, items: list, i: int, pool: list | None, seed: int) -> list:
    """``num_fewshot`` examples other than item i, in its language where the pool has it."""
    if pool is None:
        cands = [items[j] for j in range(len(items)) if j != i]
    else:  # a separate file: leave out a copy of the item itself (a dev split may hold it)
        me = (items[i].prompt, _target(items[i]))
        cands = [it for it in pool if (it.prompt, _target(it)) != me]
    same_lang = [it for it in cands if it.lang == items[i].lang]
    cands = same_lang if same_lang or pool is None else cands
    rng = random.Random(seed * 1_000_003 + i)
    return rng.sample(cands, min(spec.num_fewshot, len(cands)))


def build_context(spec: TaskSpec, items: list, i: int, pool: list | None = None) -> str:
    """The prompt for item i, preceded by ``num_fewshot`` examples with their answers, drawn from
    ``pool`` (the few-shot file's items) or else the task's other items."""
    body = _text(spec, items[i])
    if spec.num_fewshot <= 0:
        return body
    shots = _shots(spec, items, i, pool, spec.fewshot_seed)
    parts = [_text(spec, it) + spec.target_delimiter + _target(it) for it in shots]
    return spec.fewshot_separator.join([*parts, body])


def _aggregate(per_item: list[dict[str, float]], langs: list[str], names: list[str]):
    metrics: dict[str, float] = {}
    for name in names:
        m, se = mean_stderr([r[name] for r in per_item])
        metrics[name], metrics[f"{name}_stderr"] = m, se
    by_lang: dict[str, dict[str, float]] = {}
    groups: dict[str, list[dict[str, float]]] = defaultdict(list)
    for lang, r in zip(langs, per_item):
        groups[lang or "all"].append(r)
    for lang, rows in sorted(groups.items()):
        by_lang[lang] = {name: mean_stderr([r[name] for r in rows])[0] for name in names}
        by_lang[lang]["n"] = len(rows)
    return metrics, by_lang


def _mc_requests(spec: TaskSpec, items: list[MCItem], pool: list | None, form: str):
    """(requests, owner item of each, the scored text per item's choices) in ``form``."""
    requests, owners, scored = [], [], []
    for i, item in enumerate(items):
        ctx = build_context(spec, items, i, pool)
        if form == "letters":
            instruction = instruction_for(spec.letters_instruction, item.lang)
            turn = user_turn(lettered(ctx, item.choices, instruction))
            targets = list(LETTERS[: len(item.choices)])
            requests += [(turn, x) for x in targets]
        elif form == "chat":
            targets = item.choices
            requests += [(user_turn(ctx), x) for x in targets]
        else:
            targets = item.choices
            requests += [(ctx, spec.target_delimiter + x) for x in targets]
        owners += [i] * len(targets)
        scored.append(targets)
    return requests, owners, scored


def run_mc(
    spec: TaskSpec,
    items: list[MCItem],
    backend: Backend,
    limit: int | None = None,
    pool: list | None = None,
    form: str = "raw",
) -> TaskResult:
    if form == "deep":
        raise Unsupported("deep mode is for generative tasks; option tasks are answered fast")
    items = items[:limit] if limit else items
    requests, owners, scored = _mc_requests(spec, items, pool, form)
    if form == "raw":
        lls = backend.loglikelihood(requests)
    else:
        lls = chat_loglikelihood(backend, requests)
    per_choice: list[list[float]] = [[] for _ in items]
    for i, (ll, _) in zip(owners, lls):
        per_choice[i].append(ll)
    per_item, samples = [], []
    for item, ll, targets in zip(items, per_choice, scored):
        acc, acc_norm = mc_scores(ll, targets, item.gold)
        per_item.append({"acc": acc, "acc_norm": acc_norm})
        samples.append({"prompt": item.prompt, "gold": item.gold, "lls": ll, "acc": acc})
    metrics, by_lang = _aggregate(per_item, [it.lang for it in items], ["acc", "acc_norm"])
    return TaskResult(spec.name, "mc", len(items), metrics, by_lang, samples)


def _generate(spec: TaskSpec, items: list[GenItem], backend, pool, form: str) -> list[str]:
    contexts = [build_context(spec, items, i, pool) for i in range(len(items))]
    if form == "raw":
        return backend.generate_until([(c, spec.stop, spec.max_tokens) for c in contexts])
    # A chat reply ends at the model's end of turn; the raw form's stop strings would cut a
    # deep-mode reply inside its reasoning.
    n = spec.deep_max_tokens if form == "deep" else spec.max_tokens
    return generate_chat(backend, [(user_turn(c), n) for c in contexts], form == "deep")


def run_gen(
    spec: TaskSpec,
    items: list[GenItem],
    backend: Backend,
    limit: int | None = None,
    pool: list | None = None,
    form: str = "raw",
) -> TaskResult:
    items = items[:limit] if limit else items
    outputs = _generate(spec, items, backend, pool, form)
    ids = getattr(backend, "last_token_ids", None) if form == "raw" else None
    ids = ids or [None] * len(outputs)
    per_item, samples = [], []
    for item, out, out_ids in zip(items, outputs, ids):
        if form == "raw":
            pred = extract(out, spec.answer_regex)
        else:
            pred = chat_answer(out, spec.answer_regex)
        ok = float(is_correct(pred, item.answer, item.meta))
        per_item.append({"exact_match": ok})
        samples.append(
            {
                "prompt": item.prompt,
                "gold": item.answer,
                "output": out,
                "pred": pred,
                "ok": ok,
                "output_ids": out_ids,
            }
        )
    metrics, by_lang = _aggregate(per_item, [it.lang for it in items], ["exact_match"])
    return TaskResult(spec.name, "gen", len(items), metrics, by_lang, samples)


def evaluate(
    specs: list[TaskSpec], backend: Backend, limit: int | None = None, form: str = "raw"
) -> list[TaskResult]:
    """Every task through ``backend`` in ``form`` (compass.eval.forms). A task that cannot be
    scored comes back marked skipped, with the reason, and the other tasks still run: a bad task
    file (the message names the file, line and field), or a backend that cannot serve the form
    (an endpoint without log-probabilities for a multiple-choice task)."""
    results = []
    for spec in tqdm(specs, desc="tasks", unit="task", disable=len(specs) < 2):
        run = run_mc if spec.kind == "mc" else run_gen
        try:
            res = run(spec, load_items(spec), backend, limit, load_fewshot(spec), form)
        except (Unsupported, TaskFileError) as e:
            log.warning("task '%s' (%s form) skipped: %s", spec.name, form, e)
            results.append(TaskResult(spec.name, spec.kind, 0, {}, skipped=str(e)))
            continue
        main = "acc" if spec.kind == "mc" else "exact_match"
        log.info(
            "%-24s n=%-5d %s=%.3f ± %.3f",
            spec.name,
            res.n,
            main,
            res.metrics[main],
            res.metrics[f"{main}_stderr"],
        )
        results.append(res)
    return results
