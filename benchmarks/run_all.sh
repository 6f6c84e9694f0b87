#!/usr/bin/env bash
# Run every engine benchmark; each prints one JSON line to stdout (diagnostics go to stderr).
#   bash benchmarks/run_all.sh                 # lines to stdout
#   bash benchmarks/run_all.sh results.jsonl   # ... and also into results.jsonl
# PYTHON picks the interpreter (default: python). The first run creates benchmarks/.venv-batchflow.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python}"
OUT="${1:-/dev/null}"
: > "$OUT"
status=0
for bench in pipeline profile parallel prefetch import; do
    echo "== bench_${bench}.py" >&2
    if ! "$PYTHON" "benchmarks/bench_${bench}.py" | tee -a "$OUT"; then
        echo "bench_${bench}.py failed" >&2
        status=1
    fi
done
exit "$status"
