"""Entity rules: what in a turn's text names a concrete thing worth remembering.

Only these kinds count: technologies from a closed vocabulary, file names and paths, environment
variable names, error codes (exception classes, errno names, signals, HTTP statuses, vendor
codes), numbers with a measurement unit, and names by a shape prose does not take: code names,
kebab-case, short names in capitals, products' names around one, tickets, names joined by "/",
dotted members and empty calls. Ordinary words never do, whatever their shape.

The text is split into tokens once (``str.translate`` and ``str.split`` run in C); plain
lowercase words, the bulk of any text, are skipped with one test each, and only the rest is
looked at closely. That keeps extraction to microseconds per turn.
"""

from __future__ import annotations

import re
from typing import Iterator

from trooper.memory.lexicon import AMBIGUOUS, TECHNOLOGIES
from trooper.privacy.entropy import looks_random

FILE_EXTENSIONS = frozenset(
    """py pyi go rs ts tsx js jsx mjs json jsonl yaml yml toml md rst sql sh bash rb java kt c h cc cpp hpp cs
    php swift css scss html ipynb csv tsv parquet txt env ini cfg conf lock log proto tf xml gradle mod sum vue
    svelte dart ex exs lua r plist gguf db sqlite pem crt zip gz tar pdf png jpg svg""".split()
)
_NAMED_FILES = frozenset(
    "Dockerfile Makefile Procfile Gemfile Justfile .env .gitignore .dockerignore .bashrc .zshrc .npmrc".split()
)
_UNITS = frozenset(
    """ms µs us ns s sec secs second seconds min mins minute minutes h hr hrs hour hours day days week weeks
    b kb mb gb tb pb kib mib gib tib byte bytes % rps qps tps req/s requests/s requests/sec ops/s hz khz mhz ghz
    fps token tokens vcpu vcpus cpu cpus core cores gpu gpus °c dpi ki mi gi ti vh vw dvh px rem em""".split()
)
_ERROR_SUFFIXES = ("Error", "Exception", "Exit", "Fault", "Panic")
_NAMED_ERRORS = frozenset(
    """ECONNREFUSED ECONNRESET ECONNABORTED ETIMEDOUT ENOENT EACCES EPERM EPIPE EADDRINUSE ENOTFOUND EAGAIN
    ENOMEM EEXIST EINVAL EHOSTUNREACH ENETUNREACH EMFILE SIGSEGV SIGKILL SIGTERM SIGABRT SIGBUS SIGPIPE
    SIGINT SIGHUP OOMKilled CrashLoopBackOff ImagePullBackOff ErrImagePull""".split()
)
#: Capitalised words that are error names. An error suffix opens with a capital, so a capitalised
#: (ASCII) word ends with one only by being it, and ``_error`` wants more than five letters.
_CAPITALISED_ERRORS = frozenset(s for s in _ERROR_SUFFIXES if len(s) > 5) | {n for n in _NAMED_ERRORS if n.istitle()}
_HTTP_NAMING = frozenset("http status error code".split())
_HTTP_BEFORE = _HTTP_NAMING | frozenset("return returns returned got getting throw throws a an".split())
_STATUS_WORDS = frozenset(
    "Bad Not Too Internal Service Gateway Unauthorized Unauthorised Forbidden Conflict Unprocessable Request Payload".split()
)
_TELLING_BEFORE = frozenset("in using with written via use uses learning learn rewrite rewriting port porting".split())
_TELLING_AFTER = frozenset(
    """module modules code version program crate crates install gem gems class library app service binary
    compiler runtime sdk api cli function functions package packages project server client driver build
    test tests cluster job jobs dataframe dataframes stream toolchain edition workspace script scripts
    lint linter formatter plugin config file files""".split()
)
_TECHNOLOGY_NAMES = frozenset(TECHNOLOGIES)
#: Words in capitals that name nothing of a session's own: SQL's and logs' words, everyday abbreviations.
GENERIC_CAPITALS = frozenset(
    """SELECT FROM WHERE AND OR NOT NULL AS ON BY IN IS IF SET INTO VALUES TABLE GROUP ORDER JOIN LEFT RIGHT INNER
    OUTER DESC ASC LIMIT INSERT UPDATE DELETE CREATE ALTER DROP PRIMARY KEY DEFAULT TRUE FALSE WITH CASE WHEN THEN
    ELSE END EXISTS INDEX DISTINCT UNIQUE FOREIGN REFERENCES CONSTRAINT CASCADE HAVING UNION ALL BETWEEN LIKE
    RETURNING BEGIN COMMIT ROLLBACK EXECUTE FOR CONCURRENTLY AUTO_INCREMENT AUTOINCREMENT INTEGER
    INFO WARN WARNING DEBUG TRACE FATAL ERROR OK TODO FIXME NOTE PR CI API URL ID DB UI OS PS FYI ASAP
    PASS PASSED FAIL FAILED SUCCESS STARTED DONE RUNNING SKIPPED
    IMO BTW TL DR AM PM""".split()
)
#: Names written in humps that are products or technologies, not code (``GitHub``, ``MacBook``).
_KNOWN_NAMES = _TECHNOLOGY_NAMES | frozenset(
    """github gitlab javascript typescript macbook iphone ipad youtube linkedin powershell wordpress paypal devops
    oauth graphql postgresql mysql mongodb nodejs openai chatgpt sqlite dynamodb cloudwatch cloudfront bigquery
    pagerduty datadog hubspot salesforce jetbrains intellij pycharm webstorm vscode dockerhub testflight""".split()
)
_AMBIGUOUS_NAMES = frozenset(AMBIGUOUS)
#: The longest ``\w`` run of every name (``node`` of ``node.js``): a name's runs are runs of any
#: text it occurs in, so a text whose runs include none of these names no technology.
_NAME_RUNS = frozenset(max(re.findall(r"\w+", name), key=len) for name in (*TECHNOLOGIES, *AMBIGUOUS))
_MULTI_WORD = {"github actions": "github-actions", "spring boot": "spring", "ruby on rails": "rails", "google cloud": "gcp"}

