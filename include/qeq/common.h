/* qeq: common definitions — export macro, version, status codes, last error. */
#ifndef QEQ_COMMON_H
#define QEQ_COMMON_H

#include <stddef.h>

#if defined(_WIN32)
#define QEQ_API __declspec(dllexport)
#elif defined(__GNUC__)
#define QEQ_API __attribute__((visibility("default")))
#else
#define QEQ_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define QEQ_VERSION_MAJOR 0
#define QEQ_VERSION_MINOR 2
#define QEQ_VERSION_PATCH 0
/* MAJOR * 10000 + MINOR * 100 + PATCH */
#define QEQ_VERSION (QEQ_VERSION_MAJOR * 10000 + QEQ_VERSION_MINOR * 100 + QEQ_VERSION_PATCH)

/* The version of the library actually linked, in QEQ_VERSION's encoding. */
QEQ_API int qeq_version(void);
/* "MAJOR.MINOR.PATCH" of the library actually linked. */
QEQ_API const char* qeq_version_string(void);

/* Every fallible call returns one of these. On anything but QEQ_OK the call has
 * written nothing to its outputs, and qeq_last_error() names the problem. */
typedef enum qeq_status {
  QEQ_OK = 0,
  QEQ_ERROR_INVALID_ARGUMENT = 1, /* NULL pointer, bad axis, bad ndim, aliasing ... */
  QEQ_ERROR_UNSUPPORTED = 2,      /* valid request this CPU/build cannot serve */
  QEQ_ERROR_SHAPE_MISMATCH = 3,   /* operands whose shapes do not fit together */
  QEQ_ERROR_OUT_OF_MEMORY = 4,    /* an internal workspace could not be allocated */
  QEQ_ERROR_NON_FINITE = 5,       /* NaN or infinity where a finite value is required */
  /* an element count that does not fit in size_t, or a byte count or offset into one buffer
   * (strides included) beyond PTRDIFF_MAX, where pointer arithmetic stops being defined */
  QEQ_ERROR_SIZE_OVERFLOW = 6,
} qeq_status;

/* A static, human-readable name for a status ("ok", "invalid argument", ...). */
QEQ_API const char* qeq_status_string(qeq_status status);

/* The message of the most recent failing qeq call on this thread, naming the offending
 * argument. Never NULL; "" if no call on this thread has failed yet. Successful calls
 * leave it unchanged. The pointer stays valid until the thread's next qeq call. */
QEQ_API const char* qeq_last_error(void);

#ifdef __cplusplus
}
#endif

#endif /* QEQ_COMMON_H */
