#pragma once
#include <string>

namespace gms {
// The SAM header text of a BAM/CRAM (for checks before work starts); InputError when unreadable.
std::string read_header_text(const std::string& path, const std::string& ref_path);
}  // namespace gms
