"""The memory model: KV cache (kv_cache.py), activations (activations.py), and the per-GPU plan (plan.py)."""
