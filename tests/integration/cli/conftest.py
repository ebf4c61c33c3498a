"""Make the bundled clients importable without installing the package."""

import pathlib
import sys

_HERE = pathlib.Path(__file__).resolve().parent
for _path in (_HERE.parents[2] / "clients",):  # the clients
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))
