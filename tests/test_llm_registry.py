"""The provider seam: spec resolution, defaults, describe_voice, and accounting."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from app.errors import ConfigError
from app.llm.accounting import UsageLog, cost_usd, price_for
from app.llm.base import Completion, Usage
from app.llm.fake import FakeModel
from app.llm.local import KNOWN_MODELS, KnownModel, resolve_model_path, verify_model_file
from app.llm.openai_client import OpenAIChatModel
from app.llm.registry import describe_voice, get_model, parse_spec, resolve_spec
from app.settings import Settings


def with_(settings: Settings, **update: object) -> Settings:
    return settings.model_copy(update=update)


def test_default_is_offline_when_nothing_is_set(tmp_settings: Settings) -> None:
    assert resolve_spec(tmp_settings) == "offline"
    assert get_model(None, tmp_settings) is None


def test_default_is_openai_with_a_key_or_base_url(tmp_settings: Settings) -> None:
    assert resolve_spec(with_(tmp_settings, openai_api_key=SecretStr("sk-x"))) == "openai/gpt-4o-mini"
    assert resolve_spec(with_(tmp_settings, openai_base_url="http://127.0.0.1:1/v1")) == "openai/gpt-4o-mini"


def test_default_is_the_local_model_when_configured(tmp_settings: Settings) -> None:
    settings = with_(tmp_settings, local_model=Path("/models/q.gguf"))
    assert resolve_spec(settings) == "local//models/q.gguf"
    # OpenAI wins over a local model when both are configured.
    assert resolve_spec(with_(settings, openai_api_key=SecretStr("k"))) == "openai/gpt-4o-mini"


def test_an_explicit_spec_wins_over_settings(tmp_settings: Settings) -> None:
    settings = with_(tmp_settings, model="offline", openai_api_key=SecretStr("k"))
    assert resolve_spec(settings) == "offline"
    assert resolve_spec(settings, "openai/gpt-4.1") == "openai/gpt-4.1"


def test_model_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDMOCK_MODEL", "openai/gpt-4.1-mini")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    settings = Settings(_env_file=None)
    model = get_model(None, settings)
    assert isinstance(model, OpenAIChatModel) and model.name == "openai/gpt-4.1-mini"


@pytest.mark.parametrize("spec", ["gpt-4o", "openai", "openai/", "anthropic/claude", "local/"])
def test_bad_specs_say_what_is_accepted(spec: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_spec(spec)
    assert "SDMOCK_MODEL" in (info.value.hint or "")


def test_openai_client_gets_settings_timeouts_and_retries(tmp_settings: Settings) -> None:
    settings = with_(tmp_settings, openai_api_key=SecretStr("sk-x"), request_timeout_s=12.5, max_retries=4)
    model = get_model("openai/gpt-4o-mini", settings)
    assert isinstance(model, OpenAIChatModel)
    assert model.timeout_s == 12.5 and model.max_retries == 4
    assert model._client.max_retries == 0  # retries are ours, deadline-aware
    assert model._client.timeout == 12.5  # never the SDK's 600 s default


def test_openai_without_a_key_or_url_is_a_config_error(tmp_settings: Settings) -> None:
    with pytest.raises(ConfigError) as info:
        get_model("openai/gpt-4o-mini", tmp_settings)
    assert "OPENAI_API_KEY" in str(info.value)


def test_fake_provider_for_tests(tmp_settings: Settings) -> None:
    model = get_model("fake/echo", tmp_settings)
    assert isinstance(model, FakeModel) and model.name == "fake/echo"


def test_describe_voice_always_says_what_is_active_and_how_to_change_it(tmp_settings: Settings) -> None:
    offline = describe_voice(tmp_settings)
    assert offline.startswith("Voice: offline") and "OPENAI_API_KEY" in offline and "SDMOCK_MODEL" in offline
    keyed = describe_voice(with_(tmp_settings, openai_api_key=SecretStr("sk-secret-value")))
    assert "openai/gpt-4o-mini" in keyed and "sk-secret-value" not in keyed and "SDMOCK_MODEL" in keyed
    compat = describe_voice(with_(tmp_settings, openai_base_url="http://127.0.0.1:8080/v1"))
    assert "http://127.0.0.1:8080/v1" in compat
    local = describe_voice(with_(tmp_settings, local_model=Path("/m/q.gguf")))
    assert "local//m/q.gguf" in local and "SDMOCK_LOCAL_MODEL" in local
    assert "invalid" in describe_voice(tmp_settings, "nonsense")
    assert "chosen" in describe_voice(tmp_settings, "offline")


# -- local model files (no server needed) ------------------------------------------------------------


def test_a_missing_local_file_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        resolve_model_path("/nowhere/model.gguf")
    assert "not found" in str(info.value)


def test_a_fetched_model_alias_is_found_in_data_models(tmp_path: Path) -> None:
    """`local/qwen2.5-coder-1.5b` (the name recordings are keyed by) resolves to DATA_DIR/models."""
    models = tmp_path / "models"
    with pytest.raises(ConfigError) as info:
        resolve_model_path("qwen2.5-coder-1.5b", models)
    assert str(models) in str(info.value) and "fetch_qwen.sh" in str(info.value)
    known = KNOWN_MODELS["qwen2.5-coder-1.5b"]
    models.mkdir()
    (models / known.file_name).write_bytes(b"GGUF")
    path, found = resolve_model_path("qwen2.5-coder-1.5b", models)
    assert path == (models / known.file_name).resolve() and found is known
    with pytest.raises(ConfigError, match="sha256"):  # through the registry, with the settings
        get_model("local/qwen2.5-coder-1.5b", Settings(_env_file=None, data_dir=tmp_path))


def test_a_file_that_is_not_gguf_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "model.gguf"
    bogus.write_bytes(b"<html>not a model</html>")
    with pytest.raises(ConfigError, match="not a GGUF"):
        verify_model_file(bogus, None)


def test_a_pinned_model_with_the_wrong_hash_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "tiny.gguf"
    fake.write_bytes(b"GGUF" + b"\0" * 64)
    pin = KnownModel(alias="tiny", file_name="tiny.gguf", sha256="0" * 64, how_to_get="make it")
    with pytest.raises(ConfigError, match="sha256"):
        verify_model_file(fake, pin)


def test_known_models_are_pinned() -> None:
    for known in KNOWN_MODELS.values():
        assert len(known.sha256) == 64 and int(known.sha256, 16) >= 0


# -- accounting -------------------------------------------------------------------------------------


def test_price_table_longest_prefix_and_unknowns() -> None:
    assert price_for("gpt-4o-mini-2024-07-18") == price_for("gpt-4o-mini")
    assert price_for("openai/gpt-4o") is not None and price_for("gpt-4o") != price_for("gpt-4o-mini")
    assert price_for("gpt-4.1-mini") != price_for("gpt-4.1")
    assert price_for("llama-3-8b") is None and price_for("local") is None
    assert cost_usd(None, 10, 10, 0) is None
    assert cost_usd(price_for("gpt-4o-mini"), 1_000_000, 0, 0) == pytest.approx(0.15)


def test_usage_log_sums_per_turn_and_per_interview() -> None:
    log = UsageLog()
    for turn, cost in ((1, 0.001), (1, 0.002), (2, None)):
        usage = Usage(prompt_tokens=100, completion_tokens=10, cached_tokens=50, cost_usd=cost)
        log.add(turn, "reply", Completion(text="x", model="openai/gpt-4o-mini", usage=usage))
    log.add_failure(3, "reply", "openai/gpt-4o-mini", "HTTP 503", 1.2)
    assert log.turn(1).prompt_tokens == 200 and log.turn(1).cost_usd == pytest.approx(0.003)
    assert log.turn(2).cost_usd is None
    total = log.total()
    assert (total.prompt_tokens, total.completion_tokens, total.cached_tokens) == (300, 30, 150)
    assert UsageLog.model_validate_json(log.model_dump_json()) == log  # the store can keep it as JSON
