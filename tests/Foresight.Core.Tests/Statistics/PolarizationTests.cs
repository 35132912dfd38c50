using Foresight.Core.Statistics;
using static Foresight.Core.Tests.Statistics.Obs;

namespace Foresight.Core.Tests.Statistics;

public class PolarizationTests
{
    static PolarizationResult P(double min, double max, params double[] x) =>
        ItemStatistics.Compute(Of(x), new ItemOptions { ScaleMin = min, ScaleMax = max }).Polarization!;

    [Fact]
    public void Two_camps_are_polarized()
    {
        var p = P(1, 5, 1, 1, 1, 1, 2, 4, 5, 5, 5, 5);
        Assert.True(p.Polarized);
        Near(50, p.LowPct); Near(50, p.HighPct);
        // library(e1071): (skewness(x,type=2)^2+1)/(kurtosis(x,type=2)+3*(n-1)^2/((n-2)*(n-3))) -> 0.50299922299922295
        // (scipy.stats skew/kurtosis with bias=False give 0.502999222999223)
        Near(0.50299922299922295, p.Bimodality, 1e-12);
        Assert.Null(p.MinoritySide); // equal camps: no minority
    }

    [Fact]
    public void Wide_unimodal_spread_is_not_polarized()
    {
        var p = P(1, 5, 1, 2, 2, 3, 3, 3, 4, 4, 5, 5, 5);
        Assert.False(p.Polarized);
        Near(0.3291619907689678, p.Bimodality, 1e-12); // scipy
    }

    [Fact]
    public void A_lone_outlier_is_a_minority_not_a_split()
    {
        var p = P(1, 5, 4, 4, 4, 4, 4, 4, 4, 4, 1);
        Assert.False(p.Polarized);
        Near(0.73684210526315763, p.Bimodality, 1e-12); // e1071: high BC, yet one camp holds 1 of 9
        Assert.Equal("low", p.MinoritySide);
        Near(100.0 / 9, p.MinorityPct); Near(1, p.MinorityMedian);
    }

    [Fact]
    public void Rand_scale_split_matches_the_classic_definition()
    {
        // RAND/UCLA classic: at least a third in 1-3 and at least a third in 7-9.
        Assert.True(P(1, 9, 1, 2, 3, 5, 7, 8, 9, 9, 9).Polarized);
        Assert.False(P(1, 9, 1, 2, 4, 5, 7, 8, 9, 9, 9).Polarized); // only 2 of 9 in 1-3
        var minority = P(1, 9, 1, 1, 1, 9, 9, 9, 9, 9, 9, 9);
        Assert.False(minority.Polarized); // 30 % in 1-3
        Near(0.665028665028665, minority.Bimodality, 1e-12); // scipy
        Assert.Equal("low", minority.MinoritySide);
        Near(30, minority.MinorityPct);
    }

    [Fact]
    public void Too_few_answers_are_not_polarized()
    {
        Assert.False(P(1, 5, 1, 5, 5).Polarized);
    }
}
