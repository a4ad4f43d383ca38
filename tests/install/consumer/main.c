/* Uses the installed headers and library: version, a range and the dispatch query. */
#include <qeq/qeq.h>
#include <stdio.h>

int main(void) {
  const size_t dims[2] = {2, 3};
  const float w[6] = {1.0f, -2.0f, 3.0f, 4.0f, 5.0f, -6.0f};
  qeq_shape shape;
  float range[2];
  if (qeq_shape_init(&shape, 2, dims) != QEQ_OK) return 1;
  if (qeq_channel_range_f32(&shape, w, 0, range) != QEQ_OK) return 2;
  if (range[0] != 5.0f || range[1] != 11.0f) return 3;
  if (qeq_version() != QEQ_VERSION) return 4;
  printf("qeq %s, %s: ranges %g %g\n", qeq_version_string(), qeq_isa_name(qeq_isa_effective()),
         range[0], range[1]);
  return 0;
}
