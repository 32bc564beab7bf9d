"""``compass chat``: the REPL with scripted input, the /think toggle, and the stage registration."""

from __future__ import annotations

from compass.cli import build_parser
from compass.inference import Engine, SamplingParams
from compass.inference.cli import chat_loop


def test_chat_loop_streams_answers_and_toggles_think(scripted, byte_tok):
    prompt, _ = byte_tok.render_chat([{"role": "user", "content": "hi"}], enable_thinking=False)
    engine = Engine(scripted([*byte_tok.encode("yo"), 260], len(prompt)), byte_tok, max_batch=1)
    engine.eos_ids.add(260)
    lines = iter(["hi", "/think", "/reset", "", "/exit"])
    seen_prompts, out = [], []

    def read(p: str) -> str:
        seen_prompts.append(p)
        return next(lines)

    messages = chat_loop(engine, SamplingParams(temperature=0), read, out.append)
    text = "".join(out)
    assert "assistant> yo" in text and "deep thinking on" in text
    assert (
        seen_prompts[:2] == ["[fast] you> ", "[fast] you> "] and seen_prompts[2] == "[think] you> "
    )
    assert messages == []  # /reset cleared the exchange


def test_chat_stage_is_registered():
    args = build_parser().parse_args(["chat", "ckpt", "--tokenizer", "tok", "--think"])
    assert args.checkpoint == "ckpt" and args.think and args.temperature == 0.4
