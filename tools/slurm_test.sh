#!/usr/bin/env bash
# Usage: [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS=...] \
#   bash tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [test.py args...]
# One task per GPU on a Slurm cluster (MMAction2's tools/slurm_test.sh);
# the metrics equal those of one GPU (the evaluators gather every rank's
# results). The srun command is tools/slurm_train.sh's.
MMTAL_SLURM_TOOL=test.py MMTAL_SLURM_SCRIPT="$0" exec bash "$(dirname "$0")/slurm_train.sh" "$@"
