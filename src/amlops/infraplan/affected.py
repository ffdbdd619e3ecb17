"""Which Pulumi stacks a change touches: the environments a pull request plans and a merge deploys.

Over-approximate rather than miss: a stack planned for nothing shows an empty plan, a stack missed
leaves Git and Azure apart until the next drift run. Pure: the caller lists the changed paths.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import PurePosixPath

#: The stack that owns the Azure ML registry every environment promotes through (Pulumi.shared.yaml).
SHARED = "shared"
#: Paths that change how every stack is built, the registry's included.
_EVERYTHING = ("infra/", "src/", "Pulumi.yaml", "pyproject.toml")


def affected_stacks(changed: Iterable[str], environments: Mapping[str, Iterable[str]]) -> list[str]:
    """The stacks, sorted, that `changed` paths touch.

    `environments` maps each Azure environment to the endpoints it serves; an environment file,
    its Pulumi stack file, the endpoints it serves, any model, or shared code each touch it.
    """
    serves = {env: set(endpoints) for env, endpoints in environments.items()}
    touched: set[str] = set()
    for raw in changed:
        path = PurePosixPath(raw)
        top = path.parts[0] if path.parts else ""
        if raw.startswith(_EVERYTHING):
            touched |= set(serves) | {SHARED}
        elif top == "environments" and path.suffix in (".yaml", ".yml") and path.stem in serves:
            touched.add(path.stem)
        elif top == "models":
            touched |= set(serves)
        elif top == "endpoints" and len(path.parts) > 2:
            touched |= {env for env, endpoints in serves.items() if path.parts[1] in endpoints}
        elif len(path.parts) == 1 and path.name.startswith("Pulumi.") and path.suffix == ".yaml":
            stack = path.name.removeprefix("Pulumi.").removesuffix(".yaml")
            if stack in serves or stack == SHARED:
                touched.add(stack)
    return sorted(touched)


def all_stacks(environments: Iterable[str]) -> list[str]:
    """Every stack: what drift checks."""
    return sorted({*environments, SHARED})
