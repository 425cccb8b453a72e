// qcert params MODEL (--scheme S | --rel R | --abs A) (--at x1,x2,... | --region LO:HI,...)
//               [--precision D] [--confidence softmax|sigmoid|margin] [--timeout SEC] [--threads N] [--json]
#include "commands.hpp"
#include "qcert/error.hpp"
#include "qcert/io.hpp"
#include "qcert/params.hpp"

#include <cmath>
#include <fmt/format.h>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace qcert::cli {

namespace {

double parse_number(const std::string& s, const std::string& where) {
    try {
        size_t used = 0;
        const double v = std::stod(s, &used);
        if (used == s.size() && std::isfinite(v)) return v;
    } catch (const std::logic_error&) {
    }
    throw InputError(where, "'" + s + "' is not a finite number");
}

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> parts;
    std::stringstream ss(s);
    std::string p;
    while (std::getline(ss, p, sep)) parts.push_back(p);
    if (!s.empty() && s.back() == sep) parts.push_back("");
    return parts;
}

// --at x1,x2,...  ->  lo = hi = x
void parse_at(const std::string& at, ParamsQuery& q) {
    for (const std::string& v : split(at, ',')) q.input_lo.push_back(parse_number(v, "--at"));
    q.input_hi = q.input_lo;
}

// --region LO:HI,LO:HI,...
void parse_region(const std::string& region, ParamsQuery& q) {
    for (const std::string& part : split(region, ',')) {
        const size_t colon = part.find(':');
        if (colon == std::string::npos) throw InputError("--region", "'" + part + "' is not LO:HI");
        q.input_lo.push_back(parse_number(part.substr(0, colon), "--region"));
        q.input_hi.push_back(parse_number(part.substr(colon + 1), "--region"));
    }
}

// The values, or the first eight of them for long vectors (--json has them all).
std::string join(const std::vector<double>& v) {
    std::string s;
    const size_t shown = v.size() > 10 ? 8 : v.size();
    for (size_t i = 0; i < shown; ++i) s += fmt::format("{}{:.6g}", i ? ", " : "", v[i]);
    if (shown < v.size()) s += fmt::format(", ... ({} values)", v.size());
    return s;
}

nlohmann::json witness_json(const ParamsWitness& w) {
    nlohmann::json params = nlohmann::json::array();
    for (const Block& b : w.net.blocks) {
        nlohmann::json W = nlohmann::json::array();
        for (int64_t i = 0; i < b.W.rows(); ++i) {
            std::vector<double> row(size_t(b.W.cols()));
            for (int64_t j = 0; j < b.W.cols(); ++j) row[size_t(j)] = b.W(i, j);
            W.push_back(row);
        }
        params.push_back({{"W", W}, {"b", std::vector<double>(b.b.data(), b.b.data() + b.b.size())}});
    }
    return {{"input", w.input},
            {"value", w.value},
            {"nominal_confidence", w.nominal_confidence},
            {"confidence", w.confidence},
            {"nominal_class", w.nominal_class},
            {"perturbed_class", w.perturbed_class},
            {"parameters", params}};
}

}  // namespace

