// The engine registry: modes register themselves at start-up (static initialisers in
// modes/*.cpp), so adding a mode touches only its own file and the meson source list.
#include "apps/fwd/engine.hpp"

#include <algorithm>

namespace vpmd::fwd {

namespace {

std::vector<const Engine *> &registry() {
    static std::vector<const Engine *> r; // function-local: safe from init-order issues
    return r;
}

} // namespace

void register_engine(const Engine *e) {
    registry().push_back(e);
}

const Engine *find_engine(std::string_view name) {
    for (const Engine *e : registry()) {
        if (e->name == name) {
            return e;
        }
    }
    return nullptr;
}

std::vector<std::string_view> engine_names() {
    std::vector<std::string_view> v;
    for (const Engine *e : registry()) {
        v.push_back(e->name);
    }
    std::sort(v.begin(), v.end());
    return v;
}

} // namespace vpmd::fwd
