/* Internal: the packed convolution object shared by creation and the run driver. */
#ifndef QEQ_SRC_OPS_CONV_INTERNAL_H
#define QEQ_SRC_OPS_CONV_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include <qeq/conv.h>

#include "src/ops/gemm-internal.h"

/* The geometry of a convolution: what the indirection table needs. */
typedef struct qeq_conv_geometry {
  size_t kernel_height, kernel_width;
  size_t stride_height, stride_width;
  size_t padding_height, padding_width;
  size_t dilation_height, dilation_width;
} qeq_conv_geometry;

struct qeq_conv {
  qeq_conv_geometry geometry;
  size_t input_channels, output_channels, groups;
  size_t group_input_channels, group_output_channels;
  size_t k; /* kernel_height * kernel_width * group_input_channels, ordered (ky, kx, c) */
  /* 1x1, stride 1, no padding, one group, quint8: the pixels are the GEMM's rows as they lie */
  int direct;
  /* The group GEMMs are packed for a qu8s8_igemm variant, which reads each output pixel's taps
   * through pointers (the run gathers nothing); tap_bytes = group_input_channels rounded up to
   * its KR, the weights' K per tap. */
  int indirect;
  size_t tap_bytes;
  int input_is_signed;
  uint8_t input_zero_byte; /* the input zero point as the input stores it */
  size_t output_bytes;     /* per element */
  qeq_gemm** group_gemms;  /* groups of them, output channels [g * O_g, (g + 1) * O_g) */
  /* Depthwise (groups = input = output channels) instead of group_gemms: the weights as one
   * GEMM of N = channels, K = taps, packed for the qu8s8_dwconv kernel. */
  qeq_gemm* depthwise;
  /* The indirection table of the last input shape, shared by the runs that use it. */
  pthread_mutex_t table_lock;
  struct qeq_conv_table* table;
};

/* The packed GEMM whose kernel runs the convolution (the first group's for the GEMM path). */
static inline const qeq_gemm* qeq_conv_packed(const qeq_conv* conv) {
  return conv->depthwise ? conv->depthwise : conv->group_gemms[0];
}

/* qeq_conv_output_size with messages starting with fn. */
qeq_status qeq_conv_output_size_for(const char* fn, const qeq_conv* conv, size_t height,
                                    size_t width, size_t* output_height, size_t* output_width);

#endif /* QEQ_SRC_OPS_CONV_INTERNAL_H */
