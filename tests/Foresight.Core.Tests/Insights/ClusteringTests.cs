using Foresight.Core.Insights;

namespace Foresight.Core.Tests.Insights;

public class ClusteringTests
{
    /// <summary>A unit vector from dense values.</summary>
    internal static SparseVector Vec(params double[] x) =>
        TfIdfModel.Normalized(x.Select((v, i) => (i, v)).Where(p => p.v != 0).ToList());

    /// <summary>
    /// Seven points; R:
    /// X &lt;- rbind(c(1,.2,0,0), c(.9,.1,.1,0), c(.8,.3,0,.1), c(0,.1,1,.2), c(.1,0,.9,.3), c(0,.2,.3,1), c(.5,.5,.5,0));
    /// X &lt;- X / sqrt(rowSums(X^2)); D &lt;- as.dist(1 - X %*% t(X)); h &lt;- hclust(D, "average")
    /// </summary>
    static readonly SparseVector[] Seven =
    [
        Vec(1, .2, 0, 0), Vec(.9, .1, .1, 0), Vec(.8, .3, 0, .1), Vec(0, .1, 1, .2), Vec(.1, 0, .9, .3), Vec(0, .2, .3, 1), Vec(.5, .5, .5, 0),
    ];

    [Fact]
    public void Average_linkage_heights_match_R_hclust()
    {
        // h$height
        double[] r = [0.0097790475078796124, 0.017899601317349245, 0.0313483393834737, 0.29508848106696339, 0.48025623809365825, 0.80019038623334648];
        var merges = AverageLinkage.Merges(Seven, 4);
        Assert.Equal(r.Length, merges.Length);
        for (int i = 0; i < r.Length; i++) Assert.True(Math.Abs(r[i] - merges[i].Height) < 1e-12, $"merge {i}: {merges[i].Height:R} vs {r[i]:R}");
    }

    [Theory]
    // cutree(h, k)
    [InlineData(2, new[] { 1, 1, 1, 2, 2, 2, 1 })]
    [InlineData(3, new[] { 1, 1, 1, 2, 2, 3, 1 })]
    [InlineData(4, new[] { 1, 1, 1, 2, 2, 3, 4 })]
    public void Average_linkage_cuts_match_R_cutree(int k, int[] r)
    {
        var result = Clustering.Cluster(Seven, new ClusteringParameters { Method = ClusteringMethod.Agglomerative, K = k });
        Assert.Equal(k, result.K);
        Assert.Equal(1.0, Evaluation.AdjustedRandIndex(r, result.Labels));
    }

    [Theory]
    // library(cluster); mean(silhouette(cutree(h, k), D)[, "sil_width"])
    [InlineData(new[] { 0, 0, 0, 1, 1, 1, 0 }, 0.68951558961519044)]
    [InlineData(new[] { 0, 0, 0, 1, 1, 2, 0 }, 0.68091865619727032)]
    [InlineData(new[] { 0, 0, 0, 1, 1, 2, 3 }, 0.66495990258199345)]
    // An arbitrary labeling with a misplaced point: mean(silhouette(c(1,1,2,2,2,3,1), D)[, "sil_width"])
    [InlineData(new[] { 0, 0, 1, 1, 1, 2, 0 }, 0.10778730260160295)]
    public void Silhouette_matches_R_cluster_package(int[] labels, double r)
    {
        var s = Silhouette.Mean(Seven, labels);
        Assert.True(Math.Abs(r - s!.Value) < 1e-12, $"{s:R} vs {r:R}");
    }

    [Fact]
    public void Silhouette_is_undefined_for_one_cluster_or_all_singletons()
    {
        Assert.Null(Silhouette.Mean(Seven, [0, 0, 0, 0, 0, 0, 0]));
        Assert.Null(Silhouette.Mean(Seven, [0, 1, 2, 3, 4, 5, 6]));
    }

    [Fact]
    public void Automatic_k_takes_the_best_silhouette_and_reports_each_k()
    {
        var result = Clustering.Cluster(Seven, new ClusteringParameters { Method = ClusteringMethod.Agglomerative, KMin = 2, KMax = 4 });
        Assert.Equal(2, result.K);
        Assert.Equal([2, 3, 4], result.Scores.Select(s => s.K));
        Assert.True(Math.Abs(0.68951558961519044 - result.Silhouette!.Value) < 1e-12);
        Assert.True(Math.Abs(0.68091865619727032 - result.Scores[1].Silhouette!.Value) < 1e-12);
    }

