/* Layer descriptors decoded from fuzz bytes, for the equalization and folding harnesses. */
#ifndef QEQ_TESTS_FUZZ_LAYER_H
#define QEQ_TESTS_FUZZ_LAYER_H

#include "tests/fuzz/fuzz.h"

/* A descriptor with `in` input and `out` output channels (0: decoded too), weight and bias
 * from fuzz_buffer; a depthwise Conv2d (groups == in == out) when depthwise is set. About
 * one in sixteen is broken on purpose (a zero or wrong dim, bad groups, kind or activation).
 * The descriptor itself is tracked, so the checks cover it. */
void fuzz_layer(fuzz* f, qeq_layer* layer, size_t in, size_t out, int depthwise);
/* Output channels of a valid descriptor, else 1 (the count a call would write). */
size_t fuzz_layer_out(const qeq_layer* layer);
size_t fuzz_layer_in(const qeq_layer* layer);

#endif /* QEQ_TESTS_FUZZ_LAYER_H */
