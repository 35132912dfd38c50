using System.Globalization;
using System.Text;
using System.Text.Json;
using Foresight.Core.LongFormat;
using Foresight.Core.Statistics;

namespace Foresight.Cli;

/// <summary>`foresight stats ANSWERS.csv`: the statistics library over a long answer file, printed as one JSON object.</summary>
public static class StatsCommand
{
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var a = new Arguments(args, "kind", "min", "max", "agree", "fam-weights");
        if (a.Positional.Count != 1) throw new UsageException("give exactly one answer file: foresight stats ANSWERS.csv");
        var settings = Settings(a);
        var path = a.Positional[0];
        if (!File.Exists(path)) return CliApp.Fail(stderr, $"{path}: no such file");

        StudyResult result;
        try
        {
            using var reader = new StreamReader(path, Encoding.UTF8);
            result = StudyStatistics.Compute(LongAnswerFile.Read(reader), settings);
        }
        catch (CsvFormatException e)
        {
            return CliApp.Fail(stderr, $"{path}: line {e.Line}: {e.Reason}");
        }
        stdout.WriteLine(ToJson(result));
        return CliApp.Ok;
    }

    static StatsSettings Settings(Arguments a)
    {
        ItemKind? kind = a["kind"] switch
        {
            null => null,
            "likert" => ItemKind.Likert,
            "rand9" => ItemKind.Rand9,
            "year" => ItemKind.Year,
            "rank" => ItemKind.Rank,
            var k => throw new UsageException($"--kind must be likert, rand9, year or rank, not '{k}'"),
        };
        double? Num(string name) => a[name] is null ? null
            : LongAnswerFile.TryNumber(a[name]!, out var v) ? v : throw new UsageException($"--{name} must be a number, not '{a[name]}'");
        var min = Num("min");
        var max = Num("max");
        if (min is not null && max is not null && max <= min) throw new UsageException("--max must be greater than --min");
        IReadOnlyList<double>? agree = null;
        if (a["agree"] is { } agreeText)
            agree = LongAnswerFile.ParseList(agreeText) ?? throw new UsageException($"--agree takes numbers separated by commas, e.g. 6,7; got '{agreeText}'");
        Dictionary<double, double>? weights = null;
        if (a["fam-weights"] is { } w)
        {
            weights = [];
            foreach (var pair in w.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var parts = pair.Split(':');
                if (parts.Length != 2 || !LongAnswerFile.TryNumber(parts[0], out var code) || !LongAnswerFile.TryNumber(parts[1], out var weight) || weight < 0)
                    throw new UsageException($"--fam-weights takes code:weight pairs such as 1:0,2:0.5,3:0.75,4:1; '{pair}' is not one");
                weights[code] = weight;
            }
        }
        return new StatsSettings { Kind = kind, Min = min, Max = max, Agree = agree, FamiliarityWeights = weights };
    }

    /// <summary>The output shape is part of the interface: snake_case keys, null for what is undefined.</summary>
    public static string ToJson(StudyResult result)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteStartArray("items");
            foreach (var item in result.Items) WriteItem(w, item);
            w.WriteEndArray();
            w.WriteStartArray("stability");
            foreach (var s in result.Stability)
            {
                w.WriteStartObject();
                w.WriteString("item_id", s.ItemId);
                w.WriteNumber("from_round", s.FromRound);
                w.WriteNumber("to_round", s.ToRound);
                w.WriteNumber("n_pairs", s.Result.NPairs);
                Num(w, "pct_changed", s.Result.PctChanged);
                Num(w, "wilcoxon_v", s.Result.WilcoxonV);
                Num(w, "wilcoxon_p", s.Result.WilcoxonP);
                Num(w, "delta_cv", s.Result.DeltaCv);
                Num(w, "delta_iqr", s.Result.DeltaIqr);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("kendall");
            foreach (var k in result.Kendall)
            {
                w.WriteStartObject();
                w.WriteNumber("round", k.Round);
                if (k.Group is not null) w.WriteString("group", k.Group);
                w.WriteNumber("n_items", k.Result.NItems);
                w.WriteNumber("n_experts", k.Result.NExperts);
                Num(w, "w", k.Result.W);
                Num(w, "chi2", k.Result.Chi2);
                Num(w, "df", k.Result.Df);
                Num(w, "p", k.Result.P);
                w.WriteStartArray("experts_dropped");
                foreach (var e in k.Result.ExpertsDropped) w.WriteStringValue(e);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    static void WriteItem(Utf8JsonWriter w, ItemResult item)
    {
        var s = item.Summary;
        w.WriteStartObject();
        w.WriteNumber("round", item.Round);
        w.WriteString("item_id", item.ItemId);
        w.WriteString("kind", StudyStatistics.KindName(item.Kind));
        w.WriteNumber("n", s.N);
        w.WriteNumber("n_skip", s.NSkip);
        w.WriteNumber("n_dont_know", s.NDontKnow);
        w.WriteNumber("n_never", s.NNever);
        Num(w, "median", s.Median);
        Num(w, "q1", s.Q1);
        Num(w, "q3", s.Q3);
        Num(w, "iqr", s.Iqr);
        Num(w, "mean", s.Mean);
        Num(w, "sd", s.Sd);
        Num(w, "cv", s.Cv);
        Num(w, "min", s.Min);
        Num(w, "max", s.Max);
        Num(w, "pct_agree", s.PctAgree);
        Num(w, "pct_never", s.PctNever);
        Num(w, "importance_index", s.ImportanceIndex);
        Num(w, "importance_index_famw", s.ImportanceIndexFamW);
        Num(w, "importance_index_fam_ge3", s.ImportanceIndexFamGe3);
        if (item.Kind == ItemKind.Rand9)
        {
            var r = s.Rand;
            Num(w, "p30", r?.P30);
            Num(w, "p70", r?.P70);
            Num(w, "ipr", r?.Ipr);
            Num(w, "ai", r?.Ai);
            Num(w, "ipras", r?.Ipras);
            if (r is null) w.WriteNull("disagreement"); else w.WriteBoolean("disagreement", r.Disagreement);
            if (r is null) w.WriteNull("rand_class"); else w.WriteString("rand_class", r.RandClass);
        }
        if (s.Polarization is { } p)
        {
            Num(w, "bimodality", p.Bimodality);
            w.WriteBoolean("polarized", p.Polarized);
            if (p.MinoritySide is null) w.WriteNull("minority_side"); else w.WriteString("minority_side", p.MinoritySide);
            Num(w, "minority_pct", p.MinorityPct);
            Num(w, "minority_median", p.MinorityMedian);
        }
        w.WriteEndObject();
    }

    static void Num(Utf8JsonWriter w, string name, double? value)
    {
        if (value is { } v) w.WriteNumber(name, v); else w.WriteNull(name);
    }
}
