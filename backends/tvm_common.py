"""What the TVM schedule-study adapters share: the host target, running a compiled PrimFunc, text for reports."""

from __future__ import annotations

from typing import Any

import numpy as np

TIR_CHARS = 20_000  # the report shows the loop nest; a 2048-wide unrolled body need not be kept whole


def host_target(threads: int) -> tuple[Any, dict[str, Any]]:
    """TVM's LLVM target for this CPU with `threads` cores (MetaSchedule reads num-cores), and its JSON form."""
    import tvm

    spec = {"kind": "llvm", "mcpu": tvm.target.codegen.llvm_get_system_cpu(), "num-cores": threads}
    return tvm.target.Target(spec), spec


def truncate(text: str, limit: int = TIR_CHARS) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n# ... truncated ({len(text)} characters in all)\n"


def primfunc_runner(ex: Any, inputs: tuple[np.ndarray, ...], out_shape: tuple[int, ...]) -> tuple[Any, Any]:
    """`run` and `fetch` for a compiled PrimFunc main(*inputs, out): destination-passing, output preallocated."""
    import tvm

    device = tvm.cpu()
    main = ex.mod["main"]
    args = [tvm.runtime.tensor(np.ascontiguousarray(a), device) for a in inputs]
    out = tvm.runtime.tensor(np.zeros(out_shape, dtype=np.float32), device)

    def run() -> Any:
        main(*args, out)
        device.sync()
        return out

    return run, lambda result: result.numpy()
