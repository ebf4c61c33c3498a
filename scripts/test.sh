#!/usr/bin/env bash
# The README's test command: install minikafka with its test extras (this
# compiles the Cython storage core), check the import contracts, then run the
# whole suite. kafkajs (a real JavaScript client for the transaction tests) goes
# into build/node, which git ignores; the tests find it there.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install -q --upgrade pip >/dev/null
python3 -m pip install -q -e ".[test]"
if [ ! -f build/node/node_modules/kafkajs/package.json ]; then
    npm install --no-save --no-audit --no-fund --silent --prefix build/node kafkajs@2
fi
# The architecture's import contracts (pyproject.toml, [tool.importlinter]).
# (Called through python3, not the `lint-imports` script, so a pyenv shim that
# was never rehashed cannot hide it.)
python3 -c 'import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())' --no-cache
python3 -m pytest -q -ra -p no:cacheprovider "$@"
