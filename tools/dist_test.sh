#!/usr/bin/env bash
# Usage: bash tools/dist_test.sh CONFIG CHECKPOINT NUM_PROCS [test.py args...]
# The torchrun command is tools/dist_train.sh's.
MMTAL_DIST_TOOL=test.py MMTAL_DIST_SCRIPT="$0" exec bash "$(dirname "$0")/dist_train.sh" "$@"
