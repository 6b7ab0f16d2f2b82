"""Personal data: email addresses, phone numbers (``phonenumbers``), payment cards (Luhn), IBANs and
national identifiers (checksums from ``python-stdnum``), IP addresses.

Numbers are where code and logs fool a detector (timestamps, line numbers, versions, ids), so a
candidate must have the shape people write it in *and* pass the library's validity check.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator

import phonenumbers
from stdnum import iban, luhn
from stdnum.br import cpf
from stdnum.ca import sin
from stdnum.de import idnr
from stdnum.dk import cpr
from stdnum.es import dni, nie
from stdnum.fi import hetu
from stdnum.fr import nir
from stdnum.gb import nhs
from stdnum.in_ import aadhaar
from stdnum.it import codicefiscale
from stdnum.nl import bsn
from stdnum.pl import pesel
from stdnum.se import personnummer
from stdnum.us import ssn

from trooper.privacy.examples import is_published_example
from trooper.privacy.findings import Finding, finding

# A log line's timestamp (date and hour, the time follows) is matched as itself and skipped. Both
# shapes begin with one character class, written once in front: the regex engine then skips the
# characters outside it without trying either alternative there (3x faster on prose, 1.5x on logs).
_RUN = re.compile(r"[0-9A-Z+(](?:(?<=\d)(?P<timestamp>\d{3}-\d{2}-\d{2}[ T]\d{2}(?=:))|[0-9A-Z ().+/-]{5,}[0-9A-Z)])")
#: How far past a run its detectors' lookaheads may see ("10:23" must not look like a phone).
_LOOKAHEAD = 2
_DROP_DIGITS = str.maketrans("", "", "0123456789")

_EMAIL = re.compile(r"(?<![\w.%+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}(?![\w-])")
_LOCAL_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._%+-]*$")
_LONGEST_LOCAL_PART = 64
#: Domains reserved for documentation and tests (RFC 2606, 6761): nobody's mailbox.
_RESERVED_DOMAIN = re.compile(r"(?i)@(?:[\w-]+\.)*(?:example\.(?:com|org|net)|example|test|invalid|localhost)$")
#: Addresses that name a machine or a service, not a person.
_SERVICE_MAIL = re.compile(r"(?i)^(?:git|no-?reply|donotreply|mailer-daemon|postmaster)@|noreply\.github\.com$")

_CARD = re.compile(r"(?<![\d.-])\d(?:[ -]?\d){12,18}(?![\d.-]|[ -]\d)")
_CARD_PREFIX = re.compile(r"^(?:4|5[1-5]|2[2-7]|3[47]|6(?:011|5|4[4-9])|35|3[068])")

_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}(?![A-Za-z0-9])")

_PHONE_CONTEXT = re.compile(r"(?i)phone|tel\b|tel[.:]|mobile|cell|call|sms|whatsapp|fax|contact|reach|ph[.:]")
# "+44 20 7946 0958", "(415) 555-2671", "415-555-2671", "415.555.2671", "+14155552671"
_PHONE = re.compile(
    r"(?<![\w/#=.:-])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{1,5}(?:[ .-]\d{2,8}){1,5}(?![\w/-]|\.\d|:\d)"
    r"|(?<![\w/#=.:-])\+\d{8,15}(?![\w.:/-])"
    r"|(?<![\w/#=.:-])\d{10,11}(?![\w.:/-])"
)
_DATE_OR_VERSION = re.compile(r"^\d{4}[-./ ]\d{1,2}[-./ ]\d{1,2}$|^\d{1,2}[-./]\d{1,2}[-./]\d{2,4}$|^\d+\.\d+\.\d+")
_PHONE_REGIONS = ("US", "GB", "DE", "FR", "NL", "SE", "ES", "IT", "IN", "AU")

_NATIONAL_CONTEXT = re.compile(
    r"(?i)ssn|social security|national (?:id|insurance)|\bnino?\b|bsn|burgerservice|pesel|personnummer|\bcpr\b|\bdni\b|\bnie\b"
    r"|\bcpf\b|aadhaar|codice fiscale|\bnir\b|s[ée]curit[ée] sociale|steuer|idnr|tax[ _-]?id|\bsin\b|social insurance|\bnhs\b|hetu"
    r"|henkilötunnus|identity number|id number|\bid no"
)
_CONTEXT_WINDOW = 60
Validator = Callable[[str], bool]
# Shapes distinctive enough to report without a naming word nearby, each with its checks.
_NATIONAL_SHAPES: list[tuple[re.Pattern[str], tuple[Validator, ...], float]] = [
    (re.compile(r"(?<![\w-])\d{3}-\d{2}-\d{4}(?![\w-])"), (ssn.is_valid,), 0.8),
    (re.compile(r"(?<![\w.-])\d{3}\.\d{3}\.\d{3}-\d{2}(?![\w-])"), (cpf.is_valid,), 0.9),
    (re.compile(r"(?<![\w-])[XYZ]?-?\d{7,8}-?[A-Z](?![\w-])"), (dni.is_valid, nie.is_valid), 0.85),
    (re.compile(r"(?<!\w)[A-Z]{6}\d{2}[A-Z]\d{2}[A-Z]\d{3}[A-Z](?!\w)"), (codicefiscale.is_valid,), 0.95),
    (re.compile(r"(?<![\w-])[12] ?\d{2} ?\d{2} ?(?:\d{2}|2[AB]) ?\d{3} ?\d{3} ?\d{2}(?![\w-])"), (nir.is_valid,), 0.85),
    (re.compile(r"(?<![\w-])[2-9]\d{3} \d{4} \d{4}(?![\w-])"), (aadhaar.is_valid,), 0.8),
    (re.compile(r"(?<![\w-])(?:\d{2})?\d{6}[-+]\d{4}(?![\w-])"), (personnummer.is_valid, cpr.is_valid), 0.75),
    (re.compile(r"(?<![\w-])\d{6}[-+A]\d{3}[0-9A-Y](?![\w-])"), (hetu.is_valid,), 0.85),
    (re.compile(r"(?<!\w)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D](?!\w)"), (), 0.7),
]
# Bare digit runs that are an identifier only when a naming word stands just before them.
_NATIONAL_DIGITS = re.compile(r"(?<![\w.-])\d{3}[ -]?\d{3}[ -]?\d{3,5}(?![\w.-])")
_CONTEXT_VALIDATORS: tuple[Validator, ...] = (bsn.is_valid, pesel.is_valid, idnr.is_valid, sin.is_valid, nhs.is_valid, ssn.is_valid)

_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)")
# IPv6: found from its colons (a literal, fast to scan for), then read whole and validated. Only
# "::" or seven colons can make an address, so a log's "12:34:56" is not even read whole.
_IPV6_HINT = re.compile(r":(?::|(?:[0-9A-Fa-f]{0,4}:){6})")
_IPV6_CHARS = frozenset("0123456789abcdefABCDEF:")
_VERSION_BEFORE = re.compile(r"(?i)(?:v|version|ver|==|>=|<=|~=|release|build)\s*$")


def find_personal(text: str) -> Iterator[Finding]:
    """Every piece of personal data in ``text``."""
    if "@" in text:
        yield from _emails(text)
    # One pass finds the runs of digits, capitals and separators a number can hide in; each
    # detector then looks only there (a run's next characters stay visible to its lookaheads).
    for run in _RUN.finditer(text):
        if run.lastgroup == "timestamp":
            continue
        found = run.group()
        digits = _digit_count(found)
        if digits < 4:
            continue
        start, end = run.span()
        window = (start, min(len(text), end + _LOOKAHEAD))
        if digits >= 13:
            yield from _cards(text, *window)
        if digits >= 2 and text[start : start + 2].isalpha():
            yield from _ibans(text, *window)
        if digits >= 6:
            yield from _national_ids(text, *window)
        if digits >= 7:
            yield from _phones(text, *window)
        if "." in found:
            yield from _ipv4s(text, *window)
    if ":" in text:
        yield from _ipv6s(text)


def _emails(text: str) -> Iterator[Finding]:
    # from each "@" (found fast), the address is matched from where its local part begins
    at = text.find("@")
    while at >= 0:
        local = _LOCAL_PART.search(text, max(0, at - _LONGEST_LOCAL_PART), at)
        match = _EMAIL.match(text, local.start()) if local is not None else None
        at = text.find("@", at + 1)
        if match is None:
            continue
        address = match.group()
        if _SERVICE_MAIL.search(address) or _RESERVED_DOMAIN.search(address) or _in_url(text, match.start()):
            continue
        yield finding("email", match.start(), match.end(), 0.9)


def _in_url(text: str, start: int) -> bool:
    """True when ``start`` is inside a URL's user info (``postgres://user:pass@host``)."""
    token_start = max(text.rfind(" ", 0, start), text.rfind("\n", 0, start)) + 1
    return "://" in text[token_start:start]


