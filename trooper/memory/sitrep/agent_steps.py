"""What an agent's tool calls say about progress, read from their structure before any prose.

Pure functions over one tool call and its result: a test or build command that fails is an open
loop and one that passes is a completed step (keyed by the command, so "pytest" going red then
green closes its own loop); ``git commit`` and ``gh pr create`` are completed steps; a
``TodoWrite`` list says directly what is done and what is pending. Commands come from Claude
Code's ``Bash`` and from Cursor / Codex-style ``run_terminal_cmd`` / ``shell`` calls alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from trooper.memory.sitrep.items import first_words
from trooper.memory.triggers import GatedSearch

MAX_ITEM_WORDS = 12
#: How much of a tool's output is read for its verdict, and how many of its last lines for counts.
_TAIL_CHARS = 4000
_SUMMARY_LINES = 12
#: Words of a commit message an item quotes: its headline, beside the hash and branch.
_COMMIT_WORDS = 3

# Commands whose outcome is a verdict on the work: tests, builds, type checks, linters, plans.
_CHECK = re.compile(
    r"\b(?:pytest|py\.test|tox|nox|unittest|jest|vitest|mocha|karma|playwright test|cypress run|"
    r"go (?:test|build|vet)|cargo (?:test|build|check|clippy|nextest)|(?:npm|pnpm|yarn|bun)(?: run)? (?:test|build|lint|typecheck|check)|"
    r"npx (?:tsc|jest|vitest|eslint)|tsc|eslint|ruff|mypy|pyright|flake8|black --check|"
    r"mvn(?:w)? (?:test|verify|package|install)|gradle(?:w)? (?:test|build|check)|\./gradlew (?:test|build|check)|"
    r"dotnet (?:test|build)|rspec|rake test|bundle exec (?:rspec|rake)|phpunit|mix test|ctest|make(?: \w+)?|"
    r"terraform (?:validate|plan|apply)|helm (?:lint|template)|kubectl apply|docker (?:compose )?build|"
    r"alembic upgrade|flyway migrate|rails test|shellcheck|staticcheck|golangci-lint|stylelint|rubocop|hadolint|"
    r"kubeconform|tflint|buf lint|dbt (?:run|test|build))\b"
)
_FAILED = re.compile(
    r"\b[1-9]\d* (?:failed|failing|failures?|errors?)\b|^FAIL\b|\bFAILED\b|^error(?:\[E\d+\])?:|\berror TS\d+|"
    r"BUILD FAILURE|npm ERR!|Traceback \(most recent call last\)|^panic:|\bexit (?:code|status) [1-9]|"
    r"^Error: |\bERROR\b|Tests?: +\d+ failed|could not compile",
    re.MULTILINE,
)
#: ``_FAILED`` searched only for the alternatives whose words an output holds: most hold none.
_reports_failure = GatedSearch(_FAILED).search


#: The line of a result that says how it went ("3 failed, 41 passed in 2.1s", "ok  ./...").
_SUMMARY = re.compile(
    r"^.*\b(?:\d+ (?:passed|failed|tests?|examples?|specs?)|Tests?:|tests? (?:passed|failed)|"
    r"Finished|BUILD (?:SUCCESS|FAILURE)|Success!|Plan:|error(?:\[E\d+\])?:|error TS\d+|FAIL\b|ok\s).*$",
    re.MULTILINE,
)
_TEST_RUNNER = re.compile(
    r"\b(?:pytest|tox|nox|jest|vitest|mocha|go test|cargo test|cargo nextest|rspec|phpunit|mix test|ctest|"
    r"dotnet test|(?:npm|pnpm|yarn|bun)(?: run)? test|mvnw? test|gradlew? test|rails test|rake test)\b"
)
#: A failing test's name as runners print it: pytest's ``FAILED path::name``, go's ``--- FAIL: Name``,
#: cargo's ``test mod::name ... FAILED``, vitest's ``FAIL file > suite > name``, jest's ``✕ name``,
#: dotnet's ``Failed Namespace.Class.Name [4 ms]``, rspec's ``rspec ./spec/x_spec.rb:12 # what``.
_FAILING_TEST = re.compile(
    r"^FAILED \S*::(\S+)|^\s*--- FAIL: (\S+)|^test (\S+) \.\.\. FAILED$|^\s*FAIL\s+\S+ > (.+)$|"
    r"^\s*[✕×] (.+?)(?: \(\d+ ?ms\))?$|^\s*Failed ([\w.]+) \[|^rspec \S+ # (.+)$",
    re.MULTILINE,
)
#: Failing tests an open loop names: the ones a person would look at first.
_FAILING_NAMES = 2
_COMMIT_LINE = re.compile(r"^\[([\w./-]+)(?: \(root-commit\))? ([0-9a-f]{7,12})\] (.+)$", re.MULTILINE)
_ONELINE = re.compile(r"^([0-9a-f]{7,12}) \S", re.MULTILINE)
_COMMIT_MESSAGE = re.compile(r"""\bgit commit\b.*?-\w*m\s+(?:"([^"]+)"|'([^']+)'|(\S+))""")
_PR_URL = re.compile(r"/pull/(\d+)\b")
_PR_TITLE = re.compile(r"""--title\s+(?:"([^"]+)"|'([^']+)')""")
_SHELL_TOOLS = frozenset("bash shell run_terminal_cmd run_command terminal execute_command exec_command local_shell".split())


