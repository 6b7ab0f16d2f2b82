"""SITREP extraction: the labelled corpus, the original Trooper's cases, and the rules' edges."""

from __future__ import annotations

import json
import random

import pytest

from tests.memory.corpus import load_split, score
from trooper.conversation import Message, TextBlock, ToolResultBlock, ToolUseBlock
from trooper.memory.sitrep.builder import (
    _KEYWORD,
    SitrepBuilder,
    _words,
    clear_cache,
    concise,
    extract_sitrep,
    keywords,
    render_sitrep,
)
from trooper.memory.sitrep.entities import extract_entities
from trooper.memory.tokens import count_tokens

#: Rule tests read the dev split only; the test split is scored, never read item by item.
CORPUS = load_split("dev")
SESSIONS = {session.id: session for session in CORPUS}
#: Floors under the figures measured at the last change of rules or models (docs/sitrep.md, strict metric): a
#: rule change that loses more than a couple of points on either split fails here.
FLOORS = {
    "dev": {"entities": 0.46, "open_loops": 0.24, "completed_steps": 0.32, "intent": 0.78},
    "test": {"entities": 0.46, "open_loops": 0.16, "completed_steps": 0.36, "intent": 0.58},
}


def user(text: str) -> Message:
    return Message("user", [TextBlock(text)])


def assistant(text: str) -> Message:
    return Message("assistant", [TextBlock(text)])


def test_corpus_is_large_varied_and_split():
    test_split = load_split("test")
    assert len(CORPUS) + len(test_split) >= 150 and len(test_split) >= 50
    kinds = {session.kind for session in CORPUS + test_split}
    assert {"coding-agent", "openai-agent", "debugging", "data-analysis", "pr-series", "chit-chat", "non-english", "long-turns"} <= kinds
    for session in CORPUS + test_split:
        labels = session.expected
        assert labels["intent_keywords"] or not labels["intent"], session.id
        for name in ("open_loops", "completed_steps"):
            assert all(len(item.split()) <= 12 for item in labels[name]), (session.id, name)


@pytest.mark.parametrize("split", sorted(FLOORS))
def test_strict_figures_hold_on_both_splits(split):
    figures = score(load_split(split), lambda s: extract_sitrep(s.messages).to_dict()).figures()
    for field, floor in FLOORS[split].items():
        assert figures[field] >= floor, (split, field, round(figures[field], 3))


def test_items_are_concise():
    for session in CORPUS:
        sitrep = extract_sitrep(session.messages)
        for item in sitrep.open_loops + sitrep.completed_steps:
            assert len(item.split()) <= 12 or item.endswith("?"), (session.id, item)


def test_concise_takes_the_clause_without_its_filler():
    assert concise("OK so I've `fixed` the **off-by-one** in src/parser/dates.py.") == "fixed the off-by-one in src/parser/dates.py"
    assert len(concise("we " + "really " * 30 + "did it").split()) == 12


def test_no_item_is_both_open_and_done():
    """A clause both selectors list is a step, not also an open loop (20 dev sessions listed one twice)."""
    for session in CORPUS:
        sitrep = extract_sitrep(session.messages)
        assert not set(sitrep.open_loops) & set(sitrep.completed_steps), session.id


def test_an_open_loop_is_listed_once_however_often_it_was_read():
    """A loop read twice (a question and its own 10-word cut, "Write tests for useTheme" and
    "Still to do: the useTheme tests") is listed once: 11 pairs on dev were listed twice."""
    for session in CORPUS:
        loops = [keywords(loop) for loop in extract_sitrep(session.messages).open_loops]
        for i, words in enumerate(loops):
            assert all(len(words & other) * 2 < len(words | other) for other in loops[:i] if words and other), session.id


def test_an_item_cut_short_does_not_end_on_a_word_that_leads_on():
    cut = concise("I'd keep it for a follow-up PR so this one stays a small fix")
    assert cut == "I'd keep it for a follow-up PR so this one stays"  # not "… stays a"


def test_every_item_points_at_the_turn_it_was_read_from():
    session = SESSIONS["agent-fix-failing-test"]
    sitrep = extract_sitrep(session.messages)
    for item in sitrep.completed_steps:
        turn = sitrep.evidence[item]["turn"]
        assert 0 <= turn < len(session.messages)


