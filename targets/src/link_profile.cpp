#include "llmc/targets/link_profile.h"

#include <fmt/format.h>

namespace llmc::targets {

double LinkProfile::transfer_seconds(uint64_t bytes) const {
  if (kind == LinkKind::Host) return 0;
  return latency_us * 1e-6 + static_cast<double>(bytes) / (achievable_gbps() * 1e9);
}

std::string pcie_link_name(int gen, int width) { return fmt::format("pcie{}x{}", gen, width); }

double host_staged_copy_seconds(const LinkProfile& from, const LinkProfile& to, uint64_t bytes) {
  return from.transfer_seconds(bytes) + to.transfer_seconds(bytes);
}

}  // namespace llmc::targets
