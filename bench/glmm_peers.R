# The R peers of bench/bench_glmm.py: glmer (lme4, nAGQ = 1, its default optimizers) and
# glmmTMB (its defaults) fit y ~ x + (x | g) to a CSV written by bench/glmm_data.py.
#
#     Rscript bench/glmm_peers.R data.csv logistic [glmer,glmmTMB]
#
# Prints one JSON object on stdout: per peer the elapsed seconds of the fit (the model
# formula's set-up included, the CSV reading excluded), logLik, fixef, Sigma (the 2 x 2
# covariance of (b_0, b_1), row-major), the convergence messages and warnings; and the
# package versions.

args <- commandArgs(trailingOnly = TRUE)
if (length(args) < 2) stop("usage: Rscript bench/glmm_peers.R data.csv logistic|poisson [peers]")
path <- args[1]
family <- switch(args[2], logistic = binomial(), poisson = poisson(),
                 stop("family must be logistic or poisson, got ", args[2]))
peers <- if (length(args) >= 3) strsplit(args[3], ",")[[1]] else c("glmer", "glmmTMB")

suppressPackageStartupMessages({
  library(lme4)
  library(glmmTMB)
  library(jsonlite)
})

d <- read.csv(path, colClasses = c("character", "numeric", "numeric"))
d$g <- factor(d$g)

run <- function(fit_fun, extract) {
  msgs <- character(0)
  t0 <- proc.time()[["elapsed"]]
  fit <- withCallingHandlers(fit_fun(), warning = function(w) {
    msgs <<- c(msgs, conditionMessage(w))
    invokeRestart("muffleWarning")
  })
  seconds <- proc.time()[["elapsed"]] - t0
  c(list(seconds = seconds, logLik = as.numeric(logLik(fit)), warnings = as.list(msgs)),
    extract(fit))
}

out <- list(data = path, family = args[2], n_rows = nrow(d), n_groups = nlevels(d$g),
            versions = list(R = R.version.string,
                            lme4 = as.character(packageVersion("lme4")),
                            glmmTMB = as.character(packageVersion("glmmTMB"))),
            peers = list())

if ("glmer" %in% peers) {
  out$peers$glmer <- run(
    function() glmer(y ~ x + (x | g), d, family, nAGQ = 1),
    function(fit) list(fixef = unname(fixef(fit)),
                       Sigma = unname(as.matrix(VarCorr(fit)$g[1:2, 1:2])),
                       conv_messages = as.list(c(fit@optinfo$conv$lme4$messages,
                                                 fit@optinfo$message))))
}
if ("glmmTMB" %in% peers) {
  out$peers$glmmTMB <- run(
    function() glmmTMB(y ~ x + (x | g), d, family),
    function(fit) list(fixef = unname(fixef(fit)$cond),
                       Sigma = unname(as.matrix(VarCorr(fit)$cond$g[1:2, 1:2])),
                       conv_messages = as.list(fit$fit$message),
                       pdHess = fit$sdr$pdHess))
}

cat(toJSON(out, auto_unbox = TRUE, digits = I(17)), "\n")
