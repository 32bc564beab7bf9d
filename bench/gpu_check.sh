#!/usr/bin/env bash
# Every GPU check in one call, for a lent CUDA machine whose python3 has torch + transformers:
# bench/gpu_check.py (bf16 / expert kernels / FP8 / training throughput / FSDP2 on NCCL), then
# the engine bench on CUDA. Reports land in $OUT (default bench/out/gpu).
#
#     OUT=/some/dir bash bench/gpu_check.sh runs/tiny/tokenize/shards
set -u
SHARDS=${1:?usage: bench/gpu_check.sh SHARD_DIR (compass data tokenize output)}
OUT=${OUT:-bench/out/gpu}
mkdir -p "$OUT"
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TQDM_DISABLE=1 TOKENIZERS_PARALLELISM=false
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv
python3 -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)"
timeout 270 python3 bench/gpu_check.py --shards "$SHARDS" --out "$OUT" > "$OUT/gpu_check.log" 2>&1
echo "gpu_check rc=$?"; grep -E '^== |"error"' "$OUT/gpu_check.log"
timeout 180 python3 bench/engine.py --device cuda --dtype bfloat16 --recipe small \
    --concurrency 1,4,16,32,64 --sequential-max-c 4 --repeats 2 --mixed-concurrency 32 \
    --quant fp8 --no-vllm --out "$OUT/engine_gpu.md" > "$OUT/engine.log" 2>&1
echo "engine rc=$?"; grep -E 'c= *[0-9]+:|mixed|Error' "$OUT/engine.log"
