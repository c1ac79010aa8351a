// Control-path logging of the vhost-user transport through rte_log, under its own log type
// "pmd.net.vpmd.vhost" (level settable with --log-level=pmd.net.vpmd.vhost:debug).
#pragma once

#include <cstdint>

namespace vpmd::vhost_user {

[[nodiscard]] int log_type();
// level: RTE_LOG_ERR .. RTE_LOG_DEBUG. One line; the newline is added here.
void log(uint32_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

} // namespace vpmd::vhost_user
