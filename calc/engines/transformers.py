"""Hugging Face transformers: generate() with a DynamicCache that grows by one token per step, the
whole prompt in one forward pass, device_map="auto" placing whole layers on each GPU.

What is allocated when (transformers 4.45+, src/transformers/generation/utils.py and cache_utils.py):

    prefill   one forward pass over the prompt's tokens: the cache holds the prompt, the layer's
              activations are alive; generate() passes num_logits_to_keep=1 (logits_to_keep since
              4.50), so the head computes logits for each sequence's last position only
    decode    one forward pass per generated token: DynamicCache.update appends with torch.cat, which
              allocates the layer's grown keys and values while the old ones are still alive (one
              layer's cache twice for a moment); activations of one token per sequence

so the peak is the larger of the two (calc/memory/plan.py Plan._stage_activations):

    peak = max(KV(prompt) + prefill(prompt), KV(prompt + generated) + decode)

A peak measured at 1 prompt token and 30k generated tokens is the second term: the cache of 30k
tokens and one token's activations, never a 30k-token prefill.  Before 4.45 (engines.toml release
"4.0") the head computed logits for every prompt position and LlamaForCausalLM upcast them with
logits.float() (modeling_llama.py, v4.44.2), both alive in the prefill.

Constants are in calc/data/engines.toml (row "transformers").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from calc.architecture import Architecture
from calc.engines.base import Engine, Settings
from calc.memory.activations import F32, HALF, mlp_width


@dataclass(frozen=True)
class TransformersSettings(Settings):
    prompt_tokens: int | None  # tokens prefilled at once; None: the whole context


def cells(context: int, batch: int, window: int) -> int:
    """DynamicCache: every token of every sequence; sliding layers keep the window."""
    return batch * (min(window, context) if window else context)


def forward_bytes(a: Architecture, tokens: int, tp: int = 1, width: int | None = None) -> int:
    """The layers' working memory of a forward pass over `tokens` tokens (all sequences): SDPA
    attention keeps no score matrix; the residual, norm and attention output (3 x n_embd) and the
    MLP's gate, up and product (3 x width) at the model's 16-bit dtype:

        T * (3 * n_embd + 3 * width) * 2
    """
    return tokens * (3 * a.hidden + 3 * (width or mlp_width(a)) // tp) * HALF


def logits_bytes(a: Architecture, rows: int, upcast: bool) -> int:
    """Logits of `rows` positions: float32 (generate()'s copy of the last position, 4 bytes), or the
    head's 16-bit output and its float32 upcast (logits.float(), 2 + 4 bytes) where every prompt
    position is computed (before 4.45)."""
    return rows * a.vocab * (HALF + F32 if upcast else F32)


def activation_bytes(
    a: Architecture, tokens: int, batch: int, tp: int = 1, width: int | None = None, prompt_logits: bool = False
) -> int:
    """Prefill peak: the forward pass over every prompt token at once (T = prompt * batch tokens) and,
    on the GPU holding the head (batch > 0), the logits:

        peak = T * (3 * n_embd + 3 * width) * 2 + batch * n_vocab * 4                  (4.45 and later)
        peak = max(T * (3 * n_embd + 3 * width) * 2, T * n_embd * 2 + T * n_vocab * (2 + 4))   (before)

    Before 4.45 the head runs on every position after the decoder loop has freed the layers' working
    memory: only the final hidden states are alive beside the two copies of the logits."""
    layers = forward_bytes(a, tokens, tp, width)
    if not batch:
        return layers
    if prompt_logits:
        return max(layers, tokens * a.hidden * HALF + logits_bytes(a, tokens, True))
    return layers + logits_bytes(a, batch, False)


def dequant_bytes(a: Architecture, compute_bytes: int) -> int:
    """bitsandbytes 4-bit (formats.toml family "bnb", nf4) on a forward of more than one row:
    bnb.matmul_4bit dequantizes the whole weight, to the model's 16-bit dtype and then to the compute
    dtype (F.dequantize_4bit(B, quant_state).to(A.dtype), bitsandbytes/autograd/_functions.py), the
    largest linear matrix being the one alive at the peak; one row alone runs gemv_4bit on the packed
    weight:

        dequant = max linear elements * (2 + compute bytes)      (compute bytes 2, or 4 at float32)
    """
    attn = a.heads * a.head_dim + 2 * a.kv_heads * a.head_dim
    widest = max(a.intermediate, a.moe_intermediate, a.shared_intermediate, attn)
    return a.hidden * widest * (HALF + (compute_bytes if compute_bytes != HALF else 0))


@dataclass(frozen=True)
class Transformers(Engine):
    prompt_logits: bool = False  # the head computes every prompt position's logits (before 4.45)
    cache_copies: int = 1  # whole copies of the cache alive in a decode step (2 before 4.42)
    bnb_compute_bytes: int = 4  # BitsAndBytesConfig bnb_4bit_compute_dtype default: float32

    placement: ClassVar[str] = "device_map"  # from_pretrained(device_map="auto"): accelerate's layer order

    def settings(self, req, gpu) -> TransformersSettings:
        return TransformersSettings(prompt_tokens=getattr(req, "prompt_tokens", None))

    def cells_rule(self, st):
        return cells

    def _prompt(self, plan, context: int) -> int:
        prompt = plan.settings.prompt_tokens
        return context if prompt is None else max(1, min(prompt, context))

    def activations(self, plan, context: int, batch: int, tp: int, last: bool) -> int:
        """The prefill's working memory over the prompt (the whole context unless the request splits it)."""
        tokens = self._prompt(plan, context) * batch
        act = activation_bytes(plan.arch, tokens, batch if last else 0, tp, plan.mlp_width, self.prompt_logits)
        return act + self._dequant(plan, tokens)

    def _dequant(self, plan, rows: int) -> int:
        return dequant_bytes(plan.arch, self.bnb_compute_bytes) if plan.format_family == "bnb" and rows > 1 else 0

    def after_prefill(self, plan, context: int, batch: int, tp: int, last: bool) -> tuple[int, int, int] | None:
        """A prompt shorter than the context by more than the one token the prefill itself yields:
        (prompt, the last decode step's working memory, whole copies of the cache alive beside it).
        The step runs one token per sequence through the layers and computes the float32 logits of
        each on the head's GPU (16-bit and float32 before 4.45); DynamicCache.update's torch.cat holds
        the largest layer's cache twice for a moment:

            decode = forward(batch) + batch * n_vocab * 4 + max_layer KV bytes per token * cells(context)

        Before 4.42 (cache_copies = 2) generate() kept the tuple of past keys and values it passed in
        alive while the model built the grown one: the whole cache twice at every step."""
        prompt = self._prompt(plan, context)
        if context - prompt <= 1:
            return None
        a = plan.arch
        layer = max(
            (lk.bytes_per_token * plan.cells(context, batch, lk.window) for lk in plan.layer_kv if not lk.state_bytes_per_seq),
            default=0,
        )
        head = logits_bytes(a, batch, self.prompt_logits) if last else 0
        copies = self.cache_copies - 1
        step = forward_bytes(a, batch, tp, plan.mlp_width) + self._dequant(plan, batch) + head
        return prompt, step + (0 if copies else int(layer)), copies
