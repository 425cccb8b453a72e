// qcert synth: the fewest bits per layer (Quadapter-style fixed-point weights and biases,
// activations real or, with --activations / --act-bits, fixed point too) with which every property (robustness, backdoor-freeness, VNN-LIB)
// the float network provably has is still proved. See docs/SYNTH.md.
#include "commands.hpp"
#include "data_options.hpp"
#include "qcert/error.hpp"
#include "qcert/io.hpp"
#include "qcert/model.hpp"
#include "qcert/synth.hpp"
#include "sample_list.hpp"

#include <cmath>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace qcert::cli {

namespace {

struct SynthCli {
    std::string model, samples, radius, out, bits, act_bits, trigger, cost = "bits", method = "best";
    bool activations = false;
    std::vector<std::string> vnnlib;
    int64_t target = -1;
    int min_bits = 2, max_bits = 16;
    double timeout = 10;
    unsigned threads = 0;
    bool json = false;
    DataOptions data;

    void add(CLI::App* cmd) {
        cmd->add_option("model", model, "the float model (.onnx, .nnet, .h5)")->required();
        data.add(cmd);
        cmd->add_option("--samples", samples, "samples A:B, N or a comma list (robustness, or backdoor with --trigger)");
        cmd->add_option("--radius", radius, "L-inf radius in pixels (1/255), or a comma list of radii");
        cmd->add_option("--vnnlib", vnnlib, "VNN-LIB properties (inputs in the network's units)");
        cmd->add_option("--trigger", trigger, "backdoor trigger 'ROW,COL=VALUE;...' (pixels 0..255): backdoor properties "
                                              "at --samples/--radius instead of robustness");
        cmd->add_option("--target", target, "the backdoor's target class (with --trigger)");
        cmd->add_option("--cost", cost, "what to minimise: bits (sum of per-layer bits, default) or memory (bits x parameters)");
        cmd->add_option("--min-bits", min_bits, "fewest bits per layer to try (default 2)");
        cmd->add_option("--max-bits", max_bits, "most bits per layer (default 16)");
        cmd->add_option("--timeout", timeout, "seconds per property and candidate (default 10)");
        cmd->add_option("--threads", threads, "threads (default: all cores)");
        cmd->add_option("--out", out, "directory for results.jsonl (resumable), scheme.json, quantized_qdq.onnx, quantized.onnx, "
                                      "synth.json");
        cmd->add_option("--bits", bits, "no search: check the properties at these bits B1,...,Bn (e.g. a published strategy)");
        cmd->add_flag("--activations", activations, "quantize the hidden activations too (fixed point, per-layer bits searched "
                                                    "in --min-bits..--max-bits)");
        cmd->add_option("--act-bits", act_bits, "quantize the hidden activations at these widths: one for every hidden layer, or "
                                                "A1,...,A(n-1) (not searched)");
        cmd->add_option("--method", method, "search | preimage (Quadapter's backward preimages) | best (both, default)");
        cmd->add_flag("--json", json, "print the result as one JSON line");
    }
};

std::vector<double> parse_radii(const std::string& spec) {
    std::vector<double> out;
    std::stringstream ss(spec);
    std::string part;
    while (std::getline(ss, part, ',')) {
        size_t used = 0;
        double v = NAN;
        try {
            v = std::stod(part, &used);
        } catch (const std::logic_error&) {
            used = 0;
        }
        if (used != part.size() || part.empty()) throw InputError("--radius", fmt::format("'{}' is not a number", part));
        if (!(v >= 0) || !std::isfinite(v)) throw InputError("--radius", fmt::format("must be >= 0, got {}", part));
        out.push_back(v);
    }
    if (out.empty()) throw InputError("--radius", "is empty");
    return out;
}

void write_text(const std::string& path, const std::string& text) {
    const std::string tmp = path + ".tmp";
    {
        std::ofstream f(tmp);
        f << text << "\n";
        if (!f) throw InputError(path, "cannot write");
    }
    std::filesystem::rename(tmp, path);
}

nlohmann::json result_json(const SynthResult& r, const std::optional<Accuracy>& acc, SynthCost cost, const std::string& onnx_path,
                           const std::string& qdq_path) {
    nlohmann::json j;
    j["bits"] = r.bits;
    j["scheme"] = quadapter_spec(r.bits, r.act_formats);
    j["act_bits"] = r.act_bits;  // empty: real activations
    j["act_formats"] = nlohmann::json::array();
    for (const FixedFormat& f : r.act_formats) j["act_formats"].push_back(f.str());
    j["cost"] = r.cost;
    j["cost_kind"] = synth_cost_name(cost);
    j["proved"] = r.proved;
    j["total"] = int64_t(r.kept.size() + r.left_out.size());
    j["kept"] = int64_t(r.kept.size());
    j["required"] = r.required;
    j["accuracy"] = acc ? nlohmann::json(acc->percent()) : nlohmann::json(nullptr);
    j["candidates"] = r.candidates;
    j["method"] = r.method;
    j["answers"] = nlohmann::json::array();
    for (const MethodAnswer& a : r.answers)
        j["answers"].push_back(
            {{"method", a.method}, {"bits", a.bits}, {"act_bits", a.act_bits}, {"cost", a.cost}, {"proved", a.proved}, {"time_s", a.time_s}, {"note", a.note}});
    j["time_s"] = r.time_s;
    j["certificates"] = nlohmann::json::array();
    for (size_t i = 0; i < r.kept.size(); ++i) {
        const PropertyCheck& c = r.checks[i];
        nlohmann::json p{{"property", r.kept[i].key()}, {"kind", property_kind_name(r.kept[i].kind)}, {"verdict", check_verdict_name(c.verdict)}, {"method", c.method},
                         {"boxes", c.boxes}, {"time_s", c.time_s}};
        if (!c.reason.empty()) p["reason"] = c.reason;
        j["certificates"].push_back(p);
    }
    int64_t refuted = 0, unknown = 0;
    for (const PropertyCheck& c : r.checks) refuted += c.verdict == CheckVerdict::Refuted, unknown += c.verdict == CheckVerdict::Unknown;
    j["refuted"] = refuted;
    j["unknown"] = unknown;
    j["left_out"] = nlohmann::json::array();
    for (const LeftOut& l : r.left_out) j["left_out"].push_back({{"property", l.property.key()}, {"reason", l.reason}});
    if (!onnx_path.empty()) j["onnx"] = onnx_path;
    if (!qdq_path.empty()) j["onnx_qdq"] = qdq_path;
    return j;
}

SynthCost parse_cost(const std::string& c) {
    if (c == "bits") return SynthCost::Bits;
    if (c == "memory") return SynthCost::Memory;
    throw InputError("--cost", fmt::format("'{}' is not bits or memory", c));
}

// Robustness or backdoor properties at --samples/--radius, and the VNN-LIB files' properties.
std::vector<BoxProperty> properties(const SynthCli& o, const std::optional<Dataset>& data, const BlockNet& net) {
    std::vector<BoxProperty> props;
    if (o.trigger.empty() && o.target >= 0) throw InputError("--target", "is the backdoor's target: give --trigger too");
    if (!o.samples.empty() || !o.radius.empty() || !o.trigger.empty()) {
        if (!data) throw InputError("synth", "--samples/--radius/--trigger need the data: --images and --labels");
        if (o.samples.empty() || o.radius.empty()) throw InputError("synth", "give both --samples and --radius");
        const std::vector<double> radii = parse_radii(o.radius);
        const std::vector<int64_t> samples = parse_index_list(o.samples, "--samples");
        if (o.trigger.empty()) {
            props = robust_properties(*data, samples, radii);
        } else {
            if (o.target < 0) throw InputError("--trigger", "give the backdoor's target class: --target T");
            props = backdoor_properties(*data, samples, radii, parse_trigger(o.trigger), o.target, net.output_size());
        }
    }
    for (const std::string& f : o.vnnlib) {
        const VnnlibProperty v = read_vnnlib(f);
        if (v.inputs != net.input_size() || v.outputs != net.output_size())
            throw InputError(f, fmt::format("declares {} inputs and {} outputs; the network has {} and {}", v.inputs, v.outputs,
                                            net.input_size(), net.output_size()));
        for (BoxProperty& p : vnnlib_properties(f, v)) props.push_back(std::move(p));
    }
    if (props.empty() && o.samples.empty() && o.vnnlib.empty())
        throw InputError("synth", "no properties: give --samples and --radius (with --trigger for backdoors), or --vnnlib");
    return props;
}

int run_synth(const SynthCli& o) {
    const SynthCost cost = parse_cost(o.cost);
    const std::optional<Dataset> data = o.data.load();
    const Subject s = load_subject(o.model);
    if (data) s.check_data(*data);
    const std::vector<BoxProperty> props = properties(o, data, s.blocks);
    SynthOptions so;
    so.min_bits = o.min_bits, so.max_bits = o.max_bits, so.timeout_s = o.timeout, so.threads = o.threads, so.cost = cost;
    so.method = o.method;
    if (!o.bits.empty())
        for (int64_t b : parse_index_list(o.bits, "--bits")) so.fixed_bits.push_back(int(b));
    so.activations = o.activations;
    if (!o.act_bits.empty())
        for (int64_t b : parse_index_list(o.act_bits, "--act-bits")) so.act_bits.push_back(int(b));
    if (!o.out.empty()) {
        std::filesystem::create_directories(o.out);
        so.log_path = (std::filesystem::path(o.out) / "results.jsonl").string();
    }
    const SynthResult r = synthesize(s.blocks, props, so);
    std::optional<Accuracy> acc;
    if (data)
        acc = accuracy(*data, -1, [&](int64_t i) { return argmax(r.quantized.forward(data->float_sample(i))); });
    std::string onnx_path, qdq_path;
    if (!o.out.empty()) {
        const std::filesystem::path dir(o.out);
        write_text((dir / "scheme.json").string(), scheme_to_json(r.scheme));
        qdq_path = (dir / "quantized_qdq.onnx").string();
        write_onnx_qdq(r.quantized, r.scheme, qdq_path);
        // A double-precision ONNX model cannot hold quantized activations (QuantizeLinear takes float32).
        if (!r.quantized.quantized_activations()) {
            onnx_path = (dir / "quantized.onnx").string();
            write_onnx(to_network(r.quantized), onnx_path);
        }
    }
    const nlohmann::json j = result_json(r, acc, cost, onnx_path, qdq_path);
    if (!o.out.empty()) write_text((std::filesystem::path(o.out) / "synth.json").string(), j.dump(2));
    if (o.json) {
        std::cout << j.dump() << std::endl;
        return 0;
    }
    std::cout << fmt::format("bits ({}){}  {} cost {}  proved {}/{}  (kept {}, left out {}, required {}; at these bits refuted {}, "
                             "unknown {})  accuracy {}  {} candidates  {:.1f} s\n",
                             bits_str(r.bits),
                             r.act_bits.empty() ? std::string() : fmt::format(" activations ({}) {}", bits_str(r.act_bits),
                                                                              quadapter_spec(r.bits, r.act_formats)),
                             synth_cost_name(cost), r.cost, r.proved, j["total"].get<int64_t>(), r.kept.size(),
                             r.left_out.size(), r.required, j["refuted"].get<int64_t>(), j["unknown"].get<int64_t>(),
                             acc ? fmt::format("{:.2f} %", acc->percent()) : std::string("n/a (no data)"), r.candidates, r.time_s);
    for (const MethodAnswer& a : r.answers)
        std::cout << fmt::format("method {}: bits ({}) {} cost {}, proves {}/{} kept ({:.1f} s to choose){}\n", a.method,
                                 bits_str(a.bits) + (a.act_bits.empty() ? "" : ", activations " + bits_str(a.act_bits)),
                                 synth_cost_name(cost), a.cost, a.proved, r.kept.size(), a.time_s,
                                 a.method == r.method ? "  <- the answer" : "");
    for (size_t i = 0; i < r.kept.size(); ++i)
        if (r.checks[i].verdict != CheckVerdict::Proved)
            std::cout << fmt::format("{} at these bits: {}\n", r.kept[i].key(), check_verdict_name(r.checks[i].verdict));
    for (const LeftOut& l : r.left_out) std::cout << fmt::format("left out {}: {}\n", l.property.key(), l.reason);
    return 0;
}

}  // namespace

Runner add_synth(CLI::App& app) {
    auto o = std::make_shared<SynthCli>();
    CLI::App* cmd = app.add_subcommand("synth", "certified per-layer quantization bit-widths (Quadapter-style) for robustness, backdoor and VNN-LIB properties");
    o->add(cmd);
    return [o] { return run_synth(*o); };
}

}  // namespace qcert::cli
