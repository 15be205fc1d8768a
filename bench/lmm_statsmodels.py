"""statsmodels side of bench/lmm.sh: REML fit of y ~ session + (session | client).

Usage: /usr/bin/python3 lmm_statsmodels.py FILE  -> prints "seconds criterion" (criterion = -2 llf).
"""
import sys
import time

import pandas as pd
import statsmodels.formula.api as smf

data = pd.read_csv(sys.argv[1])
start = time.perf_counter()
fit = smf.mixedlm("y ~ session", data, groups=data["client"], re_formula="~session").fit(reml=True)
print(f"{time.perf_counter() - start:.3f} {-2 * fit.llf:.12g}")
