using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using Foresight.Core.Insights;

namespace Foresight.Benchmarks;

/// <summary>
/// Issue 10: machine-proposed topics for N bilingual literature records, through TopicAnalysis.Run with automatic k
/// (k 2-12 by silhouette, 3 k-means restarts each), with preset fields, as the server runs it. The records are
/// generated here (the test project's generator is not referenced): 10 planted topics with their own English and
/// Chinese words over a shared general vocabulary, about a quarter of the records Chinese (Chinese title and keywords
/// over an English abstract, as CNKI records; one topic Chinese throughout), years 2014-2023.
/// Baseline of the same run: TfIdfModel.Fit on the same texts (tokenizing, stemming, bigrams, TF-IDF), the first step
/// of the whole run and a cost no clustering method avoids.
/// </summary>
public static class InsightsBenchmark
{
    sealed record Topic(string Name, string[] English, string[] Chinese, double ChineseShare);

    static readonly Topic[] Topics =
    [
        new("batteries", ["battery", "electrolyte", "lithium", "anode", "cathode", "solid-state", "electrode", "charging", "dendrite", "separator", "sodium",
            "graphite"], ["锂电池", "电解质", "正极", "负极", "固态", "电极"], 0.3),
        new("quantum", ["quantum", "qubit", "entanglement", "superconducting", "coherence", "photonic", "decoherence", "cryogenic", "topological", "fidelity"],
            ["量子", "比特", "纠缠", "超导"], 0.2),
        new("gene editing", ["crispr", "genome", "editing", "cas9", "mutation", "therapy", "embryo", "off-target", "knockout", "sequencing"],
            ["基因", "编辑", "突变", "测序"], 0.2),
        new("hydrogen", ["hydrogen", "electrolysis", "electrolyzer", "catalyst", "platinum", "membrane", "ammonia", "reforming", "methane", "tank"],
            ["氢能", "电解水", "制氢", "燃料电池", "储氢"], 0.35),
        new("satellites", ["satellite", "orbit", "constellation", "launch", "spacecraft", "propulsion", "payload", "antenna", "debris", "altitude"],
            ["卫星", "轨道", "星座", "航天器", "遥感"], 0.3),
        new("tcm", [], ["中药", "方剂", "针灸", "经络", "药材", "证候", "炮制", "辨证", "药理", "中医"], 1.0),
        new("autonomous driving", ["autonomous", "vehicle", "lidar", "driving", "pedestrian", "trajectory", "perception", "lane", "radar", "collision"],
            ["自动驾驶", "车辆", "激光雷达", "感知"], 0.25),
        new("semiconductors", ["lithography", "wafer", "transistor", "euv", "etching", "photoresist", "node", "chiplet", "packaging", "yield"],
            ["光刻", "晶圆", "芯片", "封装"], 0.3),
        new("neuromorphic", ["neuromorphic", "spiking", "memristor", "synaptic", "neuron", "plasticity", "crossbar", "analog"], [], 0),
        new("deep-sea mining", ["seabed", "nodules", "polymetallic", "mining", "deep-sea", "ocean", "sediment", "manganese", "cobalt", "plume"], [], 0),
    ];

    static readonly string[] General =
    [
        "system", "performance", "development", "technology", "application", "model", "data", "analysis", "design", "efficiency",
        "cost", "future", "network", "process", "material", "structure", "control", "energy", "high", "low", "novel", "improved",
        "significant", "potential", "challenge", "strategy", "framework", "experimental", "simulation", "industrial", "scale",
        "integration", "optimization", "review", "progress", "key", "critical", "level", "time", "rate", "response", "effect",
        "factor", "impact", "evaluation", "measurement", "standard", "quality", "safety", "reliability", "stability", "economic",
        "policy", "market", "industry", "global", "national", "cooperation", "innovation", "prototype", "demonstration",
        "commercial", "deployment", "infrastructure", "capability", "capacity", "resource", "production", "manufacturing",
    ];

