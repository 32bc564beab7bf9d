"""Generative public benchmarks → Compass items: GSM8K, Shopping MMLU and ECInstruct.

Same contract as :mod:`compass.eval.formats`: one release record in, normalised ``{"prompt",
"answer", "lang"}`` records out; a bad record names ``file:line`` and the field.
"""

from __future__ import annotations

from compass.eval.formats import Record, Skip, need
from compass.eval.records import TaskFileError


def gsm8k(rec: Record, where: str, lang: str) -> list[Record]:
    """``question`` and ``answer`` = worked solution ending in ``#### <number>``."""
    solution = str(need(rec, "answer", where))
    if "####" not in solution:
        raise TaskFileError(
            f"{where}: field 'answer' has no '#### <number>' final line (GSM8K's answer format)"
        )
    final = solution.rsplit("####", 1)[1].strip().replace(",", "")
    if not final:
        raise TaskFileError(f"{where}: field 'answer' has nothing after '####'")
    prompt = f"Question: {need(rec, 'question', where)}\nAnswer:"
    return [{"prompt": prompt, "answer": final, "lang": lang}]


def shopping_mmlu(rec: Record, where: str, lang: str) -> list[Record]:
    """Amazon KDD Cup 2024 / Shopping MMLU: ``input_field`` (the full prompt, choices included),
    ``output_field`` (the answer; an option number for multiple choice), ``task_type``.

    Multiple-choice and generation items are scored by exact match on the answer; ranking,
    retrieval and NER items need other metrics and are skipped (counted in the report)."""
    task_type = str(rec.get("task_type") or "multiple-choice")
    if rec.get("is_multiple_choice") is False and task_type == "multiple-choice":
        task_type = "generation"
    if task_type not in ("multiple-choice", "generation"):
        raise Skip(f"task_type={task_type} needs a metric other than exact match")
    prompt = str(need(rec, "input_field", where))
    answer = str(need(rec, "output_field", where)).strip()
    if not answer:
        raise TaskFileError(f"{where}: field 'output_field' is empty")
    return [{"prompt": prompt, "answer": answer, "lang": lang, "task_type": task_type}]


def ecinstruct(rec: Record, where: str, lang: str) -> list[Record]:
    """NingLab/ECInstruct: ``instruction``, ``input``, ``options`` (list or text), ``output``."""
    parts = [str(need(rec, "instruction", where)).strip(), str(rec.get("input") or "").strip()]
    options = rec.get("options")
    if isinstance(options, list) and options:
        parts.append("Options:\n" + "\n".join(str(o) for o in options))
    elif isinstance(options, str) and options.strip():
        parts.append("Options:\n" + options.strip())
    answer = str(need(rec, "output", where)).strip()
    if not answer:
        raise TaskFileError(f"{where}: field 'output' is empty")
    prompt = "\n".join(p for p in parts if p) + "\nAnswer:"
    return [{"prompt": prompt, "answer": answer, "lang": lang, "task": rec.get("task", "")}]