# Separators become blanks; entities are made of the rest (. / _ $ # + - % ~). A sentence end
# becomes a token of its own, so "Go" after it reads as a sentence start.
_SEPARATORS = bytes(32 if chr(c) in ",;:()[]{}<>\"'`|=&*\\^" else c for c in range(256))
_SENTENCE_ENDS = ((". ", " . "), (".\n", " .\n"), ("? ", " ? "), ("! ", " ! "))
_TRAILING = ".!?…"
_QUANTITY = re.compile(r"(\$?\d+(?:[.,]\d+)*)([^\W\d_]*(?:/s(?:ec)?)?|%)")
_MAGNITUDES = ("", "k", "K", "M")
_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f°µ]+")
_FILE = re.compile(r"(?:\.{0,2}/|~/)?(?:[\w.-]+/)*[\w-][\w.-]*\.(\w+)", re.ASCII)
_PATH = re.compile(r"(?:\./|~/|/)(?:[\w.-]+/)+[\w-]+(?:\.[\w-]+)*", re.ASCII)
# A URL route or a directory written alone: "/healthz", "/docs" (longer paths are ``_PATH``).
_ROUTE = re.compile(r"/[A-Za-z][\w-]{1,40}", re.ASCII)
# A name in two or more parts joined by "/" that is not a file: a folder ("charts/api"), a package
# or an action ("@testing-library/react", "actions/setup-python"), a rule ("react-hooks/exhaustive-deps").
_SLASHED = re.compile(r"(@?[a-z][\w.-]*(?:/[\w.-]+)+/?)(?:@[\w.-]+)?", re.ASCII)  # its version left off
# A command's long option, as people name it: "--dry-run", "--max-warnings=0".
_LONG_FLAG = re.compile(r"--[a-z][a-z0-9-]+(?:=\S+)?", re.ASCII)
_ENV = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?|([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)", re.ASCII)
_IDENTIFIER = re.compile(r"[A-Z][A-Za-z0-9]*", re.ASCII)
# Names from code: camelCase and PascalCase with two humps or more (``useEffect``, ``ClientSession``),
# snake_case (``send_invoice_email``, ``env_prefix``).
_CODE_IDENTIFIER = re.compile(r"[a-z]+[A-Z][A-Za-z]*|[A-Z][a-z]+[A-Z][A-Za-z]*", re.ASCII)
_SNAKE_IDENTIFIER = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)+", re.ASCII)
# Names people give things in kebab-case: services, packages, hosts ("report-worker",
# "pydantic-settings", "etl-01"), a package's version after "@" left off.
KEBAB_NAME = r"[a-z][a-z0-9]*(?:-[a-z0-9]+)+"
_KEBAB = re.compile(rf"({KEBAB_NAME})(?:@[\w.-]+)?", re.ASCII)
# Short names in capitals, digits allowed after the first letter: "ALB", "HPA", "PG16", "SA1019".
ACRONYM = re.compile(r"[A-Z][A-Z0-9]{1,7}", re.ASCII)
# Tickets and advisories: "CAT-412", "GO-2024-3333", "GHSA-wj6h-64fc-37mp"; issues and PRs, "#198".
_TICKET = re.compile(r"[A-Z][A-Z0-9]{1,9}-(?:\d+(?:-\d+)*|[a-z0-9]{4}(?:-[a-z0-9]{4})+)|#\d{1,6}", re.ASCII)
# A member of a module or an object: "asyncio.gather", "sync.RWMutex", "healthchecks.io".
_DOTTED = re.compile(r"[A-Za-z_$][\w$]+(?:\.[A-Za-z_$][\w$]*)+", re.ASCII)
# A function named with its empty call: "flush()", "datetime.now()" (the blanked brackets lose it).
_EMPTY_CALL = re.compile(r"(?<![\w.])([A-Za-z_][\w.]*[\w]\(\))")
#: Every error name ``_error`` accepts holds one of these: a suffix, a named error, a vendor code.
_MAY_NAME_ERROR = re.compile(
    "|".join([*_ERROR_SUFFIXES, *sorted(_NAMED_ERRORS), r"ORA-\d{5}", r"E\d{4}", r"TS\d{4}", r"CS\d{4}", "SQLSTATE"])
)
_VENDOR_CODE = re.compile(r"ORA-\d{5}|E\d{4}|TS\d{4}|CS\d{4}", re.ASCII)
# Lines of logs and stack traces: only their error codes count, not their numbers and frames.
_LOG_LINE = re.compile(r"^[ \t]*(?:\[?\d{4}-\d\d-\d\d[T ]|\d\d:\d\d:\d\d|at [\w.$]+\(|File \").*$", re.MULTILINE)
#: Whether a text after a "\n" holds such a line: opening with a literal, it is scanned for it in
#: C, where ``^`` under re.M is tried at every position.
_HAS_LOG_LINE = re.compile(r"\n[ \t]*(?:\[?\d{4}-\d\d-\d\d[T ]|\d\d:\d\d:\d\d|at [\w.$]+\(|File \")")


