"""The seeds' checkable claims, in the order the report lists them. Quotes are the seeds' own words."""

from __future__ import annotations

from analysis import checks, resnet18_checks
from analysis.claim_types import Claim

S0, S1, S2, S3, S4 = ("000_84592de20c79ad1d.txt", "001_d01a560f90a23405.txt", "002_d39a76ab4d320c7f.txt",
                      "003_40891105f79c5e41.txt", "004_3164e4af7ccf7958.txt")
DIRECTIONAL = "supported if the whole 95% CI of the ratio is above 1, refuted if it is wholly below 1, " \
              "else inconclusive"


def _band_rule(centre: str, low: float, high: float) -> str:
    return (f"'about {centre}' read as the band [{low:.3g}, {high:.3g}] ({centre} /1.25 .. x1.25): supported if the "
            "whole 95% CI lies inside it, refuted if wholly outside, else inconclusive")


REGISTRY: tuple[Claim, ...] = (
    Claim("tvm-resnet18-1.7x", "TVM runs ResNet-18 on CPU about 1.7x faster than PyTorch eager.",
          S1, "TVM CPU: 8.3 ms (with opt_level=3) / PyTorch CPU: 14.1 ms (eager mode) / Speedup: 1.70x",
          "models suite, resnet18 batch 1: torch-eager median / median of the fastest optimised TVM build, "
          "tvm/untuned-O2 (graph passes as at opt_level=3) or tvm/tuned (+ MetaSchedule: Relax has no default "
          "schedules where Relay's opt_level=3 used TOPI's)", _band_rule("1.7x", 1.7 / 1.25, 1.7 * 1.25),
          resnet18_checks.tvm_resnet18_speedup),
    Claim("tvm-opt-levels-3x", "TVM's graph-level optimisations make ResNet-18 about 3x faster than opt_level=0.",
          S1, "opt_level=0: ~25 ms (no optimization) ... opt_level=3: ~8 ms (all optimizations)",
          "models suite, resnet18 batch 1: tvm/untuned median (Relax's default pipeline, the graph-level O0) / "
          "tvm/untuned-O2 median (BatchNorm and constant folding, FuseOps/FuseTIR)",
          _band_rule("3.1x", 25 / 8 / 1.25, 25 / 8 * 1.25), resnet18_checks.tvm_opt_levels),
    Claim("fusion-cuts-kernels", "Operator fusion turns Conv2D + BatchNorm + ReLU chains into single kernels.",
          S1, "Before FuseOps ... After FuseOps: Fused Function Conv2D + BN + ReLU (single kernel) ... "
          "Kernel launches: 3 -> 1",
          "models suite, resnet18 batch 1, tvm (untuned-O2 preferred): details.ops_before (Relax operators) and "
          "details.ops_after (kernels)",
          "supported if fusion at least halves the operator count, refuted if it does not reduce it, else "
          "inconclusive (counts, no CI)", resnet18_checks.fusion_reduces_ops),
    Claim("autotune-beats-hand-tvm", "Auto-tuning (MetaSchedule/Ansor) beats hand-written schedules.",
          S2, "Key question: Why does Ansor often beat hand-written schedules?",
          "schedules suite and tuning curves: per workload and case, the fastest hand TE schedule (ladder and sweeps)"
          " / the fastest MetaSchedule-tuned kernel (any budget, any cost model), geometric mean over cells",
          DIRECTIONAL, checks.autotune_beats_hand_tvm),
    Claim("autotune-beats-hand-halide", "Halide's autoschedulers beat its hand schedule.",
          S4, "Halide-Autoscheduler (2019) - schedule language + beam-search",
          "schedules suite, halide: hand variant median / fastest of adams2019, li2018, mullapudi2016, geomean",
          DIRECTIONAL, checks.autotune_beats_hand_halide),
    Claim("compile-seconds-vs-minutes", "Heuristic compilers (Inductor, XLA) compile in seconds; TVM tunes for "
          "minutes.", S4, "TorchInductor/XLA rely on heuristics + light cost models + vendor libraries; compile time "
          "is seconds, not minutes.",
          "operators and models suites: median effective compile time of inductor and xla; median tuning cost of "
          "tuned TVM variants (tuning_s_original, or the run that tuned when the cache was reused)",
          "supported if both heuristic medians are under 60 s and the TVM tuning median is at least 60 s, else "
          "refuted; the ratio's CI resamples cells", checks.compile_seconds_vs_minutes, target="any"),
    Claim("vendor-beats-generated", "On 'boring' layers (GEMM, convolution) a vendor library beats TVM's generated "
          "code.", S4, "TVM historically generated everything from scratch; on 'boring' layers it was often slower "
          "than the vendor library.",
          "operators suite, matmul and conv2d: tvm (tuned, else untuned) median / torch-eager (oneDNN/BLAS) "
          "median, geomean over cells", DIRECTIONAL, checks.vendor_beats_generated, target="any"),
    Claim("ladder-each-step-helps", "Each schedule step (split/tile, reorder, vectorize, parallel, unroll) makes "
          "the matmul faster.", S3, "Naive ~500 ms ... + Tiling ~150 ... + Reorder ~90 ... + Vectorize ~40 ... "
          "+ Parallel ~8 ... + Unroll ~6",
          "schedules suite, tvm-te matmul ladder: each step's speedup over the previous step",
          "supported if every step's CI is above 1, refuted if any step's CI is wholly below 1, else inconclusive",
          checks.ladder_steps_each_faster),
    Claim("ladder-10-100x", "A well-scheduled matmul is 10-100x faster than the naive loop nest.",
          S2, "a well-scheduled matmul does the same O(n^3) work but 10-100x faster",
          "schedules suite, tvm-te matmul: naive median / fastest hand schedule median, geomean over sizes",
          "supported if the whole CI lies in [10, 100], refuted if wholly outside, else inconclusive",
          checks.ladder_total),
    Claim("naive-matmul-4-gflops", "A naive 1024 matmul runs at about 4 GFLOP/s.",
          S3, "Naive matmul ... Typical: ~500 ms, ~4 GFLOPS (very slow!)",
          "schedules suite, tvm-te naive matmul 1024x1024x1024: FLOPs / median",
          "supported if the whole CI lies in [2, 8] GFLOP/s (within 2x), refuted if wholly outside",
          checks.naive_gflops),
    Claim("numpy-beats-hand", "NumPy (OpenBLAS) beats the best hand-written TE schedule.",
          S3, "+ Unroll (ki) ~6 ms ~357.9 GFLOPS ... NumPy (OpenBLAS): ~3 ms ~716",
          "per matmul size: fastest hand tvm-te schedule median / numpy median, geomean", DIRECTIONAL,
          checks.numpy_beats_hand),
    Claim("tvm-beats-openmp", "OpenMP gives portable threads; a tensor compiler gives portable performance "
          "(TVM's schedules beat C + OpenMP).", S4, "OpenMP gives you portable threads; TVM gives you portable "
          "performance on top of those threads.",
          "schedules suite, matmul: fastest c-openmp median / fastest TVM kernel (hand or tuned) median, geomean "
          "over sizes",
          DIRECTIONAL, checks.tvm_beats_openmp),
    Claim("fusion-beats-eager", "Fusion is king: fusing compilers beat op-by-op eager execution on memory-bound "
          "chains.", S0, "Theme 5: FUSION IS KING ... XLA: whole-graph fusion ... Pattern: eliminate intermediate "
          "memory traffic",
          "operators suite, bias_add_relu, softmax, layernorm: torch-eager median / backend median, geomean, for "
          "the best variant of each of inductor, xla, tvm",
          "supported if every one of them is supported by the directional rule, refuted if every one is refuted, "
          "else inconclusive", checks.fusion_beats_eager, target="any"),
    Claim("triton-gpu-only", "Triton has no CPU performance to speak of: it is GPU only.",
          S0, "CPU performance ... Triton: ✗ (GPU only)",
          "every triton cell on a CPU machine that was really attempted (not refused as unsupported/unavailable)",
          "supported if Triton CPU cells were attempted (a CPU backend tried to compile them) and none ran, refuted "
          "if any ran; inconclusive (not measured) when the adapter refused every cell: a refusal cannot fail",
          checks.triton_gpu_only),
    Claim("triton-best-gpu", "On an NVIDIA GPU, Triton gives the best performance.",
          S0, "NVIDIA GPU only --> Triton (best perf) or TensorRT (production)",
          "GPU operators suite: fastest other backend median / triton median, geomean over Triton's cells",
          DIRECTIONAL, checks.triton_fastest_gpu, target="gpu"),
    Claim("ort-broadest-models", "ONNX Runtime 'just works': it has the broadest model support.",
          S0, "\"Just works\" --> ONNX Runtime (broadest model support)",
          "models suite: share of cells each compiler verifies with any variant (baselines excluded)",
          "supported if no compiler verifies more model cells than onnxruntime, refuted if one does",
          checks.ort_broadest_models, target="any"),
    Claim("tvm-best-coverage", "For multiple targets, TVM has the best coverage.",
          S0, "Multi-target --> TVM (best coverage) or ORT (easier)",
          "operators and models suites on each measured target: share of cells each compiler verifies",
          "supported if no compiler verifies more cells than tvm, refuted if one does", checks.tvm_best_coverage,
          target="any"),
    Claim("ort-easier-than-tvm", "ONNX Runtime is easier than TVM.",
          S0, "Multi-target --> TVM (best coverage) or ORT (easier); Ease of use: TVM ★★☆☆☆ (steep), "
          "ORT ★★★★★ (1-liner)",
          "ease proxied by cost to first inference and coverage: median effective compile time of tvm/untuned / "
          "onnxruntime over ok cells, and cells verified",
          "supported if the ratio's CI is above 1 and onnxruntime verifies at least as many cells; refuted if the CI "
          "is below 1 or it verifies fewer; else inconclusive", checks.ort_easier_than_tvm, target="any"),
)
