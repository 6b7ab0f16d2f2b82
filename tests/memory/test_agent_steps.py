"""What agents' tool calls say about progress: checks, commits, PRs, TODO lists, git state."""

from __future__ import annotations

import pytest

from trooper.conversation import Message, TextBlock, ToolResultBlock, ToolUseBlock
from trooper.memory.sitrep import extract_sitrep
from trooper.memory.sitrep.agent_steps import Outcome, read_todos, read_tool_call


@pytest.mark.parametrize(
    ("name", "tool_input", "output", "is_error", "expected"),
    [
        ("Bash", {"command": "pytest -q tests/test_api.py"}, "..F\n1 failed, 41 passed in 2.1s", True,
         (Outcome("open", "pytest tests fail: 1 failed, 41 passed", "check:pytest -q"),)),
        ("Bash", {"command": "pytest -q"}, "FAILED tests/test_pages.py::test_page_zero_rejected - assert 500 == 422\n"
         "FAILED tests/test_pages.py::test_last_page - assert 3 == 2\nFAILED tests/test_x.py::test_third\n3 failed, 55 passed in 3.1s",
         True, (Outcome("open", "pytest tests fail: test_page_zero_rejected, test_last_page; 3 failed, 55 passed", "check:pytest -q"),)),
        ("Bash", {"command": "go test ./..."}, "--- FAIL: TestBatcherConcurrentAdd (0.21s)\nFAIL\tgithub.com/a/b\t1.4s", True,
         (Outcome("open", "go test tests fail: TestBatcherConcurrentAdd", "check:go test"),)),
        ("Bash", {"command": "cargo test"}, "test cli::tests::snapshot_help_output ... FAILED\n\nfailures:\n\n"
         "test result: FAILED. 13 passed; 1 failed; 0 ignored", True,
         (Outcome("open", "cargo test tests fail: snapshot_help_output; 13 passed, 1 failed", "check:cargo test"),)),
        ("Bash", {"command": "npx vitest run"}, " FAIL  test/board.test.tsx > Board > reorders a column on drop\n"
         " Tests  1 failed | 19 passed (20)", True, (Outcome("open", "vitest tests fail: reorders a column on drop; 1 failed, 19 passed", "check:npx vitest"),)),
        ("Bash", {"command": "dotnet test"}, "  Failed Shop.Tests.OrderMapperTests.ToDto_MapsNullShipping [4 ms]\n"
         "Failed!  - Failed:     1, Passed:   142", True, (Outcome("open", "dotnet test tests fail: ToDto_MapsNullShipping", "check:dotnet test"),)),
        ("Bash", {"command": "cd api && pytest -q"}, "42 passed in 2.3s", False,
         (Outcome("done", "pytest tests pass: 42 passed", "check:pytest -q"),)),
        ("run_terminal_cmd", {"command": "npm run build"}, "vite v5 building...\nbuilt in 3.1s", False,
         (Outcome("done", "npm run build passes", "check:npm run"),)),
        ("shell", {"command": ["bash", "-lc", "cargo build"]}, "error[E0502]: cannot borrow\nerror: could not compile", True,
         (Outcome("open", "cargo build failing: error[E0502]: cannot borrow", "check:cargo build"),)),
        ("Bash", {"command": 'git commit -am "fix: offset"'}, "[fix/offset 4e1a9c2] fix: offset\n 1 file changed", False,
         (Outcome("done", "committed 4e1a9c2 on fix/offset", "commit:fix: offset", "4e1a9c2"),)),
        ("Bash", {"command": 'git commit -q -m "billing: log the Postmark id" && git log --oneline -1'},
         "3d9a0e6 billing: log the Postmark id", False,
         (Outcome("done", "committed 3d9a0e6", "commit:billing: log the Postmark id", "3d9a0e6"),)),
        ("Bash", {"command": 'gh pr create --title "Fix offset" --body x'}, "https://github.com/o/r/pull/214", False,
         (Outcome("done", "opened PR #214: Fix offset", "pr:opened PR #214", "214"),)),
        ("Bash", {"command": "ls src"}, "a.py b.py", False, ()),
        ("Read", {"file_path": "src/a.py"}, "1 import os", False, ()),
    ],
)
def test_read_tool_call(name, tool_input, output, is_error, expected):
    assert read_tool_call(name, tool_input, output, is_error) == expected


