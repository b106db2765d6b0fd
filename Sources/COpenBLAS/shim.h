#include <cblas.h>
// OpenBLAS thread control: the engine owns parallelism, OpenBLAS runs on one thread by default.
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
// LAPACK routines shipped inside OpenBLAS (Fortran calling convention).
void dsyev_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w,
            double *work, const int *lwork, int *info);
void dgetrf_(const int *m, const int *n, double *a, const int *lda, int *ipiv, int *info);
