/* Hand-written C loops: the ceiling algebrac's generated code is measured against.
 *
 * Compiled at run time by bench_ufunc.py with
 *   gcc -O3 -march=native -fPIC -shared -fopenmp -fno-math-errno
 *       -fno-builtin-sin -fno-builtin-cos -fno-builtin-sinf -fno-builtin-cosf
 *       ceiling.c -lmvec -lm
 * and loaded with ctypes.  Every loop is `omp parallel for simd` over
 * contiguous arrays; the math functions are declared `omp declare simd` so gcc
 * calls glibc's libmvec vector variants (the same mechanism algebrac uses).
 * They are also declared `const` (as algebrac's generated code does), so gcc
 * may share and move the calls.  Common subexpressions are shared by hand.
 *
 * The stream_* kernels are STREAM-like (copy, scale, add, triad) and measure
 * the machine's memory bandwidth with both threads.  They use ordinary stores,
 * like algebrac's loops (no non-temporal stores).
 */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>

#pragma omp declare simd notinbranch
double sin(double) __attribute__((const));
#pragma omp declare simd notinbranch
double cos(double) __attribute__((const));
#pragma omp declare simd notinbranch
double exp(double) __attribute__((const));
#pragma omp declare simd notinbranch
double log1p(double) __attribute__((const));
#pragma omp declare simd notinbranch
float sinf(float) __attribute__((const));
#pragma omp declare simd notinbranch
float cosf(float) __attribute__((const));
#pragma omp declare simd notinbranch
float expf(float) __attribute__((const));
#pragma omp declare simd notinbranch
float log1pf(float) __attribute__((const));

/* sin(x)**2*cos(y) + exp(-x*y)*log1p(x*x) */
void trans_f64(const double *restrict x, const double *restrict y, double *restrict out, long n)
{
    #pragma omp parallel for simd schedule(static)
    for (long i = 0; i < n; i++) {
        const double a = x[i], b = y[i];
        const double s = sin(a);
        out[i] = s * s * cos(b) + exp(-a * b) * log1p(a * a);
    }
}

void trans_f32(const float *restrict x, const float *restrict y, float *restrict out, long n)
{
    #pragma omp parallel for simd schedule(static)
    for (long i = 0; i < n; i++) {
        const float a = x[i], b = y[i];
        const float s = sinf(a);
        out[i] = s * s * cosf(b) + expf(-a * b) * log1pf(a * a);
    }
}

/* f = exp(-x**2 - y**2)*sin(x*y) and its x and y derivatives */
void valgrad_f64(const double *restrict x, const double *restrict y, double *restrict f,
                 double *restrict fx, double *restrict fy, long n)
{
    #pragma omp parallel for simd schedule(static)
    for (long i = 0; i < n; i++) {
        const double a = x[i], b = y[i];
        const double e = exp(-a * a - b * b);
        const double s = sin(a * b), c = cos(a * b);
        f[i] = e * s;
        fx[i] = e * (b * c - 2.0 * a * s);
        fy[i] = e * (a * c - 2.0 * b * s);
    }
}

/* Piecewise((exp(-x)*y, x > 0.5), (sin(x*y), x > -0.5), (x*y**2, True)), branch-free.
 * libmvec has no masked variants, so every call is made in every lane; lanes whose
 * branch is not taken get a harmless argument (0), so no spurious overflow or
 * invalid flag is raised.  The calls go to a first loop over a block that stores
 * them unconditionally (in one loop, gcc sinks each call into the branch that uses
 * it, and a loop with conditional calls does not vectorize); a second loop selects. */
#define PW_BLOCK 512
void piecewise_f64(const double *restrict x, const double *restrict y, double *restrict out,
                   long n)
{
    #pragma omp parallel for schedule(static)
    for (long i0 = 0; i0 < n; i0 += PW_BLOCK) {
        double e[PW_BLOCK], s[PW_BLOCK];
        const long m = n - i0 < PW_BLOCK ? n - i0 : PW_BLOCK;
        const double *restrict xa = x + i0, *restrict ya = y + i0;
        #pragma omp simd
        for (long j = 0; j < m; j++) {
            const double a = xa[j], b = ya[j];
            e[j] = exp(isgreater(a, 0.5) ? -a : 0.0);
            s[j] = sin(isgreater(a, 0.5) ? 0.0 : (isgreater(a, -0.5) ? a * b : 0.0));
        }
        #pragma omp simd
        for (long j = 0; j < m; j++) {
            const double a = xa[j], b = ya[j];
            out[i0 + j] = isgreater(a, 0.5) ? b * e[j] : (isgreater(a, -0.5) ? s[j] : a * b * b);
        }
    }
}

/* the transcendental formula on x of shape (n, 1) and y of shape (1, m): out is (n, m).
 * What depends on x only is computed once per row, cos(y) once per column. */
void trans_bcast_f64(const double *restrict x, const double *restrict y, double *restrict out,
                     long n, long m)
{
    double *cy = malloc(sizeof(double) * (size_t)m);
    #pragma omp parallel
    {
        #pragma omp for simd schedule(static)
        for (long j = 0; j < m; j++)
            cy[j] = cos(y[j]);
        #pragma omp for schedule(static)
        for (long i = 0; i < n; i++) {
            const double a = x[i];
            const double s = sin(a);
            const double s2 = s * s, l = log1p(a * a);
            double *restrict o = out + i * m;
            #pragma omp simd
            for (long j = 0; j < m; j++)
                o[j] = s2 * cy[j] + exp(-a * y[j]) * l;
        }
    }
    free(cy);
}

/* 3*x**3 + 2*x**2 - x + 1 (Horner) */
void poly_f64(const double *restrict x, double *restrict out, long n)
{
    #pragma omp parallel for simd schedule(static)
    for (long i = 0; i < n; i++) {
        const double a = x[i];
        out[i] = ((3.0 * a + 2.0) * a - 1.0) * a + 1.0;
    }
}

/* x*y + x + y */
void poly2_f64(const double *restrict x, const double *restrict y, double *restrict out, long n)
{
    #pragma omp parallel for simd schedule(static)
    for (long i = 0; i < n; i++)
        out[i] = x[i] * y[i] + x[i] + y[i];
}

void stream_copy(double *restrict a, const double *restrict b, long n)
{
    #pragma omp parallel for simd schedule(static)
    for (long i = 0; i < n; i++)
        a[i] = b[i];
}

void stream_scale(double *restrict a, const double *restrict b, double s, long n)
{
    #pragma omp parallel for simd schedule(static)
    for (long i = 0; i < n; i++)
        a[i] = s * b[i];
}

void stream_add(double *restrict a, const double *restrict b, const double *restrict c, long n)
{
    #pragma omp parallel for simd schedule(static)
    for (long i = 0; i < n; i++)
        a[i] = b[i] + c[i];
}

void stream_triad(double *restrict a, const double *restrict b, const double *restrict c,
                  double s, long n)
{
    #pragma omp parallel for simd schedule(static)
    for (long i = 0; i < n; i++)
        a[i] = b[i] + s * c[i];
}
