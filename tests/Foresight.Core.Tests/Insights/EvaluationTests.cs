using Foresight.Core.Insights;

namespace Foresight.Core.Tests.Insights;

public class AdjustedRandIndexTests
{
    static void Near(double expected, double actual) => Assert.True(Math.Abs(expected - actual) <= 1e-15, $"expected {expected:R}, got {actual:R}");

    [Fact]
    public void Identical_labelings_give_1() => Assert.Equal(1.0, Evaluation.AdjustedRandIndex([0, 0, 1, 1, 2, 2], [0, 0, 1, 1, 2, 2]));

    [Fact]
    public void Permuted_label_names_give_1() => Assert.Equal(1.0, Evaluation.AdjustedRandIndex([0, 0, 1, 1, 2], [2, 2, 0, 0, 7]));

    /// <summary>
    /// adjusted_rand_score([0, 0, 1, 1], [0, 0, 1, 2]). Contingency: row 0 = (2, 0, 0), row 1 = (0, 1, 1).
    /// Σ C(n_ij, 2) = 1; rows Σ C(a_i, 2) = 1 + 1 = 2; columns Σ C(b_j, 2) = 1; C(4, 2) = 6; E = 2 × 1 / 6 = 1/3;
    /// ARI = (1 - 1/3) / ((2 + 1) / 2 - 1/3) = (2/3) / (7/6) = 4/7. scikit-learn since 0.24 (pair-confusion form)
    /// prints 0.5714285714285714, older versions (the form above in floating point) 0.5714285714285715: one ulp apart.
    /// </summary>
    [Fact]
    public void Split_of_one_cluster_gives_4_7()
    {
        Near(4.0 / 7, Evaluation.AdjustedRandIndex([0, 0, 1, 1], [0, 0, 1, 2]));
        Near(0.5714285714285715, Evaluation.AdjustedRandIndex([0, 0, 1, 1], [0, 0, 1, 2]));
        // Symmetric.
        Near(4.0 / 7, Evaluation.AdjustedRandIndex([0, 0, 1, 2], [0, 0, 1, 1]));
    }

    /// <summary>All together against all apart: Σ C(n_ij, 2) = 0 = E, so the index is 0 (scikit-learn: 0.0).</summary>
    [Fact]
    public void All_together_against_all_apart_gives_0() => Assert.Equal(0.0, Evaluation.AdjustedRandIndex([0, 0, 0, 0], [0, 1, 2, 3]));

    /// <summary>
    /// adjusted_rand_score([0, 0, 1, 1], [0, 1, 0, 1]) = -0.5 (scikit-learn's docstring): every cell 1, Σ C(n_ij, 2) = 0,
    /// Σ C(a_i, 2) = Σ C(b_j, 2) = 2, E = 4 / 6; ARI = (0 - 2/3) / (2 - 2/3) = -0.5.
    /// </summary>
    [Fact]
    public void Crossed_labelings_are_negative() => Near(-0.5, Evaluation.AdjustedRandIndex([0, 0, 1, 1], [0, 1, 0, 1]));

    /// <summary>
    /// a = [0,0,0,1,1,1,2,2,2], b = [0,0,1,1,1,2,2,2,2]: rows (2,1,0), (0,2,1), (0,0,3).
    /// Σ C(n_ij, 2) = 1 + 1 + 3 = 5; Σ C(a_i, 2) = 3 × 3 = 9; b sizes 2, 3, 4: Σ C(b_j, 2) = 1 + 3 + 6 = 10; C(9, 2) = 36;
    /// E = 9 × 10 / 36 = 2.5; ARI = (5 - 2.5) / (9.5 - 2.5) = 5/14 = 0.35714285714285715.
    /// </summary>
    [Fact]
    public void Three_by_three_contingency_table() =>
        Near(5.0 / 14, Evaluation.AdjustedRandIndex([0, 0, 0, 1, 1, 1, 2, 2, 2], [0, 0, 1, 1, 1, 2, 2, 2, 2]));

    [Fact]
    public void Degenerate_inputs_give_1_as_scikit_learn()
    {
        Assert.Equal(1.0, Evaluation.AdjustedRandIndex([], []));
        Assert.Equal(1.0, Evaluation.AdjustedRandIndex([5], [3]));
        Assert.Equal(1.0, Evaluation.AdjustedRandIndex([0, 0, 0], [1, 1, 1]));
        Assert.Equal(1.0, Evaluation.AdjustedRandIndex([0, 1, 2], [2, 1, 0]));
    }

    [Fact]
    public void Lengths_must_match() => Assert.Throws<ArgumentException>(() => Evaluation.AdjustedRandIndex([0, 1], [0]));
}

public class DecisionShareTests
{
    [Fact]
    public void Shares_of_each_decision_and_kept()
    {
        var s = Evaluation.Shares(new DecisionCounts(Accepted: 6, Edited: 2, Merged: 1, Split: 1, Rejected: 2));
        Assert.Equal(12, s.Total);
        Assert.Equal(0.5, s.Accepted);
        Assert.Equal(2 / 12.0, s.Edited);
        Assert.Equal(1 / 12.0, s.Merged);
        Assert.Equal(1 / 12.0, s.Split);
        Assert.Equal(2 / 12.0, s.Rejected);
        Assert.Equal(10 / 12.0, s.Kept);
    }

    [Fact]
    public void Counts_from_a_list_of_decisions()
    {
        var c = DecisionCounts.Of([ReviewDecision.Accepted, ReviewDecision.Rejected, ReviewDecision.Accepted, ReviewDecision.Split]);
        Assert.Equal(new DecisionCounts(2, 0, 0, 1, 1), c);
        Assert.Equal(0.25, Evaluation.Shares(c).Rejected);
    }

    [Fact]
    public void No_decisions_give_no_shares()
    {
        var s = Evaluation.Shares(new DecisionCounts(0, 0, 0, 0, 0));
        Assert.Equal(0, s.Total);
        Assert.Null(s.Accepted);
        Assert.Null(s.Kept);
    }

    [Fact]
    public void Negative_counts_are_refused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Evaluation.Shares(new DecisionCounts(1, -1, 0, 0, 0)));
}
