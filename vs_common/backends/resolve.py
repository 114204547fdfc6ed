"""Which model server to talk to: one rule for the ``vs`` command and :func:`vs_common.verbalize`.

Resolution (the first that applies):

1. ``base_url``: any OpenAI-compatible server (vLLM, Ollama, llama.cpp,
   OpenAI...). A key is sent only when ``api_key_env`` names the environment
   variable that holds it, so a key meant for OpenAI never goes to another
   server by accident. Without ``model``, the first model the server lists
   at ``GET /models`` is used.
2. An API key in ``OPENAI_API_KEY`` (or the variable ``api_key_env`` names):
   OpenAI at ``https://api.openai.com/v1`` with :data:`DEFAULT_OPENAI_MODEL`.
3. Neither (or ``embedded=True``): an embedded model on loopback
   (:class:`~vs_common.backends.local_server.LocalModelServer`), SmolLM2-135M
   unless ``local_model`` names another of
   :data:`~vs_common.backends.local_server.EMBEDDED_MODELS`.

:func:`open_backend` keeps an embedded server for one ``with`` block (the
``vs`` command: started for the run, stopped after it). :func:`shared_backend`
starts it once per process and reuses it (``verbalize()`` called in a loop
or a notebook); the shared servers stop when the process exits, or at the
end of an :func:`embedded_server` block for explicit control.

Example:
    >>> options = BackendOptions(base_url="http://127.0.0.1:8080/v1", model="m")
    >>> plan_remote(options).url
    'http://127.0.0.1:8080/v1'
    >>> plan_remote(BackendOptions(embedded=True)) is None
    True
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import socket
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from vs_common._logging import logger
from vs_common.backends.local_server import (
    BASE_EXTRA_HINT,
    BASE_MODEL_ALIAS,
    DEFAULT_MODEL_ALIAS,
    EMBEDDED_MODELS,
    LOCAL_EXTRA_HINT,
    LocalModelServer,
    LocalServerDied,
    LocalServerError,
)
from vs_common.backends.openai_compat import DEFAULT_MAX_REPLY_BYTES, OpenAICompatClient, env_proxy
from vs_common.calls import Call
from vs_common.errors import VSConfigError, VSError

__all__ = [
    "DEFAULT_API_KEY_ENV",
    "DEFAULT_OPENAI_BASE_URL",
    "DEFAULT_OPENAI_MODEL",
    "Backend",
    "BackendOptions",
    "BackendUnavailable",
    "RemoteTarget",
    "check_reachable",
    "discover_model",
    "display_url",
    "embedded_server",
    "open_backend",
    "plan_remote",
    "shared_backend",
    "stop_shared_servers",
]

DEFAULT_OPENAI_BASE_URL = "https://api.openai.com/v1"
DEFAULT_OPENAI_MODEL = "gpt-4.1-mini"
DEFAULT_API_KEY_ENV = "OPENAI_API_KEY"
_PROBE_TIMEOUT = 5.0
_MAX_MODELS_BYTES = 1 << 20
_EMBEDDED_LABELS = {DEFAULT_MODEL_ALIAS: "SmolLM2-135M", BASE_MODEL_ALIAS: "Gemma 3 270M (base)"}
_EXTRA_HINTS = {DEFAULT_MODEL_ALIAS: LOCAL_EXTRA_HINT, BASE_MODEL_ALIAS: BASE_EXTRA_HINT}

_log = logger(__name__)
Status = Callable[[str], None]
"""Told one sentence when an embedded model starts and when it is ready."""


class BackendUnavailable(VSError):
    """The model server cannot be reached, or the embedded model cannot start.

    The message is one line that names the server (never a key) or the
    install command that is missing.
    """


@dataclass(frozen=True)
class BackendOptions:
    """Where the model runs and how it is asked.

    Attributes:
        base_url: An OpenAI-compatible server, or None.
        model: The model name, or None for the backend's default.
        api_key_env: The environment variable that holds the key.
        embedded: Use an embedded model even if a key is set.
        local_model: Which embedded model (``smollm2-135m-instruct`` or
            ``gemma-3-270m``).
        temperature: Sampling temperature sent to the server.
        max_tokens: Reply token limit.
        timeout: Seconds one request may take.
        seed: The server's sampling seed (call ``i`` sends ``seed + i``), if any.
        max_reply_bytes: The largest reply read (``--max-reply-bytes``).

    Example:
        >>> BackendOptions().max_tokens
        512
    """

    base_url: str | None = None
    model: str | None = None
    api_key_env: str | None = None
    embedded: bool = False
    local_model: str = DEFAULT_MODEL_ALIAS
    temperature: float | None = 0.7
    max_tokens: int | None = 512
    timeout: float = 180.0
    seed: int | None = None
    max_reply_bytes: int = DEFAULT_MAX_REPLY_BYTES


@dataclass(frozen=True)
class Backend:
    """A ready backend: the call to pass to ``run_sampling`` and what it is.

    Attributes:
        call: The async model call.
        model: The model name sent.
        label: Where it runs, for messages (no credentials).
        client: The OpenAI-compatible client behind ``call`` (None for an
            injected call), to close its connections when done.
        server: The embedded model server behind ``call``, if any.

    Example:
        >>> async def call(request):
        ...     return "hi"
        >>> Backend(call, "m", "a test").label
        'a test'
    """

    call: Call
    model: str
    label: str
    client: OpenAICompatClient | None = None
    server: LocalModelServer | None = None

    def raise_if_died(self, cause: BaseException | None = None) -> None:
        """Raise :class:`LocalServerDied` (from ``cause``) if the embedded server died.

        A crash explains a run's failures better than the failures do: the
        error names the signal, says what to do and carries the server's log.
        """
        if self.server is not None:
            try:
                self.server.check_alive("during the run")
            except LocalServerDied as died:
                raise died from cause


@dataclass(frozen=True, repr=False)
class RemoteTarget:
    """A server to talk to, resolved from :class:`BackendOptions` (no embedded model).

    Attributes:
        url: The API root.
        model: The model name to send.
        api_key: The key to send, or None (never shown by ``repr``).
    """

    url: str
    model: str
    api_key: str | None

    def __repr__(self) -> str:
        key = "***" if self.api_key else None
        return f"RemoteTarget(url={display_url(self.url)!r}, model={self.model!r}, api_key={key})"

    def client(self, options: BackendOptions) -> OpenAICompatClient:
        """The OpenAI-compatible client for this server.

        Raises:
            VSConfigError: The key holds a line break or padding (never shown).
        """
        try:
            return OpenAICompatClient(
                self.url,
                self.model,
                api_key=self.api_key,
                timeout=options.timeout,
                temperature=options.temperature,
                max_tokens=options.max_tokens,
                seed=options.seed,
                max_reply_bytes=options.max_reply_bytes,
            )
        except ValueError as exc:  # e.g. an API key with a line break in it
            raise VSConfigError(str(exc), field="api_key") from None


def display_url(url: str) -> str:
    """The URL without any user:password part, for messages.

    Example:
        >>> display_url("https://user:secret@example.com:8443/v1")
        'https://example.com:8443/v1'
    """
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))


def _api_key(options: BackendOptions) -> str | None:
    if options.api_key_env is not None:
        value = os.environ.get(options.api_key_env)
        if not value:
            msg = f"api_key_env: the environment variable {options.api_key_env!r} is not set"
            raise VSConfigError(msg, field="api_key_env")
        return value
    if options.base_url is not None:
        return None  # never send OPENAI_API_KEY to a server the user did not say it is for
    return os.environ.get(DEFAULT_API_KEY_ENV) or None


def _check_url(url: str) -> None:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        msg = (
            "base_url: expected an http(s) URL such as"
            f" http://127.0.0.1:8080/v1, got {display_url(url)!r}"
        )
        raise VSConfigError(msg, field="base_url")
    try:
        _ = parts.port
    except ValueError:
        msg = f"base_url: bad port in {display_url(url)!r}"
        raise VSConfigError(msg, field="base_url") from None


def check_reachable(url: str, timeout: float = _PROBE_TIMEOUT) -> None:
    """Fail fast, with one clear line, when nothing listens at ``url``.

    Only a TCP connection is tried (no HTTP), and not at all when a proxy
    is configured for the URL (the proxy decides then).

    Raises:
        BackendUnavailable: The host does not resolve or refuses the connection.
    """
    if env_proxy(url) is not None:
        return
    parts = urllib.parse.urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "", port), timeout=timeout):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        msg = f"cannot reach the model server at {display_url(url)} ({reason})"
        raise BackendUnavailable(msg) from None


def discover_model(url: str, api_key: str | None, timeout: float = _PROBE_TIMEOUT) -> str | None:
    """The first model a server lists at ``GET {url}/models``, or None."""
    request = urllib.request.Request(url.rstrip("/") + "/models")  # noqa: S310 - scheme checked
    if api_key:
        request.add_header("Authorization", f"Bearer {api_key}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:  # noqa: S310 - checked
            body = reply.read(_MAX_MODELS_BYTES + 1)  # bounded: any server may answer
        data = json.loads(body) if len(body) <= _MAX_MODELS_BYTES else None
    except (OSError, ValueError, RecursionError, urllib.error.URLError):
        return None
    models = data.get("data") if isinstance(data, dict) else None
    if isinstance(models, list) and models and isinstance(models[0], dict):
        name = models[0].get("id")
        return name if isinstance(name, str) and name else None
    return None


def plan_remote(options: BackendOptions, *, probe: bool = False) -> RemoteTarget | None:
    """The server the options name, or None when an embedded model is to be used.

    Args:
        options: The backend options.
        probe: Check that the server listens, and ask it for its model
            when none is given (network I/O; the model is "default" without it).

    Raises:
        VSConfigError: A bad ``base_url`` or an unset ``api_key_env`` variable.
        BackendUnavailable: ``probe`` and nothing listens at the URL.
    """
    key = None if options.embedded else _api_key(options)
    if options.embedded or (options.base_url is None and key is None):
        return None
    url = options.base_url or DEFAULT_OPENAI_BASE_URL
    _check_url(url)
    if probe:
        check_reachable(url)
    model = options.model
    if model is None and options.base_url is None:
        model = DEFAULT_OPENAI_MODEL
    if model is None and probe:
        model = discover_model(url, key)
    return RemoteTarget(url=url, model=model or "default", api_key=key)


def _start(server: LocalModelServer, name: str) -> None:
    """Start an embedded server; failures become one-line errors naming the fix."""
    try:
        server.start()
    except ImportError as exc:
        hint = _EXTRA_HINTS.get(name, LOCAL_EXTRA_HINT)
        msg = f"the embedded model is not installed ({exc.name or exc}); {hint}"
        raise BackendUnavailable(msg) from None
    except LocalServerDied:
        raise
    except (LocalServerError, OSError, ValueError) as exc:  # OSError: e.g. a read-only cache
        msg = f"the embedded model server did not start: {exc}"
        raise BackendUnavailable(msg) from None


def _embedded_backend(server: LocalModelServer, options: BackendOptions) -> Backend:
    model = options.model or server.model
    target = RemoteTarget(url=server.base_url, model=model, api_key=None)
    label = _EMBEDDED_LABELS.get(server.model, server.model)
    client = target.client(options)
    return Backend(
        call=server.guard(client),
        model=model,
        label=f"embedded {label} at {server.base_url}",
        client=client,
        server=server,
    )


def _remote_backend(target: RemoteTarget, options: BackendOptions) -> Backend:
    client = target.client(options)
    return Backend(call=client, model=target.model, label=display_url(target.url), client=client)


def _embedded_name(options: BackendOptions) -> str:
    if options.local_model not in EMBEDDED_MODELS:
        msg = (
            f"local_model: unknown embedded model {options.local_model!r};"
            f" choose from {', '.join(EMBEDDED_MODELS)}"
        )
        raise VSConfigError(msg, field="local_model")
    return options.local_model


def _starting(options: BackendOptions, name: str, how: str) -> str:
    why = "" if options.embedded else "no API key and no base URL: "
    return f"{why}starting the embedded {_EMBEDDED_LABELS.get(name, name)} model ({how})..."


@contextlib.contextmanager
def open_backend(options: BackendOptions, *, on_status: Status | None = None) -> Iterator[Backend]:
    """Resolve the backend (see the module docstring) and keep it up for the block.

    An embedded model is started for the block and stopped after it; if its
    process died meanwhile, :class:`LocalServerDied` says so (with its log)
    in place of the error its clients saw.

    Args:
        options: The backend options.
        on_status: Told when an embedded model starts and when it is ready.

    Yields:
        The backend.

    Raises:
        VSConfigError: A bad ``base_url``, an unset ``api_key_env`` variable,
            an unknown ``local_model`` or a malformed key.
        BackendUnavailable: The server cannot be reached, or the embedded
            model cannot start (the message names the extra to install).
        LocalServerDied: The embedded model's process died.
    """
    target = plan_remote(options, probe=True)
    if target is not None:
        yield _remote_backend(target, options)
        return
    name = _embedded_name(options)
    if on_status is not None:
        on_status(_starting(options, name, "stopped when done"))
    server = LocalModelServer.embedded(name)
    _start(server, name)
    try:
        if on_status is not None:
            on_status(f"embedded model ready at {server.base_url}")
        backend = _embedded_backend(server, options)
        try:
            yield backend
        except Exception as exc:
            backend.raise_if_died(exc)  # a crash explains the error better than the error does
            raise
        backend.raise_if_died()
    finally:
        server.stop()


# -- embedded servers shared by the calls of a process (verbalize) ---------------

_shared: dict[str, LocalModelServer] = {}
_shared_lock = threading.Lock()


def _shared_server(name: str, on_status: Status | None) -> LocalModelServer:
    """The process's running server for ``name``, started (again) when needed."""
    with _shared_lock:  # starting takes seconds: callers in other threads wait for it
        server = _shared.get(name)
        if server is not None and server.running:
            return server
        if server is not None:
            _log.warning("the embedded %s model had stopped; starting it again", name)
            server.stop()
        if on_status is not None:
            on_status(_starting(BackendOptions(embedded=True), name, "kept for this process"))
        server = LocalModelServer.embedded(name)
        _start(server, name)
        _shared[name] = server
        _log.info("embedded %s model ready at %s", name, server.base_url)
        return server


