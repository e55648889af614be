/* emulate.h: run algebrac's CUDA kernels on the CPU, block-synchronously.
 *
 * Compiled with the host C++ compiler in front of the *same* kernel text nvcc
 * gets (g++ -include emulate.h).  Blocks run one after another; the threads of
 * a block are coroutines (ucontext) that run until they reach a barrier:
 * __syncthreads waits for every live thread of the block, a warp shuffle for
 * every live lane of its warp (lanes first publish their value, wait, read the
 * source lane's value, and wait again before the slot can be reused).  So code
 * that forgets a barrier reads stale shared memory here as on a GPU, and a
 * barrier not reached by every thread is reported as a deadlock instead of
 * hanging.  __shared__ variables are function statics: one copy, shared by
 * the threads of the running block (zero at the first launch, then keeping
 * the last block's values, where a GPU's are undefined).  Only 1-d grids and blocks (all algebrac
 * launches are).  `order` runs the threads of a block backwards between
 * barriers, to expose code that relies on an order a GPU does not promise.
 */
#ifndef ALGEBRAC_EMULATE_H
#define ALGEBRAC_EMULATE_H
#include <ucontext.h>
#include <cmath>
#include <cstring>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static

struct dim3 { unsigned x, y, z; };
static dim3 threadIdx, blockIdx, blockDim, gridDim;

namespace ac_emu {

enum State { READY, AT_BLOCK_BARRIER, AT_WARP_BARRIER, DONE };

struct Block {
    std::vector<ucontext_t> ctx;
    std::vector<std::vector<char>> stacks;
    std::vector<int> state;
    std::vector<unsigned long long> lane_value;  // a shuffle's published values
    ucontext_t scheduler;
    const std::function<void()> *body = nullptr;
    unsigned current = 0;
};
static Block block;
static char error[256];

static void trampoline() {
    (*block.body)();
    block.state[block.current] = DONE;
    swapcontext(&block.ctx[block.current], &block.scheduler);
}

static void wait(int state) {
    block.state[block.current] = state;
    swapcontext(&block.ctx[block.current], &block.scheduler);
}

/* Release the threads waiting at a barrier whose group has fully arrived. */
static bool release(unsigned n) {
    bool any = false, live = false, all_block = true;
    for (unsigned t = 0; t < n; t++) {
        if (block.state[t] != DONE) live = true;
        if (block.state[t] != DONE && block.state[t] != AT_BLOCK_BARRIER) all_block = false;
    }
    if (live && all_block) {
        for (unsigned t = 0; t < n; t++)
            if (block.state[t] == AT_BLOCK_BARRIER) block.state[t] = READY;
        return true;
    }
    for (unsigned w = 0; w < n; w += 32) {
        unsigned end = w + 32 < n ? w + 32 : n;
        bool waiting = false, all = true;
        for (unsigned t = w; t < end; t++) {
            if (block.state[t] == AT_WARP_BARRIER) waiting = true;
            else if (block.state[t] != DONE) all = false;
        }
        if (waiting && all) {
            for (unsigned t = w; t < end; t++)
                if (block.state[t] == AT_WARP_BARRIER) block.state[t] = READY;
            any = true;
        }
    }
    return any;
}

static int launch(unsigned grid, unsigned threads, int order, const std::function<void()> &body) {
    const size_t stack = 64 * 1024;
    block.ctx.resize(threads);
    block.stacks.resize(threads);
    block.state.assign(threads, DONE);
    block.lane_value.assign(threads, 0);
    block.body = &body;
    gridDim = {grid, 1, 1};
    blockDim = {threads, 1, 1};
    for (unsigned b = 0; b < grid; b++) {
        blockIdx = {b, 0, 0};
        for (unsigned t = 0; t < threads; t++) {
            block.stacks[t].resize(stack);
            getcontext(&block.ctx[t]);
            block.ctx[t].uc_stack.ss_sp = block.stacks[t].data();
            block.ctx[t].uc_stack.ss_size = stack;
            block.ctx[t].uc_link = nullptr;
            makecontext(&block.ctx[t], trampoline, 0);
            block.state[t] = READY;
        }
        for (;;) {
            bool ran = false;
            for (unsigned k = 0; k < threads; k++) {
                unsigned t = order ? threads - 1 - k : k;
                if (block.state[t] != READY) continue;
                ran = true;
                block.current = t;
                threadIdx = {t, 0, 0};
                swapcontext(&block.scheduler, &block.ctx[t]);
            }
            bool done = true;
            for (unsigned t = 0; t < threads; t++) done = done && block.state[t] == DONE;
            if (done) break;
            if (!release(threads) && !ran) {
                snprintf(error, sizeof error, "deadlock in block %u: threads wait at barriers "
                         "that not every live thread of their block or warp reaches", b);
                return 1;
            }
        }
    }
    return 0;
}

}  // namespace ac_emu

