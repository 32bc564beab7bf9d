"""``compass chat CKPT``: an interactive terminal chat, streaming, with a ``/think`` toggle.

Sampling defaults to the report's settings (§7.1); every one can be overridden by a flag.
Commands inside the chat: /think (toggle deep thinking), /reset (forget the conversation),
/exit. The reasoning of deep mode is shown dimmed before the answer.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable

from compass.inference.engine import Engine
from compass.inference.params import SamplingParams
from compass.tokenizer.locate import tokenizer_for

log = logging.getLogger(__name__)
DIM, RESET = "\033[2m", "\033[0m"
HELP = "commands: /think toggles deep thinking, /reset forgets the conversation, /exit quits"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("chat", help="interactive terminal chat", description=__doc__)
    p.add_argument("checkpoint", help="checkpoint dir or run dir with a 'latest' pointer")
    p.add_argument("--tokenizer", help="tokenizer dir (default: the one beside the checkpoint)")
    p.add_argument("--think", action="store_true", help="start in deep-thinking mode")
    p.add_argument("--system", help="system prompt")
    d = SamplingParams.report_defaults()
    p.add_argument("--temperature", type=float, default=d.temperature)
    p.add_argument("--top-k", type=int, default=d.top_k)
    p.add_argument("--top-p", type=float, default=d.top_p)
    p.add_argument("--repetition-penalty", type=float, default=d.repetition_penalty)
    p.add_argument("--max-tokens", type=int, default=d.max_tokens)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--max-seq-len", type=int, default=None, help="context length (model's)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        tok_dir = tokenizer_for(args.checkpoint, args.tokenizer)
        engine = Engine.from_checkpoint(
            args.checkpoint, tokenizer=str(tok_dir), max_batch=1, max_seq_len=args.max_seq_len
        )
    except FileNotFoundError as e:
        log.error("%s", e)
        return 2
    params = SamplingParams(
        temperature=args.temperature,
        top_k=args.top_k,
        top_p=args.top_p,
        repetition_penalty=args.repetition_penalty,
        max_tokens=args.max_tokens,
        seed=args.seed,
        enable_thinking=args.think,
    )
    write = sys.stdout.write if sys.stdout.isatty() else _plain(sys.stdout.write)
    chat_loop(engine, params, input, write, args.system)
    return 0


def _plain(write: Callable[[str], object]) -> Callable[[str], object]:
    """Output without the dim/reset escapes (piped output, logs)."""
    return lambda text: write(text.replace(DIM, "").replace(RESET, ""))


def chat_loop(
    engine: Engine,
    params: SamplingParams,
    read: Callable[[str], str],
    write: Callable[[str], object],
    system: str | None = None,
) -> list[dict]:
    """The REPL, with input and output injected (tests drive it); returns the conversation."""
    messages: list[dict] = [{"role": "system", "content": system}] if system else []
    write(f"{HELP}\n")
    while True:
        mode = "think" if params.enable_thinking else "fast"
        try:
            line = read(f"[{mode}] you> ").strip()
        except (EOFError, KeyboardInterrupt):
            write("\n")
            return messages
        if line in ("/exit", "/quit"):
            return messages
        if line == "/think":
            params = params.replace(enable_thinking=not params.enable_thinking)
            write(f"deep thinking {'on' if params.enable_thinking else 'off'}\n")
            continue
        if line == "/reset":
            messages = messages[:1] if system else []
            write("conversation cleared\n")
            continue
        if not line:
            continue
        messages.append({"role": "user", "content": line})
        messages.append(_answer(engine, messages, params, write))


def _answer(engine: Engine, messages: list[dict], params: SamplingParams, write) -> dict:
    reasoning, content, in_reasoning = [], [], False
    write("assistant> ")
    try:
        for delta in engine.stream_chat(messages, params):
            if delta.reasoning:
                if not in_reasoning:
                    write(DIM)
                    in_reasoning = True
                write(delta.reasoning)
                reasoning.append(delta.reasoning)
            if delta.content:
                if in_reasoning:
                    write(f"{RESET}\n")
                    in_reasoning = False
                write(delta.content)
                content.append(delta.content)
            if delta.finished and delta.finish_reason == "length":
                write(" [max_tokens reached]")
    except ValueError as e:  # e.g. the conversation outgrew the context
        write(f"{RESET}\nerror: {e}")
    write(f"{RESET}\n")
    message = {"role": "assistant", "content": "".join(content).strip()}
    if reasoning:
        message["reasoning_content"] = "".join(reasoning).strip()
    return message
