/* Micro-kernel signatures and the prototypes of every registered variant.
 *
 * Canonical problem: a dense tensor seen as [outer, channels, inner] (row-major), or as
 * `rows` rows of `width` used elements each `stride` elements apart. Sizes are in elements.
 * Kernels never allocate, never print, and never touch memory outside the described
 * elements. Callers guarantee every size is >= 1 and the products fit in size_t. */
#ifndef QEQ_KERNELS_UKERNELS_H
#define QEQ_KERNELS_UKERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/families.h"
#include "kernels/registry-macros.h"

/* min[c], max[c] over x[(o * channels + c) * inner + i] for all o < outer, i < inner.
 * min is exact, NaN if the channel holds a NaN; -0.0 orders below +0.0. max is exact under
 * the same zero rule whenever min is not NaN (callers turn a NaN min into NaN max).
 * sum_squares (NULL: not wanted) gets each channel's sum of squares in double, each run in
 * the lane order of kernels/common/sum-squares.h, the runs added in order of o. */
typedef void qeq_f32_rminmax_ukernel_fn(size_t outer, size_t channels, size_t inner, const float* x,
                                        float* min, float* max, double* sum_squares);

/* acc_min[j] = min(acc_min[j], x[r * stride + j]) and acc_max likewise for r < rows,
 * j < width, with the rules of qeq_f32_rminmax_ukernel_fn. acc_sum_squares (NULL: not
 * wanted) gets x[r * stride + j]^2 added in double, row by row in order of r. */
typedef void qeq_f32_vminmax_ukernel_fn(size_t rows, size_t width, size_t stride, const float* x,
                                        float* acc_min, float* acc_max, double* acc_sum_squares);

/* y[(o * channels + c) * inner + i] = x[same] * scale[c]. y == x is allowed (in place). */
typedef void qeq_f32_rscale_ukernel_fn(size_t outer, size_t channels, size_t inner, const float* x,
                                       const float* scale, float* y);

/* y[r * stride + j] = x[r * stride + j] * scale[j] for r < rows, j < width. y == x allowed. */
typedef void qeq_f32_vscale_ukernel_fn(size_t rows, size_t width, size_t stride, const float* x,
                                       const float* scale, float* y);

/* y[r * width + j] = (x[same] * row_scale[r]) * scale[j] for r < rows, j < width (two
 * roundings, in that order; rows back to back; y == x allowed), with min[r] and max[r] of y's
 * row r and one of two sums of its squares: sum_squares[r] (non-NULL) as f32_rminmax gives it
 * (in double, in its lane order: the same bits on every ISA), else rough_squares[r] (non-NULL)
 * in float, in any order, each square passing through at most `width` roundings (its own and the
 * additions), so within width * 2^-24 / (1 - width * 2^-24) of the exact sum relatively, plus
 * width * 2^-149 for underflow, unless it overflowed to +Inf; both NULL: no sums. One pass where
 * f32_rscale, f32_vscale then f32_rminmax would read the rows three times. No product may be NaN
 * (finite x and scales suffice): the AVX-512 variant's min/max would drop a NaN. */
typedef void qeq_f32_vscale_rminmax_ukernel_fn(size_t rows, size_t width, const float* x,
                                               const float* row_scale, const float* scale, float* y,
                                               float* min, float* max, double* sum_squares,
                                               float* rough_squares);

/* y[r * width + j] = x[same] * scale[r] for r < rows, j < width (rows back to back; y == x
 * allowed; y NULL: the products are not stored), with y's rows then added to acc_min /
 * acc_max / acc_sum_squares (NULL: not wanted) as f32_vminmax(rows, width, width, y, ...) adds
 * them. One pass where f32_rscale then f32_vminmax would read the rows twice. No product may
 * be NaN, as above. */
typedef void qeq_f32_rscale_vminmax_ukernel_fn(size_t rows, size_t width, const float* x,
                                               const float* scale, float* y, float* acc_min,
                                               float* acc_max, double* acc_sum_squares);

/* The same with per-column scales: y[r * width + j] = x[same] * scale[j] (y NULL: not
 * stored). One pass where f32_vscale then f32_vminmax would read the rows twice. No product
 * may be NaN. */