def test_postgres_pool_session():
    sitrep = extract_sitrep(SESSIONS["postgres-pool-go"].messages)
    assert sitrep.intent == "building a postgres connection pool in go"
    assert "postgres" in sitrep.entities
    assert any("leak" in loop for loop in sitrep.open_loops)
    assert any("max idle connections" in loop for loop in sitrep.open_loops)  # asked, not yet answered
    assert sitrep.confidence >= 0.8


def test_completed_prs_are_steps():
    sitrep = extract_sitrep(SESSIONS["pr-series-completed"].messages)
    assert [s.split(":")[0] for s in sitrep.completed_steps] == ["Completed PR #1", "Completed PR #2", "Completed PR #3"]


def test_the_same_pr_reported_twice_is_one_step():
    messages = [user("status?"), assistant("Merged PR #12."), user("and?"), assistant("PR #12 is merged, as I said.")]
    assert len(extract_sitrep(messages).completed_steps) == 1


def test_ordinary_words_are_never_entities():
    text = "Please check the work and use the fallback. Let's go with it, the rest works, make it stable."
    assert extract_entities(text) == []


@pytest.mark.parametrize(
    ("text", "entity"),
    [
        ("rewrite it in Go", "go"),
        ("we use PostgreSQL 16", "postgres"),
        ("set DATABASE_URL first", "DATABASE_URL"),
        ("edit src/app/main.py", "src/app/main.py"),
        ("it returns a 502.", "HTTP 502"),
        ("ECONNREFUSED on connect", "ECONNREFUSED"),
        ("raises psycopg.OperationalError", "OperationalError"),
        ("Exception raised on start", "Exception"),
        ("timing out after 5000ms", "5000ms"),
        ("the file is 1.2 GB", "1.2 GB"),
        ("killed with exit code 137.", "exit code 137"),
        ("shellcheck is clean now", "shellcheck"),
        ("mvn package dies in compile", "maven"),
        ("the useEffect runs twice", "useEffect"),
        ("GridSearchCV takes an hour", "GridSearchCV"),
        ("log it in send_invoice_email", "send_invoice_email"),
    ],
)
def test_entity_rules(text, entity):
    assert entity in extract_entities(text)


def test_answered_question_closes_and_unanswered_stays_open():
    asked = [user("how do I rotate the logs?")]
    assert extract_sitrep(asked).open_loops == ["how do I rotate the logs?"]
    answered = asked + [assistant("Use logrotate with a daily rule and compress old files; here is a config.")]
    assert extract_sitrep(answered).open_loops == []


def test_a_fix_resolves_the_problem_it_names():
    messages = [user("the import job is still failing with a KeyError"), assistant("Fixed the KeyError in the import job.")]
    sitrep = extract_sitrep(messages)
    assert sitrep.open_loops == [] and sitrep.resolved_loops and sitrep.completed_steps


def test_failed_tool_call_is_open_until_the_tool_succeeds():
    call = Message("assistant", [ToolUseBlock("t1", "bash", {"command": "pytest -q"})])
    failed = Message("user", [ToolResultBlock("t1", [TextBlock("ImportError: no module named app")], is_error=True)])
    sitrep = extract_sitrep([user("run the tests please"), call, failed])
    assert sitrep.open_loops == ["pytest tests fail: ImportError: no module named app"]
    assert "ImportError" in sitrep.entities
    retry = Message("assistant", [ToolUseBlock("t2", "bash", {"command": "pytest -q"})])
    passed = Message("user", [ToolResultBlock("t2", [TextBlock("12 passed")])])
    assert extract_sitrep([user("run the tests please"), call, failed, retry, passed]).open_loops == []


def test_a_change_of_plan_refines_the_intent_and_costs_confidence():
    first = [
        user("i want to build a cli for our billing exports"),
        assistant("Sure, let's start with argparse and the export command."),
    ]
    pivot = first + [user("actually, now I want to build a small web dashboard instead")]
    before, after = extract_sitrep(first), extract_sitrep(pivot)
    assert before.intent == "build a cli for our billing exports"
    # The refit model (207 dev sessions) keeps the sentence whole here; the goal is what it ends on.
    assert after.intent.endswith("build a small web dashboard instead")
    assert after.confidence < before.confidence


def test_a_vague_request_is_read_beside_the_problem_the_turn_reports():
    sitrep = extract_sitrep([user("CI has been red since we added node 22 to the matrix. fix it pls")])
    assert sitrep.intent.startswith("fix it pls: CI has been red since we added node 22")


