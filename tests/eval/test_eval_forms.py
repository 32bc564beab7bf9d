"""The scoring forms: chat-form log-likelihoods equal a hand-rendered oracle, the letters form
picks the argmax letter, generative tasks reply in fast and deep mode, and each column names its
form."""

import json

import pytest
import torch

from compass.eval.chat import chat_prompt, end_of_turn, reply_pair
from compass.eval.forms import lettered, parse_forms
from compass.eval.harness import evaluate, run_mc
from compass.eval.tasks import MCItem, TaskSpec, builtin_suite


def _oracle_reply_ll(model, tok, messages, reply: str) -> float:
    """Render the conversation with its reply by hand; sum log-softmax over the reply's tokens
    (the assistant-masked tokens after the generation prompt, before the end of turn)."""
    prompt, _ = tok.render_chat(messages, enable_thinking=False, add_generation_prompt=True)
    full, mask = tok.render_chat([*messages, {"role": "assistant", "content": reply}])
    assert full[: len(prompt)] == prompt
    reply_ids = [t for t, m in zip(full[len(prompt) :], mask[len(prompt) :]) if m]
    assert reply_ids[-1] == tok.im_end_id
    reply_ids = reply_ids[:-1]
    ids = torch.tensor([prompt + reply_ids])
    with torch.no_grad():
        logp = torch.log_softmax(model(ids).logits_BTV.float(), dim=-1)[0]
    return sum(logp[len(prompt) - 1 + k, t].item() for k, t in enumerate(reply_ids))


@pytest.fixture(scope="module")
def micro(micro_artifacts):
    from compass.eval.loading import load_backend
    from compass.model.io import load_model

    backend = load_backend(micro_artifacts["ckpt"])
    return backend, load_model(micro_artifacts["ckpt"]).eval()


def _items():
    return [
        MCItem("Payako Go 3 cotton T-shirt - red\nWhat is the colour?", ["red", "grey blue"], 0),
        MCItem("Berapa harga Kasa Swift 2?", ["Rp 150.000", "Rp 89.900", "Rp 12.000"], 2, "id"),
    ]


def test_chat_prompt_is_the_tokenizers_own_rendering(micro):
    backend, _ = micro
    tok, msgs = backend.tokenizer, [{"role": "user", "content": "Hi there"}]
    for deep in (False, True):
        text = chat_prompt(tok, msgs, deep)
        assert tok.encode(text) == tok.render_chat(msgs, deep, add_generation_prompt=True)[0]
    assert chat_prompt(tok, msgs, False).endswith("<think>\n\n</think>\n\n")


@pytest.mark.parametrize("form", ["chat", "letters"])
def test_chat_form_loglikelihoods_equal_the_oracle(micro, form):
    backend, model = micro
    spec = TaskSpec("t", "unused.jsonl", letters_instruction={"id": "Pilih jawabannya."})
    items = _items()
    res = run_mc(spec, items, backend, form=form)
    for item, sample in zip(items, res.samples):
        if form == "letters":
            instruction = "Pilih jawabannya." if item.lang == "id" else ""
            turn = lettered(item.prompt, item.choices, instruction)
            targets = "ABC"[: len(item.choices)]
        else:
            turn, targets = item.prompt, item.choices
        msgs = [{"role": "user", "content": turn}]
        oracle = [_oracle_reply_ll(model, backend.tokenizer, msgs, t) for t in targets]
        assert sample["lls"] == pytest.approx(oracle, abs=1e-4)
        best = max(range(len(oracle)), key=oracle.__getitem__)
        assert sample["acc"] == float(best == item.gold)


