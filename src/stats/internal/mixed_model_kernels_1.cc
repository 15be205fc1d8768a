// The mixed-model kernels with 1 inner covariate (mixed_model_kernel.h).
#include "stats/internal/mixed_model_kernels.h"

namespace rapport::stats::internal {

const KernelFunctions& KernelsWithInner1(int kt, int p) { return kernels::WithInner<1>(kt, p); }

}  // namespace rapport::stats::internal
