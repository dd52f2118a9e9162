# Landmark estimates after the last follow-up time, as R gives them with summary(..., extend = TRUE).
# Run from this folder: Rscript make_landmarks.R  (writes landmarks.json; the tests read only the JSON).
library(survival)
library(jsonlite)

landmarks <- c(12, 24) * 30.4375  # 12 and 24 months in days

km_case <- function(time, event) {
  fit <- survfit(Surv(time, event) ~ 1, conf.type = "log-log")
  s <- summary(fit, times = landmarks, extend = TRUE)
  list(time = time, event = event, landmarks_days = landmarks, surv = s$surv, n_risk = s$n.risk,
       lower = s$lower, upper = s$upper)
}

cif_case <- function(time, code) {
  fit <- survfit(Surv(time, factor(code, levels = 0:2)) ~ 1)
  s <- summary(fit, times = landmarks, extend = TRUE)
  cause1 <- which(fit$states == "1")
  list(time = time, code = code, landmarks_days = landmarks, cif_cause1 = s$pstate[, cause1],
       n_risk = s$n.risk[, 1])
}

out <- list(
  # Everyone died by day 300: after the last death the survival is 0, with nobody at risk.
  km_all_died = km_case(c(30, 60, 90, 200, 300), c(1, 1, 1, 1, 1)),
  # The last patient is censored at day 300: R carries the curve forward, but follow-up ends before
  # the landmark, so the report says "not estimable".
  km_last_censored = km_case(c(30, 60, 90, 200, 300), c(1, 1, 0, 1, 0)),
  # Follow-up beyond both landmarks: ordinary landmark values.
  km_long = km_case(c(30, 100, 400, 500, 800, 900), c(1, 0, 1, 0, 1, 0)),
  # Every patient had a relapse (1) or a competing death (2) by day 320: the incidence is final.
  cif_all_events = cif_case(c(40, 80, 150, 210, 320), c(1, 2, 1, 1, 2)),
  # The last patient is censored: the incidence after day 320 is not observed.
  cif_last_censored = cif_case(c(40, 80, 150, 210, 320), c(1, 2, 1, 1, 0))
)
write_json(out, "landmarks.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
