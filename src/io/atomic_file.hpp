// Writing a whole file so that readers never see half of it: the text goes to a
// temporary file beside the target, which is then renamed into place.
#pragma once

#include <string>

namespace qcert {

// Throws InputError naming `path` when the file cannot be written.
void write_file_atomically(const std::string& path, const std::string& text);

}  // namespace qcert
