"""The reader a reader eval runs: offline, or a model reader over recorded (or recording) calls."""

from __future__ import annotations

from app.interview.reading import Reader, offline_reader

READER_RECORDINGS = "reader-recordings"
"""Folder under evals/ for the model reader's recorded calls (apart from the judge's)."""


def eval_reader(model_spec: str | None, *, record: bool = False) -> Reader:
    """Offline reader for None/'offline'; else a model reader whose calls replay (or record) recordings.

    In replay a missing recording is an error naming the command that records it: the model reader's
    offline fallback is not used in evals, so a replay never passes on the offline reader's answers.
    """
    if model_spec in (None, "", "offline"):
        if record:
            from app.errors import SdmockError

            raise SdmockError("--record needs --model", "the offline reader calls no model")
        return offline_reader()
    from app.errors import SdmockError
    from app.evals.recording import RecordingModel
    from app.evals.runner import EVALS_DIR
    from app.interview.model_reader import ModelReader
    from app.llm.base import ChatModel
    from app.settings import get_settings

    inner: ChatModel | None = None
    name = model_spec
    if record:
        from app.llm.registry import get_model

        inner = get_model(model_spec, get_settings())
        if inner is None:
            raise SdmockError("recording needs a model, but the spec resolved to offline", "pass --model")
        name = inner.name
    model = RecordingModel(
        model_name=name,
        recordings_dir=EVALS_DIR / READER_RECORDINGS,
        mode="record" if record else "replay",
        inner=inner,
        rerecord_command=f"sdmock eval --reader --model {name} --record",
    )
    return ModelReader(model, fallback=None, name=f"model:{name}", strict=True)
