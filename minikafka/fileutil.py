"""Small file helpers shared by the broker's persistent state.

Every small file the broker rewrites (checkpoints, snapshots, the topic
registry, the producer-id block) is replaced with ``atomic_write``: after a
crash, a reader finds either the old file or the new one, never half of one.
"""

from __future__ import annotations

import os


def atomic_write(path: str | os.PathLike, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically and durably.

    Write a temporary file beside it, fsync it, rename it over the target
    (``rename`` is atomic on POSIX), then fsync the directory so the rename
    itself survives a power cut.
    """
    path = os.fspath(path)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
