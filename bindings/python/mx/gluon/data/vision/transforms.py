"""Image transforms (MXNet 1.9.1's gluon.data.vision.transforms).

Images are HxWxC (or NxHxWxC) until ToTensor makes them CxHxW (NxCxHxW) float32 in [0, 1].
Every transform also takes a numpy array and then computes in numpy: that is what runs inside
DataLoader worker processes, where datasets hand out numpy arrays and mx cannot be called.
Cast, ToTensor, Normalize, the random flips, brightness and contrast are HybridBlocks; Resize and
the crops resample with Pillow on the host, so (as CenterCrop and RandomResizedCrop in MXNet) they
are plain Blocks, in _resample.py.
"""
import random

import numpy as np

from .... import ndarray as nd
from ...block import Block, HybridBlock
from ._resample import CenterCrop, RandomCrop, RandomResizedCrop, Resize, _check_image_ndim  # noqa: F401

__all__ = ["Compose", "HybridCompose", "RandomApply", "Cast", "ToTensor", "Normalize", "Resize", "CenterCrop",
           "RandomCrop", "RandomResizedCrop", "RandomFlipLeftRight", "RandomFlipTopBottom", "RandomBrightness",
           "RandomContrast"]


class Compose(Block):
    """Applies transforms (Blocks or any callables) one after the other."""

    def __init__(self, transforms):
        super().__init__()
        self._transforms = list(transforms)
        for i, t in enumerate(self._transforms):
            if isinstance(t, Block):
                self.register_child(t, str(i))
            elif not callable(t):
                raise TypeError("Compose: transform %d (%r) is neither a Block nor callable" % (i, t))

    def forward(self, x, *args):
        for t in self._transforms:
            x = t(x)
        return x


class HybridCompose(HybridBlock):
    """Applies HybridBlock transforms one after the other; hybridizes as one graph."""

    def __init__(self, transforms):
        super().__init__()
        self._transforms = list(transforms)
        for i, t in enumerate(self._transforms):
            if not isinstance(t, HybridBlock):
                raise TypeError("HybridCompose: transform %d (%r) is not a HybridBlock" % (i, t))
            self.register_child(t, str(i))

    def forward(self, x, *args):
        if isinstance(x, np.ndarray):  # numpy in a worker process: each transform's numpy path
            return self.hybrid_forward(None, x)
        return super().forward(x, *args)

    def hybrid_forward(self, F, x):
        for t in self._transforms:
            x = t(x)
        return x


class RandomApply(Block):
    """Applies transforms (a Block or callable) with probability p, else passes the input on."""

    def __init__(self, transforms, p=0.5):
        super().__init__()
        self.transforms, self.p = transforms, p

    def forward(self, x, *args):
        return self.transforms(x) if random.random() < self.p else x


class _HybridTransform(HybridBlock):
    """A HybridBlock that computes in numpy (_forward_numpy) when given a numpy array."""

    def forward(self, x, *args):
        if isinstance(x, np.ndarray):
            return self._forward_numpy(x)
        return super().forward(x, *args)

    def _forward_numpy(self, x):
        raise NotImplementedError


class Cast(_HybridTransform):
    """Casts the input to dtype."""

    def __init__(self, dtype="float32"):
        super().__init__()
        self._dtype = np.dtype(dtype).name

    def hybrid_forward(self, F, x):
        return F.cast(x, dtype=self._dtype)

    def _forward_numpy(self, x):
        return x.astype(self._dtype)


class ToTensor(_HybridTransform):
    """HxWxC (NxHxWxC) uint8 in [0, 255] -> CxHxW (NxCxHxW) float32 in [0, 1]."""

    def hybrid_forward(self, F, x):
        if isinstance(x, nd.NDArray):  # the rank is known: one transpose instead of two swaps
            _check_image_ndim(self, x.shape)
            x = F.transpose(x, axes=(2, 0, 1) if x.ndim == 3 else (0, 3, 1, 2))
        else:
            x = F.swapaxes(F.swapaxes(x, dim1=-3, dim2=-1), dim1=-2, dim2=-1)  # HWC -> CWH -> CHW
        return F.cast(x, dtype="float32") / 255.0

    def _forward_numpy(self, x):
        _check_image_ndim(self, x.shape)
        return np.ascontiguousarray(np.moveaxis(x.astype(np.float32) / np.float32(255), -1, -3))


