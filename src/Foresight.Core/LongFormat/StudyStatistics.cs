using Foresight.Core.Statistics;

namespace Foresight.Core.LongFormat;

/// <summary>Options of a statistics run over a long answer file; null means "take it from the file's own columns".</summary>
public sealed record StatsSettings
{
    public ItemKind? Kind { get; init; }
    public double? Min { get; init; }
    public double? Max { get; init; }
    public IReadOnlyList<double>? Agree { get; init; }
    /// <summary>Familiarity code → weight; null: the file's familiarity_weight column, else the code itself.</summary>
    public IReadOnlyDictionary<double, double>? FamiliarityWeights { get; init; }
    public PolarizationOptions Polarization { get; init; } = PolarizationOptions.Default;
}

public sealed record ItemResult(int Round, string ItemId, ItemKind Kind, ItemSummary Summary);
public sealed record StabilityRow(string ItemId, int FromRound, int ToRound, StabilityResult Result);
/// <param name="Group">the rank_group of the items (null when the file has none)</param>
public sealed record KendallRow(int Round, string? Group, KendallResult Result);
public sealed record StudyResult(IReadOnlyList<ItemResult> Items, IReadOnlyList<StabilityRow> Stability, IReadOnlyList<KendallRow> Kendall);

/// <summary>
/// All statistics of a long answer file: every item of every round, stability between consecutive
/// rounds of the same item, and Kendall's W per round over the items of kind rank (per rank_group when the
/// file states groups, e.g. one ranking per field).
/// </summary>
public static class StudyStatistics
{
    public static ItemKind ParseKind(string kind) => kind switch
    {
        "likert" => ItemKind.Likert,
        "rand9" => ItemKind.Rand9,
        "year" => ItemKind.Year,
        "rank" => ItemKind.Rank,
        _ => throw new ArgumentException($"kind '{kind}' is not likert, rand9, year or rank"),
    };

    public static string KindName(ItemKind kind) => kind switch
    {
        ItemKind.Likert => "likert",
        ItemKind.Rand9 => "rand9",
        ItemKind.Year => "year",
        _ => "rank",
    };

    /// <summary>The familiarity weights the file states (column familiarity_weight); null when it states none.</summary>
    static Dictionary<double, double>? WeightsFromFile(IReadOnlyList<LongRow> rows)
    {
        Dictionary<double, double>? weights = null;
        var firstLine = new Dictionary<double, int>();
        foreach (var row in rows)
        {
            if (row.FamiliarityWeight is not { } w || row.Familiarity is not { } code) continue;
            weights ??= [];
            if (weights.TryGetValue(code, out var known) && known != w)
                throw new CsvFormatException(row.Line, $"familiarity {code} has weight {w} here but {known} at line {firstLine[code]}");
            weights[code] = w;
            firstLine.TryAdd(code, row.Line);
        }
        return weights;
    }

