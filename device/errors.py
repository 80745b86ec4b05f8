"""Errors a user can act on: each message says what is wrong and what to do."""


class RepCounterError(Exception):
    """Base class for errors shown to the user as a plain message, never a traceback."""


class ModelError(RepCounterError):
    """A model file is missing, corrupt, or cannot run on the chosen accelerator."""


class SourceError(RepCounterError):
    """A camera or video source cannot be opened or has stopped delivering frames."""


class ConfigError(RepCounterError):
    """The settings file or a settings change is invalid."""
