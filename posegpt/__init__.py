"""posegpt: chat about 3D human pose."""

__version__ = "0.1.0"
