"""Pure per-image functions on numpy arrays: crops, pads, shifts, flips, colours and noise.

An image is an array ``(height, width)`` or ``(height, width, channels)`` of any dtype. Sizes and
positions are given as ``(x, y)`` = ``(width, height)``, the order PIL uses. No function changes its
input or returns a view of it, so a result never shares memory with the image it came from.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

Origin = str | Sequence[float]
NAMED_ORIGINS = ("center", "top_left", "top_right", "bottom_left", "bottom_right", "random")
PAD_MODES = ("constant", "edge", "reflect", "symmetric", "wrap")


# --- what an image is -----------------------------------------------------------------------------
def as_array(image: Any) -> np.ndarray:
    """The image as a numpy array (a PIL image is converted; an array is returned as is)."""
    if isinstance(image, np.ndarray):
        array = image
    elif hasattr(image, "getbands"):  # a PIL image, without importing PIL to ask
        array = np.array(image)
    else:
        array = np.asarray(image)
    if array.ndim not in (2, 3):
        raise ValueError(f"an image must be an array (height, width) or (height, width, channels), "
                         f"not of shape {array.shape}")
    return array


def size_of(image: np.ndarray) -> tuple[int, int]:
    """``(width, height)`` of an image."""
    return int(image.shape[1]), int(image.shape[0])


def channels_of(image: np.ndarray) -> int:
    """Number of channels (1 for a 2-D image)."""
    return 1 if image.ndim == 2 else int(image.shape[2])


def pair(value: Any, what: str) -> tuple[Any, Any]:
    """``value`` as a pair: a number stands for both sides, a sequence must have two entries."""
    if isinstance(value, (numbers.Number, np.number)):
        return value, value
    try:
        first, second = value
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number or a pair (x, y), not {value!r}") from None
    return first, second


def whole(value: Any, what: str) -> int:
    """``value`` as an int, refusing fractions."""
    if isinstance(value, (numbers.Integral, np.integer)):
        return int(value)
    if isinstance(value, (numbers.Real, np.floating)) and float(value).is_integer():
        return int(value)
    raise ValueError(f"{what} must be a whole number of pixels, not {value!r}")


def fill_value(fill: Any, image: np.ndarray, what: str = "fill") -> np.ndarray:
    """``fill`` (a number, or one number per channel) as a value that broadcasts onto a pixel."""
    value = np.asarray(fill)
    if value.ndim == 0:
        return value.astype(image.dtype)
    channels = channels_of(image)
    if value.ndim != 1 or len(value) != channels:
        raise ValueError(f"{what} must be a number or {channels} numbers (one per channel), not {fill!r}")
    value = value.astype(image.dtype)
    return value[0] if image.ndim == 2 else value


def cast_back(values: np.ndarray, dtype: np.dtype, clip: tuple[float, float] | None = None) -> np.ndarray:
    """Float results in ``dtype`` again: integers are rounded and kept in the dtype's range.

    ``values`` must be a fresh array of the caller's: it is rounded and clipped in place.
    """
    if clip is not None:
        low, high = pair(clip, "clip")
        np.clip(values, low, high, out=values)
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return values > 0.5
    if dtype.kind in "ui":
        info = np.iinfo(dtype)
        np.rint(values, out=values)
        np.clip(values, info.min, info.max, out=values)
    return values.astype(dtype, copy=False)


def canvas(image: np.ndarray, width: int, height: int, fill: Any) -> np.ndarray:
    """A new image of the given size, image's dtype and channels, filled with ``fill``."""
    out = np.empty((height, width, *image.shape[2:]), dtype=image.dtype)
    out[...] = fill_value(fill, image)
    return out


