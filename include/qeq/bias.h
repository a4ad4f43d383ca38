/* qeq: the bias steps of data-free quantization (Nagel et al., 2019): high-bias absorption
 * and analytic bias correction. PyTorch has neither in this form. */
#ifndef QEQ_BIAS_H
#define QEQ_BIAS_H

#include <qeq/layer.h>

#ifdef __cplusplus
extern "C" {
#endif

/* High-bias absorption between first -> (ReLU or nothing) -> second. With beta and gamma the
 * batch norm folded into first (per output channel of first; if CLE scaled first's outputs
 * by 1/s after folding, pass those scales and beta/s, gamma/s are used), each channel moves
 *   c = max(0, beta - 3 |gamma|)          (float32)
 * out of first's bias (b1 -= c) and into second's (b2 += second's weights applied to a
 * constant input c, summed in double, border effects of padding ignored as in the paper).
 * Exact for inputs where first's pre-activation stays >= c, which the 3-sigma rule makes
 * likely. second gets a bias from second_bias_storage (its output channels) if it has none.
 * Errors, with nothing modified: bad descriptors; mismatched channels; first without a bias;
 * a ReLU6 on first (QEQ_ERROR_UNSUPPORTED); NULL or non-finite beta/gamma/scales/biases or
 * a non-finite weight in second; a scale that is zero or negative; a shift that would make
 * either bias non-finite (QEQ_ERROR_NON_FINITE); no bias and no storage for second; storage
 * or biases overlapping each other or a weight. */
QEQ_API qeq_status qeq_absorb_high_bias(qeq_layer* first, qeq_layer* second, const float* beta,
                                        const float* gamma, const float* scales,
                                        float* second_bias_storage);

/* Bias correction: b <- b - (W_q - W) E[x], where quantized_weight holds W_q (the layer's
 * weight quantized and dequantized, same layout) and input_mean E[x] per input channel. The
 * expected output error is computed in double and subtracted in float32. The layer gets a
 * bias from bias_storage (its output channels) if it has none.
 * Errors, with nothing modified: a bad descriptor; NULL arrays; non-finite values in the
 * weight, quantized_weight, input_mean or the bias; no bias and no storage. */
QEQ_API qeq_status qeq_correct_bias(qeq_layer* layer, const float* quantized_weight,
                                    const float* input_mean, float* bias_storage);

#ifdef __cplusplus
}
#endif

#endif /* QEQ_BIAS_H */
