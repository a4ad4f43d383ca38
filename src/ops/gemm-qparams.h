/* Internal: PyTorch's activation qparams for dynamic quantization. */
#ifndef QEQ_SRC_OPS_GEMM_QPARAMS_H
#define QEQ_SRC_OPS_GEMM_QPARAMS_H

#include <stdint.h>

/* quant_utils::ChooseQuantizationParams(min, max, 0, 255, preserve_sparsity = false,
 * force_scale_power_of_two = false, reduce_range) of PyTorch 1.13, for finite min <= max.
 * The scale is returned in double, as computed: oneDNN's engine takes its reciprocal in
 * double, QNNPACK rounds it to float first. */
void qeq_choose_qparams_u8(float min, float max, int reduce_range, double* scale,
                           int32_t* zero_point);

#endif /* QEQ_SRC_OPS_GEMM_QPARAMS_H */
