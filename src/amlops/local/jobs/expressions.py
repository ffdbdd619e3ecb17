"""Azure ML's expression language in commands and pipeline bindings: `${{inputs.x}}`, `${{outputs.y}}`,
optional blocks `$[[ ... ]]` (dropped when an input they name is not given), and pipeline bindings
`${{parent.inputs.x}}`, `${{parent.jobs.<step>.outputs.<y>}}`, `${{parent.outputs.z}}`
(learn.microsoft.com/azure/machine-learning/reference-yaml-job-command#expressions)."""

from __future__ import annotations

import re
from dataclasses import dataclass

EXPRESSION = re.compile(r"\$\{\{\s*([^{}]+?)\s*\}\}")
OPTIONAL = re.compile(r"\$\[\[(.*?)\]\]", re.DOTALL)
BINDING = re.compile(r"^\$\{\{\s*parent\.(?:(inputs|outputs)\.([\w.-]+)|jobs\.([\w-]+)\.outputs\.([\w.-]+))\s*\}\}$")


class ExpressionError(ValueError):
    pass


def render(command: str, inputs: dict[str, str], outputs: dict[str, str]) -> str:
    """The command with every `${{inputs.x}}`/`${{outputs.y}}` replaced; optional blocks whose inputs are
    missing are dropped. An expression naming nothing declared is an error, as in Azure."""

    def keep(block: re.Match[str]) -> str:
        names = [_name(m.group(1)) for m in EXPRESSION.finditer(block.group(1))]
        return block.group(1) if all(n in inputs or n in outputs for n in names) else ""

    def value(m: re.Match[str]) -> str:
        kind, _, name = m.group(1).partition(".")
        table = {"inputs": inputs, "outputs": outputs}.get(kind)
        if table is None or name not in table:
            raise ExpressionError(f"${{{{{m.group(1)}}}}} names no {kind or 'input'} of this job")
        return table[name]

    return EXPRESSION.sub(value, OPTIONAL.sub(keep, command))


def _name(expression: str) -> str:
    return expression.partition(".")[2]


@dataclass(frozen=True)
class Binding:
    """What a pipeline step's input or output is bound to."""

    scope: str  # "inputs" / "outputs" of the parent, or "jobs" for another step's output
    name: str
    step: str | None = None


def binding(value: object) -> Binding | None:
    """The binding a value expresses, or None for a plain value."""
    m = BINDING.match(str(value).strip()) if isinstance(value, str) else None
    if not m:
        return None
    if m.group(1):
        return Binding(m.group(1), m.group(2))
    return Binding("jobs", m.group(4), m.group(3))
