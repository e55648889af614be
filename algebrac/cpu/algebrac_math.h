/* algebrac_math.h: scalar helpers included by every generated CPU kernel.
 *
 * They give C the semantics NumPy and SymPy have where libm differs, and are
 * static inline so the compiler inlines and vectorises them with the loop.
 * NaN handling mirrors NumPy: sign(NaN) = NaN, min/max propagate NaN, mod
 * takes the sign of the divisor (npy_divmod), heaviside(NaN) = NaN.
 * Ordered comparisons use the quiet isless/isgreater: `x < y` raises the
 * invalid flag for a NaN operand (NumPy would then warn), NumPy's do not.
 */
#ifndef ALGEBRAC_MATH_H
#define ALGEBRAC_MATH_H
#include <math.h>

#define AC_DEFINE_HELPERS(T, SUF)                                              \
static inline T _ac_sign##SUF(T x) {                                           \
    return isgreater(x, (T)0) ? (T)1 : (isless(x, (T)0) ? (T)-1 : (x == 0 ? (T)0 : x)); \
}                                                                              \
static inline T _ac_min##SUF(T a, T b) { return (isless(a, b) || a != a) ? a : b; } \
static inline T _ac_max##SUF(T a, T b) { return (isgreater(a, b) || a != a) ? a : b; } \
static inline T _ac_heaviside##SUF(T x, T h0) {                                \
    return x != x ? x : (isless(x, (T)0) ? (T)0 : (isgreater(x, (T)0) ? (T)1 : h0)); \
}                                                                              \
static inline T _ac_mod##SUF(T a, T b) {                                       \
    T m = fmod##SUF(a, b);                                                     \
    if (!b) return m;                                                          \
    if (m) { if (isless(b, (T)0) != isless(m, (T)0)) m += b; }                 \
    else m = copysign##SUF((T)0, b);                                           \
    return m;                                                                  \
}

AC_DEFINE_HELPERS(double, )
AC_DEFINE_HELPERS(float, f)
#undef AC_DEFINE_HELPERS

#endif
