/* algebrac_math.h: scalar helpers included by every generated CPU kernel.
 *
 * They give C the semantics NumPy and SymPy have where libm differs, and are
 * static inline so the compiler inlines and vectorises them with the loop.
 * NaN handling mirrors NumPy: sign(NaN) = NaN, min/max propagate NaN, mod
 * takes the sign of the divisor (npy_divmod), heaviside(NaN) = NaN.
 * Ordered comparisons are quiet (_ac_lt & co. below): C's `x < y` raises
 * the invalid flag for a NaN operand (NumPy would then warn), NumPy's do not.
 */
#ifndef ALGEBRAC_MATH_H
#define ALGEBRAC_MATH_H
#ifndef __CUDACC_RTC__
#include <math.h>
#include <stdint.h>
#else   /* NVRTC: no host headers (its math functions are built in), so what they define */
typedef long long int64_t;
typedef int int32_t;
#define INT64_MAX 0x7fffffffffffffffLL
#define INT32_MAX 0x7fffffff
#define INFINITY __int_as_float(0x7f800000)
#define NAN __int_as_float(0x7fc00000)
/* The constants SymPy's C printer names (glibc's values, as nvcc sees them). */
#define M_E 2.7182818284590452354
#define M_LOG2E 1.4426950408889634074
#define M_LOG10E 0.43429448190325182765
#define M_LN2 0.69314718055994530942
#define M_LN10 2.30258509299404568402
#define M_PI 3.14159265358979323846
#define M_PI_2 1.57079632679489661923
#define M_PI_4 0.78539816339744830962
#define M_1_PI 0.31830988618379067154
#define M_2_PI 0.63661977236758134308
#define M_2_SQRTPI 1.12837916709551257390
#define M_SQRT2 1.41421356237309504880
#define M_SQRT1_2 0.70710678118654752440
#endif

/* A CUDA prelude defines AC_FUNC as `static __device__ inline` before including. */
#ifndef AC_FUNC
#define AC_FUNC static inline
#endif

/* Quiet ordered comparisons that vectorise.  gcc 12 turns even C's quiet
 * isless/isgreater into signaling vector compares (vcmpltpd raises invalid on
 * a NaN lane).  Instead, compare integer keys that order like the floats
 * (the bits, with the magnitude bits flipped for negatives; x + 0 makes -0
 * equal to +0): integer compares never raise.  The NaN tests `a == a` are
 * quiet compares.  Both vectorise (vpcmpq, vcmpeqpd).                       */
#define AC_DEFINE_COMPARE(T, SUF, I, IMAX)                                     \
AC_FUNC I _ac_key##SUF(T x) {                                                  \
    union { T f; I i; } u;                                                     \
    u.f = x + (T)0;                                                            \
    return u.i ^ ((u.i >> (8 * sizeof(I) - 1)) & IMAX);                        \
}                                                                              \
AC_FUNC int _ac_lt##SUF(T a, T b) { return (a == a) & (b == b) & (_ac_key##SUF(a) < _ac_key##SUF(b)); } \
AC_FUNC int _ac_le##SUF(T a, T b) { return (a == a) & (b == b) & (_ac_key##SUF(a) <= _ac_key##SUF(b)); } \
AC_FUNC int _ac_gt##SUF(T a, T b) { return _ac_lt##SUF(b, a); }                 \
AC_FUNC int _ac_ge##SUF(T a, T b) { return _ac_le##SUF(b, a); }

AC_DEFINE_COMPARE(double, , int64_t, INT64_MAX)
AC_DEFINE_COMPARE(float, f, int32_t, INT32_MAX)
#undef AC_DEFINE_COMPARE