    static readonly string[] GeneralChinese = ["技术", "发展", "系统", "应用", "性能", "分析", "模型", "数据", "设计", "效率", "成本", "未来", "创新", "产业"];
    static readonly string[] Filler = ["the", "of", "and", "in", "for", "with", "a", "to", "is", "are", "we", "this", "paper", "results"];

    static readonly FieldDescription[] Fields =
    [
        new("energy", "Energy: lithium battery electrolytes and electrodes, hydrogen electrolysis, fuel cells and catalysts"),
        new("ict", "Information technology: quantum computing, superconducting qubits, semiconductor lithography and chips, neuromorphic computing"),
        new("bio", "Biotechnology and health: CRISPR genome editing, gene therapy; 中医药 中药 针灸"),
        new("space-transport", "Space and transport: satellite constellations, spacecraft launch, autonomous vehicles and lidar"),
    ];

    public static int Run(string[] args)
    {
        int records = Arg(args, "--records", 10_000);
        int repeat = Arg(args, "--repeat", 3);
        var (corpus, truth) = Generate(records, seed: 42);
        var texts = corpus.Select(r => r.Text).ToList();
        Console.WriteLine($"records {corpus.Count:N0} ({corpus.Count(r => r.Language == "zh"):N0} Chinese), planted topics {Topics.Length}, " +
                          $"mean text length {texts.Average(t => t.Length):0} characters");
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores visible; " +
            $"{RuntimeInformation.FrameworkDescription}; {RuntimeInformation.OSDescription}");

        var parameters = new ClusteringParameters { Seed = 42 }; // automatic k, as the server asks
        TopicAnalysis.Run(corpus.Take(500).ToList(), parameters with { KMax = 4 }, fields: Fields); // warm up the JIT

        var times = new List<double>();
        var baselines = new List<double>();
        TopicAnalysisResult? result = null;
        for (int i = 0; i < repeat; i++)
        {
            GC.Collect();
            var sw = Stopwatch.StartNew();
            var model = TfIdfModel.Fit(texts, parameters.TfIdf);
            baselines.Add(sw.Elapsed.TotalSeconds);
            if (model.Vectors.Count != corpus.Count) throw new InvalidOperationException("wrong vector count");

            GC.Collect();
            sw.Restart();
            result = TopicAnalysis.Run(corpus, parameters, fields: Fields);
            times.Add(sw.Elapsed.TotalSeconds);
            Console.WriteLine($"run {i + 1}: whole {times[^1]:0.00} s, TF-IDF alone {baselines[^1]:0.00} s, k {result.Clustering.K}, silhouette " +
                $"{result.Clustering.Silhouette:0.000}");
        }

