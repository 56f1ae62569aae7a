"""Who may use the review UI: accounts, sessions and sign-in throttling, all in the database.

``users``: ``add_user``, ``get_user``, ``authenticate``, ``set_password``, ``set_role``, ``list_users`` (-> ``UserInfo``).
``sessions``: start, check, end and list server-side sessions (``Timeouts``).
``throttle``: sign-in failure limits per account and per address (``Limits``).
"""
