# DEPRECATED name, kept so that existing commands, scripts and docs keep
# working: this config is the model-zoo config below, unchanged (same dump,
# same training). Use the new name (configs/README.md, "Config names").
_base_ = ['./cltdr-gmg_tsp-feat_1xb16-15e_activitynet.py']
