/* Status names and the per-thread last-error message. */
#include "src/base/error.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char last_error[256];

qeq_status qeq_fail(qeq_status status, const char* format, ...) {
  va_list args;
  va_start(args, format);
  vsnprintf(last_error, sizeof last_error, format, args);
  va_end(args);
  return status;
}

const char* qeq_last_error(void) {
  return last_error;
}

const char* qeq_status_string(qeq_status status) {
  switch (status) {
    case QEQ_OK: return "ok";
    case QEQ_ERROR_INVALID_ARGUMENT: return "invalid argument";
    case QEQ_ERROR_UNSUPPORTED: return "unsupported";
    case QEQ_ERROR_SHAPE_MISMATCH: return "shape mismatch";
    case QEQ_ERROR_OUT_OF_MEMORY: return "out of memory";
    case QEQ_ERROR_NON_FINITE: return "non-finite input";
    case QEQ_ERROR_SIZE_OVERFLOW: return "size overflow";
  }
  return "unknown status";
}
