"""The eight languages Compass is built for, defined once: the corpus generator, curation's
language ID, the tokenizer benchmarks, post-training data and evaluation all read this list.

ISO 639-1 codes (``tl`` is Tagalog/Filipino), in the order tables and plots show them.
"""

LANGS = ("en", "zh", "id", "ms", "th", "vi", "tl", "pt")

# Written without spaces between words: word-count rules count characters instead, repetition
# rules use character n-grams, and rendered phrases join their parts with no space.
NO_SPACE_LANGS = ("zh", "th")
