/* Machine calibration: FP32 FMA peak and STREAM-like memory bandwidth, on all threads (OpenMP).
 *
 * Usage: calibration THREADS FMA_ITERS STREAM_DOUBLES REPEATS
 * Prints one JSON object: the best (shortest) time of REPEATS for each kernel, converted to GFLOP/s and GB/s.
 *
 * Peak: each thread runs CHAINS512 / CHAINS256 independent FMA chains (acc = acc * x + y) on GCC vector types, so the
 * out-of-order core can keep every FMA pipe busy despite the FMA latency (4-5 cycles x 2 pipes needs >= 10
 * chains). Two widths are measured (64-byte = AVX-512 zmm, 32-byte = AVX2 ymm): on cores that split 512-bit
 * ops in two the narrow one can be as fast, and the report takes the larger.
 * Bandwidth: STREAM's copy (c = a) and triad (a = b + s*c) on float64 arrays far larger than the caches,
 * first-touched by the thread that later streams them; bytes counted as STREAM does (no write-allocate).
 */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

/* Chains per width: enough to cover FMA latency x pipes (4-5 x 2), few enough to stay in registers. AVX2 has
 * 16 ymm registers and the kernel needs CHAINS + 2 of them: 16 chains spill to the stack on AVX2-only cores
 * (Zen 3: 107 GFLOP/s measured where OpenBLAS reached 136), so the 256-bit kernel keeps 12. AVX-512 has 32. */
#define CHAINS512 16
#define CHAINS256 12

#define DEFINE_PEAK(NAME, BYTES, CHAINS)                                                             \
    typedef float NAME##_vec __attribute__((vector_size(BYTES)));                                    \
    static double NAME(long iters, float *sink) {                                                    \
        double t0 = omp_get_wtime();                                                                 \
        _Pragma("omp parallel") {                                                                    \
            NAME##_vec acc[CHAINS], x, y;                                                            \
            float seed = (float)(omp_get_thread_num() + 1);                                          \
            for (int l = 0; l < (int)(BYTES / sizeof(float)); l++) { x[l] = 0.9999999f; y[l] = 1e-7f; } \
            for (int c = 0; c < CHAINS; c++)                                                         \
                for (int l = 0; l < (int)(BYTES / sizeof(float)); l++) acc[c][l] = seed + c + l;    \
            for (long i = 0; i < iters; i++)                                                         \
                for (int c = 0; c < CHAINS; c++) acc[c] = acc[c] * x + y; /* contracted into an FMA */ \
            float total = 0.0f;                                                                      \
            for (int c = 0; c < CHAINS; c++)                                                         \
                for (int l = 0; l < (int)(BYTES / sizeof(float)); l++) total += acc[c][l];           \
            _Pragma("omp atomic") *sink += total; /* keeps the chains alive */                     \
        }                                                                                            \
        return omp_get_wtime() - t0;                                                                 \
    }

DEFINE_PEAK(peak512, 64, CHAINS512)
DEFINE_PEAK(peak256, 32, CHAINS256)

static double copy(double *restrict c, const double *restrict a, long n) {
    double t0 = omp_get_wtime();
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++) c[i] = a[i];
    return omp_get_wtime() - t0;
}

static double triad(double *restrict a, const double *restrict b, const double *restrict c, long n) {
    double t0 = omp_get_wtime();
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++) a[i] = b[i] + 3.0 * c[i];
    return omp_get_wtime() - t0;
}

static double best(double a, double b) { return a < b ? a : b; }

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s THREADS FMA_ITERS STREAM_DOUBLES REPEATS\n", argv[0]);
        return 2;
    }
    int threads = atoi(argv[1]), repeats = atoi(argv[4]);
    long iters = atol(argv[2]), n = atol(argv[3]);
    omp_set_num_threads(threads);
    float sink = 0.0f;
    double t512 = 1e30, t256 = 1e30, tcopy = 1e30, ttriad = 1e30;
    peak512(iters / 16, &sink); /* warm-up: thread pool start, clock ramp */
    for (int r = 0; r < repeats; r++) {
        t512 = best(t512, peak512(iters, &sink));
        t256 = best(t256, peak256(iters, &sink));
    }
    double *a = malloc(n * sizeof(double)), *b = malloc(n * sizeof(double)), *c = malloc(n * sizeof(double));
    if (!a || !b || !c) { fprintf(stderr, "out of memory for 3 x %ld doubles\n", n); return 1; }
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++) { a[i] = 1.0; b[i] = 2.0; c[i] = 0.0; }
    for (int r = 0; r < repeats; r++) {
        tcopy = best(tcopy, copy(c, a, n));
        ttriad = best(ttriad, triad(a, b, c, n));
    }
    int nthreads = 0;
#pragma omp parallel
#pragma omp single
    nthreads = omp_get_num_threads();
    double flop512 = 2.0 * CHAINS512 * 16 * (double)iters * nthreads, flop256 = 2.0 * CHAINS256 * 8 * (double)iters * nthreads;
    printf("{\"threads\": %d, \"peak512_gflops\": %.3f, \"peak256_gflops\": %.3f, \"copy_gbps\": %.3f, "
           "\"triad_gbps\": %.3f, \"check\": %g}\n",
           nthreads, flop512 / t512 / 1e9, flop256 / t256 / 1e9, 16.0 * n / tcopy / 1e9, 24.0 * n / ttriad / 1e9,
           (double)sink + a[n / 2]);
    free(a); free(b); free(c);
    return 0;
}
