// Before anything is timed: each peer's output against qeq's on the same operands, on every
// benchmark layer, every distinct network layer and two small odd layers, so the figures
// compare the same work. oneDNN is compared with qeq as benchmarked (quint8, onednn engine);
// XNNPACK's qint8 output with qeq configured alike (qint8, qnnpack engine). A peer agrees
// when no output differs by more than 1 (the engines may round a tie the other way). A 7-bit
// peer (ConvImpl::u7) is compared with qeq on the same 7-bit problems.
#ifndef QEQ_BENCH_CONV_PEER_CHECK_H
#define QEQ_BENCH_CONV_PEER_CHECK_H

#include <cstdio>
#include <string>

#include "conv/conv-benchmarks.h"

// Prints a line per disagreeing layer and one verdict line; returns whether it agreed.
bool check_conv_peer(const ConvImpl& peer, std::FILE* out, std::string* verdict);

#endif  // QEQ_BENCH_CONV_PEER_CHECK_H
