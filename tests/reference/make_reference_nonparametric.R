# Reference values for blinareg.stats' non-parametric estimators, computed with R survival and cmprsk.
#
# Run from the repository root:   Rscript tests/reference/make_reference_nonparametric.R
# Needs: survival, cmprsk, KMsurv, jsonlite (Debian: r-cran-survival r-cran-cmprsk r-cran-kmsurv
# r-cran-jsonlite). Writes the public datasets used to tests/reference/data/*.csv and every value to
# tests/reference/nonparametric.json at full precision, so the Python tests never need R.

suppressPackageStartupMessages({
  library(survival)
  library(cmprsk)
  library(KMsurv)
  library(jsonlite)
})

data(channing, package = "KMsurv")
data(bmt, package = "KMsurv")

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
out_dir <- if (length(script)) dirname(normalizePath(script)) else "tests/reference"
data_dir <- file.path(out_dir, "data")
dir.create(data_dir, showWarnings = FALSE, recursive = TRUE)

# ---- datasets: only the columns used, complete cases, 0/1 (or 0..k) status codes ----------------
datasets <- list(
  aml = data.frame(time = aml$time, status = aml$status,
                   x = as.character(aml$x)),
  lung = na.omit(data.frame(time = lung$time, status = lung$status - 1, sex = lung$sex,
                            ph_ecog = lung$ph.ecog, inst = lung$inst)),
  veteran = data.frame(time = veteran$time, status = veteran$status, trt = veteran$trt,
                       celltype = as.character(veteran$celltype), karno = veteran$karno),
  ovarian = data.frame(time = ovarian$futime, status = ovarian$fustat, rx = ovarian$rx,
                       resid_ds = ovarian$resid.ds),
  # status: 0 censored, 1 transplant, 2 death (competing risks); edema 0 / 0.5 / 1
  pbc = data.frame(time = pbc$time, status = pbc$status, sex = as.character(pbc$sex),
                   edema = pbc$edema),
  # left truncation: age at entry and at exit (months) in Channing House
  channing = subset(data.frame(entry = channing$ageentry, time = channing$age,
                               status = channing$death, gender = channing$gender),
                    time > entry),
  # KMsurv bmt: cause 1 = relapse, 2 = death in remission; group 1 ALL, 2 AML low, 3 AML high risk
  bmt = data.frame(time = bmt$t2, cause = ifelse(bmt$d2 == 1, 1, ifelse(bmt$d1 == 1, 2, 0)),
                   group = bmt$group, fab = bmt$z8, mtx = bmt$z10),
  # small edge cases: events at time 0 and tied event/censoring; a curve flat at exactly 0.5
  tiny = data.frame(time = c(0, 0, 1, 2, 2, 3, 4), status = c(1, 0, 1, 1, 0, 0, 1)),
  flat_half = data.frame(time = c(1, 2, 2, 3, 4), status = c(0, 1, 1, 0, 1))
)
for (name in names(datasets)) {
  rownames(datasets[[name]]) <- NULL
  write.csv(datasets[[name]], file.path(data_dir, paste0(name, ".csv")), row.names = FALSE)
}
d <- datasets

# ---- Kaplan-Meier ---------------------------------------------------------------------------
km_case <- function(name, dataset, conf_type, times, weights = NULL, entry = FALSE, data = d[[dataset]]) {
  data$w <- if (is.null(weights)) 1 else weights(data)
  fit <- if (entry) {
    survfit(Surv(entry, time, status) ~ 1, data = data, conf.type = conf_type)
  } else if (is.null(weights)) {
    survfit(Surv(time, status) ~ 1, data = data, conf.type = conf_type)
  } else {
    # robust = FALSE: the weighted Greenwood variance. (For non-integer weights R's default is the
    # infinitesimal-jackknife variance, which blinareg does not implement.)
    survfit(Surv(time, status) ~ 1, data = data, weights = w, conf.type = conf_type, robust = FALSE)
  }
  tab <- summary(fit)$table
  s <- summary(fit, times = times, extend = TRUE)
  list(
    name = name, dataset = dataset, conf_type = conf_type,
    weights = if (is.null(weights)) NULL else "karno/10", entry = entry,
    time = fit$time, n_at_risk = fit$n.risk, n_events = fit$n.event, n_censored = fit$n.censor,
    survival = fit$surv, std_err = fit$std.err * fit$surv, lower = fit$lower, upper = fit$upper,
    median = unname(tab["median"]),
    median_lower = unname(tab[paste0(fit$conf.int, "LCL")]),
    median_upper = unname(tab[paste0(fit$conf.int, "UCL")]),
    at = list(times = s$time, survival = s$surv, std_err = s$std.err, lower = s$lower,
              upper = s$upper, n_at_risk = s$n.risk)
  )
}
karno_weights <- function(data) data$karno / 10
km <- list(
  km_case("aml log-log", "aml", "log-log", c(0, 5, 10, 30, 161, 200)),
  km_case("aml log", "aml", "log", c(0, 5, 10, 30, 161, 200)),
  km_case("aml plain", "aml", "plain", c(0, 5, 10, 30, 161, 200)),
  km_case("lung log-log", "lung", "log-log", c(0, 180, 365, 730, 1022, 2000)),
  km_case("lung log", "lung", "log", c(100, 365)),
  km_case("pbc log-log", "pbc", "log-log", c(365, 1825, 3650, 5000),
          data = transform(d$pbc, status = as.integer(status == 2))),
  km_case("veteran weighted log-log", "veteran", "log-log", c(0, 30, 100, 999, 1000),
          weights = karno_weights),
  km_case("veteran weighted plain", "veteran", "plain", c(30, 100), weights = karno_weights),
  km_case("channing entry log-log", "channing", "log-log", c(800, 900, 1000, 1100, 1200)),
  km_case("channing entry log", "channing", "log", c(900, 1000)),
  km_case("tiny event at time 0", "tiny", "log-log", c(0, 1, 2.5, 4, 10)),
  km_case("flat at one half", "flat_half", "log-log", c(1, 3, 5)),
  km_case("flat at one half log", "flat_half", "log", c(1, 3, 5))
)

