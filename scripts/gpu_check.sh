#!/usr/bin/env bash
# The one script that validates gpusmote on a CUDA machine and records GPU numbers.
#
#   scripts/gpu_check.sh OUTDIR
#
# Runs from the repository root with PYTHONPATH=. (no install: the GPU machine has
# torch, numpy, scikit-learn and pytest but reaches no registry). Wheels for what it
# lacks (imbalanced-learn, sklearn-compat, faiss-cpu) may be carried in .whl/ and are
# unpacked first. Writes OUTDIR/gpu_check.json (floors, tests, benchmark results) and the
# log beside it. Each step has its own timeout; together at most 7.5 minutes.
#
#   1. the card's floors: float32 matmul rate, on-device and host<->device copy rates;
#   2. the CUDA test subset (every device-parametrised test's cuda case);
#   3. self k-NN at n = 100k and 1M, d = 64, k = 5 (faiss-cpu and scikit-learn on this
#      machine's CPUs as peers at 100k);
#   4. SMOTE end to end at 50k minority / 1.05M rows and 1M minority / 10M rows, with
#      imbalanced-learn on this machine's CPUs as the peer where it finishes in 30 s.
set -uo pipefail
out=${1:?usage: scripts/gpu_check.sh OUTDIR}
mkdir -p "$out"
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
if compgen -G ".whl/*.whl" >/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/gpusmote-site .whl/*.whl && export PYTHONPATH="$PYTHONPATH:/tmp/gpusmote-site"
fi
log="$out/gpu_check.log"  # every step's output, in order (the device returns 8 files at most)
nvidia-smi >"$log" 2>&1 || echo "nvidia-smi failed" >>"$log"

# 1. floors
timeout 45 python3 - "$out/floors.json" <<'PY' 2>&1 | tee -a "$log"
import json, sys, torch
from gpusmote._bench import copy_bandwidth, machine_description, matmul_rate
dev = torch.device("cuda")
r = {"machine": machine_description(dev), "matmul_fp32_gflops": matmul_rate(dev) / 1e9,
     **{f"copy_{k}_gbs": v / 1e9 for k, v in copy_bandwidth(dev).items()}}
print(json.dumps(r, indent=2))
json.dump(r, open(sys.argv[1], "w"), indent=2)
PY

# 2. the CUDA test subset
timeout 120 python3 -m pytest -m cuda -q -p no:cacheprovider -o addopts="--strict-markers" \
    --durations=10 --junitxml="$out/cuda-tests.xml" tests 2>&1 | tee -a "$log"
tests_rc=${PIPESTATUS[0]}

# 3. neighbours on the GPU at n = 100k and 1M, d = 64: gpusmote alone first, then with
#    the CPU peers at 100k (this step ran past 100 s twice on an H100 host without
#    printing a row; its own timeout keeps it from taking the rest down)
timeout 60 python3 scripts/bench_neighbors.py --device cuda --size gpu --no-memory \
    --peer-max-n 0 --json "$out/bench_neighbors_gpu.json" 2>&1 | tee -a "$log"
timeout 90 python3 scripts/bench_neighbors.py --device cuda --size gpu --no-memory \
    --peer-max-n 100000 --json "$out/bench_neighbors_peers.json" 2>&1 | tee -a "$log"

# 4. SMOTE end to end on the GPU vs imbalanced-learn on this machine's CPUs
timeout 120 python3 scripts/bench_smote.py --device cuda --sizes c,gpu --repeat 1 \
    --peer-timeout 30 --json "$out/bench_smote_cuda.json" 2>&1 | tee -a "$log"

# 5. optional (GPU_CHECK_TILES=1, about 2 minutes more): the CUDA tile-shape sweep
if [ "${GPU_CHECK_TILES:-0}" = 1 ]; then
    timeout 150 python3 scripts/bench_cuda_tiles.py --json "$out/tiles.json" 2>&1 | tee -a "$log"
fi

python3 - "$out" "$tests_rc" <<'PY'
import json, os, sys
out, rc = sys.argv[1], int(sys.argv[2])
result = {"cuda_tests_exit_code": rc}
for name in ("floors", "bench_neighbors_gpu", "bench_neighbors_peers", "bench_smote_cuda", "tiles"):
    path = os.path.join(out, name + ".json")
    result[name] = json.load(open(path)) if os.path.exists(path) else None
json.dump(result, open(os.path.join(out, "gpu_check.json"), "w"), indent=2)
print("gpu_check: tests exit", rc, "->", os.path.join(out, "gpu_check.json"))
PY
exit "$tests_rc"
