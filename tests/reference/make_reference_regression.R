# Reference values for blinareg.stats.cox_ph (survival::coxph) and fine_gray (cmprsk::crr).
#
# Run from the repository root:  Rscript tests/reference/make_reference_regression.R
# Writes tests/reference/data/regression_*.csv (the data used, so tests need no R) and
# tests/reference/regression.json (full precision). Every model is fitted on the data *re-read from
# the CSV*, so R and Python start from identical doubles.
suppressPackageStartupMessages({
  library(survival)
  library(cmprsk)
  library(jsonlite)
  library(KMsurv)
})

out_dir <- file.path("tests", "reference")
data_dir <- file.path(out_dir, "data")
dir.create(data_dir, showWarnings = FALSE, recursive = TRUE)

export <- function(df, name) {
  path <- file.path(data_dir, paste0("regression_", name, ".csv"))
  write.csv(df, path, row.names = FALSE)
  read.csv(path)
}

# ---- data sets ---------------------------------------------------------------------------------
lung_d <- na.omit(data.frame(time = lung$time, event = lung$status - 1, age = lung$age,
                             sex = lung$sex, ph_ecog = lung$ph.ecog, wt_loss = lung$wt.loss))
lung_d <- export(lung_d, "lung")

ovarian_d <- export(data.frame(time = ovarian$futime, event = ovarian$fustat, age = ovarian$age,
                               resid_ds = ovarian$resid.ds, rx = ovarian$rx, ecog_ps = ovarian$ecog.ps),
                    "ovarian")

vet <- veteran
veteran_d <- export(data.frame(time = vet$time, event = vet$status, trt = vet$trt, karno = vet$karno,
                               diagtime = vet$diagtime, age = vet$age, prior = vet$prior,
                               celltype = as.character(vet$celltype),
                               # factor covariate as treatment-contrast dummies (reference squamous)
                               cell_smallcell = as.integer(vet$celltype == "smallcell"),
                               cell_adeno = as.integer(vet$celltype == "adeno"),
                               cell_large = as.integer(vet$celltype == "large")),
                    "veteran")

pbc_d <- na.omit(data.frame(time = pbc$time, event = as.integer(pbc$status == 2), age = pbc$age,
                            bili = pbc$bili, albumin = pbc$albumin, edema = pbc$edema,
                            protime = pbc$protime)[1:312, ])
pbc_d <- export(pbc_d, "pbc")

colon_d <- na.omit(data.frame(id = colon$id, time = colon$time, event = colon$status,
                              etype = colon$etype,
                              rx_lev = as.integer(colon$rx == "Lev"),
                              rx_lev5fu = as.integer(colon$rx == "Lev+5FU"),
                              nodes = colon$nodes, age = colon$age, sex = colon$sex))
colon_d <- export(colon_d, "colon")

heart_d <- export(data.frame(id = heart$id, start = heart$start, stop = heart$stop, event = heart$event,
                             age = heart$age, year = heart$year, surgery = heart$surgery,
                             transplant = as.integer(as.character(heart$transplant))),
                  "heart")

# Left truncation with one row per subject: lung with a synthetic entry time (fixed seed).
set.seed(20240601)
lt_d <- lung_d
lt_d$entry <- round(runif(nrow(lt_d)) * pmin(lt_d$time - 1, 200))
lt_d$id <- seq_len(nrow(lt_d))
lt_d <- export(lt_d, "lung_truncated")

data(bmt, package = "KMsurv")
bmt_d <- export(data.frame(time = bmt$t2,
                           # 1 = relapse, 2 = death in remission, 0 = censored
                           event = ifelse(bmt$d2 == 1, 1L, ifelse(bmt$d1 == 1, 2L, 0L)),
                           age = bmt$z1, donor_age = bmt$z2, sex = bmt$z3, fab = bmt$z8, mtx = bmt$z10,
                           group_aml_low = as.integer(bmt$group == 2),
                           group_aml_high = as.integer(bmt$group == 3)),
                "bmt")

