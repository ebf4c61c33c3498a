#!/usr/bin/env bash
# The README's test command: install minikafka with its test extras (this
# compiles the Cython storage core), then run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install -q --upgrade pip >/dev/null
python3 -m pip install -q -e ".[test]"
python3 -m pytest -q -ra -p no:cacheprovider "$@"