#: Tools that change files: edits after the last commit are work not yet committed.
EDIT_TOOLS = frozenset(
    "edit write multiedit notebookedit edit_file write_file create_file apply_patch str_replace_editor "
    "str_replace replace_in_file search_replace insert".split()
)
_PUSH = re.compile(r"\bgit push\b|\bgh pr create\b")
_PR_MERGE = re.compile(r"\bgh pr merge\s+#?(\d+)")


def changes_files(name: str) -> bool:
    return name.lower() in EDIT_TOOLS


def pushes(command: str | None, output: str, is_error: bool) -> bool:
    """A command that pushed commits (``git push``, or ``gh pr create``, which pushes the branch)."""
    return bool(command and _PUSH.search(command)) and not is_error and "rejected" not in output


def merged_pr(command: str | None, is_error: bool) -> str | None:
    """The number of the PR a successful ``gh pr merge N`` merged."""
    merged = _PR_MERGE.search(command or "") if not is_error else None
    return merged.group(1) if merged else None


@dataclass(frozen=True)
class Outcome:
    """What one tool call achieved: a step done or a loop opened, and the key that pairs them."""

    kind: Literal["done", "open"]
    text: str
    #: Outcomes of one key supersede each other: a later pass closes an earlier failure.
    key: str
    #: What a commit or a PR is called by: the commit's hash, the PR's number ("" when unknown).
    ref: str = ""
    #: The keys of the other checks a passing chain ran ("go test ./... && go vet ./..."): all passed.
    also: tuple[str, ...] = ()


def _short(text: str, words: int = MAX_ITEM_WORDS) -> str:
    return first_words(text.replace("`", "").split(), words)


def command_of(name: str, tool_input: dict[str, Any]) -> str | None:
    """The shell command a tool call runs, or None for other tools."""
    command = tool_input.get("command", tool_input.get("cmd"))
    if isinstance(command, list):  # Codex's shell: ["bash", "-lc", "pytest -q"]
        command = command[-1] if command else None
    if isinstance(command, str) and (name.lower() in _SHELL_TOOLS or "command" in tool_input):
        return " ".join(command.split())
    return None


def _check_names(command: str) -> list[str]:
    """The checks a command runs, the last first ("pytest tests/x.py -q" → "pytest tests/x.py -q"),
    without cd/env noise."""
    names = []
    for part in reversed(re.split(r"\s*(?:&&|\|\||;)\s*", command)):
        match = _CHECK.search(part)
        if match:
            names.append(part[match.start():].split(" 2>")[0].split(" |")[0].strip())
    return names


def _check_key(check: str) -> str:
    return f"check:{' '.join(check.split()[:2])}"


def _commit_message(command: str) -> str:
    match = _COMMIT_MESSAGE.search(command)
    return next((group for group in match.groups() if group), "") if match else ""


#: Counts a person quotes from a run: "3 failed", "58 passed", "418 examples, 0 failures".
_COUNTS = re.compile(r"\b\d+ (?:passed|failed|failures?|errors?|examples?|tests?|specs?|skipped|to add|to change|to destroy)\b")
# Flags that say how a command prints, not what it checks.
_QUIET_FLAGS = re.compile(r"\s+(?:-[qxvs]+|--no-?[\w-]*|--quiet|--verbose|-count=\d+|-out=\S+|--color=\w+)(?=\s|$)")


def _failing_tests(output: str) -> list[str]:
    """The failing tests a run names, each once, by its own name (not its file or suite)."""
    names: dict[str, None] = {}
    for match in _FAILING_TEST.finditer(output):
        name = next(group for group in match.groups() if group)
        names[re.split(r"::| > |\.(?=\w+$)", name.strip())[-1]] = None
        if len(names) == _FAILING_NAMES:
            break
    return list(names)


