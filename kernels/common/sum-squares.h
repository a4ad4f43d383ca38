/* Per-channel sums of squares in double, in one order on every ISA, so that every variant
 * gives the scalar bits. A contiguous run sends element i to lane i % 32; each lane adds its
 * elements in order, starting from +0.0; the lanes are then folded pairwise (lane l plus lane
 * l + 16, then + 8, + 4, + 2, + 1). 32 lanes, not 16: a 512-bit kernel then adds each 64
 * elements into four accumulators, two additions each, instead of two accumulators four deep,
 * whose latency would bound the fused chain sweep (bench/results/2026-12-04-zen4.md, "Earlier
 * main jobs"). Element-wise accumulation across rows adds row by row. The square of a float is
 * exact in double, so a fused multiply-add gives the same bits as a multiply then an add, and a
 * zero-filled (masked) element adds +0.0, which changes nothing.
 */
#ifndef QEQ_KERNELS_COMMON_SUM_SQUARES_H
#define QEQ_KERNELS_COMMON_SUM_SQUARES_H

#include <stddef.h>

#define QEQ_SUM_SQUARES_LANES 32

/* Adds run elements p[0..n) to the lanes, p[0] going to lane `lane` (any n). */
static inline void qeq_sum_squares_lanes_add(double lanes[QEQ_SUM_SQUARES_LANES], size_t lane,
                                             const float* p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const double v = (double)p[i];
    lanes[(lane + i) % QEQ_SUM_SQUARES_LANES] += v * v;
  }
}

static inline double qeq_sum_squares_lanes_fold(const double lanes[QEQ_SUM_SQUARES_LANES]) {
  double t[QEQ_SUM_SQUARES_LANES / 2];
  for (size_t l = 0; l < QEQ_SUM_SQUARES_LANES / 2; l++) {
    t[l] = lanes[l] + lanes[l + QEQ_SUM_SQUARES_LANES / 2];
  }
  for (size_t half = QEQ_SUM_SQUARES_LANES / 4; half >= 1; half /= 2) {
    for (size_t l = 0; l < half; l++) t[l] = t[l] + t[l + half];
  }
  return t[0];
}

/* Channel total: the first outer slice sets it, later ones add to it. */
static inline void qeq_sum_squares_store(double* out, size_t o, double run_sum) {
  *out = o == 0 ? run_sum : *out + run_sum;
}

/* acc[j] += row_r[j]^2 for the `count` rows in order, j < n (tails of the vector kernels). */
static inline void qeq_sum_squares_rows_add(double* acc, const float* const* rows, size_t count,
                                            size_t n) {
  for (size_t j = 0; j < n; j++) {
    double a = acc[j];
    for (size_t r = 0; r < count; r++) {
      const double v = (double)rows[r][j];
      a += v * v;
    }
    acc[j] = a;
  }
}

/* f32_vscale_rminmax's choice of sums (ukernels.h: exact, rough or none): calls `body`, an
 * always-inline function of the kernel's signature, with constant NULLs where the caller passed
 * them, so that each choice gets its own loop. */
#define QEQ_VSCALE_RMINMAX_BY_SUMS(body, rows, width, x, row_scale, scale, y, min, max, \
                                   sum_squares, rough_squares)                          \
  do {                                                                                  \
    if ((sum_squares) != NULL) {                                                        \
      body(rows, width, x, row_scale, scale, y, min, max, sum_squares, NULL);           \
    } else if ((rough_squares) != NULL) {                                               \
      body(rows, width, x, row_scale, scale, y, min, max, NULL, rough_squares);         \
    } else {                                                                            \
      body(rows, width, x, row_scale, scale, y, min, max, NULL, NULL);                  \
    }                                                                                   \
  } while (0)

#endif /* QEQ_KERNELS_COMMON_SUM_SQUARES_H */
