"""Roofline: arithmetic intensity, the attainable GFLOP/s under the measured peak and DRAM bandwidth, and the
fraction of it each cell achieved.

The bandwidth ceiling is DRAM's (STREAM on arrays far beyond any cache). A working set that sits in cache is not
bound by it: such a point is marked "in cache: DRAM ceiling does not apply" and gets no fraction. A point counts as
in cache when its bytes fit in the last-level cache (`machine.llc_bytes` in the manifest, when recorded) or when it
ran above the DRAM roof in the memory-bound region, which only data served from cache can do. A point above the
measured compute peak is marked so. No fraction above 100% is ever printed.
"""

from __future__ import annotations

import pandas as pd

from analysis.dataset import Dataset
from analysis.load import calibration_for, number

DRAM = "DRAM roof"
IN_CACHE = "in cache: DRAM ceiling does not apply"
ABOVE_PEAK = "above the measured peak: calibration too low for this kernel"


def ceiling(ai: float, gflops: float, nbytes: float, peak: float, bandwidth: float, llc_bytes: float | None) -> str:
    """Which roof a point can be measured against: the DRAM roof, or none (in cache, above peak)."""
    memory_bound = ai * bandwidth < peak
    if (llc_bytes is not None and nbytes <= llc_bytes) or (memory_bound and gflops > ai * bandwidth):
        return IN_CACHE
    if gflops > peak:
        return ABOVE_PEAK
    return DRAM


def roofline(ds: Dataset) -> tuple[pd.DataFrame, dict[str, str]]:
    """Per ok record: arithmetic intensity, attainable GFLOP/s = min(peak, AI x DRAM bandwidth), the roof that
    applies, and the fraction achieved (only against the DRAM roof, never above 100%).

    A run without calibration uses the newest calibration of the same machine directory (said per point and in
    the notes); a machine with none gets no roofline.
    """
    rows, notes = [], {}
    for machine, group in (ds.ok.groupby("machine") if len(ds.ok) else []):
        newest, source = calibration_for(ds.loaded, machine)
        if newest is None:
            notes[machine] = "no calibration in any run of this machine: roofline not available"
            continue
        notes[machine] = f"peak {newest['peak_gflops']:.4g} GFLOP/s and DRAM bandwidth " \
                         f"{newest['bandwidth_gbps']:.4g} GB/s measured in run {source} (the chart's roofs)"
        for r in group.to_dict("records"):
            flops, nbytes, gflops = number(r.get("flops")), number(r.get("bytes")), number(r.get("gflops"))
            if not flops or not nbytes or gflops is None:
                continue
            manifest = ds.loaded.manifests.get(r["run_id"], {})
            own = manifest.get("calibration")
            calibration = own if isinstance(own, dict) and number(own.get("peak_gflops")) else newest
            peak, bw = float(calibration["peak_gflops"]), float(calibration["bandwidth_gbps"])
            llc = number((manifest.get("machine") or {}).get("llc_bytes"))
            ai = flops / nbytes
            attainable = min(peak, ai * bw)
            roof = ceiling(ai, gflops, nbytes, peak, bw, llc)
            rows.append({"machine": machine, "suite": r["suite"], "label": r["label"], "workload": r["workload"],
                         "case": r["case"], "ai": ai, "gflops": gflops, "attainable_gflops": attainable,
                         "ceiling": roof, "fraction": gflops / attainable if roof == DRAM else None,
                         "peak_gflops": peak, "bandwidth_gbps": bw,
                         "calibration": "this run" if calibration is own else f"run {source}"})
    return pd.DataFrame(rows), notes
