"""Serving: the chat engine every front end shares (posegpt.serve.engine: `ChatEngine`,
`Session`), the default model (posegpt.serve.loading), the HTTP API (posegpt.serve.api), the web
page (posegpt.serve.web: `create_app`) and the `posegpt chat` / `posegpt serve` commands.

Kept import-free so that the `posegpt` command starts fast: import from the submodules.
"""