static inline void __syncthreads() { ac_emu::wait(ac_emu::AT_BLOCK_BARRIER); }

/* Lanes beyond the warp's end keep their own value, as on the GPU. */
template <class T>
static inline T __shfl_down_sync(unsigned mask, T v, unsigned delta) {
    static_assert(sizeof(T) <= sizeof(unsigned long long), "shuffle of a wide type");
    if (mask != 0xffffffffu) { std::fputs("emulate.h: partial-warp shuffle\n", stderr); std::abort(); }
    const unsigned t = threadIdx.x, lane = t & 31u;
    std::memcpy(&ac_emu::block.lane_value[t], &v, sizeof(T));
    ac_emu::wait(ac_emu::AT_WARP_BARRIER);
    T r = v;
    if (lane + delta < 32 && t + delta < blockDim.x)
        std::memcpy(&r, &ac_emu::block.lane_value[t + delta], sizeof(T));
    ac_emu::wait(ac_emu::AT_WARP_BARRIER);
    return r;
}

/* CUDA's modified Bessel functions I0 and I1 (glibc has none): C++17's, even and odd in x
 * (libstdc++ throws for |x| = inf, and a throw cannot cross the coroutines: I(inf) = inf). */
template <class T>
static inline T ac_emu_bessel_i(T nu, T x) {
    const T a = std::fabs(x);
    const T r = std::isinf(a) ? a : (a != a ? a : (T)std::cyl_bessel_i((double)nu, (double)a));
    return nu == 0 ? r : std::copysign(r, x);
}
static inline double cyl_bessel_i0(double x) { return ac_emu_bessel_i(0.0, x); }
static inline double cyl_bessel_i1(double x) { return ac_emu_bessel_i(1.0, x); }
static inline float cyl_bessel_i0f(float x) { return ac_emu_bessel_i(0.0f, x); }
static inline float cyl_bessel_i1f(float x) { return ac_emu_bessel_i(1.0f, x); }

/* __shfl_sync reads lane `src`'s value; __syncwarp waits for the live lanes of the warp. */
template <class T>
static inline T __shfl_sync(unsigned mask, T v, int src) {
    static_assert(sizeof(T) <= sizeof(unsigned long long), "shuffle of a wide type");
    if (mask != 0xffffffffu) { std::fputs("emulate.h: partial-warp shuffle\n", stderr); std::abort(); }
    const unsigned t = threadIdx.x, w = t & ~31u;
    std::memcpy(&ac_emu::block.lane_value[t], &v, sizeof(T));
    ac_emu::wait(ac_emu::AT_WARP_BARRIER);
    T r;
    std::memcpy(&r, &ac_emu::block.lane_value[w + (src & 31)], sizeof(T));
    ac_emu::wait(ac_emu::AT_WARP_BARRIER);
    return r;
}

static inline void __syncwarp(unsigned mask = 0xffffffffu) {
    if (mask != 0xffffffffu) { std::fputs("emulate.h: partial-warp sync\n", stderr); std::abort(); }
    ac_emu::wait(ac_emu::AT_WARP_BARRIER);
}

#endif
