/* The tuning thresholds that can change at run time (for the tests). */
#include "src/base/tuning.h"

#include <stdatomic.h>

static _Atomic size_t stream_store_min_bytes = QEQ_STREAM_STORE_MIN_BYTES;

int qeq_tuning_stream_stores(size_t bytes) {
  return bytes >= atomic_load_explicit(&stream_store_min_bytes, memory_order_relaxed);
}

size_t qeq_tuning_test_set_stream_min_bytes(size_t min_bytes) {
  return atomic_exchange(&stream_store_min_bytes, min_bytes);
}
