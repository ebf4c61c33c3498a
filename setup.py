"""Build the Cython storage core.

``minikafka_core`` is written in Cython's pure-Python mode: each ``.py`` file
runs as plain Python, and the ``.pxd`` file beside it gives Cython the C types.
Every module of the core except ``__init__`` is compiled here; the ``.py``
sources ship too, so ``MINIKAFKA_PURE=1`` can run the same code uncompiled.
"""

import glob

from Cython.Build import cythonize
from setuptools import find_packages, setup

core_sources = sorted(
    path for path in glob.glob("minikafka_core/*.py") if not path.endswith("__init__.py")
)

setup(
    ext_modules=cythonize(
        core_sources,
        compiler_directives={"language_level": "3"},
        quiet=True,
    ),
    # The bundled clients live in clients/ and import as ``minikafka_clients``;
    # the labs live in labs/ and install as ``minikafka_labs`` (``minikafka lab`` finds them there).
    package_dir={"minikafka_clients": "clients/minikafka_clients", "minikafka_labs": "labs"},
    packages=find_packages(include=["minikafka", "minikafka.*", "minikafka_core"])
    + ["minikafka_clients." + p for p in find_packages("clients/minikafka_clients")]
    + ["minikafka_clients", "minikafka_labs"],
    # The console's page: plain HTML, JavaScript and CSS, served as files; each
    # lab's files (README.md, lab.py, starter/, solution/, ...): data, not Python packages.
    package_data={"minikafka.console": ["static/*"],
                  "minikafka_labs": ["README.md", "*/*", "*/*/*", "*/*/*/*"]},
    exclude_package_data={"minikafka_labs": ["*/__pycache__/*", "*/*/__pycache__/*"]},
)