#define AC_DEFINE_HELPERS(T, SUF)                                              \
AC_FUNC T _ac_sign##SUF(T x) {                                           \
    return _ac_gt##SUF(x, (T)0) ? (T)1 : (_ac_lt##SUF(x, (T)0) ? (T)-1 : (x == 0 ? (T)0 : x)); \
}                                                                              \
AC_FUNC T _ac_min##SUF(T a, T b) { return (_ac_lt##SUF(a, b) || a != a) ? a : b; } \
AC_FUNC T _ac_max##SUF(T a, T b) { return (_ac_gt##SUF(a, b) || a != a) ? a : b; } \
AC_FUNC T _ac_heaviside##SUF(T x, T h0) {                                \
    return x != x ? x : (_ac_lt##SUF(x, (T)0) ? (T)0 : (_ac_gt##SUF(x, (T)0) ? (T)1 : h0)); \
}                                                                              \
AC_FUNC T _ac_mod##SUF(T a, T b) {                                       \
    T m = fmod##SUF(a, b);                                                     \
    if (!b) return m;                                                          \
    if (m) { if (_ac_lt##SUF(b, (T)0) != _ac_lt##SUF(m, (T)0)) m += b; }                 \
    else m = copysign##SUF((T)0, b);                                           \
    return m;                                                                  \
}

/* SymPy's sinc(x) = sin(x)/x, 1 at 0 (the division sees 1 there: no 0/0 on a vector lane). */
#define AC_DEFINE_SINC(T, SUF)                                                 \
AC_FUNC T _ac_sinc##SUF(T x) {                                                 \
    const int zero = x == 0;                                                   \
    return zero ? (T)1 : sin##SUF(x) / (zero ? (T)1 : x);                      \
}
AC_DEFINE_SINC(double, )
AC_DEFINE_SINC(float, f)
#undef AC_DEFINE_SINC

AC_DEFINE_HELPERS(double, )
AC_DEFINE_HELPERS(float, f)
#undef AC_DEFINE_HELPERS

/* Numerically stable functions: the single source of algebrac's numeric
 * kernels (the NumPy twins in algebrac/stablemath.py mirror them, and
 * algebrac/_kernels.pyx exposes them to Python for unit tests).
 *
 * Written for vectorised loops: a `c ? a : b` may be computed as a blend of
 * both sides, so each side gets an argument clamped into its own range and
 * the side not taken never overflows or raises a flag.  The clamps keep a NaN
 * (so NaN inputs give NaN) with one quiet comparison each: gcc's vectoriser
 * gives up on loops that combine several masks (as _ac_max's NaN test does).
 * glibc's vector exp raises a spurious overflow or invalid flag for arguments
 * below about -1e300 and at +-inf, so exponentials of a non-positive argument
 * go through _ac_expneg, which clamps it at -750 (exp is 0 there anyway).
 *
 * Switch-over points (derivations in algebrac/stablemath.py, checked by
 * tests/simplify/test_kernels.py):
 *   log1mexp  -log(2) for every type (Maechler 2012);
 *   log_erfc  1/2: log1p(-erf(x)) below, log(erfcx(x)) - x*x above;
 *   erfcx     X0 = 26 (double), 9 (float): the largest integer with
 *             exp(X0^2) finite and erfc(X0) normal; above it the asymptotic
 *             series with N = 7 (double), 5 (float) terms, the fewest whose
 *             first omitted term (2N-1)!!/(2 X0^2)^N is below eps/2.
 */
