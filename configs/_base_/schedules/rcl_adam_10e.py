# RCL's ActivityNet-1.3 schedule (RCL, Sec. 4.1, "Implementation details"):
# Adam, batch 16, lr 1e-3 for 5 epochs, then / 10 for 5 more. Weight decay
# and clipping as MMAction2's BMN schedule (the paper names neither; its L2
# term lambda_3 is the model's l2_weight).
_base_ = ['./bmn_adam_9e.py']
max_epochs = 10
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True,
         milestones=[5], gamma=0.1)
]
