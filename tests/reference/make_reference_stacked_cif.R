# Reference values for the stacked relapse / non-relapse mortality figure (report/figures.py), computed
# with R cmprsk (Aalen-Johansen cumulative incidence, cuminc + timepoints) and survival (all-cause
# Kaplan-Meier), on three small hand-made cohorts that end in different ways:
#   last_relapse  the last subject relapses, alone at risk: S(t_last) = 0, relapse + NRM reach 1
#   last_tied     the last time holds one relapse and one NRM death, both at risk: the sum reaches 1
#   last_censored the last subject is censored: the sum stays at 1 - S < 1, flat to the last time
# At every distinct time the stacked top (relapse + NRM) is 1 - S(t) (Aalen-Johansen), which is what
# tidycmprsk::ggcuminc draws per cause (its tidy() estimates at the observed times).
#
# Run from the repository root:   Rscript tests/reference/make_reference_stacked_cif.R
# Needs: survival, cmprsk, jsonlite. Writes tests/reference/stacked_cif.json at full precision.

for (package in c("survival", "cmprsk", "jsonlite")) {
  suppressPackageStartupMessages(library(package, character.only = TRUE))
}
# The folder of this script (Rscript passes it as --file=...), else run from the repository root.
file_arg <- grep("^--file=", commandArgs(trailingOnly = FALSE), value = TRUE)
out_dir <- if (length(file_arg)) dirname(normalizePath(sub("^--file=", "", file_arg))) else "tests/reference"

# cause: 0 censored, 1 relapse, 2 death without relapse (NRM); times in days
cohorts <- list(
  last_relapse = data.frame(
    time = c(30, 61, 61, 152, 183, 213, 244, 274, 304, 365),
    cause = c(1, 2, 0, 1, 0, 2, 1, 0, 2, 1)
  ),
  last_tied = data.frame(
    time = c(30, 61, 61, 152, 183, 213, 244, 274, 365, 365),
    cause = c(1, 2, 0, 1, 0, 2, 1, 0, 1, 2)
  ),
  last_censored = data.frame(
    time = c(30, 61, 61, 152, 183, 213, 244, 274, 304, 365),
    cause = c(1, 2, 0, 1, 0, 2, 1, 0, 2, 0)
  )
)

curve <- function(data) {
  times <- sort(unique(data$time))
  fit <- cuminc(data$time, data$cause)
  at <- timepoints(fit, times)$est  # rows "1 1" (relapse) and "1 2" (NRM)
  km <- survfit(Surv(time, cause > 0) ~ 1, data = data)
  list(
    time = data$time,
    cause = data$cause,
    times = times,
    relapse = unname(at[1, ]),
    nrm = unname(at[2, ]),
    survival = summary(km, times = times)$surv
  )
}

reference <- lapply(cohorts, curve)
reference$versions <- list(
  R = paste(R.version$major, R.version$minor, sep = "."),
  cmprsk = as.character(packageVersion("cmprsk")),
  survival = as.character(packageVersion("survival"))
)
write(toJSON(reference, digits = NA, auto_unbox = TRUE, pretty = TRUE), file.path(out_dir, "stacked_cif.json"))
