// Baselines with the widest loads the CPU has, several independent accumulators, and no
// dependence on qeq's kernels.
#include "kernels/bandwidth-baselines.h"

#include <cstring>

namespace {
// Zero the compiler cannot see through, so identity stores are not removed as dead.
volatile int opaque_zero = 0;
}  // namespace

#if defined(__x86_64__)
#include <immintrin.h>

namespace {

bool has_avx512() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f");
}
bool has_avx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2");
}

__attribute__((target("avx512f"))) uint32_t read_avx512(const float* x, size_t n) {
  __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
  size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    a0 = _mm512_or_si512(a0, _mm512_loadu_si512(x + i));
    a1 = _mm512_or_si512(a1, _mm512_loadu_si512(x + i + 16));
    a2 = _mm512_or_si512(a2, _mm512_loadu_si512(x + i + 32));
    a3 = _mm512_or_si512(a3, _mm512_loadu_si512(x + i + 48));
  }
  const __m512i all = _mm512_or_si512(_mm512_or_si512(a0, a1), _mm512_or_si512(a2, a3));
  // Not _mm512_reduce_or_epi32: GCC 12's header trips -Wuninitialized on it.
  uint32_t lanes[16];
  _mm512_storeu_si512(lanes, all);
  uint32_t acc = 0;
  for (uint32_t lane : lanes) acc |= lane;
  for (; i < n; i++) {
    uint32_t bits;
    std::memcpy(&bits, x + i, sizeof bits);
    acc |= bits;
  }
  return acc;
}

__attribute__((target("avx512f"))) void read_write_avx512(float* x, size_t n) {
  const __m512i zero = _mm512_set1_epi32(opaque_zero);
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512i v0 = _mm512_loadu_si512(x + i);
    const __m512i v1 = _mm512_loadu_si512(x + i + 16);
    _mm512_storeu_si512(x + i, _mm512_or_si512(v0, zero));
    _mm512_storeu_si512(x + i + 16, _mm512_or_si512(v1, zero));
  }
  for (; i < n; i++) x[i] = x[i] + 0.0f;
}

__attribute__((target("avx2"))) uint32_t read_avx2(const float* x, size_t n) {
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    a0 = _mm256_or_si256(a0, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i)));
    a1 = _mm256_or_si256(a1, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i + 8)));
    a2 = _mm256_or_si256(a2, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i + 16)));
    a3 = _mm256_or_si256(a3, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i + 24)));
  }
  const __m256i all = _mm256_or_si256(_mm256_or_si256(a0, a1), _mm256_or_si256(a2, a3));
  uint32_t lanes[8];
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(lanes), all);
  uint32_t acc = 0;
  for (uint32_t lane : lanes) acc |= lane;
  for (; i < n; i++) {
    uint32_t bits;
    std::memcpy(&bits, x + i, sizeof bits);
    acc |= bits;
  }
  return acc;
}

__attribute__((target("avx2"))) void read_write_avx2(float* x, size_t n) {
  const __m256i zero = _mm256_set1_epi32(opaque_zero);
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256i* p = reinterpret_cast<__m256i*>(x + i);
    const __m256i v0 = _mm256_loadu_si256(p);
    const __m256i v1 = _mm256_loadu_si256(p + 1);
    _mm256_storeu_si256(p, _mm256_or_si256(v0, zero));
    _mm256_storeu_si256(p + 1, _mm256_or_si256(v1, zero));
  }
  for (; i < n; i++) x[i] = x[i] + 0.0f;
}

// Four quarters of the buffer read side by side, 64 bytes of each per step.
__attribute__((target("avx2"))) uint32_t read_4way_avx2(const float* x, size_t quarter) {
  const float* q[4] = {x, x + quarter, x + 2 * quarter, x + 3 * quarter};
  __m256i a[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(),
                  _mm256_setzero_si256()};
  for (size_t i = 0; i + 16 <= quarter; i += 16) {
    for (int k = 0; k < 4; k++) {
      const __m256i* p = reinterpret_cast<const __m256i*>(q[k] + i);
      a[k] =
          _mm256_or_si256(a[k], _mm256_or_si256(_mm256_loadu_si256(p), _mm256_loadu_si256(p + 1)));
    }
  }
  const __m256i all = _mm256_or_si256(_mm256_or_si256(a[0], a[1]), _mm256_or_si256(a[2], a[3]));
  uint32_t lanes[8];
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(lanes), all);
  uint32_t acc = 0;
  for (uint32_t lane : lanes) acc |= lane;
  return acc;
}

}  // namespace
#elif defined(__aarch64__)
#include <arm_neon.h>
#endif

namespace {

uint32_t read_scalar(const float* x, size_t n) {
  uint32_t acc[4] = {0, 0, 0, 0};
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    for (size_t k = 0; k < 4; k++) {
      uint32_t bits;
      std::memcpy(&bits, x + i + k, sizeof bits);
      acc[k] |= bits;
    }
  }
  for (; i < n; i++) {
    uint32_t bits;
    std::memcpy(&bits, x + i, sizeof bits);
    acc[0] |= bits;
  }
  return acc[0] | acc[1] | acc[2] | acc[3];
}

