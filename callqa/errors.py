"""The one exception tree of callqa.

Every error names the thing it is about (a file, a rule, a call id) and says
what to do next. The CLI prints ``str(error)`` on one line and exits non-zero;
the web app turns it into a page or a JSON error.
"""

from __future__ import annotations


class CallQAError(Exception):
    """Root of every error callqa raises on purpose."""


class ConfigError(CallQAError):
    """The TOML file or an environment variable holds a bad value."""


class AudioDecodeError(CallQAError):
    """A recording could not be decoded (corrupt, truncated, empty or not audio)."""


class ModelNotFoundError(CallQAError):
    """A Whisper model could not be resolved to files on disk."""


class ModelChecksumError(CallQAError):
    """An assembled or local model file does not match its pinned SHA-256."""


class ModelFormatError(CallQAError):
    """A model file is not what it claims to be (truncated, wrong format, missing tensors)."""


class TranscriptionError(CallQAError):
    """The ASR backend failed on a recording that decoded fine."""


class TranscriptSchemaError(CallQAError):
    """A transcript JSON document does not follow the transcript schema."""


class RulePackError(CallQAError):
    """A rule pack is invalid; the message names the file, line and reason."""


class StoreError(CallQAError):
    """The review database is unreachable or not migrated."""


class QueueConflictError(CallQAError):
    """A queue action lost a race or breaks the workflow (already claimed, not yours...)."""


class PermissionDeniedError(CallQAError):
    """The user's role does not allow the action."""


class AuditChainError(CallQAError):
    """The audit hash chain is broken; the message names the first bad entry."""


class NotFoundError(CallQAError):
    """A call, item, user or finding with the given id does not exist."""


class AccountError(CallQAError):
    """A user account cannot be created or changed as asked (bad name, weak password, unknown role, taken)."""


class SamplingError(CallQAError):
    """A sampling draw cannot be made as asked (bad period, overlaps an earlier draw) or does not verify."""


class IngestConflictError(CallQAError):
    """A recording cannot be registered: its call id belongs to another recording, or its metadata is malformed."""


class IngestError(CallQAError):
    """A recording or its metadata sidecar cannot be ingested (bad row, unreadable inbox, id clash)."""


class ScorecardError(CallQAError):
    """A scorecard answer or adjustment cannot be stored: no reason for an adjustment, an unknown item or value."""
