"""The settings object: precedence argument > environment > .env > default, and the OpenAI names."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.settings import REPO_ROOT, Settings, get_settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("SDMOCK_INTERVIEW_MINUTES", "SDMOCK_MODEL", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # `.env` is read from the working directory


def test_defaults_put_data_under_the_repo_data_folder() -> None:
    s = get_settings()
    assert s.interview_minutes == 45
    assert s.data_dir == REPO_ROOT / "data"
    assert s.resolved_index_dir == REPO_ROOT / "data" / "index"
    assert s.resolved_database_url == f"sqlite:///{REPO_ROOT / 'data' / 'sdmock.db'}"
    assert s.model is None


def test_precedence_argument_over_env_over_dotenv_over_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert get_settings().interview_minutes == 45
    (tmp_path / ".env").write_text("SDMOCK_INTERVIEW_MINUTES=30\n")
    assert get_settings().interview_minutes == 30
    monkeypatch.setenv("SDMOCK_INTERVIEW_MINUTES", "40")
    assert get_settings().interview_minutes == 40
    assert get_settings(interview_minutes=20).interview_minutes == 20


def test_openai_variables_are_read_under_the_sdk_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-real")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    s = get_settings()
    assert s.openai_api_key is not None and s.openai_api_key.get_secret_value() == "sk-test-not-real"
    assert "sk-test" not in repr(s)  # the key never shows up in logs
    assert s.openai_base_url == "http://127.0.0.1:9/v1"


def test_invalid_value_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDMOCK_LEVEL", "intern")
    with pytest.raises(ValueError, match="level"):
        Settings()


def test_env_example_lists_every_setting() -> None:
    text = (REPO_ROOT / ".env.example").read_text()
    for name, field in Settings.model_fields.items():
        env_name = (
            "OPENAI_" + name.removeprefix("openai_").upper()
            if name.startswith("openai_")
            else ("SDMOCK_" + name.upper())
        )
        assert env_name in text, f"{env_name} missing from .env.example"
        assert field.description, f"setting {name} has no description"


def test_readme_configuration_table_lists_every_setting() -> None:
    text = (REPO_ROOT / "README.md").read_text()
    for name in Settings.model_fields:
        env_name = (
            "OPENAI_" + name.removeprefix("openai_").upper()
            if name.startswith("openai_")
            else ("SDMOCK_" + name.upper())
        )
        assert f"`{env_name}`" in text, f"{env_name} missing from the README configuration table"
