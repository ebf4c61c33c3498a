"""Kafka's request/response transport over Trio streams, for both ends.

- ``stream.py``: :func:`~minikafka.rpc.stream.receive_frame`, the one loop
  that reads frames from a Trio stream into the sans-I/O
  ``protocol.framing.FrameReader``; the broker's connections, the
  inter-broker client and the bundled clients all use it.
- ``client.py``: :func:`~minikafka.rpc.client.exchange`, one request and its
  response on a stream to another broker (Raft RPCs, controller calls,
  replica fetches).

Nothing here knows what a request means: encoding is ``protocol/``'s job,
answering is ``handlers/``'.
"""
