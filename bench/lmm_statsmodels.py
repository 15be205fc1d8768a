"""statsmodels side of bench/lmm.sh: REML fit of y ~ 1 + t with (t | client).

Usage: /usr/bin/python3 lmm_statsmodels.py FILE
Prints one JSON object with the keys of `rapport fit lmm --input`; "criterion" is -2 times
statsmodels' REML log-likelihood.
"""
import json
import sys
import time

import pandas as pd
import statsmodels.formula.api as smf

data = pd.read_csv(sys.argv[1])
start = time.perf_counter()
fit = smf.mixedlm("y ~ 1 + t", data, groups=data["client"], re_formula="~t").fit(reml=True)
seconds = time.perf_counter() - start
cov = fit.cov_re.values
print(json.dumps({
    "fit_seconds": seconds,
    "criterion": -2 * fit.llf,
    "fixef": {"(Intercept)": fit.fe_params.iloc[0], "t": fit.fe_params.iloc[1]},
    "se": {"(Intercept)": fit.bse_fe.iloc[0], "t": fit.bse_fe.iloc[1]},
    "varcomp": {"client": {"var_intercept": cov[0, 0], "var_t": cov[1, 1], "cov": cov[0, 1]},
                "therapist": None, "residual": fit.scale},
    "converged": bool(fit.converged),
}))
