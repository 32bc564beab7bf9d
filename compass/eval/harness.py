"""Run tasks against a backend: build contexts (with few-shot examples), score, aggregate per language."""

from __future__ import annotations

import logging
import random
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from tqdm import tqdm

from compass.eval.answers import extract, is_correct
from compass.eval.backend import Backend
from compass.eval.metrics import mc_scores, mean_stderr
from compass.eval.tasks import GenItem, MCItem, TaskSpec, load_items

log = logging.getLogger(__name__)


@dataclass
class TaskResult:
    task: str
    kind: str
    n: int
    metrics: dict[str, float]  # metric -> value, and metric_stderr
    by_lang: dict[str, dict[str, float]] = field(default_factory=dict)
    samples: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "kind": self.kind,
            "n": self.n,
            "metrics": self.metrics,
            "by_lang": self.by_lang,
        }


def _target(item: MCItem | GenItem, spec: TaskSpec) -> str:
    return item.choices[item.gold] if isinstance(item, MCItem) else item.answer


def build_context(spec: TaskSpec, items: list, i: int, seed: int = 1234) -> str:
    """The prompt for item i, preceded by ``num_fewshot`` other items with their answers."""
    body = spec.template.format(prompt=items[i].prompt)
    if spec.num_fewshot <= 0:
        return body
    rng = random.Random(seed * 1_000_003 + i)
    pool = [j for j in range(len(items)) if j != i and items[j].lang == items[i].lang]
    shots = rng.sample(pool, min(spec.num_fewshot, len(pool)))
    parts = [
        spec.template.format(prompt=items[j].prompt)
        + spec.target_delimiter
        + _target(items[j], spec)
        for j in shots
    ]
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


def run_mc(
    spec: TaskSpec, items: list[MCItem], backend: Backend, limit: int | None = None
) -> TaskResult:
    items = items[:limit] if limit else items
    requests, owners = [], []
    for i, item in enumerate(items):
        ctx = build_context(spec, items, i)
        for c in item.choices:
            requests.append((ctx, spec.target_delimiter + c))
            owners.append(i)
    lls = backend.loglikelihood(requests)
    per_choice: list[list[float]] = [[] for _ in items]
    for i, (ll, _) in zip(owners, lls):
        per_choice[i].append(ll)
    per_item, samples = [], []
    for item, ll in zip(items, per_choice):
        acc, acc_norm = mc_scores(ll, item.choices, item.gold)
        per_item.append({"acc": acc, "acc_norm": acc_norm})
        samples.append({"prompt": item.prompt, "gold": item.gold, "lls": ll, "acc": acc})
    metrics, by_lang = _aggregate(per_item, [it.lang for it in items], ["acc", "acc_norm"])
    return TaskResult(spec.name, "mc", len(items), metrics, by_lang, samples)


def run_gen(
    spec: TaskSpec, items: list[GenItem], backend: Backend, limit: int | None = None
) -> TaskResult:
    items = items[:limit] if limit else items
    requests = [
        (build_context(spec, items, i), spec.stop, spec.max_tokens) for i in range(len(items))
    ]
    outputs = backend.generate_until(requests)
    ids = getattr(backend, "last_token_ids", None) or [None] * len(outputs)
    per_item, samples = [], []
    for item, out, out_ids in zip(items, outputs, ids):
        pred = extract(out, spec.answer_regex)
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


def evaluate(specs: list[TaskSpec], backend: Backend, limit: int | None = None) -> list[TaskResult]:
    results = []
    for spec in tqdm(specs, desc="tasks", unit="task", disable=len(specs) < 2):
        items = load_items(spec)
        run = run_mc if spec.kind == "mc" else run_gen
        res = run(spec, items, backend, limit)
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
