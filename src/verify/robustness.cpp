// Local robustness of data samples and the maximum robust radius.
#include "qcert/error.hpp"
#include "qcert/verify.hpp"

#include <chrono>
#include <fmt/format.h>

namespace qcert {

const IntNetwork& integer_network(const Subject& s) {
    if (!s.quant || !s.quant->integer)
        throw InputError(s.path, s.quant ? "scheme '" + s.quant->scheme.name +
                                               "' keeps real values; verify decides integer networks (use a fixed-point "
                                               "scheme such as aaai2021:Q, qebverif:Q or fixed:w=..,a=..,i=..)"
                                         : "verify needs a quantized network: give --scheme, or a QDQ ONNX model");
    return *s.quant->integer;
}

namespace {

void check_sample(const Dataset& d, int64_t sample, const IntNetwork& net) {
    if (sample < 0 || sample >= d.count())
        throw InputError("--samples", fmt::format("sample {} is past the data ({} has {} samples)", sample, d.source, d.count()));
    if (d.labels.empty()) throw InputError(d.source, "the data has no labels");
    if (d.labels[sample] < 0 || d.labels[sample] >= net.output_size())
        throw InputError(d.source, fmt::format("label {} of sample {} is not an output of the network ({} outputs)",
                                               d.labels[sample], sample, net.output_size()));
}

}  // namespace

RobustnessResult verify_robustness(const Subject& s, const Dataset& d, int64_t sample, int64_t eps, const VerifyOptions& opt) {
    const IntNetwork& net = integer_network(s);
    s.check_data(d);
    check_sample(d, sample, net);
    if (eps < 0) throw InputError("--eps", fmt::format("must be >= 0, got {}", eps));
    const auto t0 = std::chrono::steady_clock::now();
    RobustnessResult r;
    r.sample = sample;
    r.eps = eps;
    r.label = d.labels[sample];
    const std::vector<int64_t> x = net.input_from(d.raw_sample(sample), d.float_sample(sample));
    r.predicted = s.quantized_class(d, sample);
    if (r.predicted != r.label) {
        r.outcome.verdict = Verdict::Misclassified;
        r.outcome.method = "inference";
    } else {
        const IntQuery q = IntQuery::linf_ball(net, x, eps, to_integer(OutputProperty::misclassified(net.output_size(), r.label), net));
        r.outcome = decide(q, opt);
    }
    r.outcome.time_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return r;
}

RadiusResult max_robust_radius(const Subject& s, const Dataset& d, int64_t sample, int64_t max_eps, const VerifyOptions& opt) {
    const IntNetwork& net = integer_network(s);
    const auto t0 = std::chrono::steady_clock::now();
    RadiusResult r;
    r.sample = sample;
    if (max_eps <= 0) max_eps = net.input.hi - net.input.lo;
    auto finish = [&] {
        r.time_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        return r;
    };
    // lo: largest eps known to hold; hi: smallest eps known not to (violated or unknown).
    int64_t lo = 0, hi = -1;
    auto probe = [&](int64_t eps) {
        const RobustnessResult v = verify_robustness(s, d, sample, eps, opt);
        r.label = v.label;
        if (v.outcome.verdict == Verdict::Misclassified) return Verdict::Misclassified;
        if (v.outcome.verdict == Verdict::Violated && (!r.violated_at || eps < *r.violated_at)) {
            r.violated_at = eps;
            r.counterexample = v.outcome.counterexample;
        }
        if (v.outcome.verdict == Verdict::Unknown) r.reason = fmt::format("eps {} undecided: {}", eps, v.outcome.reason);
        return v.outcome.verdict;
    };
    if (probe(0) == Verdict::Misclassified) {
        r.radius = -1;
        r.exact = true;
        return finish();
    }
    for (int64_t e = 1;; e *= 2) {
        const int64_t eps = std::min(e, max_eps);
        if (probe(eps) == Verdict::Holds) lo = eps;
        else { hi = eps; break; }
        if (eps == max_eps) break;
    }
    while (hi >= 0 && hi - lo > 1) {
        const int64_t mid = lo + (hi - lo) / 2;
        if (probe(mid) == Verdict::Holds) lo = mid;
        else hi = mid;
    }
    r.radius = lo;
    r.exact = (hi < 0) || (r.violated_at && *r.violated_at == lo + 1);
    if (r.exact) r.reason.clear();
    return finish();
}

void integer_box(const IntNetwork& net, const std::vector<double>& lo, const std::vector<double>& hi,
                 std::vector<int64_t>& qlo, std::vector<int64_t>& qhi) {
    if (int64_t(lo.size()) != net.input_size() || hi.size() != lo.size())
        throw InputError("input box", fmt::format("has {} dimensions, the network has {} inputs", lo.size(), net.input_size()));
    qlo.resize(lo.size());
    qhi.resize(lo.size());
    for (size_t i = 0; i < lo.size(); ++i) {
        if (!(lo[i] <= hi[i])) throw InputError("input box", fmt::format("dimension {} has lo > hi", i));
        int64_t a, b;
        if (net.input.raw) {
            a = int64_t(std::ceil(std::max(lo[i], -0x1p62)));
            b = int64_t(std::floor(std::min(hi[i], 0x1p62)));
        } else {
            a = round_double(std::clamp(lo[i] / net.input.scale, -0x1p61, 0x1p61), net.input.rounding) + net.input.zero;
            b = round_double(std::clamp(hi[i] / net.input.scale, -0x1p61, 0x1p61), net.input.rounding) + net.input.zero;
        }
        qlo[i] = std::max(a, net.input.lo);
        qhi[i] = std::min(b, net.input.hi);
        if (qlo[i] > qhi[i])
            throw InputError("input box", fmt::format("dimension {} holds no integer input of the network", i));
    }
}

}  // namespace qcert
