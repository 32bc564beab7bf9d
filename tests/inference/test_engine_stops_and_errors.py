"""Stopping (EOS, stop tokens, stop strings, max_tokens, context end) and bad input."""

from __future__ import annotations

import pytest

from compass.config import ConfigError
from compass.inference import Engine, SamplingParams

H, I = 0x48, 0x49  # "H", "I"


def _engine(scripted, script, prompt_len, tok=None, **kw) -> Engine:
    return Engine(scripted(script, prompt_len), tokenizer=tok, max_batch=4, **kw)


def test_eos_stops_and_is_returned_but_not_in_text(scripted, byte_tok):
    script = [H, I, 256, H, H]
    e = _engine(scripted, script, 3, byte_tok)
    out = e.generate([[1, 2, 3]], SamplingParams(temperature=0, max_tokens=10))[0]
    assert out.token_ids == [H, I, 256] and out.finish_reason == "stop" and out.text == "HI"
    out = e.generate([[1, 2, 3]], SamplingParams(temperature=0, max_tokens=5, ignore_eos=True))[0]
    assert out.token_ids == script and out.finish_reason == "length"


def test_stop_token_ids_and_max_tokens(scripted):
    e = _engine(scripted, [5, 6, 7, 8, 9], 2)
    out = e.generate([[1, 2]], SamplingParams(temperature=0, stop_token_ids=[7]))[0]
    assert out.token_ids == [5, 6, 7] and out.finish_reason == "stop"
    out = e.generate([[1, 2]], SamplingParams(temperature=0, max_tokens=2))[0]
    assert out.token_ids == [5, 6] and out.finish_reason == "length"


def test_stop_string_truncates_and_is_never_streamed(scripted, byte_tok):
    text = "Hello, END world"
    script = [*byte_tok.encode(text), 256]
    e = _engine(scripted, script, 2, byte_tok)
    params = SamplingParams(temperature=0, stop=["END", "zzz"])
    deltas = [o.text for o in e.stream([1, 2], params)]
    assert "".join(deltas) == "Hello, "
    assert all("E" not in d for d in deltas)
    out = e.generate([[1, 2]], params)[0]
    assert out.text == "Hello, " and out.finish_reason == "stop"


def test_multibyte_text_streams_without_broken_characters(scripted, byte_tok):
    text = "Giá 50.000₫ — สวัสดี 你好"
    e = _engine(scripted, [*byte_tok.encode(text), 256], 1, byte_tok)
    deltas = [o.text for o in e.stream([1], SamplingParams(temperature=0, max_tokens=100))]
    assert "".join(deltas) == text
    assert not any("\ufffd" in d for d in deltas)


def test_generation_stops_at_the_context_end(micro_model):
    e = Engine(micro_model, max_batch=2, max_seq_len=32)
    out = e.generate([list(range(1, 29))], SamplingParams(temperature=0, max_tokens=100))[0]
    assert out.finish_reason == "length" and len(out.token_ids) == 32 - 28


def test_prompt_longer_than_context_is_a_clear_error(micro_model):
    e = Engine(micro_model, max_batch=2, max_seq_len=32)
    with pytest.raises(ValueError, match=r"40 tokens but the context holds 32.*truncate_prompt"):
        e.add_request(list(range(40)), SamplingParams())
    params = SamplingParams(temperature=0, max_tokens=4, truncate_prompt=True)
    out = e.generate([list(range(40))], params)[0]
    assert out.prompt_ids == list(range(12, 40)) and len(out.token_ids) == 4


@pytest.mark.parametrize(
    "field,value",
    [
        ("temperature", -0.1),
        ("top_p", 0.0),
        ("top_p", 1.5),
        ("top_k", -1),
        ("repetition_penalty", 0.0),
        ("max_tokens", 0),
        ("logprobs", -2),
    ],
)
def test_invalid_sampling_values_name_the_field(field, value):
    with pytest.raises(ConfigError, match=rf"{field}={value}"):
        SamplingParams(**{field: value})


def test_unknown_sampling_field_is_named():
    with pytest.raises(ConfigError, match="top_q"):
        SamplingParams.from_dict({"top_q": 0.5})


def test_bad_requests_are_rejected(micro_model):
    e = Engine(micro_model, max_batch=2)
    with pytest.raises(ValueError, match="empty"):
        e.add_request([], SamplingParams())
    with pytest.raises(ValueError, match="vocabulary"):
        e.add_request([1, 5000], SamplingParams())
    with pytest.raises(ValueError, match="stop strings need a tokenizer"):
        e.add_request([1], SamplingParams(stop=["x"]))
    with pytest.raises(ValueError, match="needs a tokenizer"):
        e.add_request("hello", SamplingParams())
    e.add_request([1], SamplingParams(), request_id="a")
    with pytest.raises(ValueError, match="already running"):
        e.add_request([2], SamplingParams(), request_id="a")
    with pytest.raises(RuntimeError, match="drain them with step"):
        e.generate([[1]])
    e.abort("a")
    assert not e.has_unfinished() and e.cache.num_free == 2


def test_generate_with_a_bad_prompt_leaves_the_engine_clean(micro_model):
    e = Engine(micro_model, max_batch=2, max_seq_len=32)
    with pytest.raises(ValueError, match="context holds"):
        e.generate([[1, 2], list(range(40))], SamplingParams(temperature=0, max_tokens=2))
    assert not e.has_unfinished() and e.cache.num_free == 2
    assert len(e.generate([[1, 2]], SamplingParams(temperature=0, max_tokens=2))[0].token_ids) == 2


def test_detokenizer_flushes_an_unfinished_character_and_skips_specials(byte_tok):
    from compass.inference.detokenizer import IncrementalDetokenizer

    d = IncrementalDetokenizer(byte_tok)
    euro = "€".encode()
    assert d.add([ord("a")]) == ("a", False)
    assert d.add([euro[0]]) == ("", False)  # half a character waits for the rest
    assert d.flush() == "\ufffd" and d.text == "a\ufffd"

    class SkippingTok:
        def decode(self, ids, skip_special=False):
            return "".join("" if skip_special and i == 0 else chr(65 + i) for i in ids)

    d = IncrementalDetokenizer(SkippingTok())
    assert d.add([1, 0, 2])[0] == "BC"
