/* The public structs' layout as compiled (include/qeq/abi.h): one X-macro table per struct,
 * offsetof and sizeof of each field. A field added to a public struct goes into its table here
 * too; python/tests/test_abi.py fails when a table and its header disagree. */
#include <qeq/abi.h>

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <qeq/conv.h>
#include <qeq/equalize.h>
#include <qeq/fold.h>
#include <qeq/gemm.h>
#include <qeq/input_equalize.h>
#include <qeq/layer.h>
#include <qeq/qops.h>
#include <qeq/qparams.h>
#include <qeq/shape.h>

#include "src/base/error.h"

/* Each struct's fields, in declaration order: F(T, field) with T the struct type. */
/* clang-format off */
#define QEQ_ABI_FIELDS_qeq_shape(F, T) \
  F(T, ndim)                           \
  F(T, dims)

#define QEQ_ABI_FIELDS_qeq_layer(F, T) \
  F(T, kind)                           \
  F(T, weight_shape)                   \
  F(T, weight)                         \
  F(T, bias)                           \
  F(T, groups)                         \
  F(T, activation)

#define QEQ_ABI_FIELDS_qeq_batch_norm(F, T) \
  F(T, channels)                            \
  F(T, running_mean)                        \
  F(T, running_var)                         \
  F(T, gamma)                               \
  F(T, beta)                                \
  F(T, eps)

#define QEQ_ABI_FIELDS_qeq_equalize_report(F, T) \
  F(T, sweeps)                                   \
  F(T, final_change)                             \
  F(T, converged)

#define QEQ_ABI_FIELDS_qeq_observer_config(F, T) \
  F(T, dtype)                                    \
  F(T, qscheme)                                  \
  F(T, reduce_range)                             \
  F(T, has_custom_range)                         \
  F(T, quant_min)                                \
  F(T, quant_max)                                \
  F(T, eps)                                      \
  F(T, averaging_constant)                       \
  F(T, ch_axis)

#define QEQ_ABI_FIELDS_qeq_input_equalization_options(F, T) \
  F(T, alpha)                                               \
  F(T, use_absmax)

#define QEQ_ABI_FIELDS_qeq_gemm_quantization(F, T) \
  F(T, weight_qparam_count)                        \
  F(T, weight_scales)                              \
  F(T, weight_zero_points)                         \
  F(T, bias)                                       \
  F(T, input_dtype)                                \
  F(T, input_scale)                                \
  F(T, input_zero_point)                           \
  F(T, output)                                     \
  F(T, output_dtype)                               \
  F(T, output_scale)                               \
  F(T, output_zero_point)                          \
  F(T, clamp)                                      \
  F(T, clamp_min)                                  \
  F(T, clamp_max)                                  \
  F(T, engine)

#define QEQ_ABI_FIELDS_qeq_gemm_config(F, T) \
  F(T, n)                                    \
  F(T, k)                                    \
  F(T, weights)                              \
  F(T, weight_stride_bytes)                  \
  F(T, quant)                                \
  F(T, dynamic)                              \
  F(T, reduce_range)

#define QEQ_ABI_FIELDS_qeq_conv_config(F, T) \
  F(T, input_channels)                       \
  F(T, output_channels)                      \
  F(T, groups)                               \
  F(T, kernel_height)                        \
  F(T, kernel_width)                         \
  F(T, stride_height)                        \
  F(T, stride_width)                         \
  F(T, padding_height)                       \
  F(T, padding_width)                        \
  F(T, dilation_height)                      \
  F(T, dilation_width)                       \
  F(T, weights)                              \
  F(T, quant)

#define QEQ_ABI_FIELDS_qeq_q8_tensor(F, T) \
  F(T, n)                                  \
  F(T, h)                                  \
  F(T, w)                                  \
  F(T, c)                                  \
  F(T, pixel_stride_bytes)                 \
  F(T, dtype)                              \
  F(T, scale)                              \
  F(T, zero_point)

#define QEQ_ABI_FIELDS_qeq_pool2d_params(F, T) \
  F(T, kernel_h)                               \
  F(T, kernel_w)                               \
  F(T, stride_h)                               \
  F(T, stride_w)                               \
  F(T, padding_h)                              \
  F(T, padding_w)                              \
  F(T, dilation_h)                             \
  F(T, dilation_w)                             \
  F(T, ceil_mode)                              \
  F(T, count_include_pad)                      \
  F(T, divisor_override)

/* Every covered struct: S(struct type). */
#define QEQ_ABI_STRUCTS(S)          \
  S(qeq_shape)                      \
  S(qeq_layer)                      \
  S(qeq_batch_norm)                 \
  S(qeq_equalize_report)            \
  S(qeq_observer_config)            \
  S(qeq_input_equalization_options) \
  S(qeq_gemm_quantization)          \
  S(qeq_gemm_config)                \
  S(qeq_conv_config)                \
  S(qeq_q8_tensor)                  \
  S(qeq_pool2d_params)
/* clang-format on */

typedef struct abi_field {
  const char* name;
  size_t offset;
  size_t size;
} abi_field;

