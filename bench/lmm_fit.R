# lme4 side of bench/lmm.sh: fits one model to a CSV and prints "seconds criterion".
# Usage: Rscript lmm_fit.R FILE two|three
suppressMessages(library(lme4))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
formula <- if (args[2] == "two") y ~ session + (session | client) else
  y ~ session + (1 | therapist) + (session | client)
seconds <- system.time(m <- lmer(formula, d))[["elapsed"]]
cat(sprintf("%.3f %.12g\n", seconds, REMLcrit(m)))
