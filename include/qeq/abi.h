/* qeq: the layout of the public structs as this library was compiled — sizes and field
 * offsets — for bindings that mirror the structs instead of including the headers (the Python
 * package's ctypes.Structure classes; python/tests/test_abi.py compares them with these).
 *
 * Covered: every public struct type, by its C name: qeq_shape, qeq_layer, qeq_batch_norm,
 * qeq_equalize_report, qeq_observer_config, qeq_input_equalization_options, qeq_gemm_config,
 * qeq_conv_config, qeq_q8_tensor, qeq_pool2d_params. Fields are named as in the headers
 * (an array field, such as qeq_shape's dims, is one field of the array's whole size) and
 * numbered in declaration order from 0.
 *
 * Errors, all QEQ_ERROR_INVALID_ARGUMENT with qeq_last_error() naming the function and the
 * argument: a NULL name or output pointer, a struct_name that is not one of the structs
 * above, a field_name the struct does not have, an index not below the field count. Nothing
 * is written on failure. Thread-safe; the strings returned are static. */
#ifndef QEQ_ABI_H
#define QEQ_ABI_H

#include <qeq/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* sizeof(struct_name) and how many fields it has. */
QEQ_API qeq_status qeq_abi_struct_layout(const char* struct_name, size_t* size,
                                         size_t* field_count);

/* The name of field `index` (declaration order, from 0) of struct_name. */
QEQ_API qeq_status qeq_abi_field_name(const char* struct_name, size_t index,
                                      const char** field_name);

/* offsetof(struct_name, field_name) and the field's sizeof. */
QEQ_API qeq_status qeq_abi_field_layout(const char* struct_name, const char* field_name,
                                        size_t* offset, size_t* size);

#ifdef __cplusplus
}
#endif

#endif /* QEQ_ABI_H */
