"""The broker's only Trio networking code.

- ``network.py``: the seam to the network (``TcpNetwork``; tests may swap it).
- ``frames.py``: size-prefixed frames out of a byte stream (sans-I/O).
- ``connection.py``: one task per client connection; requests in, responses out.
- ``listener.py``: parse ``listeners``, accept connections.
"""
