"""Was the model server reached at all? Decided by exception types, not message text."""

from __future__ import annotations

import errno
import socket
from collections.abc import Mapping, Sequence
from typing import Any

from vs_common.calls import Call, CallRequest, CallResponse
from vs_common.distribution import VerbalizedDistribution
from vs_common.errors import VSSamplingError

__all__ = ["Reachability", "is_unreachable"]

# Refused connection, no route, unknown host: the server was never reached.
_UNREACHABLE_ERRNOS = frozenset(
    {errno.ECONNREFUSED, errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL}
)


def is_unreachable(exc: BaseException) -> bool:
    """Whether a call's exception says the server could not be reached at all.

    True when the exception, or one in its chain (``__cause__``,
    ``__context__``, urllib's ``reason``, aiohttp's ``os_error``), is a refused
    connection, an unreachable network or host, or an unknown host name
    (:class:`socket.gaierror`). Decided on exception types and errno codes,
    never on message text, so it holds for any client that keeps the
    original error in its chain (``raise ... from exc``, or even ``from
    None``, which keeps ``__context__``). A timeout or a dropped connection
    is not "unreachable": the server was there.

    Example:
        >>> is_unreachable(ConnectionRefusedError(111, "refused"))
        True
        >>> is_unreachable(TimeoutError())
        False
    """
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, socket.gaierror):
            return True
        if isinstance(current, OSError) and current.errno in _UNREACHABLE_ERRNOS:
            return True
        for linked in (
            current.__cause__,
            current.__context__,
            getattr(current, "reason", None),  # urllib's URLError
            getattr(current, "os_error", None),  # aiohttp's ClientConnectorError
        ):
            if isinstance(linked, BaseException):
                todo.append(linked)
    return False


class Reachability:
    """Wraps a call and watches whether the server was ever reached.

    Example:
        >>> import asyncio
        >>> async def down(request):
        ...     raise ConnectionRefusedError(111, "refused")
        >>> watch = Reachability(down)
        >>> try:
        ...     asyncio.run(watch(None))
        ... except ConnectionRefusedError:
        ...     pass
        >>> watch.reached, watch.unreachable is not None
        (False, True)
    """

    def __init__(self, call: Call) -> None:
        self.call = call
        self.reached = False
        self.unreachable: BaseException | None = None

    async def __call__(
        self, request: CallRequest
    ) -> CallResponse | str | Mapping[str, Any] | Sequence[Any]:
        try:
            output = await self.call(request)
        except Exception as exc:
            if is_unreachable(exc):
                self.unreachable = self.unreachable or exc
            else:
                self.reached = True  # an HTTP error, a parse problem...: someone answered
            raise
        self.reached = True
        return output

    def check(self, dist: VerbalizedDistribution) -> None:
        """Raise when nothing got through and every failure was "unreachable".

        Raises:
            VSSamplingError: The server could not be reached (failures of
                ``dist`` attached).
        """
        if self.reached or self.unreachable is None:
            return
        msg = f"cannot reach the model server: {self.unreachable}"
        raise VSSamplingError(msg, partial=None, failures=list(dist.failures))
