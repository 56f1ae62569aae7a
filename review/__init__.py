"""Review: everything after the transcript, in packages by job, bottom layer first.

``store`` (schema, database, files) | ``screening`` (rule packs -> findings), ``privacy`` |
``audit`` (hash chain, evidence packs), ``search`` (transcript search index), ``accounts`` (users,
sessions, sign-in throttling) | ``calls`` (a call's record) | ``queue`` (review items, appeals,
agreement checks, queue statistics) | ``sampling`` (the draw, statistics, estimates) | ``scorecard``
| ``reports`` (morning report, rendering, notifications) | ``web`` (the review UI). A package imports
only its own modules and the packages of the layers below (tests/test_layering.py).
"""
