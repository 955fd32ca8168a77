/* C = A @ B for row-major float32 A[M,K], B[K,N], C[M,N]: what a C programmer writes with OpenMP.
 * Compiled at run time with -O3 -march=native -fopenmp; threads from OMP_NUM_THREADS. */
#include <string.h>

#ifndef TILE_M
#define TILE_M 64
#endif
#ifndef TILE_N
#define TILE_N 256
#endif
#ifndef TILE_K
#define TILE_K 128
#endif

static int min_int(int a, int b) { return a < b ? a : b; }

/* The textbook triple loop, rows split across threads. The inner k loop walks B down a column
 * (stride N floats): one cache line fetched per multiply-add once B outgrows the caches. */
void matmul_naive(const float *restrict a, const float *restrict b, float *restrict c, int m, int n, int k) {
#pragma omp parallel for schedule(static)
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            float sum = 0.0f;
            for (int p = 0; p < k; p++) sum += a[(long)i * k + p] * b[(long)p * n + j];
            c[(long)i * n + j] = sum;
        }
}

/* Cache tiling and loop interchange: each thread owns TILE_M x TILE_N blocks of C; for a TILE_K slice of
 * the reduction, the i-k-j order streams a row of B (unit stride, vectorised by the compiler) while
 * a[i,p] stays in a register, and the B slice (TILE_K x TILE_N floats, 128 KiB) stays in L2. */
void matmul_tiled(const float *restrict a, const float *restrict b, float *restrict c, int m, int n, int k) {
#pragma omp parallel for collapse(2) schedule(static)
    for (int i0 = 0; i0 < m; i0 += TILE_M)
        for (int j0 = 0; j0 < n; j0 += TILE_N) {
            int i1 = min_int(i0 + TILE_M, m), j1 = min_int(j0 + TILE_N, n);
            for (int i = i0; i < i1; i++) memset(&c[(long)i * n + j0], 0, (size_t)(j1 - j0) * sizeof(float));
            for (int p0 = 0; p0 < k; p0 += TILE_K) {
                int p1 = min_int(p0 + TILE_K, k);
                for (int i = i0; i < i1; i++) {
                    float *restrict crow = &c[(long)i * n];
                    for (int p = p0; p < p1; p++) {
                        const float aip = a[(long)i * k + p];
                        const float *restrict brow = &b[(long)p * n];
#pragma omp simd
                        for (int j = j0; j < j1; j++) crow[j] += aip * brow[j];
                    }
                }
            }
        }
}
