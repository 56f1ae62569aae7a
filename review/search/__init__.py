"""Transcript search: each call's newest transcript in "sound" form, and the trigram look-up.

``index``: ``index_transcript``, ``backfill``, ``phrase_key``, ``phrase_calls``, ``sound_of``
(the table itself is ``review.store.models.CallSearchText``; the page is ``review.web.search_view``).
"""
