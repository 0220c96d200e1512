# Reference values for laplace_fast's GLMM (issue 22), from lme4 and glmmTMB.
#
# Run from the repository root:
#     Rscript tests/reference/glmm/glmm_reference.R
# It writes tests/reference/glmm/data/*.csv (the data of every model: group labels, response,
# binomial trials, the fixed-effects design X and the random-effects design Z, column by
# column, exactly as the fits below used them) and tests/reference/glmm/reference.json.
#
# Parameterisation of every recorded fit: eta = X beta + Z b_g (+ 0 offset), b_g ~ N(0, Sigma)
# independent across groups; Sigma is q x q on the scale of b (VarCorr, not lme4's relative
# covariance factor).  logLik is each package's own logLik(), with its constants.

suppressPackageStartupMessages({
  library(lme4)
  library(glmmTMB)
  library(jsonlite)
})

out_dir <- file.path("tests", "reference", "glmm")
data_dir <- file.path(out_dir, "data")
if (!dir.exists(out_dir)) stop("run from the repository root")
dir.create(data_dir, showWarnings = FALSE)

# The shortest of 15 or 17 significant digits that reads back as the same double.
fmt <- function(v) {
  if (!is.numeric(v)) return(as.character(v))
  short <- sprintf("%.15g", v)
  ifelse(as.numeric(short) == v, short, sprintf("%.17g", v))
}

# One CSV per data set: group, y, [trials], X:<column>..., Z:<column>...
write_design <- function(file, group, y, X, Z, trials = NULL) {
  cols <- list(group = as.character(group), y = y)
  if (!is.null(trials)) cols$trials <- trials
  for (j in colnames(X)) cols[[paste0("X:", j)]] <- X[, j]
  for (j in colnames(Z)) cols[[paste0("Z:", j)]] <- Z[, j]
  stopifnot(!any(grepl(",", unlist(lapply(cols, fmt)))), !any(grepl(",", names(cols))))
  lines <- do.call(paste, c(lapply(cols, fmt), sep = ","))
  writeLines(c(paste(names(cols), collapse = ","), lines), file.path(data_dir, file))
  list(file = file.path("data", file), n_rows = length(y),
       X_columns = I(colnames(X)), Z_columns = I(colnames(Z)),
       has_trials = !is.null(trials))
}

# Captures the warnings of a fit (lme4 reports convergence trouble as warnings).
with_warnings <- function(expr) {
  msgs <- character(0)
  value <- withCallingHandlers(expr, warning = function(w) {
    msgs <<- c(msgs, conditionMessage(w))
    invokeRestart("muffleWarning")
  })
  list(value = value, warnings = msgs)
}

timed <- function(expr) {
  t0 <- proc.time()[["elapsed"]]
  r <- with_warnings(expr)
  r$seconds <- proc.time()[["elapsed"]] - t0
  r
}

mat <- function(m) unname(as.matrix(m))

# Conditional modes (G x q, rows in label order) and conditional covariances (G x q x q)
# from a data frame of modes with a "postVar"/"condVar" attribute of shape q x q x G, or a
# list of such per term (lme4's split (x || g) terms: it gives no covariance between the
# terms, so those entries stay NA, null in the JSON).
re_block <- function(re) {
  cv <- attr(re, "condVar")
  if (is.null(cv)) cv <- attr(re, "postVar")
  modes <- as.matrix(re)
  G <- nrow(modes)
  q <- ncol(modes)
  cov <- array(NA_real_, c(G, q, q))
  if (is.list(cv)) {
    j0 <- 0
    for (a in cv) {
      k <- dim(a)[1]
      for (g in seq_len(G)) cov[g, j0 + seq_len(k), j0 + seq_len(k)] <- a[, , g]
      j0 <- j0 + k
    }
    stopifnot(j0 == q)
  } else {
    for (g in seq_len(G)) cov[g, , ] <- cv[, , g]
  }
  list(labels = I(rownames(re)), columns = I(colnames(re)), modes = unname(modes),
       cond_cov = cov)
}

# Sigma of one grouping factor from lme4's VarCorr: the blocks of every term on that factor
# (one block for (x | g), one per column for (x || g)), assembled in the order of ranef.
lme4_sigma <- function(fit, factor_name, columns) {
  vc <- VarCorr(fit)
  keep <- vc[names(vc) == factor_name | startsWith(names(vc), paste0(factor_name, "."))]
  q <- length(columns)
  S <- matrix(0, q, q, dimnames = list(columns, columns))
  for (blk in keep) {
    nm <- rownames(blk)
    S[nm, nm] <- blk[nm, nm]
  }
  S
}

