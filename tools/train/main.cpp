// qcert-train: trains the small MLPs bundled in examples/, reproducibly.
//
//   qcert-train two-input --activation relu --out examples/two_input_relu.onnx
//   qcert-train idx --train-images ... --train-labels ... --test-images ...
//                   --test-labels ... --out examples/fashion_mlp.onnx
//   qcert-train idx-subset --images ... --labels ... --count 100 --out-images ... --out-labels ...
//
// Every run with the same options gives the same bytes (fixed seeds, one thread).
#include "mlp.hpp"
#include "two_input.hpp"

#include "qcert/error.hpp"
#include "qcert/io.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace qcert::train {
namespace {

struct TrainOptions {
    std::vector<int64_t> hidden;
    int epochs = 0;
    int64_t batch = 32;
    double lr = 1e-3;
    uint64_t seed = 1;
    std::string out;
};

void add_train_options(CLI::App* cmd, TrainOptions& o) {
    cmd->add_option("--hidden", o.hidden, "hidden layer sizes, e.g. 64,32")->delimiter(',')->capture_default_str();
    cmd->add_option("--epochs", o.epochs, "passes over the training data")->capture_default_str()->check(CLI::PositiveNumber);
    cmd->add_option("--batch", o.batch, "mini-batch size")->capture_default_str()->check(CLI::PositiveNumber);
    cmd->add_option("--lr", o.lr, "Adam learning rate")->capture_default_str()->check(CLI::PositiveNumber);
    cmd->add_option("--seed", o.seed, "seed of the weight initialisation and the batch order")->capture_default_str();
    cmd->add_option("--out", o.out, "the ONNX model to write")->required();
}

Mlp train(const Samples& data, int64_t classes, bool relu, const TrainOptions& o) {
    for (int y : data.y)
        if (y < 0 || y >= classes) throw InputError("", "label " + std::to_string(y) + " outside 0.." + std::to_string(classes - 1));
    std::vector<int64_t> sizes{data.X.rows()};
    sizes.insert(sizes.end(), o.hidden.begin(), o.hidden.end());
    sizes.push_back(classes);
    Rng rng(o.seed);
    Mlp mlp(sizes, relu, rng);
    AdamConfig cfg;
    cfg.lr = o.lr;
    for (int e = 1; e <= o.epochs; ++e) {
        double loss = mlp.train_epoch(data, o.batch, cfg, rng);
        if (e == o.epochs || o.epochs <= 20 || e % (o.epochs / 10) == 0)
            std::fprintf(stderr, "epoch %d/%d  mean loss %.5f\n", e, o.epochs, loss);
    }
    return mlp;
}

// Accuracy of the written network's IR (float inference through qcert::Network).
double network_accuracy(const Network& net, const Samples& s) {
    int64_t right = 0;
    for (int64_t j = 0; j < s.count(); ++j) right += argmax(net.forward(s.X.col(j))) == s.y[j];
    return s.count() ? double(right) / double(s.count()) : 0.0;
}

// Writes the model, reads it back and checks the outputs agree on the samples.
void write_and_check(const Network& net, const Samples& s, const std::string& path) {
    write_onnx(net, path);
    Network back = read_onnx(path).net;
    double worst = 0;
    for (int64_t j = 0; j < std::min<int64_t>(s.count(), 1000); ++j) {
        Vec a = net.forward(s.X.col(j)), b = back.forward(s.X.col(j));
        worst = std::max(worst, (a - b).cwiseAbs().maxCoeff() / std::max(1.0, a.cwiseAbs().maxCoeff()));
    }
    if (worst > 1e-9) throw InputError(path, "read back differs from the trained network (" + std::to_string(worst) + ")");
    std::printf("wrote %s (%lld parameters); read back, outputs agree (max rel. diff %.1e)\n", path.c_str(),
                (long long)net.parameter_count(), worst);
}

Samples to_samples(const Dataset& d) {
    Samples s;
    s.X = Eigen::Map<const Mat>(d.raw.data(), d.sample_size(), d.count()) * d.float_scale;
    s.y = d.labels;
    return s;
}

void run_two_input(const TrainOptions& o, const std::string& activation, int64_t points, uint64_t data_seed,
                   const std::string& data_out, const std::string& labels_out) {
    const bool relu = activation == "relu";
    Samples data = two_input_points(points, data_seed);
    Samples held_out = two_input_points(10000, data_seed + 1);
    Mlp mlp = train(data, 2, relu, o);
    Network net = mlp.to_network({2});
    net.input_lo = {0.0, 0.0};
    net.input_hi = {1.0, 1.0};
    std::printf("two-input %s MLP: training accuracy %.2f %%, held-out accuracy %.2f %% (10000 points, seed %llu)\n",
                activation.c_str(), 100 * network_accuracy(net, data), 100 * network_accuracy(net, held_out),
                (unsigned long long)(data_seed + 1));
    write_and_check(net, data, o.out);
    const std::string what = std::to_string(points) + " points uniform in [0,1]^2 (qcert-train seed " +
                             std::to_string(data_seed) + "), class 1 iff x2 > 0.5 + 0.25 sin(2 pi x1)";
    if (!data_out.empty()) write_points_csv(data, data_out, what);
    if (!labels_out.empty()) write_labels_csv(data, labels_out, "labels of " + what);
}

void run_idx(const TrainOptions& o, const std::string& tri, const std::string& trl, const std::string& tei,
             const std::string& tel, double min_accuracy) {
    Dataset train_set = read_idx(tri, trl), test_set = read_idx(tei, tel);
    if (train_set.sample_shape != test_set.sample_shape)
        throw InputError(tei, "sample shape " + shape_str(test_set.sample_shape) + " differs from the training set's");
    int64_t classes = 1 + *std::max_element(train_set.labels.begin(), train_set.labels.end());
    Samples tr = to_samples(train_set), te = to_samples(test_set);
    train_set.raw.clear();
    train_set.raw.shrink_to_fit();
    Mlp mlp = train(tr, classes, true, o);
    Network net = mlp.to_network(train_set.sample_shape);
    double acc = network_accuracy(net, te);
    std::printf("IDX MLP: training accuracy %.2f %%, test accuracy %.2f %% (%lld test samples)\n",
                100 * mlp.accuracy(tr), 100 * acc, (long long)te.count());
    if (acc < min_accuracy)
        throw InputError(o.out, "test accuracy " + std::to_string(acc) + " below --min-accuracy " + std::to_string(min_accuracy));
    write_and_check(net, te, o.out);
}

void run_subset(const std::string& images, const std::string& labels, int64_t count, const std::string& out_images,
                const std::string& out_labels) {
    Dataset d = read_idx(images, labels);
    if (count > d.count()) throw InputError(images, "has only " + std::to_string(d.count()) + " samples");
    d.raw.resize(size_t(count * d.sample_size()));
    d.labels.resize(size_t(count));
    write_idx_images(d, out_images);
    write_idx_labels(d.labels, out_labels);
    std::printf("wrote the first %lld samples to %s and %s\n", (long long)count, out_images.c_str(), out_labels.c_str());
}

}  // namespace
}  // namespace qcert::train

