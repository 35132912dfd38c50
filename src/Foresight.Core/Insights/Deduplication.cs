using System.Text;

namespace Foresight.Core.Insights;

/// <summary>A record dropped as a duplicate, and the earlier record it repeats.</summary>
public sealed record Duplicate(LiteratureRecord Dropped, LiteratureRecord Kept);

/// <summary>The records kept (in their original order) and the duplicates dropped.</summary>
public sealed record DedupResult(IReadOnlyList<LiteratureRecord> Records, IReadOnlyList<Duplicate> Duplicates)
{
    public int DuplicatesDropped => Duplicates.Count;
}

/// <summary>
/// Duplicate detection across exports (the same paper from Scopus and Web of Science, or exported twice).
/// </summary>
public static class Deduplication
{
    /// <summary>
    /// The record's identity: "doi:" and the DOI lower-cased (without a https://doi.org/ or doi: prefix) when it has one,
    /// otherwise "title:" and <see cref="NormalizeTitle"/> of the title, "|" and the year (empty when unknown).
    /// </summary>
    public static string Key(LiteratureRecord record) =>
        NormalizeDoi(record.Doi) is { } doi ? "doi:" + doi : TitleKey(record);

    /// <summary>"title:" + normalized title + "|" + year, used when a record has no DOI.</summary>
    public static string TitleKey(LiteratureRecord record) =>
        "title:" + NormalizeTitle(record.Title) + "|" + (record.Year?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "");

    /// <summary>Full-width to half-width (Unicode NFKC), case-folded, and only letters and digits kept: punctuation and whitespace go.</summary>
    public static string NormalizeTitle(string title)
    {
        var folded = title.Normalize(NormalizationForm.FormKC).ToLowerInvariant();
        var sb = new StringBuilder(folded.Length);
        foreach (var c in folded) if (char.IsLetterOrDigit(c)) sb.Append(c);
        return sb.ToString();
    }

    static readonly string[] DoiPrefixes = ["https://doi.org/", "http://doi.org/", "https://dx.doi.org/", "http://dx.doi.org/", "doi:"];

    /// <summary>The DOI trimmed, lower-cased (DOIs are case-insensitive), without a resolver or "doi:" prefix; null when empty.</summary>
    public static string? NormalizeDoi(string? doi)
    {
        if (string.IsNullOrWhiteSpace(doi)) return null;
        var d = doi.Trim().ToLowerInvariant();
        foreach (var p in DoiPrefixes)
            if (d.StartsWith(p, StringComparison.Ordinal)) { d = d[p.Length..].Trim(); break; }
        return d.Length == 0 ? null : d;
    }

    /// <summary>
    /// Keeps the first of each group of duplicates, in the original order. Two records are duplicates when they have the
    /// same <see cref="Key"/>, or the same <see cref="TitleKey"/> while at most one of them has a DOI, so a copy that lacks
    /// the DOI still matches its twin that has one. Two records with different DOIs are never duplicates, even with the
    /// same title and year (errata, conference and journal versions).
    /// </summary>
    public static DedupResult Distinct(IEnumerable<LiteratureRecord> records)
    {
        var kept = new List<LiteratureRecord>();
        var dropped = new List<Duplicate>();
        var byKey = new Dictionary<string, LiteratureRecord>(StringComparer.Ordinal);
        var byTitle = new Dictionary<string, LiteratureRecord>(StringComparer.Ordinal);
        foreach (var r in records)
        {
            var key = Key(r);
            var titleKey = TitleKey(r);
            bool hasDoi = key.StartsWith("doi:", StringComparison.Ordinal);
            if (byKey.TryGetValue(key, out var first) || byTitle.TryGetValue(titleKey, out first) && (!hasDoi || NormalizeDoi(first.Doi) is null))
            {
                dropped.Add(new Duplicate(r, first));
                continue;
            }
            kept.Add(r);
            byKey[key] = r;
            byTitle.TryAdd(titleKey, r);
        }
        return new DedupResult(kept, dropped);
    }
}
