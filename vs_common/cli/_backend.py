"""Which model server the ``vs`` command talks to, and the ``call`` it uses.

Resolution (the first that applies):

1. ``--base-url URL``: any OpenAI-compatible server (vLLM, Ollama, llama.cpp,
   OpenAI...). A key is sent only when ``--api-key-env NAME`` names the
   environment variable that holds it, so a key meant for OpenAI never goes
   to another server by accident.
2. An API key in ``OPENAI_API_KEY`` (or the variable ``--api-key-env`` names):
   OpenAI at ``https://api.openai.com/v1`` with :data:`DEFAULT_OPENAI_MODEL`.
3. Neither: the embedded SmolLM2-135M model, started on loopback for the run
   and stopped afterwards (:class:`~vs_common.backends.local_server.LocalModelServer`).

Tests inject a ``call`` instead and no server is involved. The API key is
kept inside the client and never printed.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TextIO

from vs_common.backends import OpenAICompatClient
from vs_common.backends.local_server import (
    LOCAL_EXTRA_HINT,
    LocalModelServer,
    LocalServerDied,
    LocalServerError,
)
from vs_common.backends.openai_compat import DEFAULT_MAX_REPLY_BYTES, env_proxy
from vs_common.calls import Call
from vs_common.cli._common import CLIError, UsageError, eprint

__all__ = [
    "DEFAULT_API_KEY_ENV",
    "DEFAULT_OPENAI_BASE_URL",
    "DEFAULT_OPENAI_MODEL",
    "Backend",
    "BackendOptions",
    "display_url",
    "open_backend",
]

DEFAULT_OPENAI_BASE_URL = "https://api.openai.com/v1"
DEFAULT_OPENAI_MODEL = "gpt-4.1-mini"
DEFAULT_API_KEY_ENV = "OPENAI_API_KEY"
_PROBE_TIMEOUT = 5.0
_MAX_MODELS_BYTES = 1 << 20


@dataclass(frozen=True)
class BackendOptions:
    """The server options of a command.

    Attributes:
        base_url: ``--base-url``, or None.
        model: ``--model``, or None for the backend's default.
        api_key_env: ``--api-key-env``: the environment variable with the key.
        embedded: ``--embedded``: use the embedded model even if a key is set.
        temperature: Sampling temperature sent to the server.
        max_tokens: Reply token limit.
        timeout: Seconds one request may take.
        max_reply_bytes: The largest reply read (``--max-reply-bytes``).
    """

    base_url: str | None = None
    model: str | None = None
    api_key_env: str | None = None
    embedded: bool = False
    temperature: float | None = 0.7
    max_tokens: int | None = 512
    timeout: float = 180.0
    max_reply_bytes: int = DEFAULT_MAX_REPLY_BYTES


@dataclass(frozen=True)
class Backend:
    """A ready backend: the call to pass to ``run_sampling`` and what it is.

    Attributes:
        call: The async model call.
        model: The model name sent.
        label: Where it runs, for messages (no credentials).
    """

    call: Call
    model: str
    label: str


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
            msg = (
                f"argument --api-key-env: the environment variable"
                f" {options.api_key_env!r} is not set"
            )
            raise UsageError(msg)
        return value
    if options.base_url is not None:
        return None  # never send OPENAI_API_KEY to a server the user did not say it is for
    return os.environ.get(DEFAULT_API_KEY_ENV) or None


def _check_url(url: str) -> None:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        msg = (
            "argument --base-url: expected an http(s) URL such as"
            f" http://127.0.0.1:8080/v1, got {display_url(url)!r}"
        )
        raise UsageError(msg)
    try:
        _ = parts.port
    except ValueError:
        msg = f"argument --base-url: bad port in {display_url(url)!r}"
        raise UsageError(msg) from None


def check_reachable(url: str, timeout: float = _PROBE_TIMEOUT) -> None:
    """Fail fast, with one clear line, when nothing listens at ``url``.

    Only a TCP connection is tried (no HTTP), and not at all when a proxy
    is configured for the URL (the proxy decides then).

    Raises:
        CLIError: The host does not resolve or refuses the connection.
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
        raise CLIError(msg) from None


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


def _client(options: BackendOptions, url: str, model: str, key: str | None) -> OpenAICompatClient:
    try:
        return OpenAICompatClient(
            url,
            model,
            api_key=key,
            timeout=options.timeout,
            temperature=options.temperature,
            max_tokens=options.max_tokens,
            max_reply_bytes=options.max_reply_bytes,
        )
    except ValueError as exc:  # e.g. an API key with a line break in it
        raise CLIError(str(exc)) from None


@contextlib.contextmanager
def open_backend(
    options: BackendOptions, err: TextIO, *, call: Call | None = None
) -> Iterator[Backend]:
    """Resolve the backend (see the module docstring) and keep it up for the block.

    Args:
        options: The command's server options.
        err: Where to say that the embedded model is starting.
        call: A call to use instead of any server (tests).

    Yields:
        The backend.

    Raises:
        UsageError: A bad ``--base-url`` or an unset ``--api-key-env`` variable.
        CLIError: The server cannot be reached, or the embedded model cannot
            start (the message names ``pip install ...[local]`` when missing).
    """
    if call is not None:
        yield Backend(call=call, model=options.model or "injected", label="injected call")
        return
    key = None if options.embedded else _api_key(options)
    if options.base_url is None and (key is None or options.embedded):
        yield from _embedded(options, err)
        return
    url = options.base_url or DEFAULT_OPENAI_BASE_URL
    _check_url(url)
    check_reachable(url)
    model = options.model
    if model is None:
        model = DEFAULT_OPENAI_MODEL if options.base_url is None else discover_model(url, key)
    model = model or "default"
    yield Backend(call=_client(options, url, model, key), model=model, label=display_url(url))


def _embedded(options: BackendOptions, err: TextIO) -> Iterator[Backend]:
    eprint(
        "vs: no API key and no --base-url: starting the embedded SmolLM2-135M model"
        " (stopped when done)...",
        err,
    )
    server = LocalModelServer()
    try:
        server.start()
    except ImportError as exc:
        msg = f"the embedded model is not installed ({exc.name or exc}); {LOCAL_EXTRA_HINT}"
        raise CLIError(msg) from None
    except LocalServerDied as exc:
        raise CLIError(str(exc)) from None
    except (LocalServerError, FileNotFoundError) as exc:
        msg = f"the embedded model server did not start: {exc}"
        raise CLIError(msg) from None
    eprint(f"vs: embedded model ready at {server.base_url}", err)
    try:
        model = options.model or server.model
        call = server.guard(_client(options, server.base_url, model, None))
        yield Backend(call=call, model=model, label=f"embedded SmolLM2-135M at {server.base_url}")
    except Exception as exc:
        _report_death(server, exc)  # a crash explains the error better than the error does
        raise
    else:
        _report_death(server, None)
    finally:
        server.stop()


def _report_death(server: LocalModelServer, cause: BaseException | None) -> None:
    try:
        server.check_alive("during the run")
    except LocalServerDied as died:
        raise CLIError(str(died)) from cause
