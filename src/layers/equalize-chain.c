/* qeq_equalize's fused sweep for chains of plain layers (groups 1, not transposed, every
 * weight in one position only): one read-and-write pass per layer and sweep instead of a
 * min/max read of each side and a scaling pass per pair.
 *
 * Layer j of a chain is scaled by pair j - 1 along its input channels and by pair j along its
 * output channels. Its pass walks row blocks small enough to stay in L1/L2: it applies pair
 * j - 1's scales, takes each row's min/max (and sum of squares), computes pair j's scales for
 * those rows (pair j's other side, layer j + 1's input channels, is known from its previous
 * pass), applies them, and accumulates the input-channel min/max of the finished rows for the
 * next sweep.
 *
 * A layer's output scaling (rows of 32 elements or more) is not written back in the sweep
 * that computes it: the pass that needs its column statistics takes them from the products
 * without storing them, and the layer's next pass multiplies each row by its pending scale
 * before anything else, rounding exactly where a stored product would have been rounded. The
 * pending scales are written once, when the sweeps end. So the first layer of a chain is read
 * and written once per sweep instead of twice, and a middle layer's second pass only reads.
 *
 * Sums of squares only feed the change that decides convergence, and exact ones (in double, in
 * the kernels' lane order) are a large part of a sweep's time (the figures: CHANGELOG.md,
 * "Measurements behind decisions", and bench/results/2026-12-04-zen4.md). A sweep that is not
 * expected to be the last takes rough ones (in float) and from them a lower bound of every
 * change it derives; when the bounds already reach the threshold, the sweep has not converged
 * and the exact figure is not needed. Otherwise the exact sums are taken again from the weights:
 * a deferred layer still holds, when the sweep ends, exactly the values whose squares its change
 * needs (its output scaling is pending). So the decision, and the report, are those of the exact
 * sums; which sweeps are rough (a guess from how fast the change falls) only moves time. The
 * sweep guessed to be the last writes its output scalings at once instead of deferring them.
 *
 * Every weight sees the same multiplications in the same order as in the general sweep, and
 * every min/max and sum of squares is computed from the same values in the same order, so the
 * results are the same bits. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "dispatch/dispatch.h"
#include "src/base/error.h"
#include "src/base/shape.h"
#include "src/base/tuning.h"
#include "src/base/workspace.h"
#include "src/layers/cle-scales.h"
#include "src/layers/equalize-internal.h"
#include "src/layers/layer.h"
#include "src/tensor/ranges.h"

/* The layer's row view (output channels of length cols * kernel) and its input-channel view. */
static qeq_axis_view rows_view(const pair_plan* plan, int second) {
  const qeq_channel_set* set = second ? &plan->consumed : &plan->produced;
  const size_t rows = set->block_shape.dims[0];
  const size_t row_length = set->block_shape.dims[1] * set->block_shape.dims[2];
  const qeq_axis_view v = {1, rows, row_length, rows * row_length};
  return v;
}

static qeq_axis_view input_channels_view(const pair_plan* plan) {
  const size_t* dims = plan->consumed.block_shape.dims;
  const qeq_axis_view v = {dims[0], dims[1], dims[2], dims[0] * dims[1] * dims[2]};
  return v;
}

static int starts_chain(const pair_plan* plans, size_t p) {
  return p == 0 || plans[p].first != plans[p - 1].second;
}

static int ends_chain(const pair_plan* plans, size_t pair_count, size_t p) {
  return p + 1 == pair_count || plans[p + 1].first != plans[p].second;
}

int qeq_equalize_chain_fusable(const pair_plan* plans, size_t pair_count, size_t distinct_count,
                               size_t layer_count) {
  if (pair_count == 0 || distinct_count != layer_count) return 0;
  for (size_t p = 0; p < pair_count; p++) {
    const pair_plan* plan = &plans[p];
    if (plan->produced.blocks != 1 || plan->produced.axis != 0 || plan->consumed.blocks != 1 ||
        plan->consumed.axis != 1) {
      return 0;
    }
    const qeq_axis_view in = input_channels_view(plan);
    if (!qeq_minmax_rows_streamable(&in)) return 0;
  }
  return 1;
}

