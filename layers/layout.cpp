#include "layers/layout.hpp"

namespace unet {

namespace {
thread_local bool g_blocked_allowed = false;
}

bool blocked_layout_allowed() { return g_blocked_allowed; }

BlockedLayoutScope::BlockedLayoutScope(bool allow) : previous_(g_blocked_allowed) { g_blocked_allowed = allow; }
BlockedLayoutScope::~BlockedLayoutScope() { g_blocked_allowed = previous_; }

}  // namespace unet
