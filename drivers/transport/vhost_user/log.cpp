// The registered log type; registration runs at load time (RTE_INIT), before EAL init.
#include "drivers/transport/vhost_user/log.hpp"

#include <cstdarg>
#include <cstdio>

#include <rte_log.h>

RTE_LOG_REGISTER(vpmd_vhost_logtype, pmd.net.vpmd.vhost, INFO);

namespace vpmd::vhost_user {

int log_type() {
    return vpmd_vhost_logtype;
}

void log(uint32_t level, const char *fmt, ...) {
    if (!rte_log_can_log(static_cast<uint32_t>(vpmd_vhost_logtype), level)) {
        return;
    }
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    rte_log(level, static_cast<uint32_t>(vpmd_vhost_logtype), "VPMD_VHOST: %s\n", line);
}

} // namespace vpmd::vhost_user
