"""Per-image functions that resample: resize, rotate, scale (through PIL) and the elastic warp (numpy).

PIL is imported inside the functions, so importing this module stays cheap. Arrays go through PIL
as they are when PIL has a mode for them (uint8 with 1, 3 or 4 channels); any other dtype or
channel count goes one channel at a time as a 32-bit float image, and comes back in its own dtype.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tuiflow.flow.images import ops

# PIL's resampling filters by name (the values of PIL.Image.Resampling).
RESAMPLE = {"nearest": 0, "lanczos": 1, "bilinear": 2, "bicubic": 3, "box": 4, "hamming": 5}
_ROTATE_RESAMPLE = ("nearest", "bilinear", "bicubic")
_REMAP_RESAMPLE = ("nearest", "bilinear")


def resample_code(name: str, what: str, allowed: tuple[str, ...] = tuple(RESAMPLE)) -> int:
    """PIL's code for the filter ``name``, or a clear error naming the allowed ones."""
    if name not in allowed:
        raise ValueError(f"{what}: resample must be one of {', '.join(map(repr, allowed))}, not {name!r}")
    return RESAMPLE[name]


def through_pil(image: np.ndarray, func: Callable[[Any, Any], Any], fill: Any = 0) -> np.ndarray:
    """``func(pil_image, fill)`` applied to an array; ``fill`` is given in the form the PIL mode takes."""
    from PIL import Image

    if image.dtype == np.uint8 and ops.channels_of(image) in (1, 3, 4):
        plane = image[..., 0] if image.ndim == 3 and image.shape[2] == 1 else image
        bands = ops.channels_of(image)
        value = ops.fill_value(fill, image)
        pil_fill = int(value) if bands == 1 else tuple(int(v) for v in np.broadcast_to(value, (bands,)))
        out = np.array(func(Image.fromarray(plane), pil_fill))
        return out[..., None] if image.ndim == 3 and out.ndim == 2 else out
    if image.dtype == bool:
        return through_pil(image.astype(np.uint8), func, fill) > 0
    planes = image[..., None] if image.ndim == 2 else image
    fills = np.broadcast_to(np.asarray(ops.fill_value(fill, image), dtype=np.float64).reshape(-1),
                            (planes.shape[2],))
    results = [np.asarray(func(Image.fromarray(np.ascontiguousarray(planes[..., c], dtype=np.float32)),
                               float(fills[c])))
               for c in range(planes.shape[2])]
    out = np.stack(results, axis=-1)
    return ops.cast_back(out[..., 0] if image.ndim == 2 else out, image.dtype)


def target_size(size: Any, image: np.ndarray) -> tuple[int, int]:
    """``(width, height)`` from ``size``; one side None keeps the aspect ratio."""
    width, height = ops.pair(size, "resize: size")
    cols, rows = ops.size_of(image)
    if width is None and height is None:
        raise ValueError("resize: at least one side of size=(width, height) must be a number")
    if width is None:
        height = ops.whole(height, "resize: height")
        width = max(1, round(cols * height / rows))
    elif height is None:
        width = ops.whole(width, "resize: width")
        height = max(1, round(rows * width / cols))
    width, height = ops.whole(width, "resize: width"), ops.whole(height, "resize: height")
    if width < 1 or height < 1:
        raise ValueError(f"resize: size must be positive (width, height), not {size!r}")
    return width, height


def resize(image: np.ndarray, size: Any, resample: str = "bilinear") -> np.ndarray:
    """The image resized to ``size=(width, height)`` with PIL's filter ``resample``."""
    code = resample_code(resample, "resize")
    width, height = target_size(size, image)
    return through_pil(image, lambda pil, _: pil.resize((width, height), resample=code))


def scaled_size(size: tuple[int, int], factor: Any) -> tuple[int, int]:
    """``size`` times ``factor`` (a number, or ``(fx, fy)``), at least one pixel a side."""
    fx, fy = ops.pair(factor, "scale: factor")
    if not (fx > 0 and fy > 0):
        raise ValueError(f"scale: factor must be positive, not {factor!r}")
    return max(1, round(size[0] * float(fx))), max(1, round(size[1] * float(fy)))


def scale(image: np.ndarray, size: tuple[int, int], origin: tuple[int, int] | None, fill: Any = 0,
          resample: str = "bilinear") -> np.ndarray:
    """The image resized to ``size``; with ``origin``, cut (or padded with ``fill``) back to its own
    size, the original window's corner at ``origin`` of the scaled image."""
    scaled = resize(image, size, resample)
    if origin is None:
        return scaled
    return ops.crop(scaled, origin, ops.size_of(image), fill)