class Normalize(_HybridTransform):
    """(x - mean) / std per channel of a CxHxW (NxCxHxW) tensor; mean and std are numbers (all
    channels) or one value per channel."""

    def __init__(self, mean=0.0, std=1.0):
        super().__init__()
        self._mean = tuple(float(m) for m in np.atleast_1d(mean))
        self._std = tuple(float(s) for s in np.atleast_1d(std))
        self._channels = max(len(self._mean), len(self._std))
        for name, values in (("mean", self._mean), ("std", self._std)):
            if len(values) not in (1, self._channels):
                raise ValueError("Normalize: mean has %d values and std has %d; each must have 1 or "
                                 "one per channel" % (len(self._mean), len(self._std)))
        self._cached_key = self._cached = None  # the (C, 1, 1) mean and std NDArrays, per device and dtype
        if any(s == 0 for s in self._std):
            raise ValueError("Normalize: std must not be 0, got %s" % (self._std,))

    def _per_channel(self, values):
        return values * self._channels if len(values) == 1 else values

    def _check(self, shape):
        _check_image_ndim(self, shape)
        if self._channels > 1 and shape[-3] != self._channels:
            raise ValueError("Normalize: %d mean/std values but the input of shape %s has %d channels"
                             % (self._channels, tuple(shape), shape[-3]))

    def hybrid_forward(self, F, x):
        if self._channels == 1:
            if isinstance(x, nd.NDArray):
                self._check(x.shape)
            return (x - self._mean[0]) / self._std[0]
        if isinstance(x, nd.NDArray):  # two broadcast ops against cached (C, 1, 1) arrays
            self._check(x.shape)
            mean, std = self._constants(x)
            return F.broadcast_div(F.broadcast_sub(x, mean), std)
        parts = F.split(x, num_outputs=self._channels, axis=-3)
        mean, std = self._per_channel(self._mean), self._per_channel(self._std)
        out = [(parts[c] - mean[c]) / std[c] for c in range(self._channels)]  # index: a Symbol doesn't iterate
        return F.concat(*out, dim=-3)

    def _constants(self, x):
        key = (x.context, x.dtype)
        if self._cached_key != key:
            shape = (self._channels, 1, 1)
            self._cached = tuple(nd.array(np.reshape(self._per_channel(v), shape), ctx=x.context, dtype=x.dtype)
                                 for v in (self._mean, self._std))
            self._cached_key = key
        return self._cached

    def _forward_numpy(self, x):
        self._check(x.shape)
        shape = (-1, 1, 1)
        mean = np.array(self._per_channel(self._mean), np.float32).reshape(shape)
        std = np.array(self._per_channel(self._std), np.float32).reshape(shape)
        return ((x - mean) / std).astype(np.result_type(x.dtype, np.float32))


class _RandomFlip(_HybridTransform):
    """Flips along the image's axis (from the end: -2 width, -3 height) with probability 0.5."""
    _axis = None

    def hybrid_forward(self, F, x):
        flip = F.random.uniform(shape=(1,)) < 0.5
        cond = F.broadcast_mul(F.cast(F.ones_like(x), dtype="float32"), flip)
        return F.where(cond, F.flip(x, axis=self._axis), x)

    def _forward_numpy(self, x):
        _check_image_ndim(self, x.shape)
        return np.ascontiguousarray(np.flip(x, self._axis)) if np.random.rand() < 0.5 else x


class RandomFlipLeftRight(_RandomFlip):
    """Flips an HxWxC image left-right with probability 0.5."""
    _axis = -2


class RandomFlipTopBottom(_RandomFlip):
    """Flips an HxWxC image top-bottom with probability 0.5."""
    _axis = -3


def _saturate_like(F, y, x):
    """float32 y cast to x's dtype; for an integer x (uint8 images) clipped to [0, 255] first, as
    MXNet's saturating image ops. Works without knowing x's dtype (a Symbol's isn't known): 0.5
    cast to x's dtype and back is 0.5 for a float type and 0 for an integer one."""
    is_float = F.cast(F._cast_like(F.ones(shape=(1,)) * 0.5, x), dtype="float32") * 2
    clipped = F.clip(y, a_min=0.0, a_max=255.0)
    return F._cast_like(F.broadcast_add(clipped, F.broadcast_mul(y - clipped, is_float)), x)


def _saturate_np(y, x):
    if np.issubdtype(x.dtype, np.integer):
        y = np.clip(y, 0, 255)
    return y.astype(x.dtype)


class _RandomJitter(_HybridTransform):
    """Scales by a factor alpha drawn uniformly from [max(0, 1 - amount), 1 + amount]."""

    def __init__(self, amount):
        super().__init__()
        if amount < 0:
            raise ValueError("%s: the amount must be >= 0, got %r" % (type(self).__name__, amount))
        self._low, self._high = max(0.0, 1.0 - amount), 1.0 + amount


class RandomBrightness(_RandomJitter):
    """Multiplies the image by alpha in [max(0, 1 - brightness), 1 + brightness]."""

    def __init__(self, brightness):
        super().__init__(brightness)

    def hybrid_forward(self, F, x):
        alpha = F.random.uniform(low=self._low, high=self._high, shape=(1,))
        return _saturate_like(F, F.broadcast_mul(F.cast(x, dtype="float32"), alpha), x)

    def _forward_numpy(self, x):
        alpha = np.random.uniform(self._low, self._high)
        return _saturate_np(x.astype(np.float32) * np.float32(alpha), x)


class RandomContrast(_RandomJitter):
    """Blends an HxWx3 RGB image with its mean gray level (0.299 R + 0.587 G + 0.114 B):
    alpha * x + (1 - alpha) * gray, alpha in [max(0, 1 - contrast), 1 + contrast]."""

    def __init__(self, contrast):
        super().__init__(contrast)

    def _check(self, shape):
        if len(shape) != 3 or shape[2] != 3:
            raise ValueError("RandomContrast: expects one HxWx3 RGB image, got shape %s" % (tuple(shape),))

    def hybrid_forward(self, F, x):
        if isinstance(x, nd.NDArray):
            self._check(x.shape)
        alpha = F.random.uniform(low=self._low, high=self._high, shape=(1,))
        xf = F.cast(x, dtype="float32")
        rgb = F.split(xf, num_outputs=3, axis=-1)
        gray = F.mean(rgb[0] * 0.299 + rgb[1] * 0.587 + rgb[2] * 0.114)
        y = F.broadcast_add(F.broadcast_mul(xf, alpha), F.broadcast_mul(1 - alpha, gray))
        return _saturate_like(F, y, x)

    def _forward_numpy(self, x):
        self._check(x.shape)
        alpha = np.float32(np.random.uniform(self._low, self._high))
        xf = x.astype(np.float32)
        gray = (xf @ np.array([0.299, 0.587, 0.114], np.float32)).mean()
        return _saturate_np(xf * alpha + (1 - alpha) * gray, x)