def test_a_check_chained_before_a_commit_is_read_as_well():
    # The commit ran, so the chain passed; what the run printed says how (piped through tail,
    # a failing run would not stop the commit: then no commit is read, as for any failure).
    command = 'bundle exec rspec 2>&1 | tail -4 && git commit -am "Eager load customer"'
    output = "Finished in 1 minute\n418 examples, 0 failures, 3 pending\n\n[main 7c12fa9] Eager load customer\n 2 files changed"
    assert read_tool_call("Bash", {"command": command}, output, False) == (
        Outcome("done", "rspec tests pass: 418 examples, 0 failures", "check:bundle exec"),
        Outcome("done", "committed 7c12fa9 on main", "commit:Eager load customer", "7c12fa9"),
    )
    assert read_tool_call("Bash", {"command": 'git add -A && git commit -m "x"'}, "[main 1234567] x", False) == (
        Outcome("done", "committed 1234567 on main", "commit:x", "1234567"),
    )


def test_read_todos():
    todos = {"todos": [{"content": "Add the index", "status": "completed"}, {"content": "Write the migration", "status": "pending"}]}
    assert read_todos(todos) == [("completed", "Add the index"), ("pending", "Write the migration")]
    assert read_todos({"command": "ls"}) is None


def test_read_the_work_lists_of_codex_and_gemini_cli():
    codex = {"explanation": "Fix the parser first.", "plan": [
        {"step": "Reproduce the date parsing bug", "status": "completed"},
        {"step": "Fix parse_date for ISO weeks", "status": "in_progress"},
        {"step": "Add regression tests", "status": "pending"},
    ]}
    assert read_todos(codex) == [
        ("completed", "Reproduce the date parsing bug"), ("in_progress", "Fix parse_date for ISO weeks"), ("pending", "Add regression tests"),
    ]
    gemini = {"todos": [{"description": "Migrate the config loader", "status": "completed"},
                        {"description": "Drop the YAML fallback", "status": "cancelled"}]}
    assert read_todos(gemini) == [("completed", "Migrate the config loader")], "a cancelled entry is neither done nor open"


def call(n: int, name: str, **tool_input: object) -> Message:
    return Message("assistant", [ToolUseBlock(f"t{n}", name, dict(tool_input))])


def result(n: int, output: str, is_error: bool = False) -> Message:
    return Message("user", [ToolResultBlock(f"t{n}", [TextBlock(output)], is_error)])


def test_git_state_at_the_end_is_an_open_loop():
    start = [Message("user", [TextBlock("fix the offset bug, commit it and open a PR")])]
    edit = [call(1, "Edit", file_path="app/items.py", old_string="a", new_string="b"), result(1, "ok")]
    commit = [call(2, "Bash", command="git commit -am 'fix'"), result(2, "[main 9b04d1e] fix\n 1 file changed")]
    push = [call(3, "Bash", command="git push"), result(3, "To github.com:o/r.git")]
    pr = [call(4, "Bash", command="gh pr create --title 'Fix'"), result(4, "https://github.com/o/r/pull/7")]
    merge = [call(5, "Bash", command="gh pr merge 7 --squash"), result(5, "Merged")]

    assert "changes not committed" in extract_sitrep(start + edit).open_loops
    assert "commit 9b04d1e not pushed" in extract_sitrep(start + edit + commit).open_loops
    pushed = extract_sitrep(start + edit + commit + push).open_loops
    assert not any("commit" in loop or "changes" in loop for loop in pushed)
    assert "PR #7 awaiting review" in extract_sitrep(start + edit + commit + pr).open_loops
    assert not any("PR #7" in loop for loop in extract_sitrep(start + edit + commit + pr + merge).open_loops)
    assert "changes not committed" in extract_sitrep(start + edit + commit + edit).open_loops


def test_edits_left_uncommitted_are_open_only_where_committing_is_in_question():
    """Committing is the person's own next step unless the session commits or speaks of it."""
    edit = [call(1, "Edit", file_path="app/items.py", old_string="a", new_string="b"), result(1, "ok")]
    asked = [Message("user", [TextBlock("fix the offset bug")])]
    assert "changes not committed" not in extract_sitrep(asked + edit).open_loops
    told = [Message("assistant", [TextBlock("Fixed. I have not committed anything yet.")])]
    assert "changes not committed" in extract_sitrep(asked + edit + told).open_loops


