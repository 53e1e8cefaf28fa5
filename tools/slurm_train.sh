#!/usr/bin/env bash
# Usage: [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS=...] \
#   bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG [train.py args...]
# One task per GPU on a Slurm cluster (MMAction2's tools/slurm_train.sh);
# mmengine reads the ranks from Slurm (--launcher slurm). The batch size in
# the config is per GPU: the total is GPUS x train_dataloader.batch_size
# (add --auto-scale-lr to scale the lr to it). tools/slurm_test.sh runs
# this script with MMTAL_SLURM_TOOL=test.py.
set -euo pipefail
TOOL=${MMTAL_SLURM_TOOL:-train.py}
case "$TOOL" in
    train.py) POSITIONAL=(CONFIG) ;;
    test.py) POSITIONAL=(CONFIG CHECKPOINT) ;;
    *) echo "MMTAL_SLURM_TOOL must be train.py or test.py, got '$TOOL'" >&2; exit 2 ;;
esac
NPOS=${#POSITIONAL[@]}
if [ $# -lt $((2 + NPOS)) ]; then
    echo "usage: bash ${MMTAL_SLURM_SCRIPT:-$0} PARTITION JOB_NAME ${POSITIONAL[*]} [$TOOL args...]" >&2
    exit 2
fi
export MASTER_PORT=${MASTER_PORT:-$((12000 + RANDOM % 20000))}
PARTITION=$1
JOB_NAME=$2
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-$((GPUS < 8 ? GPUS : 8))}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
PYTHON=${PYTHON:-python}
TOOLS="$(cd "$(dirname "$0")" && pwd)"
set -x
# shellcheck disable=SC2086  # SRUN_ARGS holds several srun options
PYTHONPATH="$TOOLS/..":${PYTHONPATH:-} \
srun -p "$PARTITION" \
    --job-name="$JOB_NAME" \
    --gres=gpu:"$GPUS_PER_NODE" \
    --ntasks="$GPUS" \
    --ntasks-per-node="$GPUS_PER_NODE" \
    --cpus-per-task="$CPUS_PER_TASK" \
    --kill-on-bad-exit=1 \
    $SRUN_ARGS \
    "$PYTHON" -u "$TOOLS/$TOOL" "${@:3:NPOS}" --launcher=slurm "${@:$((3 + NPOS))}"
