"""The morning report: build it, render it, send it.

``model``: ``Report`` (plain data, JSON and CSV forms). ``report``: ``build_report``,
``write_report``. ``render``: ``render_html`` (Jinja2 ``templates/`` and matplotlib charts).
``notify``: ``send_report``, ``notify_urgent_for_call`` (WeCom, DingTalk, Slack webhooks).
"""
