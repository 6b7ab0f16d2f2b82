"""SITREP extraction: what a session is about and where it stands, read from its transcript.

- ``builder``: the incremental ``SitrepBuilder`` (one per live session), ``extract_sitrep`` and
  the rendered block compaction injects;
- ``agent_steps``: what agents' tool calls and results say (checks, commits, PRs, TODO lists);
- ``cues``: the prose cues of done, open, questions, decisions and constraints;
- ``intent``: the statements of a goal a user turn offers; ``intent_choice``: the one the intent
  model (``models/intent.json``, a ``linear.LinearModel``) scores best;
- ``entities``: the candidate names (technologies, files, commands, env vars, errors, quantities);
- ``entity_ranker``: which of them matter, by a learned model over how and where each was mentioned.
"""

from trooper.memory.sitrep.builder import Sitrep, SitrepBuilder, clear_cache, extract_sitrep, render_sitrep

__all__ = ["Sitrep", "SitrepBuilder", "clear_cache", "extract_sitrep", "render_sitrep"]