mg <- na.omit(mgus2[, c("age", "sex", "hgb", "mspike", "ptime", "pstat", "futime", "death")])
mgus_d <- export(data.frame(time = ifelse(mg$pstat == 0, mg$futime, mg$ptime),
                            # 1 = progression to plasma-cell malignancy, 2 = death first, 0 = censored
                            event = ifelse(mg$pstat == 0, 2L * mg$death, 1L),
                            age = mg$age, male = as.integer(mg$sex == "M"), hgb = mg$hgb,
                            mspike = mg$mspike),
                 "mgus2")

# Quasi-complete separation: every death has x1 = 1, so its coefficient diverges and R warns
# "Loglik converged before variable 1; coefficient may be infinite".
set.seed(1)
sep_n <- 120
sep_d <- data.frame(time = round(rexp(sep_n) * 100) + 1, x2 = round(rnorm(sep_n), 3))
sep_d$event <- rbinom(sep_n, 1, 0.6)
sep_d$x1 <- ifelse(sep_d$event == 1 | sep_d$time > 150, 1, 0)
sep_d$x1[sep_d$event == 0][1:20] <- 0
sep_d <- export(sep_d, "separation")

datasets <- list(separation = sep_d, lung = lung_d, ovarian = ovarian_d, veteran = veteran_d, pbc = pbc_d, colon = colon_d,
                 heart = heart_d, lung_truncated = lt_d, bmt = bmt_d, mgus2 = mgus_d)

# ---- Cox models --------------------------------------------------------------------------------
cox_case <- function(name, data, covariates, ties = "efron", strata = NULL, entry = NULL,
                     robust = FALSE, cluster = NULL, time = "time", event = "event") {
  d <- datasets[[data]]
  surv <- if (is.null(entry)) sprintf("Surv(%s, %s)", time, event)
          else sprintf("Surv(%s, %s, %s)", entry, time, event)
  rhs <- paste(covariates, collapse = " + ")
  if (!is.null(strata)) rhs <- paste0(rhs, " + strata(", strata, ")")
  if (!is.null(cluster)) rhs <- paste0(rhs, " + cluster(", cluster, ")")
  f <- as.formula(paste(surv, "~", rhs))
  warn <- NULL
  fit <- withCallingHandlers(
    if (robust) coxph(f, data = d, ties = ties, robust = TRUE) else coxph(f, data = d, ties = ties),
    warning = function(w) { warn <<- conditionMessage(w); invokeRestart("muffleWarning") })
  s <- summary(fit)
  v <- unname(fit$var)
  list(name = name, data = paste0("regression_", data, ".csv"), formula = deparse(f),
       covariates = covariates, time = time, event = event, entry = entry, strata = strata,
       cluster = cluster, ties = ties, robust = robust || !is.null(cluster),
       coef = unname(coef(fit)), se = unname(sqrt(diag(fit$var))),
       naive_se = if (is.null(fit$naive.var)) NULL else unname(sqrt(diag(fit$naive.var))),
       var = v, loglik = fit$loglik, iter = fit$iter, n = fit$n, nevent = fit$nevent,
       concordance = unname(fit$concordance["concordance"]),
       concordance_std = unname(fit$concordance["std"]),
       concordance_counts = unname(fit$concordance[1:5]),
       logtest = unname(s$logtest), sctest = unname(s$sctest),
       # summary() rounds the Wald statistic to 2 decimals; keep the unrounded fit$wald.test
       waldtest = c(unname(fit$wald.test), unname(s$waldtest[2:3])),
       robscore = if (is.null(s$robscore)) NULL else unname(s$robscore),
       hr_lower = unname(s$conf.int[, 3]), hr_upper = unname(s$conf.int[, 4]),
       p_value = unname(s$coefficients[, ncol(s$coefficients)]),
       warning = warn)
}

