"""The README's settings table and ``.env.example``, generated from the ``Settings`` declarations.

``python -m trooper.settings_docs`` (from the repository's root) rewrites both; ``--check`` only
says which are stale (exit 1). ``tests/test_settings_docs.py`` fails when either is. It lives in
the package, not in a script beside it, so that the command and the test share one renderer.
Only declared defaults are written, never a value from the environment: a key cannot leak here.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from trooper.config import documented_variables

#: The README's generated part lies between these two lines.
TABLE_START = "<!-- settings table: generated from trooper/config.py by `python -m trooper.settings_docs`; edit there -->"
TABLE_END = "<!-- end of the settings table -->"

_ENV_EXAMPLE_HEADER = """\
# Trooper configuration. Copy to .env in the directory you start `trooper serve` from (it reads that
# file; variables already set in your shell win), or set them in your shell. See README.md.
# Generated from trooper/config.py by `python -m trooper.settings_docs`: edit the settings there.
"""


def readme_table() -> str:
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    rows += [f"| `{v.name}` | {v.readme_default()} | {v.meaning} |" for v in documented_variables()]
    return "\n".join(rows) + "\n"


def env_example() -> str:
    lines = [_ENV_EXAMPLE_HEADER.rstrip("\n")]
    for variable in documented_variables():
        if variable.section:
            lines.append(f"# {variable.section}")
        if variable.in_example:
            lines.append(f"{variable.name}={variable.written_default}")
    return "\n".join(lines) + "\n"


def readme_with_table(readme: str) -> str:
    """``readme`` with the text between the markers replaced by the current table."""
    start, end = readme.find(TABLE_START), readme.find(TABLE_END)
    if start < 0 or end < start:
        raise ValueError(f"README.md lacks the settings table's markers ({TABLE_START!r} … {TABLE_END!r})")
    return readme[: start + len(TABLE_START)] + "\n" + readme_table() + readme[end:]


def stale_files(root: Path, *, write: bool) -> list[Path]:
    """The generated files under ``root`` that differ from the declarations; rewritten when ``write``."""
    readme, example = root / "README.md", root / ".env.example"
    expected = {readme: readme_with_table(readme.read_text(encoding="utf-8")), example: env_example()}
    stale = [path for path, text in expected.items() if not path.is_file() or path.read_text(encoding="utf-8") != text]
    if write:
        for path in stale:
            path.write_text(expected[path], encoding="utf-8")
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m trooper.settings_docs", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 when a file is stale")
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the repository's root (default: here)")
    args = parser.parse_args(argv)
    stale = stale_files(args.root, write=not args.check)
    for path in stale:
        print(f"{path}: {'stale' if args.check else 'rewritten'}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
