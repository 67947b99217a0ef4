"""Serving: the chat engine every front end shares (posegpt.serve.engine: `ChatEngine`,
`Session`), the HTTP API (posegpt.serve.api) and the web page (posegpt.serve.web: `create_app`).
The model comes from `posegpt.model.load_chat_model`; the `posegpt chat` / `posegpt serve`
commands are in posegpt.cli.serve.

Kept import-free so that the `posegpt` command starts fast: import from the submodules.
"""
