"""The frame walk that replaces azure-ai-ml's `inspect.stack()` check answers as the SDK's own does."""

from __future__ import annotations

import inspect

from azure.ai.ml._utils import _experimental

from amlops.manifests import sdk_frames


def _sdk_answer() -> bool:
    """azure-ai-ml's own rule, as its `_should_skip_warning` writes it."""
    return any(frame.function == "_from_rest_object" for frame in inspect.stack())


def _from_rest_object() -> tuple[bool, bool]:
    return sdk_frames._should_skip_warning(), _sdk_answer()


def _nested_under_rest_object() -> tuple[bool, bool]:
    def deeper() -> tuple[bool, bool]:
        return sdk_frames._should_skip_warning(), _sdk_answer()

    def _from_rest_object() -> tuple[bool, bool]:
        return deeper()

    return _from_rest_object()


def test_same_answer_inside_and_outside_a_rest_conversion() -> None:
    assert _from_rest_object() == (True, True)
    assert _nested_under_rest_object() == (True, True)
    assert (sdk_frames._should_skip_warning(), _sdk_answer()) == (False, False)


def test_loading_the_manifests_installs_it() -> None:
    import amlops.manifests.load  # noqa: F401

    assert _experimental._should_skip_warning is sdk_frames._should_skip_warning
