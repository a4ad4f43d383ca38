/* Internal: recording a failure for qeq_last_error(). */
#ifndef QEQ_SRC_ERROR_H
#define QEQ_SRC_ERROR_H

#include <qeq/common.h>

/* Formats the thread's last-error message ("<function>: ..." is up to the caller) and
 * returns `status`, so failures read `return qeq_fail(QEQ_ERROR_..., "x is NULL");`. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
qeq_status
qeq_fail(qeq_status status, const char* format, ...);

#endif /* QEQ_SRC_ERROR_H */
