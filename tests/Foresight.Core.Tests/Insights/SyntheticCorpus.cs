using Foresight.Core.Insights;

namespace Foresight.Core.Tests.Insights;

/// <summary>
/// A seeded generator of literature records on planted topics, for tests that must know the right answer.
/// Each topic has its own English (and, for some, Chinese) vocabulary; every record also draws heavily on a shared
/// general vocabulary, so topics must be told apart through noise. Word choice follows a Zipf-like law.
/// Topic 0-5 are large and grow slowly; "neuromorphic" is small and doubles every year (a planted weak signal);
/// "deep-sea mining" matches none of <see cref="Fields"/> (planted outside the fields).
/// Chinese records of bilingual topics have a Chinese title and keywords and an English abstract, as CNKI records do;
/// the TCM topic is Chinese throughout. With <see cref="Options.ChineseAbstracts"/> the Chinese records are Chinese
/// throughout, so the general Chinese words (技术, 发展, ...) occur in every topic that has Chinese records.
/// </summary>
static class SyntheticCorpus
{
    public sealed record Topic(string Name, string[] English, string[] Chinese, double ChineseShare, double Growth, string[] Countries, int SizeFactor100);

    public static readonly Topic[] Topics =
    [
        new("batteries", ["battery", "batteries", "electrolyte", "lithium", "anode", "cathode", "solid-state", "electrode", "charging", "cycling", "capacity",
            "sodium", "dendrite", "separator", "voltage", "ionic", "conductivity", "graphite", "silicon", "polymer"],
            ["锂电池", "电解质", "正极", "负极", "固态", "电极", "充电"], 0.2, 0.08, ["China", "United States", "Japan", "South Korea"], 100),
        new("quantum", ["quantum", "qubit", "qubits", "entanglement", "superconducting", "coherence", "photon", "photonic", "decoherence", "annealing",
            "cryogenic", "topological", "trapped", "fidelity", "circuit", "simulator", "teleportation", "error-correction"],
            [], 0, 0.12, ["United States", "China", "Germany", "Netherlands"], 100),
        new("gene editing", ["crispr", "genome", "editing", "cas9", "guide", "rna", "mutation", "therapy", "embryo", "off-target", "delivery", "viral",
            "vector", "knockout", "protein", "gene", "sequencing", "clinical"],
            [], 0, 0.05, ["United States", "United Kingdom", "China"], 100),
        new("hydrogen", ["hydrogen", "electrolysis", "electrolyzer", "fuel", "catalyst", "platinum", "membrane", "storage", "pipeline", "ammonia", "green",
            "renewable", "reforming", "pressure", "tank", "methane"],
            ["氢能", "电解水", "制氢", "燃料电池", "催化剂", "储氢", "加氢站", "绿氢"], 0.35, 0.1, ["China", "Germany", "Japan", "Australia"], 100),
        new("satellites", ["satellite", "satellites", "orbit", "orbital", "constellation", "launch", "spacecraft", "propulsion", "payload", "antenna", "remote",
            "sensing", "ground", "debris", "leo", "altitude"],
            ["卫星", "轨道", "星座", "发射", "航天器", "推进", "载荷", "遥感"], 0.3, 0.07, ["United States", "China", "France", "India"], 100),
        new("tcm", [],
            ["中药", "方剂", "针灸", "经络", "药材", "证候", "临床", "疗效", "炮制", "辨证", "有效成分", "药理", "中医", "患者", "随机对照"], 1.0, 0.04, ["China"], 100),
        new("neuromorphic", ["neuromorphic", "spiking", "memristor", "synaptic", "neuron", "plasticity", "crossbar", "in-memory", "brain-inspired", "analog"],
            [], 0, 1.0, ["Switzerland", "United States"], 12),
        new("deep-sea mining", ["seabed", "nodules", "polymetallic", "mining", "deep-sea", "ocean", "sediment", "manganese", "cobalt", "plume", "abyssal",
            "dredging"],
            [], 0, 0.05, ["Norway", "Japan", "Belgium"], 60),
    ];