# ---- median follow-up (reverse Kaplan-Meier) ---------------------------------------------------
followup_case <- function(dataset) {
  data <- d[[dataset]]
  fit <- survfit(Surv(time, 1 - status) ~ 1, data = data, conf.type = "log-log")
  tab <- summary(fit)$table
  list(dataset = dataset, median = unname(tab["median"]), lower = unname(tab["0.95LCL"]),
       upper = unname(tab["0.95UCL"]))
}
median_followup <- list(followup_case("aml"), followup_case("lung"), followup_case("veteran"))

# ---- log-rank / G-rho (survdiff) -----------------------------------------------------------------
logrank_case <- function(name, dataset, group, strata = NULL, rho = 0, data = d[[dataset]]) {
  data$g <- data[[group]]
  fit <- if (is.null(strata)) {
    survdiff(Surv(time, status) ~ g, data = data, rho = rho)
  } else {
    data$s <- data[[strata]]
    survdiff(Surv(time, status) ~ g + strata(s), data = data, rho = rho)
  }
  observed <- if (is.matrix(fit$obs)) rowSums(fit$obs) else fit$obs
  expected <- if (is.matrix(fit$exp)) rowSums(fit$exp) else fit$exp
  list(name = name, dataset = dataset, group = group, strata = strata, rho = rho,
       groups = sub("^g=", "", names(fit$n)), statistic = fit$chisq,
       df = sum(expected > 0) - 1, p_value = fit$pvalue, observed = observed,
       expected = expected, variance = fit$var)
}
logrank <- list(
  logrank_case("aml", "aml", "x"),
  logrank_case("lung sex", "lung", "sex"),
  logrank_case("veteran celltype (4 groups)", "veteran", "celltype"),
  logrank_case("lung sex stratified by ph_ecog", "lung", "sex", strata = "ph_ecog"),
  logrank_case("lung ph_ecog (4 groups) stratified by sex", "lung", "ph_ecog", strata = "sex"),
  logrank_case("ovarian rx rho=1", "ovarian", "rx", rho = 1),
  logrank_case("veteran trt rho=1 stratified by celltype", "veteran", "trt", strata = "celltype", rho = 1),
  logrank_case("veteran celltype rho=0.5", "veteran", "celltype", rho = 0.5),
  logrank_case("pbc edema (3 groups)", "pbc", "edema",
               data = transform(d$pbc, status = as.integer(status == 2)))
)

