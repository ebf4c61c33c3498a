"""Make the bundled clients importable without installing the package."""

import pathlib
import sys

_HERE = pathlib.Path(__file__).resolve().parent
for _path in (_HERE.parents[1] / "clients", _HERE):  # the clients; cli_brokers.py
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))
