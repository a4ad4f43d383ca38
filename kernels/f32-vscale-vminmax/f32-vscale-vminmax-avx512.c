#include "kernels/common/scale-vminmax-avx512.h"
#include "kernels/common/x86.h"
#include "kernels/ukernels.h"

void QEQ_X86_KERNEL(qeq_f32_vscale_vminmax_ukernel__avx512)(size_t rows, size_t width,
                                                            const float* x, const float* scale,
                                                            float* y, float* acc_min,
                                                            float* acc_max,
                                                            double* acc_sum_squares) {
  scale_vminmax(rows, width, x, scale, y, acc_min, acc_max, acc_sum_squares, 1);
}
