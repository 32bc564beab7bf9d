"""The inference engine: KV cache, continuous batching, sampling, think mode.

Public API::

    engine = Engine.from_checkpoint("runs/tiny/sft", tokenizer="runs/tiny/tokenizer")
    engine.generate([ids_or_text, ...], SamplingParams(temperature=0.4, seed=42))
    rid = engine.add_request(ids, params); outputs = engine.step()   # the server's loop
    engine.score(prompt_ids, continuation_ids)                        # (sum logprob, is_greedy)
    engine.chat(messages, SamplingParams(enable_thinking=True))       # .reasoning_content/.content
"""

from compass.inference.chat import ChatDelta
from compass.inference.engine import Engine
from compass.inference.params import SamplingParams
from compass.inference.request import Completion, RequestOutput, TokenLogprob

__all__ = ["ChatDelta", "Completion", "Engine", "RequestOutput", "SamplingParams", "TokenLogprob"]
