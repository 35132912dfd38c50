namespace Foresight.Core.Insights;

/// <summary>
/// The generic CSV format of docs/data-import.md: a header row naming the columns (any order, case-insensitive,
/// unknown columns ignored): title (required), abstract, keywords, year, country or countries, source_type,
/// language, id, doi, patent_number, source, authors. Lists (keywords, countries) are ';'-separated.
/// </summary>
public static class GenericCsv
{
    public static ImportResult Read(TextReader reader)
    {
        var errors = new List<ImportError>();
        var records = new List<LiteratureRecord>();
        int title = -1, abs = -1, kw = -1, year = -1, country = -1, type = -1, lang = -1, id = -1, doi = -1, pn = -1, source = -1, authors = -1;
        CsvTable? header = null;
        var rows = CsvTable.Rows(new DelimitedReader(reader).ReadCsv(), StringComparer.OrdinalIgnoreCase, errors, t =>
        {
            header = t;
            title = t.Column("title"); abs = t.Column("abstract"); kw = t.Column("keywords"); year = t.Column("year");
            country = t.Column("countries", "country"); type = t.Column("source_type"); lang = t.Column("language");
            id = t.Column("id"); doi = t.Column("doi"); pn = t.Column("patent_number"); source = t.Column("source"); authors = t.Column("authors");
        }, "comma");
        foreach (var (line, f) in rows)
        {
            if (title < 0) break;
            var fields = new GenericFields(
                CsvTable.Get(f, title), CsvTable.Get(f, abs), Fields.SplitList(CsvTable.Get(f, kw)), CsvTable.Get(f, year),
                Fields.SplitList(CsvTable.Get(f, country)), CsvTable.Get(f, type), CsvTable.Get(f, lang), CsvTable.Get(f, id),
                CsvTable.Get(f, doi), CsvTable.Get(f, pn), CsvTable.Get(f, source), CsvTable.Get(f, authors));
            if (fields.ToRecord(line, out var error) is { } record) records.Add(record);
            else errors.Add(new ImportError(line, error!));
        }
        if (CsvTable.HeaderError(header, title >= 0, "the header has no \"title\" column") is { } e) errors.Insert(0, e);
        return new ImportResult(ImportFormat.GenericCsv, records, errors);
    }
}

/// <summary>The fields of the generic formats as read, before checking; shared by CSV and JSONL.</summary>
internal sealed record GenericFields(string? Title, string? Abstract, List<string> Keywords, string? Year, List<string> Countries,
    string? SourceType, string? Language, string? Id, string? Doi, string? PatentNumber, string? Source, string? Authors)
{
    /// <summary>source_type values; empty means paper.</summary>
    internal static bool TryType(string? text, out SourceType type, out string? error)
    {
        error = null;
        switch (text?.Trim().ToLowerInvariant())
        {
            case null or "" or "paper" or "article": type = Insights.SourceType.Paper; return true;
            case "patent": type = Insights.SourceType.Patent; return true;
            case "project": type = Insights.SourceType.Project; return true;
            case "news": type = Insights.SourceType.News; return true;
            default:
                type = default;
                error = $"the source_type \"{Fields.Clip(text!.Trim())}\" is not one of paper, patent, project, news";
                return false;
        }
    }

    public LiteratureRecord? ToRecord(int line, out string? error)
    {
        var t = Title?.Trim() ?? "";
        if (t.Length == 0) { error = Fields.MissingTitle; return null; }
        if (!Fields.TryYear(Year, out var y, out error)) return null;
        if (!TryType(SourceType, out var type, out error)) return null;
        return new LiteratureRecord
        {
            SourceType = type,
            Title = t,
            Abstract = Abstract?.Trim() ?? "",
            Keywords = Keywords,
            Year = y,
            Countries = Countries.Select(CountryNames.Normalize).Where(c => c.Length > 0).Distinct().ToList(),
            Language = LanguageNames.Normalize(Language),
            Id = Fields.NullIfEmpty(Id),
            Doi = Fields.NullIfEmpty(Doi),
            PatentNumber = Fields.NullIfEmpty(PatentNumber),
            Source = Fields.NullIfEmpty(Source),
            Authors = Fields.NullIfEmpty(Authors),
            Line = line,
        };
    }
}
