"""The supervisor's control channel: one JSON line in, one JSON line out.

The CLI (``minikafka cluster kill 2``) finds the control port in
``<dir>/cluster.json``, connects to 127.0.0.1, sends::

    {"command": "kill", "args": [2]}

and reads one answer line, ``{"ok": true, "result": null}`` or
``{"ok": false, "error": "no broker 5: the cluster has brokers 1..3"}``.
Commands are the ``Supervisor`` methods listed in ``COMMANDS``; each runs to
completion before the answer (``restart`` answers once the broker is back).
Only 127.0.0.1 is bound, so only local users can drive the cluster, as with
the brokers themselves.
"""

from __future__ import annotations

import json
import socket

import trio

MAX_LINE_BYTES = 64 * 1024

# command -> (Supervisor method, argument types). Async methods are awaited.
COMMANDS = {
    "kill": ("kill", (int,)),
    "pause": ("pause", (int,)),
    "resume": ("resume", (int,)),
    "restart": ("restart", (int,)),
    "stop-broker": ("stop_broker", (int,)),
    "cut": ("cut", (int, int)),
    "heal": ("heal", (int, int)),
    "isolate": ("isolate", (int,)),
    "heal-all": ("heal_all", ()),
    "cut-client": ("cut_client", (int,)),
    "heal-client": ("heal_client", (int,)),
    "slow": ("slow", (int, int, float)),
    "slow-client": ("slow_client", (int, float)),
    "state": ("state", ()),
    "stop": ("shutdown", ()),
}


class ControlError(Exception):
    """The supervisor refused a command or could not be reached (one line)."""


async def execute(supervisor, command: str, args: list):
    """Run one command on ``supervisor``; return its result (JSON-able)."""
    if command not in COMMANDS:
        raise ControlError(f"unknown command {command!r}")
    method_name, types = COMMANDS[command]
    if len(args) != len(types):
        raise ControlError(f"{command} takes {len(types)} argument(s), got {len(args)}")
    result = getattr(supervisor, method_name)(*(t(a) for t, a in zip(types, args)))
    if hasattr(result, "__await__"):
        result = await result
    return result


async def serve(supervisor, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
    """Accept commands on 127.0.0.1 (kernel-chosen port, given to ``task_status``)."""
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    task_status.started(listeners[0].socket.getsockname()[1])

    async def handle(stream: trio.SocketStream) -> None:
        async with stream:
            line = await _read_line(stream)
            try:
                request = json.loads(line)
                result = await execute(supervisor, request["command"], request.get("args", []))
                answer = {"ok": True, "result": result}
            except Exception as exc:  # every failure becomes one line for the CLI
                answer = {"ok": False, "error": str(exc) or type(exc).__name__}
            # Shielded: "stop" has just cancelled the scope this handler runs in.
            with trio.CancelScope(shield=True):
                try:
                    await stream.send_all(json.dumps(answer).encode() + b"\n")
                except trio.BrokenResourceError:
                    pass  # the caller gave up

    await trio.serve_listeners(handle, listeners)


async def _read_line(stream: trio.SocketStream) -> bytes:
    data = b""
    while not data.endswith(b"\n") and len(data) < MAX_LINE_BYTES:
        chunk = await stream.receive_some(4096)
        if not chunk:
            break
        data += chunk
    return data


def send_command(port: int, command: str, *args, timeout_s: float = 120.0):
    """Send one command to the supervisor on ``port`` (blocking); return its result.

    Raises:
        ControlError: the supervisor is unreachable or refused the command.
    """
    request = json.dumps({"command": command, "args": list(args)}).encode() + b"\n"
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as sock:
            sock.sendall(request)
            answer = sock.makefile("rb").readline()
    except OSError as exc:
        raise ControlError(f"cannot reach the cluster supervisor on port {port} ({exc.strerror or exc})")
    if not answer:
        raise ControlError("the cluster supervisor closed the connection without answering")
    reply = json.loads(answer)
    if not reply["ok"]:
        raise ControlError(reply["error"])
    return reply["result"]