Runner add_params(CLI::App& app) {
    struct Opts {
        std::string model, scheme, at, region, confidence = "auto";
        std::optional<double> rel, abs;
        double precision = 1e-3, timeout = 60;
        unsigned threads = 0;
        bool json = false;
    };
    auto o = std::make_shared<Opts>();
    CLI::App* cmd = app.add_subcommand(
        "params", "how far the confidence can move when every weight and bias is perturbed (local or global), to a precision");
    cmd->add_option("model", o->model, "model file (.onnx, .nnet, .h5)")->required();
    cmd->add_option("--scheme", o->scheme, "perturb each parameter by every value this scheme may round it to");
    cmd->add_option("--rel", o->rel, "perturb each parameter w by at most R |w|");
    cmd->add_option("--abs", o->abs, "perturb each parameter by at most A");
    cmd->add_option("--at", o->at, "local robustness at this input: x1,x2,...");
    cmd->add_option("--region", o->region, "global robustness over this input box: LO:HI,LO:HI,...");
    cmd->add_option("--precision", o->precision, "stop when upper - lower <= D (default 1e-3)");
    cmd->add_option("--confidence", o->confidence, "softmax (default for 2+ outputs), sigmoid (1 output) or margin");
    cmd->add_option("--timeout", o->timeout, "seconds for the whole analysis (default 60); the gap is reported");
    cmd->add_option("--threads", o->threads, "worker threads (default: all cores)");
    cmd->add_flag("--json", o->json, "one JSON object");
    return [o] {
        const int kinds = int(!o->scheme.empty()) + int(o->rel.has_value()) + int(o->abs.has_value());
        if (kinds != 1) throw InputError("params", "give exactly one of --scheme S, --rel R, --abs A");
        if (o->at.empty() == o->region.empty()) throw InputError("params", "give exactly one of --at x1,... or --region LO:HI,...");
        ParamsQuery q;
        if (!o->at.empty()) parse_at(o->at, q);
        else parse_region(o->region, q);
        q.precision = o->precision;
        q.timeout_s = o->timeout;
        q.threads = o->threads;
        q.confidence = parse_confidence(o->confidence);
        const BlockNet net = to_blocks(load_model(o->model).net);
        check_params_query(net, q);  // before the (possibly slow) perturbation set
        const Perturbation p = !o->scheme.empty() ? perturbation_from_scheme(net, parse_scheme(o->scheme, net))
                               : o->rel          ? perturbation_relative(net, *o->rel)
                                                 : perturbation_absolute(net, *o->abs);
        const ParamsResult r = analyse_params(net, p, q);
        const nlohmann::json change = r.class_can_change ? nlohmann::json(*r.class_can_change) : nlohmann::json(nullptr);
        if (o->json) {
            nlohmann::json j = {{"model", o->model},
                                {"perturbation", p.name},
                                {"perturbed_parameters", r.perturbed_parameters},
                                {"mode", r.local ? "local" : "global"},
                                {"input_lo", q.input_lo},
                                {"input_hi", q.input_hi},
                                {"confidence", confidence_name(r.confidence)},
                                {"lower", r.lower},
                                {"upper", r.upper},
                                {"gap", r.upper - r.lower},
                                {"precision", q.precision},
                                {"complete", r.complete},
                                {"stop_reason", r.stop_reason},
                                {"class_can_change", change},
                                {"witness", r.witness ? witness_json(*r.witness) : nlohmann::json(nullptr)},
                                {"class_witness", r.class_witness ? witness_json(*r.class_witness) : nlohmann::json(nullptr)},
                                {"nodes", r.nodes},
                                {"time_s", r.time_s}};
            if (r.local) {
                j["nominal_class"] = r.nominal_class;
                j["nominal_confidence"] = r.nominal_confidence;
            }
            std::cout << j.dump() << "\n";
            return 0;
        }
        std::cout << fmt::format("model         {}\n", o->model);
        std::cout << fmt::format("perturbation  {} ({} parameters perturbed)\n", p.name, r.perturbed_parameters);
        if (r.local) {
            std::cout << fmt::format("input         ({})\n", join(q.input_lo));
            std::cout << fmt::format("class         {} ({} confidence {:.9g})\n", r.nominal_class,
                                     confidence_name(r.confidence), r.nominal_confidence);
        } else {
            std::string box;
            for (size_t i = 0; i < q.input_lo.size(); ++i)
                box += fmt::format("{}[{:.6g}, {:.6g}]", i ? " x " : "", q.input_lo[i], q.input_hi[i]);
            std::cout << fmt::format("region        {}\n", box);
        }
        std::cout << fmt::format("max |c' - c|  in [{:.9g}, {:.9g}] ({} confidence), gap {:.3g}{}\n", r.lower, r.upper,
                                 confidence_name(r.confidence), r.upper - r.lower,
                                 r.complete ? fmt::format(" <= precision {:.3g}", q.precision)
                                            : fmt::format(" > precision {:.3g} (stopped: {})", q.precision, r.stop_reason));
        if (r.witness)
            std::cout << fmt::format("witness       c = {:.9g} -> c' = {:.9g} at ({}); parameters with --json\n",
                                     r.witness->nominal_confidence, r.witness->confidence, join(r.witness->input));
        const std::string cc = !r.class_can_change ? "undecided"
                               : *r.class_can_change
                                   ? fmt::format("yes: class {} -> {} at ({})", r.class_witness->nominal_class,
                                                 r.class_witness->perturbed_class, join(r.class_witness->input))
                                   : "no (proved)";
        std::cout << fmt::format("class change  {}\n", cc);
        std::cout << fmt::format("search        {} nodes, {:.3f} s\n", r.nodes, r.time_s);
        return 0;
    };
}

}  // namespace qcert::cli
