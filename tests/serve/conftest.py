"""A scripted fake engine for the HTTP layer's tests (the real engine is tested end to end in
test_serve_engine_e2e.py). One character = one token, except ``<think>`` and ``</think>``, which
are one special token each as in the Compass tokenizer; replies are fixed per think mode. The
reasoning split is the real engine's (``ThinkParser`` over
``inference.reasoning.ThinkSplitter``)."""

from __future__ import annotations

import math
import random
import re
import time

import pytest
from fastapi.testclient import TestClient

from compass.serve.app import create_app
from compass.serve.backend import Delta, GenParams, TokenLogprob
from compass.serve.config import ServeConfig
from compass.serve.engine_adapter import ThinkParser

THINK_REPLY = "<think>คิดก่อน: 2+2</think>คำตอบคือ 4"
PLAIN_REPLY = "Xin chào! 你好 สวัสดี"
SPECIALS = {0x2FFF0: "<think>", 0x2FFF1: "</think>"}
SPECIAL_IDS = {text: i for i, text in SPECIALS.items()}


class FakeBackend:
    model_name = "fake-model"
    max_model_len = 4096
    vocab_size = 0x30000
    eos_id = 0
    think_start_id, think_end_id = SPECIAL_IDS["<think>"], SPECIAL_IDS["</think>"]

    def __init__(self, step_delay_s: float = 0.0, reply: str | None = None):
        self.step_delay_s = step_delay_s
        self.reply = reply
        self.active: dict[str, dict] = {}
        self.added = 0
        self.aborted: list[str] = []

    def encode(self, text: str) -> list[int]:
        parts = re.split("(</?think>)", text)
        return [i for p in parts for i in ([SPECIAL_IDS[p]] if p in SPECIAL_IDS else map(ord, p))]

    def decode(self, ids: list[int], skip_special: bool = False) -> str:
        return "".join(
            ("" if skip_special else SPECIALS[i]) if i in SPECIALS else chr(i) for i in ids
        )

    def render_chat(self, messages: list[dict], enable_thinking: bool) -> list[int]:
        if any(m["role"] not in ("system", "user", "assistant", "tool") for m in messages):
            raise ValueError("unknown role")
        text = "".join(f"<|{m['role']}|>{m['content']}\n" for m in messages) + "<|assistant|>"
        return self.encode(text + ("\x01" if enable_thinking else ""))

    def reasoning_parser(self, prompt_ids, enable_thinking, stop):
        return ThinkParser(self, {self.eos_id}, prompt_ids, stop)

    def add(self, request_id: str, prompt_ids: list[int], params: GenParams) -> None:
        thinking = prompt_ids[-1] == 1
        reply = self.reply or (THINK_REPLY if thinking else PLAIN_REPLY)
        if params.temperature > 0 and params.seed is not None:
            rng = random.Random(params.seed)
            reply = "".join(rng.choice("abcdefgh") for _ in range(len(reply)))
        for s in params.stop:
            if s in reply:
                reply, stopped = reply[: reply.index(s)], True
                break
        else:
            stopped = False
        self.active[request_id] = {
            "left": self.encode(reply),
            "p": params,
            "n": len(prompt_ids),
            "out": 0,
            "stopped": stopped,
        }
        self.added += 1

    def abort(self, request_id: str) -> None:
        if self.active.pop(request_id, None) is not None:
            self.aborted.append(request_id)

    def has_work(self) -> bool:
        return bool(self.active)

    def step(self) -> list[Delta]:
        if self.step_delay_s:
            time.sleep(self.step_delay_s)
        out = []
        for rid, st in list(self.active.items()):
            p: GenParams = st["p"]
            ids, st["left"] = st["left"][:1], st["left"][1:]
            ch = self.decode(ids)
            st["out"] += len(ids)
            lps = None
            if p.logprobs is not None and ids:
                top = [(ch, -math.log(2)), ("?", -1.5)][: p.logprobs]
                lps = [TokenLogprob(ch, -math.log(2), top, ids[0])]
            finished = not st["left"] or st["out"] >= p.max_tokens
            reason = (
                (
                    "stop"
                    if (not st["left"] and (st["stopped"] or st["out"] < p.max_tokens))
                    else "length"
                )
                if finished
                else None
            )
            out.append(Delta(rid, ids, ch, finished, reason, lps, st["n"], st["out"]))
            if finished:
                del self.active[rid]
        return out

    def prompt_logprobs(self, ids: list[int], top_n: int) -> list[TokenLogprob | None]:
        return [None] + [
            TokenLogprob(chr(t), -0.5 - 0.01 * i, [(chr(t), -0.5 - 0.01 * i)], t)
            for i, t in enumerate(ids[1:])
        ]


