// qcert verify on real-valued networks, through the sound checker of qcert synth.
#include "qcert/real_verify.hpp"

#include "qcert/error.hpp"
#include "qcert/synth.hpp"

#include <fmt/format.h>

namespace qcert {

const BlockNet* real_network(const Subject& s) {
    if (s.quant && s.quant->integer) return nullptr;
    return s.quant ? &s.quant->real : &s.blocks;
}

namespace {

Outcome outcome_of(const PropertyCheck& c) {
    Outcome o;
    o.verdict = c.verdict == CheckVerdict::Proved ? Verdict::Holds : c.verdict == CheckVerdict::Refuted ? Verdict::Violated
                                                                                                      : Verdict::Unknown;
    o.method = c.method.empty() ? "real" : c.method;
    o.reason = c.reason;
    o.time_s = c.time_s;
    return o;
}

}  // namespace

RealRobustness verify_robustness_real(const BlockNet& net, const Dataset& d, int64_t sample, int64_t eps, double timeout_s) {
    if (eps < 0) throw InputError("--eps", fmt::format("must be >= 0, got {}", eps));
    BoxProperty p = robust_properties(d, {sample}, {double(eps)}).front();
    if (p.label < 0 || p.label >= net.output_size())
        throw InputError(d.source, fmt::format("label {} of sample {} is not an output of the network ({} outputs)", p.label,
                                               sample, net.output_size()));
    RealRobustness out;
    RobustnessResult& r = out.result;
    r.sample = sample, r.eps = eps, r.label = p.label;
    r.predicted = argmax(net.forward(d.float_sample(sample)));
    if (r.predicted != r.label) {
        r.outcome.verdict = Verdict::Misclassified;
        r.outcome.method = "float";
        return out;
    }
    const PropertyCheck c = check_property(net, p, timeout_s);
    r.outcome = outcome_of(c);
    if (c.verdict == CheckVerdict::Refuted) out.counterexample = c.counterexample;
    return out;
}

}  // namespace qcert
