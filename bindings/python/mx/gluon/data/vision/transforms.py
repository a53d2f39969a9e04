"""Image transforms (MXNet 1.9.1's gluon.data.vision.transforms).

Images are HxWxC (or NxHxWxC) until ToTensor makes them CxHxW (NxCxHxW) float32 in [0, 1].
Every transform also takes a numpy array and then computes in numpy: that is what runs inside
DataLoader worker processes, where datasets hand out numpy arrays and mx cannot be called.
Cast, ToTensor, Normalize and the random flips are HybridBlocks; Resize, CenterCrop and
RandomResizedCrop resample with Pillow on the host, so (as CenterCrop and RandomResizedCrop in
MXNet) they are plain Blocks.
"""
import math
import random

import numpy as np

from .... import ndarray as nd
from ...block import Block
from ...hybrid_block import HybridBlock

__all__ = ["Compose", "Cast", "ToTensor", "Normalize", "Resize", "CenterCrop", "RandomResizedCrop",
           "RandomFlipLeftRight", "RandomFlipTopBottom"]


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


class _HybridTransform(HybridBlock):
    """A HybridBlock that computes in numpy (_forward_numpy) when given a numpy array."""

    def forward(self, x, *args):
        if isinstance(x, np.ndarray):
            return self._forward_numpy(x)
        return super().forward(x, *args)

    def _forward_numpy(self, x):
        raise NotImplementedError


def _check_image_ndim(block, shape):
    if len(shape) not in (3, 4):
        raise ValueError("%s: expects a 3-d (one image) or 4-d (a batch) array, got shape %s"
                         % (type(block).__name__, tuple(shape)))


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
        if isinstance(x, nd.NDArray):
            _check_image_ndim(self, x.shape)
        x = F.cast(x, dtype="float32") / 255.0
        return F.swapaxes(F.swapaxes(x, dim1=-3, dim2=-1), dim1=-2, dim2=-1)  # HWC -> CWH -> CHW

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
        if isinstance(x, nd.NDArray):
            self._check(x.shape)
        if self._channels == 1:
            return (x - self._mean[0]) / self._std[0]
        parts = F.split(x, num_outputs=self._channels, axis=-3)
        mean, std = self._per_channel(self._mean), self._per_channel(self._std)
        out = [(parts[c] - mean[c]) / std[c] for c in range(self._channels)]  # index: a Symbol doesn't iterate
        return F.concat(*out, dim=-3)

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


# ---------------------------------------------------------------- Pillow-resampled transforms

# OpenCV's interpolation codes, as MXNet takes them, to Pillow's filters.
_PIL_FILTERS = {0: 0, 1: 2, 2: 4, 3: 3, 4: 1}  # nearest, bilinear, area->box, bicubic, lanczos


def _resize_np(img, width, height, interpolation):
    """Resizes one HxWxC image to height x width with Pillow (uint8 channels as L/RGB, else 'F')."""
    from PIL import Image
    if interpolation not in _PIL_FILTERS:
        raise ValueError("interpolation must be one of %s (OpenCV's codes), got %r"
                         % (sorted(_PIL_FILTERS), interpolation))
    if width <= 0 or height <= 0:
        raise ValueError("cannot resize an image of shape %s to %dx%d" % (img.shape, width, height))
    resample = _PIL_FILTERS[interpolation]
    if img.dtype == np.uint8 and img.shape[2] in (1, 3):
        mode = "L" if img.shape[2] == 1 else "RGB"
        out = np.asarray(Image.fromarray(np.ascontiguousarray(img if mode == "RGB" else img[:, :, 0]), mode)
                         .resize((width, height), resample))
        return out.reshape(height, width, img.shape[2])
    chans = [np.asarray(Image.fromarray(np.ascontiguousarray(img[:, :, c], dtype=np.float32), "F")
                        .resize((width, height), resample)) for c in range(img.shape[2])]
    return np.stack(chans, axis=2).astype(img.dtype)


