"""mkdocs hook: the CLI reference page, written at build time from the commands themselves.

It walks the command tree that typer builds from `amlops.cli.main.app` (click's classes, which recent
typer releases vendor), so the page always says what the installed commands accept; nothing
generated is committed.
"""

from __future__ import annotations

import inspect
import typing
import warnings
from collections.abc import Iterator
from enum import Enum
from typing import Any

import typer
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

PAGE = "reference/cli.md"
#: Python annotations in the words click's own types use.
_TYPE_NAMES = {"str": "text", "int": "integer", "float": "number", "bool": "flag"}


def on_files(files: Files, config: MkDocsConfig) -> Files:
    with warnings.catch_warnings():  # azure-ai-ml's import-time deprecation notes are not the site's
        warnings.simplefilter("ignore")
        from amlops.cli.main import app

    files.append(File.generated(config, PAGE, content=reference(typer.main.get_command(app))))
    return files


def reference(root: Any) -> str:
    """The whole reference: an introduction, then one section per command, in the order `--help` lists them."""
    lines = [
        "# CLI reference",
        "",
        "Generated from the commands when this site was built; `amlops COMMAND --help` prints the same.",
        "",
    ]
    for ctx in _walk(typer.Context(root, info_name="amlops")):
        lines += _section(ctx)
    return "\n".join(lines)


def _walk(ctx: typer.Context) -> Iterator[typer.Context]:
    yield ctx
    if _is_group(ctx.command):
        for name in ctx.command.list_commands(ctx):
            sub = ctx.command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                yield from _walk(typer.Context(sub, info_name=name, parent=ctx))


def _section(ctx: typer.Context) -> list[str]:
    command = ctx.command
    lines = [f"## `{ctx.command_path}`", "", "```text", command.get_usage(ctx).removeprefix("Usage: "), "```", ""]
    if command.help:
        lines += [_text(inspect.cleandoc(command.help)), ""]
    params = [p for p in command.params if not getattr(p, "hidden", False)]
    if params:
        lines += ["| argument or option | default | description |", "| --- | --- | --- |"]
        lines += [f"| {_names(p)} | {_default(p)} | {_cell(getattr(p, 'help', None) or '')} |" for p in params]
        lines.append("")
    if _is_group(command):
        subs = [(name, command.get_command(ctx, name)) for name in command.list_commands(ctx)]
        lines += [
            f"- [`{ctx.command_path} {name}`](#{_anchor(ctx, name)}): {_cell(sub.get_short_help_str(300))}"
            for name, sub in subs
            if sub
        ]
        lines.append("")
    return lines


def _names(param: Any) -> str:
    if param.param_type_name == "argument":
        return f"`{param.name.upper()}` (argument{', required' if param.required else ''})"
    names = ", ".join(f"`{o}`" for o in [*param.opts, *param.secondary_opts])
    return f"{names} ({_cell(_type_name(param))}{', required' if param.required else ''})"


def _default(param: Any) -> str:
    default = param.default
    if default is None or param.required or (getattr(param, "is_flag", False) and not default):
        return ""
    if isinstance(default, (list, tuple)):
        return ", ".join(f"`{_plain(d)}`" for d in default)
    return f"`{_plain(default)}`"


def _type_name(param: Any) -> str:
    """`path`, `integer`, `table|json`...: click's type name, or, in typer's vendored click, the annotation's."""
    if getattr(param, "type", None) is not None:
        return param.type.name
    annotation = param.type_descriptor.annotation
    if typing.get_origin(annotation) in (list, tuple):
        return f"{_TYPE_NAMES.get(typing.get_args(annotation)[0].__name__, 'text')}, repeatable"
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return "|".join(str(member.value) for member in annotation)
    name = getattr(annotation, "__name__", str(annotation)).lower()
    return _TYPE_NAMES.get(name, name)


def _is_group(command: Any) -> bool:
    return hasattr(command, "list_commands")


def _plain(value: object) -> str:
    return str(getattr(value, "value", value))


def _anchor(ctx: typer.Context, name: str) -> str:
    """mkdocs's toc slug of the heading `## \\`amlops local up\\``: words joined by hyphens."""
    return f"{ctx.command_path} {name}".replace(" ", "-").lower()


def _cell(text: str) -> str:
    return _text(" ".join(text.split())).replace("|", "\\|")


def _text(text: str) -> str:
    """Help text as Markdown: `<to>` outside code spans is a word, not an HTML tag."""
    parts = text.split("`")
    parts[::2] = [part.replace("<", "&lt;").replace(">", "&gt;") for part in parts[::2]]
    return "`".join(parts)
