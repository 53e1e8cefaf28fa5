"""tools/slurm_train.sh, tools/slurm_test.sh and tools/gpu_check.sh on a CPU
machine: the commands they build (a stand-in ``srun`` / interpreter records
them), their usage errors, and gpu_check's PASS / FAIL / SKIP summary and
exit status."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
TOOLS = REPO / 'tools'


def bash(args, env=None, cwd=REPO):
    return subprocess.run(['bash', *map(str, args)], cwd=cwd,
                          env=dict(os.environ, **(env or {})),
                          capture_output=True, text=True, timeout=120)


def stand_in(path, body):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('#!/usr/bin/env bash\n' + body)
    path.chmod(0o755)
    return path


@pytest.fixture
def fake_srun(tmp_path):
    """An ``srun`` on PATH that prints its arguments, one per line."""
    stand_in(tmp_path / 'bin' / 'srun', 'printf "%s\\n" "$@"\n')
    return dict(PATH=f'{tmp_path / "bin"}:{os.environ["PATH"]}')


def test_slurm_train_builds_the_srun_command(fake_srun):
    env = dict(fake_srun, GPUS='16', GPUS_PER_NODE='8',
               SRUN_ARGS='--quotatype=auto --time=1:00', PYTHON='python3')
    proc = bash([TOOLS / 'slurm_train.sh', 'gpu-part', 'job1', 'my cfg.py',
                 '--work-dir', 'a b', '--cfg-options', 'x.y=1'], env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        '-p', 'gpu-part', '--job-name=job1', '--gres=gpu:8', '--ntasks=16',
        '--ntasks-per-node=8', '--cpus-per-task=5', '--kill-on-bad-exit=1',
        '--quotatype=auto', '--time=1:00', 'python3', '-u',
        str(TOOLS / 'train.py'), 'my cfg.py', '--launcher=slurm',
        '--work-dir', 'a b', '--cfg-options', 'x.y=1']


def test_slurm_test_builds_the_srun_command(fake_srun):
    proc = bash([TOOLS / 'slurm_test.sh', 'p', 'j', 'cfg.py', 'ckpt.pth',
                 '--out', 'r.json'], dict(fake_srun, GPUS='2'))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    # fewer than 8 GPUs: one node with all of them
    assert lines[:6] == ['-p', 'p', '--job-name=j', '--gres=gpu:2',
                         '--ntasks=2', '--ntasks-per-node=2']
    assert lines[-6:] == [str(TOOLS / 'test.py'), 'cfg.py', 'ckpt.pth',
                          '--launcher=slurm', '--out', 'r.json']


@pytest.mark.parametrize('script,args', [('slurm_train.sh', ['p', 'j']),
                                         ('slurm_test.sh', ['p', 'j', 'c'])])
def test_slurm_scripts_print_usage(script, args, fake_srun):
    proc = bash([TOOLS / script, *args], fake_srun)
    assert proc.returncode == 2 and 'usage:' in proc.stderr


# ---------------------------------------------------------------------------
# tools/gpu_check.sh
# ---------------------------------------------------------------------------
GPU_BASELINE = ('configs/baseline/'
                'actionformer_synthetic-feat_1xb2-30e_embedded.py')
GPU_CLTDR = 'configs/cltdr_gmg/cltdr-gmg_synthetic-feat_1xb2-30e_embedded.py'


def test_gpu_check_dry_run_prints_the_plan(tmp_path):
    work = tmp_path / 'work'
    proc = bash([TOOLS / 'gpu_check.sh', '--dry-run', '--work-dir', work],
                dict(PYTHON=sys.executable))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for expected in [
            '-m pytest tests -m cuda',
            'tools/make_synthetic_dataset.py --out',
            f'tools/train.py {GPU_BASELINE} --amp',
            f'tools/train.py {GPU_CLTDR} --amp',
            f'bash tools/dist_train.sh {GPU_BASELINE} 2 ',
            'env_cfg.dist_cfg.backend=nccl', "grep -q 'NCCL INFO'",
            f'tools/test.py {GPU_BASELINE}',
            f'bash tools/dist_test.sh {GPU_BASELINE}',
            'test_dataloader.batch_size=1', 'same_results', 'finite_losses',
            'grep -q AmpOptimWrapper',
            '[dist-train-nccl] (needs 2 GPUs)']:
        assert expected in out, expected
    assert f'--work-dir "{work}/amp_baseline"' in out
    assert not work.exists()  # nothing ran


@pytest.mark.skipif(torch.cuda.is_available(), reason='a CUDA machine')
def test_gpu_check_without_cuda_runs_nothing(tmp_path):
    work = tmp_path / 'work'
    proc = bash([TOOLS / 'gpu_check.sh', '--work-dir', work],
                dict(PYTHON=sys.executable))
    assert proc.returncode == 0, proc.stderr
    assert 'no CUDA device here' in proc.stdout
    assert 'nothing GPU-specific was run' in proc.stdout
    assert not work.exists()


def test_gpu_check_usage_errors(tmp_path):
    proc = bash([TOOLS / 'gpu_check.sh', '--bogus'])
    assert proc.returncode == 2 and "unknown argument '--bogus'" in proc.stderr
    proc = bash([TOOLS / 'gpu_check.sh'],
                dict(PYTHON=str(stand_in(tmp_path / 'py', 'exit 1\n'))))
    assert proc.returncode == 2 and 'cannot import torch' in proc.stderr


def _fake_python(tmp_path, gpus, rc):
    """An interpreter that reports ``gpus`` CUDA devices and answers every
    other command with exit status ``rc`` (a training run leaves the log
    line the amp steps look for)."""
    return str(stand_in(tmp_path / 'fakepython', f'''
case "$*" in *device_count*) echo {gpus}; exit 0 ;; esac
prev=
for a in "$@"; do
    if [ "$prev" = --work-dir ]; then
        mkdir -p "$a/run" && echo "type='AmpOptimWrapper'" > "$a/run/run.log"
    fi
    prev=$a
done
echo "fake run: $*"
exit {rc}
'''))


def test_gpu_check_reports_failures_and_exits_1(tmp_path):
    proc = bash([TOOLS / 'gpu_check.sh', '--work-dir', tmp_path / 'w'],
                dict(PYTHON=_fake_python(tmp_path, gpus=2, rc=1)))
    assert proc.returncode == 1
    summary = proc.stdout[proc.stdout.index('gpu_check summary'):]
    assert 'cuda-tests         FAIL (log: ' in summary
    assert 'amp-baseline       FAIL (not run: data did not pass)' in summary
    assert 'eval-1-vs-2-gpus   FAIL (not run: dist-train-nccl did not ' \
        'pass)' in summary
    assert summary.rstrip().endswith('gpu_check: FAIL')
    log = (tmp_path / 'w' / 'logs' / 'cuda-tests.log').read_text()
    assert 'fake run: -m pytest tests -m cuda' in log


def test_gpu_check_passes_and_skips_what_needs_two_gpus(tmp_path):
    proc = bash([TOOLS / 'gpu_check.sh', '--work-dir', tmp_path / 'w'],
                dict(PYTHON=_fake_python(tmp_path, gpus=1, rc=0)))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = proc.stdout[proc.stdout.index('gpu_check summary'):]
    for step in ('cuda-tests', 'data', 'amp-baseline', 'amp-cltdr-gmg'):
        assert f'{step:18s} PASS' in summary
    assert 'dist-train-nccl    SKIP (needs 2 GPUs, found 1)' in summary
    assert summary.rstrip().endswith('gpu_check: PASS')
