/* Independent references for the quantized ops (qeq/qops.h), written from PyTorch 1.13's
 * definitions element by element: no kernel code, no shared helpers with src/. Tensors are
 * NHWC with the descriptor's pixel stride; outputs are written at y's layout. */
#ifndef QEQ_TESTS_SUPPORT_QOPS_REFERENCE_H
#define QEQ_TESTS_SUPPORT_QOPS_REFERENCE_H

#include <stdint.h>

#include <qeq/qops.h>

/* The integer stored at element (pixel, channel) of t, and writing one. */
int32_t ref_q8_get(const qeq_q8_tensor* t, const void* data, size_t pixel, size_t channel);
void ref_q8_set(const qeq_q8_tensor* t, void* data, size_t pixel, size_t channel, int32_t q);

/* PyTorch's requantization of a real value v to t's qparams: clamp(zp + rne(v * (1/s))). */
int32_t ref_q8_quantize(float v, const qeq_q8_tensor* t);

void ref_q8_add(const qeq_q8_tensor* a, const void* a_data, const qeq_q8_tensor* b,
                const void* b_data, int relu, const qeq_q8_tensor* y, void* y_data);
void ref_q8_cat(size_t count, const qeq_q8_tensor* inputs, const void* const* data,
                qeq_cat_axis axis, const qeq_q8_tensor* y, void* y_data);
/* Output size by PyTorch's formula; 0 when PyTorch would refuse the window. */
size_t ref_pool_output(size_t in, size_t kernel, size_t stride, size_t pad, size_t dilation,
                       int ceil_mode);
void ref_q8_max_pool2d(const qeq_q8_tensor* x, const void* x_data, const qeq_pool2d_params* p,
                       const qeq_q8_tensor* y, void* y_data);
void ref_q8_avg_pool2d(const qeq_q8_tensor* x, const void* x_data, const qeq_pool2d_params* p,
                       const qeq_q8_tensor* y, void* y_data);
void ref_q8_adaptive_avg_pool2d(const qeq_q8_tensor* x, const void* x_data, const qeq_q8_tensor* y,
                                void* y_data);
/* clamp(x, quantize(min_val), quantize(max_val)); an infinite bound is no bound. */
void ref_q8_clamp(const qeq_q8_tensor* x, const void* x_data, float min_val, float max_val,
                  const qeq_q8_tensor* y, void* y_data);

#endif /* QEQ_TESTS_SUPPORT_QOPS_REFERENCE_H */
