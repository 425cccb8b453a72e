// Quantization schemes: presets, the fixed: syntax and JSON scheme files.
#include "qcert/error.hpp"
#include "qcert/quant.hpp"

#include <cmath>
#include <fmt/format.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace qcert {

bool Scheme::integer_path() const {
    if (!input || layers.empty()) return false;
    for (size_t k = 0; k < layers.size(); ++k) {
        const LayerScheme& l = layers[k];
        if (!l.weight || !l.bias) return false;
        if (!l.activation && k + 1 < layers.size()) return false;  // the output may stay exact
    }
    return true;
}

namespace {

using json = nlohmann::json;

int parse_int(const std::string& s, const std::string& spec) {
    try {
        size_t used = 0;
        const int v = std::stoi(s, &used);
        if (used == s.size()) return v;
    } catch (const std::logic_error&) {
    }
    throw InputError("--scheme " + spec, "'" + s + "' is not an integer");
}

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> parts;
    std::stringstream ss(s);
    std::string p;
    while (std::getline(ss, p, sep)) parts.push_back(p);
    return parts;
}

void check_bits(int q, int lo, int hi, const std::string& spec) {
    if (q < lo || q > hi) throw InputError("--scheme " + spec, fmt::format("bits must be {}..{}, got {}", lo, hi, q));
}

// AAAI 2021 / QVIP: ../shared/benchmarks/README.md.
Scheme aaai2021(int Q, const BlockNet& net, const std::string& spec) {
    check_bits(Q, 2, 16, spec);
    Scheme s;
    s.name = spec;
    s.input = FixedFormat{false, 8, 8};
    s.input_raw = true;
    for (size_t k = 0; k < net.blocks.size(); ++k) {
        const bool last = k + 1 == net.blocks.size();
        LayerScheme l;
        l.weight = FixedFormat{true, Q, Q - 1};
        l.bias = FixedFormat{true, Q, Q - 2};
        l.activation = last ? FixedFormat{true, Q, Q - 2} : FixedFormat{false, Q, Q - 2};
        l.param_rounding = Rounding::HalfAway;
        l.act_rounding = Rounding::HalfUp;
        s.layers.push_back(l);
    }
    return s;
}

// QEBVerif (S3L-official/QEBVerif): weights sQ.(Q-1), biases sQ.(Q-2), both
// rounded half away from zero after clipping; hidden activations uQ.(Q-2), i.e.
// clamped to [0, 4 - 2^-(Q-2)], the accumulator rescaled half up; the output
// layer is neither rounded nor clamped (its exact accumulator); 8-bit input x/256.
Scheme qebverif(int Q, const BlockNet& net, const std::string& spec) {
    check_bits(Q, 3, 16, spec);
    Scheme s;
    s.name = spec;
    s.input = FixedFormat{false, 8, 8};
    s.input_raw = true;
    for (size_t k = 0; k < net.blocks.size(); ++k) {
        LayerScheme l;
        l.weight = FixedFormat{true, Q, Q - 1};
        l.bias = FixedFormat{true, Q, Q - 2};
        if (k + 1 < net.blocks.size()) l.activation = FixedFormat{false, Q, Q - 2};
        l.param_rounding = Rounding::HalfAway;
        l.act_rounding = Rounding::HalfUp;
        s.layers.push_back(l);
    }
    return s;
}

// Quadapter (zhangyedi/Quadapter): per weight layer, one signed B-bit format for
// weights and biases jointly. Integer bits I (sign included) from
// m = max(|round(max(W, b))|, |round(min(W, b))|) (numpy's half-even round):
// I = 1 if m = 0, 2 if m = 1, else ceil(log2 m) + 1; fractional bits B - I.
// Values saturate to the format and round half away from zero.
FixedFormat quadapter_format(int B, const Block& b) {
    const double mx = std::max(b.W.size() ? b.W.maxCoeff() : 0.0, b.b.size() ? b.b.maxCoeff() : 0.0);
    const double mn = std::min(b.W.size() ? b.W.minCoeff() : 0.0, b.b.size() ? b.b.minCoeff() : 0.0);
    const double m = std::max(std::fabs(double(round_double(mx, Rounding::HalfEven))),
                              std::fabs(double(round_double(mn, Rounding::HalfEven))));
    const int I = m == 0 ? 1 : m == 1 ? 2 : int(std::ceil(std::log2(m))) + 1;
    return FixedFormat{true, B, B - I};
}

