"""Which candidates the SITREP lists: cores of clauses, work put off, structure by rule, the selector."""

from trooper.conversation import Message, TextBlock, ToolResultBlock, ToolUseBlock
from trooper.memory.sitrep import extract_sitrep
from trooper.memory.sitrep.items import FIELDS, KEEP_ALL, Selector, core, first_words, planned_or_asked, shown
from trooper.memory.sitrep.linear import LinearModel


def user(text: str) -> Message:
    return Message("user", [TextBlock(text)])


def assistant(text: str) -> Message:
    return Message("assistant", [TextBlock(text)])


def test_the_core_of_a_clause_drops_its_aside_and_its_consequence():
    assert core("hydration error on /dashboard fixed (LastUpdated gets fetchedAt from the server)") == "hydration error on /dashboard fixed"
    assert core("package.json engines now >=18, so node 22 installs") == "package.json engines now >=18"
    assert core("so it") == "so it"  # too little left: kept whole
    assert len(core(" ".join(["word"] * 30)).split()) == 10


def test_an_item_never_ends_inside_an_aside_it_leaves_open():
    """A cut at 12 words, or a sentence split at "e.g.", left "… for that session (e.g" on the dashboard."""
    assert first_words("Set maintenance_work_mem higher for that session (e.g".split(), 12) == "Set maintenance_work_mem higher for that session"
    cut = "mypy receiptr/core failing: Found 7 errors in 3 files (checked 6 source files)".split()
    assert first_words(cut, 12) == "mypy receiptr/core failing: Found 7 errors in 3 files"
    assert first_words("closed (urls.txt".split(), 12) == "closed (urls.txt"  # too little before it: kept
    assert first_words("useId() in FleetChart (done)".split(), 12) == "useId() in FleetChart (done)"


def test_an_item_is_listed_without_the_subject_and_auxiliary_opening_it():
    assert shown("I'll set up a small bake-off on the staging cluster next week") == "set up a small bake-off on the staging cluster next week"
    assert shown("we'd need a ticket for the cart 500s") == "need a ticket for the cart 500s"
    assert shown("It was a float parsing bug in 2.11.0") == "a float parsing bug in 2.11.0"
    assert shown("I'll look") == "I'll look"  # one word left: kept whole
    assert shown("Itemized exports still fail") == "Itemized exports still fail"
    assert shown("pytest tests pass: 42 passed") == "pytest tests pass: 42 passed"


def test_a_plan_is_listed_as_open_without_its_i_ll():
    messages = [user("the exporter crashes on empty files"), assistant("Fixed the empty-file crash."),
                user("great. I'll add the retry wrapper tomorrow, out of time")]
    loops = extract_sitrep(messages).open_loops
    assert any(loop.startswith("add the retry wrapper") for loop in loops), loops


def test_a_plan_or_a_question_is_no_step():
    assert planned_or_asked("I'll add a benchmark next", "I'll add a benchmark next.")
    assert planned_or_asked("the ticker still needed", "Is the ticker still needed?")
    assert not planned_or_asked("flush() now swaps buf under the mutex", "flush() now swaps buf under the mutex.")


def test_work_put_off_stays_open_after_a_generic_fix():
    messages = [
        user("the export route works now"),
        assistant("Good. Anything else?"),
        user("the metrics dashboard is still missing, I'll do it tomorrow, out of time today"),
        assistant("Sounds good."),
        user("oh and the typo in the header, that fixed it"),
    ]
    assert any("metrics dashboard" in loop for loop in extract_sitrep(messages).open_loops)


def _nothing_listed() -> Selector:
    return Selector({field: LinearModel({}, -100.0) for field in FIELDS})


def test_tool_outcomes_are_listed_by_rule_whatever_the_selector():
    call = Message("assistant", [ToolUseBlock("t1", "Bash", {"command": "pytest -q"})])
    failed = Message("user", [ToolResultBlock("t1", [TextBlock("1 failed, 4 passed in 0.3s")], is_error=True)])
    messages = [user("run the tests"), call, failed, assistant("I renamed the helper in app.py.")]
    quiet = extract_sitrep(messages, _nothing_listed())
    assert quiet.open_loops == ["pytest tests fail: 1 failed, 4 passed"]
    assert quiet.completed_steps == []
    everything = extract_sitrep(messages, KEEP_ALL)
    assert len(everything.completed_steps) >= 1 and len(everything.open_loops) >= 2
