"""``compass serve`` as a real process: starts, answers, and shuts down cleanly on SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import httpx
import pytest

from compass.cli import main
from compass.config import ConfigError
from compass.serve.keys import ENV_VAR, load_api_keys
from compass.serve.server import free_port


def test_cli_wires_keys_overrides_and_manifest(e2e_artifacts, tmp_path, monkeypatch):
    """The whole ``_serve`` path in-process, with uvicorn replaced by a stand-in."""
    import compass.serve.server as server

    ckpt, tok = e2e_artifacts
    keys = tmp_path / "keys.txt"
    keys.write_text("# team keys\nsk-cli-test-key alice\n\nsk-second-key-123\n")
    seen = {}

    def fake_serve_forever(app, host, port, drain_timeout_s):
        from fastapi.testclient import TestClient

        seen.update(host=host, port=port, app=app)
        with TestClient(app) as c:  # one request, to see it accounted to its key's label
            body = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 3}
            h = {"Authorization": "Bearer sk-cli-test-key"}
            assert c.post("/v1/chat/completions", json=body, headers=h).status_code == 200

    monkeypatch.setattr(server, "serve_forever", fake_serve_forever)
    out = tmp_path / "run"
    rc = main(
        [
            "serve",
            str(ckpt),
            "--tokenizer",
            str(tok),
            "--port",
            "9123",
            "--api-keys",
            str(keys),
            "--recipe",
            "micro",
            "--out",
            str(out),
            "--serve.max_new_tokens=16",
        ]
    )
    assert rc == 0 and seen["host"] == "127.0.0.1" and seen["port"] == 9123
    service = seen["app"].state.service
    assert service.config.max_new_tokens == 16 and service.backend.model_name == "ckpt"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["stage"] == "serve" and manifest["config"]["serve"]["max_new_tokens"] == 16
    assert (out / "config.json").exists()
    record = json.loads((out / "accounting.jsonl").read_text().splitlines()[0])
    assert record["key"] == "alice" and record["completion_tokens"] == 3


def test_api_key_sources(tmp_path, monkeypatch):
    f = tmp_path / "keys"
    f.write_text("sk-from-file-1 ops team  # comment\n# only a comment\n")
    monkeypatch.setenv(ENV_VAR, "sk-from-env-1, ")
    keys = load_api_keys(["sk-from-flag-1"], f)
    assert keys["sk-from-file-1"] == "ops team"
    assert set(keys) == {"sk-from-file-1", "sk-from-env-1", "sk-from-flag-1"}
    f.write_text("short\n")
    with pytest.raises(ConfigError, match="shorter than 8"):
        load_api_keys([], f)
    with pytest.raises(ConfigError, match="no such file"):
        load_api_keys([], tmp_path / "missing")


@pytest.mark.slow  # covered in-process by the two tests above and test_serve_limits' drain test
def test_cli_serves_and_exits_on_sigterm(e2e_artifacts, tmp_path):
    ckpt, tok = e2e_artifacts
    port = free_port()
    keys = tmp_path / "keys.txt"
    keys.write_text("# team keys\nsk-cli-test-key alice\n")
    out = tmp_path / "serve_run"
    cmd = [
        sys.executable,
        "-m",
        "compass.cli",
        "serve",
        str(ckpt),
        "--tokenizer",
        str(tok),
        "--port",
        str(port),
        "--api-keys",
        str(keys),
        "--recipe",
        "micro",
        "--out",
        str(out),
        "--serve.max_new_tokens=16",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read()
            time.sleep(0.1)
        h = {"Authorization": "Bearer sk-cli-test-key"}
        body = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 100}
        r = httpx.post(url + "/v1/chat/completions", json=body, headers=h, timeout=30)
        assert r.status_code == 400 and r.json()["error"]["param"] == "max_tokens"  # the override
        body["max_tokens"] = 8
        assert (
            httpx.post(url + "/v1/chat/completions", json=body, headers=h, timeout=30).status_code
            == 200
        )
        assert httpx.get(url + "/v1/usage", headers=h).json()["key"] == "alice"
    finally:
        proc.send_signal(signal.SIGTERM)
        log = proc.communicate(timeout=30)[0]
    assert proc.returncode == 0, log
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["stage"] == "serve" and manifest["metrics"]["requests"] >= 3
