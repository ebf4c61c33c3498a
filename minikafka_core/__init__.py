"""The compiled core: the record model, batch validation, segments, indexes, recovery.

``records`` defines the magic v2 batch and record layout once, with the
encoder and decoder every reader and writer of records uses (the broker, the
log cleaner, tools and the bundled clients); ``batch`` validates produced
batches and walks a fetch; ``segment``, ``offset_index``, ``time_index`` and
``recovery`` are the on-disk log. The core imports nothing from ``minikafka``:
its errors carry Kafka's numeric error codes.

Every module here is written once, in Cython's *pure-Python mode*: the ``.py``
file is ordinary Python, and the ``.pxd`` file beside it tells Cython the C
types. ``python setup.py build_ext --inplace`` compiles each module into an
extension (``batch.cpython-311-...so``) that Python then prefers over the
``.py`` source, because extension suffixes come first in the import machinery.

Setting ``MINIKAFKA_PURE=1`` in the environment turns that order around for
this package only: a small meta-path finder, installed before any submodule is
imported, maps ``minikafka_core.<name>`` to ``<name>.py``. Tests use it to run
the same checks against both implementations; the benchmark uses it to show
what compilation buys.

Attributes:
    PURE: True when ``MINIKAFKA_PURE=1`` forced the uncompiled sources.
    COMPILED: True when the submodules load from compiled extensions.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))

PURE = os.environ.get("MINIKAFKA_PURE", "") not in ("", "0")


class _PureSourceFinder(importlib.abc.MetaPathFinder):
    """Finds ``minikafka_core.<name>`` as ``<name>.py``, ignoring any extension."""

    def find_spec(self, fullname, path=None, target=None):
        package, _, name = fullname.rpartition(".")
        if package != __name__:
            return None
        source = os.path.join(_PACKAGE_DIR, name + ".py")
        if not os.path.exists(source):
            return None
        loader = importlib.machinery.SourceFileLoader(fullname, source)
        return importlib.util.spec_from_file_location(fullname, source, loader=loader)


def _is_compiled() -> bool:
    """Tell, without importing it, whether ``batch`` would load from an extension."""
    spec = importlib.util.find_spec(__name__ + ".batch")
    return spec is not None and isinstance(spec.loader, importlib.machinery.ExtensionFileLoader)


if PURE and not any(isinstance(finder, _PureSourceFinder) for finder in sys.meta_path):
    sys.meta_path.insert(0, _PureSourceFinder())

COMPILED = _is_compiled()
