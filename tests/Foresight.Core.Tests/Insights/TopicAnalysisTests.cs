using System.Diagnostics;
using Foresight.Core.Insights;

namespace Foresight.Core.Tests.Insights;

public class TopicAnalysisTests
{
    static readonly SyntheticCorpus.Corpus Corpus = SyntheticCorpus.Generate(new SyntheticCorpus.Options { Seed = 7 });
    static readonly TopicAnalysisResult KMeansResult = TopicAnalysis.Run(Corpus.Records, new ClusteringParameters { Seed = 3 }, fields: SyntheticCorpus.Fields);

    /// <summary>The cluster holding most records of a planted topic.</summary>
    static TopicCluster ClusterOf(TopicAnalysisResult result, string topic)
    {
        int t = Array.FindIndex(Corpus.Topics, x => x.Name == topic);
        var label = Enumerable.Range(0, Corpus.Records.Count).Where(i => Corpus.Truth[i] == t)
            .GroupBy(i => result.Clustering.Labels[i]).OrderByDescending(g => g.Count()).First().Key;
        return result.Clusters[label];
    }

    [Fact]
    public void KMeans_with_automatic_k_recovers_the_planted_topics()
    {
        double ari = Evaluation.AdjustedRandIndex(Corpus.Truth, KMeansResult.Clustering.Labels);
        Assert.True(ari > 0.8, $"ARI {ari}, k {KMeansResult.Clustering.K}");
        Assert.Equal(Corpus.Topics.Length, KMeansResult.Clustering.K);
        Assert.DoesNotContain(-1, KMeansResult.Clustering.Labels);
    }

    [Fact]
    public void Agglomerative_recovers_the_planted_topics()
    {
        var result = TopicAnalysis.Run(Corpus.Records, new ClusteringParameters { Method = ClusteringMethod.Agglomerative }, fields: SyntheticCorpus.Fields);
        double ari = Evaluation.AdjustedRandIndex(Corpus.Truth, result.Clustering.Labels);
        Assert.True(ari > 0.8, $"ARI {ari}, k {result.Clustering.K}");
    }

    [Fact]
    public void The_small_fast_growing_topic_is_the_only_weak_signal()
    {
        var weak = ClusterOf(KMeansResult, "neuromorphic");
        Assert.True(weak.WeakSignal, $"size {weak.Size}, growth {weak.GrowthRate}, threshold {KMeansResult.WeakSignalSizeThreshold}");
        Assert.True(weak.GrowthRate >= 0.3);
        Assert.Equal([weak.Id], KMeansResult.Clusters.Where(c => c.WeakSignal).Select(c => c.Id));
    }

    [Fact]
    public void The_topic_unlike_every_field_is_flagged_outside_and_only_it()
    {
        var outside = ClusterOf(KMeansResult, "deep-sea mining");
        Assert.True(outside.OutsideFields, $"similarity {outside.NearestFieldSimilarity}");
        Assert.Equal([outside.Id], KMeansResult.Clusters.Where(c => c.OutsideFields).Select(c => c.Id));
        Assert.Equal("energy", ClusterOf(KMeansResult, "batteries").NearestField);
        Assert.Equal("space", ClusterOf(KMeansResult, "satellites").NearestField);
        Assert.Equal("bio", ClusterOf(KMeansResult, "tcm").NearestField);
    }

    [Fact]
    public void Without_fields_nothing_is_outside()
    {
        var result = TopicAnalysis.Describe(Corpus.Records, TfIdfModel.Fit(Corpus.Records.Select(r => r.Text).ToList(), new ClusteringParameters().TfIdf),
            KMeansResult.Clustering);
        Assert.All(result.Clusters, c => { Assert.False(c.OutsideFields); Assert.Null(c.NearestField); });
    }

    [Fact]
    public void Labels_read_as_words_in_the_clusters_language_mix()
    {
        var batteries = ClusterOf(KMeansResult, "batteries").LabelTerms.Select(l => l.Display).ToList();
        // Stems are shown as their commonest word: batteri as "battery", electrolyt as "electrolyte".
        Assert.Contains("battery", batteries);
        Assert.Contains("electrolyte", batteries);
        Assert.DoesNotContain("batteri", batteries);
        Assert.DoesNotContain("electrolyt", batteries);
        Assert.Equal(8, batteries.Count);
        var hydrogen = ClusterOf(KMeansResult, "hydrogen").LabelTerms;
        // About a third of the hydrogen records are Chinese: some labels are Chinese, most are not.
        int zh = hydrogen.Count(l => Tokenizer.IsCjk(l.Display[0]));
        Assert.InRange(zh, 1, 4);
        Assert.Contains("hydrogen", hydrogen.Select(l => l.Display));
        Assert.All(ClusterOf(KMeansResult, "tcm").LabelTerms, l => Assert.True(Tokenizer.IsCjk(l.Display[0])));
        // Ordered by distinctiveness, which is positive.
        Assert.Equal(hydrogen.OrderByDescending(l => l.Distinctiveness).ToList(), hydrogen);
        Assert.All(hydrogen, l => Assert.True(l.Distinctiveness > 0));
    }

