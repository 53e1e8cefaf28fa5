# CLTDR-GMG on the embedded benchmark, CPU-sized and on the same data,
# schedule and pyramid as
# configs/baseline/actionformer_synthetic-feat_1xb2-30e_embedded.py so that
# the two compare like for like: 256-d features, 128-d pyramid of 6 levels,
# max_seq_len 768. GMG: FFN 1.5 x D (THUMOS14's 768 / 512), local kernel 3,
# paper defaults otherwise; 16 Trident bins; input noise 0.05 (the THUMOS14
# setting). 10 classes: the default embedded dataset's
# (tools/make_synthetic_dataset.py).
# Two departures from the paper's model, chosen once on the benchmark
# family's val splits (docs/cltdr_gmg.md, "Choosing the CPU config on the
# family"): GMG without its instant branch (paper Table 6's local + global
# row) and regression from all three pyramid layers (Table 9's last row);
# the THUMOS14 / ActivityNet configs keep the paper's model.
_base_ = [
    '../_base_/models/cltdr_gmg.py', '../_base_/datasets/embedded.py',
    '../_base_/schedules/adamw_cosine_cpu.py',
    '../_base_/default_runtime.py'
]
embed_dims = 128
num_levels = 6
model = dict(
    data_preprocessor=dict(max_seq_len=768, pad_size_divisor=32,
                           noise_std=0.05),
    backbone=dict(in_channels=256, embed_dims=embed_dims),
    neck=dict(in_channels=embed_dims, num_levels=num_levels,
              ffn_dims=192, drop_path=0.1, use_instant=False),
    head=dict(num_classes=10, in_channels=embed_dims,
              feat_channels=embed_dims, num_bins=16,
              reg_layers=[1, 0, -1]))
