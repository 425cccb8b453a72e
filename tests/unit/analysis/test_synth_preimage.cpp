// qcert synth --method preimage: the preimage boxes against dense sampling through the float
// layers, the per-layer choice against its own promise, every answer re-certified by
// check_robust and sampled, and the comparison with the search on tiny networks.
#include "synth_test_data.hpp"
#include "analysis/synth_preimage.hpp"
#include "qcert/error.hpp"
#include "qcert/synth.hpp"

#include <gtest/gtest.h>
#include <iostream>
#include <numeric>
#include <random>

using namespace qcert;
using namespace qcert::synth;
using namespace qcert::test;

namespace {

// The float layers after hidden layer k, from its output h.
Vec forward_from(const BlockNet& net, size_t k, Vec h) {
    for (size_t l = k + 1; l < net.blocks.size(); ++l) h = net.blocks[l].activate(net.blocks[l].W * h + net.blocks[l].b);
    return h;
}

// The label strictly wins (what block_keeps_label promises).
bool label_wins(const Vec& y, int64_t label) {
    for (int64_t j = 0; j < y.size(); ++j)
        if (j != label && !(y[label] > y[j])) return false;
    return true;
}

}  // namespace

TEST(SynthPreimage, BoxesContainTheReachableSetAndMapIntoTheSafeSet) {
    std::mt19937_64 rng(21);
    int with_preimage = 0, layers_checked = 0;
    for (int trial = 0; trial < 40; ++trial) {
        const BlockNet net = test::random_block_net(rng, 3, {6, 5, 3});
        const RobustProperty p = random_property(rng, net, 0.01 * double(test::uniform(rng, 1, 5)), trial);
        const PropertyPreimage pre = compute_preimage(net, p, 1.0);
        ASSERT_EQ(pre.scale.size(), 2u);
        // A preimage at layer k needs one at every later hidden layer.
        if (pre.scale[0] >= 0) {
            EXPECT_GE(pre.scale[1], 0);
        }
        with_preimage += pre.scale[0] >= 0;
        for (size_t k = 0; k < 2; ++k) {
            // The reachable box holds every sampled float value of the layer.
            for (int t = 0; t < 200; ++t) {
                Vec h = to_vec(random_point(rng, p.lo, p.hi));
                for (size_t l = 0; l <= k; ++l) h = net.blocks[l].activate(net.blocks[l].W * h + net.blocks[l].b);
                for (int64_t i = 0; i < h.size(); ++i) {
                    EXPECT_GE(h[i], pre.reach[k].lo[size_t(i)] - 1e-9);
                    EXPECT_LE(h[i], pre.reach[k].hi[size_t(i)] + 1e-9);
                }
            }
            if (pre.scale[k] < 0) continue;
            ++layers_checked;
            const LayerBox& P = pre.preimage[k];
            for (size_t i = 0; i < P.lo.size(); ++i) {  // t >= 0: the preimage contains the reachable box
                EXPECT_LE(P.lo[i], pre.reach[k].lo[i]);
                EXPECT_GE(P.hi[i], pre.reach[k].hi[i]);
            }
            // Every point of the preimage keeps the label through the float layers after k.
            for (int t = 0; t < 2000; ++t)
                EXPECT_TRUE(label_wins(forward_from(net, k, to_vec(random_point(rng, P.lo, P.hi))), p.label))
                    << "trial " << trial << " layer " << k << " scale " << pre.scale[k];
        }
    }
    EXPECT_GT(with_preimage, 10);
    EXPECT_GT(layers_checked, 25);
}

TEST(SynthPreimage, BlockChecksAreSoundAgainstSampling) {
    std::mt19937_64 rng(4);
    int positive = 0;
    for (int trial = 0; trial < 200; ++trial) {
        const BlockNet net = test::random_block_net(rng, 4, {3});
        LayerBox in;
        for (int j = 0; j < 4; ++j) {
            const double c = std::uniform_real_distribution<double>(-1, 1)(rng), w = 0.05 * double(test::uniform(rng, 0, 6));
            in.lo.push_back(c - w), in.hi.push_back(c + w);
        }
        const int64_t label = test::uniform(rng, 0, 2);
        if (!block_keeps_label(net.blocks[0], label, in)) continue;
        ++positive;
        for (int t = 0; t < 500; ++t) {
            const Vec h = to_vec(random_point(rng, in.lo, in.hi));
            EXPECT_TRUE(label_wins(net.blocks[0].W * h + net.blocks[0].b, label)) << "trial " << trial;
        }
    }
    EXPECT_GT(positive, 20);
}

