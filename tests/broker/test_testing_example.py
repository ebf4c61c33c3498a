"""The example in ``minikafka.testing``'s docstring works, run as a user runs it.

The example is a whole test file. It is copied out of the docstring into a
fresh directory and run by its own pytest, with no configuration of ours
(no ``trio_mode``, no conftest), so what a user copies is what passed here.
"""

import re
import subprocess
import sys
import textwrap

import minikafka.testing


def docstring_example() -> str:
    """The code block after "Example, a test file of your own", dedented."""
    match = re.search(r"Example, a test file of your own.*?::\n\n(.*?)\n\S",
                      minikafka.testing.__doc__, re.S)
    assert match is not None, "the example is missing from minikafka.testing's docstring"
    return textwrap.dedent(match.group(1))


def test_the_docstring_example_passes_under_pytest_trio(tmp_path):
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # the rootdir: none of our settings apply
    (tmp_path / "test_example.py").write_text(docstring_example())
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_example.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