typedef void qeq_f32_vscale_vminmax_ukernel_fn(size_t rows, size_t width, const float* x,
                                               const float* scale, float* y, float* acc_min,
                                               float* acc_max, double* acc_sum_squares);

/* Per-channel quantization parameters, prepared by the API layer: lo = qmin - zero_point and
 * hi = qmax - zero_point as floats (exact: small integers). */
typedef struct qeq_q8_quant_params {
  float inv_scale; /* 1.0f / scale, rounded to float32 as PyTorch computes it */
  float lo;
  float hi;
  int32_t zero_point;
} qeq_q8_quant_params;

/* The one way to fill qeq_q8_quant_params: `multiplier` is 1.0f / scale for quantization (as
 * PyTorch rounds it) or the requantization multiplier; results land in [qmin, qmax]. */
static inline qeq_q8_quant_params qeq_q8_quant_params_make(float multiplier, int32_t zero_point,
                                                           int32_t qmin, int32_t qmax) {
  const qeq_q8_quant_params p = {multiplier, (float)(qmin - zero_point), (float)(qmax - zero_point),
                                 zero_point};
  return p;
}

/* `stream` (in this family, f32_fq_rquant and s32_q8_rrequant): nonzero lets a variant write
 * y with non-temporal stores, which skip reading the destination lines first; the caller
 * chooses it for outputs much larger than the caches (src/base/tuning.h). The results are the
 * same either way.
 *
 * y[(o * channels + c) * inner + i] = zero_point + round_half_even(clamp(v, lo, hi)) for
 * v = x[same] * inv_scale of channel c (v = 0 when it is NaN), stored as the low byte of the
 * result (the uint8 or the two's-complement int8 pattern). Rounding uses the current
 * rounding mode, round-to-nearest-even by default, on every ISA. */
typedef void qeq_f32_q8_rquant_ukernel_fn(size_t outer, size_t channels, size_t inner,
                                          const float* x, const qeq_q8_quant_params* params,
                                          int stream, uint8_t* y);

/* Per-channel fake-quantization parameters: lo = quant_min - zero_point and
 * hi = quant_max - zero_point as floats. */
typedef struct qeq_fq_params {
  float inv_scale; /* 1.0f / scale */
  float lo;
  float hi;
  float scale;
} qeq_fq_params;

/* The one way to fill qeq_fq_params, from the scale and the levels [quant_min, quant_max]. */
static inline qeq_fq_params qeq_fq_params_make(float scale, int32_t zero_point, int32_t quant_min,
                                               int32_t quant_max) {
  const qeq_fq_params p = {1.0f / scale, (float)(quant_min - zero_point),
                           (float)(quant_max - zero_point), scale};
  return p;
}

/* y[(o * channels + c) * inner + i] = (round_half_even(clamp(v, lo, hi)) + 0) * scale for
 * v = x[same] * inv_scale of channel c (v = 0 when NaN), in float32: PyTorch's
 * (clamp(round(x * inv) + zp, qmin, qmax) - zp) * scale. y == x is allowed. Rounding uses
 * the current rounding mode (nearest even by default) on every ISA. */
typedef void qeq_f32_fq_rquant_ukernel_fn(size_t outer, size_t channels, size_t inner,
                                          const float* x, const qeq_fq_params* params, int stream,
                                          float* y);

typedef struct qeq_q8_dequant_params {
  float scale;
  int32_t zero_point;
} qeq_q8_dequant_params;

/* y[(o * channels + c) * inner + i] = scale * (float)(q[same] - zero_point) of channel c, q
 * read as int8 when is_signed, else as uint8 (PyTorch's dequantize, exact). */
typedef void qeq_q8_f32_rdequant_ukernel_fn(size_t outer, size_t channels, size_t inner,
                                            const uint8_t* q, int is_signed,
                                            const qeq_q8_dequant_params* params, float* y);

/* Requantization: y = zero_point + round_half_even(clamp((float)acc * multiplier, lo, hi)),
 * the quantize kernel applied to the accumulator converted to float (params.inv_scale holds
 * the multiplier), low byte stored. */
