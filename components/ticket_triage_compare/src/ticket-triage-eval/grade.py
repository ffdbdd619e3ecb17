"""1 when the flow's category is the label, else 0."""

from promptflow.core import tool


@tool
def grade(category: str, label: str) -> int:
    return int(category.strip().lower() == label.strip().lower())
