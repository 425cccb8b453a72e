// qcert verify on a real-valued network: the float network (no scheme), or a twin that
// keeps real activations (quadapter:B..., fp16, pruning, a QDQ ONNX model whose only
// quantized tensors are the weights). Robustness is decided with the checker of qcert synth
// (check_property): outward-rounded linear bounds with input splitting prove, an attack
// whose input the outward-rounded interval evaluation confirms refutes.
//
//   const qcert::BlockNet* net = qcert::real_network(subject);   // nullptr: use the integer path
//   qcert::RealRobustness r = qcert::verify_robustness_real(*net, data, 12, 2, 60.0);
#pragma once

#include "qcert/model.hpp"
#include "qcert/verify.hpp"

#include <vector>

namespace qcert {

// The network verify decides in real arithmetic, or nullptr when the subject has an
// integer network (which verify decides exactly).
const BlockNet* real_network(const Subject& s);

struct RealRobustness {
    RobustnessResult result;            // outcome.counterexample stays empty
    std::vector<double> counterexample; // Violated: the input in data units (pixels)
};

// Local robustness of `sample` in the continuous L-inf box of radius `eps` (data units,
// clipped to 0..255 for image data) around it; the network sees u * float_scale. A sample
// the network misclassifies is Misclassified, not checked. Throws InputError on bad input.
RealRobustness verify_robustness_real(const BlockNet& net, const Dataset& d, int64_t sample, int64_t eps, double timeout_s);

}  // namespace qcert