typedef struct abi_struct {
  const char* name;
  size_t size;
  const abi_field* fields;
  size_t field_count;
} abi_struct;

#define QEQ_ABI_FIELD(type, field) {#field, offsetof(type, field), sizeof(((type*)0)->field)},
#define QEQ_ABI_FIELD_TABLE(type) \
  static const abi_field type##_fields[] = {QEQ_ABI_FIELDS_##type(QEQ_ABI_FIELD, type)};
QEQ_ABI_STRUCTS(QEQ_ABI_FIELD_TABLE)

#define QEQ_ABI_STRUCT(type) \
  {#type, sizeof(type), type##_fields, sizeof type##_fields / sizeof type##_fields[0]},
static const abi_struct structs[] = {QEQ_ABI_STRUCTS(QEQ_ABI_STRUCT)};

/* A caller's name made safe to echo in a message: at most ECHO_MAX bytes, each byte outside
 * printable ASCII as \xNN, "..." when cut short. */
#define ECHO_MAX 48
static void echo_name(const char* in, char* out, size_t out_size) {
  size_t n = 0, i = 0;
  out[0] = '\0';
  for (; in[i] != '\0' && i < ECHO_MAX && n < out_size; i++) {
    const unsigned char c = (unsigned char)in[i];
    const int printable = c >= 0x20 && c < 0x7f && c != '\\' && c != '"';
    n += printable ? (size_t)snprintf(out + n, out_size - n, "%c", c)
                   : (size_t)snprintf(out + n, out_size - n, "\\x%02x", c);
  }
  if (in[i] != '\0' && n < out_size) snprintf(out + n, out_size - n, "...");
}

/* The table of struct_name, or NULL after recording the error. */
static const abi_struct* find_struct(const char* fn, const char* struct_name) {
  for (size_t i = 0; i < sizeof structs / sizeof structs[0]; i++) {
    if (strcmp(struct_name, structs[i].name) == 0) return &structs[i];
  }
  char echo[4 * ECHO_MAX + 4];
  echo_name(struct_name, echo, sizeof echo);
  qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: struct_name \"%s\" is not a public qeq struct", fn,
           echo);
  return NULL;
}

/* QEQ_ERROR_INVALID_ARGUMENT naming the first NULL of `count` (name, pointer) pairs, or QEQ_OK. */
static qeq_status check_not_null(const char* fn, int count, const char* const* names,
                                 const void* const* pointers) {
  for (int i = 0; i < count; i++) {
    if (pointers[i] == NULL) {
      return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: %s is NULL", fn, names[i]);
    }
  }
  return QEQ_OK;
}

qeq_status qeq_abi_struct_layout(const char* struct_name, size_t* size, size_t* field_count) {
  static const char fn[] = "qeq_abi_struct_layout";
  static const char* const names[] = {"struct_name", "size", "field_count"};
  const void* const pointers[] = {struct_name, size, field_count};
  qeq_status status = check_not_null(fn, 3, names, pointers);
  if (status != QEQ_OK) return status;
  const abi_struct* s = find_struct(fn, struct_name);
  if (s == NULL) return QEQ_ERROR_INVALID_ARGUMENT;
  *size = s->size;
  *field_count = s->field_count;
  return QEQ_OK;
}

qeq_status qeq_abi_field_name(const char* struct_name, size_t index, const char** field_name) {
  static const char fn[] = "qeq_abi_field_name";
  static const char* const names[] = {"struct_name", "field_name"};
  const void* const pointers[] = {struct_name, field_name};
  qeq_status status = check_not_null(fn, 2, names, pointers);
  if (status != QEQ_OK) return status;
  const abi_struct* s = find_struct(fn, struct_name);
  if (s == NULL) return QEQ_ERROR_INVALID_ARGUMENT;
  if (index >= s->field_count) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: index %zu is not below %s's %zu fields", fn,
                    index, s->name, s->field_count);
  }
  *field_name = s->fields[index].name;
  return QEQ_OK;
}

qeq_status qeq_abi_field_layout(const char* struct_name, const char* field_name, size_t* offset,
                                size_t* size) {
  static const char fn[] = "qeq_abi_field_layout";
  static const char* const names[] = {"struct_name", "field_name", "offset", "size"};
  const void* const pointers[] = {struct_name, field_name, offset, size};
  qeq_status status = check_not_null(fn, 4, names, pointers);
  if (status != QEQ_OK) return status;
  const abi_struct* s = find_struct(fn, struct_name);
  if (s == NULL) return QEQ_ERROR_INVALID_ARGUMENT;
  for (size_t i = 0; i < s->field_count; i++) {
    if (strcmp(field_name, s->fields[i].name) == 0) {
      *offset = s->fields[i].offset;
      *size = s->fields[i].size;
      return QEQ_OK;
    }
  }
  char echo[4 * ECHO_MAX + 4];
  echo_name(field_name, echo, sizeof echo);
  return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: field_name \"%s\" is not a field of %s", fn,
                  echo, s->name);
}
