"""The README's example pull request comment is what amlops prints for it, not a drawing of it."""

from __future__ import annotations

from example_comment import ROOT, generate, in_readme, quoted


def test_the_readme_example_comment_is_generated_output() -> None:
    readme = in_readme((ROOT / "README.md").read_text())
    generated = quoted(generate())
    assert readme == generated, "README.md's example comment is stale: run `python tests/readme/example_comment.py --write`"
