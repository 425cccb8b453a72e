// Errors that qcert reports to its user.
//
// InputError is bad input: a file that cannot be read, a malformed model, an
// unsupported operator, shapes or bits that do not fit. The CLI prints its
// message as one line and exits with code 2. Anything else escaping is a bug.
#pragma once

#include <stdexcept>
#include <string>

namespace qcert {

class InputError : public std::runtime_error {
public:
    // `where` names the file (or option) at fault; `what` says what is wrong.
    InputError(const std::string& where, const std::string& what)
        : std::runtime_error(where.empty() ? what : where + ": " + what) {}
};

}  // namespace qcert
