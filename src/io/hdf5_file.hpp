// A small read-only view of an HDF5 file over the HDF5 C library, for the
// Keras reader: groups, string attributes and numeric datasets.
//
// Every handle is owned by an H5Id and closed on every path. HDF5's own error
// printing is switched off when a File opens (it would print a stack trace
// of many lines for each failed call; we report one line instead), and the
// library is used under one process-wide lock because the Debian build is not
// thread-safe. Every failure is an InputError naming the file.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace qcert::h5 {

// Owns one HDF5 identifier and closes it with the matching H5*close.
class H5Id {
public:
    using Closer = herr_t (*)(hid_t);
    H5Id() = default;
    H5Id(hid_t id, Closer close) : id_(id), close_(close) {}
    H5Id(H5Id&& o) noexcept : id_(o.id_), close_(o.close_) { o.id_ = -1; }
    H5Id& operator=(H5Id&& o) noexcept {
        if (this != &o) {
            reset();
            id_ = o.id_;
            close_ = o.close_;
            o.id_ = -1;
        }
        return *this;
    }
    H5Id(const H5Id&) = delete;
    H5Id& operator=(const H5Id&) = delete;
    ~H5Id() { reset(); }

    hid_t get() const { return id_; }
    bool valid() const { return id_ >= 0; }

private:
    void reset() {
        if (id_ >= 0 && close_) close_(id_);
        id_ = -1;
    }
    hid_t id_ = -1;
    Closer close_ = nullptr;
};

// Switches HDF5's automatic error printing off (for good: see the .cpp) and
// clears the error stack that failed calls filled.
class ErrorSilencer {
public:
    ErrorSilencer();
    ~ErrorSilencer();
    ErrorSilencer(const ErrorSilencer&) = delete;
    ErrorSilencer& operator=(const ErrorSilencer&) = delete;
};

// A numeric dataset read as doubles, row-major.
struct Array {
    std::string name;
    std::vector<int64_t> dims;
    std::vector<double> data;

    int64_t rank() const { return int64_t(dims.size()); }
};

// An open HDF5 file. Not copyable; files are read one at a time per process
// (the lock is recursive, so one thread may nest them).
class File {
public:
    // Throws InputError when the file is missing, unreadable or not HDF5.
    explicit File(const std::string& path);
    File(const File&) = delete;
    File& operator=(const File&) = delete;

    const std::string& path() const { return path_; }
    hid_t root() const { return file_.get(); }

    [[noreturn]] void fail(const std::string& what) const;

    // The group `name` below `loc`, or an invalid H5Id when there is none.
    H5Id open_group(hid_t loc, const std::string& name) const;
    bool has_attr(hid_t obj, const char* name) const;
    // A string attribute (scalar or 1-D, fixed or variable length), or nullopt
    // when absent. An empty numeric attribute (h5py writes an empty float
    // array for "no weights") reads as no strings.
    std::optional<std::vector<std::string>> string_attr(hid_t obj, const char* name) const;
    // A float or integer dataset `name` below `loc`, or nullopt when absent.
    std::optional<Array> dataset(hid_t loc, const std::string& name) const;

private:
    // Declared in the order of acquisition: released in reverse.
    std::string path_;
    std::unique_lock<std::recursive_mutex> lock_;
    ErrorSilencer silencer_;
    H5Id file_;
};

}  // namespace qcert::h5
