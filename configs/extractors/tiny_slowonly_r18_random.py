# A deliberately tiny, randomly initialised SlowOnly-R18 clip feature
# extractor: 8 base channels (64-d features), 8 frames x 56 x 56. It exists so
# that feature extraction can be tested on CPU in seconds without downloading
# weights; its features carry no semantic information. For real features use
# a pretrained recognizer (see docs/custom_dataset.md, "Real extractors").
default_scope = 'mmaction'

model = dict(
    type='Recognizer3D',
    backbone=dict(
        type='ResNet3dSlowOnly',
        depth=18,
        pretrained=None,
        pretrained2d=False,
        lateral=False,
        base_channels=8,
        conv1_kernel=(1, 7, 7),
        conv1_stride_t=1,
        pool1_stride_t=1,
        inflate=(0, 0, 1, 1),
        norm_eval=False),
    cls_head=dict(
        type='I3DHead',
        in_channels=64,
        num_classes=400,
        spatial_type='avg',
        dropout_ratio=0.5,
        average_clips='prob'),
    data_preprocessor=dict(
        type='ActionDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        format_shape='NCTHW'))

# MMAction2's usual test pipeline. tools/extract_features.py replaces the
# temporal sampling (SampleFrames) by sliding snippets and keeps the spatial
# steps (Resize, CenterCrop) and the clip length / frame interval.
test_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=8, frame_interval=2, num_clips=1,
         test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 64)),
    dict(type='CenterCrop', crop_size=56),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
