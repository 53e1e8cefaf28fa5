"""``ANetMetric`` (AR@AN) under DDP: ground truth gathered with the results.

mmaction2 1.2.0's ``ANetMetric.process`` stores each video's ground truth in
``self.ground_truth`` of the process that evaluated it, but only
``self.results`` is gathered across processes; rank 0 then computes AR@AN
and AUC against its own share of the ground truth (wrong numbers under
``dist_test.sh`` / ``dist_train.sh``). Each video's ground truth travels
inside its gathered result and ``self.ground_truth`` is rebuilt from the
gathered results before computing. Applied only while ``process`` writes
``self.ground_truth`` (:func:`_anet_metric_needs_gt_gathering`); delete when
mmaction2 gathers the ground truth itself.
"""
_ANET_GT_KEY = '_mmtal_zoom_anet_gt'


def _anet_metric_needs_gt_gathering(cls) -> bool:
    """The bug exists when ``process`` writes ``self.ground_truth``."""
    import inspect
    try:
        src = inspect.getsource(cls.process)
    except (OSError, TypeError):
        return False
    return 'self.ground_truth[' in src and hasattr(cls, 'compute_ARAN')


def _patch_anet_metric_ddp() -> bool:
    from mmaction.evaluation.metrics import anet_metric
    cls = anet_metric.ANetMetric
    if getattr(cls.process, '_mmtal_zoom_ddp', False):
        return True
    if not _anet_metric_needs_gt_gathering(cls):
        return False
    original_process = cls.process
    original_compute = cls.compute_metrics

    def process(self, data_batch, predictions):
        num_before = len(self.results)
        original_process(self, data_batch, predictions)
        if self.metric_type != 'AR@AN':
            return
        # attach the ground truth to this batch's results (copies: the
        # model's output dicts are left untouched)
        for i in range(num_before, len(self.results)):
            result = self.results[i]
            if not isinstance(result, dict) or 'video_name' not in result:
                continue
            video_id = result['video_name'][2:]
            if video_id in self.ground_truth:
                self.results[i] = {**result,
                                   _ANET_GT_KEY: self.ground_truth[video_id]}

    def compute_metrics(self, results):
        if self.metric_type == 'AR@AN' and any(
                isinstance(r, dict) and _ANET_GT_KEY in r for r in results):
            ground_truth = {}
            cleaned = []
            for r in results:
                if isinstance(r, dict) and _ANET_GT_KEY in r:
                    ground_truth[r['video_name'][2:]] = r[_ANET_GT_KEY]
                    r = {k: v for k, v in r.items() if k != _ANET_GT_KEY}
                cleaned.append(r)
            # exactly the evaluated videos of every process
            self.ground_truth = ground_truth
            results = cleaned
        return original_compute(self, results)

    process._mmtal_zoom_ddp = True
    compute_metrics._mmtal_zoom_ddp = True
    process.__doc__ = original_process.__doc__
    compute_metrics.__doc__ = original_compute.__doc__
    cls.process = process
    cls.compute_metrics = compute_metrics
    return True
