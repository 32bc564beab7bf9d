"""The lm-evaluation-harness bridge: our task files as lm-eval tasks, and Compass as an lm-eval
model.

``write_task`` turns a :class:`TaskSpec` into an lm-eval task directory (YAML + a normalised JSONL
copy of the items + a ``utils.py`` whose answer check is Compass's), so lm-eval runs offline on
local data. ``CompassLM`` (registered as ``compass``) serves lm-eval's requests from a Compass
checkpoint through the same backend the built-in harness uses; the exported Hugging Face directory
runs through lm-eval's own ``hf`` model. Tests check that all paths give identical accuracies.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from compass.eval.tasks import MCItem, TaskSpec, load_items
from compass.eval.templates import is_jinja

_UTILS = '''"""Written by compass.eval.lm_eval_bridge: the answer check of Compass's own harness."""
from compass.eval.answers import extract, is_correct

ANSWER_REGEX = {regex!r}


def process_results(doc, results):
    pred = extract(results[0], ANSWER_REGEX)
    return {{"exact_match": float(is_correct(pred, doc["answer"], doc.get("meta") or {{}}))}}
'''


def write_task(spec: TaskSpec, out_dir: str | Path) -> Path:
    """Write an lm-eval task equivalent to ``spec`` (zero-shot) into ``out_dir/<name>/``."""
    task_dir = Path(out_dir) / spec.name
    task_dir.mkdir(parents=True, exist_ok=True)
    items = load_items(spec)
    data = task_dir / "items.jsonl"
    with open(data, "w", encoding="utf-8") as f:
        for it in items:
            if isinstance(it, MCItem):
                rec: dict[str, Any] = {"prompt": it.prompt, "choices": it.choices, "gold": it.gold}
            else:
                meta = {k: it.meta[k] for k in ("answer_minor", "currency") if k in it.meta}
                rec = {"prompt": it.prompt, "answer": it.answer, "meta": meta}
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    # A Jinja template was rendered into each item's prompt when the items were read.
    text = (
        "{{prompt}}" if is_jinja(spec.template) else spec.template.replace("{prompt}", "{{prompt}}")
    )
    lines = [
        f"task: {spec.name}",
        "dataset_path: json",
        f"dataset_kwargs:\n  data_files:\n    test: {json.dumps(str(data.resolve()))}",
        "test_split: test",
        f"doc_to_text: {json.dumps(text)}",
        f"target_delimiter: {json.dumps(spec.target_delimiter)}",
    ]
    if spec.kind == "mc":
        lines += [
            "output_type: multiple_choice",
            'doc_to_choice: "{{choices}}"',
            "doc_to_target: gold",
            "metric_list:\n  - metric: acc\n    aggregation: mean\n    higher_is_better: true"
            "\n  - metric: acc_norm\n    aggregation: mean\n    higher_is_better: true",
        ]
    else:
        (task_dir / "utils.py").write_text(_UTILS.format(regex=spec.answer_regex))
        until = json.dumps(spec.stop)
        lines += [
            "output_type: generate_until",
            'doc_to_target: "{{answer}}"',
            f"generation_kwargs:\n  until: {until}\n  do_sample: false\n"
            f"  max_gen_toks: {spec.max_tokens}",
            "process_results: !function utils.process_results",
            "metric_list:\n  - metric: exact_match\n    aggregation: mean\n"
            "    higher_is_better: true",
        ]
    (task_dir / f"{spec.name}.yaml").write_text("\n".join(lines) + "\n")
    return task_dir


def run_lm_eval(
    specs: list[TaskSpec],
    model: Any,
    model_args: str | dict | None,
    work_dir: str | Path,
    limit: int | None = None,
    samples: dict | None = None,
) -> dict[str, dict[str, float]]:
    """Run lm-eval on our tasks; ``model`` is "hf", "compass" or an lm-eval LM instance.

    Pass a dict as ``samples`` to receive lm-eval's per-item records (task -> list)."""
    import lm_eval
    from lm_eval.tasks import TaskManager

    _register()
    for spec in specs:
        write_task(spec, work_dir)
    tm = TaskManager(include_path=str(Path(work_dir).resolve()))
    out = lm_eval.simple_evaluate(
        model=model,
        model_args=model_args,
        tasks=[s.name for s in specs],
        task_manager=tm,
        num_fewshot=0,
        limit=limit,
        batch_size=8,
        device="cpu",
        log_samples=samples is not None,
        bootstrap_iters=0,
    )
    if samples is not None:
        samples.update(out.get("samples", {}))
    results = {}
    for name, res in out["results"].items():
        results[name] = {k.split(",")[0]: v for k, v in res.items() if isinstance(v, float)}
    return results


_REGISTERED = False


def _register() -> None:
    global _REGISTERED
    if _REGISTERED:
        return
    import lm_eval.models  # noqa: F401  (fills lm-eval's lazy registry before we add to it)
    from lm_eval.api.model import LM
    from lm_eval.api.registry import register_model

    @register_model("compass")
    class CompassLM(LM):
        """lm-eval model ``compass``: model_args ``checkpoint=DIR,tokenizer=DIR[,batch_size=N]``."""

        def __init__(
            self,
            checkpoint: str | None = None,
            tokenizer: str | None = None,
            backend=None,
            batch_size: int = 16,
            **_: Any,
        ):
            super().__init__()
            if backend is None:
                from compass.eval.loading import load_backend

                backend = load_backend(checkpoint, tokenizer, batch_size=int(batch_size))
            self.backend = backend

        @classmethod
        def create_from_arg_string(cls, arg_string: str, additional_config: dict | None = None):
            kwargs = dict(kv.split("=", 1) for kv in arg_string.split(",") if kv)
            return cls(**kwargs)

        def loglikelihood(self, requests):
            return self.backend.loglikelihood([r.args for r in requests])

        def loglikelihood_rolling(self, requests):
            raise NotImplementedError(
                "rolling log-likelihood (perplexity tasks) is not bridged yet"
            )

        def generate_until(self, requests):
            reqs = []
            for r in requests:
                context, kw = r.args
                until = kw.get("until", [])
                reqs.append(
                    (
                        context,
                        [until] if isinstance(until, str) else list(until),
                        int(kw.get("max_gen_toks", 256)),
                    )
                )
            return self.backend.generate_until(reqs)

    _REGISTERED = True
