"""Session memory: deterministic, fast, pure functions over a conversation.

Token estimates, idempotent history, SITREP extraction, ANCHOR/SITREP/TAIL compaction and
subagent recovery. See ``docs/sitrep.md``.
"""

from trooper.memory.compaction import Compacted, ContextTooLarge, compact, minimum_budget
from trooper.memory.recovery import build_recovery
from trooper.memory.sitrep import Sitrep, SitrepBuilder, extract_sitrep, render_sitrep
from trooper.memory.tokens import count_message_tokens, count_request_tokens, count_tokens
from trooper.memory.transcript import HistoryDiff, diff_history, message_fingerprint

__all__ = [
    "Compacted",
    "ContextTooLarge",
    "HistoryDiff",
    "Sitrep",
    "SitrepBuilder",
    "build_recovery",
    "compact",
    "count_message_tokens",
    "count_request_tokens",
    "count_tokens",
    "diff_history",
    "extract_sitrep",
    "message_fingerprint",
    "minimum_budget",
    "render_sitrep",
]
