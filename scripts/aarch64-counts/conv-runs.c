/* Creates one quint8 2-D convolution (symmetric per-tensor weights, so the indirect
 * path applies where the channel count allows) and runs it `runs` times on one image, for
 * counting instructions under qemu-user (scripts/count-conv-instructions-aarch64.sh).
 * Arguments: C O H W kernel stride padding runs. Prints the kernel and a checksum on stderr. */
#include <qeq/qeq.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char** argv) {
  if (argc != 9) {
    fprintf(stderr, "usage: %s C O H W kernel stride padding runs\n", argv[0]);
    return 2;
  }
  size_t v[8];
  for (int i = 0; i < 8; i++) v[i] = strtoul(argv[i + 1], NULL, 10);
  const size_t channels = v[0], outputs = v[1], height = v[2], width = v[3], kernel = v[4];
  qeq_conv_config c = qeq_conv_config_default();
  c.input_channels = channels, c.output_channels = outputs, c.groups = 1;
  c.kernel_height = c.kernel_width = kernel;
  c.stride_height = c.stride_width = v[5];
  c.padding_height = c.padding_width = v[6];
  const size_t weight_count = outputs * channels * kernel * kernel;
  int8_t* weights = malloc(weight_count);
  uint8_t* x = malloc(height * width * channels);
  if (weights == NULL || x == NULL) return 1;
  for (size_t i = 0; i < weight_count; i++) weights[i] = (int8_t)(i * 37 % 255 - 127);
  for (size_t i = 0; i < height * width * channels; i++) x[i] = (uint8_t)(i * 13);
  const float weight_scale = 0.01f;
  c.weights = weights;
  c.quant.weight_qparam_count = 1, c.quant.weight_scales = &weight_scale;
  c.quant.input_scale = 0.05f, c.quant.input_zero_point = 128;
  c.quant.output_scale = 0.5f, c.quant.output_zero_point = 128;
  qeq_conv* conv = NULL;
  size_t oh = 0, ow = 0;
  if (qeq_conv_create(&c, &conv) != QEQ_OK ||
      qeq_conv_output_size(conv, height, width, &oh, &ow) != QEQ_OK) {
    fprintf(stderr, "%s\n", qeq_last_error());
    return 1;
  }
  uint8_t* y = malloc(oh * ow * outputs);
  if (y == NULL) return 1;
  for (size_t r = 0; r < v[7]; r++) {
    if (qeq_conv_run(conv, 1, height, width, x, 0, y, 0, NULL) != QEQ_OK) {
      fprintf(stderr, "%s\n", qeq_last_error());
      return 1;
    }
  }
  unsigned sum = 0;
  for (size_t i = 0; i < oh * ow * outputs; i++) sum = sum * 31 + y[i];
  fprintf(stderr, "%s, output %zux%zu, checksum %u\n", qeq_conv_kernel_name(conv), oh, ow, sum);
  qeq_conv_destroy(conv);
  free(weights), free(x), free(y);
  return 0;
}
