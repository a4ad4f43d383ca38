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

/* Kernel families, each with its own dispatch table, named like "f32_rminmax". Indices run
 * from 0 to qeq_kernel_family_count() - 1 in a fixed order to which new families are only
 * appended. */
QEQ_API size_t qeq_kernel_family_count(void);
/* The name of family `index`; NULL if index >= qeq_kernel_family_count(). */
QEQ_API const char* qeq_kernel_family_name(size_t index);
/* The variant dispatch uses now for the family named `family`, e.g.
 * "qeq_f32_rminmax_ukernel__avx512"; NULL if `family` is NULL or names no family. The int8
 * families are chosen together, one configuration per ISA (docs/design.md#int8-configurations):
 * qu8s8_igemm shares the tile of qu8s8_gemm, and would be "none" for an ISA without an
 * indirect GEMM (every ISA has one; convolutions would then gather their input into rows for
 * the GEMM). */
QEQ_API const char* qeq_kernel_variant_name(const char* family);
/* How that variant computes, for the int8 GEMM families whose AVX2 and AVX-512 (no VNNI)
 * variants have two paths (docs/numerics.md#the-avx2-fast-path): "vpmaddubsw where x_max *
 * pair_bound <= 32767, else vpmaddwd" for qu8s8_gemm and qu8s8_igemm under AVX2 and AVX-512,
 * "one path" for every other variant, "none" where the family has none selected; NULL as
 * qeq_kernel_variant_name. */
QEQ_API const char* qeq_kernel_variant_paths(const char* family);

#ifdef __cplusplus
}
#endif

#endif /* QEQ_ISA_H */