cox <- list(
  cox_case("lung_age_efron", "lung", c("age")),
  cox_case("lung_multi_efron", "lung", c("age", "sex", "ph_ecog", "wt_loss")),
  cox_case("lung_multi_breslow", "lung", c("age", "sex", "ph_ecog", "wt_loss"), ties = "breslow"),
  cox_case("lung_robust", "lung", c("age", "sex", "ph_ecog"), robust = TRUE),
  cox_case("lung_strata_sex", "lung", c("age", "ph_ecog", "wt_loss"), strata = "sex"),
  cox_case("ovarian_efron", "ovarian", c("age", "resid_ds", "rx", "ecog_ps")),
  cox_case("ovarian_breslow_age", "ovarian", c("age"), ties = "breslow"),
  cox_case("veteran_factor_efron", "veteran",
           c("trt", "karno", "diagtime", "age", "prior", "cell_smallcell", "cell_adeno", "cell_large")),
  cox_case("veteran_factor_breslow", "veteran",
           c("trt", "karno", "diagtime", "age", "prior", "cell_smallcell", "cell_adeno", "cell_large"),
           ties = "breslow"),
  cox_case("veteran_strata_celltype", "veteran", c("trt", "karno", "age"), strata = "celltype"),
  cox_case("pbc_efron", "pbc", c("age", "bili", "albumin", "edema", "protime")),
  cox_case("pbc_breslow_robust", "pbc", c("age", "bili", "albumin"), ties = "breslow", robust = TRUE),
  cox_case("colon_cluster_strata", "colon", c("rx_lev", "rx_lev5fu", "nodes", "age"),
           strata = "etype", cluster = "id"),
  cox_case("colon_cluster_breslow", "colon", c("rx_lev", "rx_lev5fu", "nodes"), ties = "breslow",
           cluster = "id"),
  cox_case("heart_counting_efron", "heart", c("age", "year", "surgery", "transplant"),
           entry = "start", time = "stop"),
  cox_case("heart_counting_breslow", "heart", c("age", "surgery", "transplant"), ties = "breslow",
           entry = "start", time = "stop"),
  cox_case("heart_counting_cluster", "heart", c("age", "year", "surgery", "transplant"),
           entry = "start", time = "stop", cluster = "id"),
  cox_case("lung_truncated_efron", "lung_truncated", c("age", "sex", "ph_ecog"), entry = "entry"),
  cox_case("separation_infinite_coef", "separation", c("x1", "x2")),
  cox_case("lung_truncated_strata_cluster", "lung_truncated", c("age", "ph_ecog"), entry = "entry",
           strata = "sex", cluster = "id")
)

# ---- Fine-Gray ---------------------------------------------------------------------------------
crr_case <- function(name, data, covariates, cause) {
  d <- datasets[[data]]
  fit <- crr(d$time, d$event, as.matrix(d[, covariates, drop = FALSE]), failcode = cause, cencode = 0)
  s <- summary(fit)
  list(name = name, data = paste0("regression_", data, ".csv"), covariates = covariates, cause = cause,
       coef = unname(fit$coef), se = unname(sqrt(diag(fit$var))), var = unname(fit$var),
       loglik = fit$loglik, loglik_null = fit$loglik.null, converged = fit$converged, n = fit$n,
       n_events = sum(d$event == cause),
       # summary.crr rounds p-values to 2 significant digits; keep full precision
       p_value = unname(2 * pnorm(-abs(fit$coef / sqrt(diag(fit$var))))), hr_lower = unname(s$conf.int[, 3]), hr_upper = unname(s$conf.int[, 4]))
}

fine_gray <- list(
  crr_case("bmt_age_cause1", "bmt", c("age"), 1),
  crr_case("bmt_multi_cause1", "bmt", c("age", "donor_age", "sex", "fab", "mtx", "group_aml_low",
                                         "group_aml_high"), 1),
  crr_case("bmt_multi_cause2", "bmt", c("age", "fab", "group_aml_low", "group_aml_high"), 2),
  crr_case("mgus2_age_cause1", "mgus2", c("age"), 1),
  crr_case("mgus2_multi_cause1", "mgus2", c("age", "male", "hgb", "mspike"), 1),
  crr_case("mgus2_multi_cause2", "mgus2", c("age", "male", "hgb"), 2)
)

meta <- list(R = R.version.string, survival = as.character(packageVersion("survival")),
             cmprsk = as.character(packageVersion("cmprsk")))
write_json(list(meta = meta, cox = cox, fine_gray = fine_gray), file.path(out_dir, "regression.json"),
           digits = NA, auto_unbox = TRUE, null = "null", pretty = TRUE)
cat("wrote", length(cox), "Cox and", length(fine_gray), "Fine-Gray references\n")