lme4_record <- function(r, factor_name, columns, nagq) {
  fit <- r$value
  re <- re_block(ranef(fit, condVar = TRUE)[[factor_name]])
  stopifnot(identical(as.character(re$columns), columns))
  ll <- logLik(fit)
  rec <- list(
    package = "lme4",
    call = paste(deparse(fit@call), collapse = " "),
    nAGQ = nagq,
    REML = isREML(fit),
    logLik = as.numeric(ll), df = attr(ll, "df"), nobs = nobs(fit),
    deviance_component = unname(getME(fit, "devcomp")$cmp),
    deviance_component_names = names(getME(fit, "devcomp")$cmp),
    fixef = I(unname(fixef(fit))), fixef_names = I(names(fixef(fit))),
    Sigma = mat(lme4_sigma(fit, factor_name, columns)),
    theta_lme4 = I(unname(getME(fit, "theta"))),
    n_groups = unname(ngrps(fit)[factor_name]),
    ranef = re,
    optimizer = fit@optinfo$optimizer,
    conv_code = fit@optinfo$conv$opt,
    conv_messages = as.list(c(fit@optinfo$conv$lme4$messages, fit@optinfo$message)),
    warnings = as.list(r$warnings),
    singular = isSingular(fit),
    seconds = r$seconds)
  if (isGLMM(fit)) {
    rec$vcov_hessian <- mat(vcov(fit, use.hessian = TRUE))
    vc <- with_warnings(vcov(fit, use.hessian = FALSE))
    rec$vcov_conditional <- mat(vc$value)
    rec$vcov_conditional_warnings <- as.list(vc$warnings)
    rec$vcov_note <- paste("vcov_hessian: lme4's vcov(use.hessian = TRUE), the fixed-effect",
                           "block of the inverse finite-difference Hessian of the deviance over",
                           "(theta, beta); vcov_conditional: use.hessian = FALSE, the inverse of",
                           "the penalised-IRLS Hessian, conditional on theta")
  } else {
    rec$sigma <- sigma(fit)
    rec$vcov_conditional <- mat(vcov(fit))
    rec$vcov_note <- paste("lmer's vcov: sigma^2 (X' V^-1 X)^-1 at the estimates,",
                           "conditional on the variance parameters")
  }
  rec
}

tmb_record <- function(r, factor_name, columns) {
  fit <- r$value
  re <- re_block(ranef(fit, condVar = TRUE)$cond[[factor_name]])
  stopifnot(identical(as.character(re$columns), columns))
  ll <- logLik(fit)
  S <- VarCorr(fit)$cond[[factor_name]]
  rec <- list(
    package = "glmmTMB",
    call = paste(deparse(fit$call), collapse = " "),
    logLik = as.numeric(ll), df = attr(ll, "df"), nobs = nobs(fit),
    fixef = I(unname(fixef(fit)$cond)), fixef_names = I(names(fixef(fit)$cond)),
    vcov = mat(vcov(fit)$cond),
    vcov_note = paste("glmmTMB's vcov()$cond: the fixed-effect block of the inverse Hessian",
                      "of the Laplace objective over all outer parameters (TMB sdreport)"),
    Sigma = mat(S[columns, columns, drop = FALSE]),
    n_groups = nlevels(fit$frame[[factor_name]]),
    ranef = re,
    ranef_note = paste("glmmTMB's condVar: TMB sdreport's variances of the random effects,",
                       "which include the uncertainty of the outer parameters"),
    pdHess = fit$sdr$pdHess,
    conv_code = fit$fit$convergence,
    conv_messages = as.list(fit$fit$message),
    warnings = as.list(r$warnings),
    seconds = r$seconds)
  fam <- family(fit)$family
  if (fam == "gaussian") rec$sigma <- sigma(fit)
  if (fam == "nbinom2") {
    rec$theta <- sigma(fit)
    rec$alpha <- 1 / sigma(fit)
    rec$dispersion_note <- "nbinom2: Var = mu + mu^2 / theta; alpha = 1 / theta"
  }
  rec
}

# glmer's default penalised-IRLS tolerance (tolPwrss = 1e-7) leaves its reported deviance
# short of the Laplace approximation at its own estimates by up to ~3e-4 log-likelihood
# units (cbpp); the "_tight" fits solve the inner problem to 1e-12.
tight <- glmerControl(tolPwrss = 1e-12)

models <- list()

# ------------------------------------------------------------------------- cbpp (binomial)
data(cbpp, package = "lme4")
cb_X <- model.matrix(~ period, cbpp)
cb_Z <- model.matrix(~ 1, cbpp)
cb_data <- write_design("cbpp.csv", cbpp$herd, cbpp$incidence, cb_X, cb_Z,
                        trials = cbpp$size)
