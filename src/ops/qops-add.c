/* qeq_q8_add / qeq_q8_add_relu and their _ex forms: check everything, then one kernel call
 * per dense run (q8_vadd for the onednn engine, q8_vadd_fixed for QNNPACK's and XNNPACK's
 * fixed-point adds under the qnnpack engine), or per output pixel when a or b broadcasts. */
#include <qeq/qops.h>

#include <math.h>
#include <string.h>

#include "dispatch/dispatch.h"
#include "src/base/error.h"
#include "src/base/shape.h"
#include "src/ops/qops-tensor.h"

/* The binary exponent e of a positive normal float r: 2^e <= r < 2^(e + 1). */
static int32_t exponent_of(float r) {
  uint32_t bits;
  memcpy(&bits, &r, sizeof bits);
  return (int32_t)(bits >> 23) - 127;
}

/* The parameters of PyTorch's qnnpack-engine add (docs/numerics.md#qnnpacks-fixed-point-add):
 * QNNPACK's for quint8 (pytorch_qnnp_create_add_nc_q8 as PyTorch 1.13 calls it), XNNPACK's for
 * qint8 (its qs8 add, as PyTorch's xnnp_add calls it), or QEQ_ERROR_UNSUPPORTED where the
 * library refuses them. */
static qeq_status fixed_params(const char* fn, const qeq_q8_tensor* a, const qeq_q8_tensor* b,
                               const qeq_q8_tensor* y, int relu, qeq_q8_vadd_fixed_params* p) {
  const int xnnpack = a->dtype == QEQ_DTYPE_QINT8;
  const char* library = xnnpack ? "XNNPACK" : "QNNPACK";
  if (!isnormal(a->scale) || !isnormal(b->scale) || !isnormal(y->scale)) {
    return qeq_fail(QEQ_ERROR_UNSUPPORTED,
                    "%s: %s's add takes normal float scales only (a %g, b %g, y %g)", fn, library,
                    (double)a->scale, (double)b->scale, (double)y->scale);
  }
  const float ra = a->scale / y->scale;
  const float rb = b->scale / y->scale;
  /* QNNPACK accepts ratios in [2^-14, 2^8), XNNPACK in [2^-10, 2^8) */
  const float low = xnnpack ? 0x1p-10f : 0x1p-14f;
  if (!(ra >= low && ra < 0x1p+8f) || !(rb >= low && rb < 0x1p+8f)) {
    return qeq_fail(QEQ_ERROR_UNSUPPORTED,
                    "%s: %s's add refuses input-to-output scale ratios outside [2^%d, 2^8): "
                    "a / y = %.9g, b / y = %.9g",
                    fn, library, xnnpack ? -10 : -14, (double)ra, (double)rb);
  }
  const int32_t qmin = xnnpack ? -128 : 0, qmax = xnnpack ? 127 : 255;
  if (relu && y->zero_point == qmax) {
    return qeq_fail(QEQ_ERROR_UNSUPPORTED,
                    "%s: %s's add_relu refuses y's zero point %d (an empty output range)", fn,
                    library, (int)qmax);
  }
  /* The larger ratio's exponent e sets the shift: QNNPACK 21 - e (the larger multiplier in
   * [2^21, 2^22]), XNNPACK 20 - e (in [2^20, 2^21]). The products r * 2^shift are exact. */
  const float larger = ra > rb ? ra : rb;
  const uint32_t shift = (uint32_t)((xnnpack ? 20 : 21) - exponent_of(larger)); /* 12 .. 35 */
  const float power = ldexpf(1.0f, (int)shift);
  const int32_t am = (int32_t)nearbyintf(ra * power); /* half to even, as lrintf */
  const int32_t bm = (int32_t)nearbyintf(rb * power);
  p->a_multiplier = am;
  p->b_multiplier = bm;
  p->bias = -(am * a->zero_point + bm * b->zero_point); /* |.| <= 2 * 255 * 2^22 < 2^31 */
  if (xnnpack) {
    /* XNNPACK: the rounding constant in the bias and a plain arithmetic shift (half up);
     * shift <= 30 for ratios of at least 2^-10 */
    p->bias += (int32_t)1 << (shift - 1);
    p->remainder_mask = 0;
    p->remainder_threshold = 0;
    p->right_shift = shift;
  } else {
    /* QNNPACK's x86 build computes the mask as 1 << shift in uint32 and shifts the int32 sums
     * by it: past 31 the instruction takes the mask's shift count mod 32 and the lanes' shift
     * saturates at 31. Both are kept as they are, for the same bits. */
    const uint32_t mask = (UINT32_C(1) << (shift & 31)) - 1;
    p->remainder_mask = (int32_t)mask;
    p->remainder_threshold = (int32_t)(mask >> 1);
    p->right_shift = shift > 31 ? 31 : shift;
  }
  p->y_zero_point = y->zero_point;
  p->y_min = relu ? y->zero_point : qmin;
  p->y_max = qmax;
  return QEQ_OK;
}

static int same_sizes(const qeq_q8_tensor* t, const qeq_q8_tensor* y) {
  return t->n == y->n && t->h == y->h && t->w == y->w && t->c == y->c;
}

/* One kernel call over n elements of a and b (each advancing, or a broadcast byte when its
 * step is 0, spread over a local row first), for either engine's kernel. */
typedef struct add_run {
  qeq_q8_vadd_ukernel_fn* kernel;             /* onednn rule, or NULL */
  qeq_q8_vadd_fixed_ukernel_fn* fixed_kernel; /* qnnpack rule, or NULL */
  const qeq_q8_add_params* params;
  const qeq_q8_vadd_fixed_params* fixed_params;
  int is_signed;
} add_run;

