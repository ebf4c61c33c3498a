"""The broker's listening side of the network (Trio).

- ``network.py``: the seam to the network (``TcpNetwork``; tests may swap it).
- ``connection.py``: one task per client connection; requests in, responses
  out. Frames are split by ``protocol.framing.FrameReader`` and read from the
  socket by ``rpc.stream.receive_frame``, as everywhere else.
- ``listener.py``: parse ``listeners``, accept connections.

Brokers calling each other (Raft RPCs, controller calls, replica fetches)
go through :mod:`minikafka.rpc`, not through this package.
"""
