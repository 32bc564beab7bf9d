"""Fixtures: a small multilingual corpus (8 languages, code-switching, code) and tiny tokenizers.

The text is hand-written sentence material recombined by a seeded generator, so tests need no
downloads and stay fast; tokenizers trained here use small vocabularies.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

SENTENCES = {
    "en": [
        "Free shipping on all orders over $50 this weekend only.",
        "The battery lasts about ten hours and charges in ninety minutes.",
        "I ordered the blue one but received a red phone case instead.",
        "Can I return these running shoes if they don't fit?",
        "Customers who bought this item also bought wireless earbuds.",
    ],
    "zh": [
        "这款手机壳质量很好，物流也很快。",
        "请问这件衣服有没有大码？",
        "满两百元包邮，今天下单明天发货。",
        "我收到的商品和图片不一样，想申请退款。",
        "这家店的客服态度非常好，推荐购买。",
    ],
    "id": [
        "Barang sudah sampai dengan selamat, terima kasih kak!",
        "Apakah sepatu ini tersedia dalam ukuran 42?",
        "Pengiriman gratis untuk pembelian di atas Rp100.000.",
        "Kualitasnya bagus sekali, sesuai dengan deskripsi.",
        "Saya ingin mengembalikan produk yang rusak ini.",
    ],
    "ms": [
        "Barang diterima dalam keadaan baik, terima kasih penjual.",
        "Adakah baju ini ada saiz yang lebih besar?",
        "Penghantaran percuma untuk pembelian melebihi RM50.",
        "Saya sangat berpuas hati dengan kualiti produk ini.",
        "Bilakah pesanan saya akan dihantar?",
    ],
    "th": [
        "สินค้าคุณภาพดีมาก ส่งของรวดเร็ว ขอบคุณค่ะ",
        "เสื้อตัวนี้มีไซส์ใหญ่กว่านี้ไหมครับ",
        "ส่งฟรีเมื่อซื้อครบ 500 บาท",
        "ได้รับสินค้าไม่ตรงกับที่สั่ง ต้องการคืนเงิน",
        "แบตเตอรี่ใช้งานได้นานทั้งวัน",
    ],
    "vi": [
        "Sản phẩm chất lượng tốt, giao hàng nhanh, cảm ơn shop!",
        "Áo này có size lớn hơn không ạ?",
        "Miễn phí vận chuyển cho đơn hàng trên 200.000đ.",
        "Tôi muốn đổi trả sản phẩm bị lỗi này.",
        "Điện thoại dùng rất mượt, pin trâu.",
    ],
    "tl": [
        "Maganda ang kalidad ng produkto, salamat po!",
        "Mayroon po bang mas malaking sukat nito?",
        "Libreng pagpapadala para sa mga order na higit sa ₱500.",
        "Gusto ko pong ibalik ang sirang item na ito.",
        "Mabilis dumating ang order ko, maraming salamat.",
    ],
    "pt": [
        "O produto chegou rápido e em perfeito estado, obrigado!",
        "Vocês têm este tênis no tamanho 42?",
        "Frete grátis para compras acima de R$150.",
        "Quero devolver o item com defeito, como faço?",
        "A bateria dura o dia inteiro, recomendo muito.",
    ],
}
LANGS = sorted(SENTENCES)
EXTRAS = ["😀", "👍🏽", "🇹🇭", "#1", "100%", "v2.0", "(x)", "—", "…", "ℹ️", "e\u0301", "a\u0300"]


def make_line(rng: random.Random, lang: str) -> str:
    """One line: 1-3 sentences of ``lang``, sometimes with numbers, prices, emoji or
    code-switching."""
    parts = [rng.choice(SENTENCES[lang]) for _ in range(rng.randint(1, 3))]
    if rng.random() < 0.3:
        parts.append(str(rng.randint(0, 10 ** rng.randint(1, 7))))
    if rng.random() < 0.2:
        parts.append(rng.choice(EXTRAS))
    if rng.random() < 0.15:
        parts.append(rng.choice(SENTENCES[rng.choice(LANGS)]))
    sep = "" if lang == "zh" and rng.random() < 0.5 else " "
    return sep.join(parts)


def make_docs(n_per_lang: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    docs = []
    for lang in LANGS:
        for _ in range(n_per_lang):
            lines = [make_line(rng, lang) for _ in range(rng.randint(1, 4))]
            docs.append({"text": "\n".join(lines), "lang": lang})
    code = "def total(items):\n    return sum(i.price * i.qty for i in items)  # {n}\n"
    docs += [{"text": code.format(n=i), "lang": "en"} for i in range(n_per_lang // 10)]
    return docs


def write_jsonl(path: Path, docs: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
    return path


@pytest.fixture(scope="session")
def corpus_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("tok_corpus")
    docs = make_docs(300, seed=1)
    write_jsonl(d / "docs" / "part-0.jsonl", docs[::2])
    write_jsonl(d / "docs" / "part-1.jsonl", docs[1::2])
    return d


@pytest.fixture(scope="session")
def test_lines() -> list[str]:
    """>= 5,000 held-out lines: every language, code-switched lines and adversarial strings."""
    rng = random.Random(99)
    lines = [make_line(rng, lang) for lang in LANGS for _ in range(600)]
    mixed = [" ".join(make_line(rng, rng.choice(LANGS)) for _ in range(3)) for _ in range(400)]
    return lines + mixed + [scrambled(rng) for _ in range(1000)] + ADVERSARIAL


def scrambled(rng: random.Random) -> str:
    """Words and characters of random languages shuffled: segmentations the training never saw."""
    words = [w for lang in rng.sample(LANGS, 3) for s in SENTENCES[lang] for w in s.split()]
    out = []
    for w in rng.sample(words, rng.randint(3, 12)):
        if rng.random() < 0.3:
            chars = list(w)
            rng.shuffle(chars)
            w = "".join(chars)
        out.append(w * rng.randint(1, 2))
    return rng.choice([" ", "", "  ", "\n"]).join(out)


ADVERSARIAL = [
    "",
    " ",
    "  leading and trailing  ",
    "\t\ttabs\tand\nnewlines\n\n\r\n",
    "e\u0301 vs é; Tiếng Việt có dấu: ắ ằ ẳ ẵ ặ ừ ữ ự",
    "ภาษาไทยไม่มีช่องว่างระหว่างคำ เช่น กำลังซื้อสินค้าออนไลน์",
    "混合 text 中文 English ไทย Việt 123 mixed",
    "emoji 👨‍👩‍👧‍👦 🏳️‍🌈 👍🏽 family ZWJ",
    "zero\u200bwidth\u200cjoiner\u200d and BOM \ufeff here",
    "ﬁ ligature, fullwidth ＡＢＣ１２３, NBSP\u00a0x, ideographic\u3000space",
    'def f(x):\n    return {"a": [1, 2, 3]}  # comment\n\tif x != 0: pass',
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "------------------------------======================....!!!!!",
    "hahahahahahahahahaha 55555555555 ๕๕๕๕๕ 哈哈哈哈哈哈",
    "<think> not special in data? </think> <|im_start|> user",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 math 𝑥² + 𝑦² = 𝑧² and private use \ue000\U000f0000",
    "Ꙭ ꙮ ᚠᛇᚻ 𓀀 ∮ E⋅da = Q,  n → ∞",
]


@pytest.fixture(scope="session")
def tiny_tok_dir(tmp_path_factory, corpus_dir) -> Path:
    """A single-group tokenizer trained on the fixture corpus."""
    from compass.tokenizer.build import train_tokenizer
    from compass.tokenizer.config import TokenizerConfig

    out = tmp_path_factory.mktemp("tok_single")
    train_tokenizer(TokenizerConfig(vocab_size=1024), [str(corpus_dir)], out)
    return out


@pytest.fixture(scope="session")
def merged_tok_dir(tmp_path_factory, corpus_dir) -> Path:
    """Three sub-tokenizers merged like the report's recipe, at toy sizes."""
    from compass.tokenizer.build import train_tokenizer
    from compass.tokenizer.config import TokenizerConfig

    out = tmp_path_factory.mktemp("tok_merged")
    cfg = TokenizerConfig(
        vocab_size=1400,
        groups="zh+en+id+ms+pt+tl+th+vi:1000;en+pt:500;zh:500",
    )
    train_tokenizer(cfg, [str(corpus_dir)], out)
    return out
