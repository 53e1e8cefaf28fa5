#!/usr/bin/env bash
# Usage: bash tools/dist_train.sh CONFIG NUM_PROCS [train.py args...]
# PyTorch DDP through mmengine's launcher (torchrun). Without CUDA the gloo
# backend is used (mmtal_zoom/compat/cpu_distributed.py). tools/dist_test.sh
# runs this script with MMTAL_DIST_TOOL=test.py (CONFIG CHECKPOINT NUM_PROCS).
set -euo pipefail
TOOL=${MMTAL_DIST_TOOL:-train.py}
case "$TOOL" in
    train.py) NPOS=1 ;;  # CONFIG
    test.py) NPOS=2 ;;  # CONFIG CHECKPOINT
    *) echo "MMTAL_DIST_TOOL must be train.py or test.py, got '$TOOL'" >&2; exit 2 ;;
esac
if [ $# -lt $((NPOS + 1)) ]; then
    USAGE=$([ "$TOOL" = test.py ] && echo "CONFIG CHECKPOINT" || echo CONFIG)
    echo "usage: bash ${MMTAL_DIST_SCRIPT:-$0} $USAGE NUM_PROCS [$TOOL args...]" >&2
    exit 1
fi
NPROC_ARG=$((NPOS + 1))
NPROC=${!NPROC_ARG}
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
PYTHON=${PYTHON:-python}
PYTHONPATH="$(dirname "$0")/..":${PYTHONPATH:-} \
"$PYTHON" -m torch.distributed.run --nnodes="$NNODES" --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" --nproc_per_node="$NPROC" --master_port="$PORT" \
    "$(dirname "$0")/$TOOL" "${@:1:NPOS}" --launcher pytorch "${@:NPOS+2}"
