// net_vpmd logging: registered on first use, so the control core logs without EAL.
#include "drivers/net/vpmd/log.hpp"

#include <rte_log.h>

#include <cstdarg>
#include <cstdio>
#include <string>
#include <utility>

namespace vpmd::pmd {

namespace {
thread_local std::string last_error_line;
}

int log_type() {
    static const int type = rte_log_register_type_and_pick_level("pmd.net.vpmd", RTE_LOG_NOTICE);
    return type;
}

void log(uint32_t level, const char *fmt, ...) {
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (level <= RTE_LOG_ERR) {
        last_error_line = line;
    }
    rte_log(level, uint32_t(log_type()), "vpmd: %s\n", line);
}

std::string take_last_error() { return std::exchange(last_error_line, std::string()); }

} // namespace vpmd::pmd
