// The few MPI operations qcert needs, behind plain C++ (only src/run/mpi_world.cpp
// includes mpi.h; the library qcert_core knows nothing of MPI). MPI is started only
// when the process was launched by mpirun (Open MPI's or PMIx's environment is set);
// otherwise everything here is a one-process no-op.
#pragma once

#include <string>
#include <vector>

namespace qcert::mpi {

struct World {
    int rank = 0, size = 1;
    bool distributed() const { return size > 1; }
};

// Starts MPI when launched by mpirun; call once, first thing in main.
World start(int* argc, char*** argv);
// This process's place in the run (rank 0 of 1 when not started by mpirun).
const World& world();
// Ends MPI if it was started (safe to call more than once).
void finish();
// Ends every process of the run with `code` (after an error on one rank).
[[noreturn]] void abort_all(int code);

void barrier();
// Rank `root`'s text, on every rank.
std::string broadcast(const std::string& text, int root = 0);
// Every rank's text, in rank order, on `root` (empty elsewhere).
std::vector<std::string> gather(const std::string& text, int root = 0);
// The sum over ranks, on every rank.
long long sum(long long v);

}  // namespace qcert::mpi