# --- where a box goes ------------------------------------------------------------------------------
def resolve_origin(origin: Origin, box: tuple[int, int], size: tuple[int, int],
                   rng: np.random.Generator | None) -> tuple[int, int]:
    """The top-left corner ``(x, y)`` of a box of size ``box`` inside an image of size ``size``.

    ``origin`` is a name of :data:`NAMED_ORIGINS` (``"random"`` draws a place with ``rng`` where
    the box fits, or where the image fits in the box if the box is bigger), a pair of ints (pixels)
    or a pair of floats in [0, 1] (a relative place: 0 left/top, 1 right/bottom). A box bigger than
    the image gets a negative origin: the image sits inside it.
    """
    free_x, free_y = size[0] - box[0], size[1] - box[1]
    if isinstance(origin, str):
        if origin == "center":
            return free_x // 2, free_y // 2
        if origin == "top_left":
            return 0, 0
        if origin == "top_right":
            return free_x, 0
        if origin == "bottom_left":
            return 0, free_y
        if origin == "bottom_right":
            return free_x, free_y
        if origin == "random":
            if rng is None:
                raise ValueError("origin='random' needs a random generator")
            return tuple(int(rng.integers(min(0, free), max(0, free) + 1)) for free in (free_x, free_y))
        raise ValueError(f"origin must be one of {', '.join(map(repr, NAMED_ORIGINS))} or a pair (x, y), "
                         f"not {origin!r}")
    x, y = pair(origin, "origin")
    if any(isinstance(v, (float, np.floating)) for v in (x, y)):
        if not (0 <= x <= 1 and 0 <= y <= 1):
            raise ValueError(f"origin: a pair of floats is a relative place and must lie in [0, 1], not {origin!r}; "
                             "give ints for pixels")
        return round(float(x) * free_x), round(float(y) * free_y)
    return whole(x, "origin x"), whole(y, "origin y")


def box_size(shape: Any, what: str) -> tuple[int, int]:
    """A ``(width, height)`` of positive whole numbers (an int stands for a square)."""
    width, height = pair(shape, what)
    width, height = whole(width, f"{what} width"), whole(height, f"{what} height")
    if width < 1 or height < 1:
        raise ValueError(f"{what} must be positive (width, height), not {shape!r}")
    return width, height


# --- geometry without resampling ------------------------------------------------------------------
def crop(image: np.ndarray, origin: tuple[int, int], shape: tuple[int, int], fill: Any = 0) -> np.ndarray:
    """The window of size ``shape`` at ``origin``; parts outside the image are ``fill``."""
    (x, y), (width, height) = origin, shape
    rows, cols = image.shape[:2]
    if x >= 0 and y >= 0 and x + width <= cols and y + height <= rows:
        return image[y:y + height, x:x + width].copy()
    out = canvas(image, width, height, fill)
    x0, x1, y0, y1 = max(x, 0), min(x + width, cols), max(y, 0), min(y + height, rows)
    if x0 < x1 and y0 < y1:
        out[y0 - y:y1 - y, x0 - x:x1 - x] = image[y0:y1, x0:x1]
    return out


def flip(image: np.ndarray, mode: str = "lr") -> np.ndarray:
    """Mirror left-right (``"lr"``) or upside down (``"ud"``)."""
    if mode == "lr":
        return image[:, ::-1].copy()
    if mode == "ud":
        return image[::-1].copy()
    raise ValueError(f"flip: mode must be 'lr' or 'ud', not {mode!r}")


def borders(pad_width: Any) -> tuple[int, int, int, int]:
    """``(left, top, right, bottom)`` from an int, an ``(x, y)`` pair or four numbers (as PIL's expand)."""
    values = [pad_width] if isinstance(pad_width, (numbers.Number, np.number)) else list(np.ravel(pad_width))
    if len(values) not in (1, 2, 4):
        raise ValueError(f"pad: pad_width must be an int, (x, y) or (left, top, right, bottom), not {pad_width!r}")
    values = [whole(v, "pad: pad_width") for v in values]
    if any(v < 0 for v in values):
        raise ValueError(f"pad: pad_width must not be negative, not {pad_width!r}")
    if len(values) == 1:
        return values[0], values[0], values[0], values[0]
    if len(values) == 2:
        return values[0], values[1], values[0], values[1]
    return values[0], values[1], values[2], values[3]


def pad(image: np.ndarray, pad_width: Any, fill: Any = 0, mode: str = "constant") -> np.ndarray:
    """Add borders of ``pad_width`` pixels, filled with ``fill`` or by a numpy pad ``mode``."""
    if mode not in PAD_MODES:
        raise ValueError(f"pad: mode must be one of {', '.join(map(repr, PAD_MODES))}, not {mode!r}")
    left, top, right, bottom = borders(pad_width)
    rows, cols = image.shape[:2]
    if mode == "constant":
        out = canvas(image, cols + left + right, rows + top + bottom, fill)
        out[top:top + rows, left:left + cols] = image
        return out
    widths = [(top, bottom), (left, right)] + [(0, 0)] * (image.ndim - 2)
    return np.pad(image, widths, mode=mode)


