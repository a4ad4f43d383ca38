/* int8 convolution: checks the geometry, reorders PyTorch's [O][C_g][kh][kw] weights to
 * GEMM rows ordered (ky, kx, c) (a tap is then a contiguous run of C_g channels in NHWC), and
 * packs one GEMM per group through the GEMM's own checks and requantization constants. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <qeq/conv.h>

#include "src/base/error.h"
#include "src/ops/conv-indirection.h"
#include "src/ops/conv-internal.h"

qeq_conv_config qeq_conv_config_default(void) {
  const qeq_gemm_config gemm = qeq_gemm_config_default();
  qeq_conv_config config;
  memset(&config, 0, sizeof config);
  config.groups = 1;
  config.kernel_height = config.kernel_width = 1;
  config.stride_height = config.stride_width = 1;
  config.dilation_height = config.dilation_width = 1;
  config.quant = gemm.quant;
  return config;
}

/* The output extent of one spatial dimension (`axis` "height" or "width"), 0 when the padded
 * input is smaller than the dilated kernel. A padded input or dilated kernel beyond size_t is
 * an overflow, not a small input. */
static qeq_status output_extent(const char* fn, const char* axis, size_t input, size_t kernel,
                                size_t stride, size_t padding, size_t dilation, size_t* extent) {
  if (padding > (SIZE_MAX - input) / 2) {
    return qeq_fail(QEQ_ERROR_SIZE_OVERFLOW, "%s: %s %zu + 2 x padding_%s %zu overflows size_t", fn,
                    axis, input, axis, padding);
  }
  if (kernel - 1 > (SIZE_MAX - 1) / dilation) {
    return qeq_fail(QEQ_ERROR_SIZE_OVERFLOW,
                    "%s: the dilated kernel_%s, (%zu - 1) x dilation_%s %zu + 1, overflows size_t",
                    fn, axis, kernel, axis, dilation);
  }
  const size_t padded = input + 2 * padding;
  const size_t span = (kernel - 1) * dilation + 1;
  *extent = padded < span ? 0 : (padded - span) / stride + 1;
  return QEQ_OK;
}

static qeq_status positive(const char* fn, const char* name, size_t v) {
  if (v == 0) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: config->%s is 0", fn, name);
  return QEQ_OK;
}

static qeq_status check_geometry(const char* fn, const qeq_conv_config* c) {
  const struct {
    const char* name;
    size_t value;
  } sizes[] = {{"input_channels", c->input_channels},
               {"output_channels", c->output_channels},
               {"groups", c->groups},
               {"kernel_height", c->kernel_height},
               {"kernel_width", c->kernel_width},
               {"stride_height", c->stride_height},
               {"stride_width", c->stride_width},
               {"dilation_height", c->dilation_height},
               {"dilation_width", c->dilation_width}};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    const qeq_status status = positive(fn, sizes[i].name, sizes[i].value);
    if (status != QEQ_OK) return status;
  }
  if (c->input_channels % c->groups != 0 || c->output_channels % c->groups != 0) {
    return qeq_fail(QEQ_ERROR_SHAPE_MISMATCH,
                    "%s: config->groups %zu does not divide input_channels %zu and "
                    "output_channels %zu",
                    fn, c->groups, c->input_channels, c->output_channels);
  }
  const size_t group_in = c->input_channels / c->groups;
  if (c->kernel_height > SIZE_MAX / c->kernel_width ||
      group_in > SIZE_MAX / (c->kernel_height * c->kernel_width) ||
      c->output_channels > SIZE_MAX / (group_in * c->kernel_height * c->kernel_width)) {
    return qeq_fail(QEQ_ERROR_SIZE_OVERFLOW, "%s: the weights of %zu x %zu x %zu x %zu overflow",
                    fn, c->output_channels, group_in, c->kernel_height, c->kernel_width);
  }
  if (c->weights == NULL) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: config->weights is NULL", fn);
  }
  return QEQ_OK;
}

