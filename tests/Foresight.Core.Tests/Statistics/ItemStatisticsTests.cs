using Foresight.Core.Statistics;
using static Foresight.Core.Tests.Statistics.Obs;

namespace Foresight.Core.Tests.Statistics;

/// <summary>Expected values from R 4.x; the R lines are in Reference/statistics.R and next to each value.</summary>
public class ItemStatisticsTests
{
    static readonly double[] A = [1, 2, 2, 3, 3, 3, 4, 4, 5, 5, 5];
    static readonly double[] FamA = [4, 3, 2, 1, 4, 3, 2, 1, 4, 3, 2];
    static readonly ItemOptions Likert5 = new() { ScaleMin = 1, ScaleMax = 5, Agree = [4, 5] };

    [Fact]
    public void Descriptives_match_R()
    {
        var s = ItemStatistics.Compute(Of(A, FamA), Likert5);
        Assert.Equal(11, s.N);
        // quantile(x, c(.25,.5,.75), type=7) -> 2.5 3.0 4.5
        Near(2.5, s.Q1); Near(3.0, s.Median); Near(4.5, s.Q3); Near(2.0, s.Iqr);
        Near(3.3636363636363638, s.Mean);      // mean(x)
        Near(1.3618169680781094, s.Sd);        // sd(x)
        Near(0.40486450402322172, s.Cv);       // sd(x)/mean(x)
        Near(45.454545454545453, s.PctAgree);  // mean(x %in% c(4,5))*100
        Near(1, s.Min); Near(5, s.Max);
        Near(0, s.PctNever);
    }

    [Fact]
    public void Importance_indices_match_R()
    {
        var s = ItemStatistics.Compute(Of(A, FamA), Likert5);
        // s <- (x-1)/4; 100*mean(s); 100*sum(fam*s)/sum(fam); 100*mean(s[fam>=3])
        Near(59.090909090909093, s.ImportanceIndex);
        Near(56.896551724137929, s.ImportanceIndexFamW);
        Near(54.166666666666664, s.ImportanceIndexFamGe3);

        // weights 1:0, 2:0.5, 3:0.75, 4:1 -> 100*sum(w*s)/sum(w)
        var weighted = ItemStatistics.Compute(Of(A, FamA), Likert5 with
        {
            FamiliarityWeight = f => f switch { 1 => 0, 2 => 0.5, 3 => 0.75, _ => 1 },
        });
        Near(56.481481481481481, weighted.ImportanceIndexFamW);
    }

    [Fact]
    public void No_answers_gives_nulls()
    {
        var s = ItemStatistics.Compute([], Likert5);
        Assert.Equal(0, s.N);
        Assert.Null(s.Median); Assert.Null(s.Q1); Assert.Null(s.Iqr); Assert.Null(s.Mean); Assert.Null(s.Sd);
        Assert.Null(s.Cv); Assert.Null(s.PctAgree); Assert.Null(s.PctNever); Assert.Null(s.ImportanceIndex);
        Assert.Empty(s.Distribution);
    }

    [Fact]
    public void Everything_skipped_counts_skips_only()
    {
        var s = ItemStatistics.Compute([Observation.Skipped("a"), Observation.Skipped("b"), Observation.DontKnow("c")], Likert5);
        Assert.Equal(0, s.N);
        Assert.Equal(2, s.NSkip);
        Assert.Equal(1, s.NDontKnow);
        Assert.Null(s.Median);
        Assert.Null(s.PctNever);
    }

    [Fact]
    public void One_answer_has_no_spread()
    {
        var s = ItemStatistics.Compute(Of([3]), Likert5);
        Assert.Equal(1, s.N);
        Near(3, s.Median); Near(3, s.Q1); Near(3, s.Q3); Near(0, s.Iqr); Near(3, s.Mean);
        Assert.Null(s.Sd);
        Assert.Null(s.Cv);
        Near(0, s.PctAgree);
        Near(50, s.ImportanceIndex);
    }

    [Fact]
    public void Two_answers_match_R()
    {
        var s = ItemStatistics.Compute(Of([2, 5]), Likert5);
        // quantile(c(2,5), c(.25,.5,.75)) -> 2.75 3.50 4.25; sd(c(2,5)) -> 2.1213203435596424
        Near(2.75, s.Q1); Near(3.5, s.Median); Near(4.25, s.Q3);
        Near(2.1213203435596424, s.Sd);
        Near(2.1213203435596424 / 3.5, s.Cv);
    }

    [Fact]
    public void Identical_answers_have_zero_spread()
    {
        var s = ItemStatistics.Compute(Of([4, 4, 4, 4]), Likert5);
        Near(4, s.Median); Near(0, s.Iqr); Near(0, s.Sd); Near(0, s.Cv); Near(100, s.PctAgree);
        Assert.False(s.Polarization!.Polarized);
        Assert.Null(s.Polarization.Bimodality); // undefined without variance
        Assert.Equal([new ValueCount(4, 4)], s.Distribution);
    }

    [Fact]
    public void Zero_mean_has_no_cv()
    {
        var s = ItemStatistics.Compute(Of([-1, 1]), new ItemOptions());
        Near(0, s.Mean);
        Assert.Null(s.Cv);
    }

    [Fact]
    public void Years_exclude_never_and_report_its_share()
    {
        var obs = Of([2030, 2035, 2035, 2040, 2045, 2050]);
        obs.Add(Observation.Never("n1"));
        obs.Add(Observation.Never("n2"));
        obs.Add(Observation.DontKnow("d1"));
        obs.Add(Observation.Skipped("s1"));
        var s = ItemStatistics.Compute(obs, ItemOptions.For(ItemKind.Year));
        Assert.Equal(6, s.N); Assert.Equal(2, s.NNever); Assert.Equal(1, s.NDontKnow); Assert.Equal(1, s.NSkip);
        // quantile(c(2030,2035,2035,2040,2045,2050), c(.25,.5,.75)) -> 2035.00 2037.50 2043.75
        Near(2035, s.Q1); Near(2037.5, s.Median); Near(2043.75, s.Q3);
        Near(25, s.PctNever); // 100 * 2 / (6 + 2)
        Assert.Null(s.ImportanceIndex);
        Assert.Null(s.Polarization);
    }

    [Fact]
    public void Distribution_counts_each_value()
    {
        var s = ItemStatistics.Compute(Of(A), Likert5);
        Assert.Equal([new ValueCount(1, 1), new ValueCount(2, 2), new ValueCount(3, 3), new ValueCount(4, 2), new ValueCount(5, 3)], s.Distribution);
    }

    [Fact]
    public void Agreement_uses_tolerance()
    {
        var s = ItemStatistics.Compute(Of([0.1 + 0.2, 0.3]), new ItemOptions { Agree = [0.3] });
        Near(100, s.PctAgree);
    }
}