class SynthPreimageMethod : public ::testing::Test {
protected:
    void SetUp() override {
        std::mt19937_64 rng(5);
        test::balanced_properties(rng, 0.03, net, props);
        o.min_bits = 2, o.max_bits = 10, o.timeout_s = 5, o.progress = false;
    }
    BlockNet net;
    std::vector<RobustProperty> props;
    SynthOptions o;
};

TEST_F(SynthPreimageMethod, TheLastLayerChoiceKeepsItsPromise) {
    // Every property the float linear bounds prove, and the twin at max-bits too, is proved
    // by the linear bounds of the twin at the answer (the forward choice's last step).
    const PreimageAnswer a = preimage_bits(net, props, 1.0, o);
    ASSERT_EQ(a.bits.size(), 3u);
    const BlockNet q = quadapter_twin(net, a.bits);
    std::vector<int> at_max = a.bits;
    at_max.back() = o.max_bits;
    const BlockNet qmax = quadapter_twin(net, at_max);
    int promised = 0;
    for (const RobustProperty& p : props) {
        if (!linear_bound_proves(net, p, 1.0) || !linear_bound_proves(qmax, p, 1.0)) continue;
        ++promised;
        // By the linear bounds, unless input splitting lowered the last layer further.
        if (a.split_lowered.back() == 0) {
            EXPECT_TRUE(linear_bound_proves(q, p, 1.0)) << p.key() << " bits " << bits_str(a.bits);
        }
        // And independently: the sound checker proves it.
        EXPECT_EQ(check_robust(q, p, 1.0, 5.0).verdict, CheckVerdict::Proved) << p.key();
    }
    EXPECT_GT(promised, 3);
    EXPECT_GT(a.linear, 3);
    for (int b : a.bits) EXPECT_TRUE(b >= o.min_bits && b <= o.max_bits);
}

TEST_F(SynthPreimageMethod, TheFirstLayerChoiceKeepsEveryPropertyInItsPolytope) {
    // Every property whose quantized first layer lies in one of its polytopes at max-bits
    // (and that the float linear bounds prove) lies in one at the answer's first-layer bits
    // (linear bounds or input splitting), and the network with that quantized first layer and
    // the float layers above keeps the label on sampled inputs.
    const PreimageAnswer a = preimage_bits(net, props, 1.0, o);
    std::vector<int> first_max(3, o.max_bits), first_at(3, o.max_bits);
    first_at[0] = a.bits[0];
    const BlockNet qmax = quadapter_twin(net, first_max), q = quadapter_twin(net, first_at);
    BlockNet hybrid = net;
    hybrid.blocks[0] = q.blocks[0];
    std::mt19937_64 rng(19);
    int promised = 0;
    for (const RobustProperty& p : props) {
        const PropertyPreimage pre = compute_preimage(net, p, 1.0);
        if (!pre.linear) continue;
        bool at_max = false, at_answer = false;
        for (const PreimagePolytope& P : pre.polytopes[0]) at_max = at_max || prefix_inside_polytope(qmax, 0, p, P);
        if (!at_max) continue;
        ++promised;
        for (const PreimagePolytope& P : pre.polytopes[0]) at_answer = at_answer || prefix_inside_polytope(q, 0, p, P, o.timeout_s);
        if (!at_answer && pre.scale[0] >= 0) {  // or in its box preimage
            const LayerBox r = prefix_bounds(q, 1, p, 1.0);
            at_answer = true;
            for (size_t j = 0; j < r.lo.size(); ++j)
                at_answer = at_answer && r.lo[j] >= pre.preimage[0].lo[j] && r.hi[j] <= pre.preimage[0].hi[j];
        }
        EXPECT_TRUE(at_answer) << p.key() << " bits " << bits_str(a.bits);
        for (int t = 0; at_answer && t < 2000; ++t)
            EXPECT_EQ(top_class(hybrid.forward(to_vec(random_point(rng, p.lo, p.hi)))), p.label) << p.key();
    }
    EXPECT_GT(promised, 3);
}

