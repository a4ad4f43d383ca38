/* Layer descriptors: validation, and where the input and output channels lie. */
#include "src/layers/layer.h"

#include "src/base/error.h"
#include "src/base/shape.h"
#include "src/base/workspace.h"
#include "src/tensor/ranges.h"
#include "src/tensor/scale.h"

static size_t kind_rank(qeq_layer_kind kind) {
  switch (kind) {
    case QEQ_LAYER_LINEAR: return 2;
    case QEQ_LAYER_CONV1D:
    case QEQ_LAYER_CONV_TRANSPOSE1D: return 3;
    case QEQ_LAYER_CONV2D:
    case QEQ_LAYER_CONV_TRANSPOSE2D: return 4;
    case QEQ_LAYER_CONV3D:
    case QEQ_LAYER_CONV_TRANSPOSE3D: return 5;
  }
  return 0;
}

static int is_transpose(qeq_layer_kind kind) {
  return kind == QEQ_LAYER_CONV_TRANSPOSE1D || kind == QEQ_LAYER_CONV_TRANSPOSE2D ||
         kind == QEQ_LAYER_CONV_TRANSPOSE3D;
}

qeq_status qeq_layer_check(const char* fn, const char* name, const qeq_layer* layer,
                           size_t* in_channels, size_t* out_channels) {
  if (layer == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: %s is NULL", fn, name);
  const size_t rank = kind_rank(layer->kind);
  if (rank == 0) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: %s kind %d is not a qeq_layer_kind", fn, name,
                    (int)layer->kind);
  }
  if ((int)layer->activation < QEQ_ACTIVATION_NONE ||
      (int)layer->activation > QEQ_ACTIVATION_RELU6) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: %s activation %d is not a qeq_activation", fn,
                    name, (int)layer->activation);
  }
  size_t numel;
  qeq_status status = qeq_shape_check(fn, &layer->weight_shape, &numel);
  if (status != QEQ_OK) return status;
  const size_t* dims = layer->weight_shape.dims;
  if (layer->weight_shape.ndim != rank) {
    return qeq_fail(QEQ_ERROR_SHAPE_MISMATCH, "%s: %s weight has %zu dims, its kind needs %zu", fn,
                    name, layer->weight_shape.ndim, rank);
  }
  if (layer->weight == NULL) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: %s weight is NULL", fn, name);
  }
  if (numel == 0) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: %s weight has a zero-sized dimension", fn,
                    name);
  }
  const size_t groups = layer->groups;
  if (groups == 0 || (layer->kind == QEQ_LAYER_LINEAR && groups != 1)) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: %s groups %zu (Linear: 1; Conv: >= 1)", fn,
                    name, groups);
  }
  if (dims[0] % groups != 0) {
    return qeq_fail(QEQ_ERROR_SHAPE_MISMATCH,
                    "%s: %s weight dim 0 (%zu) is not a multiple of "
                    "groups %zu",
                    fn, name, dims[0], groups);
  }
  /* dims[1] * groups cannot overflow: it is at most numel. */
  size_t in, out;
  if (is_transpose(layer->kind)) {
    in = dims[0];
    out = dims[1] * groups;
  } else {
    out = dims[0];
    in = dims[1] * groups;
  }
  if (in_channels != NULL) *in_channels = in;
  if (out_channels != NULL) *out_channels = out;
  return QEQ_OK;
}

qeq_status qeq_layer_channels(const qeq_layer* layer, size_t* in_channels, size_t* out_channels) {
  return qeq_layer_check("qeq_layer_channels", "layer", layer, in_channels, out_channels);
}