def stop_shared_servers() -> None:
    """Stop every embedded server :func:`shared_backend` started (run at exit too)."""
    with _shared_lock:
        servers = list(_shared.values())
        _shared.clear()
    for server in servers:
        server.stop()


atexit.register(stop_shared_servers)  # a no-op unless a shared server was started


def shared_backend(options: BackendOptions, *, on_status: Status | None = None) -> Backend:
    """Resolve the backend for one call of :func:`vs_common.verbalize`.

    Like :func:`open_backend`, but an embedded model is started once per
    process and kept for later calls (stopped at exit, or by
    :func:`embedded_server` / :func:`stop_shared_servers`). It blocks while
    a server starts or a remote server is probed: async code runs it in a
    thread.

    Raises:
        VSConfigError: See :func:`open_backend`.
        BackendUnavailable: See :func:`open_backend`.
    """
    target = plan_remote(options, probe=True)
    if target is not None:
        return _remote_backend(target, options)
    name = _embedded_name(options)
    return _embedded_backend(_shared_server(name, on_status), options)


@contextlib.contextmanager
def embedded_server(name: str = DEFAULT_MODEL_ALIAS) -> Iterator[LocalModelServer]:
    """Explicit control of the shared embedded model: up for the block, stopped after it.

    ``verbalize()`` calls inside the block use this server; after the block
    it is stopped (the next call without a key or URL starts it again).

    Example:
        >>> from vs_common import verbalize
        >>> with embedded_server() as server:  # doctest: +SKIP
        ...     jokes = [verbalize(f"A joke about {t}", k=3) for t in ("tea", "cats")]
    """
    server = _shared_server(_embedded_name(BackendOptions(local_model=name)), None)
    try:
        yield server
    finally:
        with _shared_lock:
            if _shared.get(name) is server:
                del _shared[name]
        server.stop()