#define AC_DEFINE_STABLE(T, SUF, ERFCX_X0, ERFCX_TERMS)                        \
AC_FUNC T _ac_atmost##SUF(T x, T c) { return _ac_gt##SUF(x, c) ? c : x; } \
AC_FUNC T _ac_atleast##SUF(T x, T c) { return _ac_lt##SUF(x, c) ? c : x; }   \
AC_FUNC T _ac_expneg##SUF(T x) { return exp##SUF(_ac_atleast##SUF(x, (T)-750)); } \
AC_FUNC T _ac_sigmoid##SUF(T x) {                                        \
    const T e = _ac_expneg##SUF(-fabs##SUF(x));     /* in [0, 1]: no overflow */ \
    return (_ac_lt##SUF(x, (T)0) ? e : (T)1) / ((T)1 + e);                          \
}                                                                              \
AC_FUNC T _ac_softplus##SUF(T x) {                                       \
    return (_ac_gt##SUF(x, (T)0) ? x : (T)0) + log1p##SUF(_ac_expneg##SUF(-fabs##SUF(x))); \
}                                                                              \
AC_FUNC T _ac_log_sigmoid##SUF(T x) { return -_ac_softplus##SUF(-x); }   \
AC_FUNC T _ac_log1mexp##SUF(T x) {                                       \
    const T c = (T)-0.693147180559945309417;                                   \
    const T near = log##SUF(-expm1##SUF(_ac_atleast##SUF(x, c)));              \
    const T far = log1p##SUF(-_ac_expneg##SUF(_ac_atmost##SUF(x, c)));        \
    return _ac_gt##SUF(x, c) ? near : far;                                       \
}                                                                              \
AC_FUNC T _ac_logaddexp##SUF(T a, T b) {                                 \
    const int same = a == b;                         /* equal infinities too */ \
    const T d = (same ? (T)0 : a) - (same ? (T)0 : b);                         \
    const T r = (_ac_lt##SUF(a, b) ? b : a) + log1p##SUF(_ac_expneg##SUF(-fabs##SUF(d))); \
    return same ? a + (T)0.693147180559945309417 : r;                          \
}                                                                              \
AC_FUNC T _ac_logdiffexp##SUF(T a, T b) {                                \
    const int same = a == b;                                                   \
    return a + _ac_log1mexp##SUF((same ? (T)0 : b) - (same ? (T)0 : a));       \
}                                                                              \
AC_FUNC T _ac_xlogy##SUF(T x, T y) {                                     \
    return x * log##SUF((x == 0 && y == y) ? (T)1 : y);                        \
}                                                                              \
AC_FUNC T _ac_xlog1py##SUF(T x, T y) {                                   \
    return x * log1p##SUF((x == 0 && y == y) ? (T)0 : y);                      \
}                                                                              \
AC_FUNC T _ac_erfcx##SUF(T x) {                                          \
    const T x0 = (T)ERFCX_X0;                                                  \
    /* near: exp(x*x) with x*x = s + e exactly, so exp's argument is exact */  \
    const T xn = _ac_atmost##SUF(x, x0);                                       \
    const T xe = _ac_atleast##SUF(xn, -x0 - 1); /* below, exp(s) overflows */  \
    const T s = xn * xn, e = fma##SUF(xe, xe, -(xe * xe));                     \
    const T near = exp##SUF(_ac_atmost##SUF(s, (T)1000)) * erfc##SUF(xn) * ((T)1 + e); \
    /* far: 1/(x sqrt(pi)) * sum_k (-1)^k (2k-1)!! t^k, t = 1/(2x^2) */        \
    const T xf = _ac_atleast##SUF(x, x0);                                      \
    const T t = (T)0.5 / xf / xf;                                              \
    T sum = (T)1;                                                              \
    for (int k = ERFCX_TERMS - 1; k >= 1; k--) sum = (T)1 - (T)(2 * k - 1) * t * sum; \
    const T far = (T)0.564189583547756286948 / xf * sum;                       \
    return _ac_lt##SUF(x, x0) ? near : far;                                         \
}                                                                              \
AC_FUNC T _ac_log_erfc##SUF(T x) {                                       \
    const T c = (T)0.5;                                                        \
    const T lo = _ac_atmost##SUF(x, c), hi = _ac_atleast##SUF(x, c);           \
    const T near = log1p##SUF(-erf##SUF(lo));                                  \
    const T far = log##SUF(_ac_erfcx##SUF(hi)) - hi * hi;                      \
    return _ac_lt##SUF(x, c) ? near : far;                                          \
}                                                                              \
AC_FUNC T _ac_relu##SUF(T x) {                                           \
    return _ac_gt##SUF(x, (T)0) ? x : (x != x ? x : (T)0);                       \
}

AC_DEFINE_STABLE(double, , 26, 7)
AC_DEFINE_STABLE(float, f, 9, 5)
#undef AC_DEFINE_STABLE

