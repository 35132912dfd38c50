using Foresight.Core.Statistics;
using static Foresight.Core.Tests.Statistics.Obs;

namespace Foresight.Core.Tests.Statistics;

/// <summary>
/// Expected values from R: W = 12 S / (m^2 (n^3 - n) - m T) with mid-ranks (irr::kendall(correct = TRUE)),
/// cross-checked with friedman.test(m)$statistic / (m (n - 1)), which agrees to all digits (Reference/statistics.R).
/// </summary>
public class KendallWTests
{
    static KendallResult W(params double[][] rows)
    {
        var items = Enumerable.Range(0, rows[0].Length).Select(i => $"t{i}").ToList();
        var values = rows.SelectMany((row, e) => row.Select((v, i) => ($"e{e}", $"t{i}", v)));
        return KendallW.Compute(items, values);
    }

    [Fact]
    public void Matches_R_without_ties()
    {
        // m <- rbind(c(1,2,3,4,5), c(2,1,3,5,4), c(1,3,2,4,5), c(1,2,4,3,5)) -> W 0.8125, chi2 13, p 0.011275793947331792
        var k = W([1, 2, 3, 4, 5], [2, 1, 3, 5, 4], [1, 3, 2, 4, 5], [1, 2, 4, 3, 5]);
        Near(0.8125, k.W); Near(13, k.Chi2); Assert.Equal(4, k.Df); Near(0.011275793947331792, k.P, 1e-10);
        Assert.Equal(4, k.NExperts); Assert.Equal(5, k.NItems);
    }

    [Fact]
    public void Matches_R_with_ties()
    {
        // m <- rbind(c(1,2,2,4,5), c(2,1,3,3,3), c(1,3,2,4,5)) -> W 0.793939393939393945, chi2 9.527272727272727337, p 0.049189859965287581
        var k = W([1, 2, 2, 4, 5], [2, 1, 3, 3, 3], [1, 3, 2, 4, 5]);
        Near(0.793939393939393945, k.W); Near(9.527272727272727337, k.Chi2); Near(0.049189859965287581, k.P, 1e-10);
    }

    [Fact]
    public void Identical_rankings_give_W_1()
    {
        // m <- rbind(c(1,2,3,4), c(1,2,3,4), c(1,2,3,4)) -> W 1, chi2 9, p 0.029290886534888233
        var k = W([1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4]);
        Near(1, k.W); Near(9, k.Chi2); Near(0.029290886534888233, k.P, 1e-10);
    }

    [Fact]
    public void Opposite_rankings_give_W_0()
    {
        // m <- rbind(c(1,2,3,4), c(4,3,2,1)) -> W 0, chi2 0, p 1
        var k = W([1, 2, 3, 4], [4, 3, 2, 1]);
        Near(0, k.W); Near(0, k.Chi2); Near(1, k.P);
    }

    [Fact]
    public void All_tied_is_undefined()
    {
        var k = W([2, 2, 2], [1, 1, 1]);
        Assert.Null(k.W); Assert.Null(k.P);
    }

    [Fact]
    public void One_item_is_undefined()
    {
        var k = W([1], [1]);
        Assert.Null(k.W);
        Assert.Equal(1, k.NItems);
    }

    [Fact]
    public void Incomplete_rankings_are_dropped_and_listed()
    {
        var items = new[] { "a", "b", "c" };
        var values = new List<(string, string, double)>
        {
            ("x", "a", 1), ("x", "b", 2), ("x", "c", 3),
            ("y", "a", 1), ("y", "b", 2), ("y", "c", 3),
            ("z", "a", 1), ("z", "c", 2),
        };
        var k = KendallW.Compute(items, values);
        Assert.Equal(["z"], k.ExpertsDropped);
        Assert.Equal(2, k.NExperts);
        Near(1, k.W);
    }
}
