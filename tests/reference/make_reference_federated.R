# Reference values for the federated stratified Cox model (blinareg.federated): survival::coxph with
# strata(center) on a small SYNTHETIC dataset (tests/reference/data/federated_cox.csv, generated once
# with NumPy: three centers, whole-day times with ties, x1 continuous, x2 binary).
#
# Run from the repository root:  Rscript tests/reference/make_reference_federated.R
# Writes tests/reference/federated.json (full precision).
suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})

data <- read.csv(file.path("tests", "reference", "data", "federated_cox.csv"))
fit <- coxph(Surv(t, e) ~ x1 + x2 + strata(center), data = data)  # ties = "efron", the default
breslow <- coxph(Surv(t, e) ~ x1 + x2 + strata(center), data = data, ties = "breslow")

describe <- function(model) {
  list(
    coef = unname(coef(model)),
    se = unname(sqrt(diag(vcov(model)))),
    variance = unname(vcov(model)),
    loglik = unname(model$loglik),
    iterations = model$iter
  )
}

out <- list(
  generated_by = "tests/reference/make_reference_federated.R",
  r_version = R.version.string,
  survival_version = as.character(packageVersion("survival")),
  model = "coxph(Surv(t, e) ~ x1 + x2 + strata(center))",
  efron = describe(fit),
  breslow = describe(breslow)
)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE),
           file.path("tests", "reference", "federated.json"))
