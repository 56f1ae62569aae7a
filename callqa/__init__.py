"""callqa core: the exception tree and settings shared by every package.

``transcriber``, ``review`` and ``flows`` all import from here; this package
imports none of them.
"""

from callqa.config import Settings, load_settings
from callqa.errors import (
    AudioDecodeError,
    AuditChainError,
    CallQAError,
    ConfigError,
    ModelChecksumError,
    ModelNotFoundError,
    NotFoundError,
    PermissionDeniedError,
    QueueConflictError,
    RulePackError,
    StoreError,
    TranscriptionError,
    TranscriptSchemaError,
)

__version__ = "0.1.0"

__all__ = [
    "AudioDecodeError",
    "AuditChainError",
    "CallQAError",
    "ConfigError",
    "ModelChecksumError",
    "ModelNotFoundError",
    "NotFoundError",
    "PermissionDeniedError",
    "QueueConflictError",
    "RulePackError",
    "Settings",
    "StoreError",
    "TranscriptSchemaError",
    "TranscriptionError",
    "__version__",
    "load_settings",
]
