// net_vpmd's log type (pmd.net.vpmd) and one-line logging through rte_log; needs no EAL.
#pragma once

#include <cstdint>
#include <string>

namespace vpmd::pmd {

int log_type();
// level: RTE_LOG_ERR .. RTE_LOG_DEBUG. One line; the newline is added here.
void log(uint32_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
// The last RTE_LOG_ERR line this thread logged since the previous call (without the prefix),
// "" if none; the call clears it. How the embedding API turns a refused probe into an error
// value that says why.
std::string take_last_error();

} // namespace vpmd::pmd
