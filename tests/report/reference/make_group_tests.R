# Table 1 P values (as gtsummary add_p, with the tests the report states): Fisher's exact test (2 x 2),
# Pearson's chi-square test without continuity correction (larger tables), Wilcoxon rank-sum test (normal
# approximation with continuity correction) for 2 groups, Kruskal-Wallis for more.
# Run from this folder: Rscript make_group_tests.R  (writes group_tests.json).
library(jsonlite)
two_by_two <- matrix(c(8, 2, 3, 7), nrow = 2)
three_by_two <- matrix(c(10, 6, 4, 5, 9, 12), nrow = 3)
x <- c(1.2, 3.4, 2.2, 5.1, 4.4, 2.2, 6.0, 3.3)
y <- c(4.1, 5.5, 6.2, 7.7, 5.5, 8.1, 6.6)
z <- c(2.0, 9.1, 7.4, 8.8, 6.5)
out <- list(
  two_by_two = list(table = two_by_two, p = fisher.test(two_by_two)$p.value),
  three_by_two = list(table = three_by_two, p = chisq.test(three_by_two, correct = FALSE)$p.value),
  wilcoxon = list(x = x, y = y, p = wilcox.test(x, y, exact = FALSE, correct = TRUE)$p.value),
  kruskal = list(x = x, y = y, z = z, p = kruskal.test(list(x, y, z))$p.value)
)
write_json(out, "group_tests.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
