#!/usr/bin/env bash
# Is this checkout ready for a CUDA machine? One short run (minutes on a GPU)
# of what the CPU CI cannot check:
#   cuda-tests       the test suite's CUDA-marked tests (pytest -m cuda): AMP
#                    training steps of the baseline and CLTDR-GMG, CUDA = CPU
#                    outputs, tIoU / NMS / Soft-NMS on CUDA = on CPU
#   data             a tiny generated dataset in the embedded configs' shape
#   amp-baseline     tools/train.py --amp, configs/baseline/actionformer_synthetic-feat_1xb2-30e_embedded.py
#   amp-cltdr-gmg    tools/train.py --amp, configs/cltdr_gmg/cltdr-gmg_synthetic-feat_1xb2-30e_embedded.py
#   dist-train-nccl  tools/dist_train.sh, 2 processes on NCCL (needs 2 GPUs)
#   eval-1-vs-2-gpus tools/test.py on 1 GPU and tools/dist_test.sh on 2 give
#                    the same metrics (needs 2 GPUs)
# It prints PASS / FAIL / SKIP per step and exits 1 if a step failed. Without
# CUDA it says so and exits 0 having run nothing GPU-specific.
#
# Usage: bash tools/gpu_check.sh [--dry-run] [--work-dir DIR]
#   --dry-run     print the planned commands, run nothing
#   --work-dir    where data, checkpoints and logs go (default: a new
#                 folder under ${TMPDIR:-/tmp}); kept afterwards
#   PYTHON=...    the interpreter (default: .venv/bin/python if present,
#                 else python)
set -uo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT" || exit 2
usage() { sed -n '2,/^set -uo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }

DRY_RUN=0
WORK=""
while [ $# -gt 0 ]; do
    case "$1" in
        --dry-run) DRY_RUN=1 ;;
        --work-dir) WORK="${2:?--work-dir needs a folder}"; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "gpu_check.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
done
if [ -z "${PYTHON:-}" ]; then
    if [ -x "$ROOT/.venv/bin/python" ]; then PYTHON="$ROOT/.venv/bin/python"; else PYTHON=python; fi
fi
export PYTHON OMP_NUM_THREADS="${OMP_NUM_THREADS:-4}"
[ -n "$WORK" ] || WORK="${TMPDIR:-/tmp}/mmtal_zoom_gpu_check.$$"

# --- the plan ---------------------------------------------------------------
DATA="$WORK/data"
BASELINE=configs/baseline/actionformer_synthetic-feat_1xb2-30e_embedded.py
CLTDR=configs/cltdr_gmg/cltdr-gmg_synthetic-feat_1xb2-30e_embedded.py
# the embedded configs unchanged (their 12-epoch schedule), on the tiny data
# (256-d, 10 classes; 3 iterations an epoch)
CFG_OPTS=()
for split in train val test; do
    CFG_OPTS+=("${split}_dataloader.dataset.ann_file=$DATA/annotations.json"
               "${split}_dataloader.dataset.data_prefix.feature=$DATA/features")
done
CFG_OPTS+=(default_hooks.logger.interval=1)
# batch 1 at test time: every process sees exactly the inputs of 1 GPU
TEST_OPTS=("${CFG_OPTS[@]}" test_dataloader.batch_size=1)
DDP_CKPT="$WORK/dist_train_nccl/epoch_12.pth"

STEPS=(cuda-tests data amp-baseline amp-cltdr-gmg dist-train-nccl eval-1-vs-2-gpus)
declare -A NEEDS_GPUS=([dist-train-nccl]=2 [eval-1-vs-2-gpus]=2)
declare -A AFTER=([amp-baseline]=data [amp-cltdr-gmg]=data [dist-train-nccl]=data
                  [eval-1-vs-2-gpus]=dist-train-nccl)

