#!/usr/bin/env bash
# The one script that validates gpusmote on a CUDA machine and records GPU numbers.
#
#   scripts/gpu_check.sh OUTDIR
#
# Runs from the repository root with PYTHONPATH=. (no install: the GPU machine has
# torch, numpy, scikit-learn and pytest but reaches no registry). Wheels for what it
# lacks (imbalanced-learn, faiss-cpu) may be carried in .whl/ and are unpacked first.
# Writes OUTDIR/gpu_check.json (tests + benchmark results) and the logs beside it.
# Each step has its own timeout; together at most 9 minutes, typically far less.
set -uo pipefail
out=${1:?usage: scripts/gpu_check.sh OUTDIR}
mkdir -p "$out"
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
if compgen -G ".whl/*.whl" >/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/gpusmote-site .whl/*.whl && export PYTHONPATH="$PYTHONPATH:/tmp/gpusmote-site"
fi
nvidia-smi >"$out/nvidia-smi.txt" 2>&1 || echo "nvidia-smi failed" >>"$out/nvidia-smi.txt"

# 1. the CUDA test subset (also every device-parametrised test's cuda case)
timeout 150 python3 -m pytest -m cuda -q -p no:cacheprovider -o addopts="--strict-markers" \
    --junitxml="$out/cuda-tests.xml" tests 2>&1 | tee "$out/cuda-tests.log"
tests_rc=${PIPESTATUS[0]}

# 2. neighbour benchmarks on the GPU: the CPU grid, then n = 100k and 1M at d = 64
#    (CPU peers only where they finish in time)
timeout 90 python3 scripts/bench_neighbors.py --device cuda --no-memory \
    --json "$out/bench_neighbors_cuda.json" 2>&1 | tee "$out/bench_neighbors_cuda.txt"
timeout 150 python3 scripts/bench_neighbors.py --device cuda --size gpu --no-memory \
    --peer-max-n 100000 --json "$out/bench_neighbors_gpu.json" 2>&1 | tee "$out/bench_neighbors_gpu.txt"

# 3. SMOTE end to end on the GPU vs imbalanced-learn on this machine's CPUs (needs the
#    imbalanced-learn wheel carried in .whl/)
timeout 150 python3 scripts/bench_smote.py --device cuda --repeat 1 \
    --json "$out/bench_smote_cuda.json" 2>&1 | tee "$out/bench_smote_cuda.txt"

python3 - "$out" "$tests_rc" <<'PY'
import json, os, sys
out, rc = sys.argv[1], int(sys.argv[2])
result = {"cuda_tests_exit_code": rc}
for name in ("bench_neighbors_cuda", "bench_neighbors_gpu", "bench_smote_cuda"):
    path = os.path.join(out, name + ".json")
    result[name] = json.load(open(path)) if os.path.exists(path) else None
json.dump(result, open(os.path.join(out, "gpu_check.json"), "w"), indent=2)
print("gpu_check: tests exit", rc, "->", os.path.join(out, "gpu_check.json"))
PY
exit "$tests_rc"
