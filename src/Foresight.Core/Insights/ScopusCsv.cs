namespace Foresight.Core.Insights;

/// <summary>
/// Scopus "CSV export" files (any set of exported columns, as long as "Title" is one). Columns read:
/// Authors, Title, Year, Source title, DOI, Abstract, Author Keywords, Index Keywords, Affiliations,
/// Language of Original Document, EID. Countries are the last comma-separated part of each ';'-separated affiliation.
/// Every Scopus record is a <see cref="SourceType.Paper"/> (articles, reviews, conference papers, book chapters).
/// </summary>
public static class ScopusCsv
{
    public static ImportResult Read(TextReader reader)
    {
        var errors = new List<ImportError>();
        var records = new List<LiteratureRecord>();
        int title = -1, authors = -1, year = -1, source = -1, doi = -1, abs = -1, authorKw = -1, indexKw = -1, aff = -1, lang = -1, eid = -1;
        bool headerOk = false;
        CsvTable? header = null;
        var rows = CsvTable.Rows(new DelimitedReader(reader).ReadCsv(), StringComparer.OrdinalIgnoreCase, errors, t =>
        {
            title = t.Column("Title");
            authors = t.Column("Authors", "Author full names");
            year = t.Column("Year");
            source = t.Column("Source title");
            doi = t.Column("DOI");
            abs = t.Column("Abstract");
            authorKw = t.Column("Author Keywords");
            indexKw = t.Column("Index Keywords");
            aff = t.Column("Affiliations");
            lang = t.Column("Language of Original Document");
            eid = t.Column("EID");
            headerOk = title >= 0;
            header = t;
        }, "comma");
        foreach (var (line, f) in rows)
        {
            if (!headerOk) break;
            var t = CsvTable.Get(f, title).Trim();
            if (t.Length == 0) { errors.Add(new ImportError(line, Fields.MissingTitle)); continue; }
            if (!Fields.TryYear(CsvTable.Get(f, year), out var y, out var yearError)) { errors.Add(new ImportError(line, yearError!)); continue; }
            var abstractText = CsvTable.Get(f, abs).Trim();
            // Scopus writes this placeholder where a record has no abstract.
            if (abstractText == "[No abstract available]") abstractText = "";
            records.Add(new LiteratureRecord
            {
                SourceType = SourceType.Paper,
                Title = t,
                Abstract = abstractText,
                Keywords = Fields.Union(Fields.SplitList(CsvTable.Get(f, authorKw)), Fields.SplitList(CsvTable.Get(f, indexKw))),
                Year = y,
                Countries = CountryNames.FromAffiliations(CsvTable.Get(f, aff)),
                Language = LanguageNames.Normalize(CsvTable.Get(f, lang)),
                Doi = Fields.NullIfEmpty(CsvTable.Get(f, doi)),
                Eid = Fields.NullIfEmpty(CsvTable.Get(f, eid)),
                Source = Fields.NullIfEmpty(CsvTable.Get(f, source)),
                Authors = Fields.NullIfEmpty(CsvTable.Get(f, authors)),
                Line = line,
            });
        }
        if (CsvTable.HeaderError(header, headerOk, "the header has no \"Title\" column, so this is not a Scopus CSV export") is { } e) errors.Insert(0, e);
        return new ImportResult(ImportFormat.Scopus, records, errors);
    }
}