/* digamma(x) = polygamma(0, x), the derivative of lgamma (gradients of
 * gamma and loggamma need it).  Reflection for x < 1/2 (poles at 0, -1, ...
 * give NaN, as SciPy's psi does), recurrence up to x >= 10, then the
 * asymptotic series ln x - 1/(2x) - sum B_2k / (2k x^2k) to k = 7: the
 * first omitted term, 3617/(8160 x^16), is below 5e-17 at x = 10.  Orders 1..4
 * of polygamma below; lowering rejects higher ones.                          */
#define AC_DEFINE_DIGAMMA(T, SUF)                                              \
AC_FUNC T _ac_digamma##SUF(T x) {                                              \
    T shift = 0, refl = 0;                                                     \
    if (x != x) return x;                                                      \
    if (x == (T)INFINITY) return x;                                            \
    if (x < (T)0.5) {                                                          \
        if (x == floor##SUF(x)) return (T)NAN;                                 \
        /* tan has period 1: reduce exactly into [-1/2, 1/2] first, so pi*x   \
           stays accurate relative to the small argument near a pole. */      \
        refl = (T)3.14159265358979323846                                       \
               / tan##SUF((T)3.14159265358979323846 * (x - round##SUF(x)));    \
        x = (T)1 - x;                                                          \
    }                                                                          \
    while (x < (T)10) { shift += (T)1 / x; x += (T)1; }                        \
    T r = (T)1 / (x * x);                                                      \
    T s = r * ((T)1/12 - r * ((T)1/120 - r * ((T)1/252 - r * ((T)1/240       \
              - r * ((T)1/132 - r * ((T)691/32760 - r * ((T)1/12))))))); \
    return log##SUF(x) - (T)0.5 / x - s - shift - refl;                        \
}                                                                              \
/* polygamma(m, x), m = 1..4 (second to fifth derivatives of lgamma):          \
   recurrence psi_m(x) = psi_m(x + 1) + (-1)^(m+1) m!/x^(m+1) up to x >= 20,     \
   then (-1)^(m+1) [(m-1)!/x^m + m!/(2x^(m+1)) + sum_k B_2k a_k / x^(2k+m)],      \
   a_k = (2k+m-1)!/(2k)!, k = 1..7: the first omitted term is below 1e-16        \
   relative at x = 20 for every m <= 4.  Poles (0, -1, ...) give NaN.  */       \
AC_FUNC T _ac_polygamma##SUF(T n, T x) {                                       \
    if (n == 0) return _ac_digamma##SUF(x);                                    \
    if (x != x) return x;                                                      \
    if (x == (T)INFINITY) return (T)0;                                         \
    if (x <= 0 && x == floor##SUF(x)) return (T)NAN;                           \
    const int m = (int)n;                                                      \
    T fact = 1;                                       /* m! */                 \
    for (int i = 2; i <= m; i++) fact *= (T)i;                                 \
    T shift = 0;                                                               \
    while (x < (T)20) {                                                        \
        T p = x;                                                               \
        for (int i = 0; i < m; i++) p *= x;                                    \
        shift += fact / p;                                                     \
        x += (T)1;                                                             \
    }                                                                          \
    const T r = (T)1 / x, r2 = r * r;                                          \
    T rm = (T)1;                                       /* r^m */               \
    for (int i = 0; i < m; i++) rm *= r;                                       \
    const T B[7] = {(T)1 / 6, (T)-1 / 30, (T)1 / 42, (T)-1 / 30, (T)5 / 66,    \
                    (T)-691 / 2730, (T)7 / 6};                                 \
    T a = fact * (T)(m + 1) / 2, pw = rm * r2, tail = 0;                       \
    for (int k = 1; k <= 7; k++) {                                             \
        tail += B[k - 1] * a * pw;                                             \
        a *= (T)(2 * k + m) * (T)(2 * k + m + 1) / ((T)(2 * k + 1) * (T)(2 * k + 2)); \
        pw *= r2;                                                              \
    }                                                                          \
    const T asym = fact / (T)m * rm + fact / 2 * rm * r + tail;                \
    return (m % 2 ? (T)1 : (T)-1) * (asym + shift);                            \
}

AC_DEFINE_DIGAMMA(double, )
AC_DEFINE_DIGAMMA(float, f)
#undef AC_DEFINE_DIGAMMA

#endif
