"""docs/custom_dataset.md's five commands run as written (outputs redirected
to a temporary folder) on the two real sample videos."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / 'docs' / 'custom_dataset.md'


def walkthrough_script(doc_text: str) -> str:
    begin = doc_text.index('<!-- walkthrough:begin')
    end = doc_text.index('<!-- walkthrough:end -->')
    blocks = re.findall(r'```bash\n(.*?)```', doc_text[begin:end], re.S)
    assert len(blocks) == 5, 'the walkthrough has five bash blocks'
    return '\n'.join(blocks)


@pytest.mark.slow
def test_walkthrough_runs(shared_data, tmp_path):
    script = walkthrough_script(DOC.read_text())
    assert script.count('python tools/') == 5  # five commands
    work = tmp_path / 'custom_demo'
    work.mkdir()
    script = script.replace('work_dirs/custom_demo', str(work))
    script = script.replace("'../../configs/", f"'{REPO}/configs/")
    env = dict(os.environ, OMP_NUM_THREADS='1',
               PATH=f'{Path(sys.executable).parent}:{os.environ["PATH"]}')
    res = subprocess.run(['bash', '-euo', 'pipefail', '-c', script],
                         cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=400)
    assert res.returncode == 0, (res.stdout[-3000:], res.stderr[-3000:])
    manifest = json.loads((work / 'features' / 'manifest.json').read_text())
    assert manifest['feat_dim'] == 64
    assert {v: e['feat_len'] for v, e in manifest['videos'].items()} == \
        dict(highjump=178, tennis26=81)
    ann = json.loads((work / 'annotations.json').read_text())['database']
    assert sorted(ann) == ['highjump', 'tennis26']
    assert 'result     OK' in res.stdout
    assert (work / 'epoch_60.pth').is_file()
    results = json.loads((work / 'results.json').read_text())['results']
    assert sorted(results) == ['highjump', 'tennis26']
    assert (work / 'timeline.png').read_bytes()[:4] == b'\x89PNG'
    assert 'TennisSwing' in res.stdout
