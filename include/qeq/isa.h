/* qeq: run-time CPU dispatch — what was detected, what is used, and a cap. */
#ifndef QEQ_ISA_H
#define QEQ_ISA_H

#include <qeq/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Instruction-set levels. Each names a feature set, not a rank: avxvnni is AVX2 + AVX-VNNI
 * and does not include AVX-512. */
typedef enum qeq_isa {
  QEQ_ISA_SCALAR = 0,     /* portable C only */
  QEQ_ISA_AVX2 = 1,       /* AVX2 + FMA */
  QEQ_ISA_AVX512 = 2,     /* AVX2 + AVX-512 F, BW, DQ, VL */
  QEQ_ISA_AVX512VNNI = 3, /* AVX512 + AVX512-VNNI */
  QEQ_ISA_AVXVNNI = 4,    /* AVX2 + AVX-VNNI (VEX-encoded VNNI, no AVX-512) */
  QEQ_ISA_NEON = 5,       /* aarch64 Advanced SIMD */
  QEQ_ISA_NEONDOT = 6,    /* NEON + dot product (SDOT/UDOT) */
  QEQ_ISA_COUNT = 7
} qeq_isa;

/* "scalar", "avx2", "avx512", "avx512vnni", "avxvnni", "neon", "neondot"; NULL if invalid. */
QEQ_API const char* qeq_isa_name(qeq_isa isa);
/* Parses a name as printed by qeq_isa_name (case-sensitive). */
QEQ_API qeq_status qeq_isa_from_name(const char* name, qeq_isa* isa);

/* 1 if the CPU and OS support every feature of `isa`, else 0. */
QEQ_API int qeq_isa_detected(qeq_isa isa);
/* The most capable level the CPU supports (preference avx512vnni > avx512 > avxvnni > avx2
 * on x86, neondot > neon on aarch64). */
QEQ_API qeq_isa qeq_isa_best_detected(void);

/* Caps dispatch to the features of `isa`. A cap only lowers what was detected: a level the
 * CPU lacks gives QEQ_ERROR_UNSUPPORTED and changes nothing. Thread-safe; calls already
 * running keep the kernel they started with. Overrides the QEQ_ISA environment cap. */
QEQ_API qeq_status qeq_set_isa_cap(qeq_isa isa);
/* Removes any cap, including one from QEQ_ISA: dispatch uses everything detected. */
QEQ_API void qeq_clear_isa_cap(void);
/* The level dispatch currently works under: the cap if one is set, else the best detected. */
QEQ_API qeq_isa qeq_isa_effective(void);

/* QEQ_ISA=<name> is read once, at the first qeq call that needs dispatch. An unknown name or
 * a level the CPU lacks is ignored; this returns why ("" if it was applied or not set). */
QEQ_API const char* qeq_isa_env_message(void);

/* Kernel families, each with its own dispatch table. */
typedef enum qeq_kernel_family {
  QEQ_FAMILY_F32_RMINMAX = 0,         /* min/max of contiguous runs (per-axis, large inner) */
  QEQ_FAMILY_F32_VMINMAX = 1,         /* element-wise min/max across rows (per-axis, small inner) */
  QEQ_FAMILY_F32_RSCALE = 2,          /* contiguous runs times a per-run scale */
  QEQ_FAMILY_F32_VSCALE = 3,          /* rows times a vector of per-column scales */
  QEQ_FAMILY_F32_Q8_RQUANT = 4,       /* float runs to 8-bit integers with per-run qparams */
  QEQ_FAMILY_F32_FQ_RQUANT = 5,       /* fake quantization (quantize, dequantize) of float runs */
  QEQ_FAMILY_Q8_F32_RDEQUANT = 6,     /* 8-bit integer runs back to float */
  QEQ_FAMILY_S32_Q8_RREQUANT = 7,     /* int32 accumulators to 8-bit with per-run multipliers */
  QEQ_FAMILY_QU8S8_GEMM = 8,          /* uint8 x int8 matrix multiply with fused requantization */
  QEQ_FAMILY_Q8_VADD = 9,             /* quantized add: both inputs dequantized, sum requantized */
  QEQ_FAMILY_Q8_MAXPOOL = 10,         /* element-wise max over rows of 8-bit pixels */
  QEQ_FAMILY_Q8_AVGPOOL = 11,         /* int32 sum over rows of 8-bit pixels, requantized */
  QEQ_FAMILY_QU8S8_DWCONV = 12,       /* uint8 x int8 depthwise convolution, one pixel's channels */
  QEQ_FAMILY_QU8S8_IGEMM = 13,        /* uint8 x int8 GEMM reading its rows through pointers */
  QEQ_FAMILY_F32_VSCALE_RMINMAX = 14, /* per-row then per-column scaling, each row's min/max */
  QEQ_FAMILY_F32_RSCALE_VMINMAX = 15, /* per-row scaling with per-column min/max, one pass */
  QEQ_FAMILY_F32_VSCALE_VMINMAX = 16, /* per-column scaling with per-column min/max, one pass */
  QEQ_FAMILY_COUNT = 17
} qeq_kernel_family;

/* "f32_rminmax", ...; NULL if invalid. */
QEQ_API const char* qeq_kernel_family_name(qeq_kernel_family family);
/* The variant dispatch uses now for `family`, e.g. "qeq_f32_rminmax_ukernel__avx512";
 * NULL if `family` is invalid. */
QEQ_API const char* qeq_kernel_variant_name(qeq_kernel_family family);

#ifdef __cplusplus
}
#endif

#endif /* QEQ_ISA_H */
