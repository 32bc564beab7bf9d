"""Per-language vocabularies and templates, written natively (not translated word by word).

Each ``<lang>.py`` builds one :class:`Lexicon`. Templates are ``str.format`` strings; the slot
names each field may use are listed on the field. ``tests/data_synth`` checks every template of
every language renders with the slots the generators pass.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from functools import cache

from compass.languages import LANGS


@dataclass(frozen=True)
class Lexicon:
    lang: str
    # --- catalogue words: category key -> nouns (first is canonical), attribute keys -> words
    nouns: dict[str, tuple[str, ...]]
    colours: dict[str, str]
    materials: dict[str, str]
    labels: dict[str, str]  # brand, category, colour, material, size, spec, price, warranty, ...
    measure: dict[str, str]  # measure key -> "{n} mAh", "{n} jam", ...
    warranty: str  # "{n} months warranty"; slot n
    no_warranty: str
    # --- product pages. slots: brand model noun colour material spec size price shop city
    #     rating sold warranty stock year
    title: tuple[str, ...]  # slots: brand model noun colour material spec
    desc: tuple[str, ...]
    brand_profile: tuple[str, ...]  # slots: brand country year nouns noun
    countries: dict[str, str]  # market code -> country name
    # --- reviews. slots: noun colour material days shop name
    review_pos: tuple[str, ...]
    review_neg: tuple[str, ...]
    review_neu: tuple[str, ...]
    review_head: str  # slots: name stars title
    sentiments: dict[str, str]  # positive/negative/neutral -> word
    # --- search. slots: noun colour material brand budget
    query: tuple[str, ...]
    query_doc: str  # slots: query results (newline-joined titles)
    query_casual: tuple[str, ...]  # sloppy user queries (query rewriting), same slots
    # --- customer service. intent -> customer lines / agent lines.
    #     slots: name order days product fee threshold value attr shop
    intents: dict[str, str]  # intent -> label word
    customer: dict[str, tuple[str, ...]]
    agent: dict[str, tuple[str, ...]]
    greet: tuple[str, ...]  # agent greeting, slots: name shop
    close: tuple[str, ...]  # customer thanks / agent closing
    speaker: tuple[str, str]  # (customer, agent) labels
    # --- numerical problems: kind -> question templates; steps -> step templates; see problems.py
    problems: dict[str, tuple[str, ...]]
    steps: dict[str, str]
    answer: str  # "Answer: {value}"
    # --- general prose: sentence templates and the words that fill them
    prose: tuple[str, ...]  # slots: city food activity day weather name n
    foods: tuple[str, ...]
    activities: tuple[str, ...]
    days: tuple[str, ...]
    weather: tuple[str, ...]
    names: tuple[str, ...]
    # --- code / math documents (comments and words in the language)
    code_comments: dict[str, str]
    math_words: dict[str, str]
    # --- noise material
    boilerplate: tuple[str, ...]
    spam: tuple[str, ...]
    # --- buying guides comparing products: intro(noun n) item(title price spec rating)
    #     cheapest(title price) best(title rating) end()
    guide: dict[str, str]
    # --- evaluation prompts: task -> template (see evalgen.py for slots)
    eval_prompts: dict[str, str]
    extra: dict[str, str] = field(default_factory=dict)


@cache
def get_lexicon(lang: str) -> Lexicon:
    if lang not in LANGS:
        raise ValueError(f"no lexicon for language '{lang}': choose one of {list(LANGS)}")
    return importlib.import_module(f"compass.data.synth.lexicon.{lang}").LEXICON
