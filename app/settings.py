"""One typed settings object for the whole app.

Precedence, highest first: explicit argument > environment variable > `.env` file > default.
Our own settings use the `SDMOCK_` prefix; `OPENAI_API_KEY` and `OPENAI_BASE_URL` are read under
the names the openai SDK uses, so one environment serves both.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
"""The checkout the package runs from; knowledge/ and prompts/ live here."""

# Chroma and its dependencies phone home unless told not to; nothing here may touch the network.
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


class Settings(BaseSettings):
    """Every knob of sdmock. Field docs double as the README's configuration table."""

    model_config = SettingsConfigDict(
        env_prefix="SDMOCK_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    data_dir: Path = Field(REPO_ROOT / "data", description="Where the index, database and reports live.")
    knowledge_dir: Path = Field(
        REPO_ROOT / "knowledge", description="Study notes, problem files and the rubric."
    )
    prompts_dir: Path = Field(REPO_ROOT / "prompts", description="Prompt templates, one file each.")
    index_dir: Path | None = Field(None, description="Chroma index folder (default: DATA_DIR/index).")
    collection: str = Field("notes", description="Chroma collection name for the study notes.")
    chroma_host: str | None = Field(
        None, description="Use a Chroma server (`chroma run`) at this host instead of an embedded index."
    )
    chroma_port: int = Field(8000, description="Port of the Chroma server.")

    model: str | None = Field(
        None,
        description="Voice and grader model as provider/model: openai/gpt-4o-mini, local/PATH.gguf, "
        "or offline. Unset: OpenAI if a key or base URL is set, else LOCAL_MODEL, else offline.",
    )
    local_model: Path | None = Field(
        None, description="A GGUF file to run locally (needs the `local` extra)."
    )
    openai_api_key: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("OPENAI_API_KEY", "openai_api_key"),
        description="Key for OpenAI or an OpenAI-compatible server (read as the openai SDK reads it).",
    )
    openai_base_url: str | None = Field(
        None,
        validation_alias=AliasChoices("OPENAI_BASE_URL", "openai_base_url"),
        description="Base URL of an OpenAI-compatible server (Ollama, vLLM, llama.cpp).",
    )
    reader: Literal["auto", "model", "offline"] = Field(
        "auto",
        description="How candidate messages are read: auto (the model reader when a model is configured, "
        "else offline), model, or offline (the embedding reader, no model call).",
    )
    reader_timeout_s: float = Field(
        20.0, description="Longest wait for the model reader; the offline reader answers after it."
    )
    request_timeout_s: float = Field(30.0, description="Timeout of one model request, in seconds.")
    max_retries: int = Field(2, description="Retries of a failed model request (with backoff).")
    turn_deadline_s: float = Field(60.0, description="Hard deadline for one interviewer turn, in seconds.")
    grade_deadline_s: float = Field(
        300.0,
        description="Longest wait for the model's rubric judgements, in seconds; late ones count as failed.",
    )

    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL (default: SQLite under DATA_DIR). postgresql+psycopg://... for scale.",
    )
    interview_minutes: int = Field(45, description="Default interview length in minutes.")
    level: Literal["mid", "senior", "staff"] = Field("senior", description="Default candidate level.")
    max_message_chars: int = Field(4000, description="Longest candidate message accepted, in characters.")

    @property
    def resolved_index_dir(self) -> Path:
        """The index folder, defaulting under the data folder."""
        return self.index_dir or self.data_dir / "index"

    @property
    def notes_dir(self) -> Path:
        return self.knowledge_dir / "notes"

    @property
    def problems_dir(self) -> Path:
        return self.knowledge_dir / "problems"

    @property
    def rubric_path(self) -> Path:
        return self.knowledge_dir / "rubric.yaml"

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to SQLite under the data folder."""
        return self.database_url or f"sqlite:///{self.data_dir / 'sdmock.db'}"


def get_settings(**overrides: Any) -> Settings:
    """Build settings; keyword arguments win over the environment and `.env`."""
    return Settings(**overrides)


@lru_cache(maxsize=1)
def default_settings() -> Settings:
    """Settings from the environment only, built once per process."""
    return Settings()
