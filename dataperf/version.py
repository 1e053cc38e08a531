"""Version strings. The evaluator version changes whenever any score could change."""

__version__ = "0.1.0"
EVALUATOR_VERSION = "1.2.0"
