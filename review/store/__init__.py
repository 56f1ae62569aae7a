"""The review store: the schema and the database under everything else in review.

``db`` (engines, sessions, ``init_db`` running the Alembic ``migrations``), ``models`` (the ORM
tables), ``files`` (the files rows name under CALLQA_HOME, deleting them, ``check_files``) and
``serialise`` (rows as the plain data the audit chain and the evidence pack hash). Imports no
other review package.
"""