def test_hf_backend_scores_the_chat_form_like_the_engine(micro, micro_artifacts):
    from compass.eval.hf_backend import HFBackend

    backend, _ = micro
    hf = HFBackend(micro_artifacts["hf"], device="cpu")
    spec = TaskSpec("t", "unused.jsonl")
    for form in ("chat", "letters"):
        ours = run_mc(spec, _items(), backend, form=form).samples
        theirs = run_mc(spec, _items(), hf, form=form).samples
        for a, b in zip(ours, theirs):
            assert a["lls"] == pytest.approx(b["lls"], abs=1e-3)
    # Chat generation: the same ids from the same rendered prompts, in fast and deep mode (ids,
    # since SentencePiece and HF spell invalid byte-fallback runs differently).
    tok, msgs = backend.tokenizer, [[{"role": "user", "content": it.prompt}] for it in _items()]
    end = end_of_turn(tok)
    for deep in (False, True):
        prompts = [tok.encode(chat_prompt(tok, m, deep)) for m in msgs]
        ours = backend.generate_ids(prompts, [12, 12], end)
        theirs = hf.generate_ids(prompts, [12, 12], end)
        assert ours == theirs


def test_end_of_turn_is_read_off_the_template(micro, micro_artifacts):
    from transformers import AutoTokenizer

    tok = micro[0].tokenizer
    assert end_of_turn(tok) == [tok.im_end_id]
    hf_tok = AutoTokenizer.from_pretrained(micro_artifacts["hf"])
    assert end_of_turn(hf_tok) == [tok.im_end_id]


def test_reply_split_keeps_a_merged_boundary_in_the_reply():
    class Chars:  # one token per character, except "\n\nx" merging into one
        def encode(self, text):
            return [ord(c) for c in text.replace("\n\nx", "\x00")]

    ctx, reply = reply_pair(Chars(), "ab\n\n", "xy")
    assert ctx == [ord("a"), ord("b")] and reply == [0, ord("y")]


def test_generative_task_in_fast_and_deep_mode(micro, micro_artifacts):
    backend, _ = micro
    gen = {s.name: s for s in builtin_suite(micro_artifacts["data"] / "eval")}
    spec = gen["numerical_reasoning"]
    spec.items_per_lang, spec.deep_max_tokens = 2, 12
    for form in ("chat", "deep"):
        (res,) = evaluate([spec], backend, form=form)
        assert not res.skipped and res.n == 4
        assert all("output" in s for s in res.samples)


def test_deep_form_skips_option_tasks_and_openai_skips_chat_loglikelihood(tmp_path):
    from compass.eval.openai_backend import OpenAIBackend

    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps({"prompt": "q", "choices": ["a", "b"], "answer": 0}) + "\n")
    (deep,) = evaluate([TaskSpec("t", str(path))], object(), form="deep")
    assert "generative" in deep.skipped
    endpoint = OpenAIBackend.__new__(OpenAIBackend)
    endpoint.name, endpoint.chat = "openai:http://x", True
    (chat,) = evaluate([TaskSpec("t", str(path))], endpoint, form="chat")
    assert "no log-probabilities" in chat.skipped and "hf:DIR" in chat.skipped


def test_forms_are_named():
    assert parse_forms("raw, chat,letters,chat") == ["raw", "chat", "letters"]
    with pytest.raises(ValueError, match="choose from raw, chat, letters, deep"):
        parse_forms("raw,fancy")


def test_cli_writes_a_column_per_model_and_form(micro_artifacts, tmp_path, capsys):
    from compass.cli import main

    base = ["eval", "--model", f"m={micro_artifacts['ckpt']}"]
    base += ["--builtin", str(micro_artifacts["data"] / "eval"), "--items-per-lang", "1"]
    with pytest.raises(SystemExit, match="--form: unknown form"):
        main([*base, "--form", "raw,fancy"])
    assert main([*base, "--form", "raw,letters", "--out", str(tmp_path)]) == 0
    header, _, *rows = (tmp_path / "results.md").read_text().splitlines()
    assert "| m [raw] | m [letters] |" in header
    assert any(r.startswith("| mean over tasks | main | 12 |") for r in rows)
    assert all("| 2 |" in r for r in rows[:12])  # one item in each of the two languages
