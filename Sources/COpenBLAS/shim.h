#include <cblas.h>
// OpenBLAS thread control: the engine owns parallelism, OpenBLAS runs on one thread by default.
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
