// Read-only HDF5 access for the Keras reader; see hdf5_file.hpp.
#include "io/hdf5_file.hpp"

#include "qcert/error.hpp"

#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <fstream>

namespace qcert::h5 {
namespace {

std::recursive_mutex& library_mutex() {
    static std::recursive_mutex m;
    return m;
}

// Caps that keep a damaged or hostile file from asking for absurd memory.
constexpr int64_t kMaxElements = int64_t(1) << 27;   // per dataset: 1 GiB of doubles
constexpr int64_t kMaxStringBytes = int64_t(1) << 28;  // per attribute
constexpr int kMaxRank = 8;

// Frees the strings HDF5 allocated for a variable-length read, on every path.
struct VlenReclaim {
    hid_t type, space;
    void* buf;
    ~VlenReclaim() {
#if H5_VERSION_GE(1, 12, 0)
        H5Treclaim(type, space, H5P_DEFAULT, buf);
#else
        H5Dvlen_reclaim(type, space, H5P_DEFAULT, buf);
#endif
    }
};

}  // namespace

ErrorSilencer::ErrorSilencer() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

// The printing stays off: after some damaged files libhdf5 keeps internal
// state it cannot free, and with printing back on it reports "infinite loop
// closing library" and a long list at exit (seen with 1.10.8), which would
// follow our one-line message. qcert uses HDF5 nowhere else.
ErrorSilencer::~ErrorSilencer() { H5Eclear2(H5E_DEFAULT); }

File::File(const std::string& path) : path_(path), lock_(library_mutex()) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) fail("cannot open the file: it does not exist");
    if (std::filesystem::is_directory(path, ec)) fail("cannot open the file: it is a directory");
    if (!std::ifstream(path, std::ios::binary)) fail("cannot open the file");
    if (H5Fis_hdf5(path.c_str()) <= 0) fail("not an HDF5 file");
    // CLOSE_STRONG: closing the file also closes anything HDF5 still holds
    // open in it after a failed call on a damaged file.
    H5Id fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
    H5Pset_fclose_degree(fapl.get(), H5F_CLOSE_STRONG);
    file_ = H5Id(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get()), H5Fclose);
    if (!file_.valid()) fail("cannot open the HDF5 file (damaged or truncated?)");
}

void File::fail(const std::string& what) const { throw InputError(path_, what); }

H5Id File::open_group(hid_t loc, const std::string& name) const {
    if (name.empty()) return {};
    return H5Id(H5Gopen2(loc, name.c_str(), H5P_DEFAULT), H5Gclose);
}

bool File::has_attr(hid_t obj, const char* name) const { return H5Aexists(obj, name) > 0; }

std::optional<std::vector<std::string>> File::string_attr(hid_t obj, const char* name) const {
    if (!has_attr(obj, name)) return std::nullopt;
    H5Id attr(H5Aopen(obj, name, H5P_DEFAULT), H5Aclose);
    if (!attr.valid()) fail(fmt::format("cannot open the attribute '{}'", name));
    H5Id type(H5Aget_type(attr.get()), H5Tclose), space(H5Aget_space(attr.get()), H5Sclose);
    if (!type.valid() || !space.valid()) fail(fmt::format("cannot read the attribute '{}'", name));
    const hssize_t n = H5Sget_simple_extent_type(space.get()) == H5S_NULL ? 0 : H5Sget_simple_extent_npoints(space.get());
    if (n < 0) fail(fmt::format("cannot read the attribute '{}'", name));
    std::vector<std::string> out;
    if (H5Tget_class(type.get()) != H5T_STRING) {
        if (n == 0) return out;
        fail(fmt::format("the attribute '{}' is not a string", name));
    }
    if (n == 0) return out;
    if (n > kMaxStringBytes) fail(fmt::format("the attribute '{}' is too large", name));
    const H5T_cset_t cset = H5Tget_cset(type.get());

    if (H5Tis_variable_str(type.get()) > 0) {
        H5Id mem(H5Tcopy(H5T_C_S1), H5Tclose);
        H5Tset_size(mem.get(), H5T_VARIABLE);
        H5Tset_cset(mem.get(), cset);
        std::vector<char*> buf(size_t(n), nullptr);
        if (H5Aread(attr.get(), mem.get(), buf.data()) < 0) fail(fmt::format("cannot read the attribute '{}'", name));
        VlenReclaim reclaim{mem.get(), space.get(), buf.data()};
        for (char* s : buf) out.emplace_back(s ? s : "");
        return out;
    }

    // Fixed length: read into a NULLPAD memory type of the same size, so that a
    // string filling its whole width (h5py's layer_names do) keeps its last char.
    const size_t size = H5Tget_size(type.get());
    if (size == 0 || double(size) * double(n) > double(kMaxStringBytes))
        fail(fmt::format("the attribute '{}' has a bad string size", name));
    H5Id mem(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(mem.get(), size);
    H5Tset_strpad(mem.get(), H5T_STR_NULLPAD);
    H5Tset_cset(mem.get(), cset);
    std::vector<char> buf(size * size_t(n));
    if (H5Aread(attr.get(), mem.get(), buf.data()) < 0) fail(fmt::format("cannot read the attribute '{}'", name));
    const bool space_pad = H5Tget_strpad(type.get()) == H5T_STR_SPACEPAD;
    for (hssize_t i = 0; i < n; ++i) {
        std::string s(buf.data() + size_t(i) * size, size);
        s.resize(std::min(s.find('\0'), s.size()));
        if (space_pad) s.erase(s.find_last_not_of(' ') + 1);
        out.push_back(std::move(s));
    }
    return out;
}

std::optional<Array> File::dataset(hid_t loc, const std::string& name) const {
    if (name.empty()) return std::nullopt;
    H5Id ds(H5Dopen2(loc, name.c_str(), H5P_DEFAULT), H5Dclose);
    if (!ds.valid()) return std::nullopt;
    H5Id type(H5Dget_type(ds.get()), H5Tclose), space(H5Dget_space(ds.get()), H5Sclose);
    if (!type.valid() || !space.valid()) fail(fmt::format("cannot read the dataset '{}'", name));
    const H5T_class_t cls = H5Tget_class(type.get());
    if (cls != H5T_FLOAT && cls != H5T_INTEGER) fail(fmt::format("the dataset '{}' is not numeric", name));
    const int rank = H5Sget_simple_extent_ndims(space.get());
    if (rank < 0 || rank > kMaxRank) fail(fmt::format("the dataset '{}' has an unsupported rank", name));
    hsize_t dims[kMaxRank] = {};
    if (H5Sget_simple_extent_dims(space.get(), dims, nullptr) < 0) fail(fmt::format("cannot read the dataset '{}'", name));
    Array a;
    a.name = name;
    int64_t total = 1;
    for (int i = 0; i < rank; ++i) {
        if (dims[i] > hsize_t(kMaxElements)) fail(fmt::format("the dataset '{}' is too large", name));
        a.dims.push_back(int64_t(dims[i]));
        total *= int64_t(dims[i]);
        if (total > kMaxElements) fail(fmt::format("the dataset '{}' is too large", name));
    }
    if (H5Sget_simple_extent_type(space.get()) == H5S_NULL) total = 0;
    a.data.resize(size_t(total));
    if (total > 0 && H5Dread(ds.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, a.data.data()) < 0)
        fail(fmt::format("cannot read the dataset '{}' (damaged file?)", name));
    for (double v : a.data)
        if (!std::isfinite(v)) fail(fmt::format("the dataset '{}' contains NaN or infinity", name));
    return a;
}

}  // namespace qcert::h5
