/* ThreadSanitizer cannot see the synchronisation inside Debian's libpthreadpool (built
 * without -fsanitize=thread, it waits on futexes and atomics TSan does not observe), so it
 * would report the pool's workers and the caller as racing on the GEMM's buffers. Linked
 * with -Wl,--wrap=pthreadpool_parallelize_2d_tile_2d (the one entry point qeq uses), this
 * states the edges pthreadpool guarantees: the call happens before every task, and every
 * task before the call returns. Races within qeq stay visible. */
#include <pthreadpool.h>
#include <stddef.h>
#include <stdint.h>

void __tsan_acquire(void* addr);
void __tsan_release(void* addr);
void __real_pthreadpool_parallelize_2d_tile_2d(pthreadpool_t pool,
                                               pthreadpool_task_2d_tile_2d_t function,
                                               void* context, size_t range_i, size_t range_j,
                                               size_t tile_i, size_t tile_j, uint32_t flags);
void __wrap_pthreadpool_parallelize_2d_tile_2d(pthreadpool_t pool,
                                               pthreadpool_task_2d_tile_2d_t function,
                                               void* context, size_t range_i, size_t range_j,
                                               size_t tile_i, size_t tile_j, uint32_t flags);

typedef struct hop {
  pthreadpool_task_2d_tile_2d_t function;
  void* context;
} hop;

static void task(void* arg, size_t i, size_t j, size_t tile_i, size_t tile_j) {
  hop* h = arg;
  __tsan_acquire(h);
  h->function(h->context, i, j, tile_i, tile_j);
  __tsan_release(h);
}

void __wrap_pthreadpool_parallelize_2d_tile_2d(pthreadpool_t pool,
                                               pthreadpool_task_2d_tile_2d_t function,
                                               void* context, size_t range_i, size_t range_j,
                                               size_t tile_i, size_t tile_j, uint32_t flags) {
  hop h = {function, context};
  __tsan_release(&h);
  __real_pthreadpool_parallelize_2d_tile_2d(pool, task, &h, range_i, range_j, tile_i, tile_j,
                                            flags);
  __tsan_acquire(&h);
}
