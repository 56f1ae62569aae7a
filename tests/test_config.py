from __future__ import annotations

from pathlib import Path

import pytest

from callqa.config import load_settings
from callqa.errors import ConfigError


def test_defaults_put_everything_under_var() -> None:
    settings = load_settings(env={})
    assert settings.home == Path("var")
    assert settings.db_url.endswith("var/callqa.db")
    assert settings.transcriber.backend == "faster-whisper"
    assert settings.transcriber.compute_type == "auto"


def test_toml_then_environment_override(tmp_path: Path) -> None:
    config = tmp_path / "callqa.toml"
    config.write_text('home = "/data/callqa"\n[transcriber]\nbeam_size = 2\nmodel = "small"\n[flows]\ntimezone = "UTC"\n')
    settings = load_settings(
        config,
        env={"CALLQA_TRANSCRIBER__BEAM_SIZE": "1", "CALLQA_DATABASE_URL": "postgresql://db/x",
             "CALLQA_DASK_ADDRESS": "tcp://sched:8786"},
    )
    assert settings.home == Path("/data/callqa")
    assert settings.transcriber.beam_size == 1  # the environment wins over the file
    assert settings.transcriber.model == "small"
    assert settings.flows.timezone == "UTC"
    assert settings.db_url == "postgresql://db/x"
    assert settings.flows.dask_address == "tcp://sched:8786"


def test_unknown_setting_names_the_file_and_key(tmp_path: Path) -> None:
    config = tmp_path / "callqa.toml"
    config.write_text("[transcriber]\nbeam = 2\n")
    with pytest.raises(ConfigError, match=r"callqa.toml \[transcriber\]: unknown setting 'beam'"):
        load_settings(config, env={})


def test_bad_environment_value_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="CALLQA_QUEUE__LEASE_SECONDS"):
        load_settings(env={"CALLQA_QUEUE__LEASE_SECONDS": "soon"})


def test_missing_config_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(env={"CALLQA_CONFIG": str(tmp_path / "nope.toml")})


def test_example_config_lists_every_setting_and_loads(tmp_path: Path) -> None:
    import dataclasses

    from callqa.config import Settings

    example = Path(__file__).resolve().parents[1] / "callqa.example.toml"
    text = example.read_text(encoding="utf-8")
    settings = Settings()
    for section in dataclasses.fields(settings):
        if section.name in ("home", "database_url"):
            continue
        assert f"[{section.name}]" in text
        for key in dataclasses.fields(getattr(settings, section.name)):
            assert f"# {key.name} = " in text, f"callqa.example.toml lacks {section.name}.{key.name}"
    # uncommented, every default must load and equal the embedded default
    uncommented = tmp_path / "callqa.toml"
    uncommented.write_text("\n".join(line[2:] if line.startswith("# ") and " = " in line and not line.startswith("# home")
                                     and not line.startswith("# database_url") else line
                                     for line in text.splitlines()), encoding="utf-8")
    assert load_settings(uncommented, env={}) == load_settings(env={})
