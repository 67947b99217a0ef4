"""Errors that posegpt reports to users as a clean one-line message."""


class PoseGPTError(Exception):
    """Base class of every error posegpt reports to a user (CLI, server) without a traceback."""


class InvalidInputError(PoseGPTError, ValueError):
    """The caller passed data of the wrong shape, type or value."""


class ModelFileError(PoseGPTError, OSError):
    """A model, body-model or checkpoint file is missing, unreadable or corrupt."""


class TooLargeError(InvalidInputError):
    """An input (message, image, conversation) exceeds a size limit."""
