"""The web console: a live view of the cluster, and the failure toolkit's buttons.

``minikafka console --bootstrap-server B [--listen 127.0.0.1:8080] [--cluster-dir D]``
(and ``minikafka cluster start``, which runs one for its cluster) serves a page
that shows, refreshed every second: the brokers (alive, dead, paused, fenced;
which one is the active controller), every partition's leader, replicas and
ISR (under-replicated ones highlighted), each topic's throughput over the last
minutes, each consumer group's members, assignments and lag, and a feed of
what changed. Next to a local cluster its buttons kill, pause, resume and
restart brokers and cut or heal the links between them.

The package, from the bottom up:

- ``state``: sans I/O. What one poll observed in, the page's JSON out; the
  event feed by diffing two successive states; rates and history.
- ``collect``: the I/O of one poll: the bundled Admin client, a probe of every
  broker, the brokers' Prometheus endpoints, the local supervisor's state.
- ``toolkit``: the buttons, as commands to the local cluster's supervisor
  (``minikafka.chaos.control``), as ``minikafka cluster kill`` sends them.
- ``live``: the loop that polls once a second and keeps the latest state,
  the history and the events.
- ``app``: the Quart-Trio app (thin routes over ``live`` and ``toolkit``)
  served by Hypercorn, and ``serve_console``, which runs it all in one Trio run.
- ``static/``: the page, plain HTML, CSS and JavaScript (no build step, no
  library, nothing fetched from elsewhere).
"""
