// The C entry points of the simulated device's shared library, included by the generated
// glue after its kernel table (janus_kernels, janus_kernel_count).
#ifndef JANUS_SHIM_MSL_ENTRY_H
#define JANUS_SHIM_MSL_ENTRY_H

extern "C" {

// janus_sim_alloc returns n zeroed bytes of "device memory" (malloc, so AddressSanitizer
// sees overruns of a buffer's exact size).
void* janus_sim_alloc(size_t n) { return calloc(1, n ? n : 1); }

void janus_sim_free(void* p) { free(p); }

int janus_sim_kernel_count() { return janus_kernel_count; }

const char* janus_sim_kernel_name(int i) { return i >= 0 && i < janus_kernel_count ? janus_kernels[i].name : ""; }

// janus_sim_dispatch runs kernel k over groups[0..2] threadgroups of tg[0..2] threads with
// the bound arguments (args[i]: the pointer bound at index i, size[i]: its length in bytes
// from that pointer, or 0 when nothing is bound). It returns 0, or 1 with a message in err.
int janus_sim_dispatch(int k, void* const* args, const size_t* size, int nargs, const uint* dims, int reverse,
                       char* err, int errlen) {
  auto fail = [&](const std::string& msg) {
    snprintf(err, size_t(errlen), "%s", msg.c_str());
    return 1;
  };
  if (k < 0 || k >= janus_kernel_count) return fail("no kernel " + std::to_string(k));
  const msl_rt::KernelEntry& e = janus_kernels[k];
  std::string name = e.name;
  for (int i = 0; i < e.nargs; i++) {
    if (e.arg_size[i] == size_t(-1)) continue;
    if (i >= nargs || !args[i]) return fail(name + ": buffer(" + std::to_string(i) + ") is not set");
    if (e.arg_size[i] > 0 && size[i] != e.arg_size[i])
      return fail(name + ": buffer(" + std::to_string(i) + ") holds " + std::to_string(size[i]) +
                  " bytes, the kernel's struct " + std::to_string(e.arg_size[i]));
  }
  uint3 groups = {dims[0], dims[1], dims[2]}, tg = {dims[3], dims[4], dims[5]};
  uint n = tg.x * tg.y * tg.z;
  if (n == 0 || n > 1024) return fail(name + ": " + std::to_string(n) + " threads per threadgroup (1..1024)");
  std::lock_guard<std::mutex> lock(msl_rt::dispatch_mutex());
  msl_rt::Sched s;
  s.body = e.body;
  s.args = args;
  msl_rt::current() = &s;
  uint total = groups.x * groups.y * groups.z;
  try {
    for (uint gi = 0; gi < total && s.error.empty(); gi++) {
      uint g = reverse ? total - 1 - gi : gi;
      uint3 group = {g % groups.x, (g / groups.x) % groups.y, g / (groups.x * groups.y)};
      if (e.cooperative) {
        msl_rt::run_group(s, group, groups, tg, reverse != 0);
        continue;
      }
      s.reset_threadgroup_memory();
      for (uint i = 0; i < n; i++) e.body(msl_rt::make_ids(group, groups, tg, reverse ? n - 1 - i : i), args);
    }
  } catch (const std::exception& ex) {
    s.fail(ex.what());
  }
  msl_rt::current() = nullptr;
  if (!s.error.empty()) return fail(name + ": " + s.error);
  return 0;
}

}  // extern "C"

#endif
