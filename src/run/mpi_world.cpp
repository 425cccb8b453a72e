// MPI through its C API (Open MPI).
#include "run/mpi_world.hpp"

#include <cstdlib>
#include <mpi.h>

namespace qcert::mpi {

namespace {
bool g_started = false;
World g_world;

bool launched_by_mpirun() {
    for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"})
        if (std::getenv(v)) return true;
    return false;
}
}  // namespace

World start(int* argc, char*** argv) {
    World w;
    if (!launched_by_mpirun()) return w;
    MPI_Init(argc, argv);
    g_started = true;
    MPI_Comm_rank(MPI_COMM_WORLD, &w.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &w.size);
    g_world = w;
    return w;
}

const World& world() { return g_world; }

void finish() {
    if (!g_started) return;
    g_started = false;
    MPI_Finalize();
}

void abort_all(int code) {
    if (g_started) MPI_Abort(MPI_COMM_WORLD, code);
    std::exit(code);
}

void barrier() {
    if (g_started) MPI_Barrier(MPI_COMM_WORLD);
}

std::string broadcast(const std::string& text, int root) {
    if (!g_started) return text;
    long long n = (long long)text.size();
    MPI_Bcast(&n, 1, MPI_LONG_LONG, root, MPI_COMM_WORLD);
    std::string out = text;
    out.resize(size_t(n));
    if (n > 0) MPI_Bcast(out.data(), int(n), MPI_CHAR, root, MPI_COMM_WORLD);
    return out;
}

std::vector<std::string> gather(const std::string& text, int root) {
    if (!g_started) return {text};
    int rank = 0, size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int n = int(text.size());
    std::vector<int> counts(static_cast<size_t>(size)), offsets(static_cast<size_t>(size));
    MPI_Gather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, root, MPI_COMM_WORLD);
    std::string all;
    if (rank == root) {
        int total = 0;
        for (int r = 0; r < size; ++r) offsets[size_t(r)] = total, total += counts[size_t(r)];
        all.resize(size_t(total));
    }
    MPI_Gatherv(text.data(), n, MPI_CHAR, all.data(), counts.data(), offsets.data(), MPI_CHAR, root, MPI_COMM_WORLD);
    std::vector<std::string> out;
    if (rank == root)
        for (int r = 0; r < size; ++r) out.push_back(all.substr(size_t(offsets[size_t(r)]), size_t(counts[size_t(r)])));
    return out;
}

long long sum(long long v) {
    if (!g_started) return v;
    long long s = 0;
    MPI_Allreduce(&v, &s, 1, MPI_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
    return s;
}

}  // namespace qcert::mpi
