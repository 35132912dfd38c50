using System.Text;
using System.Text.Json.Nodes;
using Xunit;

namespace Foresight.Testing;

/// <summary>Literature exports generated for tests of the machine layer, and how to find a planted subject among the proposals.</summary>
public static class LiteratureExport
{
    /// <summary>
    /// A Scopus CSV export on three planted subjects: quantum computing (field Q of the quick-start survey), embodied-AI
    /// robots (field A; a third of them Chinese records), and deep-sea mining (no field). 60 records each, then a
    /// repeated record (same DOI), a row without a title and a row with a bad year (lines 183 and 184).
    /// </summary>
    public static string Scopus(int perTheme = 60, int abstractWords = 40)
    {
        var rng = new Random(7);
        var themes = new (string Name, string[] Words, string[] Zh, string Keywords, string[] Countries)[]
        {
            ("quantum", ["quantum", "qubit", "qubits", "superconducting", "entanglement", "decoherence", "fidelity", "cryogenic", "photonic", "logical", "gate",
                "coherence"], [], "quantum computing; qubit", ["China", "United States", "Germany"]),
            ("robots", ["robot", "robots", "embodied", "grasping", "manipulation", "logistics", "warehouse", "locomotion", "perception", "humanoid", "gripper",
                "navigation"],
                ["具身智能", "机器人", "抓取", "操作", "物流", "感知", "导航"], "robot; embodied intelligence", ["China", "United States"]),
            ("seabed", ["seabed", "nodules", "polymetallic", "mining", "manganese", "cobalt", "sediment", "plume", "abyssal", "dredging", "seafloor", "ore"],
                [], "deep-sea mining; nodules", ["Norway", "Japan"]),
        };
        string[] general = ["novel", "performance", "experimental", "framework", "evaluation", "significant", "improved", "demonstrate", "efficient",
            "scalable", "robust", "design"];
        string Q(string s) => "\"" + s.Replace("\"", "\"\"") + "\"";
        string Words(string[] theme, int n) => string.Join(' ', Enumerable.Range(0, n)
            .Select(i => rng.NextDouble() < 0.65 ? theme[rng.Next(theme.Length)] : general[rng.Next(general.Length)]));
        var sb = new StringBuilder(
            "Authors,Title,Year,Source title,DOI,Abstract,Author Keywords,Index Keywords,Affiliations,Language of Original Document,EID\n");
        string? first = null;
        int n = 0;
        foreach (var t in themes)
            for (int i = 0; i < perTheme; i++, n++)
            {
                bool chinese = t.Zh.Length > 0 && i % 3 == 0;
                var title = chinese ? string.Concat(Enumerable.Range(0, 4).Select(_ => t.Zh[rng.Next(t.Zh.Length)])) + "研究" : Words(t.Words, 8);
                // Deep-sea mining grows fast: most of its records are recent.
                int year = t.Name == "seabed" ? 2024 - (int)Math.Floor(Math.Sqrt(rng.Next(25))) : 2019 + rng.Next(6);
                var country = t.Countries[rng.Next(t.Countries.Length)];
                var row = string.Join(',', Q($"Author{n} A."), Q(title), year.ToString(), Q(t.Name == "seabed" ? "Marine Policy" : "Journal of " + t.Name),
                    Q($"10.1000/test.{n}"),
                    Q(Words(t.Words, abstractWords)), Q(chinese ? string.Join("; ", t.Zh.Take(2)) + "; " + t.Keywords : t.Keywords), Q(""),
                    Q($"Institute {n}, City, {country}"),
                    Q(chinese ? "Chinese" : "English"), Q($"2-s2.0-{1000 + n}"));
                first ??= row;
                sb.Append(row).Append('\n');
            }
        sb.Append(first).Append('\n');
        sb.Append(string.Join(',', Q("X"), Q(""), "2020", Q("J"), Q("10.1000/empty"), Q("no title"), Q(""), Q(""), Q(""), Q("English"), Q("2-s2.0-9")))
            .Append('\n');
        sb.Append(string.Join(',', Q("Y"), Q("A title with a bad year"), "20x5", Q("J"), Q("10.1000/year"), Q("bad year"), Q(""), Q(""), Q(""), Q("English"),
            Q("2-s2.0-8"))).Append('\n');
        return sb.ToString();
    }

    public static string Terms(JsonNode p) => string.Join(' ', p["label_terms"]!.AsArray().Select(t => t!["display"]!.GetValue<string>()));

    static readonly Dictionary<string, string[]> ThemeWords = new()
    {
        ["qubit"] = ["quantum", "qubit", "qubits", "superconducting", "entanglement", "decoherence", "fidelity", "cryogenic", "photonic", "logical", "gate",
            "coherence"],
        ["robot"] = ["robot", "robots", "embodied", "grasping", "manipulation", "logistics", "warehouse", "locomotion", "perception", "humanoid", "gripper",
            "navigation"],
        ["seabed"] = ["seabed", "nodules", "polymetallic", "mining", "manganese", "cobalt", "sediment", "plume", "abyssal", "dredging", "seafloor", "ore"],
    };

    /// <summary>The proposal of an analysis on a planted subject (named by one of its words): the one whose label terms share most words with it.</summary>
    public static JsonNode About(JsonArray proposals, long analysis, string word)
    {
        var mine = proposals.Where(p => p!["analysis"]!.GetValue<long>() == analysis).ToList();
        int Overlap(JsonNode p, string theme) => Terms(p).Split(' ').Count(ThemeWords[theme].Contains);
        var best = mine.OrderByDescending(p => Overlap(p!, word)).First()!;
        Assert.True(Overlap(best, word) > 0 && ThemeWords.Keys.All(t => t == word || Overlap(best, t) < Overlap(best, word)),
            $"no proposal of analysis {analysis} is about {word}: {string.Join(" | ", mine.Select(p => Terms(p!)))}");
        return best;
    }

}