void read_write_scalar(float* x, size_t n) {
  // volatile keeps the identity store from being removed.
  volatile float* v = x;
  for (size_t i = 0; i < n; i++) v[i] = v[i];
}

uint32_t read_4way_scalar(const float* x, size_t quarter) {
  uint32_t acc[4] = {0, 0, 0, 0};
  for (size_t i = 0; i < quarter; i++) {
    for (size_t k = 0; k < 4; k++) {
      uint32_t bits;
      std::memcpy(&bits, x + k * quarter + i, sizeof bits);
      acc[k] |= bits;
    }
  }
  return acc[0] | acc[1] | acc[2] | acc[3];
}

#if defined(__aarch64__)
uint32_t read_4way_neon(const float* x, size_t quarter) {
  uint32x4_t a[4] = {vdupq_n_u32(0), vdupq_n_u32(0), vdupq_n_u32(0), vdupq_n_u32(0)};
  for (size_t i = 0; i + 8 <= quarter; i += 8) {
    for (size_t k = 0; k < 4; k++) {
      const float* p = x + k * quarter + i;
      a[k] = vorrq_u32(a[k], vorrq_u32(vreinterpretq_u32_f32(vld1q_f32(p)),
                                       vreinterpretq_u32_f32(vld1q_f32(p + 4))));
    }
  }
  const uint32x4_t all = vorrq_u32(vorrq_u32(a[0], a[1]), vorrq_u32(a[2], a[3]));
  return vgetq_lane_u32(all, 0) | vgetq_lane_u32(all, 1) | vgetq_lane_u32(all, 2) |
         vgetq_lane_u32(all, 3);
}
#endif

#if defined(__aarch64__)
uint32_t read_neon(const float* x, size_t n) {
  uint32x4_t a0 = vdupq_n_u32(0), a1 = a0, a2 = a0, a3 = a0;
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    a0 = vorrq_u32(a0, vreinterpretq_u32_f32(vld1q_f32(x + i)));
    a1 = vorrq_u32(a1, vreinterpretq_u32_f32(vld1q_f32(x + i + 4)));
    a2 = vorrq_u32(a2, vreinterpretq_u32_f32(vld1q_f32(x + i + 8)));
    a3 = vorrq_u32(a3, vreinterpretq_u32_f32(vld1q_f32(x + i + 12)));
  }
  const uint32x4_t all = vorrq_u32(vorrq_u32(a0, a1), vorrq_u32(a2, a3));
  uint32_t acc = vgetq_lane_u32(all, 0) | vgetq_lane_u32(all, 1) | vgetq_lane_u32(all, 2) |
                 vgetq_lane_u32(all, 3);
  return acc | read_scalar(x + i, n - i);
}

void read_write_neon(float* x, size_t n) {
  const uint32x4_t zero = vdupq_n_u32(static_cast<uint32_t>(opaque_zero));
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const uint32x4_t v0 = vreinterpretq_u32_f32(vld1q_f32(x + i));
    const uint32x4_t v1 = vreinterpretq_u32_f32(vld1q_f32(x + i + 4));
    vst1q_f32(x + i, vreinterpretq_f32_u32(vorrq_u32(v0, zero)));
    vst1q_f32(x + i + 4, vreinterpretq_f32_u32(vorrq_u32(v1, zero)));
  }
  read_write_scalar(x + i, n - i);
}
#endif

}  // namespace

uint32_t stream_read(const float* x, size_t n) {
#if defined(__x86_64__)
  static const bool avx512 = has_avx512(), avx2 = has_avx2();
  if (avx512) return read_avx512(x, n);
  if (avx2) return read_avx2(x, n);
#elif defined(__aarch64__)
  return read_neon(x, n);
#endif
  return read_scalar(x, n);
}

uint32_t stream_read_4way(const float* x, size_t n) {
  // Quarters of a multiple of 16 floats; the few elements left over are read plainly.
  const size_t quarter = n / 64 * 16;
  uint32_t acc = read_scalar(x + 4 * quarter, n - 4 * quarter);
#if defined(__x86_64__)
  static const bool avx2 = has_avx2();
  if (avx2) return acc | read_4way_avx2(x, quarter);
#elif defined(__aarch64__)
  return acc | read_4way_neon(x, quarter);
#endif
  return acc | read_4way_scalar(x, quarter);
}

void stream_read_write(float* x, size_t n) {
#if defined(__x86_64__)
  static const bool avx512 = has_avx512(), avx2 = has_avx2();
  if (avx512) return read_write_avx512(x, n);
  if (avx2) return read_write_avx2(x, n);
#elif defined(__aarch64__)
  return read_write_neon(x, n);
#endif
  read_write_scalar(x, n);
}

const char* stream_isa() {
#if defined(__x86_64__)
  if (has_avx512()) return "avx512";
  if (has_avx2()) return "avx2";
#elif defined(__aarch64__)
  return "neon";
#endif
  return "scalar";
}