def test_the_intent_is_the_question_not_the_background():
    turn = "we already run postgres 15 on RDS for everything else. pgvector vs qdrant, what would you pick?"
    assert extract_sitrep([user(turn)]).intent.startswith("pgvector vs qdrant what would you pick")


@pytest.mark.parametrize("turn, goal", [
    ("Seit dem Update auf Airflow 2.9 hängen die Sensoren. Kannst du mir bitte den Sensor auf Reschedule umstellen.",
     "den Sensor auf Reschedule umstellen"),
    ("Tenemos un problema con los backups desde ayer. Puedes migrar el cron de backups a systemd timers.",
     "migrar el cron de backups a systemd timers"),
    ("On a un souci de CORS depuis la mise à jour du front. Pourriez-vous corriger la config nginx du proxy.",
     "corriger la config nginx du proxy"),
    ("Estamos com problemas no deploy desde ontem. Você pode revisar o Dockerfile do serviço de pagamentos.",
     "revisar o Dockerfile do serviço de pagamentos"),
])
def test_a_polite_request_after_the_background_is_the_intent_in_other_languages_too(turn: str, goal: str):
    assert extract_sitrep([user(turn)]).intent.startswith(goal)


def test_a_pasted_log_is_not_the_intent_but_its_error_line_is_read():
    turn = "the app dies on the first request:\n\n```\n2024-05-02T10:00:00Z INFO started\njava.lang.NoSuchMethodError: 'JsonParser.getReadCapabilities()'\n```"
    intent = extract_sitrep([user(turn)]).intent
    assert "NoSuchMethodError" in intent and "INFO" not in intent


def test_the_intent_is_shown_as_the_user_wrote_its_names():
    """Read lower-cased, shown as written: a name's capitals are kept, a sentence's opening capital is not."""
    turn = "We have the Next.js frontend on app.tienda.io. Can you fix the 403 CSRF errors on POSTs to the Django API?"
    assert extract_sitrep([user(turn)]).intent.startswith("fix the 403 CSRF errors on POSTs to the Django API: we have the Next.js")


def test_the_intent_shows_a_url_whole():
    """Read as words, "https://api…" was shown "https //api…"; a "//" that was no URL's stays apart."""
    turn = "fix: fetch to 'https://api.brightdesk.io/v2/tickets' from 'https://app.brightdesk.io' is blocked by CORS"
    assert "'https://api.brightdesk.io/v2/tickets' from 'https://app.brightdesk.io'" in extract_sitrep([user(turn)]).intent
    turn = "can you fix the parser, it breaks on foo //bar comments and on postgres://db/x urls"
    assert "foo //bar comments and on postgres://db/x" in extract_sitrep([user(turn)]).intent


def test_a_turn_that_asks_nothing_leaves_the_intent_to_the_next_request():
    turns = [user("hey"), assistant("Hi! What's up?"), user("nothing much, the demo went really well yesterday"),
             assistant("Congrats, that is great to hear!"), user("thanks! any ideas for a team dinner place for vegetarians?")]
    assert extract_sitrep(turns).intent == "any ideas for a team dinner place for vegetarians"


def test_actually_inside_a_clause_announces_nothing():
    turns = [user("cargo build broke after I refactored merge_layers, can you sort it out"), assistant("Fixed the two call sites."),
             user("leave the snapshot failing for now, I need to check which semantics we actually want")]
    assert "merge_layers" in extract_sitrep(turns).intent


def test_a_new_task_announced_replaces_the_intent():
    turns = [user("the card grid on /pricing collapses on Safari 14"), assistant("Add a gap fallback with margins."),
             user("that fixed it. different thing: the footer doesn't stick to the bottom on short pages")]
    assert "footer" in extract_sitrep(turns).intent


def test_an_agents_report_after_its_edits_lists_its_steps():
    messages = [
        user("fix the race in the batcher"),
        Message("assistant", [ToolUseBlock("t1", "Edit", {"file_path": "batcher.go", "old_string": "a", "new_string": "b"})]),
        Message("user", [ToolResultBlock("t1", [TextBlock("ok")])]),
        assistant("What changed:\n- `flush()` now swaps `buf` under the mutex. It was racy.\n"
                  "- I'll add a benchmark next.\n- Is the ticker still needed?"),
    ]
    steps = extract_sitrep(messages).completed_steps
    assert "flush() now swaps buf under the mutex" in steps
    assert not any("benchmark" in step or "ticker" in step for step in steps)


