"""Device names in a model config: one device, a list of them, or every visible GPU ("gpu:*").

A config's `device` is checked here without touching a framework (spelling, an empty list, a GPU
listed twice, CPU and GPUs mixed); the backend then resolves it against the GPUs its framework
sees (`resolve_devices`). A list of CPU entries (`["cpu", "cpu"]`) is legal: each entry is one
replica of the network on the CPU, so a config written for two GPUs runs unchanged where the
GPUs are simulated.
"""

from __future__ import annotations

import re
from typing import Any

ALL_GPUS = "gpu:*"
_DEVICE = re.compile(r"^/?(?:device:)?(cpu|gpu|cuda)(?::(\d+|\*))?$", re.IGNORECASE)
_SPELLINGS = "'cpu', 'gpu', 'gpu:N', 'cuda', 'cuda:N', 'gpu:*' (every visible GPU) or a list of them"

DeviceSpec = str | tuple[str, ...] | None


def _bad(problem: str) -> ValueError:
    return ValueError(f"model config key 'device': {problem}")


def parse_device(device: Any, *, star: bool = False) -> str | None:
    """Canonical device name, "cpu" or "gpu:N", from the spellings both frameworks use; None stays None.

    With `star`, "gpu:*" / "cuda:*" (every visible GPU) is accepted and kept as "gpu:*".
    """
    if device is None:
        return None
    match = _DEVICE.match(device) if isinstance(device, str) else None
    if not match or (match.group(2) == "*" and (not star or match.group(1).lower() == "cpu")):
        raise _bad(f"expected {_SPELLINGS}, got {device!r}")
    kind, number = match.group(1).lower(), match.group(2)
    if kind == "cpu":
        return "cpu"
    return ALL_GPUS if number == "*" else f"gpu:{int(number or 0)}"


def parse_devices(value: Any) -> DeviceSpec:
    """A config's `device`: None, one canonical name (a one-entry list too), "gpu:*", or a tuple of names."""
    if not isinstance(value, (list, tuple)):
        return parse_device(value, star=True)
    if not value:
        raise _bad("an empty list names no device; give one device or a list of them")
    names = []
    for position, entry in enumerate(value):
        try:
            names.append(parse_device(entry))
        except ValueError:
            raise _bad(f"entry {position} of {list(value)!r}: expected 'cpu', 'gpu:N' or 'cuda:N', "
                       f"got {entry!r}") from None
    kinds = {name.split(":")[0] for name in names}
    if len(kinds) > 1:
        raise _bad(f"{list(value)!r} mixes the CPU and GPUs: list CPU entries only or GPUs only")
    gpus = [name for name in names if name != "cpu"]
    for name in gpus:
        if gpus.count(name) > 1:
            raise _bad(f"{name} is listed twice in {list(value)!r}")
    return names[0] if len(names) == 1 else tuple(names)


def resolve_devices(spec: DeviceSpec, visible: int, framework: str) -> tuple[str, ...]:
    """The devices a backend uses, checked against the `visible` GPUs its framework sees.

    None means the first visible GPU, else the CPU; "gpu:*" every visible GPU.
    """
    sees = f"{framework} sees {visible} GPU{'s' if visible != 1 else ''}"
    if spec is None:
        return ("gpu:0",) if visible else ("cpu",)
    if spec == ALL_GPUS:
        if not visible:
            raise _bad(f"gpu:* asks for every visible GPU, and {sees}")
        return tuple(f"gpu:{index}" for index in range(visible))
    names = (spec,) if isinstance(spec, str) else tuple(spec)
    for name in names:
        if name != "cpu" and int(name.split(":")[1]) >= visible:
            raise _bad(f"{name} is not visible ({sees})")
    return names


def describe(devices: tuple[str, ...]) -> str | list[str]:
    """One name for one device, the list for several (as a config would spell it)."""
    return devices[0] if len(devices) == 1 else list(devices)
