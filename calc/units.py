"""Units.  Everything inside the core is bytes, tokens and parameters; this module is the edge.

Memory is shown in GiB (2**30 bytes), the unit nvidia-smi and the engines' logs use (MiB there).
"""

KIB = 1024
MIB = 1024**2
GIB = 1024**3


def gib(n_bytes: float) -> float:
    """Bytes -> GiB."""
    return n_bytes / GIB


def fmt_gib(n_bytes: float) -> str:
    """Bytes -> '12.34 GiB'."""
    return f"{n_bytes / GIB:,.2f} GiB"


def fmt_params(n: float) -> str:
    """Parameter count -> '480.2B' / '595.8M'."""
    if n >= 1e12:
        return f"{n / 1e12:.2f}T"
    if n >= 1e9:
        return f"{n / 1e9:.1f}B"
    return f"{n / 1e6:.1f}M"


def fmt_tokens(n: int) -> str:
    """Tokens -> '128k' when a multiple of 1024, else the plain number."""
    return f"{n // 1024}k" if n % 1024 == 0 and n >= 1024 else f"{n:,}"
