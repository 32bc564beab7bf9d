"""``compass serve`` as a real process: starts, answers, and shuts down cleanly on SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import httpx

from compass.serve.server import free_port


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