/* Everything the sweeps need, allocated before the first write. */
typedef struct chain_scratch {
  float* block;       /* one allocation for the float arrays below */
  float* col_min;     /* per pair: its second layer's input-channel min, at pair_offset[p] */
  float* col_max;     /* likewise max */
  double* col_square; /* likewise sums of squares (used for the last pair of each chain) */
  size_t* pair_offset;
  float* row_min; /* the layer in hand: per output channel */
  float* row_max;
  double* row_square;
  float* scale_in; /* the previous pair's scales, applied along input channels */
  float* scale_out;
  float* inv_scale_out;
  float* expanded;            /* scale_in, each repeated kernel times (the first layer: ones) */
  float* pending;             /* per pair: its first layer's output scales not yet written back */
  unsigned char* has_pending; /* per pair: whether `pending` holds them */
  unsigned char* rough;       /* per pair: its first layer's change this sweep is a lower bound */
  float* rough_squares;       /* the layer in hand: rough sums of squares per output channel */
  float* row_work;            /* min/max workspace of a block of rows */
  float* col_work;            /* the input-channel accumulators, kept across a layer's blocks */
} chain_scratch;

static size_t block_rows(size_t row_length) {
  const size_t rows = QEQ_FUSED_BLOCK_ELEMENTS / row_length;
  return rows > 0 ? rows : 1;
}

static void chain_scratch_free(chain_scratch* s) {
  free(s->block);
  free(s->has_pending);
  free(s->rough);
  free(s->col_square);
  free(s->pair_offset);
  free(s->row_square);
  qeq_aligned_free(s->row_work);
  qeq_aligned_free(s->col_work);
}

static int chain_scratch_alloc(chain_scratch* s, const pair_plan* plans, size_t pair_count) {
  *s = (chain_scratch){0};
  size_t total = 0, max_channels = 1, max_row = 1, row_work = 0, col_work = 0;
  s->pair_offset = malloc(pair_count * sizeof *s->pair_offset);
  if (s->pair_offset == NULL) return 0;
  for (size_t p = 0; p < pair_count; p++) {
    s->pair_offset[p] = total;
    total += plans[p].channels;
    for (int side = 0; side < 2; side++) {
      const qeq_axis_view rows = rows_view(&plans[p], side);
      if (rows.channels > max_channels) max_channels = rows.channels;
      if (rows.inner > max_row) max_row = rows.inner;
      const size_t n = block_rows(rows.inner);
      const qeq_axis_view block = {1, n, rows.inner, n * rows.inner};
      const size_t w = qeq_minmax_workspace_floats(&block);
      if (w > row_work) row_work = w;
    }
    const qeq_axis_view in = input_channels_view(&plans[p]);
    const size_t w = qeq_minmax_workspace_floats(&in);
    if (w > col_work) col_work = w;
  }
  /* Sizes are bounded by the weights, which the caller checked fit in memory. */
  s->block = malloc((3 * total + 6 * max_channels + max_row) * sizeof(float));
  s->has_pending = calloc(pair_count, 1);
  s->rough = calloc(pair_count, 1);
  s->col_square = malloc(total * sizeof(double));
  s->row_square = malloc(max_channels * sizeof(double));
  int ok = 1;
  s->row_work = qeq_workspace_acquire(row_work, &ok);
  s->col_work = ok ? qeq_workspace_acquire(col_work, &ok) : NULL;
  if (s->block == NULL || s->has_pending == NULL || s->rough == NULL || s->col_square == NULL ||
      s->row_square == NULL || !ok) {
    chain_scratch_free(s);
    return 0;
  }
  s->col_min = s->block;
  s->col_max = s->col_min + total;
  s->row_min = s->col_max + total;
  s->row_max = s->row_min + max_channels;
  s->scale_in = s->row_max + max_channels;
  s->scale_out = s->scale_in + max_channels;
  s->inv_scale_out = s->scale_out + max_channels;
  s->expanded = s->inv_scale_out + max_channels;
  s->rough_squares = s->expanded + max_row;
  s->pending = s->rough_squares + max_channels;
  for (size_t i = 0; i < total; i++) s->pending[i] = 1.0f;
  return 1;
}

