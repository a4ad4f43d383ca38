/* Packs [n][k] int8 weights into panels of nr columns, k grouped by kr, with the per-column
 * header the kernels' epilogue reads. */
#include "src/ops/gemm-pack.h"

#include <stdint.h>
#include <string.h>

#include "kernels/ukernels.h"

int32_t qeq_gemm_activation_offset(qeq_isa isa) {
  return isa == QEQ_ISA_NEONDOT ? 128 : 0;
}

size_t qeq_gemm_packed_bytes(size_t n, size_t k, size_t nr, size_t kr) {
  const size_t panels = n / nr + (n % nr != 0);
  const size_t groups = k / kr + (k % kr != 0);
  if (groups > (SIZE_MAX - qeq_gemm_panel_header_bytes(nr)) / kr / nr) return 0;
  const size_t panel = qeq_gemm_panel_bytes(k, nr, kr);
  if (panels > SIZE_MAX / panel) return 0;
  return panels * panel;
}

static void put_i32(uint8_t* header, size_t nr, int array, size_t j, int32_t v) {
  memcpy(header + ((size_t)array * nr + j) * sizeof v, &v, sizeof v);
}

static void put_f32(uint8_t* header, size_t nr, int array, size_t j, float v) {
  memcpy(header + ((size_t)array * nr + j) * sizeof v, &v, sizeof v);
}

/* The largest |w[2p]| + |w[2p + 1]| of a row of k weights (an odd k's last pair is one). */
static int32_t pair_bound(const int8_t* row, size_t k) {
  int32_t bound = 0;
  for (size_t kk = 0; kk < k; kk += 2) {
    const int32_t a = row[kk] < 0 ? -row[kk] : row[kk];
    const int32_t b = kk + 1 < k ? (row[kk + 1] < 0 ? -row[kk + 1] : row[kk + 1]) : 0;
    bound = a + b > bound ? a + b : bound;
  }
  return bound;
}

/* One k group of one column: constant sizes for the layouts we have, so the copy inlines. */
static inline void copy_group(uint8_t* dst, const int8_t* src, size_t kr) {
  switch (kr) {
    case 1: memcpy(dst, src, 1); break;
    case 2: memcpy(dst, src, 2); break;
    case 4: memcpy(dst, src, 4); break;
    case 8: memcpy(dst, src, 8); break;
    default: memcpy(dst, src, kr);
  }
}

void qeq_gemm_pack(size_t n, size_t k, const int8_t* w, size_t w_stride, size_t nr, size_t kr,
                   int32_t activation_offset, const qeq_gemm_columns* columns, void* packed) {
  const size_t panel_bytes = qeq_gemm_panel_bytes(k, nr, kr);
  const size_t groups = (k + kr - 1) / kr;
  uint8_t* panel = packed;
  for (size_t j0 = 0; j0 < n; j0 += nr, panel += panel_bytes) {
    const size_t columns_here = n - j0 < nr ? n - j0 : nr;
    memset(panel, 0, qeq_gemm_panel_header_bytes(nr));
    for (size_t j = 0; j < columns_here; j++) {
      const size_t col = j0 + j;
      const int8_t* row = w + col * w_stride;
      /* The API bounds k so that these sums, like the accumulators, stay inside int32. */
      int64_t sum = 0;
      for (size_t kk = 0; kk < k; kk++) sum += row[kk];
      const int32_t zp = columns->w_zero_points ? columns->w_zero_points[col] : 0;
      put_i32(panel, nr, QEQ_GEMM_HEADER_ACC_INIT, j, (int32_t)(activation_offset * sum));
      put_i32(panel, nr, QEQ_GEMM_HEADER_W_SUM, j, (int32_t)(sum - (int64_t)k * zp));
      put_i32(panel, nr, QEQ_GEMM_HEADER_W_ZERO_POINT, j, zp);
      put_i32(panel, nr, QEQ_GEMM_HEADER_BIAS_Q, j, columns->bias_q ? columns->bias_q[col] : 0);
      put_f32(panel, nr, QEQ_GEMM_HEADER_BIAS_F, j, columns->bias_f ? columns->bias_f[col] : 0.0f);
      put_f32(panel, nr, QEQ_GEMM_HEADER_MULTIPLIER, j, columns->multipliers[col]);
      put_i32(panel, nr, QEQ_GEMM_HEADER_PAIR_BOUND, j, pair_bound(row, k));
    }
    /* Written in layout order, group by group, so the stores are sequential; padding in k
     * (past K) and in n (past the last column) is zero. */
    uint8_t* dst = panel + qeq_gemm_panel_header_bytes(nr);
    for (size_t g = 0; g < groups; g++) {
      const size_t k0 = g * kr;
      const size_t bytes = k - k0 < kr ? k - k0 : kr;
      for (size_t j = 0; j < nr; j++, dst += kr) {
        if (j < columns_here && bytes == kr) {
          copy_group(dst, w + (j0 + j) * w_stride + k0, kr);
        } else if (j < columns_here) {
          memcpy(dst, w + (j0 + j) * w_stride + k0, bytes);
          memset(dst + bytes, 0, kr - bytes);
        } else {
          memset(dst, 0, kr);
        }
      }
    }
  }
}
