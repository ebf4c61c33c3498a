"""The console's web app: a Quart-Trio app served by Hypercorn, on Trio.

Routes (thin: each reads the ``LiveConsole`` or forwards to the toolkit)::

    GET  /                                   the page (static/index.html)
    GET  /static/<file>                      its script and style sheet
    GET  /api/state                          brokers, topics, groups (state.build_state)
    GET  /api/history                        the last minutes of throughput and lag
    GET  /api/events?after=N&wait=S          the event feed after event N (long poll up to S s)
    POST /api/brokers/<id>/<action>          kill | pause | resume | restart
    POST /api/links/<a>/<b>/<action>         cut | heal

An action answers ``{"ok": true}`` once the supervisor carried it out
(``restart``: once the broker has rejoined), ``400 {"ok": false, "error": ...}``
if it refused, ``404`` for an unknown action and ``409`` when the console has
no failure toolkit (not started next to a local cluster).

``serve_console`` runs the whole console in the caller's Trio run: the
Admin client, the polling loop and Hypercorn, until cancelled.
"""

from __future__ import annotations

from pathlib import Path

import trio
from quart import jsonify, request, send_from_directory
from quart_trio import QuartTrio

from minikafka.console.collect import ADMIN_CONFIG, Collector
from minikafka.console.live import LiveConsole
from minikafka.console.toolkit import BROKER_ACTIONS, LINK_ACTIONS, ClusterToolkit, ToolkitError

STATIC_DIR = Path(__file__).parent / "static"
DEFAULT_LISTEN = "127.0.0.1:8080"


def create_app(live: LiveConsole) -> QuartTrio:
    """The app over one ``LiveConsole``."""
    app = QuartTrio(__name__, static_folder=str(STATIC_DIR), static_url_path="/static")

    @app.get("/")
    async def page():
        return await send_from_directory(STATIC_DIR, "index.html")

    @app.get("/api/state")
    async def api_state():
        return jsonify(live.state)

    @app.get("/api/history")
    async def api_history():
        return jsonify(live.history.to_json())

    @app.get("/api/events")
    async def api_events():
        after = request.args.get("after", default=0, type=int)
        wait_s = request.args.get("wait", default=0.0, type=float)
        events = await live.events_after(after, wait_s)
        return jsonify({"events": events, "last_seq": live.events.last_seq})

    @app.post("/api/brokers/<int:broker_id>/<action>")
    async def broker_action(broker_id: int, action: str):
        if action not in BROKER_ACTIONS:
            return _refused(404, f"unknown broker action {action!r}")
        return await _act(live, live.toolkit and (lambda: live.toolkit.broker_action(broker_id, action)))

    @app.post("/api/links/<int:a>/<int:b>/<action>")
    async def link_action(a: int, b: int, action: str):
        if action not in LINK_ACTIONS:
            return _refused(404, f"unknown link action {action!r}")
        return await _act(live, live.toolkit and (lambda: live.toolkit.link_action(a, b, action)))

    return app


def _refused(status: int, error: str):
    return jsonify({"ok": False, "error": error}), status


async def _act(live: LiveConsole, action):
    """Run one toolkit action and wake the poller so the page sees its effect."""
    if not action:
        return _refused(409, "no failure toolkit: start the console with --cluster-dir "
                             "(or through `minikafka cluster start`)")
    try:
        await action()
    except ToolkitError as exc:
        return _refused(400, str(exc))
    finally:
        live.wake()
    return jsonify({"ok": True})


def parse_listen(listen: str) -> tuple[str, int]:
    """``host:port`` -> ``(host, port)``."""
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"--listen {listen!r} is not HOST:PORT")
    return host.strip("[]") or "127.0.0.1", int(port)


async def serve_console(bootstrap: str, listen: str = DEFAULT_LISTEN, cluster_dir=None, *,
                        task_status=trio.TASK_STATUS_IGNORED) -> None:
    """Run the console until cancelled; ``task_status.started(url)`` once it listens.

    Args:
        bootstrap: ``bootstrap.servers`` of the cluster.
        listen: ``host:port`` to serve on (port 0: any free port).
        cluster_dir: the local cluster's directory, for the failure toolkit; None: no buttons.
    """
    from hypercorn.config import Config
    from hypercorn.trio import serve

    from minikafka_clients import Admin

    host, port = parse_listen(listen)
    toolkit = ClusterToolkit(cluster_dir) if cluster_dir is not None else None
    config = Config()
    config.bind = [f"{host}:{port}"]
    config.accesslog = None
    config.errorlog = None
    async with Admin({"bootstrap.servers": bootstrap, **ADMIN_CONFIG}) as admin:
        live = LiveConsole(Collector(admin, toolkit), toolkit)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(live.run)
            bound = await nursery.start(serve, create_app(live), config)
            task_status.started(bound[0] if bound else f"http://{host}:{port}")
