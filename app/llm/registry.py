"""The one provider seam: a `provider/model` string becomes a ChatModel (or None for offline).

    openai/<model>          OpenAI, or any OpenAI-compatible server when OPENAI_BASE_URL is set
    local/<alias|path.gguf> a GGUF model served by llama.cpp (xllamacpp) on loopback
    offline                 the built-in template interviewer (no model)
    fake/<anything>         a FakeModel with an empty queue (tests and benchmarks)

Unset, the spec defaults to `openai/gpt-4o-mini` when OPENAI_API_KEY or OPENAI_BASE_URL is present,
else to SDMOCK_LOCAL_MODEL when that is set, else to `offline`.
"""

from __future__ import annotations

from app.errors import ConfigError
from app.llm.base import ChatModel
from app.settings import Settings

DEFAULT_OPENAI_MODEL = "gpt-4o-mini"
PROVIDERS = ("openai", "local", "offline", "fake")
CHANGE_HINT = (
    "set SDMOCK_MODEL=openai/<model> (with OPENAI_API_KEY or OPENAI_BASE_URL), local/<file.gguf>, or offline"
)


def resolve_spec(settings: Settings, spec: str | None = None) -> str:
    """The model spec in force: the argument, else SDMOCK_MODEL, else the default chain."""
    chosen = (spec or settings.model or "").strip()
    if chosen:
        return chosen
    if settings.openai_api_key is not None or settings.openai_base_url:
        return f"openai/{DEFAULT_OPENAI_MODEL}"
    if settings.local_model is not None:
        return f"local/{settings.local_model}"
    return "offline"


def parse_spec(spec: str) -> tuple[str, str]:
    """Split 'provider/model'; raise ConfigError naming the accepted forms."""
    provider, _, model = spec.strip().partition("/")
    provider = provider.lower()
    if provider == "offline" and not model:
        return "offline", ""
    if provider not in PROVIDERS or not model:
        raise ConfigError(f"unknown model spec {spec!r}", CHANGE_HINT)
    return provider, model


def get_model(spec: str | None, settings: Settings) -> ChatModel | None:
    """Build the model client for a spec (None: the settings decide). None means offline."""
    provider, model = parse_spec(resolve_spec(settings, spec))
    if provider == "offline":
        return None
    if provider == "openai":
        from app.llm.openai_client import OpenAIChatModel

        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
        if key is None and not settings.openai_base_url:
            raise ConfigError(
                f"openai/{model} needs OPENAI_API_KEY (or OPENAI_BASE_URL for a compatible server)",
                "export OPENAI_API_KEY=sk-..., or run offline with SDMOCK_MODEL=offline",
            )
        return OpenAIChatModel(
            model,
            api_key=key,
            base_url=settings.openai_base_url,
            timeout_s=settings.request_timeout_s,
            max_retries=settings.max_retries,
        )
    if provider == "local":
        from app.llm.local import local_chat_model

        return local_chat_model(
            model,
            timeout_s=settings.request_timeout_s,
            max_retries=settings.max_retries,
            models_dir=settings.data_dir / "models",
        )
    from app.llm.fake import FakeModel

    return FakeModel(name=f"fake/{model}")


def describe_voice(settings: Settings, spec: str | None = None) -> str:
    """One line for the UI and CLI: which voice is active, why, and what to set to change it."""
    try:
        provider, model = parse_spec(resolve_spec(settings, spec))
    except ConfigError as exc:
        return f"Voice: invalid model setting ({exc.message}); {CHANGE_HINT}."
    explicit = bool(spec or settings.model)
    if provider == "offline":
        why = "chosen" if explicit else "no model configured"
        return (
            f"Voice: offline, the built-in interviewer ({why}). For an LLM voice set OPENAI_API_KEY, "
            "OPENAI_BASE_URL or SDMOCK_LOCAL_MODEL=<file.gguf>, or SDMOCK_MODEL=provider/model."
        )
    if provider == "openai":
        where = f"the server at {settings.openai_base_url}" if settings.openai_base_url else "OpenAI"
        why = "from SDMOCK_MODEL" if explicit else "default, because an OpenAI key or base URL is set"
        return (
            f"Voice: openai/{model} via {where} ({why}). "
            "Change with SDMOCK_MODEL=local/<file.gguf> or offline."
        )
    if provider == "local":
        why = "from SDMOCK_MODEL" if explicit else "from SDMOCK_LOCAL_MODEL"
        return (
            f"Voice: local/{model}, run on this machine by llama.cpp ({why}). "
            "Change with SDMOCK_MODEL=openai/<model> or offline."
        )
    return f"Voice: {provider}/{model} (test model)."
