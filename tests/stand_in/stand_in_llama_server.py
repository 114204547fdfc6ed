"""A stand-in for ``python -m llama_cpp.server`` that crashes when told to.

Run by :class:`vs_common.backends.LocalModelServer` with
``VS_LOCAL_SERVER_MODULE=stand_in_llama_server`` and this folder on
``PYTHONPATH``. It takes the real server's options (``--port`` and
``--model_alias`` matter) and serves ``/v1/models`` and
``/v1/chat/completions`` (a VS reply with five candidates). ``STAND_IN_CRASH``
says when it dies, the way a llama.cpp build for another CPU dies:

* ``start``: SIGSEGV before it listens;
* ``exit``: exit code 3 after printing an error, before it listens;
* ``first_request``: SIGSEGV on the first completion (the readiness check);
* ``after_ready``: answers the one-token readiness completion, then SIGSEGV
  on the next completion;
* unset: never.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODE = os.environ.get("STAND_IN_CRASH", "")
REPLY = json.dumps(
    {"responses": [{"text": f"Stand-in joke {i}", "probability": 0.2} for i in range(5)]}
)


def crash() -> None:
    sys.stderr.write("stand-in: llama_decode: crashing the way a native AMX build does\n")
    sys.stderr.flush()
    # Thread-directed, so the fault handler runs now, in this thread, before
    # anything is answered; then wait for the end like a crashed decode would.
    signal.pthread_kill(threading.get_ident(), signal.SIGSEGV)
    time.sleep(60)


class Handler(BaseHTTPRequestHandler):
    alias = "stand-in"
    completions = 0

    def log_message(self, format: str, *args: object) -> None:
        sys.stderr.write("stand-in: " + format % args + "\n")

    def _send(self, payload: object) -> None:
        body = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._send({"object": "list", "data": [{"id": self.alias, "object": "model"}]})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        json.loads(self.rfile.read(length) or b"{}")
        Handler.completions += 1
        if MODE == "first_request" or (MODE == "after_ready" and Handler.completions > 1):
            crash()
        self._send(
            {
                "id": "stand-in",
                "object": "chat.completion",
                "model": self.alias,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": REPLY},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 5, "completion_tokens": 40, "total_tokens": 45},
            }
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--model_alias", default="stand-in")
    options, _ = parser.parse_known_args()
    if MODE == "start":
        crash()
    if MODE == "exit":
        sys.stderr.write("stand-in: error: failed to load model\n")
        raise SystemExit(3)
    Handler.alias = options.model_alias
    ThreadingHTTPServer((options.host, options.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
