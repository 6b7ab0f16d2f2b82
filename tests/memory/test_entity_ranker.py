"""The entity ranker: its shipped model is what its training script fits, and the builder's
incremental ranking lists what the model chooses from scratch."""

from __future__ import annotations

import pytest

from tests.memory import train_entities
from tests.memory.corpus import load_split
from trooper.conversation import Message, TextBlock
from trooper.memory.sitrep import SitrepBuilder, extract_sitrep
from trooper.memory.sitrep.entities import command_names, extract_entities
from trooper.memory.sitrep.entity_ranker import MODEL, choose, entity_kind, entity_limit
from trooper.memory.sitrep.linear import load_model

DEV = load_split("dev")


def test_the_shipped_model_is_what_the_training_script_fits(capsys):
    assert train_entities.main(["--check"]) == 0, capsys.readouterr().out


def test_the_builder_lists_what_the_model_chooses_from_its_candidates_after_every_turn():
    """The names listed are kept between builds and found again only when one loses score: never stale."""
    model = load_model(MODEL)
    for session in DEV:
        builder = SitrepBuilder()
        for turn, message in enumerate(session.messages):
            builder.add(message)
            assert builder.build().entities == choose(builder.entity_candidates(), model, entity_limit(turn + 1)), (session.id, turn)


def test_a_name_mentioned_in_more_roles_ranks_higher():
    """Role, not spelling: the same kind of name, once by the assistant, against twice by the user."""
    first = "the timeout lives in src/app/settings.py and src/app/routes.py"
    later = "I changed src/app/routes.py again, is src/app/routes.py right now?"
    messages = [Message("user", [TextBlock(first)]), Message("assistant", [TextBlock("ok")]), Message("user", [TextBlock(later)])]
    assert extract_sitrep(messages).entities[0] == "src/app/routes.py"


@pytest.mark.parametrize(
    ("command", "names"),
    [
        ("cd app && FOO=1 uv run pytest -q | tee out.txt", ["pytest"]),
        ("go test -race ./...", ["go", "go test"]),
        ("kubectl rollout status deploy/api", ["kubernetes", "kubectl rollout"]),
        ("python -m mypy --strict .", ["mypy"]),
        ("git commit -m 'x' && git push", []),
    ],
)
def test_commands_are_their_program_and_subcommand(command, names):
    assert command_names(command) == names


@pytest.mark.parametrize(
    ("text", "entity"),
    [
        ("nginx answers 502 Bad Gateway now", "502 Bad Gateway"),
        ("got 500 Internal Server Error.", "500 Internal Server Error"),
        ("HTTP 403 Forbidden on upload", "HTTP 403"),
        ("the /healthz probe fails", "/healthz"),
        ("ran it with --dry-run first", "--dry-run"),
        ("the report-worker pods keep restarting", "report-worker"),
        ("pin react-day-picker@8.10.0 for now", "react-day-picker"),
        ("behind an AWS ALB, load tested with k6", "ALB"),
        ("staticcheck flags SA1019 everywhere", "SA1019"),
        ("there's a ticket for it (CAT-412), leave it", "CAT-412"),
        ("sizes = await asyncio.gather(*tasks)", "asyncio.gather"),
        ("can you add cancel() and flush()?", "flush()"),
        ("the job uses actions/setup-python@v5", "actions/setup-python"),
        ("helm template for charts/api fails", "charts/api"),
        ("the handler runs on AWS Lambda behind the ALB", "AWS Lambda"),
    ],
)
def test_names_are_read_as_written(text, entity):
    assert entity in extract_entities(text)


def test_a_generated_key_holding_slashes_is_no_name():
    """An AWS secret read from its assignment is no slash-joined name (the store would keep it in
    the SITREP where the transcript masks it); a package's or a module's path still is one."""
    text = "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYzK8h3jq9Pz; go get github.com/gorilla/mux"
    names = extract_entities(text)
    assert not [name for name in names if "K7MDENG" in name]
    assert "github.com/gorilla/mux" in names


def test_an_agents_working_directory_is_no_name():
    """A folder in a home directory (where an agent works) is never a name; the files in it are,
    by the project's own path."""
    builder = SitrepBuilder()
    builder.add(Message("user", [TextBlock("cd /home/sven/src/photosort and fix /home/sven/src/photosort/photosort/cli.py")]))
    names = [name for name, _ in builder.entity_candidates()]
    assert names == ["src/photosort/photosort/cli.py"]


def test_capitals_of_queries_and_logs_are_no_names():
    """SQL's and a log's words in capitals name nothing; a technology is named as itself."""
    text = "run SELECT id FROM orders WHERE total IS NULL on AWS\n```\nINFO job STARTED, 3 PASSED\n```\n"
    assert extract_entities(text) == ["aws"]


def test_kinds_by_shape():
    names = ("postgres", "502 Bad Gateway", "--dry-run", "/api/export", "set -e", "a/b.py", "useId", "ALB", "CAT-412", "report-worker", "@testing-library/react", "GitLab CI")
    kinds = {name: entity_kind(name) for name in names}
    assert kinds == {
        "postgres": "technology", "502 Bad Gateway": "error", "--dry-run": "flag", "/api/export": "route",
        "set -e": "phrase", "a/b.py": "file", "useId": "code", "ALB": "acronym", "CAT-412": "ticket", "report-worker": "kebab",
        "@testing-library/react": "slashed", "GitLab CI": "product",
    }
