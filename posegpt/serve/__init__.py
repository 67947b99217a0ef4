"""Serving: the chat engine every front end shares (posegpt.serve.engine: `ChatEngine`,
`Session`), the default model (posegpt.serve.loading), the HTTP API (posegpt.serve.api), the web
page (posegpt.serve.web: `create_app`); the `posegpt chat` / `posegpt serve` commands are in
posegpt.cli.serve.

Kept import-free so that the `posegpt` command starts fast: import from the submodules.
"""
