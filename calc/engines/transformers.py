"""Hugging Face transformers: generate() with a DynamicCache that keeps every token, the whole
prompt in one forward pass, device_map="auto" placing whole layers on each GPU.

Constants are in calc/data/engines.toml (row "transformers").
"""

from __future__ import annotations

from dataclasses import dataclass

from calc.architecture import Architecture
from calc.engines.base import Engine
from calc.memory.activations import F32, HALF, mlp_width


def cells(context: int, batch: int, window: int) -> int:
    """DynamicCache: every token of every sequence; sliding layers keep the window."""
    return batch * (min(window, context) if window else context)


def activation_bytes(a: Architecture, tokens: int, batch: int, tp: int = 1, width: int | None = None) -> int:
    """Prefill peak: the forward pass over every prompt token at once (SDPA attention, no score
    matrix kept), logits for the last token of each sequence (logits_to_keep=1):

        peak = T * (3 * n_embd + 3 * width) * 2 + batch * n_vocab * 4     with T = context * batch
    """
    return tokens * (3 * a.hidden + 3 * (width or mlp_width(a)) // tp) * HALF + batch * a.vocab * F32


@dataclass(frozen=True)
class Transformers(Engine):
    def cells_rule(self, st):
        return cells

    def activations(self, plan, context: int, batch: int, tp: int, last: bool) -> int:
        return activation_bytes(plan.arch, context * batch, batch if last else 0, tp, plan.mlp_width)