    /// <summary>Preset fields in words: every topic's subject but deep-sea mining's.</summary>
    public static readonly FieldDescription[] Fields =
    [
        new("energy", "Energy: lithium battery electrolytes and electrodes, energy storage, hydrogen fuel cells, electrolysis and catalysts"),
        new("ict", "Information technology: quantum computing with superconducting qubits, neuromorphic computing with memristor and spiking neuron hardware"),
        new("bio", "Biotechnology and health: CRISPR genome editing, gene therapy, clinical trials; 中医药 中药 针灸 临床 疗效"),
        new("space", "Space: satellite constellations in low earth orbit, launch and spacecraft propulsion, remote sensing"),
    ];

    static readonly string[] General =
    [
        "system", "performance", "development", "technology", "application", "model", "data", "analysis", "design", "efficiency",
        "cost", "future", "network", "process", "material", "structure", "control", "energy", "high", "low", "new", "novel",
        "improved", "significant", "potential", "challenge", "challenges", "strategy", "framework", "experimental", "simulation",
        "industrial", "large-scale", "scale", "integration", "optimization", "method", "review", "recent", "progress", "advances",
        "key", "critical", "level", "time", "rate", "response", "effect", "effects", "factor", "factors", "impact", "evaluation",
        "measurement", "standard", "quality", "safety", "reliability", "stability", "environment", "environmental", "economic",
        "policy", "market", "industry", "global", "national", "international", "cooperation", "innovation", "research", "laboratory",
        "prototype", "demonstration", "commercial", "deployment", "infrastructure", "capability", "capacity", "resource", "resources",
        "production", "manufacturing", "supply", "chain", "technique", "techniques", "tool", "tools", "platform", "component",
        "components", "module", "operation", "operating", "condition", "conditions", "parameter", "parameters", "signal", "temperature",
        "surface", "interface", "layer", "phase", "density", "range", "limit", "limits", "increase", "decrease", "reduction",
    ];

    static readonly string[] GeneralChinese = ["技术", "发展", "系统", "应用", "性能", "分析", "模型", "数据", "设计", "效率", "成本", "未来", "网络", "创新", "产业", "机制", "影响", "评价"];

    static readonly string[] Filler = ["the", "of", "and", "in", "for", "with", "a", "to", "is", "are", "we", "this", "paper", "results", "show"];

    public sealed record Options
    {
        public int Seed { get; init; } = 1;
        /// <summary>Records of a topic of size factor 100.</summary>
        public int RecordsPerTopic { get; init; } = 150;
        public int AbstractWords { get; init; } = 150;
        /// <summary>Share of an abstract's content words drawn from the topic (the rest are general).</summary>
        public double TopicShare { get; init; } = 0.4;
        public int FirstYear { get; init; } = 2014;
        public int LastYear { get; init; } = 2023;
        /// <summary>Topics to include, by name; null for all.</summary>
        public string[]? Only { get; init; }
        /// <summary>Chinese records of bilingual topics get a Chinese abstract (as CNKI records give one) instead of an English one.</summary>
        public bool ChineseAbstracts { get; init; }
    }

    public sealed record Corpus(List<LiteratureRecord> Records, int[] Truth, Topic[] Topics);