Scheme quadapter(const std::vector<int>& bits, const BlockNet& net, const std::string& spec,
                 std::vector<FixedFormat> acts = {}) {
    if (bits.size() == 1 && net.blocks.size() > 1)
        return quadapter(std::vector<int>(net.blocks.size(), bits[0]), net, spec, std::move(acts));
    const size_t hidden = net.blocks.empty() ? 0 : net.blocks.size() - 1;
    if (acts.size() == 1 && hidden > 1) acts.assign(hidden, acts[0]);
    if (!acts.empty() && acts.size() != hidden)
        throw InputError("--scheme " + spec, fmt::format("{} activation formats given, the network has {} hidden layers",
                                                         acts.size(), hidden));
    if (bits.size() != net.blocks.size())
        throw InputError("--scheme " + spec, fmt::format("{} bit-widths given, the network has {} layers", bits.size(),
                                                         net.blocks.size()));
    Scheme s;
    s.name = spec;
    for (size_t k = 0; k < bits.size(); ++k) {
        check_bits(bits[k], 2, 32, spec);
        LayerScheme l;
        l.weight = l.bias = quadapter_format(bits[k], net.blocks[k]);
        l.param_rounding = Rounding::HalfAway;
        if (k < acts.size()) {  // a hidden layer's output: fixed point, round to nearest (ties to even)
            acts[k].check("--scheme " + spec);
            l.activation = acts[k];
            l.act_rounding = Rounding::HalfEven;
        }
        s.layers.push_back(l);
    }
    return s;
}

Scheme fp16(const BlockNet& net, const std::string& spec) {
    Scheme s;
    s.name = spec;
    for (size_t k = 0; k < net.blocks.size(); ++k) {
        LayerScheme l;
        l.weight_fp16 = l.bias_fp16 = true;
        s.layers.push_back(l);
    }
    return s;
}

// fixed:w=s8.7,b=s8.6,a=u8.6,o=s8.6,i=u8.8,raw,round=half_up,pround=half_even,acc=32
Scheme fixed(const std::string& args, const BlockNet& net, const std::string& spec) {
    Scheme s;
    s.name = spec;
    LayerScheme hidden, out;
    std::optional<FixedFormat> a, o;
    bool have_w = false, have_b = false;
    for (const std::string& kv : split(args, ',')) {
        if (kv.empty()) continue;
        const size_t eq = kv.find('=');
        const std::string key = kv.substr(0, eq), val = eq == std::string::npos ? "" : kv.substr(eq + 1);
        try {
            if (key == "w") { hidden.weight = parse_fixed_format(val); have_w = true; }
            else if (key == "b") { hidden.bias = parse_fixed_format(val); have_b = true; }
            else if (key == "a") a = parse_fixed_format(val);
            else if (key == "o") o = parse_fixed_format(val);
            else if (key == "i") s.input = parse_fixed_format(val);
            else if (key == "raw") s.input_raw = true;
            else if (key == "round") hidden.act_rounding = parse_rounding(val);
            else if (key == "pround") hidden.param_rounding = parse_rounding(val);
            else if (key == "acc") hidden.accumulator_bits = parse_int(val, spec);
            else throw InputError("", "unknown key '" + key + "' (w, b, a, o, i, raw, round, pround, acc)");
        } catch (const InputError& e) {
            throw InputError("--scheme " + spec, e.what());
        }
    }
    if (!have_w) throw InputError("--scheme " + spec, "fixed: needs at least w=FORMAT");
    if (!have_b) hidden.bias = hidden.weight;
    if (hidden.accumulator_bits < 0 || hidden.accumulator_bits > 64)
        throw InputError("--scheme " + spec, "acc must be 1..64");
    if (o && !a) throw InputError("--scheme " + spec, "o= needs a= too");
    out = hidden;
    hidden.activation = a;
    out.activation = o ? o : (a ? std::optional<FixedFormat>(FixedFormat{true, a->bits, a->frac}) : std::nullopt);
    for (size_t k = 0; k < net.blocks.size(); ++k) s.layers.push_back(k + 1 == net.blocks.size() ? out : hidden);
    return s;
}

std::string format_json(const std::optional<FixedFormat>& f) { return f ? f->str() : "real"; }

std::optional<FixedFormat> json_format(const json& j, const char* key, const std::string& where) {
    if (!j.contains(key)) return std::nullopt;
    const std::string v = j.at(key).get<std::string>();
    if (v == "real" || v == "fp16") return std::nullopt;
    try {
        return parse_fixed_format(v);
    } catch (const InputError& e) {
        throw InputError(where, e.what());
    }
}

