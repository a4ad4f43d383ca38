/* qeq: a description of a Linear, Conv or ConvTranspose layer's parameters, in PyTorch's
 * layouts, for the equalization and folding calls. The caller owns the memory; qeq
 * rewrites weight and bias in place. */
#ifndef QEQ_LAYER_H
#define QEQ_LAYER_H

#include <qeq/shape.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum qeq_layer_kind {
  QEQ_LAYER_LINEAR = 0,           /* weight [out, in] */
  QEQ_LAYER_CONV1D = 1,           /* weight [out, in / groups, k] */
  QEQ_LAYER_CONV2D = 2,           /* weight [out, in / groups, kh, kw] */
  QEQ_LAYER_CONV3D = 3,           /* weight [out, in / groups, kd, kh, kw] */
  QEQ_LAYER_CONV_TRANSPOSE1D = 4, /* weight [in, out / groups, k] */
  QEQ_LAYER_CONV_TRANSPOSE2D = 5, /* weight [in, out / groups, kh, kw] */
  QEQ_LAYER_CONV_TRANSPOSE3D = 6, /* weight [in, out / groups, kd, kh, kw] */
} qeq_layer_kind;

/* The activation fused after the layer (PyTorch's LinearReLU / ConvReLU modules). ReLU6 is
 * recorded so that calls which need a positively homogeneous activation can refuse it. */
typedef enum qeq_activation {
  QEQ_ACTIVATION_NONE = 0,
  QEQ_ACTIVATION_RELU = 1,
  QEQ_ACTIVATION_RELU6 = 2,
} qeq_activation;

typedef struct qeq_layer {
  qeq_layer_kind kind;
  qeq_shape weight_shape; /* PyTorch's layout for the kind, see above */
  float* weight;          /* dense row-major, weight_shape's elements */
  float* bias;            /* out_channels values, or NULL for a layer without bias */
  size_t groups;          /* 1 for Linear; depthwise conv: groups == in == out */
  qeq_activation activation;
} qeq_layer;

/* Fills *layer from its parts (bias may be NULL) and checks it as qeq_layer_channels does.
 * *layer is written only on success. */
QEQ_API qeq_status qeq_layer_init(qeq_layer* layer, qeq_layer_kind kind, size_t ndim,
                                  const size_t* weight_dims, float* weight, float* bias,
                                  size_t groups, qeq_activation activation);

/* Input and output channel counts of a layer (either pointer may be NULL). Checks the
 * descriptor: a known kind and activation, a weight of the kind's rank (Linear 2, Conv 3 to
 * 5), a non-NULL weight, groups >= 1 (1 for Linear) dividing the grouped dimension
 * (Conv: out; ConvTranspose: in), no zero-sized dimension. */
QEQ_API qeq_status qeq_layer_channels(const qeq_layer* layer, size_t* in_channels,
                                      size_t* out_channels);

#ifdef __cplusplus
}
#endif

#endif /* QEQ_LAYER_H */