typedef void qeq_s32_q8_rrequant_ukernel_fn(size_t outer, size_t channels, size_t inner,
                                            const int32_t* acc, const qeq_q8_quant_params* params,
                                            int stream, uint8_t* y);

/* ---- int8 GEMM: uint8 activations x int8 weights -> exact int32 -> fused output ----
 *
 * Every variant computes, for rows i < mr and columns j < nc of one tile,
 *   dot[i][j] = sum_{k < K} a[i * a_stride + k] * w[j][k]          (u8 x s8, exact int32)
 *   acc[i][j] = dot + acc_init[j] - a_zero_point * w_sum[j] - w_zero_point[j] * row_sums[i]
 * (the last term only when row_sums != NULL), all in wrapping int32 arithmetic, which is
 * exact because the API refuses K whose true accumulator could leave int32. acc is then
 * Σ_k (a - za)(w - zw), the zero-point-corrected accumulator. The epilogue stores, at
 * c + i * c_stride (bytes) + j * element_size:
 *   S32: acc                                                   (int32)
 *   Q8 : v = ((float)(acc + bias_q[j]) + bias_f[j]) * multiplier[j] + out_offset
 *                                                       (float32, each step rounded, in order)
 *        q = round_half_even(min(max(v, out_lo), out_hi)) + out_zero_point, low byte stored
 *        (both PyTorch engines: qnnpack folds its integer bias into bias_q with bias_f = 0
 *        and adds its zero point as an integer after rounding (out_offset = 0); onednn keeps
 *        a float bias_f with bias_q = 0 and adds its zero point in float before rounding
 *        (out_offset = zero point, out_zero_point = 0). (float)x + 0.0f == (float)x.)
 *   F32: v = (float)acc * (a_scale * multiplier[j]) + bias_f[j]  (each step float32)
 *        v = v < out_lo ? out_lo : v, then v = v > out_hi ? out_hi : v (NaN and -0.0 pass;
 *        with bounds -inf and inf every value passes bit for bit)
 * Rounding uses the current rounding mode (nearest even by default), as cvtps2dq does.
 *
 * Packed weights. N is cut into panels of NR columns (the last one zero-padded); panel p
 * starts at w + p * qeq_gemm_panel_bytes(K, NR, KR) and holds
 *   int32 acc_init[NR], int32 w_sum[NR], int32 w_zero_point[NR], int32 bias_q[NR],
 *   float bias_f[NR], float multiplier[NR], int32 pair_bound[NR]
 *                                                           (qeq_gemm_panel_header_bytes)
 *   int8  w[kp / KR][NR][KR]   with kp = K rounded up to KR; padding (k >= K, j >= N) is 0
 * i.e. for each group of KR consecutive k, NR columns of KR bytes each. pair_bound[j] is the
 * largest |w[j][2p]| + |w[j][2p + 1]| over the pairs p of column j (0 past N): a kernel that
 * adds two products in a saturating int16 (vpmaddubsw) is exact on activations of at most
 * x_max wherever x_max * pair_bound <= 32767 (docs/numerics.md). A variant reads A
 * only inside rows i < mr and k < K (partial loads for a K tail), writes only inside its
 * mr x nc tile, and loops over as many panels as nc needs (nc > NR allowed). */
enum { QEQ_GEMM_STORE_Q8 = 0, QEQ_GEMM_STORE_F32 = 1, QEQ_GEMM_STORE_S32 = 2 };

/* Tiles that took a kernel's saturating fast path and its exact path. */
typedef struct qeq_gemm_path_counts {
  uint64_t fast_tiles;
  uint64_t exact_tiles;
} qeq_gemm_path_counts;

typedef struct qeq_gemm_ukernel_params {
  int32_t a_zero_point;   /* za, in the uint8 domain (qint8 inputs arrive as a + 128) */
  int32_t out_zero_point; /* Q8: added as an integer after rounding */
  float out_offset;       /* Q8: added in float before clamping and rounding */
  float out_lo;           /* Q8: qmin - out_zero_point; F32: lower bound (-inf: none) */
  float out_hi;           /* Q8: qmax - out_zero_point; F32: upper bound (inf: none) */
  float a_scale;          /* F32: the activation scale */
  int32_t store;          /* QEQ_GEMM_STORE_* */
  /* Kernels with a fast path and an exact one add the tiles (row tile x panel) each path
   * took, when not NULL; relaxed atomic adds, as calls may run on several threads. */
  qeq_gemm_path_counts* path_counts;
} qeq_gemm_ukernel_params;