LayerScheme json_layer(const json& j, LayerScheme l, const std::string& where) {
    if (auto f = json_format(j, "weight", where)) l.weight = f;
    if (auto f = json_format(j, "bias", where)) l.bias = f;
    if (auto f = json_format(j, "activation", where)) l.activation = f;
    if (j.contains("weight") && j["weight"] == "fp16") l.weight_fp16 = true;
    if (j.contains("bias") && j["bias"] == "fp16") l.bias_fp16 = true;
    try {
        if (j.contains("param_rounding")) l.param_rounding = parse_rounding(j["param_rounding"]);
        if (j.contains("act_rounding")) l.act_rounding = parse_rounding(j["act_rounding"]);
    } catch (const InputError& e) {
        throw InputError(where, e.what());
    }
    if (j.contains("accumulator_bits")) l.accumulator_bits = j["accumulator_bits"].get<int>();
    if (l.accumulator_bits < 0 || l.accumulator_bits > 64) throw InputError(where, "accumulator_bits must be 0..64");
    return l;
}

}  // namespace

Scheme read_scheme_json(const std::string& path, const BlockNet& net) {
    std::ifstream in(path);
    if (!in) throw InputError(path, "cannot open the scheme file");
    try {
        const json j = json::parse(in);
        Scheme s;
        s.name = path;
        if (j.contains("input")) {
            const json& ji = j["input"];
            s.input = json_format(ji, "format", path);
            s.input_raw = ji.value("raw", false);
        }
        const LayerScheme base = j.contains("default") ? json_layer(j["default"], LayerScheme{}, path) : LayerScheme{};
        if (j.contains("layers")) {
            if (j["layers"].size() != net.blocks.size())
                throw InputError(path, fmt::format("the scheme has {} layers, the network has {}", j["layers"].size(),
                                                   net.blocks.size()));
            for (const json& jl : j["layers"]) s.layers.push_back(json_layer(jl, base, path));
        } else {
            s.layers.assign(net.blocks.size(), base);
        }
        return s;
    } catch (const json::exception& e) {
        throw InputError(path, std::string("bad scheme file: ") + e.what());
    }
}

std::string scheme_to_json(const Scheme& s) {
    json j;
    j["name"] = s.name;
    if (s.input) j["input"] = {{"format", s.input->str()}, {"raw", s.input_raw}};
    j["layers"] = json::array();
    for (const LayerScheme& l : s.layers) {
        json jl;
        jl["weight"] = l.weight_fp16 ? "fp16" : format_json(l.weight);
        jl["bias"] = l.bias_fp16 ? "fp16" : format_json(l.bias);
        jl["activation"] = format_json(l.activation);
        jl["param_rounding"] = rounding_name(l.param_rounding);
        jl["act_rounding"] = rounding_name(l.act_rounding);
        jl["accumulator_bits"] = l.accumulator_bits;
        j["layers"].push_back(jl);
    }
    return j.dump(2);
}

Scheme parse_scheme(const std::string& spec, const BlockNet& net) {
    const size_t colon = spec.find(':');
    const std::string name = spec.substr(0, colon), args = colon == std::string::npos ? "" : spec.substr(colon + 1);
    auto need_args = [&](const char* what) {
        if (args.empty()) throw InputError("--scheme " + spec, fmt::format("{} needs {}", name, what));
    };
    if (name == "aaai2021") { need_args("the bit-width, e.g. aaai2021:6"); return aaai2021(parse_int(args, spec), net, spec); }
    if (name == "qebverif") { need_args("the bit-width, e.g. qebverif:8"); return qebverif(parse_int(args, spec), net, spec); }
    if (name == "quadapter") {
        need_args("bit-widths per layer, e.g. quadapter:6,3");
        // quadapter:B1,...,Bn[,a=F1,...,F(n-1)]: the hidden layers' activation formats after a=.
        std::vector<int> bits;
        std::vector<FixedFormat> acts;
        bool in_acts = false;
        for (std::string b : split(args, ',')) {
            if (b.rfind("a=", 0) == 0) {
                if (in_acts) throw InputError("--scheme " + spec, "a= given twice");
                in_acts = true;
                b = b.substr(2);
            }
            if (!in_acts) {
                bits.push_back(parse_int(b, spec));
                continue;
            }
            try {
                acts.push_back(parse_fixed_format(b));
            } catch (const InputError& e) {
                throw InputError("--scheme " + spec, e.what());
            }
        }
        if (bits.empty()) throw InputError("--scheme " + spec, "no bit-widths before a=");
        return quadapter(bits, net, spec, acts);
    }
    if (name == "fp16") return fp16(net, spec);
    if (name == "fixed") {
        need_args("formats, e.g. fixed:8 or fixed:w=s8.7,b=s8.6,a=u8.6,i=u8.8,raw");
        if (args.find('=') == std::string::npos) return quadapter({parse_int(args, spec)}, net, spec);
        return fixed(args, net, spec);
    }
    if (spec.size() > 5 && spec.substr(spec.size() - 5) == ".json") return read_scheme_json(spec, net);
    throw InputError("--scheme " + spec, "unknown scheme (aaai2021:Q, qebverif:Q, quadapter:B1,B2,..., fp16, fixed:..., FILE.json)");
}

}  // namespace qcert
