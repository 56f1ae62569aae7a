"""The audit trail: an append-only hash chain and the evidence packs checked against it.

``chain``: ``append``, ``append_on_commit``, ``verify`` (-> ``VerifyResult``), ``check_entry``.
``evidence``: ``export_call`` (-> ``ExportResult``) and ``verify_pack`` (-> ``PackVerifyResult``),
one call's record as a zip anyone can check offline.
"""
