"""The review queue: review items from enqueue to final, and the figures on it.

``lifecycle``: ``enqueue``, ``claim_next``/``claim`` (leases), ``release``, ``submit`` (verdicts),
second review, ``supervisor_decide``, SLA; it also re-exports appeals and statistics.
``appeals`` (``appeal``, ``rule_appeal``), ``agreement`` (blind agreement checks), ``stats``
(``stats``, ``list_items``, ``mark_overdue``), ``base`` (roles, time, guarded transitions).
"""