def _clean(text: str) -> str:
    """``text`` with separators blanked: ``.split()`` then gives its tokens."""
    if not text.isascii():  # scripts without spaces: entities are the ASCII runs between them
        text = _NON_ASCII_RUN.sub(" ", text)
    for end, spaced in _SENTENCE_ENDS:
        if end in text:
            text = text.replace(end, spaced)
    return text.encode().translate(_SEPARATORS).decode()


def _error(token: str, following: list[str]) -> str | None:
    name = token.rsplit(".", 1)[-1] if "." in token else token
    if name in _NAMED_ERRORS or (name[-1:].isdigit() and _VENDOR_CODE.fullmatch(name)):
        return name
    if name.endswith(_ERROR_SUFFIXES) and len(name) > 5 and _IDENTIFIER.fullmatch(name):
        return name
    if name == "SQLSTATE" and following:
        return f"SQLSTATE {following[0]}"
    return None


def _quantity(token: str, following: list[str]) -> str | None:
    match = _QUANTITY.fullmatch(token)
    if not match:
        return None
    number, unit = match.groups()
    if number.startswith("$"):
        return token if unit in _MAGNITUDES else None
    if unit.lower() in _UNITS:
        plural_status = unit == "s" and len(number) == 3 and number[0] in "2345"  # "502s"
        return None if plural_status else token
    after = following[0].rstrip(_TRAILING) if following else ""
    return f"{token} {after}" if unit in _MAGNITUDES and after.lower() in _UNITS else None


def _http_status(token: str, raw: str, previous: str, following: list[str]) -> str | None:
    if not (len(token) == 3 and token.isdigit() and token[0] in "2345"):
        return None
    after = following[0] if following else ""
    if previous.lower() in _HTTP_NAMING:
        return f"HTTP {token}"
    if after in _STATUS_WORDS:  # "502 Bad Gateway": named as written, its reason phrase along
        reason = []
        for word in following:
            if not word[:1].isupper():
                break
            reason.append(word.rstrip(_TRAILING))
            if word[-1] in _TRAILING:
                break
        return f"{token} {' '.join(reason)}"
    ends_clause = raw != token or not after or not after[0].isalnum()
    return f"HTTP {token}" if previous.lower() in _HTTP_BEFORE and ends_clause else None


