using Foresight.Core.Statistics;
using static Foresight.Core.Tests.Statistics.Obs;

namespace Foresight.Core.Tests.Statistics;

/// <summary>Expected values from R's wilcox.test(x, y, paired = TRUE, exact = FALSE, correct = TRUE).</summary>
public class WilcoxonTests
{
    [Fact]
    public void Matches_R_with_zeros_and_ties()
    {
        // x1 <- c(3,4,2,5,4,3,2,4,5,1,3,4); x2 <- c(4,4,3,5,5,4,2,5,4,2,4,5)
        // wilcox.test(x2, x1, paired=TRUE, exact=FALSE, correct=TRUE) -> V = 40, p-value = 0.023410596161116702
        double[] x1 = [3, 4, 2, 5, 4, 3, 2, 4, 5, 1, 3, 4], x2 = [4, 4, 3, 5, 5, 4, 2, 5, 4, 2, 4, 5];
        var w = WilcoxonSignedRank.Paired(x2, x1)!;
        Assert.Equal(9, w.NNonZero);
        Near(40, w.V); Near(0.023410596161116702, w.P, 1e-10);
    }

    [Fact]
    public void Matches_R_with_half_ranks()
    {
        // wilcox.test(c(2,1,5,4,8,9,7,12), c(1,2,3,4,5,6,7,8), paired=TRUE, exact=FALSE, correct=TRUE) -> V = 19.5, p = 0.073139799658908933
        var w = WilcoxonSignedRank.Paired([2, 1, 5, 4, 8, 9, 7, 12], [1, 2, 3, 4, 5, 6, 7, 8])!;
        Near(19.5, w.V); Near(0.073139799658908933, w.P, 1e-10);
    }

    [Fact]
    public void All_differences_zero_has_no_p_value()
    {
        // wilcox.test(c(1,2,3), c(1,2,3), paired=TRUE, exact=FALSE) -> V = 0, p-value NaN
        var w = WilcoxonSignedRank.Paired([1, 2, 3], [1, 2, 3])!;
        Assert.Equal(0, w.NNonZero);
        Assert.Equal(0, w.V);
        Assert.Null(w.P);
    }

    [Fact]
    public void No_pairs_is_undefined()
    {
        Assert.Null(WilcoxonSignedRank.Paired([], []));
    }

    [Fact]
    public void Stability_pairs_experts_who_answered_both_rounds()
    {
        double[] x1 = [3, 4, 2, 5, 4, 3, 2, 4, 5, 1, 3, 4], x2 = [4, 4, 3, 5, 5, 4, 2, 5, 4, 2, 4, 5];
        var r1 = Of(x1); var r2 = Of(x2);
        r1.Add(Observation.Of("only-round-1", 5));
        r2.Add(Observation.Of("only-round-2", 1));
        r2.Add(Observation.Skipped("e99"));
        var o = new ItemOptions();
        var s1 = ItemStatistics.Compute(r1, o); var s2 = ItemStatistics.Compute(r2, o);
        var st = Stability.Compute(r1, r2, s1, s2);
        Assert.Equal(12, st.NPairs);
        Near(75, st.PctChanged); // 9 of 12 changed
        Near(40, st.WilcoxonV); Near(0.023410596161116702, st.WilcoxonP, 1e-10);
        Near(s2.Cv!.Value - s1.Cv!.Value, st.DeltaCv);
        Near(s2.Iqr!.Value - s1.Iqr!.Value, st.DeltaIqr);
    }

    [Fact]
    public void Stability_without_pairs_is_null()
    {
        var o = new ItemOptions();
        var r1 = Of([1, 2]); var r2 = new List<Observation> { Observation.Of("other", 3) };
        var st = Stability.Compute(r1, r2, ItemStatistics.Compute(r1, o), ItemStatistics.Compute(r2, o));
        Assert.Equal(0, st.NPairs);
        Assert.Null(st.PctChanged); Assert.Null(st.WilcoxonV); Assert.Null(st.WilcoxonP);
        Assert.Null(st.DeltaCv); // one answer in round 2: no CV
    }
}
