using System.Globalization;
using Foresight.Core.Statistics;

namespace Foresight.Core.LongFormat;

/// <summary>
/// One row of the long answer format: round,item_id,expert_id,familiarity,answer and optional columns
/// kind, scale_min, scale_max, agree (values joined by ';'), familiarity_weight, rank_group, answer_code, rationale.
/// rank_group names the set of topics one ranking covers (e.g. "priority:F1" for a ranking within field F1).
/// </summary>
public sealed record LongRow(
    int Line, int Round, string ItemId, string ExpertId, double? Familiarity, string Answer,
    string? Kind = null, double? ScaleMin = null, double? ScaleMax = null, IReadOnlyList<double>? Agree = null,
    double? FamiliarityWeight = null, string? RankGroup = null);

/// <summary>
/// The long CSV format in which Foresight exports answers and `foresight stats` reads them.
/// An empty answer is a skip; "dont_know" and "never" are marks; anything else must be a number
/// for the numeric kinds (likert, rand9, year, rank). Rows of kind choice, multi or text carry codes or text.
/// </summary>
public static class LongAnswerFile
{
    public static readonly string[] RequiredColumns = ["round", "item_id", "expert_id", "familiarity", "answer"];
    public static readonly string[] OptionalColumns = ["kind", "scale_min", "scale_max", "agree", "familiarity_weight", "rank_group", "answer_code",
        "rationale"];
    public static readonly string[] NumericKinds = ["likert", "rand9", "year", "rank"];
    public static readonly string[] OtherKinds = ["choice", "multi", "text"];

    public static IReadOnlyList<LongRow> Read(TextReader reader)
    {
        using var records = Csv.Read(reader).GetEnumerator();
        if (!records.MoveNext()) throw new CsvFormatException(1, "the file is empty; it needs the header round,item_id,expert_id,familiarity,answer");
        var (headerLine, header) = records.Current;
        var names = header.Select(h => h.Trim().ToLowerInvariant()).ToArray();
        for (int i = 0; i < RequiredColumns.Length; i++)
        {
            if (i >= names.Length || names[i] != RequiredColumns[i])
                throw new CsvFormatException(headerLine,
                    $"the header must start with round,item_id,expert_id,familiarity,answer; column {i + 1} is '{(i < names.Length ? header[i] : "missing")}'");
        }
        int Col(string name) => Array.IndexOf(names, name);
        int kindCol = Col("kind"), minCol = Col("scale_min"), maxCol = Col("scale_max"), agreeCol = Col("agree"), weightCol = Col("familiarity_weight"),
            groupCol = Col("rank_group");

        var rows = new List<LongRow>();
        while (records.MoveNext())
        {
            var (line, f) = records.Current;
            if (f.Length < RequiredColumns.Length)
                throw new CsvFormatException(
                    line, $"the row has {f.Length} columns; at least {RequiredColumns.Length} are needed (round,item_id,expert_id,familiarity,answer)");
            if (!int.TryParse(f[0].Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var round) || round < 1)
                throw new CsvFormatException(line, $"round '{f[0]}' is not a round number (1, 2, ...)");
            var item = f[1].Trim();
            if (item.Length == 0) throw new CsvFormatException(line, "item_id is empty");
            var expert = f[2].Trim();
            if (expert.Length == 0) throw new CsvFormatException(line, "expert_id is empty");
            double? familiarity = null;
            if (f[3].Trim().Length > 0)
            {
                if (!TryNumber(f[3], out var fam)) throw new CsvFormatException(line, $"familiarity '{f[3]}' is not a number");
                familiarity = fam;
            }
            string? kind = Optional(f, kindCol)?.ToLowerInvariant();
            if (kind is not null && !NumericKinds.Contains(kind) && !OtherKinds.Contains(kind))
                throw new CsvFormatException(line, $"kind '{kind}' is not one of {string.Join(", ", NumericKinds.Concat(OtherKinds))}");
            rows.Add(new LongRow(line, round, item, expert, familiarity, f[4].Trim(), kind,
                OptionalNumber(f, minCol, line, "scale_min"), OptionalNumber(f, maxCol, line, "scale_max"), Agree(f, agreeCol, line),
                OptionalNumber(f, weightCol, line, "familiarity_weight"), Optional(f, groupCol)));
        }
        return rows;
    }

    /// <summary>Turns the answer text into an observation for the numeric kinds; null with a reason when it cannot.</summary>
    public static (AnswerMark Mark, double Value, string? Error) ParseAnswer(string answer)
    {
        if (answer.Length == 0) return (AnswerMark.Skip, double.NaN, null);
        if (answer == "dont_know") return (AnswerMark.DontKnow, double.NaN, null);
        if (answer == "never") return (AnswerMark.Never, double.NaN, null);
        if (TryNumber(answer, out var v)) return (AnswerMark.Valid, v, null);
        return (AnswerMark.Skip, double.NaN, $"answer '{answer}' is not a number, dont_know, never or empty");
    }

    static string? Optional(string[] f, int col) => col >= 0 && col < f.Length && f[col].Trim().Length > 0 ? f[col].Trim() : null;

    static double? OptionalNumber(string[] f, int col, int line, string name)
    {
        var text = Optional(f, col);
        if (text is null) return null;
        return TryNumber(text, out var v) ? v : throw new CsvFormatException(line, $"{name} '{text}' is not a number");
    }

    static IReadOnlyList<double>? Agree(string[] f, int col, int line)
    {
        var text = Optional(f, col);
        if (text is null) return null;
        return ParseList(text) ?? throw new CsvFormatException(line, $"agree '{text}' must be numbers separated by ';' or ','");
    }

    public static IReadOnlyList<double>? ParseList(string text)
    {
        var result = new List<double>();
        foreach (var part in text.Split([';', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!TryNumber(part, out var v)) return null;
            result.Add(v);
        }
        return result;
    }

    public static bool TryNumber(string text, out double value) =>
        double.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);

    public static string Number(double? v) => v is { } x ? x.ToString("R", CultureInfo.InvariantCulture) : "";
}