    [Fact]
    public void Words_common_to_every_cluster_label_none_and_the_planted_terms_do()
    {
        // Four topics with Chinese records written in Chinese throughout, so the general Chinese words (技术 and 发展
        // are the commonest) occur in every cluster, and the general English words in every cluster with English text.
        var corpus = SyntheticCorpus.Generate(new SyntheticCorpus.Options
            { Seed = 11, Only = ["batteries", "hydrogen", "satellites", "tcm"], ChineseAbstracts = true });
        // Described on the planted topics: a Chinese and an English record of one topic share no term, so k-means
        // splits these topics by language, which is not what this test is about.
        var parameters = new ClusteringParameters { K = 4 };
        var model = TfIdfModel.Fit(corpus.Records.Select(r => r.Text).ToList(), parameters.TfIdf);
        var result = TopicAnalysis.Describe(corpus.Records, model, new ClusteringResult(corpus.Truth, 4, null, [], 0, parameters));
        foreach (var c in result.Clusters)
            foreach (var common in new[] { "技术", "发展" })
                Assert.True(c.Members.Count(i => corpus.Records[i].Text.Contains(common)) >= c.Size / 10, $"{common} is not common to cluster {c.Id}");

        string[] Labels(int topic)
        {
            var members = Enumerable.Range(0, corpus.Records.Count).Where(i => corpus.Truth[i] == topic).ToList();
            return result.Clusters[result.Clustering.Labels[members[0]]].LabelTerms.Select(l => l.Display).ToArray();
        }
        var planted = new Dictionary<string, string[]>
        {
            ["batteries"] = ["battery", "electrolyte", "lithium"],
            ["hydrogen"] = ["hydrogen", "electrolysis", "氢能"],
            ["satellites"] = ["satellite", "orbit", "卫星"],
            ["tcm"] = ["中药", "方剂", "针灸", "经络"],
        };
        for (int t = 0; t < corpus.Topics.Length; t++)
        {
            var labels = Labels(t);
            Assert.Equal(8, labels.Length);
            foreach (var generic in new[] { "技术", "发展", "系统", "应用", "system", "performance", "development", "technology" })
                Assert.DoesNotContain(generic, labels);
            foreach (var term in planted[corpus.Topics[t].Name])
                Assert.Contains(term, labels);
        }
    }

    [Fact]
    public void Representatives_are_members_closest_to_the_centroid()
    {
        var model = TfIdfModel.Fit(Corpus.Records.Select(r => r.Text).ToList(), new ClusteringParameters().TfIdf);
        foreach (var c in KMeansResult.Clusters)
        {
            Assert.Equal(Math.Min(3, c.Size), c.Representatives.Count);
            Assert.All(c.Representatives, i => Assert.Contains(i, c.Members));
            var centroid = TopicAnalysis.Centroid(c.Members.Select(i => model.Vectors[i]), model.TermCount);
            var sims = c.Members.Select(i => model.Vectors[i].Dot(centroid)).OrderDescending().ToList();
            Assert.True(Math.Abs(sims[0] - model.Vectors[c.Representatives[0]].Dot(centroid)) < 1e-12);
        }
    }

    [Fact]
    public void Years_growth_and_countries_are_those_of_the_members()
    {
        var batteries = ClusterOf(KMeansResult, "batteries");
        Assert.Equal(batteries.Size, batteries.RecordsPerYear.Sum(y => y.Count));
        Assert.Equal(batteries.RecordsPerYear.OrderBy(y => y.Year).ToList(), batteries.RecordsPerYear);
        Assert.Equal(Growth.AnnualRate(batteries.Members.Select(i => Corpus.Records[i].Year), 2023, 5), batteries.GrowthRate);
        Assert.Equal(2023, KMeansResult.ReferenceYear);
        // Planted: the first country of each battery record is China, the US, Japan or South Korea, equally likely.
        Assert.Contains(batteries.Countries[0].Country, new[] { "China", "United States", "Japan", "South Korea" });
        var china = batteries.Countries.Single(c => c.Country == "China");
        int withChina = batteries.Members.Count(i => Corpus.Records[i].Countries.Contains("China"));
        Assert.Equal(withChina, china.Records);
        Assert.Equal(withChina / (double)batteries.Size, china.Share, 12);
        // Every TCM record lists China (some a second country as well).
        var tcm = ClusterOf(KMeansResult, "tcm").Countries[0];
        Assert.Equal(("China", 1.0), (tcm.Country, tcm.Share));
    }

    [Fact]
    public void Results_are_the_same_for_the_same_seed()
    {
        var again = TopicAnalysis.Run(Corpus.Records, new ClusteringParameters { Seed = 3 }, fields: SyntheticCorpus.Fields);
        Assert.Equal(KMeansResult.Clustering.Labels, again.Clustering.Labels);
        Assert.Equal(KMeansResult.Clusters.Select(c => c.LabelTerms.Count), again.Clusters.Select(c => c.LabelTerms.Count));
        Assert.Equal(3, KMeansResult.Clustering.Parameters.Seed);
    }