def test_a_list_before_any_edit_is_not_a_report_of_steps():
    messages = [user("why does deploy.sh die?"), assistant("Two problems:\n1. `TAG=$DEPLOY_TAG` aborts under set -u.\n2. The rollback never runs.")]
    assert extract_sitrep(messages).completed_steps == []


def test_a_deferred_pronoun_takes_what_it_stands_for_along():
    turns = [user("add a CSV export route"), assistant("Added /api/export, it streams the rows as CSV."),
             user("I also want the filename to include the date range but do that tomorrow")]
    assert "want the filename to include the date range: do that tomorrow" in extract_sitrep(turns).open_loops


def test_products_written_in_humps_are_not_code_names():
    assert extract_entities("pushed it to GitHub from my MacBook and my iPhone") == ["github"]


def test_sql_keywords_are_not_entities():
    """What a (demo) model's SQL says in capitals names nothing of the session's own."""
    turns = [
        user("I am building a recipes app with sqlite and flask. how do I store my recipes?"),
        assistant(
            "Create the table once with `CREATE TABLE IF NOT EXISTS recipes (id INTEGER PRIMARY KEY AUTO_INCREMENT)`. "
            "EXISTS keeps it from failing the second time; add an INDEX on the name and use DISTINCT when you list them. "
            "Wrap the inserts in BEGIN and COMMIT."
        ),
        user("ok and how do I list them in flask?"),
        assistant("Query with DISTINCT in a flask route: SELECT DISTINCT name FROM recipes. EXISTS works too."),
    ]
    entities = extract_sitrep(turns).entities
    assert {"flask", "sqlite"} <= set(entities)
    assert not {"EXISTS", "AUTO_INCREMENT", "INDEX", "DISTINCT", "BEGIN", "COMMIT", "INTEGER"} & set(entities), entities


def test_quoted_expressions_are_not_entities():
    sitrep = extract_sitrep([user("why is `len(b.buf)` racy when `flush()` and `b.mu.Lock` run?")])
    assert "len(b.buf)" not in sitrep.entities and "flush()" in sitrep.entities


def test_confidence_formula_bounds():
    assert extract_sitrep([]).confidence == 0.0
    for session in CORPUS:
        assert 0.0 <= extract_sitrep(session.messages).confidence <= 1.0


def test_incremental_builder_equals_full_extraction():
    for session in CORPUS[:10]:
        builder = SitrepBuilder()
        for message in session.messages:
            builder.add(message)
        assert builder.build() == extract_sitrep(session.messages)


def test_building_midway_does_not_disturb_the_fold():
    session = SESSIONS["postgres-pool-go"]
    builder = SitrepBuilder()
    for count, message in enumerate(session.messages, 1):
        builder.add(message)
        assert builder.build() == extract_sitrep(session.messages[:count])


def test_texts_read_before_give_the_same_sitrep():
    """Turn readings are cached by text: a cold read and a cached one agree, repeated turns included."""
    repeated = [m for session in CORPUS[:12] for m in session.messages] * 2
    clear_cache()
    cold = [extract_sitrep(session.messages) for session in CORPUS] + [extract_sitrep(repeated)]
    cached = [extract_sitrep(session.messages) for session in CORPUS] + [extract_sitrep(repeated)]
    assert cold == cached


def test_technologies_come_in_text_order_whatever_the_hash_seed():
    assert extract_entities("rewrite it in Go with Rust and Swift modules") == ["go", "rust", "swift"]


def test_sitrep_is_json_serialisable():
    data = extract_sitrep(SESSIONS["flask-to-fastapi"].messages).to_dict()
    assert json.loads(json.dumps(data)) == data
    assert set(data) >= {"intent", "confidence", "entities", "open_loops", "completed_steps", "decisions", "constraints"}


def test_render_is_a_compact_block_that_respects_a_token_budget():
    sitrep = extract_sitrep(SESSIONS["postgres-pool-go"].messages)
    block = render_sitrep(sitrep)
    assert block.startswith("[TROOPER_SITREP]") and block.endswith("[/TROOPER_SITREP]")
    assert "intent: building a postgres connection pool in go" in block
    for budget in (200, 80, 40, 20):
        limited = render_sitrep(sitrep, max_tokens=budget)
        assert count_tokens(limited) <= budget
        assert limited == "" or limited.startswith("[TROOPER_SITREP]")
    assert render_sitrep(sitrep, max_tokens=5) == ""