/* GEMM row o = PyTorch's w[o] with k ordered (ky, kx, c) instead of (c, ky, kx), each tap's
 * group_in channels followed by zeros up to tap_bytes (the indirect kernels' K per tap). */
static void reorder_weights(const qeq_conv_config* c, size_t group_in, size_t tap_bytes,
                            int8_t* rows) {
  const size_t taps = c->kernel_height * c->kernel_width;
  const size_t k = taps * group_in;
  memset(rows, 0, c->output_channels * taps * tap_bytes);
  for (size_t o = 0; o < c->output_channels; o++) {
    const int8_t* src = c->weights + o * k;
    int8_t* dst = rows + o * taps * tap_bytes;
    for (size_t ci = 0; ci < group_in; ci++) {
      for (size_t t = 0; t < taps; t++) dst[t * tap_bytes + ci] = src[ci * taps + t];
    }
  }
}

/* The indirect kernel, when the convolution can use it: the qu8s8_igemm variant of the int8
 * configuration dispatch selects now (NULL where its ISA has none, and the run gathers), for
 * quint8 input (qint8's flip to uint8 happens in the gathered copy), weights without zero
 * points (their row sums too), and channels per tap that pad to its KR with at most 1/8
 * wasted (16 and more, or a multiple of KR), and for NEON a multiple of 8: its kernels read
 * 8 channels per row and step, and a tap's tail, read apart for every panel, costs more
 * instructions than gathering the tile once (docs/aarch64.md). NULL otherwise. */
static const qeq_variant* indirect_variant(const qeq_conv_config* config, size_t group_in) {
  if (config->quant.input_dtype == QEQ_DTYPE_QINT8) return NULL;
  for (size_t j = 0; config->quant.weight_zero_points && j < config->quant.weight_qparam_count;
       j++) {
    if (config->quant.weight_zero_points[j] != 0) return NULL;
  }
  const qeq_variant* igemm = qeq_dispatch_int8()->igemm;
  if (igemm == NULL) return NULL;
  if ((igemm->isa == QEQ_ISA_NEON || igemm->isa == QEQ_ISA_NEONDOT) && group_in % 8 != 0) {
    return NULL;
  }
  return group_in % igemm->kr == 0 || group_in >= 16 ? igemm : NULL;
}

static qeq_gemm_config gemm_config_of(const qeq_conv_config* c, size_t k, const int8_t* rows) {
  qeq_gemm_config g = qeq_gemm_config_default();
  g.n = c->output_channels;
  g.k = k;
  g.weights = rows;
  g.quant = c->quant;
  return g;
}

static const char k_name[] = "kernel_height x kernel_width x input_channels / groups";

/* One GEMM per group over the reordered weight rows, packed for the indirect kernel when the
 * convolution can use it (not for the direct 1x1 case, which is a plain GEMM). */
static qeq_status pack_groups(const char* fn, const qeq_conv_config* config, size_t k, int direct,
                              qeq_conv* c) {
  const size_t groups = config->groups;
  const size_t group_in = config->input_channels / groups;
  const size_t taps = config->kernel_height * config->kernel_width;
  const qeq_variant* indirect = direct ? NULL : indirect_variant(config, group_in);
  const size_t tap_bytes = indirect ? qeq_igemm_tap_bytes(group_in, indirect->kr) : group_in;
  if (tap_bytes != group_in && taps > SIZE_MAX / tap_bytes / config->output_channels) {
    return qeq_fail(QEQ_ERROR_SIZE_OVERFLOW, "%s: the weights of %zu x %zu x %zu taps overflow", fn,
                    config->output_channels, tap_bytes, taps);
  }
  const size_t packed_k = taps * tap_bytes;
  int8_t* rows = malloc(config->output_channels * packed_k);
  qeq_gemm** gemms = calloc(groups, sizeof *gemms);
  if (rows == NULL || gemms == NULL) {
    free(rows), free(gemms);
    return qeq_fail(QEQ_ERROR_OUT_OF_MEMORY, "%s: cannot allocate %zu x %zu weights", fn,
                    config->output_channels, k);
  }
  reorder_weights(config, group_in, tap_bytes, rows);
  const qeq_gemm_config gemm_config = gemm_config_of(config, packed_k, rows);
  const qeq_status status =
      indirect ? qeq_gemm_create_groups_for(fn, k_name, &gemm_config, groups, indirect, gemms)
               : qeq_gemm_create_groups(fn, k_name, &gemm_config, groups, gemms);
  free(rows);
  if (status != QEQ_OK) {
    free(gemms);
    return status;
  }
  c->group_gemms = gemms;
  c->indirect = indirect != NULL;
  c->tap_bytes = tap_bytes;
  return QEQ_OK;
}

