# lme4 side of bench/lmm.sh: fits y ~ 1 + t with (t | client), plus (1 | therapist) for three
# levels, by REML, and prints one JSON object with the keys of `rapport fit lmm --input`.
# Usage: Rscript --vanilla lmm_fit.R FILE 2|3
suppressMessages(library(lme4))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
formula <- if (args[2] == "2") y ~ 1 + t + (t | client) else
  y ~ 1 + t + (1 | therapist) + (t | client)
seconds <- system.time(m <- lmer(formula, d))[["elapsed"]]
num <- function(x) sprintf("%.17g", x)
b <- fixef(m)
se <- sqrt(diag(as.matrix(vcov(m))))
v <- VarCorr(m)
therapist <- if (args[2] == "3") sprintf('{"var_intercept": %s}', num(v$therapist[1, 1])) else "null"
cat(sprintf(paste0(
  '{"fit_seconds": %s, "criterion": %s, "fixef": {"(Intercept)": %s, "t": %s}, ',
  '"se": {"(Intercept)": %s, "t": %s}, "varcomp": {"client": {"var_intercept": %s, ',
  '"var_t": %s, "cov": %s}, "therapist": %s, "residual": %s}}\n'),
  num(seconds), num(REMLcrit(m)), num(b[1]), num(b[2]), num(se[1]), num(se[2]),
  num(v$client[1, 1]), num(v$client[2, 2]), num(v$client[1, 2]), therapist, num(sigma(m)^2)))
