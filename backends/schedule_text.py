"""Schedule text kept in a record's details (TVM's TensorIR and traces, Halide's schedules and loop nests)."""

from __future__ import annotations

TIR_CHARS = 20_000  # the report shows the loop nest; a 2048-wide unrolled body need not be kept whole


def truncate(text: str, limit: int = TIR_CHARS) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n# ... truncated ({len(text)} characters in all)\n"