class _HostTransform(Block):
    """A Block that works on one HxWxC image (or each of NxHxWxC) as numpy, on NDArray or numpy."""

    def forward(self, x):
        arr = x.asnumpy() if isinstance(x, nd.NDArray) else np.asarray(x)
        _check_image_ndim(self, arr.shape)
        out = np.stack([self._one(a) for a in arr]) if arr.ndim == 4 else self._one(arr)
        return nd.array(out, dtype=out.dtype) if isinstance(x, nd.NDArray) else out

    def _one(self, img):
        raise NotImplementedError


def _size_pair(name, size):
    """(width, height) from an int or a (width, height) pair."""
    pair = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
    if len(pair) != 2 or any(int(s) <= 0 for s in pair):
        raise ValueError("%s: size must be a positive int or (width, height), got %r" % (name, size))
    return int(pair[0]), int(pair[1])


class Resize(_HostTransform):
    """Resizes to size = (width, height), or to size x size; with keep_ratio and an int size the
    shorter side becomes size and the other keeps the aspect ratio. interpolation takes OpenCV's
    codes: 0 nearest, 1 bilinear, 2 area, 3 bicubic, 4 lanczos."""

    def __init__(self, size, keep_ratio=False, interpolation=1):
        super().__init__()
        self._size, self._keep = size, keep_ratio
        _size_pair("Resize", size)
        self._interp = interpolation

    def _one(self, img):
        h, w = img.shape[:2]
        if isinstance(self._size, (int, np.integer)) and self._keep:
            if h > w:
                width, height = self._size, int(h * self._size / w)
            else:
                width, height = int(w * self._size / h), self._size
        else:
            width, height = _size_pair("Resize", self._size)
        return _resize_np(img, width, height, self._interp)


def _crop_resize(img, x0, y0, w, h, size, interp):
    out = img[y0:y0 + h, x0:x0 + w]
    if (w, h) != size:
        out = _resize_np(out, size[0], size[1], interp)
    return np.ascontiguousarray(out)


def _center_crop(img, size, interp):
    h, w = img.shape[:2]
    cw, ch = size
    if cw > w or ch > h:  # as MXNet: shrink the crop to fit, keeping its aspect, then resize up
        scale = min(w / cw, h / ch)
        cw, ch = int(cw * scale), int(ch * scale)
    return _crop_resize(img, (w - cw) // 2, (h - ch) // 2, cw, ch, size, interp)


class CenterCrop(_HostTransform):
    """Crops the centre size = (width, height) (or size x size); an image smaller than that is
    cropped at its own aspect ratio and resized up."""

    def __init__(self, size, interpolation=1):
        super().__init__()
        self._size = _size_pair("CenterCrop", size)
        self._interp = interpolation

    def _one(self, img):
        return _center_crop(img, self._size, self._interp)


class RandomResizedCrop(_HostTransform):
    """Crops a random area (scale of the image's area, aspect ratio in ratio, log-uniform) and
    resizes it to size; after 10 failed draws falls back to a centre crop (as MXNet)."""

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0), interpolation=1):
        super().__init__()
        self._size = _size_pair("RandomResizedCrop", size)
        if not 0 < scale[0] <= scale[1] or not 0 < ratio[0] <= ratio[1]:
            raise ValueError("RandomResizedCrop: need 0 < scale[0] <= scale[1] and 0 < ratio[0] <= "
                             "ratio[1], got scale=%r ratio=%r" % (scale, ratio))
        self._scale, self._ratio, self._interp = scale, ratio, interpolation

    def _one(self, img):
        h, w = img.shape[:2]
        for _ in range(10):
            area = random.uniform(*self._scale) * h * w
            aspect = math.exp(random.uniform(math.log(self._ratio[0]), math.log(self._ratio[1])))
            cw, ch = int(round(math.sqrt(area * aspect))), int(round(math.sqrt(area / aspect)))
            if 0 < cw <= w and 0 < ch <= h:
                x0, y0 = random.randint(0, w - cw), random.randint(0, h - ch)
                return _crop_resize(img, x0, y0, cw, ch, self._size, self._interp)
        return _center_crop(img, self._size, self._interp)
