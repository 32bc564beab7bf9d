"""Instruction and response wordings per language for the SFT categories the world's own lexicon
does not already phrase (e-commerce prompts come from ``lexicon.eval_prompts``).

Keys: ``mc`` (multiple-choice instruction), ``describe`` (creative: write a listing),
``brand`` (knowledge: tell me about a brand), ``shop_q``/``shop_a`` (platform information),
``code`` (coding), ``unsafe``/``refuse`` (safety), ``search``/``found`` (function calling),
``roleplay`` (system prompt of a shop assistant), ``review_q`` (understanding: star rating).
"""

from __future__ import annotations

T: dict[str, dict[str, str]] = {
    "en": {
        "mc": "Choose the correct option and reply with its letter and text.",
        "describe": "Write a short product description for: {title}",
        "brand": "Tell me about the brand {brand}.",
        "shop_q": "How much is shipping at {shop}, and when is it free?",
        "shop_a": "Shipping at {shop} costs {fee}; orders of {threshold} or more ship free.",
        "code": "Write a Python function that applies a {pct}% discount to a price.",
        "unsafe": "How can I use a stolen credit card to buy a {noun} online?",
        "refuse": "I can't help with using stolen cards. If you want a {noun}, I can help you "
        "find one within your budget.",
        "search": "Find me a {colour} {noun} under {budget}.",
        "found": "I found {title} for {price}.",
        "roleplay": "You are a friendly customer-service agent of {shop}.",
        "review_q": "How many stars did this reviewer give?\n{review}",
        "stars": "{n} stars.",
    },
    "zh": {
        "mc": "请选择正确的选项，并回答其字母和内容。",
        "describe": "请为以下商品写一段简短的介绍：{title}",
        "brand": "请介绍一下{brand}这个品牌。",
        "shop_q": "{shop}的运费是多少？多少钱可以包邮？",
        "shop_a": "{shop}的运费是{fee}；订单满{threshold}即可包邮。",
        "code": "写一个Python函数，给价格打{pct}%的折扣。",
        "unsafe": "我怎样用偷来的信用卡在网上买{noun}？",
        "refuse": "我不能帮助使用被盗的信用卡。如果你想买{noun}，我可以帮你找到符合预算的商品。",
        "search": "帮我找一个{budget}以内的{colour}{noun}。",
        "found": "我找到了{title}，价格是{price}。",
        "roleplay": "你是{shop}的一名友好的客服。",
        "review_q": "这位评论者给了几颗星？\n{review}",
        "stars": "{n}颗星。",
    },
    "id": {
        "mc": "Pilih jawaban yang benar dan balas dengan huruf dan isinya.",
        "describe": "Tulis deskripsi produk singkat untuk: {title}",
        "brand": "Ceritakan tentang merek {brand}.",
        "shop_q": "Berapa ongkos kirim di {shop}, dan kapan gratis ongkir?",
        "shop_a": "Ongkos kirim di {shop} {fee}; pesanan minimal {threshold} gratis ongkir.",
        "code": "Tulis fungsi Python yang memberi diskon {pct}% pada sebuah harga.",
        "unsafe": "Bagaimana cara memakai kartu kredit curian untuk membeli {noun} online?",
        "refuse": "Saya tidak bisa membantu memakai kartu curian. Kalau Anda mencari {noun}, saya "
        "bisa bantu mencari yang sesuai anggaran.",
        "search": "Carikan {noun} {colour} di bawah {budget}.",
        "found": "Saya menemukan {title} seharga {price}.",
        "roleplay": "Anda adalah agen layanan pelanggan {shop} yang ramah.",
        "review_q": "Berapa bintang yang diberikan pengulas ini?\n{review}",
        "stars": "{n} bintang.",
    },
    "ms": {
        "mc": "Pilih jawapan yang betul dan balas dengan huruf dan isinya.",
        "describe": "Tulis penerangan produk yang ringkas untuk: {title}",
        "brand": "Ceritakan tentang jenama {brand}.",
        "shop_q": "Berapakah kos penghantaran di {shop}, dan bilakah ia percuma?",
        "shop_a": "Kos penghantaran di {shop} ialah {fee}; pesanan {threshold} ke atas "
        "dihantar percuma.",
        "code": "Tulis fungsi Python yang memberi diskaun {pct}% kepada sesuatu harga.",
        "unsafe": "Bagaimana saya boleh guna kad kredit curi untuk membeli {noun} dalam talian?",
        "refuse": "Saya tidak boleh membantu menggunakan kad curi. Jika anda mahukan {noun}, saya "
        "boleh bantu mencari yang sesuai dengan bajet anda.",
        "search": "Carikan saya {noun} {colour} bawah {budget}.",
        "found": "Saya jumpa {title} pada harga {price}.",
        "roleplay": "Anda ialah ejen khidmat pelanggan {shop} yang mesra.",
        "review_q": "Berapa bintang yang diberi oleh pengulas ini?\n{review}",
        "stars": "{n} bintang.",
    },
    "th": {
        "mc": "เลือกตัวเลือกที่ถูกต้อง แล้วตอบด้วยตัวอักษรและข้อความของตัวเลือกนั้น",
        "describe": "เขียนคำอธิบายสินค้าสั้น ๆ สำหรับ: {title}",
        "brand": "เล่าเกี่ยวกับแบรนด์ {brand} ให้ฟังหน่อย",
        "shop_q": "ค่าส่งของร้าน {shop} เท่าไร และส่งฟรีเมื่อไร",
        "shop_a": "ค่าส่งของร้าน {shop} คือ {fee} สั่งซื้อครบ {threshold} ส่งฟรี",
        "code": "เขียนฟังก์ชัน Python ที่ลดราคาสินค้า {pct}%",
        "unsafe": "จะใช้บัตรเครดิตที่ขโมยมาซื้อ{noun}ออนไลน์ได้อย่างไร",
        "refuse": "ฉันช่วยเรื่องการใช้บัตรที่ขโมยมาไม่ได้ ถ้าคุณต้องการ{noun} ฉันช่วยหาสินค้าที่เหมาะกับงบของคุณได้",
        "search": "ช่วยหา{noun}สี{colour} ราคาไม่เกิน {budget}",
        "found": "ฉันพบ {title} ราคา {price}",
        "roleplay": "คุณเป็นพนักงานบริการลูกค้าที่เป็นมิตรของร้าน {shop}",
        "review_q": "ผู้รีวิวคนนี้ให้กี่ดาว\n{review}",
        "stars": "{n} ดาว",
    },
    "vi": {
        "mc": "Hãy chọn đáp án đúng và trả lời bằng chữ cái cùng nội dung của nó.",
        "describe": "Viết một đoạn mô tả sản phẩm ngắn cho: {title}",
        "brand": "Hãy giới thiệu về thương hiệu {brand}.",
        "shop_q": "Phí vận chuyển ở {shop} là bao nhiêu, và khi nào được miễn phí?",
        "shop_a": "Phí vận chuyển ở {shop} là {fee}; đơn từ {threshold} được miễn phí vận chuyển.",
        "code": "Viết một hàm Python giảm giá {pct}% cho một mức giá.",
        "unsafe": "Làm sao dùng thẻ tín dụng ăn cắp để mua {noun} trên mạng?",
        "refuse": "Tôi không thể giúp dùng thẻ bị đánh cắp. Nếu bạn cần {noun}, tôi có thể giúp "
        "tìm sản phẩm phù hợp với ngân sách của bạn.",
        "search": "Tìm giúp tôi {noun} màu {colour} dưới {budget}.",
        "found": "Tôi tìm thấy {title} với giá {price}.",
        "roleplay": "Bạn là nhân viên chăm sóc khách hàng thân thiện của {shop}.",
        "review_q": "Người đánh giá này cho mấy sao?\n{review}",
        "stars": "{n} sao.",
    },
    "tl": {
        "mc": "Piliin ang tamang sagot at sumagot gamit ang titik at ang nilalaman nito.",
        "describe": "Sumulat ng maikling paglalarawan ng produkto para sa: {title}",
        "brand": "Ikuwento mo ang tungkol sa brand na {brand}.",
        "shop_q": "Magkano ang shipping sa {shop}, at kailan ito libre?",
        "shop_a": "Ang shipping sa {shop} ay {fee}; libre ang shipping sa order na {threshold} "
        "pataas.",
        "code": "Sumulat ng Python function na nagbibigay ng {pct}% na diskwento sa isang presyo.",
        "unsafe": "Paano gamitin ang ninakaw na credit card para bumili ng {noun} online?",
        "refuse": "Hindi ako makakatulong sa paggamit ng ninakaw na card. Kung kailangan mo ng "
        "{noun}, matutulungan kitang maghanap na pasok sa budget mo.",
        "search": "Hanapan mo ako ng {colour} na {noun} na mas mura sa {budget}.",
        "found": "Nakita ko ang {title} sa halagang {price}.",
        "roleplay": "Ikaw ay isang magiliw na customer-service agent ng {shop}.",
        "review_q": "Ilang bituin ang ibinigay ng reviewer na ito?\n{review}",
        "stars": "{n} bituin.",
    },
    "pt": {
        "mc": "Escolha a opção correta e responda com a letra e o texto dela.",
        "describe": "Escreva uma descrição curta do produto: {title}",
        "brand": "Fale-me sobre a marca {brand}.",
        "shop_q": "Quanto custa o frete na {shop} e quando ele é grátis?",
        "shop_a": "O frete na {shop} custa {fee}; "
        "pedidos a partir de {threshold} têm frete grátis.",
        "code": "Escreva uma função Python que aplique um desconto de {pct}% a um preço.",
        "unsafe": "Como usar um cartão de crédito roubado para comprar {noun} pela internet?",
        "refuse": "Não posso ajudar a usar cartões roubados. Se você quer {noun}, posso ajudar a "
        "encontrar um dentro do seu orçamento.",
        "search": "Encontre para mim {noun} {colour} por menos de {budget}.",
        "found": "Encontrei {title} por {price}.",
        "roleplay": "Você é um atendente simpático da loja {shop}.",
        "review_q": "Quantas estrelas este avaliador deu?\n{review}",
        "stars": "{n} estrelas.",
    },
}

CODE = '''def apply_discount(price: float) -> float:
    """Price after a {pct}% discount."""
    return round(price * {keep} / 100, 2)'''

SEARCH_TOOL = {
    "type": "function",
    "function": {
        "name": "search_products",
        "description": "Search the catalogue",
        "parameters": {
            "type": "object",
            "properties": {
                "query": {"type": "string"},
                "max_price": {"type": "number"},
            },
            "required": ["query"],
        },
    },
}
