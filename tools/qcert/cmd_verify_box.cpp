// qcert verify --vnnlib P.vnnlib, and fairness over an input box (--sensitive, --delta).
#include "qcert/error.hpp"
#include "qcert/io.hpp"
#include "qcert/verify.hpp"
#include "sample_list.hpp"
#include "verify_forms.hpp"

#include <fmt/format.h>
#include <iostream>
#include <nlohmann/json.hpp>

namespace qcert::cli {

namespace {

// The real input value of an integer input (what VNN-LIB's X_i denote).
std::vector<double> real_input(const IntNetwork& net, const std::vector<int64_t>& q) {
    std::vector<double> x(q.size());
    for (size_t i = 0; i < q.size(); ++i) x[i] = net.input.raw ? double(q[i]) : double(q[i] - net.input.zero) * net.input.scale;
    return x;
}

std::vector<std::pair<double, double>> parse_box(const std::string& spec) {
    std::vector<std::pair<double, double>> box;
    std::stringstream ss(spec);
    for (std::string part; std::getline(ss, part, ',');) {
        const size_t c = part.find(':');
        try {
            if (c == std::string::npos) throw std::invalid_argument(part);
            size_t u1 = 0, u2 = 0;
            const double lo = std::stod(part.substr(0, c), &u1), hi = std::stod(part.substr(c + 1), &u2);
            if (u1 != c || u2 != part.size() - c - 1) throw std::invalid_argument(part);
            if (!(lo <= hi)) throw InputError("--box", fmt::format("'{}' has lo > hi", part));
            box.push_back({lo, hi});
        } catch (const std::logic_error&) {
            throw InputError("--box", fmt::format("'{}' is not LO:HI", part));
        }
    }
    return box;
}

std::vector<int64_t> sensitive_inputs(const VerifyCli& o) {
    return o.sensitive.empty() ? std::vector<int64_t>{} : parse_index_list(o.sensitive, "--sensitive");
}

int report_fairness(const VerifyCli& o, const IntNetwork& net, const std::vector<std::pair<double, double>>& box) {
    std::vector<double> lo, hi;
    for (const auto& [a, b] : box) lo.push_back(a), hi.push_back(b);
    std::vector<int64_t> qlo, qhi;
    integer_box(net, lo, hi, qlo, qhi);
    const std::vector<int64_t> sens = sensitive_inputs(o);
    VerifyOptions vo = o.verify_options();
    const Outcome r = verify_fairness(net, qlo, qhi, sens, o.delta, vo);
    nlohmann::json j = {{"property", "fairness"}, {"sensitive", sens}, {"delta", o.delta},
                        {"verdict", verdict_name(r.verdict)}, {"time_s", r.time_s}, {"method", r.method}};
    if (r.verdict == Verdict::Violated) {
        std::vector<int64_t> x(r.counterexample.begin(), r.counterexample.begin() + net.input_size()), x2 = x;
        for (size_t s = 0; s < sens.size(); ++s) x2[sens[s]] = r.counterexample[net.input_size() + s];
        j["counterexample"] = {{"x", real_input(net, x)}, {"x2", real_input(net, x2)},
                               {"y", net.dequantize_output(net.eval(x).out)}, {"y2", net.dequantize_output(net.eval(x2).out)}};
    }
    if (r.verdict == Verdict::Unknown) j["reason"] = r.reason;
    if (o.json) std::cout << j.dump() << "\n";
    else {
        std::cout << "fairness: " << verdict_name(r.verdict) << fmt::format(" ({}, {:.3f} s)", r.method, r.time_s);
        if (j.contains("reason")) std::cout << " " << r.reason;
        std::cout << "\n";
        if (j.contains("counterexample")) std::cout << j["counterexample"].dump() << "\n";
    }
    return 0;
}

}  // namespace

int run_vnnlib(const VerifyCli& o, const Subject& s) {
    const VnnlibProperty p = read_vnnlib(o.vnnlib);
    const IntNetwork& net = integer_network(s);
    if (p.inputs != net.input_size() || p.outputs != net.output_size())
        throw InputError(o.vnnlib, fmt::format("declares {} inputs and {} outputs; the network has {} and {}", p.inputs,
                                               p.outputs, net.input_size(), net.output_size()));
    if (!o.sensitive.empty()) {
        if (p.input_boxes.size() != 1) throw InputError(o.vnnlib, "fairness needs a property with one input box");
        return report_fairness(o, net, p.input_boxes[0]);
    }
    VerifyOptions vo = o.verify_options();
    Outcome result;
    result.verdict = Verdict::Holds;
    std::vector<std::string> unknown;
    double time = 0;
    for (size_t b = 0; b < p.input_boxes.size() && result.verdict != Verdict::Violated; ++b) {
        std::vector<double> lo, hi;
        for (const auto& [a, c] : p.input_boxes[b]) lo.push_back(a), hi.push_back(c);
        IntQuery q;
        q.net = &net;
        integer_box(net, lo, hi, q.lo, q.hi);
        q.unsafe = to_integer(p.unsafe_for(b), net);
        vo.timeout_s = std::max(0.01, o.timeout - time);
        const Outcome r = decide(q, vo);
        time += r.time_s;
        if (r.verdict == Verdict::Violated) result = r;
        else if (r.verdict == Verdict::Unknown) unknown.push_back(r.reason);
        else result.method = r.method;
    }
    if (result.verdict == Verdict::Holds && !unknown.empty()) {
        result.verdict = Verdict::Unknown;
        result.reason = unknown.front();
    }
    result.time_s = time;
    const VnncompStatus status = vnncomp_status(result.verdict, result.reason);
    std::vector<double> x;
    Vec y;
    if (result.verdict == Verdict::Violated) {
        x = real_input(net, result.counterexample);
        y = net.dequantize_output(net.eval(result.counterexample).out);
    }
    if (!o.cex.empty()) write_vnncomp_result(o.cex, status, x, y);
    if (o.json) {
        nlohmann::json j = {{"property", o.vnnlib}, {"result", vnncomp_status_name(status)}, {"verdict", verdict_name(result.verdict)},
                            {"time_s", result.time_s}, {"method", result.method}};
        if (result.verdict == Verdict::Violated) j["counterexample"] = {{"x", x}, {"y", std::vector<double>(y.data(), y.data() + y.size())}};
        if (result.verdict == Verdict::Unknown) j["reason"] = result.reason;
        std::cout << j.dump() << "\n";
    } else {
        std::cout << vnncomp_result(status, x, y);
        if (result.verdict == Verdict::Unknown) std::cerr << "qcert: " << result.reason << "\n";
    }
    return 0;
}

int run_box(const VerifyCli& o, const Subject& s) {
    if (o.sensitive.empty()) throw InputError("--box", "is the region of a fairness query: give --sensitive and --delta too");
    return report_fairness(o, integer_network(s), parse_box(o.box));
}

}  // namespace qcert::cli
