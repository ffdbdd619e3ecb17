"""A text parsed again gives what a first parse gives: the same data and positions, its own name, its own copy."""

from __future__ import annotations

from amlops.manifests import yamlio

TEXT = "name: churn\nendpoints:\n  churn:\n    traffic: {main: 100}\n"
BAD = "name: churn\nname: again\n"


def fresh(text: str, shown_as: str):
    return yamlio._parse(text, shown_as)


def test_a_text_parsed_again_gives_a_fresh_parse_under_its_own_name() -> None:
    first, _ = yamlio.parse_yaml(TEXT, "environments/a.yaml")
    again, problems = yamlio.parse_yaml(TEXT, "environments/b.yaml")
    expected, _ = fresh(TEXT, "environments/b.yaml")
    assert first is not None and again is not None and expected is not None and problems == []
    assert again.path == "environments/b.yaml" and again.data == expected.data
    assert again.locate(("endpoints", "churn", "traffic")) == expected.locate(("endpoints", "churn", "traffic")) == (4, 5)
    first.data["name"] = "changed"  # one caller's edit is not another's data
    assert yamlio.parse_yaml(TEXT, "environments/c.yaml")[0].data["name"] == "churn"


def test_problems_are_named_by_the_file_they_are_in() -> None:
    yamlio.parse_yaml(BAD, "endpoints/x/main.yml")
    document, problems = yamlio.parse_yaml(BAD, "endpoints/y/main.yml")
    assert document is None
    assert problems == fresh(BAD, "endpoints/y/main.yml")[1] and problems[0].path == "endpoints/y/main.yml"
