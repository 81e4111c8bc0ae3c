"""Activations: the working memory of a forward pass.  Each engine sizes it in its own terms (its
module in calc/engines/ has the rule); what they share is here.
"""

from __future__ import annotations

from calc.architecture import Architecture

F32 = 4  # ggml computes activations in F32
HALF = 2  # vLLM and transformers keep activations in the model's 16-bit dtype


def mlp_width(a: Architecture) -> int:
    """Widest per-token MLP intermediate: the dense MLP, or the top-k experts plus shared ones."""
    moe = a.experts_active * a.moe_intermediate + a.shared_intermediate if a.is_moe else 0
    dense = a.intermediate if not all(a.moe_layers) else 0
    return max(moe, dense)