    [Fact]
    public void Records_without_any_vocabulary_term_are_left_unclustered()
    {
        var records = Corpus.Records.Take(300).Append(new LiteratureRecord { Title = "The of and", Year = 2020 }).ToList();
        var result = TopicAnalysis.Run(records, new ClusteringParameters { K = 4 });
        Assert.Equal(-1, result.Clustering.Labels[^1]);
        Assert.Equal(300, result.Clusters.Sum(c => c.Size));
    }

    [Fact]
    public void Results_serialize_to_json_and_parameters_round_trip()
    {
        // The server stores these as JSON: no infinities or NaNs, no cycles.
        var json = System.Text.Json.JsonSerializer.Serialize(KMeansResult);
        Assert.Contains("\"WeakSignal\":true", json);
        var p = KMeansResult.Clustering.Effective;
        Assert.Equal(p, System.Text.Json.JsonSerializer.Deserialize<ClusteringParameters>(System.Text.Json.JsonSerializer.Serialize(p)));
        Assert.Equal(KMeansResult.Options,
            System.Text.Json.JsonSerializer.Deserialize<DescriptorOptions>(System.Text.Json.JsonSerializer.Serialize(KMeansResult.Options)));
    }

    [Fact]
    public void No_records_no_topics()
    {
        var result = TopicAnalysis.Run([], fields: SyntheticCorpus.Fields);
        Assert.Empty(result.Clusters);
        Assert.Equal(0, result.Clustering.K);
        Assert.Null(result.ReferenceYear);
        Assert.Null(result.WeakSignalSizeThreshold);
    }

    [Fact]
    public void Records_without_years_have_no_growth_and_no_weak_signal()
    {
        var records = Corpus.Records.Take(200).Select(r => r with { Year = null }).ToList();
        var result = TopicAnalysis.Run(records, new ClusteringParameters { K = 3 });
        Assert.All(result.Clusters, c => { Assert.Null(c.GrowthRate); Assert.False(c.WeakSignal); Assert.Empty(c.RecordsPerYear); });
    }

    /// <summary>
    /// The whole pipeline on 2,000 records of ~150 words (automatic k over 2-12, three restarts each) finds the topics.
    /// Set INSIGHTS_TIMING_RECORDS to run another size; the time is written to the test output, not checked (a busy
    /// machine makes any bound wrong): InsightsBenchmark in tests/Foresight.Benchmarks measures it.
    /// </summary>
    [Fact]
    public void Two_thousand_records_cluster_into_their_topics()
    {
        int target = int.TryParse(Environment.GetEnvironmentVariable("INSIGHTS_TIMING_RECORDS"), out int n) ? n : 2_000;
        int perTopic = target * 100 / SyntheticCorpus.Topics.Sum(t => t.SizeFactor100);
        var corpus = SyntheticCorpus.Generate(new SyntheticCorpus.Options { Seed = 2, RecordsPerTopic = perTopic });
        var watch = Stopwatch.StartNew();
        var result = TopicAnalysis.Run(corpus.Records, new ClusteringParameters(), fields: SyntheticCorpus.Fields);
        watch.Stop();
        Console.WriteLine($"INSIGHTS TIMING: {corpus.Records.Count} records, k {result.Clustering.K}, vocabulary {result.VocabularySize}, " +
            $"{watch.Elapsed.TotalSeconds:F2} s, ARI {Evaluation.AdjustedRandIndex(corpus.Truth, result.Clustering.Labels):F3}");
        Assert.True(Evaluation.AdjustedRandIndex(corpus.Truth, result.Clustering.Labels) > 0.8);
    }
}

public class GrowthTests
{
    // R: y <- 2016:2020; exp(coef(lm(log(n + 1) ~ y))[2]) - 1
    [Theory]
    [InlineData(new[] { 1, 2, 4, 8, 16 }, 0.71236329728679482)]
    [InlineData(new[] { 10, 10, 10, 10, 10 }, 0.0)]
    [InlineData(new[] { 0, 0, 3, 0, 5 }, 0.43096908110526488)]
    [InlineData(new[] { 20, 15, 10, 5, 1 }, -0.43354519255880386)]
    public void Matches_R_log_linear_fit(int[] counts, double r)
    {
        var years = counts.SelectMany((c, i) => Enumerable.Repeat((int?)(2016 + i), c));
        Assert.True(Math.Abs(r - Growth.AnnualRate(years, 2020, 5)!.Value) < 1e-12);
    }

    [Fact]
    public void Years_outside_the_window_and_missing_years_are_ignored()
    {
        int?[] years = [1990, 2014, null, 2016, 2017, 2017, 2018, 2018, 2018, 2018, 2019, 2019, 2019, 2019, 2019, 2019, 2019, 2019, 2020, 2021];
        // Window 2016-2020 holds 1, 2, 4, 8, 1 records.
        var expected = Growth.AnnualRate([2016, 2017, 2017, 2018, 2018, 2018, 2018, .. Enumerable.Repeat((int?)2019, 8), 2020], 2020, 5);
        Assert.Equal(expected, Growth.AnnualRate(years, 2020, 5));
        Assert.Null(Growth.AnnualRate(years, 2020, 1));
    }
}
