"""From review decisions to rates: the nightly draw, the statistics and the estimates.

``draw``: ``draw_sample``, ``verify_draw``, ``recompute_draw`` (a reproducible, audited sample).
``stats``: ``proportion``, ``stratified_proportion``, ``cohens_kappa`` (-> ``Estimate``, ``Kappa``).
``estimates``: ``estimate`` (violation rate, miss rate, rule precision, reviewer agreement).
"""
