"""Make the bundled clients importable without installing the package."""

import pathlib
import sys

_CLIENTS = pathlib.Path(__file__).resolve().parents[2] / "clients"
if str(_CLIENTS) not in sys.path:
    sys.path.insert(0, str(_CLIENTS))
