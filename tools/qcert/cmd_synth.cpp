// qcert synth: the fewest bits per layer (Quadapter-style fixed-point weights and biases,
// activations real) with which every robustness property the float network provably has
// is still proved. See docs/SYNTH.md.
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
    std::string model, samples, radius, out, bits, method = "best";
    int min_bits = 2, max_bits = 16;
    double timeout = 10;
    unsigned threads = 0;
    bool json = false;
    DataOptions data;

    void add(CLI::App* cmd) {
        cmd->add_option("model", model, "the float model (.onnx, .nnet, .h5)")->required();
        data.add(cmd);
        cmd->add_option("--samples", samples, "samples A:B, N or a comma list")->required();
        cmd->add_option("--radius", radius, "L-inf radius in pixels (1/255), or a comma list of radii")->required();
        cmd->add_option("--min-bits", min_bits, "fewest bits per layer to try (default 2)");
        cmd->add_option("--max-bits", max_bits, "most bits per layer (default 16)");
        cmd->add_option("--timeout", timeout, "seconds per property and candidate (default 10)");
        cmd->add_option("--threads", threads, "threads (default: all cores)");
        cmd->add_option("--out", out, "directory for results.jsonl (resumable), scheme.json, quantized.onnx, synth.json");
        cmd->add_option("--bits", bits, "no search: check the properties at these bits B1,...,Bn (e.g. a published strategy)");
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

nlohmann::json result_json(const SynthResult& r, const Accuracy& acc, const std::string& onnx_path) {
    nlohmann::json j;
    j["bits"] = r.bits;
    j["scheme"] = "quadapter:" + bits_str(r.bits);
    j["proved"] = r.proved;
    j["total"] = int64_t(r.kept.size() + r.left_out.size());
    j["kept"] = int64_t(r.kept.size());
    j["required"] = r.required;
    j["accuracy"] = acc.percent();
    j["candidates"] = r.candidates;
    j["method"] = r.method;
    j["answers"] = nlohmann::json::array();
    for (const MethodAnswer& a : r.answers)
        j["answers"].push_back({{"method", a.method}, {"bits", a.bits}, {"proved", a.proved}, {"time_s", a.time_s}, {"note", a.note}});
    j["time_s"] = r.time_s;
    j["certificates"] = nlohmann::json::array();
    for (size_t i = 0; i < r.kept.size(); ++i) {
        const PropertyCheck& c = r.checks[i];
        nlohmann::json p{{"property", r.kept[i].key()}, {"verdict", check_verdict_name(c.verdict)}, {"method", c.method},
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
    j["onnx_qdq"] = "not written (a float ONNX model with the quantized parameters is written instead)";
    return j;
}

int run_synth(const SynthCli& o) {
    if (o.data.images.empty()) throw InputError("synth", "give the data: --images and --labels");
    const std::vector<double> radii = parse_radii(o.radius);
    const std::vector<int64_t> samples = parse_index_list(o.samples, "--samples");
    const std::optional<Dataset> data = o.data.load();
    const Subject s = load_subject(o.model);
    s.check_data(*data);
    const double divisor = data->float_scale > 0 ? std::round(1.0 / data->float_scale) : 1.0;
    const std::vector<RobustProperty> props = robust_properties(*data, samples, radii);
    SynthOptions so;
    so.min_bits = o.min_bits, so.max_bits = o.max_bits, so.timeout_s = o.timeout, so.threads = o.threads;
    so.method = o.method;
    if (!o.bits.empty())
        for (int64_t b : parse_index_list(o.bits, "--bits")) so.fixed_bits.push_back(int(b));
    if (!o.out.empty()) {
        std::filesystem::create_directories(o.out);
        so.log_path = (std::filesystem::path(o.out) / "results.jsonl").string();
    }
    const SynthResult r = synthesize(s.blocks, props, divisor, so);
    const Accuracy acc = accuracy(*data, -1, [&](int64_t i) {
        const Vec y = r.quantized.forward(data->float_sample(i));
        Eigen::Index k = 0;
        y.maxCoeff(&k);
        return int64_t(k);
    });
    std::string onnx_path;
    if (!o.out.empty()) {
        const std::filesystem::path dir(o.out);
        write_text((dir / "scheme.json").string(), scheme_to_json(r.scheme));
        onnx_path = (dir / "quantized.onnx").string();
        write_onnx(to_network(r.quantized), onnx_path);
    }
    const nlohmann::json j = result_json(r, acc, onnx_path);
    if (!o.out.empty()) write_text((std::filesystem::path(o.out) / "synth.json").string(), j.dump(2));
    if (o.json) {
        std::cout << j.dump() << std::endl;
        return 0;
    }
    std::cout << fmt::format("bits ({})  proved {}/{}  (kept {}, left out {}, required {}; at these bits refuted {}, unknown {})"
                             "  accuracy {:.2f} %  {} candidates  {:.1f} s\n",
                             bits_str(r.bits), r.proved, j["total"].get<int64_t>(), r.kept.size(), r.left_out.size(),
                             r.required, j["refuted"].get<int64_t>(), j["unknown"].get<int64_t>(), acc.percent(),
                             r.candidates, r.time_s);
    for (const MethodAnswer& a : r.answers)
        std::cout << fmt::format("method {}: bits ({}) proves {}/{} kept ({:.1f} s to choose){}\n", a.method, bits_str(a.bits),
                                 a.proved, r.kept.size(), a.time_s, a.method == r.method ? "  <- the answer" : "");
    for (size_t i = 0; i < r.kept.size(); ++i)
        if (r.checks[i].verdict != CheckVerdict::Proved)
            std::cout << fmt::format("{} at these bits: {}\n", r.kept[i].key(), check_verdict_name(r.checks[i].verdict));
    for (const LeftOut& l : r.left_out) std::cout << fmt::format("left out {}: {}\n", l.property.key(), l.reason);
    return 0;
}

}  // namespace

Runner add_synth(CLI::App& app) {
    auto o = std::make_shared<SynthCli>();
    CLI::App* cmd = app.add_subcommand("synth", "certified per-layer quantization bit-widths (Quadapter-style) for robustness properties");
    o->add(cmd);
    return [o] { return run_synth(*o); };
}

}  // namespace qcert::cli
