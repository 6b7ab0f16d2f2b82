"""The live-session engine, between the front doors (``trooper/server``) and the router.

``sessions``: the in-memory view of each conversation, kept in step with the store (idempotent
recording, SITREP debouncing, tool signatures restored); ``turn_runner``: the one turn runner
every front door calls; ``turn_book``: what one turn records; ``live``: the pub/sub that feeds the
dashboards; ``savings``: what an answer saved and cost.
Nothing here knows HTTP: the router's ``TurnRecorder`` callbacks land here, not in the web package.
"""
