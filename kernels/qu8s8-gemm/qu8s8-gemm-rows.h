/* The cases of a qu8s8 GEMM template's row-count switch: QEQ_GEMM_ROWS_CASE(1) ..
 * QEQ_GEMM_ROWS_CASE(QEQ_GEMM_MR), both defined by the includer, so each row count is its
 * own instantiation with the count a constant. Included inside the switch, hence no guard. */
#if !defined(QEQ_GEMM_MR) || !defined(QEQ_GEMM_ROWS_CASE)
#error "define QEQ_GEMM_MR and QEQ_GEMM_ROWS_CASE before including qu8s8-gemm-rows.h"
#endif
#if QEQ_GEMM_MR < 1 || QEQ_GEMM_MR > 12
#error "tile rows 1..12"
#endif
QEQ_GEMM_ROWS_CASE(1)
#if QEQ_GEMM_MR >= 2
QEQ_GEMM_ROWS_CASE(2)
#endif
#if QEQ_GEMM_MR >= 3
QEQ_GEMM_ROWS_CASE(3)
#endif
#if QEQ_GEMM_MR >= 4
QEQ_GEMM_ROWS_CASE(4)
#endif
#if QEQ_GEMM_MR >= 5
QEQ_GEMM_ROWS_CASE(5)
#endif
#if QEQ_GEMM_MR >= 6
QEQ_GEMM_ROWS_CASE(6)
#endif
#if QEQ_GEMM_MR >= 7
QEQ_GEMM_ROWS_CASE(7)
#endif
#if QEQ_GEMM_MR >= 8
QEQ_GEMM_ROWS_CASE(8)
#endif
#if QEQ_GEMM_MR >= 9
QEQ_GEMM_ROWS_CASE(9)
#endif
#if QEQ_GEMM_MR >= 10
QEQ_GEMM_ROWS_CASE(10)
#endif
#if QEQ_GEMM_MR >= 11
QEQ_GEMM_ROWS_CASE(11)
#endif
#if QEQ_GEMM_MR >= 12
QEQ_GEMM_ROWS_CASE(12)
#endif