commands() {  # the shell commands of one step, one per line
    case "$1" in
        cuda-tests) echo "\"$PYTHON\" -m pytest tests -m cuda -q -p no:cacheprovider -rs" ;;
        data) echo "\"$PYTHON\" tools/make_synthetic_dataset.py --out \"$DATA\" --preset tiny --num-classes 10 --feat-dim 256 --seed 0" ;;
        amp-baseline|amp-cltdr-gmg)
            local cfg=$BASELINE dir="$WORK/amp_baseline"
            [ "$1" = amp-cltdr-gmg ] && cfg=$CLTDR dir="$WORK/amp_cltdr_gmg"
            echo "\"$PYTHON\" tools/train.py $cfg --amp --seed 0 --work-dir \"$dir\" --cfg-options $(quote "${CFG_OPTS[@]}")"
            # mixed precision was on, and every logged loss is finite
            echo "grep -q AmpOptimWrapper \"$dir\"/*/*.log"
            echo "finite_losses \"$dir\"" ;;
        dist-train-nccl)
            echo "NCCL_DEBUG=INFO PORT=29611 bash tools/dist_train.sh $BASELINE 2 --seed 0 --work-dir \"$WORK/dist_train_nccl\" --cfg-options $(quote "${CFG_OPTS[@]}") env_cfg.dist_cfg.backend=nccl"
            # NCCL_DEBUG output: the process group was NCCL, not a gloo fallback
            echo "grep -q 'NCCL INFO' \"$WORK/logs/dist-train-nccl.log\"" ;;
        eval-1-vs-2-gpus)
            echo "\"$PYTHON\" tools/test.py $BASELINE \"$DDP_CKPT\" --work-dir \"$WORK/eval_1gpu\" --out \"$WORK/eval_1gpu/results.json\" --cfg-options $(quote "${TEST_OPTS[@]}")"
            echo "PORT=29612 bash tools/dist_test.sh $BASELINE \"$DDP_CKPT\" 2 --work-dir \"$WORK/eval_2gpus\" --out \"$WORK/eval_2gpus/results.json\" --cfg-options $(quote "${TEST_OPTS[@]}")"
            echo "same_results \"$WORK/eval_1gpu\" \"$WORK/eval_2gpus\"" ;;
    esac
}
quote() { local out=() a; for a in "$@"; do out+=("$(printf '%q' "$a")"); done; echo "${out[*]}"; }
finite_losses() {  # every loss mmengine logged under a work dir is finite
    "$PYTHON" - "$1" <<'PY'
import glob, json, math, sys
losses = [r['loss'] for f in glob.glob(f'{sys.argv[1]}/*/vis_data/scalars.json')
          for r in map(json.loads, open(f)) if 'loss' in r]
print(f'{len(losses)} logged losses, last {losses[-1] if losses else None}')
sys.exit(0 if losses and all(math.isfinite(x) for x in losses) else 1)
PY
}
same_results() {  # 1 vs 2 processes: same test metrics, same predictions
    "$PYTHON" - "$@" <<'PY'
import glob, json, math, sys
metrics, preds = [], []
for work_dir in sys.argv[1:]:
    files = sorted(glob.glob(f'{work_dir}/*/*.json'))
    assert files, f'no test metrics under {work_dir}'
    rec = json.loads(open(files[-1]).read().splitlines()[-1])
    metrics.append({k: v for k, v in rec.items() if k.startswith('tal/')})
    preds.append(json.load(open(f'{work_dir}/results.json'))['results'])
(one, two), ok = metrics, True
for k in one:
    same = (math.isnan(one[k]) and math.isnan(two.get(k, 0.0))) or \
        abs(one[k] - two.get(k, math.inf)) <= 1e-6
    ok &= same
    print(f'{k:24s} 1 GPU {one[k]:.6f}  2 GPUs {two.get(k, math.nan):.6f}'
          + ('' if same else '  DIFFERENT'))
ok &= bool(one) and one.keys() == two.keys() and preds[0].keys() == preds[1].keys()
for video, dets in preds[0].items():
    other = preds[1].get(video, [])
    if len(dets) != len(other) or any(
            a['label'] != b['label'] or abs(a['score'] - b['score']) > 1e-5
            or max(abs(x - y) for x, y in zip(a['segment'], b['segment'])) > 1e-4
            for a, b in zip(dets, other)):
        print(f'predictions differ for {video}')
        ok = False
print(f'{len(preds[0])} videos, {sum(map(len, preds[0].values()))} predictions compared')
sys.exit(0 if ok else 1)
PY
}

# --- CUDA? --------------------------------------------------------------------
if ! NUM_GPUS=$("$PYTHON" -c 'import torch; print(torch.cuda.device_count() if torch.cuda.is_available() else 0)' 2>/dev/null) \
        || ! [[ "$NUM_GPUS" =~ ^[0-9]+$ ]]; then
    echo "gpu_check: \"$PYTHON\" cannot import torch; set PYTHON to the environment's interpreter (make venv: .venv/bin/python)." >&2
    [ "$DRY_RUN" = 1 ] && NUM_GPUS="unknown" || exit 2
fi

if [ "$DRY_RUN" = 1 ]; then
    echo "gpu_check (dry run): CUDA devices here: $NUM_GPUS. Planned commands, from $ROOT:"
    for step in "${STEPS[@]}"; do
        echo "[$step]${NEEDS_GPUS[$step]:+ (needs ${NEEDS_GPUS[$step]} GPUs)}"
        commands "$step" | sed 's/^/  /'
    done
    exit 0
fi
if [ "$NUM_GPUS" = 0 ]; then
    echo "gpu_check: no CUDA device here (\"$PYTHON\": torch.cuda.is_available() is False); nothing GPU-specific was run."
    exit 0
fi

# --- run ------------------------------------------------------------------------
mkdir -p "$WORK/logs"
echo "gpu_check: $NUM_GPUS CUDA device(s); work dir $WORK"
declare -A RESULT SECONDS_TAKEN
for step in "${STEPS[@]}"; do
    log="$WORK/logs/$step.log"
    dep="${AFTER[$step]:-}"
    if [ -n "${NEEDS_GPUS[$step]:-}" ] && [ "$NUM_GPUS" -lt "${NEEDS_GPUS[$step]}" ]; then
        RESULT[$step]="SKIP (needs ${NEEDS_GPUS[$step]} GPUs, found $NUM_GPUS)"; continue
    fi
    if [ -n "$dep" ] && [ "${RESULT[$dep]}" != PASS ]; then
        RESULT[$step]="FAIL (not run: $dep did not pass)"; continue
    fi
    echo "--- $step"
    start=$(date +%s)
    # each command must succeed (explicit: `set -e` is off inside an `if`)
    if (while IFS= read -r cmd <&3; do echo "+ $cmd"; eval "$cmd" </dev/null || exit 1; done 3< <(commands "$step")) >"$log" 2>&1; then
        RESULT[$step]=PASS
    else
        RESULT[$step]="FAIL (log: $log)"
        tail -n 20 "$log" | sed 's/^/    /'
    fi
    SECONDS_TAKEN[$step]=$(( $(date +%s) - start ))
done

echo
echo "gpu_check summary ($NUM_GPUS GPU(s), logs in $WORK/logs):"
failed=0
for step in "${STEPS[@]}"; do
    printf '  %-18s %s%s\n' "$step" "${RESULT[$step]}" "${SECONDS_TAKEN[$step]:+  [${SECONDS_TAKEN[$step]} s]}"
    case "${RESULT[$step]}" in FAIL*) failed=1 ;; esac
done
if [ "$failed" = 1 ]; then echo "gpu_check: FAIL"; exit 1; fi
echo "gpu_check: PASS"
