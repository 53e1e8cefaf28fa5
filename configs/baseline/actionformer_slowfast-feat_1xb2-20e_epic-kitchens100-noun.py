# ActionFormer on EPIC-KITCHENS-100 nouns: the verb config with the noun
# annotation file and its 300 classes (the classes of
# epic_kitchens_100_noun.json; some have no instance). ActionFormer paper
# (EPIC-KITCHENS table): 21.9 average mAP (noun). Not yet measured here.
_base_ = ['./actionformer_slowfast-feat_1xb2-20e_epic-kitchens100-verb.py']
ann_file = 'data/epic_kitchens/annotations/epic_kitchens_100_noun.json'
model = dict(head=dict(num_classes=300))
train_dataloader = dict(dataset=dict(ann_file=ann_file))
val_dataloader = dict(dataset=dict(ann_file=ann_file))
test_dataloader = val_dataloader