def _file(token: str) -> str | None:
    if token in _NAMED_FILES:
        return token
    if token.rsplit(".", 1)[-1].lower() in FILE_EXTENSIONS and _FILE.fullmatch(token) and token.lower() not in TECHNOLOGIES:
        return token
    if _PATH.fullmatch(token) or _ROUTE.fullmatch(token):
        return token
    slashed = _SLASHED.fullmatch(token)
    # a generated key that holds slashes ("wJalrXUtnFEMI/K7MDENG/…", an AWS secret) names nothing
    return slashed.group(1) if slashed and not looks_random(token) else None


def _env(token: str) -> str | None:
    match = _ENV.fullmatch(token)
    return (match.group(1) or match.group(2)) if match else None


def _unusual(tokens: list[str]) -> list[int]:
    """Indexes of tokens that may be entities by their shape (a comprehension beats chained ``map``s).

    Not plain lowercase words, nor capitalised ones ("The", "Go") but the error names among them.
    """
    return [
        index
        for index, token in enumerate(tokens)
        if not (token.isalpha() and (token.islower() or (token.istitle() and token not in _CAPITALISED_ERRORS)))
    ]


def _shapes(tokens: list[str], errors_only: bool) -> Iterator[str]:
    for index in _unusual(tokens):
        raw = tokens[index]
        if raw.isalpha():  # a capitalised word: only an error name (TypeError, ECONNRESET) hides here
            if raw.endswith(_ERROR_SUFFIXES) or raw in _NAMED_ERRORS or raw == "SQLSTATE":
                found = _error(raw, tokens[index + 1 : index + 3])
                if found:
                    yield found
            elif not errors_only:
                if raw.isupper():
                    found = _capital_name(raw)
                elif _CODE_IDENTIFIER.fullmatch(raw) and raw.lower() not in _KNOWN_NAMES:
                    found = raw  # useEffect, GridSearchCV, ClientSession: nobody writes prose like that
                else:
                    found = None
                if found:
                    yield found
                product = _product_at(tokens, index)
                if product:
                    yield product
            continue
        token = raw.rstrip(_TRAILING)
        if not token:
            continue
        following = tokens[index + 1 : index + 3]
        found = _error(token, following) if (token[0].isupper() or "." in token) else None
        if not errors_only and found is None:
            if token[0].isdigit() or token[0] == "$":
                previous = tokens[index - 1] if index else ""
                found = _http_status(token, raw, previous, tokens[index + 1 : index + 4]) or _quantity(token, following)
            if found is None and ("/" in token or "." in token or token in _NAMED_FILES):
                found = _file(token)
            if found is None and token[:2] == "--" and _LONG_FLAG.fullmatch(token):
                found = token
            if found is None and ("_" in token or token[0] == "$"):
                found = _env(token) or (token if _SNAKE_IDENTIFIER.fullmatch(token) else None)
            if found is None:
                found = _name(token)
        if found:
            yield found
    if not errors_only and "exit" in tokens:
        index = tokens.index("exit")
        yield from _exit_code(tokens[index + 1 : index + 3])


def _name(token: str) -> str | None:
    """A name by its shape alone: a ticket, a short name in capitals (with digits, or before a
    stop), kebab-case, a dotted member."""
    first = token[0]
    if (first.isupper() or first == "#") and _TICKET.fullmatch(token):
        return token
    if first.isupper() and not token.isdigit():
        found = _capital_name(token)
        if found:
            return found
    if "-" in token and first.islower():
        match = _KEBAB.fullmatch(token)
        if match and match.group(1) not in TECHNOLOGIES:
            return match.group(1)
    if "." in token and _DOTTED.fullmatch(token) and token.lower() not in TECHNOLOGIES:
        return token
    return None


