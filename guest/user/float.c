/*
 * float.c - floating point the way a C program uses it on i386: x87 arithmetic compiled by gcc
 * (-mfpmath=387), glibc's printf of float, double and long double (%f %e %g %a %Lf), strtod,
 * and libm (sqrt, sin, cos, tan, atan2, exp, log, log10, pow, fmod, floor, lrint), which on
 * i386 is largely x87 code (fsin, fyl2x, f2xm1, fscale, fprem, frndint ...). Deterministic: the
 * output depends only on the arguments. Printed to 12-15 significant digits, so that a last-bit
 * difference a transcendental instruction is allowed (one ulp of the 64-bit significand) does
 * not show.
 *   float [x]        (default x = 2.5)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	double x = argc > 1 ? strtod(argv[1], NULL) : 2.5;
	printf("x %f %e %g %a\n", x, x / 3, x * 1e10, x);
	printf("sqrt %.15f\n", sqrt(x));
	printf("sin %.12f cos %.12f tan %.12f atan2 %.12f\n", sin(x), cos(x), tan(x), atan2(x, 3.0));
	printf("exp %.12g log %.12g log10 %.12g pow %.12g\n", exp(x), log(x), log10(x), pow(x, 0.7));
	printf("fmod %.12f floor %.1f lrint %ld\n", fmod(x * 100, 7.3), floor(-x), lrint(x * 7.5));
	long double third = 1.0L / 3;
	printf("long double %.18Lf %Lg\n", third, third * 1e4000L);
	printf("overflow %f underflow %g nan %f\n", x * 1e308 * 10, x * 1e-308 * 1e-20, sqrt(-x));
	float f = 0.1f;
	printf("float %.10f %.10f\n", f, f * 3);
	printf("int %d %lld\n", (int)(x * 1000.7), (long long)(x * 1e15));
	double s = 0;
	for (int k = 1; k < 2000; k++)
		s += 1.0 / ((double)k * k);
	printf("sum 1/k^2 %.13f (pi^2/6 %.13f)\n", s, M_PI * M_PI / 6);
	return 0;
}