/* A lower bound of the exact sum of squares (f32_rminmax's, in double) of a row of `width`
 * elements whose rough sum (ukernels.h) is `rough`. The rough sum is within gamma = w u / (1 -
 * w u) of the true sum relatively (u = 2^-24, w = width), plus w 2^-149; the exact one within
 * (w + 6) 2^-53, far less. For w u <= 1/4, scaling by 1 - 4 w u covers both and the roundings
 * here. An overflowed (+Inf) rough sum, or a row too long for the bound, gives 0. */
static double rough_squares_low(float rough, size_t width) {
  const double wu = (double)width * 0x1p-24;
  if (!(rough <= FLT_MAX) || wu > 0.25) return 0.0;
  const double low = ((double)rough - (double)width * 0x1p-149) * (1.0 - 4.0 * wu);
  return low > 0.0 ? low : 0.0;
}

/* One layer's pass: scaled along its input channels by pair `in` (SIZE_MAX: none) with
 * s->scale_in, and along its output channels by pair `out` (SIZE_MAX: none), whose scales it
 * computes into s->scale_out / s->inv_scale_out. */
static qeq_status layer_pass(const char* fn, const pair_plan* plans, size_t pair_count, size_t in,
                             size_t out, const size_t* first_index, const size_t* second_index,
                             int likely_last, double* change, chain_scratch* s) {
  const size_t none = SIZE_MAX;
  const pair_plan* plan = in != none ? &plans[in] : &plans[out];
  qeq_layer* layer = in != none ? plan->second : plan->first;
  const qeq_axis_view rows = rows_view(plan, in != none);
  const size_t row_length = rows.inner, step = block_rows(row_length);
  qeq_axis_view in_view = {0, 0, 0, 0};
  int in_squares = 0;
  if (in != none) {
    in_view = input_channels_view(plan);
    in_squares = ends_chain(plans, pair_count, in);
    const size_t kernel = in_view.inner, offset = s->pair_offset[in];
    /* As the last layer, its change is the one its input scaling makes (pair `in` is the
     * last to touch it), from the sums of squares of its previous pass. */
    if (in_squares) {
      change[second_index[in]] =
          qeq_cle_scaled_change(s->col_square + offset, s->scale_in, in_view.channels);
    }
    for (size_t c = 0; c < in_view.channels; c++) {
      for (size_t k = 0; k < kernel; k++) s->expanded[c * kernel + k] = s->scale_in[c];
    }
    qeq_minmax_rows_begin(&in_view, in_squares, s->col_work);
  }
  const float* col_min = out != none ? s->col_min + s->pair_offset[out] : NULL;
  const float* col_max = out != none ? s->col_max + s->pair_offset[out] : NULL;
  qeq_f32_vscale_ukernel_fn* vscale = QEQ_DISPATCH(f32_vscale);
  qeq_f32_rscale_ukernel_fn* rscale = QEQ_DISPATCH(f32_rscale);
  qeq_f32_vscale_rminmax_ukernel_fn* vscale_rminmax = QEQ_DISPATCH(f32_vscale_rminmax);
  /* A layer scaled on its output side defers that scaling (see the top of the file) when its
   * rows are long enough for the fused kernels: one pass per block applies its pending output
   * scales and its input scales (ones for a chain's first layer) and takes the row statistics;
   * a middle layer then reads the block again for the column statistics of the new output
   * scaling, storing nothing. A first layer with nothing pending (the first sweep, or the one
   * after a sweep wrongly guessed to be the last) only reads. The last layer of a chain takes one
   * pass (its input scaling with the column statistics). Nothing here is NaN, as the fused kernels
   * require: the weights were checked finite, and scales are finite and positive with products
   * checked not to overflow (qeq_cle_channel_scales). Rows shorter than QEQ_RUN_KERNEL_MIN_INNER
   * keep separate passes for the row statistics, whose sums of squares run in another order. */
  const int deferred = out != none && row_length >= QEQ_RUN_KERNEL_MIN_INNER;
  const int fused_last = in != none && out == none;
  float* pending = deferred ? s->pending + s->pair_offset[out] : NULL;
  const int read_only = deferred && in == none && !s->has_pending[out];
  /* In a sweep that is not likely the last, rough sums where the stored rows are the ones
   * squared; in one that is, the output scaling written at once (not deferred to a pass that
   * may never come: the write-back after the sweeps would read and write the layer again). */
  const int rough = !likely_last && deferred && !read_only;
  const int eager = likely_last && deferred;
  if (deferred && in == none) {
    for (size_t k = 0; k < row_length; k++) s->expanded[k] = 1.0f;
  }
  /* Flagged before the first block: should a block fail, the rows before it (whose biases are
   * already scaled) still get their pending scales written back, and the others theirs from the
   * sweep before (or 1.0). An eager pass leaves the flag as it is and sets the pending scale of
   * each row it has written to 1.0. */
  if (deferred && !eager) s->has_pending[out] = 1;
  for (size_t r0 = 0; r0 < rows.channels; r0 += step) {
    const size_t n = rows.channels - r0 < step ? rows.channels - r0 : step;
    float* x = layer->weight + r0 * row_length;
    if (deferred && !read_only) {
      vscale_rminmax(n, row_length, x, pending + r0, s->expanded, x, s->row_min + r0,
                     s->row_max + r0, rough ? NULL : s->row_square + r0,
                     rough ? s->rough_squares + r0 : NULL);
    } else if (!fused_last) {
      if (in != none) vscale(n, row_length, row_length, x, s->expanded, x);
      if (out != none) {
        const qeq_axis_view block = {1, n, row_length, n * row_length};
        qeq_minmax_squares_view(&block, x, s->row_min + r0, s->row_max + r0, s->row_square + r0,
                                s->row_work);
      }
    }
    if (out != none) {
      const qeq_status status =
          qeq_cle_channel_scales(fn, s->row_min, s->row_max, col_min, col_max, layer->bias, r0,
                                 r0 + n, s->scale_out, s->inv_scale_out);
      if (status != QEQ_OK) return status;
      for (size_t r = r0; layer->bias != NULL && r < r0 + n; r++) {
        layer->bias[r] *= s->inv_scale_out[r];
      }
    }
    if (eager) {
      if (in != none) {
        qeq_minmax_rows_scale_add(&in_view, in_squares, x, s->inv_scale_out + r0, NULL, n, 1,
                                  s->col_work);
      } else {
        rscale(1, n, row_length, x, s->inv_scale_out + r0, x);
      }
      for (size_t r = r0; r < r0 + n; r++) pending[r] = 1.0f;
    } else if (deferred) {
      if (in != none) {
        qeq_minmax_rows_scale_add(&in_view, in_squares, x, s->inv_scale_out + r0, NULL, n, 0,
                                  s->col_work);
      }
      for (size_t r = r0; r < r0 + n; r++) pending[r] = s->inv_scale_out[r];
    } else if (fused_last) {
      qeq_minmax_rows_scale_add(&in_view, in_squares, x, NULL, s->expanded, n, 1, s->col_work);
    } else {
      if (out != none) rscale(1, n, row_length, x, s->inv_scale_out + r0, x);
      if (in != none) qeq_minmax_rows_add(&in_view, in_squares, x, n, s->col_work);
    }
  }
  if (in != none) {
    const size_t offset = s->pair_offset[in];
    qeq_minmax_rows_end(&in_view, s->col_min + offset, s->col_max + offset,
                        in_squares ? s->col_square + offset : NULL, s->col_work);
  }
  if (eager) s->has_pending[out] = 0; /* every row written, every pending scale 1.0 */
  if (out != none) {
    for (size_t r = 0; rough && r < rows.channels; r++) {
      s->row_square[r] = rough_squares_low(s->rough_squares[r], row_length);
    }
    s->rough[out] = (unsigned char)rough;
    change[first_index[out]] =
        qeq_cle_scaled_change(s->row_square, s->inv_scale_out, rows.channels);
    /* The next layer's input scaling. */
    float* swap = s->scale_in;
    s->scale_in = s->scale_out;
    s->scale_out = swap;
  }
  return QEQ_OK;
}