def _product_at(tokens: list[str], index: int) -> str | None:
    """The product's name of two or three capitalised words around ``tokens[index]`` (a word in
    capitals or in humps), after a lowercase word and in one sentence: "AWS Lambda", "GitLab CI",
    "Chrome DevTools", "Argo CD"; not SQL's words ("IS NULL")."""
    start = index
    while start > 0 and index - start < 2 and tokens[start - 1][:1].isupper() and tokens[start - 1][-1].isalnum():
        start -= 1
    end = index + 1
    while end < len(tokens) and end - start < 4 and tokens[end][:1].isupper() and tokens[end - 1][-1].isalnum():
        end += 1
    if not (2 <= end - start <= 3 and start):
        return None
    previous = tokens[start - 1]
    words = [word.rstrip(_TRAILING) for word in tokens[start:end]]
    if previous.isalpha() and previous.islower() and all(word.isalnum() and word not in GENERIC_CAPITALS for word in words):
        return " ".join(words)
    return None


def _capital_name(token: str) -> str | None:
    """A short name in capitals: "ALB", "HPA", "PG16", "SA1019"; not SQL's or a log's words, nor
    a technology's name (read as such)."""
    if token in GENERIC_CAPITALS or not ACRONYM.fullmatch(token):
        return None
    lowered = token.lower()
    return None if lowered in _KNOWN_NAMES or lowered in _AMBIGUOUS_NAMES else token


def _exit_code(following: list[str]) -> Iterator[str]:
    if len(following) == 2 and following[0] in ("code", "status"):
        code = following[1].rstrip(_TRAILING)
        if code.isdigit():
            yield f"exit {following[0]} {code}"


def _ambiguous_is_meant(tokens: list[str], index: int) -> bool:
    """``go``, ``rust``, ``swift``… name a technology only in a telling context."""
    token = tokens[index]
    previous = tokens[index - 1] if index else ""
    following = tokens[index + 1].rstrip(_TRAILING).lower() if index + 1 < len(tokens) else ""
    if previous.lower() in _TELLING_BEFORE or following in _TELLING_AFTER:
        return True
    sentence_start = not previous or previous in _TRAILING
    return token[:1].isupper() and token[1:2].islower() and not sentence_start


def _technologies(tokens: list[str], lowered: str, text_words: set[str] | None) -> Iterator[str]:
    named = False
    for phrase, name in _MULTI_WORD.items():
        if phrase in lowered:
            yield name
            lowered = lowered.replace(phrase, " ")
            named = True
    if text_words is not None and not named and text_words.isdisjoint(_NAME_RUNS):
        return
    lowered_tokens = lowered.split()  # same positions as ``tokens``
    words = set(lowered_tokens)
    # sqlalchemy.exc.OperationalError: the part before the first dot
    dotted = [word.split(".", 1)[0] for word in words if "." in word] if "." in lowered else []
    if "-" in lowered:  # every part of a hyphenated word (or of such a part before a dot)
        words.update("-".join([word for word in words if "-" in word] + dotted).split("-"))
    words.update(dotted)
    known = words & _TECHNOLOGY_NAMES
    # Ties (``pgx`` is found inside ``pgxpool``) are broken by name: set order is hash-seeded.
    for word in sorted(known, key=lambda word: (lowered.find(word), word)) if len(known) > 1 else known:
        yield TECHNOLOGIES[word]
    ambiguous = words & _AMBIGUOUS_NAMES
    if ambiguous:
        for word in sorted(ambiguous, key=lambda word: (lowered.find(word), word)):  # never set order: hash-seeded
            if _meant_somewhere(tokens, lowered_tokens, word):
                yield AMBIGUOUS[word]


def _meant_somewhere(tokens: list[str], lowered_tokens: list[str], word: str) -> bool:
    """Whether one of ``word``'s occurrences names the technology (found by ``list.index``, in C:
    "go" is in many a turn of many tokens)."""
    index = -1
    for _ in range(lowered_tokens.count(word)):
        index = lowered_tokens.index(word, index + 1)
        if _ambiguous_is_meant(tokens, index):
            return True
    return False


def extract_errors(text: str) -> list[str]:
    """Only the error codes in ``text``: what a tool's output or a log contributes.

    Tool outputs are long and mostly free of errors, so only the lines that could name one are
    read (and the line after a ``SQLSTATE``, whose code may follow it there)."""
    if not _MAY_NAME_ERROR.search(text):  # one scan in C rules out most outputs
        return []
    lines = text.splitlines()
    wanted = [i for i, line in enumerate(lines) if _MAY_NAME_ERROR.search(line)]
    if not wanted:
        return []
    kept = sorted({*wanted, *(i + 1 for i in wanted if "SQLSTATE" in lines[i] and i + 1 < len(lines))})
    return list(dict.fromkeys(_shapes(_clean("\n".join(lines[i] for i in kept)).split(), errors_only=True)))


