/* Hand-written C loops: the ceiling algebrac's generated code is measured against.
 *
 * Compiled at run time by bench_ufunc.py with
 *   gcc -O3 -march=native -fPIC -shared -fopenmp -fno-math-errno
 *       -fno-builtin-sin -fno-builtin-cos -fno-builtin-sinf -fno-builtin-cosf
 *       ceiling.c -lmvec -lm
 * and loaded with ctypes.  Every loop is `omp parallel for simd` over
 * contiguous arrays; the math functions are declared `omp declare simd` so gcc
 * calls glibc's libmvec vector variants (the same mechanism algebrac uses).
 * Common subexpressions are shared by hand (sin(x) once, exp(...) once).
 *
 * The stream_* kernels are STREAM-like (copy, scale, add, triad) and measure
 * the machine's memory bandwidth with both threads.  They use ordinary stores,
 * like algebrac's loops (no non-temporal stores).
 */
#include <math.h>
#include <stddef.h>

#pragma omp declare simd notinbranch
double sin(double);
#pragma omp declare simd notinbranch
double cos(double);
#pragma omp declare simd notinbranch
double exp(double);
#pragma omp declare simd notinbranch
double log1p(double);
#pragma omp declare simd notinbranch
float sinf(float);
#pragma omp declare simd notinbranch
float cosf(float);
#pragma omp declare simd notinbranch
float expf(float);
#pragma omp declare simd notinbranch
float log1pf(float);

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