    /// <exception cref="CsvFormatException">an answer that is not a number, a duplicate answer, an item with two kinds</exception>
    public static StudyResult Compute(IReadOnlyList<LongRow> rows, StatsSettings settings)
    {
        var items = new Dictionary<(int Round, string Item), List<Observation>>();
        var options = new Dictionary<string, (ItemOptions Options, int Line)>(StringComparer.Ordinal);
        var groups = new Dictionary<string, string?>(StringComparer.Ordinal);
        var seen = new Dictionary<(int, string, string), int>();
        var weights = settings.FamiliarityWeights ?? WeightsFromFile(rows);
        Func<double, double>? weight = weights is { } w
            ? code => w.TryGetValue(code, out var x) ? x : 0
            : null;

        foreach (var row in rows)
        {
            string kindName = settings.Kind is { } k ? KindName(k) : row.Kind ?? "likert";
            if (!LongAnswerFile.NumericKinds.Contains(kindName)) continue; // choice, multi, text: not for statistics
            var kind = ParseKind(kindName);

            if (!seen.TryAdd((row.Round, row.ItemId, row.ExpertId), row.Line))
                throw new CsvFormatException(
                    row.Line, $"expert '{row.ExpertId}' already answered item '{row.ItemId}' in round {row.Round} (line " +
                    $"{seen[(row.Round, row.ItemId, row.ExpertId)]})");

            var itemOptions = new ItemOptions
            {
                Kind = kind,
                ScaleMin = settings.Min ?? row.ScaleMin,
                ScaleMax = settings.Max ?? row.ScaleMax,
                Agree = settings.Agree ?? row.Agree ?? [],
                FamiliarityWeight = weight,
                Polarization = settings.Polarization,
            };
            if (options.TryGetValue(row.ItemId, out var known))
            {
                if (known.Options.Kind != kind)
                    throw new CsvFormatException(
                        row.Line, $"item '{row.ItemId}' is of kind {kindName} here but {KindName(known.Options.Kind)} at line {known.Line}");
            }
            else options[row.ItemId] = (itemOptions, row.Line);
            if (kind == ItemKind.Rank)
            {
                if (groups.TryGetValue(row.ItemId, out var group) && group != row.RankGroup)
                    throw new CsvFormatException(row.Line, $"item '{row.ItemId}' is in rank_group '{row.RankGroup}' here but '{group}' on an earlier line");
                groups[row.ItemId] = row.RankGroup;
            }

            var (mark, value, error) = LongAnswerFile.ParseAnswer(row.Answer);
            if (error is not null) throw new CsvFormatException(row.Line, error);
            if (kind == ItemKind.Rand9 && mark == AnswerMark.Valid && (value < 1 || value > 9))
                throw new CsvFormatException(row.Line, $"answer {row.Answer} is outside the RAND/UCLA scale 1-9");
            if (kind != ItemKind.Year && mark == AnswerMark.Never)
                throw new CsvFormatException(row.Line, $"'never' is an answer to year questions; item '{row.ItemId}' is of kind {kindName}");

            if (!items.TryGetValue((row.Round, row.ItemId), out var list)) items[(row.Round, row.ItemId)] = list = [];
            list.Add(new Observation(row.ExpertId, mark, value, row.Familiarity));
        }

        var summaries = new Dictionary<(int, string), ItemSummary>();
        var itemResults = new List<ItemResult>();
        foreach (var ((round, item), observations) in items.OrderBy(e => e.Key.Round).ThenBy(e => e.Key.Item, StringComparer.Ordinal))
        {
            var o = options[item].Options;
            var summary = ItemStatistics.Compute(observations, o);
            summaries[(round, item)] = summary;
            itemResults.Add(new ItemResult(round, item, o.Kind, summary));
        }

        var stability = new List<StabilityRow>();
        foreach (var r in itemResults)
        {
            if (!items.TryGetValue((r.Round + 1, r.ItemId), out var next)) continue;
            stability.Add(new StabilityRow(r.ItemId, r.Round, r.Round + 1,
                Statistics.Stability.Compute(items[(r.Round, r.ItemId)], next, r.Summary, summaries[(r.Round + 1, r.ItemId)])));
        }
        stability.Sort((a, b) => a.FromRound != b.FromRound ? a.FromRound.CompareTo(b.FromRound) : string.CompareOrdinal(a.ItemId, b.ItemId));

        var kendall = new List<KendallRow>();
        var rankSets = itemResults.Where(r => r.Kind == ItemKind.Rank)
            .GroupBy(r => (r.Round, Group: groups.GetValueOrDefault(r.ItemId)))
            .OrderBy(g => g.Key.Round).ThenBy(g => g.Key.Group, StringComparer.Ordinal);
        foreach (var set in rankSets)
        {
            var rankItems = set.Select(r => r.ItemId).ToList();
            // Every rank item's expert counts, so a skipped or "don't know" rank makes that expert's ranking incomplete.
            var values = new List<(string, string, double)>();
            var experts = new HashSet<string>(StringComparer.Ordinal);
            foreach (var item in rankItems)
                foreach (var o in items[(set.Key.Round, item)])
                {
                    experts.Add(o.ExpertId);
                    if (o.Mark == AnswerMark.Valid) values.Add((o.ExpertId, item, o.Value));
                }
            var result = KendallW.Compute(rankItems, values);
            var ranked = values.Select(v => v.Item1).ToHashSet(StringComparer.Ordinal);
            var dropped = result.ExpertsDropped.Concat(experts.Where(e => !ranked.Contains(e))).Distinct().Order(StringComparer.Ordinal).ToList();
            kendall.Add(new KendallRow(set.Key.Round, set.Key.Group, result with { ExpertsDropped = dropped }));
        }
        return new StudyResult(itemResults, stability, kendall);
    }
}