def _summary(output: str, failed: bool) -> str:
    """The counts of a run, else (for a failure) its first error line."""
    tail = "\n".join(output[-_TAIL_CHARS:].splitlines()[-_SUMMARY_LINES:])  # runners end with their verdict
    lines = _SUMMARY.findall(tail)
    counts = _COUNTS.findall(lines[-1]) if lines else []
    if counts:
        return ", ".join(counts)
    if failed:
        lines = [line.strip(" =-") for line in tail.splitlines() if line.strip(" =-")]
        first_error = next((line for line in lines if _FAILED.search(line)), None)
        return first_error if first_error is not None else (lines or [""])[0]
    return ""


def read_tool_call(name: str, tool_input: dict[str, Any], output: str, is_error: bool) -> tuple[Outcome, ...]:
    """The progress one tool call and its result report, in the order they happened: a check
    chained before a commit ("pytest -q && git commit …") is read as well as the commit."""
    command = command_of(name, tool_input)
    if command is None:
        return ()
    failed = is_error or _reports_failure(output[-_TAIL_CHARS:])
    if "git commit" in command and not failed:
        line = _COMMIT_LINE.search(output)
        checked = _read_checks(command.partition("git commit")[0], output[: line.start()] if line else output, False)
        return (*checked, _read_commit(command, output, line))
    if "gh pr create" in command and not failed:
        number = _PR_URL.search(output)
        title = _PR_TITLE.search(command)
        label = f"opened PR #{number.group(1)}" if number else "opened a PR"
        text = f"{label}: {title.group(1) or title.group(2)}" if title else label
        return (Outcome("done", _short(text), f"pr:{label}", number.group(1) if number else ""),)
    return _read_checks(command, output, is_error)


def _read_commit(command: str, output: str, line: re.Match[str] | None) -> Outcome:
    message = line.group(3) if line else _commit_message(command)
    where = f"{line.group(2)} on {line.group(1)}" if line else ""
    # "git commit -q … && git log --oneline -1" prints the hash on a line of its own
    oneline = None if line or "--oneline" not in command else _ONELINE.search(output)
    commit_hash = line.group(2) if line else oneline.group(1) if oneline else ""
    where = where or commit_hash
    # Where it went says which commit; its subject only when nothing else does (cut to a few
    # words it was a fragment, "committed 9b04d1e on main: batcher: fix data").
    text = f"committed {where}" if where else _short(f"committed: {_short(message, _COMMIT_WORDS)}")
    return Outcome("done", text, f"commit:{message}", commit_hash)


def _read_checks(command: str, output: str, is_error: bool) -> tuple[Outcome, ...]:
    """What the checks a command ran say (the last of a chain speaks for it), or a failed
    command's first line."""
    failed = is_error or _reports_failure(output[-_TAIL_CHARS:])
    checks = _check_names(command)
    check = checks[0] if checks else None
    if check is None:
        if failed and is_error:
            first = next((line.strip() for line in output.splitlines() if line.strip()), "")
            return (Outcome("open", _short(f"{_short(command, 4)} failed: {first}"), f"cmd:{command}"),)
        return ()
    summary = _summary(output, failed)
    key = _check_key(check)
    also = () if failed else tuple(dict.fromkeys(k for k in map(_check_key, checks[1:]) if k != key))
    check = _QUIET_FLAGS.sub("", check)
    runner = _TEST_RUNNER.search(check)
    if runner:  # people say "tests pass", whatever runs them
        check = f"{runner.group(0)} tests"
    verb = ("fail" if runner else "failing") if failed else ("pass" if runner else "passes")
    failing = _failing_tests(output) if failed and runner else []
    if failing:  # what fails is what a person names ("snapshot_help_output still failing")
        summary = "; ".join(filter(None, (", ".join(failing), summary if _COUNTS.match(summary) else "")))
    text = _short(f"{check} {verb}: {summary}" if summary else f"{check} {verb}")
    return (Outcome("open" if failed else "done", text, key, also=also),)


#: The lists agents keep of their work, and where an entry says what it is: Claude Code's and
#: Cursor's ``todos`` (``content``), Gemini CLI's (``description``), Codex's ``update_plan``
#: (``plan``, ``step``). Their statuses are alike: pending, in_progress, completed.
_WORK_LISTS = (("todos", ("content", "description")), ("plan", ("step",)))
#: An entry dropped from the work: neither done nor open.
_DROPPED = "cancelled"


def read_todos(tool_input: dict[str, Any]) -> list[tuple[str, str]] | None:
    """(status, item) of each entry of an agent's work list (``TodoWrite``, Codex's ``update_plan``…);
    None when the input is not one."""
    for key, names in _WORK_LISTS:
        entries = tool_input.get(key)
        if not isinstance(entries, list):
            continue
        items = []
        for entry in entries:
            if not isinstance(entry, dict):
                continue
            text = next((entry[name] for name in names if isinstance(entry.get(name), str)), None)
            status = str(entry.get("status", "pending"))
            if text is not None and status != _DROPPED:
                items.append((status, _short(text)))
        return items
    return None