# ---- cumulative incidence (cmprsk::cuminc) --------------------------------------------------------
# CI on the log(-log) scale: F^exp(-+ z sqrt(var) / (F log F)), at the jump times of each curve.
cif_ci <- function(est, var, conf_level = 0.95) {
  z <- qnorm(1 - (1 - conf_level) / 2)
  half <- z * sqrt(var) / (est * log(est))
  list(lower = est^exp(-half), upper = est^exp(half))
}
cuminc_curves <- function(dataset, time, cause, group = NULL) {
  data <- d[[dataset]]
  fit <- if (is.null(group)) cuminc(data[[time]], data[[cause]]) else
    cuminc(data[[time]], data[[cause]], data[[group]])
  fit$Tests <- NULL
  out <- list()
  for (curve in names(fit)) {
    parts <- strsplit(curve, " ")[[1]]
    x <- fit[[curve]]
    # cmprsk returns step-function corners; the jump points are the odd interior positions.
    jumps <- seq(3, length(x$time) - 1, by = 2)
    jumps <- jumps[jumps <= length(x$time) - 1]
    ci <- cif_ci(x$est[jumps], x$var[jumps])
    grid <- sort(unique(c(0, quantile(data[[time]], c(0.1, 0.5, 0.9), names = FALSE),
                          max(data[[time]]), max(data[[time]]) + 1)))
    tp <- timepoints(fit[curve], grid)
    out[[length(out) + 1]] <- list(
      dataset = dataset, group = if (is.null(group)) NULL else group,
      level = if (is.null(group)) NULL else parts[1], cause = as.integer(parts[length(parts)]),
      corner_time = x$time, corner_estimate = x$est, corner_variance = x$var,
      jump_time = x$time[jumps], jump_estimate = x$est[jumps], jump_variance = x$var[jumps],
      jump_lower = ci$lower, jump_upper = ci$upper,
      at = list(times = grid, estimate = as.vector(tp$est), variance = as.vector(tp$var))
    )
  }
  out
}
cumulative_incidence <- c(
  cuminc_curves("bmt", "time", "cause"),
  cuminc_curves("bmt", "time", "cause", "group"),
  cuminc_curves("pbc", "time", "status"),
  cuminc_curves("pbc", "time", "status", "sex")
)

gray_case <- function(name, dataset, group, cause_col, strata = NULL, rho = 0) {
  data <- d[[dataset]]
  fit <- if (is.null(strata)) cuminc(data$time, data[[cause_col]], data[[group]], rho = rho) else
    cuminc(data$time, data[[cause_col]], data[[group]], strata = data[[strata]], rho = rho)
  tests <- fit$Tests
  lapply(rownames(tests), function(cause) list(
    name = name, dataset = dataset, group = group, strata = strata, rho = rho,
    cause = as.integer(cause), statistic = unname(tests[cause, "stat"]),
    df = unname(tests[cause, "df"]), p_value = unname(tests[cause, "pv"])))
}
gray <- c(
  gray_case("bmt group", "bmt", "group", "cause"),
  gray_case("bmt group stratified by mtx", "bmt", "group", "cause", strata = "mtx"),
  gray_case("bmt group rho=1", "bmt", "group", "cause", rho = 1),
  gray_case("bmt fab rho=0.5 stratified by group", "bmt", "fab", "cause", strata = "group", rho = 0.5),
  gray_case("pbc sex", "pbc", "sex", "status"),
  gray_case("pbc edema (3 groups)", "pbc", "edema", "status"),
  gray_case("pbc edema stratified by sex, rho=2", "pbc", "edema", "status", strata = "sex", rho = 2)
)

# ---- binomial confidence intervals -----------------------------------------------------------
binomial <- list()
for (xn in list(c(0, 10), c(10, 10), c(3, 17), c(57, 200), c(1, 1), c(499, 1000))) {
  for (level in c(0.95, 0.9)) {
    exact <- binom.test(xn[1], xn[2], conf.level = level)$conf.int
    wilson <- suppressWarnings(prop.test(xn[1], xn[2], conf.level = level, correct = FALSE))$conf.int
    binomial[[length(binomial) + 1]] <- list(x = xn[1], n = xn[2], conf_level = level,
                                             exact = as.vector(exact), wilson = as.vector(wilson))
  }
}

# ---- restricted mean survival time -------------------------------------------------------------
rmst_case <- function(dataset, tau, data = d[[dataset]]) {
  tab <- summary(survfit(Surv(time, status) ~ 1, data = data), rmean = tau)$table
  list(dataset = dataset, tau = tau, rmst = unname(tab["rmean"]), std_err = unname(tab["se(rmean)"]))
}
rmst <- list(
  rmst_case("aml", 30), rmst_case("aml", 48), rmst_case("aml", 161), rmst_case("aml", 200),
  rmst_case("lung", 365), rmst_case("lung", 1000), rmst_case("veteran", 180),
  rmst_case("tiny", 3.5)
)

reference <- list(
  generated_by = "tests/reference/make_reference_nonparametric.R",
  r_version = R.version.string,
  survival_version = as.character(packageVersion("survival")),
  cmprsk_version = as.character(packageVersion("cmprsk")),
  kaplan_meier = km, median_followup = median_followup, logrank = logrank,
  cumulative_incidence = cumulative_incidence, gray = gray, binomial = binomial, rmst = rmst
)
writeLines(toJSON(reference, digits = NA, auto_unbox = TRUE, na = "null", null = "null", pretty = FALSE),
           file.path(out_dir, "nonparametric.json"))
cat("wrote", file.path(out_dir, "nonparametric.json"), "\n")
