/* Helpers for the family list (kernels/families.inc) and the per-family registries
 * (kernels/<family>/<family>.inc).
 *
 * A registry lists a family's variants best first as QEQ_UKERNEL(family, isa) lines, e.g.
 * QEQ_UKERNEL(f32_rminmax, avx512) for qeq_f32_rminmax_ukernel__avx512. The same lists feed
 * the prototypes, the dispatch tables, the tests and the benchmarks. Whoever includes a
 * registry defines QEQ_UKERNEL; QEQ_IF_BUILT keeps only the variants this build compiled.
 * GEMM families list tiled variants as QEQ_GEMM_UKERNEL(family, tile, isa, mr, nr, kr), e.g.
 * QEQ_GEMM_UKERNEL(qu8s8_gemm, 8x32c4, avx512vnni, 8, 32, 4) for
 * qeq_qu8s8_gemm_ukernel_8x32c4__avx512vnni; includers define that macro too. */
#ifndef QEQ_KERNELS_REGISTRY_MACROS_H
#define QEQ_KERNELS_REGISTRY_MACROS_H

#define QEQ_UKERNEL_NAME(family, isa) qeq_##family##_ukernel__##isa
#define QEQ_UKERNEL_STRING(family, isa) "qeq_" #family "_ukernel__" #isa
#define QEQ_UKERNEL_TILE_NAME(family, tile, isa) qeq_##family##_ukernel_##tile##__##isa
#define QEQ_UKERNEL_TILE_STRING(family, tile, isa) "qeq_" #family "_ukernel_" #tile "__" #isa

/* The enum value of a family named in lower case (kernels/families.h generates the aliases). */
#define QEQ_FAMILY_ID(family) ((qeq_kernel_family)qeq_family_id_##family)

/* For includers of kernels/families.inc that want only some kinds of entry. */
#define QEQ_IGNORE(...)

#define QEQ_ISA_ID_scalar QEQ_ISA_SCALAR
#define QEQ_ISA_ID_avx2 QEQ_ISA_AVX2
#define QEQ_ISA_ID_avx512 QEQ_ISA_AVX512
#define QEQ_ISA_ID_avx512vnni QEQ_ISA_AVX512VNNI
#define QEQ_ISA_ID_avxvnni QEQ_ISA_AVXVNNI
#define QEQ_ISA_ID_neon QEQ_ISA_NEON
#define QEQ_ISA_ID_neondot QEQ_ISA_NEONDOT
#define QEQ_ISA_ID(isa) QEQ_ISA_ID_##isa

/* QEQ_BUILD_<ISA> (0/1) come from CMake; the test build may also set QEQ_BUILD_NEON for the
 * NEON sources it compiles through SIMDe. */
#ifndef QEQ_BUILD_AVX2
#define QEQ_BUILD_AVX2 0
#endif
#ifndef QEQ_BUILD_AVX512
#define QEQ_BUILD_AVX512 0
#endif
#ifndef QEQ_BUILD_AVX512VNNI
#define QEQ_BUILD_AVX512VNNI 0
#endif
#ifndef QEQ_BUILD_AVXVNNI
#define QEQ_BUILD_AVXVNNI 0
#endif
#ifndef QEQ_BUILD_NEON
#define QEQ_BUILD_NEON 0
#endif
#ifndef QEQ_BUILD_NEONDOT
#define QEQ_BUILD_NEONDOT 0
#endif

#define QEQ_EXPAND_0(...)
#define QEQ_EXPAND_1(...) __VA_ARGS__
#define QEQ_EXPAND_IF_(flag, ...) QEQ_EXPAND_##flag(__VA_ARGS__)
#define QEQ_EXPAND_IF(flag, ...) QEQ_EXPAND_IF_(flag, __VA_ARGS__)

#define QEQ_BUILT_scalar 1
#define QEQ_BUILT_avx2 QEQ_BUILD_AVX2
#define QEQ_BUILT_avx512 QEQ_BUILD_AVX512
#define QEQ_BUILT_avx512vnni QEQ_BUILD_AVX512VNNI
#define QEQ_BUILT_avxvnni QEQ_BUILD_AVXVNNI
#define QEQ_BUILT_neon QEQ_BUILD_NEON
#define QEQ_BUILT_neondot QEQ_BUILD_NEONDOT
#define QEQ_IF_BUILT(isa, ...) QEQ_EXPAND_IF(QEQ_BUILT_##isa, __VA_ARGS__)

#endif /* QEQ_KERNELS_REGISTRY_MACROS_H */
