// qcert bound: sound worst-case error bounds between a network and its quantized or
// pruned twin (or a second network), over a box, a VNN-LIB file's input boxes, or
// L-inf balls around data samples. See docs/BOUND.md.
#include "commands.hpp"
#include "data_options.hpp"
#include "qcert/errbound.hpp"
#include "qcert/error.hpp"
#include "qcert/interval.hpp"
#include "qcert/io.hpp"
#include "qcert/result_log.hpp"
#include "sample_list.hpp"

#include <cmath>
#include <fmt/format.h>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace qcert::cli {

namespace {

struct BoundCli {
    std::string model, scheme, against, box, vnnlib, samples, output = "all", method = "auto", split = "auto", out, units = "raw",
                                                                   region_units;
    double prune = 0, timeout = 60, radius = -1, input_divisor = 0;
    std::optional<double> eps;
    unsigned threads = 0;
    bool json = false;
    DataOptions data;

    void add(CLI::App* cmd) {
        cmd->add_option("model", model, "the reference model (.onnx, .nnet, .h5)")->required();
        cmd->add_option("--scheme", scheme, "the twin is the model under this quantization scheme");
        cmd->add_option("--prune", prune, "the twin is the model with this fraction of each layer's smallest weights zeroed (with --scheme: first)");
        cmd->add_option("--against", against, "the twin is this second model (same inputs and outputs, any format)");
        cmd->add_option("--box", box, "input box LO:HI,... in region units; an empty LO or HI is the network's own bound");
        cmd->add_option("--vnnlib", vnnlib, "the input boxes of a VNN-LIB file (its output constraints are ignored)");
        data.add(cmd);
        cmd->add_option("--samples", samples, "with --images: samples A:B, N or a comma list");
        cmd->add_option("--radius", radius, "with --images: L-inf radius around each sample, in data units (pixels 0..255)");
        cmd->add_option("--input-divisor", input_divisor,
                        "the network sees region value / D (default: 255 with --images, else 1)");
        cmd->add_option("--units", units, "NNet models: raw or normalised inputs and outputs (default raw)");
        cmd->add_option("--region-units", region_units, "NNet models: units of --box / --vnnlib (default: --units)");
        cmd->add_option("--output", output, "output index K, 'target' (the sample's predicted class) or 'all'");
        cmd->add_option("--eps", eps, "decide whether |f - g| <= eps over the region");
        cmd->add_option("--method", method, "auto (= split), split (branch and bound), diff (one differential bound), naive, "
                        "milp (integer twin: the exact pair MILP for witnesses, then split; real twin: split + the MILP "
                        "estimate of the maximum), sdp (the rigorous SDP bound of Li et al. through SDPA, small ReLU networks)");
        cmd->add_option("--split", split, "what the branch and bound splits: inputs, neurons (phase splitting: a neuron's "
                        "pre-activation range at its activation's breakpoint) or auto (neurons on regions of more than 16 "
                        "inputs; default)")
            ->check(CLI::IsMember({"auto", "inputs", "neurons"}));
        cmd->add_option("--timeout", timeout, "seconds per query (default 60)");
        cmd->add_option("--threads", threads, "threads per query (default: all cores)");
        cmd->add_option("--out", out, "append results as JSON lines; a re-run skips the decided ones");
        cmd->add_flag("--json", json, "print JSON lines");
    }
};

bool is_nnet(const std::string& path) { return path.size() > 5 && path.substr(path.size() - 5) == ".nnet"; }

void check_units(const std::string& u, const char* option) {
    if (u != "raw" && u != "normalised" && u != "normalized")
        throw InputError(option, fmt::format("'{}' is not raw or normalised", u));
}
bool normalised(const std::string& u) { return u == "normalised" || u == "normalized"; }

// The float network in block form, in the chosen units for NNet files.
BlockNet load_blocks(const std::string& path, const std::string& units, std::optional<IntNetwork>* qdq = nullptr) {
    if (is_nnet(path)) return to_blocks(normalised(units) ? read_nnet_normalised(path) : read_nnet(path));
    if (normalised(units)) throw InputError("--units", "normalised units apply to NNet models only");
    LoadedModel m = load_model(path);
    if (qdq) *qdq = m.qdq;
    return to_blocks(m.net);
}

ErrPair load_pair(const BoundCli& o, double divisor) {
    std::optional<IntNetwork> qdq;
    const BlockNet f = load_blocks(o.model, o.units, &qdq);
    const int given = int(!o.scheme.empty() || o.prune != 0.0) + int(!o.against.empty());
    if (given > 1) throw InputError("bound", "give --scheme/--prune or --against, not both");
    if (!o.against.empty()) return make_err_pair(f, load_blocks(o.against, o.units), divisor);
    if (!(o.prune >= 0 && o.prune < 1)) throw InputError("--prune", "must be in [0, 1)");
    BlockNet base = o.prune != 0.0 ? prune_magnitude(f, o.prune) : f;
    if (!o.scheme.empty()) {
        const QuantizedNet q = quantize(base, parse_scheme(o.scheme, base));
        return q.integer ? make_err_pair(f, *q.integer, divisor) : make_err_pair(f, q.real, divisor);
    }
    if (o.prune != 0.0) return make_err_pair(f, base, divisor);
    if (qdq) return make_err_pair(f, *qdq, divisor);
    throw InputError("bound", "which twin? give --scheme S, --prune R or --against MODEL2");
}

// Raw NNet inputs to normalised ones, rounded outward: (x - mean) / range is the first layer of read_nnet.
std::pair<double, double> to_normalised(const Network& raw, size_t j, double lo, double hi) {
    const Layer& L = raw.layers.front();
    if (L.op != Op::Affine) return {lo, hi};
    const Interval a = Interval::point(lo) * L.scale[int64_t(j)] + L.shift[int64_t(j)];
    const Interval b = Interval::point(hi) * L.scale[int64_t(j)] + L.shift[int64_t(j)];
    return {std::min(a.lo, b.lo), std::max(a.hi, b.hi)};
}

struct Query {
    std::string key;
    std::vector<double> lo, hi;
    std::vector<int64_t> outputs;
    int64_t sample = -1;
};

// Region boxes given in region units, converted to the network's units.
class RegionConverter {
public:
    RegionConverter(const BoundCli& o) {
        const std::string ru = o.region_units.empty() ? o.units : o.region_units;
        check_units(o.units, "--units");
        check_units(ru, "--region-units");
        if (!is_nnet(o.model) && (normalised(o.units) || normalised(ru)))
            throw InputError("--units", "normalised units apply to NNet models only");
        convert_ = is_nnet(o.model) && normalised(o.units) != normalised(ru);
        if (convert_ && !normalised(o.units))
            throw InputError("--region-units", "a normalised region for a raw network is not supported; use --units normalised");
        region_net_ = is_nnet(o.model) ? (normalised(ru) ? read_nnet_normalised(o.model) : read_nnet(o.model)) : load_model(o.model).net;
    }
    // The network's own input bounds in region units (NaN when it has none).
    double own_lo(size_t j) const { return j < region_net_.input_lo.size() ? region_net_.input_lo[j] : NAN; }
    double own_hi(size_t j) const { return j < region_net_.input_hi.size() ? region_net_.input_hi[j] : NAN; }
    void convert(std::vector<double>& lo, std::vector<double>& hi) const {
        if (!convert_) return;
        for (size_t j = 0; j < lo.size(); ++j) std::tie(lo[j], hi[j]) = to_normalised(region_net_, j, lo[j], hi[j]);
    }

private:
    bool convert_ = false;
    Network region_net_;
};

std::vector<int64_t> parse_outputs(const std::string& spec, int64_t n) {
    std::vector<int64_t> v;
    if (spec == "all") {
        for (int64_t k = 0; k < n; ++k) v.push_back(k);
        return v;
    }
    return parse_index_list(spec, "--output");
}

std::vector<Query> box_queries(const BoundCli& o, const RegionConverter& rc, int64_t outputs) {
    std::vector<Query> qs;
    if (o.output == "target") throw InputError("--output", "'target' needs data samples (--images, --samples)");
    if (!o.box.empty()) {
        Query q;
        q.key = "box";
        std::stringstream ss(o.box);
        size_t j = 0;
        for (std::string part; std::getline(ss, part, ','); ++j) {
            const size_t c = part.find(':');
            if (c == std::string::npos) throw InputError("--box", fmt::format("'{}' is not LO:HI", part));
            auto num = [&](const std::string& s, double own) {
                if (s.empty()) {
                    if (std::isnan(own)) throw InputError("--box", fmt::format("input {}: the network has no own bound to fill in", j));
                    return own;
                }
                try {
                    size_t used = 0;
                    const double v = std::stod(s, &used);
                    if (used == s.size()) return v;
                } catch (const std::logic_error&) {
                }
                throw InputError("--box", fmt::format("'{}' is not a number", s));
            };
            const double lo = num(part.substr(0, c), rc.own_lo(j)), hi = num(part.substr(c + 1), rc.own_hi(j));
            if (!(lo <= hi)) throw InputError("--box", fmt::format("input {} is empty: {} > {}", j, lo, hi));
            q.lo.push_back(lo);
            q.hi.push_back(hi);
        }
        rc.convert(q.lo, q.hi);
        q.outputs = parse_outputs(o.output, outputs);
        qs.push_back(q);
    } else {
        const VnnlibProperty p = read_vnnlib(o.vnnlib);
        for (size_t b = 0; b < p.input_boxes.size(); ++b) {
            Query q;
            q.key = fmt::format("vnnlib:{}", b);
            for (const auto& [lo, hi] : p.input_boxes[b]) q.lo.push_back(lo), q.hi.push_back(hi);
            rc.convert(q.lo, q.hi);
            q.outputs = parse_outputs(o.output, outputs);
            qs.push_back(q);
        }
    }
    return qs;
}

std::vector<Query> sample_queries(const BoundCli& o, const Dataset& d, const ErrPair& p) {
    if (o.samples.empty()) throw InputError("--samples", "which samples? e.g. --samples 0:30");
    if (!(o.radius >= 0)) throw InputError("--radius", fmt::format("must be >= 0, got {}", o.radius));
    if (d.sample_size() != p.input_size())
        throw InputError(d.source, fmt::format("samples have {} values, the model expects {}", d.sample_size(), p.input_size()));
    std::vector<Query> qs;
    for (int64_t i : parse_index_list(o.samples, "--samples")) {
        if (i < 0 || i >= d.count()) throw InputError("--samples", fmt::format("sample {} is past the data ({} samples)", i, d.count()));
        Query q;
        q.sample = i;
        q.key = fmt::format("sample:{}:{}", i, o.radius);
        const Vec x = d.raw_sample(i);
        for (int64_t j = 0; j < x.size(); ++j) {
            double lo = x[j] - o.radius, hi = x[j] + o.radius;
            if (d.integral) lo = std::max(lo, 0.0), hi = std::min(hi, 255.0);
            q.lo.push_back(lo);
            q.hi.push_back(hi);
        }
        if (o.output == "target") {
            Vec u = x / p.f_input_divisor;
            q.outputs = {argmax(p.f.forward(u))};
        } else {
            q.outputs = parse_outputs(o.output, p.output_size());
        }
        qs.push_back(q);
    }
    return qs;
}

nlohmann::json to_json(const Query& q, const ErrBoundResult& r, const BoundCli& o) {
    nlohmann::json j = {{"query", q.key}, {"outputs", r.outputs}, {"upper", r.upper}, {"lower", r.lower},
                        {"upper_per_output", r.upper_per_output}, {"lower_per_output", r.lower_per_output},
                        {"verdict", bound_verdict_name(r.verdict)}, {"witness", r.witness}, {"witness_output", r.witness_output},
                        {"time_s", r.time_s}, {"splits", r.splits}, {"method", r.method}, {"units", o.units}};
    if (q.sample >= 0) j["sample"] = q.sample;
    if (o.eps) j["eps"] = *o.eps;
    if (!r.reason.empty()) j["reason"] = r.reason;
    if (r.milp_max) j["milp_max"] = *r.milp_max, j["milp_optimal"] = r.milp_optimal;
    if (r.sdp_bound) j["sdp_value"] = *r.sdp_value, j["sdp_bound"] = *r.sdp_bound, j["sdp_optimal"] = r.sdp_optimal;
    return j;
}

std::string human(const nlohmann::json& j) {
    std::string s = fmt::format("{}: upper {:.6g}  lower {:.6g}", j["query"].get<std::string>(), j["upper"].get<double>(),
                                j["lower"].get<double>());
    if (j["verdict"] != "none") s += fmt::format("  {}", j["verdict"].get<std::string>());
    s += fmt::format("  {} splits  {:.3f} s", j["splits"].get<int64_t>(), j["time_s"].get<double>());
    if (j.contains("reason")) s += " (" + j["reason"].get<std::string>() + ")";
    return s;
}

// What the records of --out were decided for: the model and its twin (files by fingerprint),
// the units and the region (data files by fingerprint).
nlohmann::json identity(const BoundCli& o, double divisor) {
    auto fp = [](const std::string& path) { return path.empty() ? std::string() : fingerprint_file(path); };
    return {{"kind", "bound"},
            {"model", fp(o.model)},
            {"twin", fmt::format("scheme={};prune={};against={}", o.scheme, o.prune, fp(o.against))},
            {"units", o.units + "/" + o.region_units},
            {"input divisor", divisor},
            {"region", fmt::format("box={};vnnlib={};images={};labels={};radius={}", o.box, fp(o.vnnlib), fp(o.data.images),
                                   fp(o.data.labels), o.radius)}};
}

int run_bound(const BoundCli& o) {
    if (o.eps && !(*o.eps >= 0)) throw InputError("--eps", fmt::format("must be >= 0, got {}", *o.eps));
    if (!(o.timeout > 0)) throw InputError("--timeout", "must be > 0");
    const int regions = int(!o.box.empty()) + int(!o.vnnlib.empty()) + int(!o.data.images.empty() || !o.data.labels.empty());
    if (regions != 1) throw InputError("bound", "give exactly one region: --box, --vnnlib, or --images/--labels with --samples");
    const std::optional<Dataset> data = o.data.load();
    double divisor = o.input_divisor;
    if (divisor == 0) divisor = data && data->float_scale > 0 ? std::round(1.0 / data->float_scale) : 1.0;
    const RegionConverter rc(o);
    const ErrPair p = load_pair(o, divisor);
    const std::vector<Query> qs = data ? sample_queries(o, *data, p) : box_queries(o, rc, p.output_size());
    ErrBoundOptions eo;
    eo.eps = o.eps;
    eo.method = o.method;
    eo.split = o.split;
    eo.timeout_s = o.timeout;
    eo.threads = o.threads;
    ResultLog log(o.out);
    if (!o.out.empty()) log.check_identity(identity(o, divisor), "another model, twin or region: use another --out");
    Progress progress("bound", int64_t(qs.size()));
    int64_t done = 0;
    std::map<std::string, int64_t> counts;
    for (const Query& q : qs) {
        // The question decides the answer: a resumed run reuses a line only for the same eps and outputs.
        const std::string key = fmt::format("{}|eps={}|output={}|method={}", q.key, o.eps ? fmt::format("{}", *o.eps) : "none",
                                            o.output, o.method);
        nlohmann::json j;
        if (const nlohmann::json* prev = log.find(key); prev && (*prev)["verdict"] != "unknown") {
            j = *prev;
        } else {
            j = to_json(q, error_bound(p, q.lo, q.hi, q.outputs, eo), o);
            log.append(key, j);
        }
        ++counts[j["verdict"].get<std::string>()];
        std::cout << (o.json ? j.dump() : human(j)) << std::endl;
        progress.update(++done, fmt::format("holds {}  violated {}  unknown {}", counts["holds"], counts["violated"],
                                            counts["unknown"]));
    }
    return 0;
}

}  // namespace

Runner add_bound(CLI::App& app) {
    auto o = std::make_shared<BoundCli>();
    CLI::App* cmd = app.add_subcommand("bound", "sound worst-case error bounds between a network and its quantized or pruned twin");
    o->add(cmd);
    return [o] { return run_bound(*o); };
}

}  // namespace qcert::cli