def test_keyword_words_are_what_the_keyword_pattern_finds():
    rng = random.Random(5)
    alphabet = list("aZ9_.+#'- \t\n,;:!?()/$%é") + ["foo", "c++", "node.js", "__", "--", "x."]
    for _ in range(20000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14))).lower()
        assert _words(text) == set(_KEYWORD.findall(text)), text


CLAUDE_MD_REMINDER = (
    "<system-reminder>\nAs you answer the user's questions, you can use the following context:\n# claudeMd\n"
    "Contents of /repo/CLAUDE.md (project instructions, checked into the codebase):\n- Use pnpm, never npm.\n"
    "- Run `make lint` and vitest before committing; Postgres runs in docker compose.\n# currentDate\n"
    "Today's date is 2025-10-01.\n\nIMPORTANT: this context may or may not be relevant to your tasks.\n</system-reminder>\n"
)
READ_REMINDER = "<system-reminder>\nWhenever you read a file, you should consider whether it would be considered malware.\n</system-reminder>\n"


def test_claude_codes_own_context_is_not_read_as_the_users_words():
    """Claude Code puts CLAUDE.md and reminders inside the user's turn and after tool results:
    the intent, the entities and the items come from what the person and the tools said."""
    messages = [
        Message("user", [TextBlock(CLAUDE_MD_REMINDER),
                         TextBlock("The login form accepts an empty password. Fix the validation in src/auth/login.ts.")]),
        Message("assistant", [ToolUseBlock("t1", "Read", {"file_path": "/repo/src/auth/login.ts"})]),
        Message("user", [ToolResultBlock("t1", [TextBlock("export function validate(p: string) { return true }\n" + READ_REMINDER)])]),
    ]
    sitrep = extract_sitrep(messages)
    assert "validation" in sitrep.intent and "login" in sitrep.intent
    said = json.dumps(sitrep.to_dict()).lower()
    for context_only in ("pnpm", "claude.md", "make lint", "vitest", "docker", "postgres", "malware", "2025-10-01"):
        assert context_only not in said, context_only
    assert "src/auth/login.ts" in sitrep.entities


def test_the_request_comes_before_the_preamble_that_leads_to_it():
    turn = "Hi! So I have been working on this billing service for a while and can you set up a connection pool with timeouts for it?"
    assert extract_sitrep([user(turn)]).intent.startswith("set up a connection pool with timeouts")


def test_instead_of_announces_no_change_of_task():
    turns = [user("i want to add retries to the invoice email task"), assistant("Sure, here is a version with retries."),
             user("the db team created a new secret instead of updating the old one, is that related?")]
    assert "retries" in extract_sitrep(turns).intent


def test_the_shipped_intent_model_is_the_one_fitted_on_dev():
    """``models/intent.json`` is what ``python -m tests.memory.train_intent`` writes from this dev split."""
    from tests.memory.choice_fit import fit_choice
    from tests.memory.train_intent import MODEL_PATH, SETTINGS, examples_of

    model = fit_choice([examples_of(session) for session in load_split("dev")], **SETTINGS)
    assert model.to_json() == MODEL_PATH.read_text(encoding="utf-8")


def test_a_problem_the_user_says_still_is_stays_open_until_a_fix_closes_it():
    report = user("Help me fix the flaky login test in the auth service. It still fails on CI.")
    answered = [report, assistant("Use pytest fixtures for setup.")]
    assert extract_sitrep(answered).open_loops == ["Help me fix the flaky login test: It still fails on CI"]
    fixed = answered + [user("ok I fixed the flaky login test, it passes on CI now"), assistant("great")]
    assert extract_sitrep(fixed).open_loops == []


def test_no_sentence_is_listed_as_open_and_done():
    """Both models could list cuts of one sentence ("/pricing: switched from flex gap to CSS grid"
    as a loop beside the same sentence as a step): 11 dev sessions showed a sentence twice."""
    for session in CORPUS:
        sitrep = extract_sitrep(session.messages)
        said = {field: {(note["turn"], note["text"]) for item in items if (note := sitrep.evidence.get(item))}
                for field, items in (("steps", sitrep.completed_steps), ("loops", sitrep.open_loops))}
        assert not said["steps"] & said["loops"], session.id
