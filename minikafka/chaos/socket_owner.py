"""Which local process opened a loopback TCP connection (Linux ``/proc``).

A front proxy (``minikafka.chaos.proxy``) accepts a connection from
``127.0.0.1:<port>`` and must decide whether it comes from a peer broker
(then the link is ``A -> B``) or from a client. Ports say nothing about
processes, but Linux does, without root, for processes of the same user:

1. ``/proc/net/tcp`` (and ``tcp6``) list every TCP socket with its local and
   remote address and its inode number; the connecting socket is the one whose
   local port is the peer port we saw and whose remote port is the proxy's.
2. ``/proc/<pid>/fd/*`` are symlinks; a socket reads ``socket:[<inode>]``.
   Only the few broker pids are searched, so this costs a few dozen syscalls
   per accepted connection (connections between brokers are long-lived).

Elsewhere (macOS) ``owner_of`` returns None: every connection counts as a
client's, so ``cut-client`` still works but ``cut A B`` does not.
"""

from __future__ import annotations

import os

PROC_NET_TABLES = ("/proc/net/tcp", "/proc/net/tcp6")


def socket_inode(local_port: int, remote_port: int) -> int | None:
    """The inode of the TCP socket ``*:local_port -> *:remote_port``, if any."""
    for table in PROC_NET_TABLES:
        try:
            with open(table) as f:
                next(f)  # the header line
                for line in f:
                    inode = _match(line, local_port, remote_port)
                    if inode is not None:
                        return inode
        except OSError:
            continue
    return None


def _match(line: str, local_port: int, remote_port: int) -> int | None:
    # "  sl  local_address rem_address   st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode"
    fields = line.split()
    if len(fields) < 10:
        return None
    local, remote = fields[1], fields[2]
    if int(local.rsplit(":", 1)[1], 16) != local_port or int(remote.rsplit(":", 1)[1], 16) != remote_port:
        return None
    inode = int(fields[9])
    return inode or None  # 0: a socket in TIME_WAIT, owned by nobody


def pid_holding(inode: int, pids) -> int | None:
    """The first of ``pids`` that has socket ``inode`` open."""
    target = f"socket:[{inode}]"
    for pid in pids:
        fd_dir = f"/proc/{pid}/fd"
        try:
            names = os.listdir(fd_dir)
        except OSError:
            continue  # gone, or not ours
        for name in names:
            try:
                if os.readlink(f"{fd_dir}/{name}") == target:
                    return pid
            except OSError:
                continue
    return None


def owner_of(peer_port: int, proxy_port: int, pids) -> int | None:
    """The pid among ``pids`` that connected from ``peer_port`` to ``proxy_port``."""
    inode = socket_inode(peer_port, proxy_port)
    if inode is None:
        return None
    return pid_holding(inode, pids)
