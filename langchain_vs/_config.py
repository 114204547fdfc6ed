"""Building a :class:`~vs_common.VSConfig` from a config and keyword overrides."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from vs_common import VSConfig, VSConfigError

__all__ = ["as_config_error", "resolve_config", "take_config_fields"]

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
    ``VerbalizedSampler(llm=llm, config=VSConfig(k=5, n=30))``; a ``config``
    given as a dict is validated here too, so a bad value raises
    VSConfigError naming the field however it arrives.
    """
    if not isinstance(data, dict):
        return data
    shorthand = {k: data[k] for k in list(data) if k in _FIELDS}
    rest = {k: v for k, v in data.items() if k not in _FIELDS}
    current = rest.get("config")
    if current is not None and not isinstance(current, VSConfig):
        if not isinstance(current, dict):
            msg = f"config must be a VSConfig or a dict of its fields, got {type(current).__name__}"
            raise VSConfigError(msg, field="config")
        current = VSConfig(**current)
    if shorthand:
        current = resolve_config(current, **shorthand)
    if current is not None:
        rest["config"] = current
    return rest


def as_config_error(exc: ValidationError, owner: str) -> VSConfigError:
    """A pydantic error about a component's fields, as VSConfigError naming the field.

    Example:
        >>> from pydantic import BaseModel, Field
        >>> class M(BaseModel):
        ...     max_concurrency: int = Field(ge=1)
        >>> try:
        ...     M(max_concurrency=0)
        ... except ValidationError as exc:
        ...     print(as_config_error(exc, "M").field)
        max_concurrency
    """
    err = exc.errors()[0]
    original = (err.get("ctx") or {}).get("error")
    if isinstance(original, VSConfigError):
        return original
    field = str(err["loc"][0]) if err["loc"] else "config"
    msg = f"{owner}.{field}: {err['msg']} (got {err.get('input')!r})"
    return VSConfigError(msg, field=field)
