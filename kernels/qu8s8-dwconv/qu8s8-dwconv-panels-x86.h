/* The panel loop of the x86 qu8s8_dwconv variants: every channel panel of a run of pixels,
 * each through the includer's panel_pixels (defined before this header, with NR and KR)
 * instantiated for the case at hand with compile-time constants: a full panel or the tail,
 * unsigned or qint8 input, with or without weight zero points, and 3x3 and 5x5 with their
 * widened weights held in registers (any other tap count reloads them). */
#ifndef QEQ_KERNELS_QU8S8_DWCONV_PANELS_X86_H
#define QEQ_KERNELS_QU8S8_DWCONV_PANELS_X86_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/ukernels.h"

static inline __attribute__((always_inline)) void panel_taps(
    const int full, const int flip, const int has_w_zp, size_t pixels, size_t c0, size_t count,
    size_t channels, size_t taps, const uint8_t* const* input, size_t input_step,
    const uint8_t* panel, uint8_t* output, size_t output_stride,
    const qeq_gemm_ukernel_params* params) {
  if (taps == 9) {
    panel_pixels(full, 9, 1, flip, has_w_zp, pixels, c0, count, channels, input, input_step, panel,
                 output, output_stride, params);
  } else if (taps == 25) {
    panel_pixels(full, 25, 1, flip, has_w_zp, pixels, c0, count, channels, input, input_step, panel,
                 output, output_stride, params);
  } else {
    panel_pixels(full, taps, 0, flip, has_w_zp, pixels, c0, count, channels, input, input_step,
                 panel, output, output_stride, params);
  }
}

/* The whole contract of kernels/ukernels.h; the epilogue offsets each panel by c0 itself. */
static inline __attribute__((always_inline)) void dwconv_panels(
    size_t pixels, size_t channels, size_t taps, const uint8_t* const* input, size_t input_step,
    uint32_t input_xor, const void* w, int has_w_zero_points, void* output, size_t output_stride,
    const qeq_gemm_ukernel_params* params) {
  const size_t panel_bytes = qeq_gemm_panel_bytes(taps, NR, KR);
  const uint8_t* panel = w;
  uint8_t* out = output;
  const int flip = input_xor != 0;
  for (size_t c0 = 0; c0 < channels; c0 += NR, panel += panel_bytes) {
    const size_t count = channels - c0 < NR ? channels - c0 : NR;
    const int full = count == NR;
    if (full && !flip && !has_w_zero_points) {
      panel_taps(1, 0, 0, pixels, c0, NR, channels, taps, input, input_step, panel, out,
                 output_stride, params);
    } else if (full && !flip) {
      panel_taps(1, 0, 1, pixels, c0, NR, channels, taps, input, input_step, panel, out,
                 output_stride, params);
    } else if (full) {
      panel_taps(1, 1, has_w_zero_points, pixels, c0, NR, channels, taps, input, input_step, panel,
                 out, output_stride, params);
    } else {
      panel_taps(0, flip, has_w_zero_points, pixels, c0, count, channels, taps, input, input_step,
                 panel, out, output_stride, params);
    }
  }
}

#endif /* QEQ_KERNELS_QU8S8_DWCONV_PANELS_X86_H */
