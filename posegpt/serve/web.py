"""The web app: a Gradio chat page (text, photo upload, pose input: a pose file or "use this
pose" on an earlier answer, 3D view, picture, downloads, start over) mounted at `/` on the API's
FastAPI app, so one server answers both. Earlier answers' poses enter each follow-up by
themselves (the engine feeds them back).

Gradio checks that files sent by a browser were uploaded to it only once an app has been
`launch()`ed; a mounted app never is, so `create_app` turns those checks on. The conversation
shown is kept on the server (never read back from the browser), so a client cannot make the
page serve a file of its choosing. Gradio's file route serves its own copies of the answers and
the exact answer files this server wrote (the most recent MAX_SERVED_FILES), never the rest of
the output folder: a user's own files and dotfiles in `--out` stay private.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr
import torch
from fastapi import FastAPI

from posegpt.data.formats import read_pose_file
from posegpt.errors import InvalidInputError, PoseGPTError
from posegpt.model import POSE_TOKEN
from posegpt.serve.api import MAX_BODY_BYTES, create_api
from posegpt.serve.engine import ChatEngine, EngineReply, Session

#: How long an idle browser tab keeps its conversation, in seconds.
SESSION_TTL = 3600
#: Most chat messages a tab shows (older ones scroll away for good).
MAX_SHOWN = 100
#: Most answer files Gradio may serve by path (the newest; each reply adds up to 12).
MAX_SERVED_FILES = 4096


@dataclass
class _Tab:
    """One browser tab: its engine session and the chat messages it shows."""

    session: Session
    shown: list[dict[str, Any]] = field(default_factory=list)
    answers: dict[str, torch.Tensor] = field(default_factory=dict)  # pose label -> (24, 3, 3)


def create_app(engine: ChatEngine) -> FastAPI:
    """The whole server: the HTTP API plus the chat page at `/`."""
    demo = build_ui(engine)
    demo.has_launched = True  # enables Gradio's uploaded-files-only checks (see above)
    return gr.mount_gradio_app(
        create_api(engine),
        demo,
        path="/",
        allowed_paths=[],  # grown by `respond` with the exact files each answer wrote
        max_file_size=MAX_BODY_BYTES,
        show_error=False,  # only posegpt's own messages (gr.Error) reach the browser
    )


def build_ui(engine: ChatEngine) -> gr.Blocks:
    """The chat page. Each browser tab has its own Session; replies run one at a time."""

    def respond(
        tab: _Tab | None,
        message: str,
        photo: str | None,
        pose_file: str | None,
        earlier: str | None,
    ) -> tuple:
        tab = tab or _Tab(engine.new_session())
        try:
            poses = [read_pose_file(pose_file)] if pose_file else []
            if earlier:
                if earlier not in tab.answers:
                    raise InvalidInputError(f"no earlier pose {earlier!r} in this conversation")
                poses.append(tab.answers[earlier])
            reply = engine.reply(tab.session, message, photo, poses=poses or None)
        except PoseGPTError as err:
            raise gr.Error(str(err)) from err
        used = [Path(pose_file).name] if pose_file else []
        used += [earlier] if earlier else []
        note = f" [with {', '.join(used)}]" if used else ""
        tab.shown.append({"role": "user", "content": message + note})
        if photo is not None:
            tab.shown.append({"role": "user", "content": {"path": photo}})
        tab.shown += _assistant_messages(reply)
        del tab.shown[:-MAX_SHOWN]
        answered = tab.session.history[-1].poses  # upright, as the model reads them back
        for pose, rotmat in zip(reply.poses, answered, strict=True):
            if pose.files:
                tab.answers[Path(pose.files["npz"]).stem] = rotmat
        choices = gr.update(choices=list(tab.answers), value=None)
        shown = [p.files for p in reply.poses if p.files]
        if not shown:  # a text-only answer leaves the last pose on view
            return tab, tab.shown, "", None, None, choices, gr.skip(), gr.skip(), gr.skip()
        downloads = [str(path) for files in shown for path in files.values()]
        _allow(demo, downloads)
        view, picture = str(shown[0]["glb"]), str(shown[0]["png"])
        return tab, tab.shown, "", None, None, choices, view, picture, downloads

    def start_over(tab: _Tab | None) -> tuple:
        if tab is not None:
            tab.session.reset()
            tab.shown.clear()
            tab.answers.clear()
        choices = gr.update(choices=[], value=None)
        return tab, [], "", None, None, choices, None, None, None

    # Uploads and Gradio's copies of our files are deleted hourly once an hour old.
    cache = (SESSION_TTL, SESSION_TTL)
    with gr.Blocks(title="posegpt", analytics_enabled=False, delete_cache=cache) as demo:
        tab = gr.State(None, time_to_live=SESSION_TTL)
        gr.Markdown(
            "## posegpt\nAsk for a pose in words, optionally with a photo or a pose to describe, "
            "compare or edit; follow-ups change the last pose."
        )
        with gr.Row():
            with gr.Column(scale=3):
                chat = gr.Chatbot(label="Chat", elem_id="chat", height=420)
                message = gr.Textbox(
                    label="Message",
                    placeholder="e.g. Give me the pose of someone waving",
                    elem_id="message",
                )
                with gr.Row():
                    send = gr.Button("Send", variant="primary", elem_id="send")
                    reset = gr.Button("Start over", elem_id="reset")
                photo = gr.Image(
                    label="Photo (optional)",
                    type="filepath",
                    image_mode=None,  # the engine checks and decodes it
                    sources=["upload"],
                    elem_id="photo",
                    height=200,
                )
                with gr.Row():
                    pose_file = gr.File(
                        label="Pose file (optional: .npz / .json, posegpt or AMASS)",
                        file_types=[".npz", ".json"],
                        type="filepath",
                        elem_id="pose_file",
                    )
                    earlier = gr.Dropdown(
                        label="Use this pose (an earlier answer)",
                        choices=[],
                        value=None,
                        elem_id="earlier_pose",
                    )
            with gr.Column(scale=2):
                view = gr.Model3D(label="3D view", elem_id="view3d", height=360)
                picture = gr.Image(label="Picture", elem_id="picture", interactive=False)
                downloads = gr.File(
                    label="Files", file_count="multiple", elem_id="files", interactive=False
                )
        outputs = [tab, chat, message, photo, pose_file, earlier, view, picture, downloads]
        inputs = [tab, message, photo, pose_file, earlier]
        message.submit(respond, inputs, outputs)
        send.click(respond, inputs, outputs)
        reset.click(start_over, [tab], outputs)
    return demo.queue(default_concurrency_limit=1, max_size=engine.max_pending)


def _allow(demo: gr.Blocks, paths: list[str]) -> None:
    """Let Gradio serve exactly these answer files (newest MAX_SERVED_FILES kept)."""
    allowed = demo.allowed_paths
    allowed += [str(Path(p).resolve()) for p in paths]
    del allowed[:-MAX_SERVED_FILES]


def _assistant_messages(reply: EngineReply) -> list[dict[str, Any]]:
    """The answer as chat messages: text with each `<POSE>` named after its files, then the
    pictures."""
    text = reply.text
    for pose in reply.poses:
        label = Path(pose.files["npz"]).stem if pose.files else "pose"
        text = text.replace(POSE_TOKEN, f"**[{label}]**", 1)
    messages = [{"role": "assistant", "content": text}]
    messages += [
        {"role": "assistant", "content": {"path": str(p.files["png"])}}
        for p in reply.poses
        if p.files
    ]
    return messages