static inline void qeq_gemm_count_paths(const qeq_gemm_ukernel_params* params, uint64_t fast,
                                        uint64_t exact) {
  /* A locked add drains the store buffer: none for a count of 0 (most calls take one path). */
  if (params->path_counts != NULL) {
    if (fast != 0) __atomic_fetch_add(&params->path_counts->fast_tiles, fast, __ATOMIC_RELAXED);
    if (exact != 0) __atomic_fetch_add(&params->path_counts->exact_tiles, exact, __ATOMIC_RELAXED);
  }
}

/* Bytes before the weights in a panel, and of a whole panel. */
static inline size_t qeq_gemm_panel_header_bytes(size_t nr) {
  return 7 * nr * sizeof(int32_t);
}
static inline size_t qeq_gemm_panel_bytes(size_t k, size_t nr, size_t kr) {
  return qeq_gemm_panel_header_bytes(nr) + (k + kr - 1) / kr * kr * nr;
}
/* The header arrays of a panel, in order. */
enum {
  QEQ_GEMM_HEADER_ACC_INIT = 0,
  QEQ_GEMM_HEADER_W_SUM = 1,
  QEQ_GEMM_HEADER_W_ZERO_POINT = 2,
  QEQ_GEMM_HEADER_BIAS_Q = 3,
  QEQ_GEMM_HEADER_BIAS_F = 4,
  QEQ_GEMM_HEADER_MULTIPLIER = 5,
  QEQ_GEMM_HEADER_PAIR_BOUND = 6
};

typedef void qeq_qu8s8_gemm_ukernel_fn(size_t mr, size_t nc, size_t k, const uint8_t* a,
                                       size_t a_stride, const int32_t* row_sums, const void* w,
                                       void* c, size_t c_stride,
                                       const qeq_gemm_ukernel_params* params);

/* ---- indirect int8 GEMM (convolution without a gathered tile) ----
 *
 * The qu8s8_gemm of one tile whose row i < mr is read through pointers instead of from a
 * matrix: it is the concatenation over taps t < taps of the kc bytes at a[t * mr + i] +
 * a_offset (an input pixel's channels, or a zero-point row for a padding tap), each tap
 * zero-padded to kcp = kc rounded up to KR. The weights are a GEMM packing (see above) of
 * K = taps * kcp whose padding columns are zero, which for kc % KR == 0 is the GEMM's own
 * packing of the taps * kc weights. The result is the qu8s8_gemm's on the gathered rows,
 * bit for bit, with row_sums = NULL (callers with weight zero points gather instead). A
 * variant reads only the kc bytes at each pointer, and writes only inside its mr x nc tile. */
static inline size_t qeq_igemm_tap_bytes(size_t kc, size_t kr) {
  return (kc + kr - 1) / kr * kr;
}

typedef void qeq_qu8s8_igemm_ukernel_fn(size_t mr, size_t nc, size_t kc, size_t taps,
                                        const uint8_t* const* a, size_t a_offset, const void* w,
                                        void* c, size_t c_stride,
                                        const qeq_gemm_ukernel_params* params);

/* ---- quantized ops on rows of 8-bit values (NHWC pixels) ----
 * Values are uint8, or int8 when is_signed; results are stored as their low byte. out.lo and
 * out.hi are integers that keep out.zero_point + the clamped value inside the dtype (vector
 * kernels pack through 16-bit lanes), and zero points are within 2^22. */

/* Quantized add: with every step rounded to float32, in this order,
 *   s = a_scale * (float)(a[i] - a_zero_point) + b_scale * (float)(b[i] - b_zero_point)
 *   y[i] = out.zero_point + round_half_even(clamp(s * out.inv_scale, out.lo, out.hi))
 * for i < n (PyTorch's dequantize, float sum, quantize). add_relu raises out.lo to 0; a
 * b_scale of 0 requantizes a alone. y may equal a or b. */
