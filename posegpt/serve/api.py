"""The HTTP API: `POST /v1/chat`, `GET /health`, `GET /files/{folder}/{name}`, OpenAPI at
`/openapi.json` (docs at `/docs`).

Errors are JSON `{"detail": ...}`: 400 bad input (or a body that is not UTF-8), 413 too large
(message, picture; a body over MAX_BODY_BYTES gets a plain-text 413 before any parsing), 422
malformed JSON or wrong/unknown fields, 503 busy (with `Retry-After`). Files are served only from
the engine's output store.
"""

from __future__ import annotations

import base64
import binascii
import logging
from typing import Any, Literal

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from posegpt.errors import InvalidInputError, PoseGPTError, TooLargeError
from posegpt.model.pose_input import MAX_INPUT_POSES
from posegpt.records import Message
from posegpt.serve.engine import MAX_SEED, ChatEngine, ServerBusyError

logger = logging.getLogger("posegpt.serve")

#: Largest request body accepted (a base64 photo of about 12 MB).
MAX_BODY_BYTES = 16 * 1024 * 1024
#: Most messages one request may carry (older turns are dropped to fit the model anyway).
MAX_MESSAGES = 64


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChatMessage(_Strict):
    role: Literal["system", "user", "assistant"]
    content: str
    poses: list[list[Any]] | None = Field(
        None,
        max_length=MAX_INPUT_POSES,
        description=(
            "Poses of this message, each 72 axis-angle values (SMPL order, radians) or 24 "
            "rotation matrices (24 x 3 x 3). A user message's poses are input poses (each may "
            "stand at a <pose_in> marker, else they go before the text); an assistant message's "
            "are its answer's poses (send them back as this API returned them, so that a "
            "follow-up sees the pose it changes)."
        ),
    )


class ChatRequest(_Strict):
    messages: list[ChatMessage] = Field(
        min_length=1,
        max_length=MAX_MESSAGES,
        description="The conversation so far; the last message is the user's question.",
    )
    image: str | None = Field(
        None, description="A picture for the last message: base64, or a data: URL."
    )
    max_new_tokens: int | None = Field(None, ge=1, description="Reply length limit (tokens).")
    temperature: float | None = Field(
        None, ge=0, le=2, allow_inf_nan=False, description="0 decodes greedily."
    )
    seed: int | None = Field(
        None, ge=0, le=MAX_SEED, description="Seed for sampling (temperature > 0)."
    )


class PoseOut(BaseModel):
    axis_angle: list[float] = Field(description="SMPL pose, 24 joints x 3 (axis-angle, radians).")
    rotmat: list[list[list[float]]] = Field(description="The same pose as 24 rotation matrices.")
    files: dict[str, str] = Field(description="URLs of the pose's npz, glb and png files.")


class ChatResponse(BaseModel):
    text: str = Field(description="The answer; each <POSE> marker stands for one pose, in order.")
    poses: list[PoseOut]


class Health(BaseModel):
    status: Literal["ok"]
    model: str
    pending: int
    max_pending: int


class Error(BaseModel):
    detail: str


def create_api(engine: ChatEngine) -> FastAPI:
    """The FastAPI app with the API routes for `engine` (the web UI mounts onto it)."""
    app = FastAPI(
        title="posegpt",
        summary="Chat about 3D human pose: answers in words and SMPL poses.",
        max_body_size=MAX_BODY_BYTES,
    )
    app.add_exception_handler(PoseGPTError, _error_response)
    app.add_exception_handler(RequestValidationError, _validation_response)
    errors = {code: {"model": Error} for code in (400, 413, 422, 503)}

    @app.post("/v1/chat", response_model=ChatResponse, responses=errors)
    def chat(body: ChatRequest, request: Request) -> dict:
        """Answer the conversation's last (user) message, with an optional picture."""
        *history, last = body.messages
        if last.role != "user":
            raise InvalidInputError("the last message must be the user's")
        image = None if body.image is None else _decode_base64(body.image)
        session = engine.new_session(
            history=[Message(m.role, m.content, m.poses or []) for m in history]
        )
        reply = engine.reply(
            session,
            last.content,
            image,
            poses=last.poses,
            max_new_tokens=body.max_new_tokens,
            temperature=body.temperature,
            seed=body.seed,
        )

        def url(path) -> str:
            folder, name = engine.store.relative(path)
            return str(request.url_for("files", folder=folder, name=name))

        return reply.to_json(url)

    @app.get("/health", response_model=Health)
    def health() -> dict:
        """Liveness and load: replies in progress and the admission limit."""
        return {
            "status": "ok",
            "model": engine.model.config.preset,
            "pending": engine.pending,
            "max_pending": engine.max_pending,
        }

    @app.get("/files/{folder}/{name}", name="files", responses={404: {"model": Error}})
    def files(folder: str, name: str) -> FileResponse:
        """A pose file written by this server (npz, glb or png)."""
        path = engine.store.find(folder, name)
        if path is None:
            raise HTTPException(404, "no such file")
        return FileResponse(path)

    return app


def _decode_base64(data: str) -> bytes:
    if data.startswith("data:"):
        data = data.partition(",")[2]
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as err:
        raise InvalidInputError(f"image is not valid base64: {err}") from err


def _validation_response(request: Request, err: RequestValidationError) -> JSONResponse:
    """422 naming each bad field and why, without echoing the input (which may be NaN or hold
    text that cannot be encoded)."""
    problems = [
        f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body') or 'body'}: {e.get('msg')}"
        for e in err.errors()
    ]
    return JSONResponse({"detail": "; ".join(problems) or "invalid request"}, status_code=422)


def _error_response(request: Request, err: Exception) -> JSONResponse:
    if isinstance(err, ServerBusyError):
        return JSONResponse({"detail": str(err)}, status_code=503, headers={"Retry-After": "1"})
    if not isinstance(err, InvalidInputError):  # a model or file problem on the server's side
        logger.error("reply failed: %s", err)  # the details (paths) stay in the server's log
        return JSONResponse(
            {"detail": "the server could not complete the reply; see the server's log"},
            status_code=500,
        )
    status = 413 if isinstance(err, TooLargeError) else 400
    return JSONResponse({"detail": str(err)}, status_code=status)