TEST_F(SynthPreimageMethod, AnswerIsRecertifiedFromScratchAndSampledClean) {
    o.method = "preimage";
    const SynthResult r = synthesize(net, props, 1.0, o);
    EXPECT_EQ(r.method, "preimage");
    ASSERT_EQ(r.answers.size(), 1u);
    EXPECT_EQ(r.answers[0].bits, r.bits);
    EXPECT_EQ(r.answers[0].proved, r.proved);
    EXPECT_GT(r.proved, 0);
    const BlockNet q = quadapter_twin(net, r.bits);
    std::mt19937_64 rng(9);
    for (size_t i = 0; i < r.kept.size(); ++i) {
        if (r.checks[i].verdict != CheckVerdict::Proved) continue;
        EXPECT_EQ(check_robust(q, r.kept[i], 1.0, 5.0).verdict, CheckVerdict::Proved) << r.kept[i].key();
        for (int t = 0; t < 3000; ++t)
            EXPECT_EQ(top_class(q.forward(to_vec(random_point(rng, r.kept[i].lo, r.kept[i].hi)))), r.kept[i].label)
                << r.kept[i].key() << " bits " << bits_str(r.bits);
    }
}

TEST_F(SynthPreimageMethod, BestTakesTheBetterCertifiedAnswerOfSearchAndPreimage) {
    o.method = "search";
    const SynthResult s = synthesize(net, props, 1.0, o);
    o.method = "preimage";
    const SynthResult p = synthesize(net, props, 1.0, o);
    o.method = "best";
    const SynthResult b = synthesize(net, props, 1.0, o);
    ASSERT_EQ(b.answers.size(), 2u);
    EXPECT_EQ(b.answers[0].bits, s.bits);
    EXPECT_EQ(b.answers[1].bits, p.bits);
    EXPECT_EQ(b.answers[0].proved, s.proved);
    EXPECT_EQ(b.answers[1].proved, p.proved);
    EXPECT_EQ(b.proved, std::max(s.proved, p.proved));
    auto total = [](const std::vector<int>& v) { return std::accumulate(v.begin(), v.end(), 0); };
    if (s.proved == p.proved) {
        EXPECT_EQ(total(b.bits), std::min(total(s.bits), total(p.bits)));
    }
    // The search keeps every property the max-bits twin proves (all kept ones, on this case);
    // the preimage method at least those it promised: proved by the linear bounds of the float
    // network and of its answer with the last layer at max-bits.
    EXPECT_EQ(s.proved, int64_t(s.kept.size()));
    std::vector<int> at_max = p.bits;
    at_max.back() = o.max_bits;
    const BlockNet qmax = quadapter_twin(net, at_max);
    int64_t promised = 0;
    for (const RobustProperty& k : p.kept) promised += linear_bound_proves(net, k, 1.0) && linear_bound_proves(qmax, k, 1.0);
    EXPECT_GE(p.proved, promised);
    EXPECT_GT(promised, 0);
    std::cout << "search (" << bits_str(s.bits) << ") " << s.proved << ", preimage (" << bits_str(p.bits) << ") " << p.proved
              << " of " << s.kept.size() << "\n";
}

TEST_F(SynthPreimageMethod, UnknownMethodIsAnInputError) {
    o.method = "milp";
    EXPECT_THROW(synthesize(net, props, 1.0, o), InputError);
}

namespace {

// A property of `kind` on a random box: backdoor (target: a class other than the centre's),
// or a VNN-LIB unsafe set of one or two disjuncts of random constraints, each violated at the
// box centre by a margin (so the float network often keeps it).
BoxProperty random_general_property(std::mt19937_64& rng, const BlockNet& net, PropertyKind kind, int64_t id) {
    BoxProperty p = random_property(rng, net, 0.01 * double(test::uniform(rng, 1, 4)), id);
    p.kind = kind;
    const int64_t n = net.output_size();
    if (kind == PropertyKind::Backdoor) {
        p.label = (p.label + 1 + test::uniform(rng, 0, int(n) - 2)) % n;
        return p;
    }
    p.name = "v" + std::to_string(id);
    std::vector<double> c(p.lo.size());
    for (size_t j = 0; j < c.size(); ++j) c[j] = 0.5 * (p.lo[j] + p.hi[j]);
    const Vec y = net.forward(to_vec(c));
    std::normal_distribution<double> N(0.0, 1.0);
    const int disjuncts = test::uniform(rng, 1, 2);
    for (int d = 0; d < disjuncts; ++d) {
        p.unsafe.unsafe.emplace_back();
        const int rows = test::uniform(rng, 1, 2);
        for (int r = 0; r < rows; ++r) {
            LinearConstraint k;
            double at_centre = 0;
            for (int64_t i = 0; i < n; ++i) {
                const double a = N(rng);
                k.terms.push_back({i, a});
                at_centre += a * y[i];
            }
            k.rhs = at_centre - 0.05 * double(test::uniform(rng, 1, 10));  // c.y <= rhs is false at the centre
            k.strict = rng() % 2 == 0;
            p.unsafe.unsafe.back().push_back(k);
        }
    }
    return p;
}

}  // namespace

