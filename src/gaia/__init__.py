"""gaia: local-first orchestration for AI-assisted software development."""

from gaia.errors import (
    ConfigError,
    ConflictError,
    GaiaError,
    NotFoundError,
    StorageError,
    ValidationError,
    WorkflowError,
    WorkflowValidationError,
)

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "ConflictError",
    "GaiaError",
    "NotFoundError",
    "StorageError",
    "ValidationError",
    "WorkflowError",
    "WorkflowValidationError",
    "__version__",
]