        double median = Median(times), baseline = Median(baselines);
        var r = result!;
        double ari = Evaluation.AdjustedRandIndex(truth, r.Clustering.Labels);
        Console.WriteLine($"TopicAnalysis.Run (auto k {parameters.KMin}-{parameters.KMax}, {parameters.Restarts} restarts): median {median:0.00} s over " +
            $"{repeat} runs (min {times.Min():0.00}, max {times.Max():0.00}), {corpus.Count / median:N0} records/s");
        Console.WriteLine($"k chosen {r.Clustering.K}, silhouette {r.Clustering.Silhouette:0.000}, vocabulary {r.VocabularySize:N0}, ARI against the planted " +
            $"topics {ari:0.000}");
        Console.WriteLine("silhouette per k: " + string.Join(", ", r.Clustering.Scores.Select(s => $"{s.K}: {s.Silhouette:0.000}")));
        Console.WriteLine($"baseline, TfIdfModel.Fit alone: median {baseline:0.00} s; ratio whole / TF-IDF {median / baseline:0.0}");
        foreach (var c in r.Clusters)
            Console.WriteLine($"  cluster {c.Id}: {c.Size} records, {string.Join(", ", c.LabelTerms.Take(6).Select(l => l.Display))}" +
                              $"{(c.WeakSignal ? " [weak signal]" : "")}{(c.OutsideFields ? " [outside fields]" : "")}");
        Console.WriteLine(median < 60 ? "target (10,000 records in < 60 s): met" : "target (10,000 records in < 60 s): MISSED");
        return 0;
    }

    /// <summary>Records on the planted topics, in a shuffled order, with each record's topic.</summary>
    static (List<LiteratureRecord> Records, int[] Truth) Generate(int count, int seed)
    {
        var rng = new Random(seed);
        var list = new List<(LiteratureRecord, int)>(count);
        for (int i = 0; i < count; i++)
        {
            // Topic sizes 3:3:...:1: the last two topics are smaller, the neuromorphic one growing fast.
            int t = Weighted(rng, Topics.Select((_, j) => j >= 8 ? 1.0 : 3.0).ToArray());
            var topic = Topics[t];
            bool allChinese = topic.English.Length == 0;
            bool chinese = allChinese || rng.NextDouble() < topic.ChineseShare;
            string title = chinese ? ChineseText(rng, topic.Chinese, rng.Next(4, 7), 0.75) : EnglishText(rng, topic.English, rng.Next(6, 11), 0.7, false);
            var keywords = Enumerable.Range(0, rng.Next(3, 6)).Select(_ => Pick(rng, chinese ? topic.Chinese : topic.English)).Distinct().ToList();
            string abs = allChinese ? ChineseText(rng, topic.Chinese, 75, 0.4) : EnglishText(rng, topic.English, 150, 0.4, true);
            double growth = topic.Name == "neuromorphic" ? 1.0 : 0.08;
            int year = 2014 + Weighted(rng, Enumerable.Range(0, 10).Select(y => Math.Pow(1 + growth, y)).ToArray());
            list.Add((new LiteratureRecord
            {
                Title = title, Abstract = abs, Keywords = keywords, Year = year,
                Countries = [Pick(rng, ["China", "United States", "Germany", "Japan", "United Kingdom", "South Korea", "France"])],
                Language = chinese ? "zh" : "en",
            }, t));
        }
        var shuffled = list.OrderBy(_ => rng.Next()).ToList();
        return (shuffled.Select(x => x.Item1).ToList(), shuffled.Select(x => x.Item2).ToArray());
    }

    static string EnglishText(Random rng, string[] vocabulary, int words, double topicShare, bool filler)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < words; i++)
        {
            if (filler && rng.NextDouble() < 0.3) sb.Append(Pick(rng, Filler)).Append(' ');
            sb.Append(rng.NextDouble() < topicShare ? Zipf(rng, vocabulary) : Zipf(rng, General));
            sb.Append(rng.NextDouble() < 0.06 ? ". " : " ");
        }
        return sb.ToString().TrimEnd();
    }

    static string ChineseText(Random rng, string[] vocabulary, int words, double topicShare)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < words; i++)
        {
            sb.Append(rng.NextDouble() < topicShare ? Zipf(rng, vocabulary) : Zipf(rng, GeneralChinese));
            double r = rng.NextDouble();
            if (r < 0.15) sb.Append('的'); else if (r < 0.25) sb.Append('，'); else if (r < 0.3) sb.Append('。');
        }
        return sb.ToString();
    }

    static string Pick(Random rng, string[] items) => items[rng.Next(items.Length)];

    /// <summary>Word of rank r (from 0) drawn with weight 1 / (r + 1)^0.8, a Zipf-like law.</summary>
    static string Zipf(Random rng, string[] items)
    {
        if (!ZipfWeights.TryGetValue(items.Length, out var w))
            ZipfWeights[items.Length] = w = Enumerable.Range(0, items.Length).Select(r => 1 / Math.Pow(r + 1, 0.8)).ToArray();
        return items[Weighted(rng, w)];
    }

    static readonly Dictionary<int, double[]> ZipfWeights = [];

    static int Weighted(Random rng, double[] weights)
    {
        double u = rng.NextDouble() * weights.Sum();
        for (int i = 0; i < weights.Length; i++) { u -= weights[i]; if (u < 0) return i; }
        return weights.Length - 1;
    }

    static double Median(List<double> xs) { var s = xs.Order().ToList(); return s[s.Count / 2]; }

    static int Arg(string[] args, string name, int fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], out var v) ? v : fallback;
    }
}
