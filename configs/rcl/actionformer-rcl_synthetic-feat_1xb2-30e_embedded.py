# RCL as a second-stage proposal refiner of the uniform baseline
# (ActionFormer parts,
# configs/baseline/actionformer_synthetic-feat_1xb2-30e_embedded.py): the
# baseline head proposes, RCL's continuous anchoring representation + recurrent
# refine module re-scores and moves the boundaries of its top candidates on
# the finest pyramid level. See mmtal_zoom/models/heads/rcl_refined_head.py.
_base_ = ['../baseline/actionformer_synthetic-feat_1xb2-30e_embedded.py']
model = dict(
    head=dict(
        _delete_=True,
        type='RCLRefinedHead',
        head={{_base_.model.head}},
        refiner=dict(
            type='RCLHead', feat_channels=64, embed_channels=128,
            refine=dict(type='RecurrentRefineModule', hidden_channels=64,
                        num_iters=4)),
        refine_level=0,
        num_train_proposals=256,
        num_test_proposals=1000))