    public static Corpus Generate(Options o)
    {
        var rng = new Random(o.Seed);
        var topics = Topics.Where(t => o.Only is null || o.Only.Contains(t.Name)).ToArray();
        var records = new List<(LiteratureRecord R, int T)>();
        for (int t = 0; t < topics.Length; t++)
        {
            var topic = topics[t];
            int count = Math.Max(1, o.RecordsPerTopic * topic.SizeFactor100 / 100);
            // Years: weights (1 + growth)^(year - first).
            var years = Enumerable.Range(o.FirstYear, o.LastYear - o.FirstYear + 1).ToArray();
            var yearWeights = years.Select(y => Math.Pow(1 + topic.Growth, y - o.FirstYear)).ToArray();
            for (int i = 0; i < count; i++)
            {
                bool chinese = rng.NextDouble() < topic.ChineseShare;
                bool allChinese = topic.English.Length == 0;
                string title = chinese || allChinese
                    ? ChineseText(rng, topic.Chinese, rng.Next(4, 7), 0.75)
                    : EnglishText(rng, topic.English, rng.Next(6, 11), 0.7, filler: false);
                var keywords = Enumerable.Range(0, rng.Next(3, 6))
                    .Select(_ => Pick(rng, chinese || allChinese ? topic.Chinese : topic.English)).Distinct().ToList();
                string abs = allChinese || chinese && o.ChineseAbstracts
                    ? ChineseText(rng, topic.Chinese, o.AbstractWords / 2, o.TopicShare)
                    : EnglishText(rng, topic.English, o.AbstractWords, o.TopicShare, filler: true);
                var countries = new List<string> { Pick(rng, topic.Countries) };
                if (rng.NextDouble() < 0.3) countries.Add(Pick(rng, ["United States", "China", "Germany", "United Kingdom", "Japan"]));
                records.Add((new LiteratureRecord
                {
                    Title = title,
                    Abstract = abs,
                    Keywords = keywords,
                    Year = years[Weighted(rng, yearWeights)],
                    Countries = countries.Distinct().ToList(),
                    Language = chinese || allChinese ? "zh" : "en",
                    Doi = $"10.5555/{topic.Name.Replace(' ', '-')}.{i}",
                }, t));
            }
        }
        // Shuffle so that input order says nothing about topics.
        var shuffled = records.OrderBy(_ => rng.Next()).ToList();
        return new Corpus(shuffled.Select(x => x.R).ToList(), shuffled.Select(x => x.T).ToArray(), topics);
    }

    static string EnglishText(Random rng, string[] vocabulary, int words, double topicShare, bool filler)
    {
        var w = new List<string>(words * 2);
        for (int i = 0; i < words; i++)
        {
            if (filler && rng.NextDouble() < 0.3) w.Add(Pick(rng, Filler));
            w.Add(rng.NextDouble() < topicShare ? Zipf(rng, vocabulary) : Zipf(rng, General));
            if (rng.NextDouble() < 0.06) w[^1] += ".";
        }
        return string.Join(" ", w);
    }

    static string ChineseText(Random rng, string[] vocabulary, int words, double topicShare)
    {
        var sb = new System.Text.StringBuilder();
        for (int i = 0; i < words; i++)
        {
            sb.Append(rng.NextDouble() < topicShare ? Zipf(rng, vocabulary) : Zipf(rng, GeneralChinese));
            double r = rng.NextDouble();
            if (r < 0.15) sb.Append('的');
            else if (r < 0.25) sb.Append('，');
            else if (r < 0.3) sb.Append('。');
        }
        return sb.ToString();
    }

    static string Pick(Random rng, string[] items) => items[rng.Next(items.Length)];

    /// <summary>Rank r (from 0) drawn with weight 1 / (r + 1)^0.8.</summary>
    static string Zipf(Random rng, string[] items) => items[Weighted(rng, ZipfWeights(items.Length))];

    static readonly Dictionary<int, double[]> Weights = [];

    static double[] ZipfWeights(int n)
    {
        lock (Weights)
        {
            if (!Weights.TryGetValue(n, out var w)) Weights[n] = w = Enumerable.Range(0, n).Select(r => 1 / Math.Pow(r + 1, 0.8)).ToArray();
            return w;
        }
    }

    static int Weighted(Random rng, double[] weights)
    {
        double u = rng.NextDouble() * weights.Sum();
        for (int i = 0; i < weights.Length; i++) { u -= weights[i]; if (u < 0) return i; }
        return weights.Length - 1;
    }
}
