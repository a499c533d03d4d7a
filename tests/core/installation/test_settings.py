"""Settings: validated on construction, kept in a real JSON file, forgiving across versions."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from app.core.engine.config import FIN_R1_SYSTEM_PROMPT
from app.core.installation.settings import AppSettings, SettingsFileError, load_settings, save_settings
from foundation.errors import InvalidSettingError


def test_no_file_gives_fin_r1_defaults(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "settings.json")
    assert settings == AppSettings()
    assert settings.system_prompt == FIN_R1_SYSTEM_PROMPT
    assert (settings.temperature, settings.top_p, settings.max_new_tokens) == (0.7, 0.8, 4000)


def test_saved_settings_load_back_equal(tmp_path: Path) -> None:
    path = tmp_path / "config" / "settings.json"
    settings = AppSettings(n_threads=3, n_gpu_layers=12, n_ctx=4096, temperature=0.3,
                           hub_endpoint="https://hf-mirror.com", hub_token="hf_x", offline=True,
                           theme="dark", prompt_language="zh", library_dir="/mnt/models")
    save_settings(settings, path)
    assert load_settings(path) == settings


def test_the_file_is_private_to_its_owner(tmp_path: Path) -> None:
    path = save_settings(AppSettings(hub_token="hf_secret"), tmp_path / "settings.json")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_unknown_keys_are_ignored_and_missing_keys_defaulted(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"format": 9, "top_k": 5, "future_option": True}))
    assert load_settings(path) == AppSettings(top_k=5)


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"top_p": 3}', '{"offline": "yes"}',
                                     '{"n_ctx": true}'])
def test_a_broken_file_is_reported_with_its_name(tmp_path: Path, content: str) -> None:
    path = tmp_path / "settings.json"
    path.write_text(content)
    with pytest.raises(SettingsFileError, match=r"settings\.json"):
        load_settings(path)


def test_out_of_range_values_are_refused_with_the_setting_named() -> None:
    with pytest.raises(InvalidSettingError, match="temperature"):
        AppSettings(temperature=-1)
    with pytest.raises(InvalidSettingError, match="theme"):
        AppSettings(theme="purple")  # type: ignore[arg-type]


def test_only_loading_settings_ask_for_a_reload() -> None:
    base = AppSettings()
    assert base.with_changes(n_ctx=2048).needs_reload(base)
    assert not base.with_changes(temperature=0.1).needs_reload(base)


def test_the_generation_settings_carry_the_sampling_settings() -> None:
    generation = AppSettings(max_new_tokens=100, temperature=0.3, system_prompt="").generation_settings()
    assert (generation.max_new_tokens, generation.temperature) == (100, 0.3)
    assert generation.system_prompt is None  # empty: no system message at all
