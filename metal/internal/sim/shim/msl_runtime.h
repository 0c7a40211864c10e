// Cooperative threadgroup scheduler of the simulated Metal device.
//
// Threadgroups run one after another on the calling OS thread. Within a group, each thread is
// a fiber that runs until it blocks at a barrier or a SIMD-group function, so the
// threads of a group advance phase by phase, one after another, exactly as far as the
// kernel's synchronisation allows. Running the threads (and groups) forward or in reverse
// order changes the result of a kernel that misses a barrier. Threadgroup arrays are
// allocated for each group separately (so AddressSanitizer sees overruns of each) and filled
// with 0xFF bytes (NaN as float), so reading them before writing shows.
// Kernels that use neither barriers nor SIMD-group functions run as plain calls, thread after
// thread (the generated glue says which); a barrier reached there is reported as an error.
//
// The generated glue includes this header first, then the kernels, then its table of kernel
// entries; the C functions at the end are what Go calls through purego.
#ifndef JANUS_SHIM_MSL_RUNTIME_H
#define JANUS_SHIM_MSL_RUNTIME_H

#include <sys/mman.h>
#include <ucontext.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "metal_stdlib"

// Context switching. On x86-64 (without AddressSanitizer) a fiber switch is a few
// instructions that save the callee-saved registers and swap stacks: swapcontext makes a
// signal-mask system call per switch, which dominated the simulator's time. Elsewhere, and
// under ASan (which understands swapcontext but not a hand-made switch), ucontext is used.
#if defined(__x86_64__) && !__has_feature(address_sanitizer)
#define MSL_FAST_SWITCH 1
extern "C" void janus_fiber_switch(void** save_sp, void* load_sp);
extern "C" void janus_fiber_start();
asm(R"(
  .text
  .globl janus_fiber_switch
  .hidden janus_fiber_switch
  .type janus_fiber_switch, @function
janus_fiber_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $8, %rsp
  stmxcsr (%rsp)
  fnstcw 4(%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  ldmxcsr (%rsp)
  fldcw 4(%rsp)
  addq $8, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size janus_fiber_switch, .-janus_fiber_switch

  .globl janus_fiber_start
  .hidden janus_fiber_start
  .type janus_fiber_start, @function
janus_fiber_start:
  movq %r12, %rdi
  callq *%r13
  ud2
  .size janus_fiber_start, .-janus_fiber_start
)");
#endif

namespace msl_rt {

constexpr uint simd_width = 32;

// Context is a suspended execution: a fiber's, or the scheduler's while a fiber runs.
struct Context {
#ifdef MSL_FAST_SWITCH
  void* sp = nullptr;
#else
  ucontext_t uc;
#endif
};

inline void switch_context(Context& save, Context& load) {
#ifdef MSL_FAST_SWITCH
  janus_fiber_switch(&save.sp, load.sp);
#else
  swapcontext(&save.uc, &load.uc);
#endif
}

// start_context prepares c to run entry(arg) on the given stack at its first switch.
inline void start_context(Context& c, char* stack, size_t size, void (*entry)(void*), void* arg) {
#ifdef MSL_FAST_SWITCH
  // The frame janus_fiber_switch pops: MXCSR and x87 control word, r15..rbp, then the
  // return address janus_fiber_start, which calls entry(arg) with a 16-byte aligned stack.
  uintptr_t top = (uintptr_t(stack) + size - 16) & ~uintptr_t(15);
  void** f = (void**)(top - 64);
  uint32_t csr[2] = {0x1f80, 0x037f};
  memcpy(&f[0], csr, 8);
  f[1] = nullptr;                        // r15
  f[2] = nullptr;                        // r14
  f[3] = (void*)entry;                   // r13
  f[4] = arg;                            // r12
  f[5] = nullptr;                        // rbx
  f[6] = nullptr;                        // rbp
  f[7] = (void*)&janus_fiber_start;      // return address
  c.sp = f;
#else
  getcontext(&c.uc);
  c.uc.uc_stack.ss_sp = stack;
  c.uc.uc_stack.ss_size = size;
  c.uc.uc_link = nullptr;
  makecontext(&c.uc, (void (*)())entry, 0);  // the entry ignores its argument here
#endif
}

// Ids are the values of a thread's position attributes.
struct Ids {
  uint3 tpig;   // thread_position_in_grid
  uint3 tpitg;  // thread_position_in_threadgroup
  uint3 tgpig;  // threadgroup_position_in_grid
  uint3 tptg;   // threads_per_threadgroup
  uint3 tgpg;   // threadgroups_per_grid
  uint tiitg;   // thread_index_in_threadgroup
  uint tiisg;   // thread_index_in_simdgroup
  uint sgitg;   // simdgroup_index_in_threadgroup
};

template <typename T> inline T id_as(uint3 v);
template <> inline uint id_as<uint>(uint3 v) { return v.x; }
template <> inline ushort id_as<ushort>(uint3 v) { return ushort(v.x); }
template <> inline uint2 id_as<uint2>(uint3 v) { return v.xy; }
template <> inline uint3 id_as<uint3>(uint3 v) { return v; }

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class State { run, barrier, simd, done };

struct Fiber {
  Context ctx;
  Ids ids;
  State state;
  bool simd_barrier;  // blocked in simdgroup_barrier rather than threadgroup_barrier
  // Calls made so far to SIMD-group functions (simdgroup_barrier included) and to
  // threadgroup_barrier. Lanes meet at the n-th call, not at a code address: an optimising
  // compiler duplicates code (lane 0's store path, unrolled loops), so lanes of one call
  // may run it from different addresses.
  uint64_t simd_calls, tg_calls;
  SimdOp op;
  double val, res;
  uint arg;
  bool is_float;
};

typedef void (*Body)(const Ids&, void* const* args);

struct Sched {
  Context main;
  std::vector<Fiber> fibers;
  Fiber* cur = nullptr;
  std::string error;
  Body body = nullptr;
  void* const* args = nullptr;
  char* stacks = nullptr;
  size_t stack_size = 256 << 10, stack_count = 0;
  std::vector<void*> slots;  // threadgroup arrays of the running group, by declaration id
  size_t slot_bytes = 0;
  ~Sched() {
    if (stacks) munmap(stacks, stack_size * stack_count);
    reset_threadgroup_memory();
  }
  void reset_threadgroup_memory() {
    for (void*& p : slots) {
      free(p);
      p = nullptr;
    }
    slot_bytes = 0;
  }
  void fail(const std::string& msg) {
    if (error.empty()) error = msg;
  }
};

inline Sched*& current() {
  static thread_local Sched* s;
  return s;
}

__attribute__((noinline)) void barrier(bool simdgroup_only) {
  Sched* s = current();
  if (!s || !s->cur) throw Error("a barrier in a kernel the simulator runs without fibers (the glue's scan missed it)");
  Fiber* f = s->cur;
  f->state = State::barrier;
  f->simd_barrier = simdgroup_only;
  if (simdgroup_only) f->simd_calls++; else f->tg_calls++;
  switch_context(f->ctx, s->main);
  if (f->state == State::done) throw Error("aborted");
}

__attribute__((noinline)) double simd_exchange(SimdOp op, double v, uint arg, bool is_float) {
  Sched* s = current();
  if (!s || !s->cur) throw Error("a SIMD-group function in a kernel the simulator runs without fibers (the glue's scan missed it)");
  Fiber* f = s->cur;
  f->state = State::simd;
  f->op = op;
  f->val = v;
  f->arg = arg;
  f->is_float = is_float;
  f->simd_calls++;
  switch_context(f->ctx, s->main);
  if (f->state == State::done) throw Error("aborted");
  return f->res;
}

inline void fiber_main(void*) {
  Sched* s = current();
  Fiber* f = s->cur;
  try {
    s->body(f->ids, s->args);
  } catch (const Error& e) {
    if (std::string(e.what()) != "aborted") s->fail(e.what());
  } catch (const std::exception& e) {
    s->fail(e.what());
  }
  f->state = State::done;
  switch_context(f->ctx, s->main);  // never resumed
  abort();
}

inline Ids make_ids(uint3 group, uint3 groups, uint3 tg, uint i) {
  Ids t;
  t.tpitg = uint3{i % tg.x, (i / tg.x) % tg.y, i / (tg.x * tg.y)};
  t.tgpig = group;
  t.tptg = tg;
  t.tgpg = groups;
  t.tpig = group * tg + t.tpitg;
  t.tiitg = i;
  t.tiisg = i % simd_width;
  t.sgitg = i / simd_width;
  return t;
}

// Metal guarantees 32 KB of threadgroup memory on every Apple GPU.
constexpr size_t max_threadgroup_bytes = 32 << 10;

void* tg_slot(int id, size_t size) {
  Sched* s = current();
  if (!s) throw Error("threadgroup memory used outside a dispatch");
  if (size_t(id) >= s->slots.size()) s->slots.resize(size_t(id) + 1);
  void*& p = s->slots[size_t(id)];
  if (!p) {
    s->slot_bytes += size;
    if (s->slot_bytes > max_threadgroup_bytes)
      throw Error("threadgroup arrays of " + std::to_string(s->slot_bytes) + " bytes exceed Metal's 32 KB");
    p = malloc(size);
    memset(p, 0xff, size);
  }
  return p;
}

// resolve_simd completes one SIMD-group call: lanes are the active lanes of one SIMD group,
// all blocked at their n-th SIMD-group call, in lane order.
inline void resolve_simd(Sched& s, std::vector<Fiber*>& lanes) {
  Fiber* by_lane[simd_width] = {};
  for (Fiber* f : lanes) by_lane[f->ids.tiisg] = f;
  if (lanes[0]->state == State::barrier) {
    for (Fiber* f : lanes) f->state = State::run;
    return;
  }
  SimdOp op = lanes[0]->op;
  bool fl = lanes[0]->is_float;
  for (Fiber* f : lanes) {
    if (f->op != op) {
      s.fail("lanes of one SIMD group call different SIMD-group functions at the same point: keep them in uniform control flow");
      return;
    }
  }
  auto source = [&](Fiber* f, int src) -> double {
    if (src < 0 || src >= int(simd_width)) return f->val;  // out of range: own value
    if (!by_lane[src]) throw Error("a SIMD shuffle or broadcast reads a lane that has returned");
    return by_lane[src]->val;
  };
  try {
    switch (op) {
      case SimdOp::sum: {
        // A tree, as GPUs reduce across lanes (shuffles by 16, 8, 4, 2, 1), not a running
        // sum: a kernel's tolerance then covers the order a Mac adds in. Missing lanes add 0.
        double acc[simd_width] = {};
        float facc[simd_width] = {};
        for (Fiber* f : lanes) {
          if (fl) facc[f->ids.tiisg] = float(f->val); else acc[f->ids.tiisg] = f->val;
        }
        for (uint half = simd_width / 2; half > 0; half /= 2) {
          for (uint i = 0; i < half; i++) {
            facc[i] += facc[i + half];
            acc[i] += acc[i + half];
          }
        }
        for (Fiber* f : lanes) f->res = fl ? double(facc[0]) : acc[0];
        break;
      }
      case SimdOp::max:
      case SimdOp::min: {
        double r = lanes[0]->val;
        for (Fiber* f : lanes) r = op == SimdOp::max ? std::fmax(r, f->val) : std::fmin(r, f->val);
        for (Fiber* f : lanes) f->res = r;
        break;
      }
      case SimdOp::prefix_excl_sum: {
        double acc = 0;
        float facc = 0;
        for (Fiber* f : lanes) {
          f->res = fl ? double(facc) : acc;
          if (fl) facc += float(f->val); else acc += f->val;
        }
        break;
      }
      case SimdOp::broadcast:
      case SimdOp::shuffle:
        for (Fiber* f : lanes) f->res = source(f, int(f->arg));
        break;
      case SimdOp::shuffle_down:
        for (Fiber* f : lanes) f->res = source(f, int(f->ids.tiisg + f->arg));
        break;
      case SimdOp::shuffle_up:
        for (Fiber* f : lanes) f->res = source(f, int(f->ids.tiisg) - int(f->arg));
        break;
      case SimdOp::shuffle_xor:
        for (Fiber* f : lanes) f->res = source(f, int(f->ids.tiisg ^ f->arg));
        break;
    }
  } catch (const Error& e) {
    s.fail(e.what());
    return;
  }
  for (Fiber* f : lanes) f->state = State::run;
}

// run_group runs one threadgroup of n threads as fibers until all return.
inline void run_group(Sched& s, uint3 group, uint3 groups, uint3 tg, bool reverse) {
  uint n = tg.x * tg.y * tg.z;
  if (s.stack_count < n) {
    if (s.stacks) munmap(s.stacks, s.stack_size * s.stack_count);
    void* p = mmap(nullptr, s.stack_size * n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) throw Error("cannot map fiber stacks");
    s.stacks = (char*)p;
    s.stack_count = n;
  }
  s.fibers.resize(n);
  for (uint i = 0; i < n; i++) {
    Fiber& f = s.fibers[i];
    f.ids = make_ids(group, groups, tg, i);
    f.state = State::run;
    f.simd_calls = f.tg_calls = 0;
    start_context(f.ctx, s.stacks + size_t(i) * s.stack_size, s.stack_size, fiber_main, nullptr);
  }
  s.reset_threadgroup_memory();
  uint nsg = (n + simd_width - 1) / simd_width;
  std::vector<Fiber*> lanes;
  for (;;) {
    for (uint k = 0; k < n; k++) {
      Fiber& f = s.fibers[reverse ? n - 1 - k : k];
      if (f.state != State::run) continue;
      s.cur = &f;
      switch_context(s.main, f.ctx);
      s.cur = nullptr;
    }
    if (!s.error.empty()) break;
    // SIMD-group calls and simdgroup barriers complete per SIMD group, once every lane that
    // has not returned waits at the same call.
    bool simd = false;
    for (uint g = 0; g < nsg && s.error.empty(); g++) {
      uint lo = g * simd_width, hi = std::min(n, lo + simd_width);
      lanes.clear();
      bool at_tg_barrier = false;
      for (uint i = lo; i < hi; i++) {
        Fiber& f = s.fibers[i];
        if (f.state == State::simd || (f.state == State::barrier && f.simd_barrier)) lanes.push_back(&f);
        else if (f.state == State::barrier) at_tg_barrier = true;
      }
      if (lanes.empty()) continue;
      if (at_tg_barrier) {
        s.fail("lanes of one SIMD group wait at a threadgroup_barrier while others wait at a SIMD-group call: divergent");
        break;
      }
      for (Fiber* f : lanes) {
        if (f->simd_calls != lanes[0]->simd_calls || f->state != lanes[0]->state) {
          s.fail("lanes of one SIMD group wait at different SIMD-group calls: keep them in uniform control flow");
          break;
        }
      }
      if (s.error.empty()) resolve_simd(s, lanes);
      simd = true;
    }
    if (!s.error.empty()) break;
    if (simd) continue;
    uint done = 0, waiting = 0;
    bool same = true;
    uint64_t calls = 0;
    for (Fiber& f : s.fibers) {
      if (f.state == State::done) done++;
      if (f.state == State::barrier) {
        if (waiting++ == 0) calls = f.tg_calls;
        else if (f.tg_calls != calls) same = false;
      }
    }
    if (done == n) return;
    if (done > 0) {
      s.fail("threadgroup_barrier reached by " + std::to_string(waiting) + " of " + std::to_string(n) +
             " threads (the others returned): divergent barrier");
      break;
    }
    if (!same) {
      s.fail("threads of one group wait at different threadgroup_barrier calls: divergent barrier");
      break;
    }
    for (Fiber& f : s.fibers) f.state = State::run;
  }
  // Unwind fibers still blocked so their destructors run; they see state done and throw.
  for (Fiber& f : s.fibers) {
    if (f.state == State::done) continue;
    f.state = State::done;
    s.cur = &f;
    switch_context(s.main, f.ctx);
    s.cur = nullptr;
  }
}

struct KernelEntry {
  const char* name;
  Body body;
  bool cooperative;       // uses barriers or SIMD-group functions: run as fibers
  int nargs;              // highest buffer index + 1
  const size_t* arg_size; // per index: sizeof the constant struct, 0 for a device pointer, -1 unused
};

inline std::mutex& dispatch_mutex() {
  static std::mutex m;
  return m;
}

}  // namespace msl_rt

#endif
