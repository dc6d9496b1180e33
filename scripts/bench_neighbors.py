"""Self k-NN: gpusmote (torch and faiss backends) vs faiss IndexFlatL2 vs scikit-learn brute.

    python scripts/bench_neighbors.py                 # n in {5k, 20k, 50k}, d in {16, 64}, k = 5
    python scripts/bench_neighbors.py --size small    # a quick look
    python scripts/bench_neighbors.py --device cuda --json out.json
    python scripts/bench_neighbors.py --device cuda --size gpu --peer-max-n 100000
    python scripts/bench_neighbors.py --device cuda --size gpu --n 100000 --repeat 1

Prints one markdown table (ratios to scikit-learn and to the GEMM floor 2*n^2*d / measured
float32 matmul rate) and the machine it ran on; the peak-memory probe runs on the CPU.
"""

import argparse

from gpusmote.cli.bench import run_neighbors


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=["small", "medium", "gpu"], default="medium")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--json", help="also write the results to this JSON file")
    parser.add_argument(
        "--peer-max-n", type=int, help="skip faiss and scikit-learn above this many rows"
    )
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory probe")
    parser.add_argument("--n", help="only these row counts of --size, comma-separated")
    parser.add_argument(
        "--repeat", type=int, help="runs per engine (default 3, and 1 from 1M rows on)"
    )
    args = parser.parse_args(argv)
    table = run_neighbors(
        args.size,
        k=args.k,
        device=args.device,
        peer_max_n=args.peer_max_n,
        memory=not args.no_memory,
        json_path=args.json,
        ns=[int(v) for v in args.n.split(",")] if args.n else None,
        repeat=args.repeat,
    )
    print(table)


if __name__ == "__main__":
    main()
