"""How long `amlops validate`'s YAML reader takes on deeply nested input, as the input grows.

Nesting past `yamlio.MAX_DEPTH` is refused after one pass over the text, so the time grows linearly with
the file's size (ruamel.yaml alone took 70 s of CPU over 40 KB of flow nesting, and crashed at 300 levels).
Flow style is what ruamel.yaml parses slowly (about 100 us an item, a hundred times block style), so a
file's flow collections may hold at most `MAX_FLOW_ITEMS` items; the rows just under it show the worst case.
Run: `PYTHONPATH=src python bench/yaml_depth.py`; it prints a table, it asserts nothing.
"""

from __future__ import annotations

import time

from amlops.manifests.yamlio import MAX_DEPTH, parse_yaml


def inputs(size: int) -> dict[str, str]:
    half = size // 2
    return {
        "flow [[[...]]]": "a: " + "[" * half + "]" * half + "\n",
        "block sequences - - -": "- " * half + "x\n",
        "flow, quoted brackets": "a: '" + "[" * size + "'\n",
        "flow, one wide list": "a: [" + ", ".join(["1"] * (size // 3)) + "]\n",
        f"flow, {MAX_DEPTH} deep, repeated": ("- " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n")
        * (size // (2 * MAX_DEPTH + 1)),
    }


def main() -> None:
    print(f"{'input':<28} {'bytes':>9} {'ms':>9} {'us/KB':>8}  result")
    for size in (1_000, 10_000, 100_000, 250_000):
        for name, text in inputs(size).items():
            started = time.perf_counter()
            _, problems = parse_yaml(text, "bench.yaml")
            ms = (time.perf_counter() - started) * 1000
            result = problems[0].message if problems else "parsed"
            print(f"{name:<28} {len(text):>9} {ms:>9.1f} {ms * 1000 / (len(text) / 1000):>8.0f}  {result}")


if __name__ == "__main__":
    main()
