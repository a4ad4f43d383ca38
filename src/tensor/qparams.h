/* Internal: the qparams entry points with messages naming the public function called. */
#ifndef QEQ_SRC_QPARAMS_H
#define QEQ_SRC_QPARAMS_H

#include <qeq/qparams.h>

qeq_status qeq_quant_range_for(const char* fn, const qeq_observer_config* config,
                               int32_t* quant_min, int32_t* quant_max);
qeq_status qeq_calculate_qparams_for(const char* fn, const qeq_observer_config* config,
                                     size_t count, const float* min, const float* max, float* scale,
                                     int32_t* zero_point, float* zero_point_float);

#endif /* QEQ_SRC_QPARAMS_H */
