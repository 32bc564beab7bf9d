"""Public benchmark records → Compass items, read in each release's own field names.

A converter takes one record (plus where it came from and the task's default language) and returns
normalised records: ``{"prompt", "choices", "answer", "lang"}`` for multiple choice (answer = index)
or ``{"prompt", "answer", "lang"}`` for generative tasks. Prompts follow lm-evaluation-harness's
task definitions so scores are comparable with published lm-eval numbers. A bad record raises
:class:`TaskFileError` naming ``file:line`` and the release's field; a record the task cannot
score (e.g. a Shopping MMLU ranking item) raises :class:`Skip`, which the loader counts and reports.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Callable
from typing import Any

from compass.eval.records import TaskFileError

Record = dict[str, Any]
Converter = Callable[[Record, str, str], list[Record]]
LETTERS = "ABCDEFGHIJ"


class Skip(Exception):
    """This record is not scored by this task; the reason is counted and reported."""


def need(rec: Record, name: str, where: str) -> Any:
    if name not in rec or rec[name] is None:
        raise TaskFileError(
            f"{where}: field '{name}' is missing (fields present: {sorted(rec)}); is this file in "
            "the benchmark's released format? See docs/eval-tasks.md"
        )
    return rec[name]


def need_list(rec: Record, name: str, where: str) -> list:
    value = need(rec, name, where)
    if not isinstance(value, list) or not value:
        raise TaskFileError(f"{where}: field '{name}' must be a non-empty list, got {value!r}")
    return value


def need_index(value: Any, n: int, name: str, where: str, base: int = 0) -> int:
    """An answer key as an index: ints (``base`` = 1 for 1-based keys), digit strings or letters."""
    key = value.strip() if isinstance(value, str) else value
    if isinstance(key, str) and key.isdigit():
        key = int(key)
    elif isinstance(key, str) and len(key) == 1 and key.upper() in LETTERS:
        key, base = LETTERS.index(key.upper()), 0
    if isinstance(key, bool) or not isinstance(key, int) or not 0 <= key - base < n:
        raise TaskFileError(
            f"{where}: field '{name}'={value!r} is not an answer among the {n} choices"
            + (" (keys are 1-based here)" if base else "")
        )
    return key - base


def lettered(question: str, choices: list[str], sep: str = ". ") -> str:
    return question + "".join(f"\n{LETTERS[i]}{sep}{c}" for i, c in enumerate(choices))


def mc(prompt: str, choices: list, answer: int, lang: str) -> list[Record]:
    return [
        {"prompt": prompt, "choices": [str(c) for c in choices], "answer": answer, "lang": lang}
    ]


# --- commonsense and reading comprehension ---------------------------------------------------

# lm-eval's XCOPA connectors ("because" for cause questions, "therefore" for effect questions).
XCOPA_CONNECTORS = {
    "en": ("because", "therefore"),
    "et": ("sest", "seetõttu"),
    "ht": ("poukisa", "donk sa"),
    "id": ("karena", "maka"),
    "it": ("perché", "quindi"),
    "qu": ("imataq", "chaymi"),
    "sw": ("kwa sababu", "kwa hiyo"),
    "ta": ("காரணமாக", "எனவே"),
    "th": ("เพราะ", "ดังนั้น"),
    "tr": ("çünkü", "bu yüzden"),
    "vi": ("bởi vì", "vì vậy"),
    "zh": ("因为", "所以"),
}


def xcopa(rec: Record, where: str, lang: str) -> list[Record]:
    kind = need(rec, "question", where)
    if kind not in ("cause", "effect"):
        raise TaskFileError(f"{where}: field 'question'={kind!r} must be 'cause' or 'effect'")
    because, therefore = XCOPA_CONNECTORS.get(lang, XCOPA_CONNECTORS["en"])
    premise = str(need(rec, "premise", where)).strip()
    prompt = premise[:-1] + " " + (because if kind == "cause" else therefore)
    choices = [str(need(rec, f, where)) for f in ("choice1", "choice2")]
    choices = [c[:1].lower() + c[1:] for c in choices]
    return mc(prompt, choices, need_index(need(rec, "label", where), 2, "label", where), lang)


def _hellaswag_clean(text: str) -> str:
    text = text.strip().replace(" [title]", ". ")
    return re.sub(r"\[.*?\]", "", text).replace("  ", " ")


def hellaswag(rec: Record, where: str, lang: str) -> list[Record]:
    endings = need_list(rec, "endings", where)
    if "ctx_a" in rec:
        ctx = str(rec["ctx_a"]) + " " + str(rec.get("ctx_b") or "").capitalize()
    else:
        ctx = str(need(rec, "ctx", where))
    prompt = _hellaswag_clean(str(rec.get("activity_label") or "") + ": " + ctx)
    gold = need_index(need(rec, "label", where), len(endings), "label", where)
    return mc(prompt, [_hellaswag_clean(str(e)) for e in endings], gold, lang)


def _labelled_choices(rec: Record, where: str) -> tuple[str, list[str], list[str]]:
    """ARC / OpenBookQA: HF shape ``choices: {text, label}`` or the release's ``question: {stem,
    choices: [{text, label}]}``. Returns (stem, texts, labels)."""
    q = need(rec, "question_stem" if "question_stem" in rec else "question", where)
    if isinstance(q, dict):
        stem, raw = str(need(q, "stem", where + " question")), q.get("choices")
        if not isinstance(raw, list) or not raw:
            raise TaskFileError(f"{where}: field 'question.choices' must be a non-empty list")
        texts, labels = [str(c.get("text", "")) for c in raw], [str(c.get("label")) for c in raw]
    else:
        choices = need(rec, "choices", where)
        if not isinstance(choices, dict) or not choices.get("text"):
            raise TaskFileError(
                f"{where}: field 'choices' must be {{'text': [...], 'label': [...]}} with at "
                f"least one choice, got {choices!r}"
            )
        stem, texts = str(q), [str(t) for t in choices["text"]]
        labels = [str(x) for x in choices.get("label") or LETTERS[: len(texts)]]
    return stem, texts, labels


def _answer_key(rec: Record, labels: list[str], where: str) -> int:
    key = str(need(rec, "answerKey", where)).strip()
    if key not in labels:
        raise TaskFileError(f"{where}: field 'answerKey'={key!r} is not one of the labels {labels}")
    return labels.index(key)


def arc(rec: Record, where: str, lang: str) -> list[Record]:
    stem, texts, labels = _labelled_choices(rec, where)
    return mc(f"Question: {stem}\nAnswer:", texts, _answer_key(rec, labels, where), lang)


def openbookqa(rec: Record, where: str, lang: str) -> list[Record]:
    stem, texts, labels = _labelled_choices(rec, where)
    return mc(stem, texts, _answer_key(rec, labels, where), lang)


def belebele(rec: Record, where: str, lang: str) -> list[Record]:
    choices = [str(need(rec, f"mc_answer{i}", where)) for i in range(1, 5)]
    prompt = lettered(
        f"P: {need(rec, 'flores_passage', where)}\nQ: {str(need(rec, 'question', where)).strip()}",
        choices,
        ": ",
    )
    gold = need_index(need(rec, "correct_answer_num", where), 4, "correct_answer_num", where, 1)
    return mc(prompt + "\nAnswer:", list(LETTERS[:4]), gold, lang or str(rec.get("dialect") or ""))


def xstorycloze(rec: Record, where: str, lang: str) -> list[Record]:
    if "InputSentence1" in rec:  # the original Story Cloze CSV header
        names = [f"InputSentence{i}" for i in range(1, 5)]
        quiz, key = ["RandomFifthSentenceQuiz1", "RandomFifthSentenceQuiz2"], "AnswerRightEnding"
    else:
        names = [f"input_sentence_{i}" for i in range(1, 5)]
        quiz, key = ["sentence_quiz1", "sentence_quiz2"], "answer_right_ending"
    prompt = " ".join(str(need(rec, n, where)) for n in names)
    choices = [str(need(rec, q, where)) for q in quiz]
    return mc(prompt, choices, need_index(need(rec, key, where), 2, key, where, base=1), lang)


def boolq(rec: Record, where: str, lang: str) -> list[Record]:
    if "label" in rec:  # SuperGLUE shape
        gold = need_index(rec["label"], 2, "label", where)
    else:
        answer = need(rec, "answer", where)
        if not isinstance(answer, bool) and str(answer).lower() not in ("true", "false"):
            raise TaskFileError(f"{where}: field 'answer'={answer!r} must be true or false")
        gold = int(answer is True or str(answer).lower() == "true")
    prompt = f"{need(rec, 'passage', where)}\nQuestion: {need(rec, 'question', where)}?\nAnswer:"
    return mc(prompt, ["no", "yes"], gold, lang)


def race(rec: Record, where: str, lang: str) -> list[Record]:
    article = str(need(rec, "article", where))
    if "questions" in rec:  # the release: one article with parallel question/option/answer lists
        qs, opts, keys = (need_list(rec, f, where) for f in ("questions", "options", "answers"))
        rows = zip(qs, opts, keys)
    else:  # Hugging Face: one question a record
        rows = [(need(rec, "question", where), need_list(rec, "options", where), rec.get("answer"))]
    out = []
    for q, options, key in rows:
        if not isinstance(options, list) or not options:
            raise TaskFileError(f"{where}: field 'options' must hold non-empty lists of choices")
        gold = need_index(key, len(options), "answer", where)
        out += mc(f"Article: {article}\n\nQuestion: {q}\nAnswer:", options, gold, lang)
    return out


# --- knowledge and bias ----------------------------------------------------------------------


def mmlu(rec: Record, where: str, lang: str) -> list[Record]:
    """cais/mmlu (``question, choices, answer``), the original CSVs / OpenAI MMMLU translations
    (``Question, A..D, Answer``) and Global-MMLU (``question, option_a..option_d, answer``)."""
    if "choices" in rec:
        question, choices = need(rec, "question", where), need_list(rec, "choices", where)
        key = "answer"
    elif "Question" in rec:
        question, key = rec["Question"], "Answer"
        choices = [need(rec, x, where) for x in "ABCD"]
    else:
        question, key = need(rec, "question", where), "answer"
        choices = [need(rec, f"option_{x}", where) for x in "abcd"]
    gold = need_index(need(rec, key, where), len(choices), key, where)
    prompt = lettered(str(question).strip(), [str(c) for c in choices]) + "\nAnswer:"
    return mc(prompt, list(LETTERS[: len(choices)]), gold, lang)


def gpqa(rec: Record, where: str, lang: str) -> list[Record]:
    right = str(need(rec, "Correct Answer", where)).strip()
    wrong = [str(need(rec, f"Incorrect Answer {i}", where)).strip() for i in (1, 2, 3)]
    question = str(need(rec, "Question", where)).strip()
    # The release lists the right answer first; shuffle with a seed from the question so the
    # order is the same on every run and machine.
    choices = [right, *wrong]
    random.Random(int(hashlib.sha256(question.encode()).hexdigest()[:16], 16)).shuffle(choices)
    prompt = f"What is the correct answer to this question:{question}\nChoices:"
    prompt += "".join(f"\n({LETTERS[i]}) {c}" for i, c in enumerate(choices)) + "\nAnswer:"
    return mc(prompt, [f"({x})" for x in LETTERS[:4]], choices.index(right), lang)


_PRONOUNS = {
    "male": ("he", "his", "him"),
    "female": ("she", "her", "hers"),
    "neutral": ("they", "their", "them"),
}


def winogender(rec: Record, where: str, lang: str) -> list[Record]:
    """lm-eval's HF shape (``sentence, pronoun, occupation, participant, label``) or the release's
    ``all_sentences.tsv`` (``sentid`` = occupation.participant.answer.gender.txt, ``sentence``)."""
    sentence = str(need(rec, "sentence", where))
    if "occupation" in rec:
        occupation, participant = rec["occupation"], need(rec, "participant", where)
        pronoun = str(need(rec, "pronoun", where))
        if "label" in rec:
            gold = need_index(rec["label"], 2, "label", where)
        else:
            gold = int(need(rec, "target", where) != occupation)
    else:
        parts = str(need(rec, "sentid", where)).split(".")
        if len(parts) < 4 or parts[3] not in _PRONOUNS:
            raise TaskFileError(
                f"{where}: field 'sentid'={rec['sentid']!r} is not "
                "occupation.participant.answer.gender(.txt)"
            )
        occupation, participant = parts[0], parts[1]
        gold = need_index(parts[2], 2, "sentid (answer part)", where)
        words = re.findall(r"\w+", sentence.lower())
        pronoun = next((p for p in _PRONOUNS[parts[3]] if p in words), _PRONOUNS[parts[3]][0])
    prompt = f"{sentence} ‘{pronoun.capitalize()}’ refers to the"
    return mc(prompt, [str(occupation), str(participant)], gold, lang)
