namespace Foresight.Core.Insights;

/// <summary>What kind of item a record is (the data classes of the data-resource layer).</summary>
public enum SourceType { Paper, Patent, Project, News }

/// <summary>
/// One imported item: a paper, patent, research project or news item, in the common schema every importer maps to.
/// Lists are never null; a field the source does not give is null (or empty for lists).
/// </summary>
public sealed record LiteratureRecord
{
    public SourceType SourceType { get; init; } = SourceType.Paper;
    public required string Title { get; init; }
    public string Abstract { get; init; } = "";
    /// <summary>Author keywords, then index keywords (Scopus) or Keywords Plus (WoS), each once.</summary>
    public IReadOnlyList<string> Keywords { get; init; } = [];
    public int? Year { get; init; }
    /// <summary>Countries of the authors' (or assignees') addresses, each once, in the order first seen, with common variants merged
    /// (<see cref="CountryNames.Normalize"/>).</summary>
    public IReadOnlyList<string> Countries { get; init; } = [];
    /// <summary>ISO 639-1 code for the languages <see cref="LanguageNames.Normalize"/> knows ("en", "zh", ...), otherwise as written, lower-case.</summary>
    public string? Language { get; init; }
    public string? Doi { get; init; }
    /// <summary>Scopus record id, e.g. 2-s2.0-85123456789.</summary>
    public string? Eid { get; init; }
    /// <summary>Web of Science accession number (UT), e.g. WOS:000123456700001.</summary>
    public string? WosUt { get; init; }
    public string? PatentNumber { get; init; }
    /// <summary>Any other identifier the source gives (the generic formats' <c>id</c>).</summary>
    public string? Id { get; init; }
    /// <summary>Journal, conference, patent office or outlet.</summary>
    public string? Source { get; init; }
    /// <summary>Authors or assignees, as the source writes them.</summary>
    public string? Authors { get; init; }
    /// <summary>1-based line of the file where the record starts (0 when not imported from a file).</summary>
    public int Line { get; init; }

    /// <summary>The text the analysis reads: title, keywords and abstract.</summary>
    public string Text => Keywords.Count == 0 ? Title + "\n" + Abstract : Title + "\n" + string.Join("; ", Keywords) + "\n" + Abstract;
}
