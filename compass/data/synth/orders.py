"""Order pages: an order's item list, then its packing slip naming the same items in the same order.

What forms a model's copying mechanism (induction: find the earlier occurrence of what was just
read, continue with what followed it) is text whose continuation only a look back predicts. Web
text is full of it — an order confirmation and its packing slip, a cart and its invoice — and the
rest of the built-in corpus has little: recall pages copy one short value per fact, which at 5-40%
of the documents did not form the mechanism in the tiny recipe (docs/ecommerce-sft.md §3). On an
order page the slip repeats a random draw of products, each with a random item code, so every
token of it after the first item's first is predictable only by copying from above.

The slip is one line in another layout (``title (code); ...``), not the list's lines again:
curation drops pages of duplicate lines, and copying across layouts is what retrieval needs.
A filler paragraph sits between list and slip, so the copy spans a distance. Values share
recall pages' shapes (no bare 7-digit number: the needle eval's), drawn from their own stream.
"""

from __future__ import annotations

import random

from compass.data.synth.recall import estimate_tokens, filler_paragraph, random_value
from compass.data.synth.world import World

# (header, item line, slip lead-in) per language.
_FRAMES = {
    "en": (
        "Order {num} from {shop}",
        "{i}. {title} — {code} — qty {q} × {price}",
        "Packing slip for order {num}, items in the order packed: ",
    ),
    "zh": (
        "订单 {num}，来自{shop}",
        "{i}. {title} — {code} — 数量 {q} × {price}",
        "订单 {num} 的装箱单，按装箱顺序：",
    ),
    "id": (
        "Pesanan {num} dari {shop}",
        "{i}. {title} — {code} — jumlah {q} × {price}",
        "Slip pengepakan pesanan {num}, barang sesuai urutan dikemas: ",
    ),
    "ms": (
        "Pesanan {num} daripada {shop}",
        "{i}. {title} — {code} — kuantiti {q} × {price}",
        "Slip pembungkusan pesanan {num}, barang mengikut susunan dibungkus: ",
    ),
    "th": (
        "คำสั่งซื้อ {num} จาก {shop}",
        "{i}. {title} — {code} — จำนวน {q} × {price}",
        "ใบรายการบรรจุของคำสั่งซื้อ {num} เรียงตามลำดับการบรรจุ: ",
    ),
    "vi": (
        "Đơn hàng {num} từ {shop}",
        "{i}. {title} — {code} — số lượng {q} × {price}",
        "Phiếu đóng gói đơn hàng {num}, hàng theo thứ tự đóng gói: ",
    ),
    "tl": (
        "Order {num} mula sa {shop}",
        "{i}. {title} — {code} — dami {q} × {price}",
        "Packing slip ng order {num}, mga item ayon sa pagkakaimpake: ",
    ),
    "pt": (
        "Pedido {num} de {shop}",
        "{i}. {title} — {code} — qtd {q} × {price}",
        "Guia de remessa do pedido {num}, itens na ordem embalada: ",
    ),
}
ITEMS = (2, 5)  # items per order, fewer where they do not fit
MAX_TOKENS = 220  # estimated: the page fits the main stage's 256-token sequence whole


def order_doc(world: World, lang: str, rng: random.Random) -> str:
    """Header, numbered item list, a filler paragraph where one fits, then the packing slip.

    Items are added while the page's estimated tokens stay within ``MAX_TOKENS`` (two at least):
    a page cut in two by the loader would hold a slip without its list, which teaches nothing.
    """
    header, line, lead = _FRAMES[lang]
    num = random_value("order", lang, rng)
    top = header.format(num=num, shop=rng.choice(world.shops).name)
    listed: list[str] = []
    slipped: list[str] = []
    for i, p in enumerate(rng.sample(world.products, rng.randint(*ITEMS))):
        title = world.title(p, lang, variant=rng.randrange(4))
        code = random_value("code", lang, rng)
        item = line.format(
            i=i + 1, title=title, code=code, q=rng.randint(1, 3), price=world.format_price(p, lang)
        )
        used = _tokens([top, *listed, item, lead, *slipped, title, code], lang)
        if i >= 2 and used > MAX_TOKENS:
            break
        listed.append(item)
        slipped.append(f"{title} ({code})")
    slip = lead.format(num=num) + "; ".join(slipped)
    parts = [top, "\n".join(listed)]
    for _ in range(4):  # a filler paragraph puts distance between list and slip, if one fits
        filler = filler_paragraph(world, lang, rng)
        if _tokens([*parts, filler, slip], lang) <= MAX_TOKENS:
            parts.append(filler)
            break
    return "\n\n".join([*parts, slip])


def _tokens(parts: list[str], lang: str) -> float:
    return sum(estimate_tokens(p, lang) + 1 for p in parts)