    [Fact]
    public void KMeans_recovers_separated_groups_whatever_the_seed()
    {
        foreach (var seed in new long[] { 1, 2, 3, 42, -7 })
        {
            var result = Clustering.Cluster(Seven.Take(6).ToList(), new ClusteringParameters { K = 3, Seed = seed });
            Assert.Equal(1.0, Evaluation.AdjustedRandIndex([0, 0, 0, 1, 1, 2], result.Labels));
        }
    }

    [Fact]
    public void Clusters_are_numbered_by_size_and_zero_vectors_left_out()
    {
        var points = new[] { Vec(0, 0, 1), Vec(1, 0, 0), SparseVector.Empty, Vec(1, .1, 0), Vec(.9, 0, .05) };
        foreach (var method in new[] { ClusteringMethod.KMeans, ClusteringMethod.Agglomerative })
        {
            var result = Clustering.Cluster(points, new ClusteringParameters { K = 2, Method = method });
            Assert.Equal([1, 0, -1, 0, 0], result.Labels);
        }
    }

    [Fact]
    public void KMeans_is_reproducible_for_a_seed()
    {
        var corpus = SyntheticCorpus.Generate(new SyntheticCorpus.Options { Seed = 5, RecordsPerTopic = 40 });
        var vectors = TfIdfModel.Fit(corpus.Records.Select(r => r.Text).ToList(), new TfIdfOptions(2, 0.8)).Vectors;
        var p = new ClusteringParameters { K = 6, Seed = 11 };
        Assert.Equal(Clustering.Cluster(vectors, p).Labels, Clustering.Cluster(vectors, p).Labels);
    }

    [Fact]
    public void The_effective_parameters_repeat_an_automatic_clustering()
    {
        var corpus = SyntheticCorpus.Generate(new SyntheticCorpus.Options { Seed = 8, RecordsPerTopic = 30 });
        var vectors = TfIdfModel.Fit(corpus.Records.Select(r => r.Text).ToList(), new TfIdfOptions(2, 0.8)).Vectors;
        foreach (var method in new[] { ClusteringMethod.KMeans, ClusteringMethod.Agglomerative })
        {
            var auto = Clustering.Cluster(vectors, new ClusteringParameters { Method = method, Seed = 4 });
            Assert.Null(auto.Parameters.K);
            Assert.Equal(auto.K, auto.Effective.K);
            Assert.Equal(auto.Labels, Clustering.Cluster(vectors, auto.Effective).Labels);
        }
    }

    [Fact]
    public void Small_inputs()
    {
        Assert.Equal(0, Clustering.Cluster([], new ClusteringParameters()).K);
        var one = Clustering.Cluster([Vec(1, 0)], new ClusteringParameters());
        Assert.Equal([0], one.Labels);
        Assert.Null(one.Silhouette);
        // Two documents: no k >= 2 has a silhouette, so one cluster.
        Assert.Equal([0, 0], Clustering.Cluster([Vec(1, 0), Vec(0, 1)], new ClusteringParameters()).Labels);
        // A fixed k larger than the documents gives one cluster each.
        Assert.Equal(2, Clustering.Cluster([Vec(1, 0), Vec(0, 1)], new ClusteringParameters { K = 5 }).K);
        // Three identical documents and one other cannot fill three clusters: the two distinct ones are reported.
        Assert.Equal([0, 0, 0, 1], Clustering.Cluster([Vec(1, 0), Vec(1, 0), Vec(1, 0), Vec(0, 1)], new ClusteringParameters { K = 3 }).Labels);
    }

    [Fact]
    public void Bad_parameters_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Clustering.Cluster(Seven, new ClusteringParameters { K = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => Clustering.Cluster(Seven, new ClusteringParameters { KMin = 1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => Clustering.Cluster(Seven, new ClusteringParameters { KMin = 5, KMax = 4 }));
    }
}