# A file path in a tool's output (a test runner's, a linter's, grep's): a folder at least, so a
# word before a dot ("done.") is none.
_EXTENSION_ALTERNATIVES = "|".join(sorted(FILE_EXTENSIONS, key=len, reverse=True))
_OUTPUT_PATH = re.compile(rf"(?<![\w/.~-])((?:\.{{0,2}}/)?(?:[\w.-]+/)+[\w.-]*\w\.(?:{_EXTENSION_ALTERNATIVES}))(?![\w/])", re.ASCII)


def extract_paths(text: str) -> list[str]:
    """The file paths a tool's output names, each once, in order (its lines may come JSON-escaped)."""
    if "/" not in text:
        return []
    return list(dict.fromkeys(_OUTPUT_PATH.findall(text.replace("\\n", "\n") if "\\n" in text else text)))


def extract_entities(text: str, words: set[str] | None = None) -> list[str]:
    """Entities named in ``text``, each once, technologies first, then by position.

    ``words``: the ``\\w`` runs of the lowercase text, when the caller has them: without a run of
    a technology's name among them, no technology is looked for.
    """
    prose = _LOG_LINE.sub("", text) if ("\n" in text and _HAS_LOG_LINE.search("\n" + text)) else text
    cleaned = _clean(prose)
    tokens = cleaned.split()
    found: dict[str, None] = dict.fromkeys(_technologies(tokens, cleaned.lower(), words))
    if prose is not text:
        found.update(dict.fromkeys(extract_errors(text)))
    found.update(dict.fromkeys(_shapes(tokens, errors_only=False)))
    if "()" in prose:
        found.update(dict.fromkeys(_EMPTY_CALL.findall(prose)))
    return list(found)


# Commands: the program a shell command runs and its subcommand ("go vet", "cargo clippy",
# "terraform validate"), read from a tool call's command line. Shell plumbing names nothing.
_SHELL_PLUMBING = frozenset(
    """cd ls cat echo grep rg sed awk head tail find rm mkdir cp mv touch chmod chown pwd wc sort uniq xargs tee
    true false test env export set source sleep which less more diff tr cut printf time timeout sudo git""".split()
)
#: Wrappers whose next word is the program that runs: "npx vitest", "uv run pytest", "python -m mypy".
_RUNNERS = frozenset("npx pnpx bunx exec run uv poetry pipenv bundle python python3 -m nohup".split())
_COMMAND_SEPARATORS = re.compile(r"\s*(?:&&|\|\||;|\|)\s*")
_PROGRAM = re.compile(r"[a-z][a-z0-9_.+-]*", re.ASCII)
_SUBCOMMAND = re.compile(r"[a-z][a-z-]*[a-z]", re.ASCII)


def command_names(command: str) -> list[str]:
    """Programs a command line runs, each with its subcommand when it has one: ``kubectl``,
    ``kubectl rollout``; not the shell's plumbing (``cd``, ``grep``…) nor ``git``."""
    names: dict[str, None] = {}
    for part in _COMMAND_SEPARATORS.split(command):
        words = part.split()
        while words and (words[0] in _RUNNERS or "=" in words[0]):  # wrappers, "FOO=1 pytest"
            words = words[1:]
        if not words:
            continue
        program = words[0].rsplit("/", 1)[-1]
        if program in _SHELL_PLUMBING or not _PROGRAM.fullmatch(program):
            continue
        names[TECHNOLOGIES.get(program, program)] = None
        if len(words) > 1 and _SUBCOMMAND.fullmatch(words[1]):
            names[f"{program} {words[1]}"] = None
    return list(names)


# A phrase a person quotes as code: `go vet`, `set -euo pipefail`, `--dry-run`, `/healthz`.
_QUOTED = re.compile(r"`([^`\n]{2,40})`")


def quoted_phrases(text: str) -> list[str]:
    """What a text quotes as code that no other rule reads: commands, flags, phrases, short paths."""
    return [span.strip() for span in _QUOTED.findall(text) if span.strip() and not span.strip().isdigit()]