TEST(SynthPreimage, GeneralUnsafeSetsBackdoorAndVnnlibAreSoundAgainstSampling) {
    std::mt19937_64 rng(33);
    int layers_checked = 0, last_checked = 0;
    for (int trial = 0; trial < 60; ++trial) {
        const BlockNet net = test::random_block_net(rng, 3, {6, 5, 3});
        const BoxProperty p =
            random_general_property(rng, net, trial % 2 ? PropertyKind::Backdoor : PropertyKind::Vnnlib, trial);
        const OutputProperty unsafe = p.unsafe_set(net.output_size());
        const PropertyPreimage pre = compute_preimage(net, p, 1.0);
        ASSERT_EQ(pre.scale.size(), 2u);
        for (size_t k = 0; k < 2; ++k) {
            if (pre.scale[k] < 0) continue;
            ++layers_checked;
            const LayerBox& P = pre.preimage[k];
            for (int t = 0; t < 2000; ++t)
                EXPECT_FALSE(unsafe.is_unsafe(forward_from(net, k, to_vec(random_point(rng, P.lo, P.hi)))))
                    << "trial " << trial << " layer " << k << " scale " << pre.scale[k];
        }
        // The last block's check alone.
        if (pre.scale[1] >= 0 && block_safe(net.blocks[2], p, pre.preimage[1])) ++last_checked;
        // The linear bounds' proof at the root: no sampled input of the box is unsafe.
        if (linear_bound_proves(net, p, 1.0)) {
            for (int t = 0; t < 500; ++t) EXPECT_FALSE(unsafe.is_unsafe(net.forward(to_vec(random_point(rng, p.lo, p.hi)))));
        }
    }
    EXPECT_GT(layers_checked, 15);
    EXPECT_GT(last_checked, 5);
}

TEST_F(SynthPreimageMethod, BackdoorPropertiesThroughThePreimageAreCertifiedAndSampledClean) {
    std::mt19937_64 rng(12);
    std::vector<BoxProperty> bd;
    for (const RobustProperty& r : props) {
        BoxProperty p = r;
        p.kind = PropertyKind::Backdoor;
        p.label = (r.label + 1) % 3;  // the target: a class the centre does not have
        bd.push_back(p);
    }
    o.method = "preimage";
    const SynthResult r = synthesize(net, bd, o);
    EXPECT_EQ(r.method, "preimage");
    ASSERT_EQ(r.answers.size(), 1u);
    EXPECT_EQ(r.answers[0].proved, r.proved);
    EXPECT_GT(r.proved, 0);
    const BlockNet q = quadapter_twin(net, r.bits);
    for (size_t i = 0; i < r.kept.size(); ++i) {
        if (r.checks[i].verdict != CheckVerdict::Proved) continue;
        EXPECT_EQ(check_property(q, r.kept[i], 5.0).verdict, CheckVerdict::Proved) << r.kept[i].key();
        for (int t = 0; t < 2000; ++t)
            EXPECT_NE(top_class(q.forward(to_vec(random_point(rng, r.kept[i].lo, r.kept[i].hi)))), r.kept[i].label)
                << r.kept[i].key() << " bits " << bits_str(r.bits);
    }
    // --cost memory: best compares the certified answers by memory.
    o.method = "best";
    o.cost = SynthCost::Memory;
    const SynthResult b = synthesize(net, bd, o);
    ASSERT_EQ(b.answers.size(), 2u);
    EXPECT_EQ(b.cost, synth_cost(net, b.bits, SynthCost::Memory));
    for (const MethodAnswer& a : b.answers) {
        EXPECT_EQ(a.cost, synth_cost(net, a.bits, SynthCost::Memory));
        EXPECT_LE(a.proved, b.proved);
        if (a.proved == b.proved) {
            EXPECT_GE(a.cost, b.cost);
        }
    }
}
