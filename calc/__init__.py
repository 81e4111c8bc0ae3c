"""LLM VRAM calculator: how much GPU memory a model needs, and which GPUs can run it.

Standard library only; runs unchanged on CPython 3.11+ and in Pyodide.  The entry points are
:mod:`calc.api` (JSON in, JSON out) and ``python -m calc`` (the command line).
"""

__version__ = "0.1.0"