/* Depthwise with one output channel per input channel (a channel multiplier above 1 takes the
 * grouped GEMM path). */
static int is_depthwise(const qeq_conv_config* config) {
  return config->groups > 1 && config->groups == config->input_channels &&
         config->groups == config->output_channels;
}

/* PyTorch's [C][1][kh][kw] weights as one GEMM of N = C columns and K = taps, with every
 * group's constants, packed for the dispatched depthwise kernel. The taps go column by column
 * (kx, ky): then the taps of output pixel x + 1 are those of pixel x shifted by stride_width
 * input columns, and the run path hands a row's pixels one shared array of column pointers
 * (conv-run-depthwise.c). */
static qeq_status pack_depthwise(const char* fn, const qeq_conv_config* config, size_t k,
                                 qeq_conv* c) {
  const size_t kh = config->kernel_height, kw = config->kernel_width;
  int8_t* columns = malloc(config->output_channels * k);
  if (columns == NULL) {
    return qeq_fail(QEQ_ERROR_OUT_OF_MEMORY, "%s: cannot allocate %zu x %zu weights", fn,
                    config->output_channels, k);
  }
  for (size_t ch = 0; ch < config->output_channels; ch++) {
    const int8_t* src = config->weights + ch * k;
    for (size_t ky = 0; ky < kh; ky++) {
      for (size_t kx = 0; kx < kw; kx++) columns[ch * k + kx * kh + ky] = src[ky * kw + kx];
    }
  }
  const qeq_gemm_config gemm_config = gemm_config_of(config, k, columns);
  const qeq_status status = qeq_gemm_create_groups_for(fn, k_name, &gemm_config, 1,
                                                       qeq_dispatch_int8()->dwconv, &c->depthwise);
  free(columns);
  return status;
}

