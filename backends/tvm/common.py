"""What the TVM adapters and studies share: the host target and running a compiled PrimFunc."""

from __future__ import annotations

from typing import Any

import numpy as np


def host_target(threads: int) -> tuple[Any, dict[str, Any]]:
    """TVM's LLVM target for this CPU with `threads` cores (MetaSchedule reads num-cores), and its JSON form."""
    import tvm

    spec = {"kind": "llvm", "mcpu": tvm.target.codegen.llvm_get_system_cpu(), "num-cores": threads}
    return tvm.target.Target(spec), spec


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
