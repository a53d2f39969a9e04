"""The transforms that resample with Pillow on the host (resize and crops): plain Blocks, as
CenterCrop and RandomResizedCrop are in MXNet, working on one HxWxC image or each of NxHxWxC, on
NDArray (returning NDArray) or numpy (returning numpy, as in DataLoader worker processes)."""
import math
import random

import numpy as np

from .... import ndarray as nd
from ...block import Block

__all__ = ["Resize", "CenterCrop", "RandomCrop", "RandomResizedCrop"]


def _check_image_ndim(block, shape):
    if len(shape) not in (3, 4):
        raise ValueError("%s: expects a 3-d (one image) or 4-d (a batch) array, got shape %s"
                         % (type(block).__name__, tuple(shape)))

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


class RandomCrop(_HostTransform):
    """Pads each side by pad (an int, or numpy.pad's per-axis widths) with pad_value, then crops
    a random size = (width, height) window; a too small image is cropped at its own aspect ratio
    and resized up, as MXNet's image.random_crop."""

    def __init__(self, size, pad=None, pad_value=0, interpolation=1):
        super().__init__()
        self._size = _size_pair("RandomCrop", size)
        self._pad = ((pad, pad), (pad, pad), (0, 0)) if isinstance(pad, (int, np.integer)) else pad
        self._pad_value, self._interp = pad_value, interpolation

    def _one(self, img):
        if self._pad:
            img = np.pad(img, self._pad, mode="constant", constant_values=self._pad_value)
        h, w = img.shape[:2]
        cw, ch = self._size
        if cw > w or ch > h:
            scale = min(w / cw, h / ch)
            cw, ch = int(cw * scale), int(ch * scale)
        x0, y0 = random.randint(0, w - cw), random.randint(0, h - ch)
        return _crop_resize(img, x0, y0, cw, ch, self._size, self._interp)


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