int main(int argc, char** argv) {
    using namespace qcert::train;
    CLI::App app{"qcert-train: trains the small MLPs bundled in examples/, reproducibly"};
    app.require_subcommand(1);

    TrainOptions two{{8, 8}, 400, 32, 0.01, 1, {}};
    std::string activation = "relu", data_out, labels_out;
    int64_t points = 500;
    uint64_t data_seed = 2019;
    auto* cmd2 = app.add_subcommand("two-input", "an MLP on the synthetic two-input, two-class data set");
    add_train_options(cmd2, two);
    cmd2->add_option("--activation", activation, "hidden activation")->check(CLI::IsMember({"relu", "linear"}))->capture_default_str();
    cmd2->add_option("--points", points, "training points")->check(CLI::PositiveNumber)->capture_default_str();
    cmd2->add_option("--data-seed", data_seed, "seed of the data set")->capture_default_str();
    cmd2->add_option("--data-out", data_out, "write the training points here (CSV, x1,x2 per row)");
    cmd2->add_option("--labels-out", labels_out, "write the training labels here (CSV, one per row)");

    TrainOptions idx{{64, 32}, 6, 64, 1e-3, 1, {}};
    std::string tri, trl, tei, tel;
    double min_accuracy = 0;
    auto* cmdi = app.add_subcommand("idx", "a ReLU MLP on IDX images (MNIST, Fashion-MNIST), inputs pixel/255");
    add_train_options(cmdi, idx);
    cmdi->add_option("--train-images", tri)->required();
    cmdi->add_option("--train-labels", trl)->required();
    cmdi->add_option("--test-images", tei)->required();
    cmdi->add_option("--test-labels", tel)->required();
    cmdi->add_option("--min-accuracy", min_accuracy, "fail when the float test accuracy (0..1) is lower");

    std::string si, sl, soi, sol;
    int64_t count = 100;
    auto* cmds = app.add_subcommand("idx-subset", "write the first samples of an IDX data set");
    cmds->add_option("--images", si)->required();
    cmds->add_option("--labels", sl)->required();
    cmds->add_option("--count", count)->check(CLI::PositiveNumber)->capture_default_str();
    cmds->add_option("--out-images", soi)->required();
    cmds->add_option("--out-labels", sol)->required();

    CLI11_PARSE(app, argc, argv);
    try {
        if (*cmd2) run_two_input(two, activation, points, data_seed, data_out, labels_out);
        if (*cmdi) run_idx(idx, tri, trl, tei, tel, min_accuracy);
        if (*cmds) run_subset(si, sl, count, soi, sol);
    } catch (const qcert::InputError& e) {
        std::fprintf(stderr, "qcert-train: %s\n", e.what());
        return 2;
    }
    return 0;
}