def test_a_check_red_then_green_closes_its_loop_and_is_a_step():
    messages = [
        Message("user", [TextBlock("the tests fail on CI, fix them")]),
        call(1, "Bash", command="pytest -q"), result(1, "1 failed, 9 passed", is_error=True),
        call(2, "Edit", file_path="src/a.py", old_string="x", new_string="y"), result(2, "ok"),
        call(3, "Bash", command="pytest -q"), result(3, "10 passed in 1.0s"),
    ]
    sitrep = extract_sitrep(messages)
    assert "pytest tests pass: 10 passed" in sitrep.completed_steps
    assert not any("fail" in loop for loop in sitrep.open_loops), sitrep.open_loops
    assert sitrep.evidence["pytest tests pass: 10 passed"]["turn"] == 6


def test_a_passing_chain_closes_every_check_it_ran():
    messages = [
        Message("user", [TextBlock("fix the data race in the batcher")]),
        call(1, "Bash", command="go test -race ./..."), result(1, "--- FAIL: TestAdd\nFAIL", is_error=True),
        call(2, "Bash", command="shellcheck deploy.sh"), result(2, "SC2154: var is referenced but not assigned", is_error=True),
        call(3, "Bash", command="go test -race ./... && go vet ./... && shellcheck deploy.sh"), result(3, "ok  acme/batcher 1.2s"),
    ]
    assert extract_sitrep(messages).open_loops == []


def test_tests_run_in_the_commit_s_own_command_close_their_loop():
    """"pytest -q && git commit …" was read as the commit alone: the red run before it stayed open."""
    messages = [
        Message("user", [TextBlock("fix the pagination tests and commit")]),
        call(1, "Bash", command="pytest -q"), result(1, "2 failed, 56 passed in 2.0s", is_error=True),
        call(2, "Edit", file_path="app/items.py", old_string="x", new_string="y"), result(2, "ok"),
        call(3, "Bash", command="pytest -q && git commit -qam 'fix offset'"), result(3, "58 passed in 2.1s\n[main 4e1a9c2] fix offset"),
    ]
    sitrep = extract_sitrep(messages)
    assert not any("fail" in loop for loop in sitrep.open_loops), sitrep.open_loops
    assert {"pytest tests pass: 58 passed", "committed 4e1a9c2 on main"} <= set(sitrep.completed_steps)


def test_the_agent_s_report_of_a_pr_it_opened_is_not_a_second_step_or_loop():
    """"Draft PR #96 is open: …/pull/96" after ``gh pr create`` retold the PR as a second step (3
    dev sessions), or, refused as a step, as a loop beside "PR #96 awaiting review"."""
    messages = [
        Message("user", [TextBlock("fix the offset bug, commit it and open a PR")]),
        call(1, "Edit", file_path="app/items.py", old_string="a", new_string="b"), result(1, "ok"),
        call(2, "Bash", command="git commit -am 'fix' && git push"), result(2, "[fix 9b04d1e] fix\n 1 file changed"),
        call(3, "Bash", command="gh pr create --title 'Fix offset'"), result(3, "https://github.com/o/r/pull/7"),
        Message("assistant", [TextBlock("Done. PR opened: https://github.com/o/r/pull/7 and it is open for review.")]),
    ]
    sitrep = extract_sitrep(messages)
    assert [step for step in sitrep.completed_steps if "7" in step] == ["opened PR #7: Fix offset"], sitrep.completed_steps
    assert [loop for loop in sitrep.open_loops if "7" in loop] == ["PR #7 awaiting review"], sitrep.open_loops


def test_a_failed_command_that_is_no_check_is_open_only_while_the_session_ends_on_it():
    """A probe, a refused edit or a lookup with no match is how an agent explores (listed whatever
    came after, such failures were wrong 11 times in 11 on dev); the session ending on one is open."""
    start = [Message("user", [TextBlock("the build is broken, find out why")])]
    probe = [call(1, "Bash", command="git checkout -b fix-build"), result(1, "fatal: a branch named 'fix-build' already exists", True)]
    refused = [call(2, "Write", file_path="build.sh", content="x"), result(2, "The user doesn't want to proceed with this tool use", True)]
    read = [call(3, "Read", file_path="build.sh"), result(3, "1 #!/bin/sh")]
    assert "git checkout -b fix-build failed: fatal: a branch named 'fix-build' already exists" in extract_sitrep(start + probe).open_loops
    assert not any("failed" in loop for loop in extract_sitrep(start + probe + refused + read).open_loops)
