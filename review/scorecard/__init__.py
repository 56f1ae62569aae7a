"""Scorecards (质检评分表): scoring a reviewed call, and the answers and scores in the store.

``scoring``: ``score_call`` (-> ``CallScore``), plain data in and out.
``records``: ``call_scorecard``, ``record_answer``, ``may_score``, ``scored_calls``, ``summarise``,
``scorecard_summary`` (per agent and team, for the report and the dashboard).
"""