f_cb <- cbind(incidence, size - incidence) ~ period + (1 | herd)
models$cbpp_binomial <- list(
  data = cb_data, family = "binomial", re_cov = "full",
  formula = "cbind(incidence, size - incidence) ~ period + (1 | herd)",
  fits = list(
    glmer_nagq1 = lme4_record(timed(glmer(f_cb, cbpp, binomial, nAGQ = 1)),
                              "herd", "(Intercept)", 1),
    glmer_nagq1_tight = lme4_record(timed(glmer(f_cb, cbpp, binomial, nAGQ = 1,
                                                control = tight)),
                                    "herd", "(Intercept)", 1),
    glmer_nagq10 = lme4_record(timed(glmer(f_cb, cbpp, binomial, nAGQ = 10)),
                               "herd", "(Intercept)", 10),
    glmmTMB = tmb_record(timed(glmmTMB(f_cb, cbpp, binomial)), "herd", "(Intercept)")))

# --------------------------------------------------------- grouseticks (poisson, nbinom2)
data(grouseticks, package = "lme4")
gt <- grouseticks
gt$zHEIGHT <- as.numeric(scale(gt$HEIGHT))
gt_X <- model.matrix(~ YEAR + zHEIGHT, gt)
colnames(gt_X)[colnames(gt_X) == "zHEIGHT"] <- "scale(HEIGHT)"
gt_Z <- model.matrix(~ 1, gt)
gt_data <- write_design("grouseticks.csv", gt$BROOD, gt$TICKS, gt_X, gt_Z)
gt_data$covariates <- paste("YEAR: factor (95, 96, 97), treatment contrasts against 95;",
                            "scale(HEIGHT) = (HEIGHT - mean) / sd, sample sd")
f_gt <- TICKS ~ YEAR + scale(HEIGHT) + (1 | BROOD)
models$grouseticks_poisson <- list(
  data = gt_data, family = "poisson", re_cov = "full",
  formula = "TICKS ~ YEAR + scale(HEIGHT) + (1 | BROOD)",
  fits = list(
    glmer_nagq1 = lme4_record(timed(glmer(f_gt, grouseticks, poisson)), "BROOD",
                              "(Intercept)", 1),
    glmer_nagq1_tight = lme4_record(timed(glmer(f_gt, grouseticks, poisson,
                                                control = tight)),
                                    "BROOD", "(Intercept)", 1),
    glmmTMB = tmb_record(timed(glmmTMB(f_gt, grouseticks, poisson)), "BROOD",
                         "(Intercept)")))
models$grouseticks_nbinom2 <- list(
  data = gt_data, family = "negative_binomial", re_cov = "full",
  formula = "TICKS ~ YEAR + scale(HEIGHT) + (1 | BROOD), family = nbinom2",
  fits = list(
    glmmTMB = tmb_record(timed(glmmTMB(f_gt, grouseticks, nbinom2)), "BROOD",
                         "(Intercept)")))

# ---------------------------------------------------------------- sleepstudy (gaussian LMM)
data(sleepstudy, package = "lme4")
ss_X <- model.matrix(~ Days, sleepstudy)
ss_Z <- model.matrix(~ Days, sleepstudy)
ss_data <- write_design("sleepstudy.csv", sleepstudy$Subject, sleepstudy$Reaction, ss_X, ss_Z)
ss_cols <- c("(Intercept)", "Days")
models$sleepstudy_full <- list(
  data = ss_data, family = "gaussian", re_cov = "full",
  formula = "Reaction ~ Days + (Days | Subject)",
  fits = list(
    lmer_ml = lme4_record(timed(lmer(Reaction ~ Days + (Days | Subject), sleepstudy,
                                     REML = FALSE)), "Subject", ss_cols, 1),
    glmmTMB = tmb_record(timed(glmmTMB(Reaction ~ Days + (Days | Subject), sleepstudy)),
                         "Subject", ss_cols)))
models$sleepstudy_diag <- list(
  data = ss_data, family = "gaussian", re_cov = "diag",
  formula = "Reaction ~ Days + (Days || Subject); glmmTMB: diag(Days | Subject)",
  fits = list(
    lmer_ml = lme4_record(timed(lmer(Reaction ~ Days + (Days || Subject), sleepstudy,
                                     REML = FALSE)), "Subject", ss_cols, 1),
    glmmTMB = tmb_record(timed(glmmTMB(Reaction ~ Days + diag(Days | Subject), sleepstudy)),
                         "Subject", ss_cols)))

# ------------------------------------ simulated logistic, random intercept + slope (q = 2)
# 200 groups x 20 rows; x ~ N(0, 1) rounded to 4 decimals so that the CSV holds it exactly.
set.seed(20260722)
sim_G <- 200
sim_n <- 20
sim_beta <- c(-0.5, 1.0)
sim_Sigma <- matrix(c(1.0, 0.3, 0.3, 0.5), 2, 2)
sim <- data.frame(g = factor(sprintf("g%03d", rep(seq_len(sim_G), each = sim_n))),
                  x = round(rnorm(sim_G * sim_n), 4))
