"""Building a :class:`~vs_common.VSConfig` from a config and keyword overrides."""

from __future__ import annotations

from typing import Any

from vs_common import VSConfig

__all__ = ["resolve_config", "take_config_fields"]

_FIELDS = frozenset(VSConfig.model_fields)


def resolve_config(config: VSConfig | None = None, **overrides: Any) -> VSConfig:
    """``config`` with the non-None ``overrides`` applied, validated again.

    Raises:
        VSConfigError: A field is unknown or a value is out of range.
    """
    base = config.model_dump(exclude_unset=True) if config is not None else {}
    base.update({k: v for k, v in overrides.items() if v is not None})
    return VSConfig(**base)


def take_config_fields(data: Any) -> Any:
    """Move VSConfig fields given as keyword arguments into ``config``.

    Lets ``VerbalizedSampler(llm=llm, k=5, n=30)`` mean
    ``VerbalizedSampler(llm=llm, config=VSConfig(k=5, n=30))``.
    """
    if not isinstance(data, dict):
        return data
    shorthand = {k: data[k] for k in list(data) if k in _FIELDS}
    if not shorthand:
        return data
    rest = {k: v for k, v in data.items() if k not in _FIELDS}
    current = rest.get("config")
    if current is not None and not isinstance(current, VSConfig):
        current = VSConfig(**dict(current))
    rest["config"] = resolve_config(current, **shorthand)
    return rest
