# THUMOS14 with two-stream I3D features (2048-d, stride 4, 16 frames, 30 fps)
# cut into 128-snippet windows in MMAction2's ActivityNet layout, so that
# MMAction2's BMN pipeline (ActivityNetDataset, LoadLocalizationFeature,
# GenerateLocalizationLabels, ANetMetric) trains BMN-style localizers on it,
# as BMN / G-TAD / RCL run on THUMOS14. Written by
#   python tools/bmn_windows.py split \
#       --ann data/thumos14/annotations/thumos14.json \
#       --features data/thumos14/i3d_features \
#       --out data/thumos14/bmn_windows128 --window 128 \
#       --subset-map Validation=train Test=test
# The evaluator only dumps the windows' proposals (ANetMetric's 'TEM' mode):
# AR@AN per window would not be the video-level figure, and MMAction2's AR
# fails on windows without ground truth. The video-level result is
# `tools/bmn_windows.py stitch` on that dump, then tools/eval_detection.py
# against thumos14.json.
_base_ = ['./anet_bmn_feature.py']
data_root = 'data/thumos14/bmn_windows128/'
feature_dir = data_root + 'csv_window128'
train_dataloader = dict(
    batch_size=16,
    dataset=dict(ann_file=data_root + 'anet_anno_train.json',
                 data_prefix=dict(video=feature_dir)))
val_dataloader = dict(
    dataset=dict(ann_file=data_root + 'anet_anno_test.json',
                 data_prefix=dict(video=feature_dir)))
test_dataloader = val_dataloader
val_evaluator = dict(metric_type='TEM')
test_evaluator = val_evaluator
auto_scale_lr = dict(enable=False, base_batch_size=16)  # 1 GPU x batch 16
