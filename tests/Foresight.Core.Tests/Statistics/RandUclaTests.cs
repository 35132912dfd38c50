using Foresight.Core.Statistics;
using static Foresight.Core.Tests.Statistics.Obs;

namespace Foresight.Core.Tests.Statistics;

public class RandUclaTests
{
    static ItemSummary Rate(params double[] x) => ItemStatistics.Compute(Of(x), ItemOptions.For(ItemKind.Rand9));

    /// <summary>
    /// BMJ Open 2012;2:e001431, Table 1: 15 panellists rated criterion one 4 x1, 5 x1, 6 x1, 7 x5, 8 x5, 9 x2.
    /// The paper: median 7.0, 30th percentile 7.0, 70th 8.0, IPR 1.0, IPRCP 7.5, AI 2.5, IPRAS 6.1, no disagreement.
    /// </summary>
    [Fact]
    public void Bmj_open_table_1_worked_example()
    {
        var s = Rate(4, 5, 6, 7, 7, 7, 7, 7, 8, 8, 8, 8, 8, 9, 9);
        var r = s.Rand!;
        Near(7, s.Median);
        Near(7, r.P30); Near(8, r.P70); Near(1, r.Ipr); Near(2.5, r.Ai); Near(6.1, r.Ipras);
        Assert.False(r.Disagreement);
        Assert.Equal(RandUcla.Appropriate, r.RandClass);
    }

    [Fact]
    public void Spread_ratings_are_in_disagreement_and_uncertain()
    {
        // r <- c(1,1,2,2,5,8,8,9,9,9); median(r) -> 6.5; quantile(r, c(.3,.7)) -> 2.0 8.3; AI 0.15; IPRAS 2.575
        var s = Rate(1, 1, 2, 2, 5, 8, 8, 9, 9, 9);
        var r = s.Rand!;
        Near(6.5, s.Median);
        Near(2.0, r.P30); Near(8.3000000000000007, r.P70);
        Near(0.15000000000000036, r.Ai, 1e-9); Near(2.5750000000000006, r.Ipras);
        Assert.True(r.Disagreement);
        Assert.Equal(RandUcla.Uncertain, r.RandClass);
    }

    [Fact]
    public void Low_median_without_disagreement_is_inappropriate()
    {
        var r = Rate(1, 2, 2, 2, 3, 3, 3, 4).Rand!;
        Assert.False(r.Disagreement);
        Assert.Equal(RandUcla.Inappropriate, r.RandClass);
    }

    [Fact]
    public void Median_of_exactly_4_is_uncertain()
    {
        Assert.Equal(RandUcla.Uncertain, Rate(3, 4, 4, 5).Rand!.RandClass);
    }

    [Fact]
    public void Ipr_threshold_uses_tolerance()
    {
        // quantile(c(1,2,3,4,5,6,7,8,9,9), c(.3,.7)) -> 3.6999999999999997 7.2999999999999998: the IPR is 3.6 up to rounding.
        var r = Rate(1, 2, 3, 4, 5, 6, 7, 8, 9, 9).Rand!;
        Near(3.6, r.Ipr, 1e-9);
        Assert.True(Tolerance.LessOrEqual(0.7999999999999989, 0.8));
        Assert.False(Tolerance.Greater(0.8000000000000002, 0.8));
        Assert.True(Tolerance.Greater(0.81, 0.8));
    }
}
