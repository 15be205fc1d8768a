// The mixed-model kernels with 3 inner covariates (mixed_model_kernel.h).
#include "stats/internal/mixed_model_kernels.h"

namespace rapport::stats::internal {

const KernelFunctions& KernelsWithInner3(int kt, int p) { return kernels::WithInner<3>(kt, p); }

}  // namespace rapport::stats::internal
