"""A call's record in the store: register it, save its transcripts and screenings, read it back.

``repo``: ``register_call``, ``save_transcript``, ``save_screening``, ``mark_failed``, ``get_call``,
``current_findings``, ``insert_ignore``; each first write queues its audit entry, and a new
transcript updates the search index.
"""
