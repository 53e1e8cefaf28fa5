"""The model index (issue 17, model-zoo form): ``model-index.yml`` imports
one ``metafile.yml`` per config folder; every entry names a config that
exists and builds with mmtal_zoom's registry, and whose model-zoo name
``{algorithm}_{feature}_{gpus}xb{batch}-{epochs}e_{dataset}`` agrees with
the config (batch size, epochs, GPUs, input features, dataset) and with the
entry's metadata. Every config except the deprecated aliases is listed."""
import re
from pathlib import Path

import pytest
import yaml
from mmengine.config import Config
from mmengine.registry import DefaultScope

from mmaction.registry import MODELS

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / 'configs'
NAME = re.compile(r'^(?P<algorithm>[a-z0-9]+(?:-[a-z0-9]+)*)'
                  r'_(?P<feature>[a-z0-9]+(?:-[a-z0-9]+)*)-feat'
                  r'_(?P<gpus>\d+)xb(?P<batch>\d+)'
                  r'-(?P<epochs>\d+)e'
                  r'_(?P<dataset>[a-z0-9]+(?:-[a-z0-9]+)*)$')
# feature token -> input dimensions its features have (backbone in_channels,
# or BMN's feat_dim)
FEATURE_DIMS = {'i3d': {2048}, 'slowfast': {2304}, 'tsp': {512},
                'tsn': {400}, 'synthetic': {256, 400}, 'egovlp': {256},
                'videomaev2-g': {1408}, 'i3d-rgb': {1024},
                'auditory-slowfast': {2304}}
# dataset token -> what the training annotation path contains
DATASET_ANNOTATIONS = {
    'embedded': 'data/embedded/', 'embedded-anet': 'data/anet_embedded/',
    'thumos14': 'data/thumos14/', 'multithumos': 'data/multithumos/',
    'thumos14-window128': 'data/thumos14/bmn_windows128/',
    'epic-kitchens100-verb': 'epic_kitchens_100_verb',
    'epic-kitchens100-noun': 'epic_kitchens_100_noun',
    'activitynet': ('data/anet_1.3/', 'data/ActivityNet/'),
    'hacs': 'data/hacs/', 'ego4d-mq': 'data/ego4d_mq/',
    'fineaction': 'data/fineaction/', 'charades': 'data/charades/',
    'epic-sounds': 'data/epic_sounds/'}


def load_yaml(path):
    with open(path) as f:
        return yaml.safe_load(f)


def metafiles():
    index = load_yaml(REPO / 'model-index.yml')
    return [REPO / rel for rel in index['Import']]


def index_entries():
    """(metafile, model entry) for every model of every imported metafile."""
    entries = []
    for path in metafiles():
        for model in load_yaml(path)['Models']:
            entries.append((path.relative_to(REPO).as_posix(), model))
    return entries


def method_folders():
    return sorted(p for p in CONFIGS.iterdir()
                  if p.is_dir() and p.name != '_base_')


def is_deprecated_alias(path):
    return path.read_text().startswith('# DEPRECATED')


def test_every_config_folder_has_readme_and_metafile_in_the_index():
    imported = {p.relative_to(REPO).as_posix() for p in metafiles()}
    assert len(imported) == len(metafiles())  # no duplicates
    for folder in method_folders():
        rel = folder.relative_to(REPO).as_posix()
        assert (folder / 'README.md').is_file(), rel
        assert (folder / 'metafile.yml').is_file(), rel
        assert f'{rel}/metafile.yml' in imported, rel
    for path in metafiles():
        assert path.is_file(), path


def test_metafiles_follow_the_model_index_schema():
    for path in metafiles():
        meta = load_yaml(path)
        collections = {c['Name']: c for c in meta['Collections']}
        for c in collections.values():
            assert (REPO / c['README']).is_file(), (path, c['README'])
            assert c['Paper']['Title'] and c['Paper']['URL'], c['Name']
        for model in meta['Models']:
            assert model['In Collection'] in collections, model['Name']
            assert Path(model['Config']).stem == model['Name']
            metadata = model['Metadata']
            assert metadata['Training Data'] and metadata['Architecture']
            for result in model.get('Results', []):
                assert result['Task'] == 'Temporal Action Localization'
                assert result['Dataset'] and result['Metrics']


def test_model_index_lists_every_config_once():
    listed = [m['Config'] for _, m in index_entries()]
    assert len(listed) == len(set(listed))
    expected = sorted(
        p.relative_to(REPO).as_posix() for folder in method_folders()
        for p in folder.glob('*.py') if not is_deprecated_alias(p))
    assert sorted(listed) == expected


def test_mim_reads_the_model_index():
    load = pytest.importorskip('modelindex.load_model_index').load
    index = load(str(REPO / 'model-index.yml'))
    assert [m.name for m in index.models] == [
        m['Name'] for _, m in index_entries()]


@pytest.mark.parametrize('metafile,entry', index_entries(),
                         ids=[m['Name'] for _, m in index_entries()])
def test_config_exists_builds_and_matches_its_name(metafile, entry):
    path = REPO / entry['Config']
    assert path.is_file(), f'{metafile}: {entry["Config"]} does not exist'
    cfg = Config.fromfile(str(path))
    with DefaultScope.overwrite_default_scope('mmaction'):
        model = MODELS.build(cfg.model)
    assert type(model).__name__ == cfg.model.type
    metadata = entry['Metadata']
    if 'train_dataloader' not in cfg:  # not a training config (extractor)
        assert NAME.match(path.stem) is None
        assert not {'Batch Size', 'Epochs'} & set(metadata)
        return
    name = NAME.match(path.stem)
    assert name, f'{path.stem} is not {NAME.pattern}'
    batch = cfg.train_dataloader.batch_size
    gpus = cfg.auto_scale_lr.base_batch_size // batch
    assert cfg.auto_scale_lr.base_batch_size == gpus * batch
    assert int(name['batch']) == batch == metadata['Batch Size']
    assert int(name['epochs']) == cfg.train_cfg.max_epochs \
        == metadata['Epochs']
    assert int(name['gpus']) == gpus
    assert metadata['Training Resources'] == \
        f'{gpus} GPU' + ('s' if gpus > 1 else '')
    # a ProposalDetector's input is its localizer's
    inner = (cfg.model.localizer if cfg.model.type == 'ProposalDetector'
             else cfg.model)
    in_dim = (inner.backbone.in_channels if 'backbone' in inner
              else inner.feat_dim)
    assert in_dim in FEATURE_DIMS[name['feature']], (path.stem, in_dim)
    ann_file = cfg.train_dataloader.dataset.ann_file
    expected = DATASET_ANNOTATIONS[name['dataset']]
    expected = expected if isinstance(expected, tuple) else (expected, )
    assert any(e in ann_file for e in expected), (path.stem, ann_file)
    algorithm = name['algorithm']
    assert algorithm.split('-')[0] in ('actionformer', 'cltdr', 'temporal',
                                       'bmn'), algorithm
