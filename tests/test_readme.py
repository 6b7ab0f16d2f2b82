"""README's Binder badge opens the quickstart of the repository pyproject.toml names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

REPO = Path(__file__).resolve().parents[1]
QUICKSTART = "notebooks/quickstart.ipynb"


def binder_url(repository: str) -> str:
    """mybinder.org's launch URL for a GitHub repository, opening the quickstart in JupyterLab."""
    owner_and_name = re.fullmatch(r"https://github\.com/([\w.-]+/[\w.-]+)", repository)
    assert owner_and_name, f"[project.urls] Repository is not a GitHub repository URL: {repository!r}"
    return f"https://mybinder.org/v2/gh/{owner_and_name.group(1)}/HEAD?urlpath=lab/tree/{QUICKSTART}"


def test_the_binder_badge_is_built_from_the_repository_url() -> None:
    repository = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["urls"]["Repository"]
    badge = f"[![Binder](https://mybinder.org/badge_logo.svg)]({binder_url(repository)})"
    readme = (REPO / "README.md").read_text()
    assert badge in readme.splitlines()[:5], "the badge stands under the title"
    assert (REPO / QUICKSTART).is_file()
