"""Small stand-ins for tests and smoke runs: a byte-level tokenizer and a curated parquet corpus.

The corpus mimics curation's output schema (text, lang, domain, quality, dup_count, weight, id,
source). High-quality documents are templated sentences (learnable structure); low-quality
ones are near-random characters, so training on the HQ subset measurably lowers HQ loss.
"""

from __future__ import annotations

import random
from pathlib import Path

_SENTENCES = {
    "en": "the red shirt costs ten dollars and ships free to your home today with a voucher",
    "id": "baju merah ini harganya sepuluh ribu rupiah dan gratis ongkir ke rumah hari ini",
    "vi": "áo đỏ này giá mười nghìn đồng và miễn phí vận chuyển đến nhà hôm nay",
}
WORDS = {lang: s.split() for lang, s in _SENTENCES.items()}


class ByteTokenizer:
    """Bytes 0..255, then BOS=256, EOS=257; vocabulary 258 (fits every recipe's embedding)."""

    bos_id, eos_id, vocab_size = 256, 257, 258

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        return [list(t.encode("utf-8")) for t in texts]

    def decode(self, ids: list[int]) -> str:
        return bytes(i for i in ids if i < 256).decode("utf-8", errors="replace")


def _hq_text(rng: random.Random, lang: str, n_sentences: int) -> str:
    words = WORDS[lang]
    out = []
    for _ in range(n_sentences):
        start = rng.randrange(len(words) - 6)
        out.append(" ".join(words[start : start + rng.randint(4, 6)]).capitalize() + ".")
    return " ".join(out)


def _lq_text(rng: random.Random, n_chars: int) -> str:
    return "".join(rng.choice("qzxjkvbwy#@!%&0123456789 ") for _ in range(n_chars))


def make_curated(
    out_dir: str | Path, n_docs: int = 400, seed: int = 0, long_every: int = 10, n_files: int = 2
) -> Path:
    """Write ``n_files`` parquet files of curated-looking documents into ``out_dir``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = random.Random(seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    for i in range(n_docs):
        lang = rng.choice(list(WORDS))
        hq = rng.random() < 0.6
        n = rng.randint(2, 6) * (12 if long_every and i % long_every == 0 else 1)
        text = _hq_text(rng, lang, n) if hq else _lq_text(rng, 30 * n)
        rows.append(
            {
                "text": text,
                "lang": lang,
                "domain": rng.choice(["ecommerce", "general"]),
                "quality": round(rng.uniform(0.75, 1.0) if hq else rng.uniform(0.0, 0.5), 3),
                "dup_count": 1,
                "weight": 1.5 if hq else 0.8,
                "id": f"doc{seed}-{i}",
                "source": "fixture",
            }
        )
    per = (len(rows) + n_files - 1) // n_files
    for f in range(n_files):
        chunk = rows[f * per : (f + 1) * per]
        pq.write_table(pa.Table.from_pylist(chunk), out / f"part-{f:05d}.parquet")
    return out
