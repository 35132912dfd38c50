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

    // The same three arguments in the other language, written as a Chinese or English expert would, not word for word.
    static readonly Rationale[] CostZh =
    [
        new("z01", "制造成本仍然太高，无法大规模推广。"),
        new("z02", "每千瓦时的成本必须下降，电力公司才会采购；费用太高。"),
        new("z03", "生产成本高、材料昂贵，阻碍商业应用。"),
        new("z04", "成本降下来之前，市场不会大规模采用。"),
    ];

    static readonly Rationale[] SafetyZh =
    [
        new("z05", "安全监管不明确，审批需要多年。"),
        new("z06", "监管机构还没有安全标准，审批很慢。"),
        new("z07", "没有安全标准和监管审批就无法销售。"),
        new("z08", "监管部门的审批取决于长期的安全试验。"),
    ];

    static readonly Rationale[] TalentEn =
    [
        new("z09", "We lack skilled talent and training cannot keep up."),
        new("z10", "Too few engineers with the right skills."),
        new("z11", "Talent is scarce: the workforce is small and specialised personnel hard to hire."),
        new("z12", "Research teams lack talent with both hardware and software skills."),
    ];

    static (double Ari, ArgumentClustering Result) Bilingual(bool concepts)
    {
        Rationale[][] arguments = [[.. Cost, .. CostZh], [.. Safety, .. SafetyZh], [.. Talent, .. TalentEn]];
        var all = Enumerable.Range(0, 8).SelectMany(i => arguments.Select(a => a[i])).ToList();
        var result = ArgumentClusters.Group(all, new ArgumentOptions { BilingualConcepts = concepts });
        var truth = all.Select(r => Array.FindIndex(arguments, a => a.Contains(r))).ToArray();
        var found = all.Select(r => result.Clusters.Single(c => c.MemberIds.Contains(r.Id)).Id).ToArray();
        return (Evaluation.AdjustedRandIndex(truth, found), result);
    }

    [Fact]
    public void The_same_argument_in_chinese_and_english_is_one_cluster_through_the_concept_list()
    {
        var (ari, result) = Bilingual(concepts: true);
        Assert.Equal(1.0, ari);
        Assert.Equal(3, result.Clusters.Count);
        // Labels and quotes stay in the words written: both languages among the cost cluster's labels.
        var cost = result.Clusters.Single(c => c.MemberIds.Contains("e01")).LabelTerms.Select(l => l.Display).ToList();
        Assert.Contains("cost", cost);
        Assert.Contains("成本", cost);
        Assert.DoesNotContain(cost, l => l.StartsWith('#'));
    }

    [Fact]
    public void Without_the_concept_list_each_language_is_apart()
    {
        var (ari, result) = Bilingual(concepts: false);
        Assert.True(ari < 0.7, $"ARI {ari}");
        Assert.True(result.Clusters.Count >= 6, $"{result.Clusters.Count} clusters");
        // No cluster mixes the languages.
        var chinese = Cost.Concat(CostZh).Concat(Safety).Concat(SafetyZh).Concat(Talent).Concat(TalentEn)
            .ToDictionary(r => r.Id, r => TopicAnalysis.ChineseLetterShare(r.Text) > 0.5);
        Assert.All(result.Clusters, c => Assert.Single(c.MemberIds.Select(id => chinese[id]).Distinct()));
    }

    [Fact]
    public void Concepts_replace_listed_words_in_either_language()
    {
        var tokenizer = new Tokenizer();
        List<string> Terms(string text)
        {
            var tokens = tokenizer.Tokenize(text);
            RationaleConcepts.Rewrite(tokens);
            return tokens.Select(t => t.Term).ToList();
        }
        Assert.Equal(["#regulation", "#safety", "#standards", "want"], Terms("Regulators want safety standards").Order(StringComparer.Ordinal));
        // 基础设施 is taken whole, not as 设施 with a stray 基础; the bigram straddling its end (施建) goes with it.
        Assert.Equal(["#infrastructure", "建设", "滞后", "设滞"], Terms("基础设施建设滞后").Order(StringComparer.Ordinal));
        Assert.Equal(["#cost", "太高", "生产"], Terms("生产成本太高").Order(StringComparer.Ordinal));
        // Two listed words in a row: the bigram between them (全监) goes, both concepts stay.
        Assert.Equal(["#safety", "#regulation"], Terms("安全监管"));
        Assert.Equal(["#supply-chain", "不稳", "稳定"], Terms("供应链不稳定"));
        // Words not listed, and look-alikes, are left alone: "important" is not "import", 投入使用 is not funding.
        Assert.Equal(["import", "manufactur"], Terms("important manufacturing").Order(StringComparer.Ordinal));
        Assert.DoesNotContain(Terms("尽快投入使用"), t => t.StartsWith('#'));
        // Every listed word reaches its concept.
        foreach (var c in RationaleConcepts.All)
            foreach (var word in c.English.Concat(c.Chinese))
                Assert.Equal([c.Term], Terms(word));
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