def rotate(image: np.ndarray, angle: float, fill: Any = 0, expand: bool = False,
           center: tuple[float, float] | None = None, resample: str = "bilinear") -> np.ndarray:
    """The image rotated ``angle`` degrees counter-clockwise; uncovered corners are ``fill``."""
    code = resample_code(resample, "rotate", _ROTATE_RESAMPLE)
    angle = float(angle)
    center = None if center is None else tuple(float(v) for v in ops.pair(center, "rotate: center"))
    return through_pil(image, lambda pil, value: pil.rotate(angle, resample=code, expand=bool(expand),
                                                             center=center, fillcolor=value), fill)


# --- elastic deformation --------------------------------------------------------------------------
def _fft_length(n: int) -> int:
    """The smallest 2^a 3^b 5^c >= n: FFTs of such lengths are several times faster than of primes."""
    best, two = 2 * n, 1
    while two < 2 * n:
        three = two
        while three < 2 * n:
            five = three
            while five < n:
                five *= 5
            best = min(best, five)
            three *= 3
        two *= 2
    return best


def gaussian_smooth(fields: np.ndarray, sigma: float) -> np.ndarray:
    """Fields (the last two axes) blurred with a Gaussian of ``sigma`` pixels, zeros beyond the border."""
    radius = max(1, int(4 * sigma + 0.5))
    taps = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * (taps / sigma) ** 2)
    kernel /= kernel.sum()
    out = np.asarray(fields, dtype=np.float64)
    for axis in (-2, -1):
        n = out.shape[axis]
        length = _fft_length(n + 2 * radius)
        spectrum = np.fft.rfft(out, length, axis=axis)
        response = np.fft.rfft(kernel, length)
        spectrum *= response[:, None] if axis == -2 else response
        full = np.fft.irfft(spectrum, length, axis=axis)
        out = full[..., radius:radius + n, :] if axis == -2 else full[..., radius:radius + n]
    return out


def displacement(shape: tuple[int, int], alpha: float, sigma: float,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Random smooth displacements ``(dx, dy)`` of an image of ``shape=(height, width)``: uniform
    noise in [-1, 1] blurred with ``sigma`` and scaled by ``alpha`` (Simard et al., 2003)."""
    if not alpha >= 0:
        raise ValueError(f"elastic_transform: alpha must be >= 0, not {alpha!r}")
    if not sigma > 0:
        raise ValueError(f"elastic_transform: sigma must be > 0, not {sigma!r}")
    fields = gaussian_smooth(rng.uniform(-1, 1, size=(2, *shape)), float(sigma)) * float(alpha)
    return fields[0].astype(np.float32), fields[1].astype(np.float32)


def remap(image: np.ndarray, dx: np.ndarray, dy: np.ndarray, resample: str = "bilinear") -> np.ndarray:
    """Each pixel ``(x, y)`` takes the value at ``(x + dx, y + dy)``; points beyond the border take
    the nearest border pixel."""
    resample_code(resample, "elastic_transform", _REMAP_RESAMPLE)
    rows, cols = image.shape[:2]
    if dx.shape != (rows, cols) or dy.shape != (rows, cols):
        raise ValueError(f"elastic_transform: a displacement of shape {dx.shape} for an image of {(rows, cols)}")
    xs = np.arange(cols, dtype=np.float32) + dx.astype(np.float32, copy=False)
    ys = np.arange(rows, dtype=np.float32)[:, None] + dy.astype(np.float32, copy=False)
    np.clip(xs, 0, cols - 1, out=xs)
    np.clip(ys, 0, rows - 1, out=ys)
    flat = image.reshape(rows * cols, -1)
    width = np.int32(cols)
    if resample == "nearest":
        index = np.rint(ys).astype(np.int32) * width + np.rint(xs).astype(np.int32)
        return np.take(flat, index.ravel(), axis=0).reshape(image.shape)
    x0, y0 = xs.astype(np.int32), ys.astype(np.int32)  # floor: the coordinates are >= 0
    wx, wy = (xs - x0.astype(np.float32)).ravel(), (ys - y0.astype(np.float32)).ravel()
    x1 = np.minimum(x0 + np.int32(1), np.int32(cols - 1))
    top = y0 * width
    bottom = np.minimum(top + width, np.int32((rows - 1) * cols))
    # Channels as rows: arithmetic with one weight per pixel then runs along long rows, not 3-wide ones.
    planes = np.ascontiguousarray(flat.T, dtype=np.float32)

    def gather(index: np.ndarray) -> np.ndarray:
        return np.take(planes, index.ravel(), axis=1)

    upper, right = gather(top + x0), gather(top + x1)
    right -= upper
    right *= wx
    upper += right
    lower, right = gather(bottom + x0), gather(bottom + x1)
    right -= lower
    right *= wx
    lower += right
    lower -= upper
    lower *= wy
    upper += lower
    return ops.cast_back(upper.T.reshape(image.shape), image.dtype)
