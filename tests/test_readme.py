"""The README's documented commands stay true: CI runs the test command shown to readers."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_ci_test_command_is_the_documented_one() -> None:
    text = README.read_text()
    marker = re.search(r"<!-- test-command: (.*) -->", text)
    assert marker, "README.md lacks the test-command marker .ci/run reads"
    visible = [line.strip() for line in text.splitlines()[:12] if line.startswith("    ")]
    assert len(visible) == 2, "the README's first lines must show exactly two set-up commands"
    normalise = lambda cmd: re.sub(r" -q\b| -p no:cacheprovider", "", cmd)  # noqa: E731
    assert normalise(marker.group(1)) == visible[1]
