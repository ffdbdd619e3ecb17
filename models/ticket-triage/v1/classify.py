"""The triage flow's one node: the first category whose keywords the ticket mentions."""

from promptflow.core import tool

KEYWORDS = {
    "billing": ("charge", "invoice", "refund", "payment"),
    "access": ("password", "login", "locked", "sign in"),
    "outage": ("down", "error", "unavailable", "timeout"),
}


@tool
def classify(text: str) -> str:
    lowered = text.lower()
    return next((category for category, words in KEYWORDS.items() if any(w in lowered for w in words)), "other")