@pytest.fixture
def fake_backend() -> FakeBackend:
    return FakeBackend()


@pytest.fixture
def make_client():
    clients = []

    def make(backend=None, keys=None, **cfg) -> TestClient:
        app = create_app(backend or FakeBackend(), ServeConfig(**cfg), keys)
        c = TestClient(app, raise_server_exceptions=False)
        c.__enter__()
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.__exit__(None, None, None)


E2E_KEY = "sk-compass-e2e-key"
E2E_LANG_LINES = {
    "en": "Free shipping on all orders over $50. The battery lasts ten hours.",
    "th": "สินค้าคุณภาพดีมาก ส่งของรวดเร็ว ขอบคุณค่ะ เสื้อตัวนี้มีไซส์ใหญ่กว่านี้ไหมครับ",
    "vi": "Sản phẩm chất lượng tốt, giao hàng nhanh, cảm ơn shop! Áo này có size lớn hơn không ạ?",
    "zh": "这款手机壳质量很好，物流也很快。请问这件衣服有没有大码？",
    "id": "Barang sudah sampai dengan selamat, terima kasih kak!",
}


@pytest.fixture(scope="session")
def e2e_artifacts(tmp_path_factory):
    """A random-init micro model saved by compass.model.io and a tiny trained Compass tokenizer."""
    import json

    import torch

    from compass.model.io import save_model
    from compass.model.transformer import CompassModel
    from compass.recipes import get_recipe
    from compass.tokenizer.build import train_tokenizer
    from compass.tokenizer.config import TokenizerConfig

    root = tmp_path_factory.mktemp("serve_e2e")
    docs = root / "docs"
    docs.mkdir()
    with open(docs / "part-0.jsonl", "w", encoding="utf-8") as f:
        for i in range(40):
            for lang, text in E2E_LANG_LINES.items():
                f.write(
                    json.dumps({"text": f"{text} {i}", "lang": lang}, ensure_ascii=False) + "\n"
                )
    train_tokenizer(TokenizerConfig(vocab_size=512), [str(docs)], root / "tokenizer")
    torch.manual_seed(0)
    config = get_recipe("micro").model
    config.vocab_size = 512  # = the tokenizer's: a random model must only emit decodable ids
    model = CompassModel(config)
    model.init_weights(0)
    save_model(model, root / "ckpt")
    return root / "ckpt", root / "tokenizer"


@pytest.fixture(scope="session")
def engine_backend(e2e_artifacts):
    from compass.serve.engine_adapter import EngineBackend

    ckpt, tok = e2e_artifacts
    return EngineBackend.from_checkpoint(ckpt, tok, model_name="micro", max_batch=8)


@pytest.fixture(scope="session")
def live_server(engine_backend):
    """The real engine behind uvicorn on 127.0.0.1, with one API key."""
    from compass.serve.server import BackgroundServer

    app = create_app(
        engine_backend,
        ServeConfig(max_concurrent=8, max_queue=8, max_new_tokens=64, max_body_bytes=200_000),
        {E2E_KEY: "e2e"},
    )
    with BackgroundServer(app) as url:
        yield url, app
