#include "conv/conv-peer-check.h"

#include <cstdlib>
#include <vector>

#include "conv/conv-networks.h"

namespace {

struct Agreement {
  size_t equal = 0, off_by_one = 0, total = 0;
  int worst = 0;
};

// Compares one layer; false if either side could not run.
bool compare(const ConvImpl& peer, const ConvShape& s, Agreement* a, std::string* error) {
  const ConvProblem& p = conv_problem_of(peer, s);
  std::unique_ptr<ConvRunner> theirs = peer.make(p, 1, error);
  std::unique_ptr<ConvRunner> ours =
      theirs ? make_qeq_conv(p, peer.signed_output, nullptr, error) : nullptr;
  if (!ours || !theirs->run() || !ours->run()) {
    if (error->empty()) *error = "run failed";
    return false;
  }
  const size_t n = conv_output_height(s) * conv_output_width(s) * s.o;
  const auto* y = static_cast<const uint8_t*>(theirs->output());
  const auto* ref = static_cast<const uint8_t*>(ours->output());
  for (size_t i = 0; i < n; i++) {  // both unsigned or both signed: the difference is the same
    const int d = std::abs(static_cast<int>(y[i]) - static_cast<int>(ref[i]));
    a->equal += d == 0;
    a->off_by_one += d == 1;
    a->worst = d > a->worst ? d : a->worst;
  }
  a->total += n;
  return true;
}

}  // namespace

bool check_conv_peer(const ConvImpl& peer, std::FILE* out, std::string* verdict) {
  std::vector<ConvShape> layers(std::begin(kConvLayers), std::end(kConvLayers));
  layers.push_back({"odd 13x11x19_3x3s2_21", 13, 11, 19, 21, 1, 3, 2, 1});
  layers.push_back({"odd 9x7x35_dw3x3", 9, 7, 35, 35, 35, 3, 1, 1});
  for (const ConvNetwork& net : kConvNetworks)
    layers.insert(layers.end(), net.layers, net.layers + net.count);
  Agreement total;
  size_t bad = 0;
  for (const ConvShape& s : layers) {
    Agreement a;
    std::string error;
    const bool ran = compare(peer, s, &a, &error);
    if (ran && a.equal + a.off_by_one == a.total) {
      total.equal += a.equal, total.off_by_one += a.off_by_one, total.total += a.total;
      total.worst = a.worst > total.worst ? a.worst : total.worst;
      continue;
    }
    bad++;
    if (ran) {
      std::fprintf(out, "check %s against qeq at %s: MISMATCH, %zu of %zu equal, max |diff| %d\n",
                   peer.title.c_str(), s.name, a.equal, a.total, a.worst);
    } else {
      std::fprintf(out, "check %s against qeq at %s: FAILED TO RUN: %s\n", peer.title.c_str(),
                   s.name, error.c_str());
    }
  }
  const std::string against = peer.signed_output ? "qeq (qint8, qnnpack engine)"
                              : peer.u7          ? "qeq (7-bit quint8 activations, onednn engine)"
                                                 : "qeq (quint8, onednn engine)";
  char line[400];
  if (bad == 0) {
    std::snprintf(line, sizeof line,
                  "%s: within 1 of %s on all %zu layers checked (%zu of %zu outputs equal, "
                  "%zu off by 1)",
                  peer.title.c_str(), against.c_str(), layers.size(), total.equal, total.total,
                  total.off_by_one);
  } else {
    std::snprintf(line, sizeof line,
                  "%s: DISAGREES with %s on %zu of %zu layers: its figures may not measure the "
                  "same work",
                  peer.title.c_str(), against.c_str(), bad, layers.size());
  }
  std::fprintf(out, "check %s\n", line);
  *verdict = line;
  return bad == 0;
}
