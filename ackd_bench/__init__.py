"""ackd-bench: benchmark suite for Asymmetric Cross-modal Knowledge Distillation (MS teacher -> RGB student)."""

__version__ = "0.1.0"