/* NaN or Inf in `layer` (layers[index]), named by its first position as qeq_equalize's own
 * check names it: scanned when min is NULL, else only if the per-channel min/max just taken
 * over the whole weight show one. */
static qeq_status check_finite(const char* fn, const qeq_layer* layer, size_t index,
                               const float* min, const float* max, size_t channels) {
  int bad = min == NULL;
  for (size_t c = 0; !bad && c < channels; c++) bad = !isfinite(min[c]) || !isfinite(max[c]);
  if (!bad) return QEQ_OK;
  const size_t numel = qeq_layer_weight_bytes(layer) / sizeof(float);
  const size_t k = qeq_first_non_finite(layer->weight, numel);
  if (k == numel) return QEQ_OK;
  return qeq_fail(QEQ_ERROR_NON_FINITE, "%s: layers[%zu]'s weight[%zu] is NaN or Inf", fn, index,
                  k);
}

static _Thread_local qeq_chain_sweep_hook* chain_hook;

void qeq_equalize_test_set_chain_hook(qeq_chain_sweep_hook* hook) {
  chain_hook = hook;
}

static void note(qeq_chain_sweep_event event) {
  if (chain_hook != NULL) chain_hook(event);
}

static float change_total(const double* change, size_t distinct_count) {
  float total = 0.0f;
  for (size_t i = 0; i < distinct_count; i++) total += (float)change[i];
  return total;
}

