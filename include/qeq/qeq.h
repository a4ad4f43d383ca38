/* qeq: int8 quantization kernels and PyTorch-compatible preparation API (umbrella header). */
#ifndef QEQ_QEQ_H
#define QEQ_QEQ_H

#include <qeq/abi.h>
#include <qeq/bias.h>
#include <qeq/common.h>
#include <qeq/conv.h>
#include <qeq/equalize.h>
#include <qeq/fold.h>
#include <qeq/gemm.h>
#include <qeq/input_equalize.h>
#include <qeq/isa.h>
#include <qeq/layer.h>
#include <qeq/nhwc.h>
#include <qeq/qops.h>
#include <qeq/qparams.h>
#include <qeq/quantize.h>
#include <qeq/ranges.h>
#include <qeq/scale.h>
#include <qeq/shape.h>
#include <qeq/sqnr.h>

#endif /* QEQ_QEQ_H */
