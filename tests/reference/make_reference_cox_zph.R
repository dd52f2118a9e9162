# Reference values for blinareg.stats.cox_zph (survival::cox.zph, survival >= 3: the score test of
# beta(t) = beta + gamma * g(t), transform "km" by default).
#
# Run from the repository root:  Rscript tests/reference/make_reference_cox_zph.R
# Reads the data sets written by make_reference_regression.R (tests/reference/data/regression_*.csv)
# and writes tests/reference/cox_zph.json (full precision).
suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})

out_dir <- file.path("tests", "reference")
data_dir <- file.path(out_dir, "data")
read_data <- function(name) read.csv(file.path(data_dir, paste0("regression_", name, ".csv")))

# terms: a named list, term name -> the columns that form it (a factor's dummies form one term).
zph_case <- function(name, data, terms, ties = "efron", strata = NULL, transform = "km") {
  d <- read_data(data)
  columns <- unlist(terms, use.names = FALSE)
  # A term of several columns enters the formula as one matrix term, so cox.zph tests it jointly.
  rhs <- vapply(names(terms), function(term) {
    cols <- terms[[term]]
    if (length(cols) == 1) cols else {
      d[[term]] <<- as.matrix(d[, cols])
      term
    }
  }, character(1))
  rhs <- paste(rhs, collapse = " + ")
  if (!is.null(strata)) rhs <- paste0(rhs, " + strata(", strata, ")")
  f <- as.formula(paste("Surv(time, event) ~", rhs))
  fit <- coxph(f, data = d, ties = ties)
  z <- cox.zph(fit, transform = transform)
  tbl <- z$table
  list(name = name, data = paste0("regression_", data, ".csv"), formula = deparse(f),
       terms = lapply(terms, as.list), columns = columns, ties = ties, strata = strata,
       transform = transform,
       term_names = rownames(tbl)[-nrow(tbl)],
       chisq = unname(tbl[-nrow(tbl), "chisq"]), df = unname(tbl[-nrow(tbl), "df"]),
       p = unname(tbl[-nrow(tbl), "p"]),
       global = unname(tbl[nrow(tbl), ]),
       x = unname(z$x), time = unname(z$time))
}

cell <- list(celltype = c("cell_smallcell", "cell_adeno", "cell_large"))
cases <- list(
  zph_case("lung_multi_efron", "lung", list(age = "age", sex = "sex", ph_ecog = "ph_ecog", wt_loss = "wt_loss")),
  zph_case("lung_multi_breslow", "lung", list(age = "age", sex = "sex", ph_ecog = "ph_ecog", wt_loss = "wt_loss"),
           ties = "breslow"),
  zph_case("lung_strata_sex", "lung", list(age = "age", ph_ecog = "ph_ecog", wt_loss = "wt_loss"), strata = "sex"),
  zph_case("lung_identity", "lung", list(age = "age", sex = "sex"), transform = "identity"),
  zph_case("lung_rank", "lung", list(age = "age", sex = "sex"), transform = "rank"),
  zph_case("lung_log", "lung", list(age = "age", sex = "sex"), transform = "log"),
  zph_case("veteran_factor_term", "veteran", c(list(trt = "trt", karno = "karno", age = "age"), cell)),
  zph_case("veteran_factor_breslow", "veteran", c(list(karno = "karno", prior = "prior"), cell), ties = "breslow"),
  zph_case("veteran_strata_celltype", "veteran", list(trt = "trt", karno = "karno", age = "age"), strata = "celltype"),
  zph_case("ovarian_efron", "ovarian", list(age = "age", resid_ds = "resid_ds", rx = "rx", ecog_ps = "ecog_ps")),
  zph_case("pbc_efron", "pbc", list(age = "age", bili = "bili", albumin = "albumin", edema = "edema",
                                    protime = "protime"))
)

meta <- list(R = R.version.string, survival = as.character(packageVersion("survival")))
write_json(list(meta = meta, cox_zph = cases), file.path(out_dir, "cox_zph.json"),
           digits = NA, auto_unbox = TRUE, null = "null", pretty = TRUE)
cat("wrote", length(cases), "cox.zph references\n")
