// The properties of qcert synth: local robustness and backdoor-freeness around data
// samples, and VNN-LIB properties; each a box of inputs and an unsafe set of outputs.
#include "qcert/error.hpp"
#include "qcert/synth.hpp"

#include <cmath>
#include <filesystem>
#include <fmt/format.h>
#include <sstream>

namespace qcert {

const char* property_kind_name(PropertyKind k) {
    switch (k) {
        case PropertyKind::Vnnlib: return "vnnlib";
        case PropertyKind::Backdoor: return "backdoor";
        default: return "robust";
    }
}

std::string BoxProperty::key() const {
    if (!name.empty()) return name;
    return fmt::format("{}s{}_r{}", kind == PropertyKind::Backdoor ? "bd_" : "", sample, radius);
}

OutputProperty BoxProperty::unsafe_set(int64_t outputs) const {
    if (!unsafe.unsafe.empty()) return unsafe;
    if (kind == PropertyKind::Vnnlib) throw InputError(key(), "the unsafe set is empty");
    if (label < 0 || label >= outputs)
        throw InputError(key(), fmt::format("class {} is not an output (0..{})", label, outputs - 1));
    if (kind == PropertyKind::Robust) return OutputProperty::misclassified(outputs, label);
    // Backdoor: classified as the target (argmax, ties to the lowest index): y_j < y_T for
    // every j < T and y_j <= y_T for every j > T.
    OutputProperty u;
    u.unsafe.emplace_back();
    for (int64_t j = 0; j < outputs; ++j) {
        if (j == label) continue;
        LinearConstraint c;
        c.terms = {{j, 1.0}, {label, -1.0}};
        c.rhs = 0;
        c.strict = j < label;
        u.unsafe.back().push_back(c);
    }
    return u;
}

namespace {

double data_divisor(const Dataset& d) { return d.float_scale > 0 ? std::round(1.0 / d.float_scale) : 1.0; }

// The L-inf box of radius r around sample s, clipped to [0, 255] for integral data.
void ball(const Dataset& d, int64_t s, double r, BoxProperty& p) {
    if (!(r >= 0) || !std::isfinite(r)) throw InputError("--radius", "must be a number >= 0");
    if (s < 0 || s >= d.count())
        throw InputError("--samples", fmt::format("sample {} is not in {} ({} samples)", s, d.source, d.count()));
    const Vec x = d.raw_sample(s);
    p.sample = s, p.radius = r, p.divisor = data_divisor(d);
    p.lo.clear(), p.hi.clear();
    for (int64_t j = 0; j < x.size(); ++j) {
        double lo = x[j] - r, hi = x[j] + r;
        if (d.integral) lo = std::max(lo, 0.0), hi = std::min(hi, 255.0);
        p.lo.push_back(lo), p.hi.push_back(hi);
    }
}

}  // namespace

std::vector<BoxProperty> robust_properties(const Dataset& d, const std::vector<int64_t>& samples,
                                           const std::vector<double>& radii) {
    std::vector<BoxProperty> out;
    for (double r : radii)
        for (int64_t s : samples) {
            if (d.labels.empty()) throw InputError(d.source, "robustness properties need labels");
            BoxProperty p;
            ball(d, s, r, p);
            p.label = d.labels[size_t(s)];
            out.push_back(std::move(p));
        }
    return out;
}

std::vector<TriggerPixel> parse_trigger(const std::string& spec) {
    std::vector<TriggerPixel> out;
    std::stringstream ss(spec);
    for (std::string part; std::getline(ss, part, ';');) {
        if (part.empty()) continue;
        TriggerPixel t;
        char comma = 0, eq = 0;
        std::istringstream in(part);
        if (!(in >> t.row >> comma >> t.col >> eq >> t.value) || comma != ',' || eq != '=' || !(in >> std::ws).eof())
            throw InputError("--trigger", fmt::format("'{}' is not ROW,COL=VALUE", part));
        out.push_back(t);
    }
    if (out.empty()) throw InputError("--trigger", "no trigger pixels (expected ROW,COL=VALUE;ROW,COL=VALUE...)");
    return out;
}

std::vector<BoxProperty> backdoor_properties(const Dataset& d, const std::vector<int64_t>& samples,
                                             const std::vector<double>& radii, const std::vector<TriggerPixel>& trigger,
                                             int64_t target, int64_t classes) {
    if (target < 0 || target >= classes)
        throw InputError("--target", fmt::format("class {} is not an output of the network (0..{})", target, classes - 1));
    if (d.labels.empty()) throw InputError(d.source, "backdoor properties need labels (samples of the target class are skipped)");
    // The image: (C, H, W) or (H, W); a flat sample is one row.
    const Shape& sh = d.sample_shape;
    const int64_t rows = sh.size() >= 2 ? sh[sh.size() - 2] : 1, cols = sh.empty() ? 0 : sh.back();
    const int64_t channels = cols * rows == 0 ? 0 : d.sample_size() / (rows * cols);
    for (const TriggerPixel& t : trigger) {
        if (t.row < 0 || t.row >= rows || t.col < 0 || t.col >= cols)
            throw InputError("--trigger", fmt::format("pixel ({},{}) is outside the {}x{} image of {}", t.row, t.col, rows,
                                                      cols, d.source));
        if (!std::isfinite(t.value) || (d.integral && (t.value < 0 || t.value > 255)))
            throw InputError("--trigger", fmt::format("value {} of pixel ({},{}) is outside the data range 0..255", t.value,
                                                      t.row, t.col));
    }
    std::vector<BoxProperty> out;
    for (double r : radii)
        for (int64_t s : samples) {
            BoxProperty p;
            p.kind = PropertyKind::Backdoor;
            ball(d, s, r, p);
            if (d.labels[size_t(s)] == target) continue;  // the target's own samples may go to the target
            p.label = target;
            for (const TriggerPixel& t : trigger)
                for (int64_t c = 0; c < channels; ++c) {
                    const size_t j = size_t((c * rows + t.row) * cols + t.col);
                    p.lo[j] = p.hi[j] = t.value;
                }
            out.push_back(std::move(p));
        }
    return out;
}

std::vector<BoxProperty> vnnlib_properties(const std::string& path, const VnnlibProperty& v) {
    std::vector<BoxProperty> out;
    const std::string stem = std::filesystem::path(path).stem().string();
    for (size_t b = 0; b < v.input_boxes.size(); ++b) {
        BoxProperty p;
        p.kind = PropertyKind::Vnnlib;
        p.name = v.input_boxes.size() == 1 ? stem : fmt::format("{}#{}", stem, b);
        p.unsafe = v.unsafe_for(b);
        if (p.unsafe.unsafe.empty()) throw InputError(path, "the property asserts no output constraint");
        for (const auto& [lo, hi] : v.input_boxes[b]) p.lo.push_back(lo), p.hi.push_back(hi);
        out.push_back(std::move(p));
    }
    return out;
}

}  // namespace qcert
