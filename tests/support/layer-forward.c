#include "tests/support/layer-forward.h"

#include <stdlib.h>

size_t activation_numel(const activation* a) {
  return a->channels * a->spatial[0] * a->spatial[1] * a->spatial[2];
}

void activation_free(activation* a) {
  free(a->data);
  a->data = NULL;
}

static int is_transpose(qeq_layer_kind kind) {
  return kind >= QEQ_LAYER_CONV_TRANSPOSE1D;
}

void layer_forward(const qeq_layer* layer, const activation* x, activation* y) {
  const size_t* dims = layer->weight_shape.dims;
  const size_t spatial_dims = layer->weight_shape.ndim - 2;
  size_t k[3] = {1, 1, 1};
  /* Right-align the kernel: a Conv1d kernel [k] acts on the last spatial dim. */
  for (size_t d = 0; d < spatial_dims; d++) k[3 - spatial_dims + d] = dims[2 + d];
  const size_t groups = layer->groups;
  const int transpose = is_transpose(layer->kind);
  const size_t in = transpose ? dims[0] : dims[1] * groups;
  const size_t out = transpose ? dims[1] * groups : dims[0];
  const size_t in_g = in / groups, out_g = out / groups;
  y->channels = out;
  for (int d = 0; d < 3; d++) {
    y->spatial[d] = transpose ? x->spatial[d] + k[d] - 1 : x->spatial[d] - k[d] + 1;
  }
  const size_t plane = y->spatial[0] * y->spatial[1] * y->spatial[2];
  y->data = calloc(out * plane, sizeof(double));
  const size_t kernel = k[0] * k[1] * k[2];
  const size_t* xs = x->spatial;
  for (size_t g = 0; g < groups; g++) {
    for (size_t ol = 0; ol < out_g; ol++) {
      for (size_t il = 0; il < in_g; il++) {
        const size_t o = g * out_g + ol, i = g * in_g + il;
        const float* w =
            layer->weight + (transpose ? (i * out_g + ol) * kernel : (o * in_g + il) * kernel);
        for (size_t kz = 0; kz < k[0]; kz++)
          for (size_t ky = 0; ky < k[1]; ky++)
            for (size_t kx = 0; kx < k[2]; kx++) {
              const double wv = w[(kz * k[1] + ky) * k[2] + kx];
              /* Conv: y[o, p] += w * x[i, p + k]; ConvTranspose: y[o, p + k] += w * x[i, p]. */
              const size_t* loop = transpose ? xs : y->spatial;
              for (size_t z = 0; z < loop[0]; z++)
                for (size_t yy = 0; yy < loop[1]; yy++)
                  for (size_t xx = 0; xx < loop[2]; xx++) {
                    size_t xi[3] = {z, yy, xx}, yi[3] = {z, yy, xx};
                    size_t* shifted = transpose ? yi : xi;
                    shifted[0] += kz, shifted[1] += ky, shifted[2] += kx;
                    const double xv =
                        x->data[((i * xs[0] + xi[0]) * xs[1] + xi[1]) * xs[2] + xi[2]];
                    y->data[((o * y->spatial[0] + yi[0]) * y->spatial[1] + yi[1]) * y->spatial[2] +
                            yi[2]] += wv * xv;
                  }
            }
      }
    }
  }
  for (size_t o = 0; o < out; o++) {
    for (size_t p = 0; p < plane; p++) {
      double* v = &y->data[o * plane + p];
      if (layer->bias != NULL) *v += layer->bias[o];
      if (layer->activation == QEQ_ACTIVATION_RELU && *v < 0) *v = 0;
      if (layer->activation == QEQ_ACTIVATION_RELU6) *v = *v < 0 ? 0 : (*v > 6 ? 6 : *v);
    }
  }
}