/* Whether sweep number `done` (from 0) is likely the last, so should take exact sums of squares
 * and write its output scalings at once: the last one allowed, or one whose change, falling as
 * fast as the last one did, would be near the threshold. A wrong guess costs time, not bits (see
 * the top of the file). */
static int likely_last_sweep(size_t done, size_t max_sweeps, float threshold, float last_total,
                             float total_before) {
  if (done + 1 >= max_sweeps) return 1;
  if (last_total < 0.0f) return 0;
  double expected = last_total;
  if (total_before > 0.0f && last_total < total_before) {
    expected *= (double)last_total / (double)total_before;
  }
  return expected < 1.5 * (double)threshold;
}

/* The exact changes of the layers whose change this sweep is only a lower bound, from the sums
 * of squares of the rows they hold (see the top of the file). */
static void exact_changes(const pair_plan* plans, size_t pair_count, const size_t* first_index,
                          double* change, chain_scratch* s) {
  for (size_t p = 0; p < pair_count; p++) {
    if (!s->rough[p]) continue;
    /* Rough rows are deferred ones, at least QEQ_RUN_KERNEL_MIN_INNER long: the run kernel
     * takes the whole layer, with no workspace. */
    const qeq_axis_view rows = rows_view(&plans[p], 0);
    qeq_minmax_squares_view(&rows, plans[p].first->weight, s->row_min, s->row_max, s->row_square,
                            s->row_work);
    change[first_index[p]] =
        qeq_cle_scaled_change(s->row_square, s->pending + s->pair_offset[p], rows.channels);
    s->rough[p] = 0;
  }
}

