#!/usr/bin/env bash
# The one script that validates gpusmote on a CUDA machine and records GPU numbers.
#
#   scripts/gpu_check.sh OUTDIR
#   GPU_CHECK_DEVICE=cpu GPU_CHECK_SMOKE=1 scripts/gpu_check.sh OUTDIR   # a dry run, ~1 min
#
# Runs from the repository root with PYTHONPATH=. (no install: the GPU machine has
# torch, numpy, scikit-learn and pytest but reaches no registry). Wheels for what it
# lacks (imbalanced-learn, sklearn-compat, faiss-cpu) may be carried in .whl/ and are
# unpacked first. Writes OUTDIR/gpu_check.json (floors, tests, benchmark results and each
# step's exit code: 124 is its timeout) and the log beside it. Each step has its own
# timeout; together at most 9 minutes.
#
#   1. the card's floors: float32 matmul rate, on-device and host<->device copy rates;
#   2. the CUDA test subset (every device-parametrised test's cuda case);
#   3. self k-NN at n = 100k and 1M, d = 64, k = 5: gpusmote alone (the fused Triton
#      kernel where Triton is installed), then at 1M the torch path against the fused
#      kernel in each precision and the peers on the card (torch's cdist + topk, KeOps
#      where pykeops is carried in .whl/) (scripts/bench_fused.py), then faiss-cpu and
#      scikit-learn on this machine's CPUs as peers at 100k;
#   4. SMOTE end to end at 50k minority / 1.05M rows and 1M minority / 10M rows, with
#      imbalanced-learn on this machine's CPUs as the peer where it finishes in 30 s.
#
# GPU_CHECK_SMOKE=1 shrinks every step (one test file, 2k-5k rows, 20k-row SMOTE) so the
# script itself can be checked on any machine: tests/test_gpu_check.py does that on CPU.
set -uo pipefail
out=${1:?usage: scripts/gpu_check.sh OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
device=${GPU_CHECK_DEVICE:-cuda}
if [ "${GPU_CHECK_SMOKE:-0}" = 1 ]; then
    tests=(tests/neighbors/test_kneighbors.py) nb_size=small nb_peer_n=2000 smote_sizes=tiny
    fused_n=600 fused_d=8
else
    tests=(tests) nb_size=gpu nb_peer_n=100000 smote_sizes=c,gpu
    fused_n=1000000 fused_d=64
fi
if compgen -G ".whl/*.whl" >/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/gpusmote-site .whl/*.whl && export PYTHONPATH="$PYTHONPATH:/tmp/gpusmote-site"
fi
log="$out/gpu_check.log"  # every step's output, in order (the device returns 8 files at most)
nvidia-smi >"$log" 2>&1 || echo "nvidia-smi failed (no NVIDIA driver here)" >>"$log"
steps=()

step() {  # step NAME SECONDS COMMAND...: run with a timeout, log it, record its exit code
    local name=$1 seconds=$2
    shift 2
    echo "== $name (timeout ${seconds}s): $*" | tee -a "$log"
    timeout "$seconds" "$@" 2>&1 | tee -a "$log"
    local rc=${PIPESTATUS[0]}
    steps+=("$name=$rc")
    echo "== $name: exit $rc" | tee -a "$log"
}

# 1. floors
step floors 45 python3 - "$out/floors.json" "$device" <<'PY'
import json, sys, torch
from gpusmote.cli.bench import copy_bandwidth, machine_description, matmul_rate
dev = torch.device(sys.argv[2])
r = {"machine": machine_description(dev), "matmul_fp32_gflops": matmul_rate(dev) / 1e9,
     **{f"copy_{k}_gbs": v / 1e9 for k, v in copy_bandwidth(dev).items()}}
print(json.dumps(r, indent=2))
json.dump(r, open(sys.argv[1], "w"), indent=2)
PY

# 2. the CUDA test subset
step cuda_tests 150 python3 -m pytest -m cuda -q -p no:cacheprovider \
    -o addopts="--strict-markers" --durations=10 --junitxml="$out/cuda-tests.xml" "${tests[@]}"

# 3. neighbours at n = 100k and 1M, d = 64: gpusmote alone first, then the CPU peers at
#    100k, one run each (on an H100 host this step once ran past 100 s with the peers
#    and 3 runs each without printing a row; each run now logs as it ends)
step neighbors 45 python3 scripts/bench_neighbors.py --device "$device" --size "$nb_size" \
    --no-memory --peer-max-n 0 --json "$out/bench_neighbors_gpu.json"
step fused 140 python3 scripts/bench_fused.py --device "$device" --n "$fused_n" --d "$fused_d" \
    --timeout 24 --json "$out/bench_fused.json"
step neighbors_peers 45 python3 scripts/bench_neighbors.py --device "$device" \
    --size "$nb_size" --n "$nb_peer_n" --repeat 1 --no-memory --peer-max-n "$nb_peer_n" \
    --json "$out/bench_neighbors_peers.json"

# 4. SMOTE end to end on the device vs imbalanced-learn on this machine's CPUs
step smote 120 python3 scripts/bench_smote.py --device "$device" --sizes "$smote_sizes" \
    --repeat 1 --peer-timeout 30 --json "$out/bench_smote.json"

# 5. optional (GPU_CHECK_TILES=1, about 2 minutes more): the CUDA tile-shape sweep
if [ "${GPU_CHECK_TILES:-0}" = 1 ]; then
    step tiles 150 python3 scripts/bench_cuda_tiles.py --json "$out/tiles.json"
fi

python3 - "$out" "${steps[@]}" <<'PY'
import json, os, sys
out, steps = sys.argv[1], dict(s.split("=") for s in sys.argv[2:])
result = {"exit_codes": {name: int(rc) for name, rc in steps.items()}}
result["cuda_tests_exit_code"] = result["exit_codes"]["cuda_tests"]
names = ("floors", "bench_neighbors_gpu", "bench_fused", "bench_neighbors_peers")
for name in (*names, "bench_smote", "tiles"):
    path = os.path.join(out, name + ".json")
    result[name] = json.load(open(path)) if os.path.exists(path) else None
json.dump(result, open(os.path.join(out, "gpu_check.json"), "w"), indent=2)
print("gpu_check:", result["exit_codes"], "->", os.path.join(out, "gpu_check.json"))
PY
for s in "${steps[@]}"; do
    [ "${s#*=}" = 0 ] || exit 1
done
