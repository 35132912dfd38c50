using Foresight.Core.Insights;

namespace Foresight.Core.Tests.Insights;

public class ArgumentClusterTests
{
    static readonly Rationale[] Cost =
    [
        new("e01", "Manufacturing cost is still far too high for mass deployment."),
        new("e02", "The cost per kilowatt hour must fall before utilities buy it; costs are too high."),
        new("e03", "High production cost and expensive materials block commercial use."),
        new("e04", "Until the cost drops, no market will adopt this at scale."),
    ];

    static readonly Rationale[] Safety =
    [
        new("e05", "Safety regulation is unclear and approval will take years."),
        new("e06", "Regulators have no safety standard yet, so approval is slow."),
        new("e07", "Without safety standards and regulatory approval it cannot be sold."),
        new("e08", "Approval by the regulator depends on long safety trials."),
    ];

    static readonly Rationale[] Talent =
    [
        new("e09", "我国缺乏专业人才，人才培养跟不上。"),
        new("e10", "高端人才短缺是最大的障碍。"),
        new("e11", "人才队伍建设滞后，专业人才不足。"),
        new("e12", "缺少复合型人才和研发团队。"),
    ];

    [Fact]
    public void Mixed_chinese_and_english_rationales_group_by_argument()
    {
        // Interleaved, so input order does not give the answer away.
        var all = Enumerable.Range(0, 4).SelectMany(i => new[] { Cost[i], Talent[i], Safety[i] }).ToList();
        var result = ArgumentClusters.Group(all);
        Assert.Equal(3, result.Clusters.Count);
        var truth = all.Select(r => Cost.Contains(r) ? 0 : Safety.Contains(r) ? 1 : 2).ToArray();
        var found = all.Select(r => result.Clusters.Single(c => c.MemberIds.Contains(r.Id)).Id).ToArray();
        Assert.Equal(1.0, Evaluation.AdjustedRandIndex(truth, found));
        Assert.Equal(3, result.Parameters.K);
        Assert.Empty(result.Unclustered);

        var talent = result.Clusters.Single(c => c.MemberIds.Contains("e09"));
        Assert.Equal("人才", talent.LabelTerms[0].Display);
        var cost = result.Clusters.Single(c => c.MemberIds.Contains("e01"));
        Assert.Equal("cost", cost.LabelTerms[0].Display);
        foreach (var c in result.Clusters)
        {
            Assert.InRange(c.Quotes.Count, 1, 3);
            Assert.All(c.Quotes, q => Assert.Contains(q.Id, c.MemberIds));
        }
    }

    [Fact]
    public void Quotes_are_the_rationales_closest_to_the_centroid()
    {
        // Four on cost; e04 shares only "cost" with the others, so it is quoted last or not at all.
        var result = ArgumentClusters.Group(Cost, new ArgumentOptions { Quotes = 3 });
        var c = Assert.Single(result.Clusters);
        Assert.Equal(3, c.Quotes.Count);
        Assert.DoesNotContain(c.Quotes, q => q.Id == "e04");
    }

    [Fact]
    public void No_rationales()
    {
        var result = ArgumentClusters.Group([]);
        Assert.Empty(result.Clusters);
        Assert.Empty(result.Unclustered);
    }

    [Fact]
    public void One_rationale_is_one_cluster_quoting_it()
    {
        var c = Assert.Single(ArgumentClusters.Group([Safety[0]]).Clusters);
        Assert.Equal(Safety[0], Assert.Single(c.Quotes));
        Assert.Equal(["e05"], c.MemberIds);
    }

    [Fact]
    public void Two_rationales_are_one_argument_when_alike_and_two_when_not()
    {
        Assert.Single(ArgumentClusters.Group([Safety[1], Safety[2]]).Clusters);
        Assert.Single(ArgumentClusters.Group([Talent[0], Talent[2]]).Clusters);
        var apart = ArgumentClusters.Group([Cost[0], Safety[0]]);
        Assert.Equal(2, apart.Clusters.Count);
        Assert.All(apart.Clusters, c => Assert.Single(c.MemberIds));
    }

    [Fact]
    public void Rationales_with_no_terms_are_listed_apart()
    {
        var result = ArgumentClusters.Group([new Rationale("e20", "是的。"), new Rationale("e21", "?"), Cost[0], Cost[1]]);
        Assert.Equal(["e20", "e21"], result.Unclustered);
        Assert.Equal(["e01", "e02"], Assert.Single(result.Clusters).MemberIds);
    }
}
