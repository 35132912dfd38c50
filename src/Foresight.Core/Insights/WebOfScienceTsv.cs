using System.Text.RegularExpressions;

namespace Foresight.Core.Insights;

/// <summary>
/// Web of Science "Tab-delimited file" exports: a header row of two-letter field tags, then one record per line,
/// fields separated by tabs, no quoting. Tags read: PT (J, B, S: paper; P: patent), AU, TI, SO, DE, ID, AB, C1, PY, DI,
/// UT, LA, PN. Countries come from the C1 addresses "[Author; Author] Org, City, Country": the author lists in
/// brackets are dropped, then the last comma-separated part of each ';'-separated address is the country.
/// </summary>
public static partial class WebOfScienceTsv
{
    public static ImportResult Read(TextReader reader)
    {
        var errors = new List<ImportError>();
        var records = new List<LiteratureRecord>();
        int pt = -1, au = -1, ti = -1, so = -1, de = -1, id = -1, ab = -1, c1 = -1, py = -1, di = -1, ut = -1, la = -1, pn = -1;
        CsvTable? header = null;
        var rows = CsvTable.Rows(new DelimitedReader(reader).ReadTabs(), StringComparer.Ordinal, errors, t =>
        {
            header = t;
            pt = t.Column("PT"); au = t.Column("AU"); ti = t.Column("TI"); so = t.Column("SO"); de = t.Column("DE");
            id = t.Column("ID"); ab = t.Column("AB"); c1 = t.Column("C1"); py = t.Column("PY"); di = t.Column("DI");
            ut = t.Column("UT"); la = t.Column("LA"); pn = t.Column("PN");
        }, "tab");
        foreach (var (line, f) in rows)
        {
            if (ti < 0) break;
            var t = CsvTable.Get(f, ti).Trim();
            if (t.Length == 0) { errors.Add(new ImportError(line, Fields.MissingTitle)); continue; }
            if (!Fields.TryYear(CsvTable.Get(f, py), out var y, out var yearError)) { errors.Add(new ImportError(line, yearError!)); continue; }
            var type = CsvTable.Get(f, pt).Trim() == "P" ? SourceType.Patent : SourceType.Paper;
            records.Add(new LiteratureRecord
            {
                SourceType = type,
                Title = t,
                Abstract = CsvTable.Get(f, ab).Trim(),
                Keywords = Fields.Union(Fields.SplitList(CsvTable.Get(f, de)), Fields.SplitList(CsvTable.Get(f, id))),
                Year = y,
                Countries = CountriesFromAddresses(CsvTable.Get(f, c1)),
                Language = LanguageNames.Normalize(CsvTable.Get(f, la)),
                Doi = Fields.NullIfEmpty(CsvTable.Get(f, di)),
                WosUt = Fields.NullIfEmpty(CsvTable.Get(f, ut)),
                PatentNumber = Fields.NullIfEmpty(CsvTable.Get(f, pn)),
                Source = Fields.NullIfEmpty(CsvTable.Get(f, so)),
                Authors = Fields.NullIfEmpty(CsvTable.Get(f, au)),
                Line = line,
            });
        }
        if (CsvTable.HeaderError(header, ti >= 0, "the header has no TI (title) tag, so this is not a Web of Science tab-delimited export") is { } e)
            errors.Insert(0, e);
        return new ImportResult(ImportFormat.WebOfScience, records, errors);
    }

    [GeneratedRegex(@"\[[^\]]*\]")]
    private static partial Regex AuthorGroup();

    /// <summary>Countries of C1 addresses such as "[Li, W; Chen, X] Tsinghua Univ, Beijing 100084, Peoples R China; [Smith, J] MIT, Cambridge, MA 02139
    /// USA".</summary>
    internal static List<string> CountriesFromAddresses(string c1) => CountryNames.FromAffiliations(AuthorGroup().Replace(c1, ""));
}
