options(digits=17)
q7 <- function(x) { print(unname(quantile(x, c(.25,.5,.75), type=7))) }
cat("A\n"); x <- c(1,2,2,3,3,3,4,4,5,5,5); q7(x); print(mean(x)); print(sd(x)); print(sd(x)/mean(x)); print(mean(x %in% c(4,5))*100)
fam <- c(4,3,2,1,4,3,2,1,4,3,2); s <- (x-1)/4
print(100*mean(s)); print(100*sum(fam*s)/sum(fam)); print(100*mean(s[fam>=3]))
w <- c(`1`=0,`2`=0.5,`3`=0.75,`4`=1)[as.character(fam)]; print(100*sum(w*s)/sum(w))
cat("B n2\n"); q7(c(2,5)); print(sd(c(2,5)))
cat("year\n"); y <- c(2030,2035,2035,2040,2045,2050); q7(y); print(100*2/(6+2))
cat("rand bmj\n"); r <- c(4,5,6,rep(7,5),rep(8,5),9,9); print(median(r)); print(unname(quantile(r,c(.3,.7))))
cat("rand dis\n"); r <- c(1,1,2,2,5,8,8,9,9,9); print(median(r)); p <- unname(quantile(r,c(.3,.7))); print(p); ai <- abs(5-sum(p)/2); print(ai); print(2.35+1.5*ai)
cat("rand 0.8\n"); r <- c(1,2,3,4,5,6,7,8,9,9); print(unname(quantile(r,c(.3,.7))))
cat("wilcox\n")
x1 <- c(3,4,2,5,4,3,2,4,5,1,3,4); x2 <- c(4,4,3,5,5,4,2,5,4,2,4,5)
print(wilcox.test(x2, x1, paired=TRUE, exact=FALSE, correct=TRUE)[c("statistic","p.value")])
x1 <- c(1,2,3,4,5,6,7,8); x2 <- c(2,1,5,4,8,9,7,12)
print(wilcox.test(x2, x1, paired=TRUE, exact=FALSE, correct=TRUE)[c("statistic","p.value")])
print(wilcox.test(c(1,2,3), c(1,2,3), paired=TRUE, exact=FALSE, correct=TRUE)[c("statistic","p.value")])
cat("kendall\n")
kw <- function(m) { # rows: experts, cols: items
  rk <- t(apply(m, 1, rank)); n <- ncol(m); k <- nrow(m)
  Tj <- sum(apply(rk, 1, function(r) { t <- table(r); sum(t^3 - t) }))
  R <- colSums(rk); S <- sum((R - mean(R))^2)
  W <- 12*S/(k^2*(n^3-n) - k*Tj); chi <- k*(n-1)*W
  f <- friedman.test(m)
  print(c(W=W, chi2=chi, p=pchisq(chi, n-1, lower.tail=FALSE), friedman=unname(f$statistic)/(k*(n-1)), fp=f$p.value)) }
m <- rbind(c(1,2,3,4,5), c(2,1,3,5,4), c(1,3,2,4,5), c(1,2,4,3,5)); kw(m)
m <- rbind(c(1,2,2,4,5), c(2,1,3,3,3), c(1,3,2,4,5)); kw(m)
m <- rbind(c(1,2,3,4), c(1,2,3,4), c(1,2,3,4)); kw(m)
m <- rbind(c(1,2,3,4), c(4,3,2,1)); kw(m)