def shift(image: np.ndarray, offset: Any, mode: str = "const", fill: Any = 0) -> np.ndarray:
    """Move the content by ``offset=(x, y)`` pixels (right and down for positive values); the
    uncovered part is ``fill`` (``mode="const"``) or what left the other side (``"wrap"``)."""
    dx, dy = (whole(round(float(v)), "shift: offset") for v in pair(offset, "shift: offset"))
    if mode == "wrap":
        return np.roll(image, (dy, dx), axis=(0, 1))
    if mode != "const":
        raise ValueError(f"shift: mode must be 'const' or 'wrap', not {mode!r}")
    return crop(image, (-dx, -dy), size_of(image), fill)


# --- pixels --------------------------------------------------------------------------------------
def cutout(image: np.ndarray, origin: tuple[int, int], shape: tuple[int, int], color: Any = 0) -> np.ndarray:
    """The image with the box of size ``shape`` at ``origin`` painted ``color``."""
    out = image.copy()
    (x, y), (width, height) = origin, shape
    out[max(y, 0):max(y + height, 0), max(x, 0):max(x + width, 0)] = fill_value(color, image, "cutout: color")
    return out


def _inverted(values: np.ndarray) -> np.ndarray:
    # Floats are taken to lie in [0, 1]; integers are inverted bitwise (255 - v for uint8), as PIL does.
    return 1 - values if values.dtype.kind == "f" else ~values


def invert(image: np.ndarray, channels: str | int | Sequence[int] = "all") -> np.ndarray:
    """Invert every channel (``"all"``) or the channels listed: ``255 - v`` for uint8, ``1 - v``
    for floats (images in [0, 1])."""
    if isinstance(channels, str):
        if channels != "all":
            raise ValueError(f"invert: channels must be 'all', an int or a list of ints, not {channels!r}")
        return _inverted(image)
    wanted = [channels] if isinstance(channels, (numbers.Integral, np.integer)) else list(channels)
    count = channels_of(image)
    bad = [c for c in wanted if not isinstance(c, (numbers.Integral, np.integer)) or not -count <= c < count]
    if bad:
        raise ValueError(f"invert: the image has {count} channel(s); no channel {bad[0]!r}")
    if image.ndim == 2:
        return _inverted(image)
    out = image.copy()
    out[..., wanted] = _inverted(image[..., wanted])
    return out


def _noise(noise: Any, shape: tuple[int, ...], rng: np.random.Generator, mean: float, what: str) -> np.ndarray:
    if callable(noise):
        values = np.asarray(_call_noise(noise, shape, rng))
        try:
            fits = np.broadcast_shapes(values.shape, shape) == shape
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(f"{what}: noise(size={shape}) returned shape {values.shape}")
        return values
    if isinstance(noise, (numbers.Real, np.number)) and not isinstance(noise, bool) and noise >= 0:
        values = rng.standard_normal(shape, dtype=np.float32)
        values *= np.float32(noise)
        values += np.float32(mean)
        return values
    raise TypeError(f"{what}: noise must be a standard deviation (a number >= 0) or a callable noise(size=...), "
                    f"not {noise!r}")


def _call_noise(noise: Callable[..., Any], shape: tuple[int, ...], rng: np.random.Generator) -> Any:
    # A callable that takes ``rng`` gets the item's generator, so its draws repeat with the run's seed.
    try:
        import inspect

        takes_rng = "rng" in inspect.signature(noise).parameters
    except (TypeError, ValueError):
        takes_rng = False
    return noise(size=shape, rng=rng) if takes_rng else noise(size=shape)


def _work_dtype(image: np.ndarray) -> np.dtype:
    return np.result_type(image.dtype, np.float32) if image.dtype.kind == "f" else np.dtype(np.float32)


def additive_noise(image: np.ndarray, noise: Any, rng: np.random.Generator,
                   clip: tuple[float, float] | None = None) -> np.ndarray:
    """``image + noise``: ``noise`` is the std of Gaussian noise or a callable ``noise(size=shape)``.
    The dtype is kept (integers are rounded and kept in their range); ``clip=(low, high)`` bounds it."""
    values = image.astype(_work_dtype(image))
    values += _noise(noise, image.shape, rng, 0.0, "additive_noise")
    return cast_back(values, image.dtype, clip)


def multiplicative_noise(image: np.ndarray, noise: Any, rng: np.random.Generator,
                         clip: tuple[float, float] | None = None) -> np.ndarray:
    """``image * noise``: ``noise`` is the std of Gaussian noise around 1 or a callable ``noise(size=shape)``.
    The dtype is kept (integers are rounded and kept in their range); ``clip=(low, high)`` bounds it."""
    values = image.astype(_work_dtype(image))
    values *= _noise(noise, image.shape, rng, 1.0, "multiplicative_noise")
    return cast_back(values, image.dtype, clip)