typedef struct qeq_q8_add_params {
  float a_scale;
  float b_scale;
  int32_t a_zero_point;
  int32_t b_zero_point;
  qeq_q8_quant_params out;
} qeq_q8_add_params;

typedef void qeq_q8_vadd_ukernel_fn(size_t n, const uint8_t* a, const uint8_t* b, int is_signed,
                                    const qeq_q8_add_params* params, uint8_t* y);

/* The fixed-point add of PyTorch's qnnpack engine: QNNPACK's for quint8, XNNPACK's for
 * qint8 (the op sets the parameters apart; one kernel computes both). Values are uint8, or
 * int8 when is_signed. For i < n, in int32,
 *   acc  = bias + a[i] * a_multiplier + b[i] * b_multiplier       (exact: see below)
 *   rem  = (acc & remainder_mask) - (acc < 0)
 *   q    = (acc >> right_shift) + (rem > remainder_threshold)   (arithmetic shift)
 *   y[i] = clamp(q + y_zero_point, y_min, y_max)
 * y[i] is stored as its low byte. Callers keep the multipliers in [0, 2^22], y_min <= y_max
 * inside the dtype and acc inside int32, and right_shift <= 31. With remainder_mask =
 * 2^right_shift - 1 and remainder_threshold = remainder_mask >> 1 this is acc / 2^right_shift
 * rounded half away from zero (QNNPACK); with both 0 and 2^(right_shift - 1) in the bias it is
 * rounded half up (XNNPACK); the op sets other masks to reproduce what PyTorch's x86 build
 * computes for QNNPACK shifts past 31 (docs/numerics.md#qnnpacks-fixed-point-add). y may
 * equal a or b. */
typedef struct qeq_q8_vadd_fixed_params {
  int32_t bias; /* -(a_multiplier * a_zero_point + b_multiplier * b_zero_point) */
  int32_t a_multiplier;
  int32_t b_multiplier;
  int32_t remainder_mask;
  int32_t remainder_threshold;
  uint32_t right_shift;
  int32_t y_zero_point;
  int32_t y_min, y_max; /* inside the dtype */
} qeq_q8_vadd_fixed_params;

typedef void qeq_q8_vadd_fixed_ukernel_fn(size_t n, const uint8_t* a, const uint8_t* b,
                                          int is_signed, const qeq_q8_vadd_fixed_params* params,
                                          uint8_t* y);

/* y[j] = max over r < rows (>= 1) of x[r][j], for j < channels. */
typedef void qeq_q8_maxpool_ukernel_fn(size_t rows, size_t channels, const uint8_t* const* x,
                                       int is_signed, uint8_t* y);

/* acc[j] = bias + sum over r < rows (>= 1) of x[r][j] in int32 (callers keep it exact:
 * rows * 256 + |bias| < 2^31), then
 *   y[j] = out.zero_point + round_half_even(clamp((float)acc[j] * out.inv_scale, lo, hi))
 * (out.inv_scale holds the multiplier 1 / divisor). */
typedef struct qeq_q8_avgpool_params {
  int32_t bias; /* -zero_point * rows, so acc = sum of (x - zero_point) */
  qeq_q8_quant_params out;
} qeq_q8_avgpool_params;

typedef void qeq_q8_avgpool_ukernel_fn(size_t rows, size_t channels, const uint8_t* const* x,
                                       int is_signed, const qeq_q8_avgpool_params* params,
                                       uint8_t* y);

/* Quantized multiply: with the exact integer product
 *   p = (a[i] - a_zero_point) * (b[i] - b_zero_point)        (|p| <= 2^16, exact in float)
 *   y[i] = out.zero_point + round_half_even(clamp((float)p * out.inv_scale, out.lo, out.hi))
 * for i < n, out.inv_scale holding the multiplier f32(f32(s_a * s_b) * f32(1 / s_y)); a NaN
 * (0 * an infinite multiplier) gives the zero point. mul_relu raises out.lo to 0. Zero points
 * lie in the dtype. y may equal a or b. */
