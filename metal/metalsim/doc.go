// Package metalsim is the Metal backend on the simulated device (metal/internal/sim): the
// backend's Go code and the very same MSL kernels, compiled by clang against the project's
// shim and run on the CPU. It registers "metal-sim" with compute as a test and debugging
// backend (compute.TestOnly: opened by name, never by "auto"). It is a package of its own
// so that programs linking package metal on Linux stay free of purego and statically
// linked; tests link it through internal/testbackends.
//
// Opening it reads JANUS_METAL_SIM_REVERSE=1 (run threads and threadgroups in reverse
// order) and JANUS_METAL_SIM_SANITIZE=1 (the ASan/UBSan build; the process must preload the
// ASan runtime, sim.SanitizerRuntime). On other systems the package is empty.
package metalsim