qeq_status qeq_equalize_chain_sweeps(const char* fn, const pair_plan* plans, size_t pair_count,
                                     const size_t* first_index, const size_t* second_index,
                                     double* change, size_t distinct_count, float threshold,
                                     size_t max_sweeps, qeq_equalize_report* result) {
  chain_scratch s;
  if (!chain_scratch_alloc(&s, plans, pair_count)) {
    return qeq_fail(QEQ_ERROR_OUT_OF_MEMORY, "%s: cannot allocate scratch", fn);
  }
  /* Input-channel min/max of every second layer as it stands (and the sums of squares of the
   * last ones, for their change in the first sweep). These reads check the weights for NaN and
   * Inf before anything is written, in layer order (qeq_equalize leaves it to this pass). */
  qeq_status status = QEQ_OK;
  for (size_t p = 0; status == QEQ_OK && p < pair_count; p++) {
    if (starts_chain(plans, p))
      status = check_finite(fn, plans[p].first, first_index[p], NULL, NULL, 0);
    const size_t offset = s.pair_offset[p];
    qeq_channel_set_minmax_squares(
        &plans[p].consumed, plans[p].second->weight, s.col_min + offset, s.col_max + offset,
        ends_chain(plans, pair_count, p) ? s.col_square + offset : NULL, s.col_work);
    if (status == QEQ_OK) {
      status = check_finite(fn, plans[p].second, second_index[p], s.col_min + offset,
                            s.col_max + offset, plans[p].channels);
    }
  }
  if (status != QEQ_OK) {
    chain_scratch_free(&s);
    return status;
  }
  const size_t none = SIZE_MAX;
  *result = (qeq_equalize_report){0, 0.0, 0};
  float last_total = -1.0f, total_before = -1.0f; /* the last two sweeps' totals (or bounds) */
  while (status == QEQ_OK && result->sweeps < max_sweeps) {
    const int likely_last =
        likely_last_sweep(result->sweeps, max_sweeps, threshold, last_total, total_before);
    for (size_t p = 0; status == QEQ_OK && p < pair_count; p++) {
      if (starts_chain(plans, p)) {
        status = layer_pass(fn, plans, pair_count, none, p, first_index, second_index, likely_last,
                            change, &s);
      }
      const size_t next = ends_chain(plans, pair_count, p) ? none : p + 1;
      if (status == QEQ_OK) {
        status = layer_pass(fn, plans, pair_count, p, next, first_index, second_index, likely_last,
                            change, &s);
      }
    }
    if (status != QEQ_OK) break;
    result->sweeps++;
    /* PyTorch sums the per-layer norms into a float32 scalar. */
    float total = change_total(change, distinct_count);
    total_before = last_total;
    last_total = total;
    int bounded = 0;
    for (size_t p = 0; p < pair_count; p++) bounded |= s.rough[p];
    if (bounded) {
      /* Each operation of the total is monotonic, so bounds below each change give a total
       * below the exact one: at the threshold already, the sweep has not converged. */
      note(QEQ_CHAIN_SWEEP_ROUGH);
      if (total >= threshold && result->sweeps < max_sweeps) {
        note(QEQ_CHAIN_SWEEP_SETTLED_BY_BOUNDS);
        continue;
      }
      note(QEQ_CHAIN_SWEEP_RETAKEN);
      exact_changes(plans, pair_count, first_index, change, &s);
      total = change_total(change, distinct_count);
    }
    result->final_change = total;
    if (total < threshold) result->converged = 1;
    if (result->converged) break;
    if (likely_last) note(QEQ_CHAIN_SWEEP_WRONGLY_GUESSED_LAST);
  }
  /* The deferred output scalings, written back (also after a failed sweep, so that every
   * weight holds what its last pass made of it); none when the last sweep was guessed. */
  for (size_t p = 0; p < pair_count; p++) {
    if (!s.has_pending[p]) continue;
    const qeq_axis_view rows = rows_view(&plans[p], 0);
    float* w = plans[p].first->weight;
    QEQ_DISPATCH(f32_rscale)
    (1, rows.channels, rows.inner, w, s.pending + s.pair_offset[p], w);
  }
  chain_scratch_free(&s);
  return status;
}
