// The mixed-model kernels with 2 inner covariates (mixed_model_kernel.h).
#include "stats/internal/mixed_model_kernels.h"

namespace rapport::stats::internal {

const KernelFunctions& KernelsWithInner2(int kt, int p) { return kernels::WithInner<2>(kt, p); }

}  // namespace rapport::stats::internal