def _digits(value: str) -> str:
    return "".join(c for c in value if "0" <= c <= "9")


def _digit_count(value: str) -> int:
    return len(value) - len(value.translate(_DROP_DIGITS))


def _cards(text: str, start: int, end: int) -> Iterator[Finding]:
    for match in _CARD.finditer(text, start, end):
        number = _digits(match.group())
        if 13 <= len(number) <= 19 and _CARD_PREFIX.match(number) and luhn.is_valid(number) and not is_published_example(number):
            yield finding("card_number", match.start(), match.end(), 0.9)


def _ibans(text: str, start: int, end: int) -> Iterator[Finding]:
    for match in _IBAN.finditer(text, start, end):
        candidate = match.group()
        # the greedy match may have taken the next capitalised word: drop groups from the right
        while len(candidate.replace(" ", "")) >= 15:
            if iban.is_valid(candidate) and not is_published_example(candidate):
                yield finding("iban", match.start(), match.start() + len(candidate), 0.95)
                break
            candidate = candidate.rsplit(" ", 1)[0] if " " in candidate else candidate[:-1]


def _national_ids(text: str, start: int, end: int) -> Iterator[Finding]:
    for pattern, validators, confidence in _NATIONAL_SHAPES:
        for match in pattern.finditer(text, start, end):
            value = match.group()
            if not validators or any(_safely(check, value) for check in validators):
                named = _NATIONAL_CONTEXT.search(text, max(0, match.start() - _CONTEXT_WINDOW), match.start())
                yield finding("national_id", match.start(), match.end(), min(1.0, confidence + (0.1 if named else 0)))
    for match in _NATIONAL_DIGITS.finditer(text, start, end):
        if _NATIONAL_CONTEXT.search(text, max(0, match.start() - _CONTEXT_WINDOW), match.start()):
            if any(_safely(check, match.group()) for check in _CONTEXT_VALIDATORS):
                yield finding("national_id", match.start(), match.end(), 0.7)


