// Number formatting shared by the benchmarks' summary tables: "-" stands for a figure that
// is missing (not built, skipped, or zero).
#ifndef QEQ_BENCH_TABLE_FORMAT_H
#define QEQ_BENCH_TABLE_FORMAT_H

#include <cstdio>
#include <string>

inline std::string fixed(double v, int precision) {
  if (!(v > 0)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", precision, v);
  return buf;
}

inline std::string ratio(double a, double b) {
  return a > 0 && b > 0 ? fixed(a / b, 2) : "-";
}

#endif  // QEQ_BENCH_TABLE_FORMAT_H