qeq_status qeq_layer_init(qeq_layer* layer, qeq_layer_kind kind, size_t ndim,
                          const size_t* weight_dims, float* weight, float* bias, size_t groups,
                          qeq_activation activation) {
  static const char fn[] = "qeq_layer_init";
  if (layer == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: layer is NULL", fn);
  qeq_layer candidate = {
      .kind = kind, .weight = weight, .bias = bias, .groups = groups, .activation = activation};
  qeq_status status = qeq_shape_init_for(fn, &candidate.weight_shape, ndim, weight_dims);
  if (status != QEQ_OK) return status;
  status = qeq_layer_check(fn, "layer", &candidate, NULL, NULL);
  if (status != QEQ_OK) return status;
  *layer = candidate;
  return QEQ_OK;
}

size_t qeq_layer_weight_bytes(const qeq_layer* layer) {
  size_t numel = 1;
  for (size_t d = 0; d < layer->weight_shape.ndim; d++) numel *= layer->weight_shape.dims[d];
  return numel * sizeof(float);
}

void qeq_layer_channel_set(const qeq_layer* layer, int produces, qeq_channel_set* set) {
  const size_t* dims = layer->weight_shape.dims;
  size_t kernel = 1;
  for (size_t d = 2; d < layer->weight_shape.ndim; d++) kernel *= dims[d];
  const size_t groups = layer->groups;
  /* The grouped dimension is axis 0 (Conv: out; ConvTranspose: in). Channels along it span
   * the whole weight; channels along axis 1 repeat in every group's block. */
  const int along_axis0 = produces != is_transpose(layer->kind);
  const size_t rows = along_axis0 ? dims[0] : dims[0] / groups;
  set->blocks = along_axis0 ? 1 : groups;
  set->axis = along_axis0 ? 0 : 1;
  set->per_block = along_axis0 ? dims[0] : dims[1];
  set->channels = set->blocks * set->per_block;
  set->block_elements = rows * dims[1] * kernel;
  const size_t block_dims[3] = {rows, dims[1], kernel};
  qeq_shape_init(&set->block_shape, 3, block_dims);
}

/* One block of the set as the kernels' [outer, channels, inner] view. */
static qeq_axis_view block_view(const qeq_channel_set* set) {
  const size_t rows = set->block_shape.dims[0], cols = set->block_shape.dims[1];
  const size_t kernel = set->block_shape.dims[2];
  const qeq_axis_view axis0 = {1, rows, cols * kernel, rows * cols * kernel};
  const qeq_axis_view axis1 = {rows, cols, kernel, rows * cols * kernel};
  return set->axis == 0 ? axis0 : axis1;
}

size_t qeq_channel_set_workspace_floats(const qeq_channel_set* set) {
  const qeq_axis_view v = block_view(set);
  const size_t minmax = qeq_minmax_workspace_floats(&v), scale = qeq_scale_workspace_floats(&v);
  return minmax > scale ? minmax : scale;
}

void qeq_channel_set_minmax(const qeq_channel_set* set, const float* weight, float* min, float* max,
                            float* work) {
  qeq_channel_set_minmax_squares(set, weight, min, max, NULL, work);
}

void qeq_channel_set_minmax_squares(const qeq_channel_set* set, const float* weight, float* min,
                                    float* max, double* sum_squares, float* work) {
  const qeq_axis_view v = block_view(set);
  for (size_t g = 0; g < set->blocks; g++) {
    const size_t first = g * set->per_block;
    qeq_minmax_squares_view(&v, weight + g * set->block_elements, min + first, max + first,
                            sum_squares != NULL ? sum_squares + first : NULL, work);
  }
}

void qeq_channel_set_scale(const qeq_channel_set* set, float* weight, const float* scales,
                           float* work) {
  qeq_channel_set_scale_to(set, weight, scales, weight, work);
}

void qeq_channel_set_scale_to(const qeq_channel_set* set, const float* weight, const float* scales,
                              float* out, float* work) {
  const qeq_axis_view v = block_view(set);
  for (size_t g = 0; g < set->blocks; g++) {
    const size_t offset = g * set->block_elements;
    qeq_scale_view(&v, weight + offset, scales + g * set->per_block, out + offset, work);
  }
}

void qeq_layer_constant_response(const qeq_layer* layer, const float* a, const float* b,
                                 const float* value, double* out) {
  const size_t* dims = layer->weight_shape.dims;
  size_t kernel = 1;
  for (size_t d = 2; d < layer->weight_shape.ndim; d++) kernel *= dims[d];
  const size_t groups = layer->groups;
  const int transpose = is_transpose(layer->kind);
  const size_t in = transpose ? dims[0] : dims[1] * groups;
  const size_t out_count = transpose ? dims[1] * groups : dims[0];
  const size_t in_g = in / groups, out_g = out_count / groups;
  for (size_t o = 0; o < out_count; o++) out[o] = 0.0;
  for (size_t g = 0; g < groups; g++) {
    for (size_t il = 0; il < in_g; il++) {
      const double v = value[g * in_g + il];
      for (size_t ol = 0; ol < out_g; ol++) {
        /* Conv: W[o, il, k]; ConvTranspose: W[i, ol, k]. */
        const size_t offset = transpose ? ((g * in_g + il) * out_g + ol) * kernel
                                        : ((g * out_g + ol) * in_g + il) * kernel;
        double sum = 0.0;
        for (size_t k = 0; k < kernel; k++) {
          sum += (double)a[offset + k] - (b != NULL ? (double)b[offset + k] : 0.0);
        }
        out[g * out_g + ol] += sum * v;
      }
    }
  }
}