def _safely(check: Validator, value: str) -> bool:
    try:
        return bool(check(value))
    except Exception:  # a validator may raise on a shape it does not expect; that is a "no"
        return False


def _phones(text: str, start: int, end: int) -> Iterator[Finding]:
    for match in _PHONE.finditer(text, start, end):
        value = match.group()
        digits = _digits(value)
        if not 7 <= len(digits) <= 15 or _DATE_OR_VERSION.match(value):
            continue
        if "." in value and value.count(".") < 2 and not re.search(r"[ ()+-]", value):
            continue  # "18652.26469": a kernel timestamp, a decimal
        formatted = value.startswith("+") or "(" in value or bool(re.search(r"\d[ .-]\d", value))
        named = _PHONE_CONTEXT.search(text, max(0, match.start() - 40), match.start()) is not None
        if not (value.startswith("+") or named or (formatted and len(digits) >= 8)):
            continue
        if _valid_phone(value):
            yield finding("phone", match.start(), match.end(), 0.9 if value.startswith("+") or named else 0.7)


def _valid_phone(value: str) -> bool:
    regions = (None,) if value.startswith("+") else _PHONE_REGIONS
    for region in regions:
        try:
            if phonenumbers.is_valid_number(phonenumbers.parse(value, region)):
                return True
        except phonenumbers.NumberParseException:
            continue
    return False


def _ipv4s(text: str, start: int, end: int) -> Iterator[Finding]:
    for match in _IPV4.finditer(text, start, end):
        if _VERSION_BEFORE.search(text, max(0, match.start() - 10), match.start()):
            continue
        confidence = _ip_confidence(match.group())
        if confidence:
            yield finding("ip_address", match.start(), match.end(), confidence)


def _ipv6s(text: str) -> Iterator[Finding]:
    position = 0
    while True:
        hint = _IPV6_HINT.search(text, position)
        if hint is None:
            return
        start, end = hint.start(), hint.end()
        while start > 0 and text[start - 1] in _IPV6_CHARS:
            start -= 1
        while end < len(text) and text[end] in _IPV6_CHARS:
            end += 1
        position = end
        candidate = text[start:end]
        if "::" not in candidate and candidate.count(":") != 7:
            continue  # a time ("12:34:56"), a MAC address: an IPv6 address has 8 groups or "::"
        if (start and (text[start - 1].isalnum() or text[start - 1] == "_")) or (end < len(text) and (text[end].isalnum() or text[end] == "_")):
            continue  # part of a longer word: not an address
        confidence = _ip_confidence(candidate)
        if confidence:
            yield finding("ip_address", start, end, confidence)


def _ip_confidence(value: str) -> float:
    """0 for addresses that identify nothing outside their own network: private, loopback,
    link-local, documentation ranges (only global addresses are personal data)."""
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return 0.0
    return 0.85 if address.is_global and not address.is_multicast else 0.0
