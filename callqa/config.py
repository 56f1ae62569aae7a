"""Settings: embedded defaults < one TOML file < environment variables.

The TOML file is ``$CALLQA_CONFIG`` if set, else ``./callqa.toml`` if present.
Any key can be overridden from the environment as ``CALLQA_<SECTION>__<KEY>``
(for example ``CALLQA_TRANSCRIBER__BEAM_SIZE=1``); the well-known names
``CALLQA_HOME``, ``CALLQA_DATABASE_URL`` and ``CALLQA_DASK_ADDRESS`` work too.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from callqa.errors import ConfigError


@dataclass
class TranscriberSettings:
    backend: str = "faster-whisper"  # or "openai-whisper"
    model: str = "base"
    compute_type: str = "auto"  # int8 where the CPU has AVX-512 VNNI, float32 elsewhere; or int8, float32
    beam_size: int = 5
    patience: float = 2.0  # beam search ends once beam_size * patience hypotheses have finished
    threads: int = 0  # CPU threads per decode; 0: the backend's choice (faster-whisper: 1, openai-whisper: all)
    decode_workers: int = 0  # faster-whisper windows decoded at once per process; 0: one per core
    cpu_isa: str = "auto"  # CTranslate2 instruction set: auto (AVX512 where VNNI), default, AVX2, AVX512
    default_language: str = "auto"
    dialects_file: str = ""  # empty: the registry shipped in transcriber/dialects.toml
    # name -> local folder or model.bin path, for fine-tuned or site models
    model_paths: dict[str, str] = field(default_factory=dict)
    allow_download: bool = False
    agent_channel: int = 0
    customer_channel: int = 1
    max_decode_seconds_per_segment: float = 20.0


@dataclass
class ScreeningSettings:
    packs: list[str] = field(default_factory=list)  # empty: choose by transcript language
    packs_dir: str = ""  # extra folder of site packs


@dataclass
class QueueSettings:
    lease_seconds: int = 900
    sla_hours: float = 48.0
    max_open_per_reviewer: int = 20
    appeal_window_days: int = 14
    agreement_share: float = 0.1  # share of first reviews blind-checked by a second reviewer (review.queue.agreement)
    agreement_salt: str = ""  # per-site secret that makes the blind-check draw unpredictable to reviewers


@dataclass
class SamplingSettings:
    rate: float = 0.02
    min_per_agent_per_week: int = 1
    team_rates: dict[str, float] = field(default_factory=dict)
    stratify_by: str = "agent"  # or "team": one stratum per agent (or team) and period


@dataclass
class WebSettings:
    host: str = "127.0.0.1"
    port: int = 8000
    secret_key: str = ""  # empty: generated once and kept in $CALLQA_HOME/secret_key
    session_hours: float = 12.0  # a session ends this long after sign-in, however active
    session_idle_minutes: int = 30  # and after this long without a request
    signin_max_failures: int = 5  # per account, within the window
    signin_max_failures_per_address: int = 50  # per client address (a whole office behind one NAT)
    signin_window_seconds: int = 900
    trusted_proxies: list[str] = field(default_factory=list)  # addresses/CIDRs whose X-Forwarded-For is read
    page_size: int = 50
    unmask_minutes: int = 15  # how long a compliance officer's unmasking of one call lasts
    secure_cookies: str = "auto"  # auto: Secure unless host is 127.0.0.1/localhost/::1; or "true" / "false"
    languages: list[str] = field(default_factory=lambda: ["zh-CN", "en"])  # UI languages the site offers
    default_language: str = "zh-CN"  # when neither the user's choice nor Accept-Language names an offered one
    seek_lead_seconds: float = 2.0  # seeking to a finding starts this long before it (the lead-in)


@dataclass
class FlowSettings:
    inbox: str = ""  # empty: $CALLQA_HOME/inbox; any fsspec URL works
    cron: str = "0 1 * * *"
    timezone: str = "Asia/Shanghai"
    dask_address: str = ""
    transcribe_concurrency: int = 0  # per process; 0: one per core
    recording_retention_days: int = 730
    transcript_retention_days: int = 730


@dataclass
class NotifySettings:
    wecom_url: str = ""
    dingtalk_url: str = ""
    slack_url: str = ""
    retries: int = 3
    dingtalk_secret: str = ""  # set when the DingTalk robot uses signed requests (加签)
    backoff_seconds: float = 2.0  # first retry delay; doubles after each failure


@dataclass
class Settings:
    home: Path = field(default_factory=lambda: Path("var"))
    database_url: str = ""
    transcriber: TranscriberSettings = field(default_factory=TranscriberSettings)
    screening: ScreeningSettings = field(default_factory=ScreeningSettings)
    queue: QueueSettings = field(default_factory=QueueSettings)
    sampling: SamplingSettings = field(default_factory=SamplingSettings)
    web: WebSettings = field(default_factory=WebSettings)
    flows: FlowSettings = field(default_factory=FlowSettings)
    notify: NotifySettings = field(default_factory=NotifySettings)

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.home / 'callqa.db').resolve()}"

    @property
    def model_cache(self) -> Path:
        return self.home / "models"

    @property
    def inbox(self) -> str:
        return self.flows.inbox or str(self.home / "inbox")

    @property
    def recordings_dir(self) -> Path:
        return self.home / "recordings"

    @property
    def transcripts_dir(self) -> Path:
        return self.home / "transcripts"

    @property
    def quarantine_dir(self) -> Path:
        return self.home / "quarantine"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    def stored_path(self, path: str | os.PathLike[str]) -> str:
        """How the database names a file: relative to ``home`` (POSIX separators) when under it,
        else absolute. Never relative to the working folder."""
        absolute = Path(path).resolve()
        try:
            return absolute.relative_to(self.home.resolve()).as_posix()
        except ValueError:
            return str(absolute)

    def resolve_stored(self, stored: str) -> Path:
        """The file a stored path names: a relative one lies under ``home``."""
        path = Path(stored)
        return path if path.is_absolute() else self.home / path


_SECTIONS = {f.name for f in dataclasses.fields(Settings)} - {"home", "database_url"}


def _coerce(value: str, current: Any, where: str) -> Any:
    try:
        if isinstance(current, bool):
            if value.lower() in {"1", "true", "yes", "on"}:
                return True
            if value.lower() in {"0", "false", "no", "off"}:
                return False
            raise ValueError(value)
        if isinstance(current, int):
            return int(value)
        if isinstance(current, float):
            return float(value)
        if isinstance(current, list):
            return [v.strip() for v in value.split(",") if v.strip()]
        if isinstance(current, dict):
            return dict(kv.split("=", 1) for kv in value.split(",") if kv.strip())
    except ValueError as exc:
        raise ConfigError(f"{where}={value!r} is not a valid {type(current).__name__}") from exc
    return value


def _apply(section: Any, values: dict[str, Any], where: str) -> None:
    known = {f.name for f in dataclasses.fields(section)}
    for key, value in values.items():
        if key not in known:
            raise ConfigError(f"{where}: unknown setting {key!r}; known: {', '.join(sorted(known))}")
        setattr(section, key, value)


def load_settings(config_file: str | os.PathLike[str] | None = None, env: dict[str, str] | None = None) -> Settings:
    """Build settings from defaults, the TOML file and the environment."""
    env = dict(os.environ if env is None else env)
    settings = Settings()
    path = Path(config_file or env.get("CALLQA_CONFIG") or "callqa.toml")
    if config_file or env.get("CALLQA_CONFIG") or path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"config file {path} does not exist; unset CALLQA_CONFIG or create it") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path}: {exc}") from exc
        if "home" in data:
            settings.home = Path(data.pop("home"))
        if "database_url" in data:
            settings.database_url = str(data.pop("database_url"))
        for name, values in data.items():
            if name not in _SECTIONS or not isinstance(values, dict):
                raise ConfigError(f"config file {path}: unknown section [{name}]")
            _apply(getattr(settings, name), values, f"{path} [{name}]")
    if env.get("CALLQA_HOME"):
        settings.home = Path(env["CALLQA_HOME"])
    if env.get("CALLQA_DATABASE_URL"):
        settings.database_url = env["CALLQA_DATABASE_URL"]
    if env.get("CALLQA_DASK_ADDRESS"):
        settings.flows.dask_address = env["CALLQA_DASK_ADDRESS"]
    for key, value in env.items():
        if not key.startswith("CALLQA_") or "__" not in key:
            continue
        section_name, _, field_name = key[len("CALLQA_"):].lower().partition("__")
        if section_name not in _SECTIONS:
            raise ConfigError(f"environment variable {key}: unknown section {section_name!r}")
        section = getattr(settings, section_name)
        if not hasattr(section, field_name):
            raise ConfigError(f"environment variable {key}: unknown setting {field_name!r}")
        setattr(section, field_name, _coerce(value, getattr(section, field_name), key))
    return settings