typedef struct qeq_q8_mul_params {
  int32_t a_zero_point;
  int32_t b_zero_point;
  qeq_q8_quant_params out;
} qeq_q8_mul_params;

typedef void qeq_q8_vmul_ukernel_fn(size_t n, const uint8_t* a, const uint8_t* b, int is_signed,
                                    const qeq_q8_mul_params* params, uint8_t* y);

/* ---- byte table lookup ----
 *
 *   y[i] = table[x[i]]   for i < n
 *
 * y may equal x. */
typedef void qeq_x8_lut_ukernel_fn(size_t n, const uint8_t* x, const uint8_t table[256],
                                   uint8_t* y);

/* ---- int8 depthwise convolution: every channel of a run of output pixels ----
 *
 * For pixels p < pixels and channels c < channels, with the pixel's tap pointers
 * in_p = input + p * input_step (input_step >= 1 pointers; consecutive pixels may share
 * pointers), x_t = in_p[t][c] ^ input_xor read as uint8 (input_xor is 0x80 for qint8 input,
 * else 0) and the packed weights w[t][c]:
 *   dot[c] = sum_{t < taps} x_t * w[t][c]                              (u8 x s8, exact int32)
 *   acc[c] = dot + acc_init[c] - a_zero_point * w_sum[c] - w_zero_point[c] * sum_t x_t
 * (the last term only when has_w_zero_points), wrapping in int32, then the GEMM's epilogue
 * (Q8 / F32 / S32 store of column c at output + p * output_stride + c * element_size), so
 * every output equals the GEMM's on the same weights bit for bit. in_p[t] points at the
 * channels of the input pixel tap t reads (a zero-point row for padding taps).
 *
 * One call does many pixels so that a variant can widen a channel panel's weights once and
 * keep them (and its header) in registers across the pixels: panels outside, pixels inside.
 *
 * Packed weights: exactly a GEMM packing of N = channels columns, K = taps, with the
 * variant's NR and KR: per panel of NR channels the header, then w[taps / KR][NR][KR]. A
 * variant reads in_p[t][c] only for c < channels and writes only the pixels' outputs. */
typedef void qeq_qu8s8_dwconv_ukernel_fn(size_t pixels, size_t channels, size_t taps,
                                         const uint8_t* const* input, size_t input_step,
                                         uint32_t input_xor, const void* w, int has_w_zero_points,
                                         void* output, size_t output_stride,
                                         const qeq_gemm_ukernel_params* params);

/* ---- 8-bit layout: byte transpose and two-row interleave ----
 *
 * x8_transpose: y[j * y_stride + i] = x[i * x_stride + j] for i < rows, j < cols (bytes, any
 * dtype); strides in bytes, x_stride >= cols, y_stride >= rows; y does not overlap x. NCHW to
 * NHWC is one call per image with rows = channels, cols = pixels; the reverse swaps them. */
typedef void qeq_x8_transpose_ukernel_fn(size_t rows, size_t cols, const uint8_t* x,
                                         size_t x_stride, uint8_t* y, size_t y_stride);

/* x8_zip2: y[2 * k] = a[k], y[2 * k + 1] = b[k] for k < n (the channel shuffle of a pixel with
 * two groups: a and b are the groups); y overlaps neither a nor b. */
typedef void qeq_x8_zip2_ukernel_fn(size_t n, const uint8_t* a, const uint8_t* b, uint8_t* y);

/* Prototypes of every variant this build contains, each of its family's signature. */
#define QEQ_FAMILY(name, NAME, signature) typedef signature qeq_family_signature_##name;
#define QEQ_UKERNEL(family, isa) \
  QEQ_IF_BUILT(isa, qeq_family_signature_##family QEQ_UKERNEL_NAME(family, isa);)
#define QEQ_GEMM_UKERNEL(family, tile, isa, mr, nr, kr) \
  QEQ_IF_BUILT(isa, qeq_family_signature_##family QEQ_UKERNEL_TILE_NAME(family, tile, isa);)
#include "kernels/families.inc"
#undef QEQ_FAMILY
#undef QEQ_UKERNEL
#undef QEQ_GEMM_UKERNEL

#endif /* QEQ_KERNELS_UKERNELS_H */
