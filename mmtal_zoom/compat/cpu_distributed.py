"""CPU DDP under mmengine's PyTorch launcher (``--launcher pytorch``).

mmengine 0.10.7's ``_init_dist_pytorch`` calls ``torch.cuda.set_device``
unconditionally and defaults to the NCCL backend, and the runner wraps the
model in ``MMDistributedDataParallel`` with ``device_ids=[LOCAL_RANK]``,
which DDP forbids for CPU modules. Without CUDA we skip ``set_device``, use
``gloo``, and drop ``device_ids``. Only applied when CUDA is unavailable;
delete when mmengine's launcher supports CPU-only machines.
"""
import os


def _patch_cpu_distributed() -> bool:
    import torch
    if torch.cuda.is_available():
        return False
    import torch.distributed as torch_dist
    from mmengine.dist import utils as dist_utils
    from mmengine.model.wrappers import distributed as mm_ddp

    original_init = dist_utils._init_dist_pytorch
    if getattr(original_init, '_mmtal_zoom_cpu', False):
        return True

    def _init_dist_pytorch_cpu(backend='gloo', init_backend='torch',
                               **kwargs):
        # No CUDA: skip torch.cuda.set_device and use gloo (NCCL needs GPUs).
        if init_backend != 'torch':
            return original_init(backend, init_backend, **kwargs)
        if backend == 'nccl':
            backend = 'gloo'
        torch_dist.init_process_group(
            backend=backend,
            rank=int(os.environ['RANK']),
            world_size=int(os.environ['WORLD_SIZE']),
            **kwargs)

    _init_dist_pytorch_cpu._mmtal_zoom_cpu = True
    dist_utils._init_dist_pytorch = _init_dist_pytorch_cpu

    ddp_cls = mm_ddp.MMDistributedDataParallel
    original_ddp_init = ddp_cls.__init__
    if not getattr(original_ddp_init, '_mmtal_zoom_cpu', False):

        def __init__(self, module, detect_anomalous_params=False, **kwargs):
            # DDP forbids device_ids for CPU modules; the runner always
            # passes [LOCAL_RANK].
            params = list(module.parameters())
            if params and params[0].device.type == 'cpu':
                kwargs['device_ids'] = None
                kwargs.pop('output_device', None)
            original_ddp_init(
                self, module,
                detect_anomalous_params=detect_anomalous_params, **kwargs)

        __init__._mmtal_zoom_cpu = True
        ddp_cls.__init__ = __init__
    return True