qeq_status qeq_conv_create(const qeq_conv_config* config, qeq_conv** conv) {
  static const char fn[] = "qeq_conv_create";
  if (config == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: config is NULL", fn);
  if (conv == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: conv is NULL", fn);
  qeq_status status = check_geometry(fn, config);
  if (status != QEQ_OK) return status;

  const size_t groups = config->groups;
  const size_t group_in = config->input_channels / groups;
  const size_t k = config->kernel_height * config->kernel_width * group_in;
  qeq_conv* c = calloc(1, sizeof *c);
  if (c == NULL || pthread_mutex_init(&c->table_lock, NULL)) {
    free(c);
    return qeq_fail(QEQ_ERROR_OUT_OF_MEMORY, "%s: cannot allocate the convolution", fn);
  }
  const int direct = groups == 1 && config->quant.input_dtype != QEQ_DTYPE_QINT8 && k == group_in &&
                     config->stride_height == 1 && config->stride_width == 1 &&
                     config->padding_height == 0 && config->padding_width == 0;
  status = is_depthwise(config) ? pack_depthwise(fn, config, k, c)
                                : pack_groups(fn, config, k, direct, c);
  if (status != QEQ_OK) {
    pthread_mutex_destroy(&c->table_lock);
    free(c);
    return status;
  }
  c->geometry =
      (qeq_conv_geometry){config->kernel_height,   config->kernel_width,   config->stride_height,
                          config->stride_width,    config->padding_height, config->padding_width,
                          config->dilation_height, config->dilation_width};
  c->input_channels = config->input_channels;
  c->output_channels = config->output_channels;
  c->groups = groups;
  c->group_input_channels = group_in;
  c->group_output_channels = config->output_channels / groups;
  c->k = k;
  c->input_is_signed = config->quant.input_dtype == QEQ_DTYPE_QINT8;
  c->input_zero_byte = (uint8_t)config->quant.input_zero_point;
  c->direct = direct;
  c->output_bytes = config->quant.output == QEQ_GEMM_OUTPUT_QUANTIZED ? 1 : 4;
  *conv = c;
  return QEQ_OK;
}

void qeq_conv_destroy(qeq_conv* conv) {
  if (conv == NULL) return;
  for (size_t g = 0; conv->group_gemms && g < conv->groups; g++) {
    qeq_gemm_destroy(conv->group_gemms[g]);
  }
  qeq_gemm_destroy(conv->depthwise);
  free(conv->group_gemms);
  free(conv->table); /* no run holds it any more */
  pthread_mutex_destroy(&conv->table_lock);
  free(conv);
}

const char* qeq_conv_kernel_name(const qeq_conv* conv) {
  return conv ? qeq_gemm_kernel_name(qeq_conv_packed(conv)) : NULL;
}

qeq_status qeq_conv_path_tiles(const qeq_conv* conv, uint64_t* fast_tiles, uint64_t* exact_tiles) {
  static const char fn[] = "qeq_conv_path_tiles";
  if (conv == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: conv is NULL", fn);
  if (fast_tiles == NULL) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: fast_tiles is NULL", fn);
  }
  if (exact_tiles == NULL) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: exact_tiles is NULL", fn);
  }
  uint64_t fast = 0, exact = 0;
  const size_t gemms = conv->depthwise ? 1 : conv->groups;
  for (size_t g = 0; g < gemms; g++) {
    const qeq_gemm* gemm = conv->depthwise ? conv->depthwise : conv->group_gemms[g];
    uint64_t f = 0, e = 0;
    (void)qeq_gemm_path_tiles(gemm, &f, &e); /* cannot fail: no NULL here */
    fast += f, exact += e;
  }
  *fast_tiles = fast, *exact_tiles = exact;
  return QEQ_OK;
}

qeq_status qeq_conv_output_size(const qeq_conv* conv, size_t height, size_t width,
                                size_t* output_height, size_t* output_width) {
  return qeq_conv_output_size_for("qeq_conv_output_size", conv, height, width, output_height,
                                  output_width);
}

qeq_status qeq_conv_output_size_for(const char* fn, const qeq_conv* conv, size_t height,
                                    size_t width, size_t* output_height, size_t* output_width) {
  if (conv == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: conv is NULL", fn);
  if (output_height == NULL || output_width == NULL) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: output_height or output_width is NULL", fn);
  }
  if (height == 0 || width == 0) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: height %zu or width %zu is 0", fn, height,
                    width);
  }
  const qeq_conv_geometry* g = &conv->geometry;
  size_t oh = 0, ow = 0;
  qeq_status status = output_extent(fn, "height", height, g->kernel_height, g->stride_height,
                                    g->padding_height, g->dilation_height, &oh);
  if (status == QEQ_OK) {
    status = output_extent(fn, "width", width, g->kernel_width, g->stride_width, g->padding_width,
                           g->dilation_width, &ow);
  }
  if (status != QEQ_OK) return status;
  if (oh == 0 || ow == 0) {
    return qeq_fail(QEQ_ERROR_SHAPE_MISMATCH,
                    "%s: an input of %zu x %zu is smaller than the %zu x %zu kernel (dilation "
                    "%zu x %zu, padding %zu x %zu)",
                    fn, height, width, g->kernel_height, g->kernel_width, g->dilation_height,
                    g->dilation_width, g->padding_height, g->padding_width);
  }
  *output_height = oh, *output_width = ow;
  return QEQ_OK;
}
