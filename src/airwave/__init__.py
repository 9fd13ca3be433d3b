"""airwave: local-first batch ASR on per-task Spark clusters."""

__version__ = "0.1.0"
