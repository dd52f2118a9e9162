# Reference values for the ADaM export: R survival / cmprsk run on an ADTTE written by
# `blinareg export --format adam` (a fixed synthetic cohort), exactly as docs/adam.md tells a statistician.
#
# Run from the repository root:   Rscript tests/reference/make_reference_adam.R
# Needs: survival, cmprsk, jsonlite (Debian: r-cran-survival r-cran-cmprsk r-cran-jsonlite).
# Reads tests/reference/data/adam_adtte.csv and adam_adsl.csv (committed; synthetic patients only) and
# writes tests/reference/adam.json at full precision; tests/exchange/test_adam_reference.py compares
# blinareg.stats on the same ADTTE with these numbers, so the suite never needs R.

suppressPackageStartupMessages({
  library(survival)
  library(cmprsk)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
out_dir <- if (length(script)) dirname(normalizePath(script)) else "tests/reference"
data_dir <- file.path(out_dir, "data")

# Blank cells are missing; flags stay the text Y/N; dates are ISO and read with as.Date.
adtte <- read.csv(file.path(data_dir, "adam_adtte.csv"), stringsAsFactors = FALSE, na.strings = "")
adsl <- read.csv(file.path(data_dir, "adam_adsl.csv"), stringsAsFactors = FALSE, na.strings = "")
adtte$STARTDT <- as.Date(adtte$STARTDT)
adtte$ADT <- as.Date(adtte$ADT)
adtte <- merge(adtte, adsl[, c("USUBJID", "INDGRP")], by = "USUBJID", all.x = TRUE, sort = FALSE)

landmarks <- c(12, 24) * 365.25 / 12
checks <- list(
  rows = nrow(adtte),
  # AVAL is ADT - STARTDT in days: R's date arithmetic on the exported dates gives it back.
  max_abs_aval_minus_dates = max(abs(as.numeric(adtte$ADT - adtte$STARTDT) - adtte$AVAL)),
  flag_values = sort(unique(adtte$CMPEVFL)),
  competing_flag_matches_evtcode = all((adtte$CMPEVFL == "Y") == (adtte$EVTCODE == 2))
)

km_endpoints <- c("OS", "EFS", "DFS", "PROS")
cif_endpoints <- c("CIR", "NRM")
out <- list(checks = checks, landmarks_days = landmarks, km = list(), cif = list())

for (code in km_endpoints) {
  d <- adtte[adtte$PARAMCD == code, ]
  fit <- survfit(Surv(AVAL, CNSR == 0) ~ 1, data = d, conf.type = "log-log")
  s <- summary(fit, times = landmarks, extend = TRUE)
  tab <- summary(fit)$table
  groups <- d[!is.na(d$INDGRP), ]
  test <- survdiff(Surv(AVAL, CNSR == 0) ~ INDGRP, data = groups)
  out$km[[code]] <- list(
    n = nrow(d), events = sum(d$CNSR == 0),
    time = fit$time, n_risk = fit$n.risk, n_event = fit$n.event, surv = fit$surv,
    std_err = fit$std.err * fit$surv, lower = fit$lower, upper = fit$upper,
    landmark_surv = s$surv, landmark_lower = s$lower, landmark_upper = s$upper, landmark_n_risk = s$n.risk,
    median = unname(tab["median"]), median_lower = unname(tab["0.95LCL"]), median_upper = unname(tab["0.95UCL"]),
    logrank_groups = sort(unique(groups$INDGRP)), logrank_chisq = test$chisq,
    logrank_df = length(test$n) - 1, logrank_p = pchisq(test$chisq, length(test$n) - 1, lower.tail = FALSE)
  )
}

for (code in cif_endpoints) {
  d <- adtte[adtte$PARAMCD == code, ]
  fit <- cuminc(d$AVAL, d$EVTCODE, cencode = 0)
  one <- fit[["1 1"]]
  tp <- timepoints(fit, landmarks)
  groups <- d[!is.na(d$INDGRP), ]
  by_group <- cuminc(groups$AVAL, groups$EVTCODE, group = groups$INDGRP, cencode = 0)
  out$cif[[code]] <- list(
    n = nrow(d), events = sum(d$EVTCODE == 1), competing = sum(d$EVTCODE == 2),
    time = one$time, est = one$est, var = one$var,
    landmark_est = unname(tp$est["1 1", ]), landmark_var = unname(tp$var["1 1", ]),
    gray_groups = sort(unique(groups$INDGRP)),
    gray_stat = unname(by_group$Tests["1", "stat"]), gray_p = unname(by_group$Tests["1", "pv"]),
    gray_df = unname(by_group$Tests["1", "df"])
  )
}

writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), file.path(out_dir, "adam.json"))
cat("wrote", file.path(out_dir, "adam.json"), "\n")