static void run_kernel(const add_run* r, size_t n, const uint8_t* a, const uint8_t* b, uint8_t* y) {
  if (r->kernel != NULL) {
    r->kernel(n, a, b, r->is_signed, r->params, y);
  } else {
    r->fixed_kernel(n, a, b, r->is_signed, r->fixed_params, y);
  }
}

static void run_row(const add_run* r, size_t n, const uint8_t* a, size_t a_step, const uint8_t* b,
                    size_t b_step, uint8_t* y) {
  if (a_step && b_step) {
    run_kernel(r, n, a, b, y);
    return;
  }
  enum { CHUNK = 256 };
  uint8_t spread[CHUNK];
  memset(spread, a_step ? b[0] : a[0], sizeof spread);
  for (size_t i = 0; i < n; i += CHUNK) {
    const size_t m = n - i < CHUNK ? n - i : CHUNK;
    run_kernel(r, m, a_step ? a + i : spread, b_step ? b + i : spread, y + i);
  }
}

static qeq_status add(const char* fn, const qeq_q8_tensor* a, const void* a_data,
                      const qeq_q8_tensor* b, const void* b_data, const qeq_q8_tensor* y,
                      void* y_data, int relu, qeq_qops_engine engine) {
  if (engine != QEQ_QOPS_ENGINE_ONEDNN && engine != QEQ_QOPS_ENGINE_QNNPACK) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: engine %d is not a qeq_qops_engine", fn,
                    (int)engine);
  }
  qeq_q8_view av, bv, yv;
  qeq_status status = qeq_q8_check_binary(fn, a, a_data, b, b_data, y, y_data, &av, &bv, &yv);
  if (status != QEQ_OK) return status;

  const int broadcast = !same_sizes(a, y) || !same_sizes(b, y);
  add_run run = {NULL, NULL, NULL, NULL, av.is_signed};
  qeq_q8_vadd_fixed_params fp;
  qeq_q8_add_params p;
  /* Under the qnnpack engine PyTorch runs QNNPACK's add for equal quint8 shapes only and its
   * own kernel (the onednn rule) when quint8 inputs broadcast; XNNPACK's qint8 add takes
   * broadcasting inputs (docs/numerics.md#qnnpacks-fixed-point-add). */
  const int fixed = engine == QEQ_QOPS_ENGINE_QNNPACK && (av.is_signed || !broadcast);
  if (fixed) {
    status = fixed_params(fn, a, b, y, relu, &fp);
    if (status != QEQ_OK) return status;
    run.fixed_kernel = QEQ_DISPATCH(q8_vadd_fixed);
    run.fixed_params = &fp;
  } else {
    p.a_scale = a->scale;
    p.b_scale = b->scale;
    p.a_zero_point = a->zero_point;
    p.b_zero_point = b->zero_point;
    p.out = qeq_q8_output_params(y, &yv);
    /* ReLU on the float sum before rounding equals clamping the scaled value at 0 (> lo). */
    if (relu && p.out.lo < 0.0f) p.out.lo = 0.0f;
    run.kernel = QEQ_DISPATCH(q8_vadd);
    run.params = &p;
  }
  if (yv.bytes == 0) return QEQ_OK;
  const uint8_t* pa = (const uint8_t*)a_data;
  const uint8_t* pb = (const uint8_t*)b_data;
  uint8_t* py = (uint8_t*)y_data;
  if (!broadcast && av.stride == a->c && bv.stride == a->c && yv.stride == a->c) {
    run_kernel(&run, av.pixels * a->c, pa, pb, py); /* equal dense tensors: one run */
    return QEQ_OK;
  }
  const size_t a_step = a->c == y->c ? 1 : 0, b_step = b->c == y->c ? 1 : 0;
  for (size_t n = 0; n < y->n; n++) {
    for (size_t h = 0; h < y->h; h++) {
      for (size_t w = 0; w < y->w; w++) {
        const size_t ai = qeq_q8_broadcast_pixel(a, n, h, w);
        const size_t bi = qeq_q8_broadcast_pixel(b, n, h, w);
        const size_t yi = (n * y->h + h) * y->w + w;
        run_row(&run, y->c, pa + ai * av.stride, a_step, pb + bi * bv.stride, b_step,
                py + yi * yv.stride);
      }
    }
  }
  return QEQ_OK;
}

qeq_status qeq_q8_add(const qeq_q8_tensor* a, const void* a_data, const qeq_q8_tensor* b,
                      const void* b_data, const qeq_q8_tensor* y, void* y_data) {
  return add("qeq_q8_add", a, a_data, b, b_data, y, y_data, 0, QEQ_QOPS_ENGINE_ONEDNN);
}

qeq_status qeq_q8_add_relu(const qeq_q8_tensor* a, const void* a_data, const qeq_q8_tensor* b,
                           const void* b_data, const qeq_q8_tensor* y, void* y_data) {
  return add("qeq_q8_add_relu", a, a_data, b, b_data, y, y_data, 1, QEQ_QOPS_ENGINE_ONEDNN);
}

qeq_status qeq_q8_add_ex(const qeq_q8_tensor* a, const void* a_data, const qeq_q8_tensor* b,
                         const void* b_data, const qeq_q8_tensor* y, void* y_data,
                         qeq_qops_engine engine) {
  return add("qeq_q8_add_ex", a, a_data, b, b_data, y, y_data, 0, engine);
}

qeq_status qeq_q8_add_relu_ex(const qeq_q8_tensor* a, const void* a_data, const qeq_q8_tensor* b,
                              const void* b_data, const qeq_q8_tensor* y, void* y_data,
                              qeq_qops_engine engine) {
  return add("qeq_q8_add_relu_ex", a, a_data, b, b_data, y, y_data, 1, engine);
}