sim_b <- matrix(rnorm(2 * sim_G), sim_G, 2) %*% chol(sim_Sigma)
sim_eta <- sim_beta[1] + sim_b[as.integer(sim$g), 1] +
  (sim_beta[2] + sim_b[as.integer(sim$g), 2]) * sim$x
sim$y <- rbinom(nrow(sim), 1, plogis(sim_eta))
sim_X <- model.matrix(~ x, sim)
sim_data <- write_design("simulated_logistic.csv", sim$g, sim$y, sim_X, sim_X)
sim_data$simulation <- list(seed = 20260722, G = sim_G, n_per_group = sim_n,
                            beta = sim_beta, Sigma = sim_Sigma,
                            note = paste("x = round(rnorm(G n), 4); b = rnorm(G x 2)",
                                         "%*% chol(Sigma); y ~ Bernoulli(plogis(eta))"))
sim_cols <- c("(Intercept)", "x")
models$simulated_logistic_slope <- list(
  data = sim_data, family = "logistic", re_cov = "full",
  formula = "y ~ x + (x | g), binomial",
  fits = list(
    glmer_nagq1 = lme4_record(timed(glmer(y ~ x + (x | g), sim, binomial)), "g",
                              sim_cols, 1),
    glmer_nagq1_tight = lme4_record(timed(glmer(y ~ x + (x | g), sim, binomial,
                                                control = tight)), "g", sim_cols, 1),
    glmmTMB = tmb_record(timed(glmmTMB(y ~ x + (x | g), sim, binomial)), "g", sim_cols)))

versions <- list(R = R.version.string,
                 lme4 = as.character(packageVersion("lme4")),
                 glmmTMB = as.character(packageVersion("glmmTMB")),
                 TMB = as.character(packageVersion("TMB")),
                 Matrix = as.character(packageVersion("Matrix")),
                 jsonlite = as.character(packageVersion("jsonlite")))

reference <- list(
  generated_by = "tests/reference/glmm/glmm_reference.R",
  parameterisation = paste("eta = X beta + Z b_g, b_g ~ N(0, Sigma) independent across",
                           "groups; Sigma on the scale of b; matrices row-major; ranef",
                           "cond_cov[g] is the q x q conditional covariance of group",
                           "labels[g]"),
  versions = versions,
  models = models)

# jsonlite writes at most 15 significant digits; every number goes in verbatim at 17 (a
# lossless round trip), as a scalar, or nested row-major arrays for vectors (and AsIs
# length-one vectors), matrices and arrays.
num_json <- function(x) {
  cell <- function(v) ifelse(is.finite(v), sprintf("%.17g", as.numeric(v)), "null")
  nest <- function(a) {
    d <- dim(a)
    if (length(d) <= 1) return(paste0("[", paste(cell(a), collapse = ","), "]"))
    rows <- vapply(seq_len(d[1]), function(i) {
      slice <- do.call(`[`, c(list(a, i), rep(list(TRUE), length(d) - 1), drop = FALSE))
      nest(array(slice, d[-1]))
    }, "")
    paste0("[", paste(rows, collapse = ","), "]")
  }
  if (is.null(dim(x)) && length(x) == 1 && !inherits(x, "AsIs")) cell(x) else nest(x)
}
verbatim <- function(x) {
  if (is.list(x)) return(lapply(x, verbatim))
  if (is.numeric(x)) return(structure(num_json(x), class = "json"))
  x
}
json <- toJSON(verbatim(reference), auto_unbox = TRUE, json_verbatim = TRUE, pretty = TRUE,
               null = "null", na = "null")
writeLines(json, file.path(out_dir, "reference.json"))

# The JSON holds every double exactly.
back <- fromJSON(file.path(out_dir, "reference.json"), simplifyVector = FALSE)
stopifnot(identical(back$models$sleepstudy_full$fits$lmer_ml$logLik,
                    models$sleepstudy_full$fits$lmer_ml$logLik),
          identical(unlist(back$models$cbpp_binomial$fits$glmmTMB$fixef),
                    as.numeric(models$cbpp_binomial$fits$glmmTMB$fixef)))
for (m in names(models)) for (f in names(models[[m]]$fits)) {
  r <- models[[m]]$fits[[f]]
  cat(sprintf("%-26s %-13s logLik %.10f  %s\n", m, f, r$logLik,
              paste(c(unlist(r$conv_messages), unlist(r$warnings)), collapse = " | ")))
}
