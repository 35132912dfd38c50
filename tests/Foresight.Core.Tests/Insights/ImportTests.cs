using System.Text;
using Foresight.Core.Insights;

namespace Foresight.Core.Tests.Insights;

public class ScopusImportTests
{
    // A Scopus CSV export as Scopus writes it: UTF-8 with a BOM, every field quoted, a header of Scopus's column names.
    const string Header =
        "\uFEFF\"Authors\",\"Author full names\",\"Title\",\"Year\",\"Source title\",\"Cited by\",\"DOI\",\"Link\",\"Affiliations\",\"Abstract\",\"Author " +
        "Keywords\",\"Index Keywords\",\"Language of Original Document\",\"Document Type\",\"Source\",\"EID\"";

    static string Row(string authors, string title, string year, string source, string doi, string aff, string abs, string akw, string ikw, string lang,
        string eid) =>
        string.Join(",", new[] { authors, authors, title, year, source, "3", doi, "https://www.scopus.com/inward/record.uri?eid=" + eid, aff, abs, akw, ikw,
            lang, "Article", "Scopus", eid }
            .Select(f => "\"" + f.Replace("\"", "\"\"") + "\""));

    [Fact]
    public void Reads_fields_countries_keywords_and_identifiers()
    {
        var csv = Header + "\n" + Row("Li W.; Smith J.", "Solid-state electrolytes, a review", "2021", "Nature Energy", "10.1038/s41560-021-00001-1",
            "School of Materials, Tsinghua University, Beijing, 100084, China; Department of Chemistry, Massachusetts Institute of Technology, Cambridge, " +
            "MA, United States; Tsinghua University, Beijing, China",
            "Solid \"garnet\" electrolytes, with lithium metal anodes,\nmay double energy density.", "solid-state battery; garnet; ",
            "Lithium; Solid electrolytes; garnet", "English", "2-s2.0-85100000001") + "\n";
        var r = ScopusCsv.Read(new StringReader(csv));
        Assert.Empty(r.Errors);
        var rec = Assert.Single(r.Records);
        Assert.Equal("Solid-state electrolytes, a review", rec.Title);
        Assert.Equal("Solid \"garnet\" electrolytes, with lithium metal anodes,\nmay double energy density.", rec.Abstract);
        Assert.Equal(2021, rec.Year);
        Assert.Equal(["China", "United States"], rec.Countries);
        // Author keywords then index keywords, each once whatever its case.
        Assert.Equal(["solid-state battery", "garnet", "Lithium", "Solid electrolytes"], rec.Keywords);
        Assert.Equal("en", rec.Language);
        Assert.Equal("10.1038/s41560-021-00001-1", rec.Doi);
        Assert.Equal("2-s2.0-85100000001", rec.Eid);
        Assert.Equal("Nature Energy", rec.Source);
        Assert.Equal("Li W.; Smith J.", rec.Authors);
        Assert.Equal(SourceType.Paper, rec.SourceType);
        Assert.Equal(2, rec.Line);
    }

    [Fact]
    public void Bad_rows_are_skipped_with_their_line_numbers()
    {
        var lines = new List<string>
        {
            Header,                                                                                                    // line 1
            // lines 2-4
            Row("A.", "Quantum error correction", "2020", "PRX", "10.1/a", "Univ, Delft, Netherlands", "Surface\ncodes\nscale.", "", "", "English", "e1"),
            Row("B.", "", "2020", "PRX", "", "Univ, Tokyo, Japan", "No title here.", "", "", "English", "e2"),               // line 5: no title
            Row("C.", "Hydrogen electrolysis", "20l9", "IJHE", "", "Univ, Perth, Australia", "x", "", "", "English", "e3"), // line 6: bad year
            "\"D.\",\"Too few\",\"2019\"",                                                                                // line 7: 3 fields
            // line 8: text after a closing quote
            "\"E.\",\"E.\",\"Stray\"quote\",\"2019\",\"S\",\"1\",\"\",\"l\",\"a\",\"b\",\"\",\"\",\"English\",\"Article\",\"Scopus\",\"e5\"",
            "",                                                                                                        // line 9: blank, ignored
            Row("F.", "Gene drives", "2022", "Science", "", "Univ, Oxford, United Kingdom", "[No abstract available]", "", "", "Chinese", "e6"), // line 10
            // line 11: quote not closed (line 12's first quote would close it)
            "\"G.\",\"G.\",\"Unclosed quote,2019",
            Row("H.", "Fusion magnets", "2023", "Nature", "", "MIT, Cambridge, United States", "HTS tapes.", "", "", "English", "e8"), // line 12
        };
        var r = ScopusCsv.Read(new StringReader(string.Join("\r\n", lines)));
        Assert.Equal(["Quantum error correction", "Gene drives", "Fusion magnets"], r.Records.Select(x => x.Title));
        Assert.Equal([2, 10, 12], r.Records.Select(x => x.Line));
        Assert.Equal("Surface\ncodes\nscale.", r.Records[0].Abstract);
        Assert.Equal("", r.Records[1].Abstract);
        Assert.Equal("zh", r.Records[1].Language);
        Assert.Equal([5, 6, 7, 8, 11], r.Errors.Select(e => e.Line));
        Assert.Contains("title is empty", r.Errors[0].Message);
        Assert.Contains("\"20l9\" is not a four-digit year", r.Errors[1].Message);
        Assert.Contains("3 fields but the header has 16", r.Errors[2].Message);
        Assert.Contains("closing quote", r.Errors[3].Message);
        Assert.Contains("not closed where expected (the quote on line 12", r.Errors[4].Message);
    }

    [Fact]
    public void A_quote_left_open_in_the_last_record()
    {
        var r = ScopusCsv.Read(new StringReader("Title,Year,EID\n\"Open,2020,e1\nstill open\n"));
        Assert.Empty(r.Records);
        // Line 3, given back after the quote ran to the end, is read as a row of its own (and has too few fields).
        Assert.Equal([2, 3], r.Errors.Select(e => e.Line));
        Assert.Contains("never closed", r.Errors[0].Message);
        Assert.Contains("1 field but the header has 3", r.Errors[1].Message);
    }

    [Fact]
    public void Lines_swallowed_by_an_unclosed_quote_are_read_again()
    {
        // Line 2 opens a quote that nothing closes; lines 3 and 4 have no quotes and are good rows of their own.
        var r = GenericCsv.Read(new StringReader("title,year\n\"Open,2020\nGood one,2021\nGood two,2022\n"));
        Assert.Equal([3, 4], r.Records.Select(x => x.Line));
        Assert.Equal(2, Assert.Single(r.Errors).Line);
    }

    [Fact]
    public void A_header_without_title_is_reported_and_nothing_read()
    {
        var r = ScopusCsv.Read(new StringReader("\"Authors\",\"EID\"\n\"A.\",\"e1\"\n"));
        Assert.Empty(r.Records);
        var e = Assert.Single(r.Errors);
        Assert.Equal(1, e.Line);
        Assert.Contains("\"Title\"", e.Message);
    }

    [Fact]
    public void A_trailing_comma_is_tolerated()
    {
        var r = ScopusCsv.Read(new StringReader("Title,Year,EID\nFuel cells,2019,e1,\n"));
        Assert.Empty(r.Errors);
        Assert.Equal(2019, Assert.Single(r.Records).Year);
    }
}

public class WebOfScienceImportTests
{
    static readonly string[] Tags = ["PT", "AU", "AF", "TI", "SO", "LA", "DT", "DE", "ID", "AB", "C1", "PY", "DI", "UT", "PN"];

    static string Line(params string[] fields) => string.Join("\t", fields) + "\t"; // WoS ends every line with a tab

    static string Rec(string pt, string au, string ti, string so, string la, string de, string id, string ab, string c1, string py, string di, string ut,
        string pn = "") =>
        Line(pt, au, au, ti, so, la, "Article", de, id, ab, c1, py, di, ut, pn);

    [Fact]
    public void Reads_tags_and_countries_from_C1()
    {
        var text = "\uFEFF" + Line(Tags) + "\r\n" +
            Rec("J", "Li, W; Smith, J", "Garnet \"LLZO\" electrolytes, revisited", "NATURE ENERGY", "English", "solid-state battery; LLZO",
            "LITHIUM; CONDUCTIVITY",
                "We review garnet electrolytes.",
                "[Li, Wei; Chen, Xi] Tsinghua Univ, Dept Mat Sci, Beijing 100084, Peoples R China; [Smith, John] MIT, Cambridge, MA 02139 USA; [Brown, A] " +
                "Univ Oxford, Oxford OX1 3PH, England.",
                "2022", "10.1038/X1", "WOS:000800000000001") + "\r\n";
        var r = WebOfScienceTsv.Read(new StringReader(text));
        Assert.Empty(r.Errors);
        var rec = Assert.Single(r.Records);
        Assert.Equal("Garnet \"LLZO\" electrolytes, revisited", rec.Title);
        Assert.Equal(["China", "United States", "United Kingdom"], rec.Countries);
        Assert.Equal(["solid-state battery", "LLZO", "LITHIUM", "CONDUCTIVITY"], rec.Keywords);
        Assert.Equal(2022, rec.Year);
        Assert.Equal("WOS:000800000000001", rec.WosUt);
        Assert.Equal("10.1038/X1", rec.Doi);
        Assert.Equal("NATURE ENERGY", rec.Source);
        Assert.Equal("en", rec.Language);
        Assert.Equal(2, rec.Line);
    }

    [Fact]
    public void Patents_and_bad_rows()
    {
        var lines = new[]
        {
            Line(Tags),                                                                                                      // 1
            Rec("P", "ACME CORP", "Electrolyser stack", "", "English", "", "", "A stack.", "", "2021", "", "", "CN112345678-A"), // 2
            Rec("J", "X, Y", "", "SO", "English", "", "", "", "", "2021", "", "WOS:2"),                                    // 3: no title
            Rec("J", "X, Y", "Perovskite tandem cells", "SO", "English", "", "", "", "", "2021a", "", "WOS:3"),            // 4: bad year
            "J\tX, Y\tX, Y\tCut short",                                                                                      // 5: too few fields
            Rec("J", "X, Y", "Extra", "SO", "English", "", "", "", "", "2021", "", "WOS:5") + "unexpected\tvalues",        // 6: too many
            Rec("J", "Z, Q", "Quantum sensing", "SO", "Chinese", "", "", "An abstract.", "[Z, Q] Zhejiang Univ, Hangzhou, Peoples R China.", "2020", "",
                "WOS:6"), // 7
        };
        var r = WebOfScienceTsv.Read(new StringReader(string.Join("\n", lines)));
        Assert.Equal([2, 7], r.Records.Select(x => x.Line));
        Assert.Equal(SourceType.Patent, r.Records[0].SourceType);
        Assert.Equal("CN112345678-A", r.Records[0].PatentNumber);
        Assert.Equal(["China"], r.Records[1].Countries);
        Assert.Equal("zh", r.Records[1].Language);
        Assert.Equal([3, 4, 5, 6], r.Errors.Select(e => e.Line));
        Assert.Contains("title", r.Errors[0].Message);
        Assert.Contains("\"2021a\"", r.Errors[1].Message);
        Assert.Contains("4 fields but the header has 15", r.Errors[2].Message);
        Assert.Contains("17 fields but the header has 15", r.Errors[3].Message);
    }
}

public class GenericImportTests
{
    [Fact]
    public void Csv_columns_in_any_order_and_case()
    {
        var csv = """
            Title,YEAR,keywords,countries,source_type,language,doi,id,abstract,patent_number,unknown
            "Hydrogen storage in salt caverns",2020,"hydrogen; storage;salt cavern","China;USA",patent,Chinese,,P-1,"Large, cheap storage.",CN1,x
            Offshore wind,,,Germany,,en,10.1/W,,Floating turbines.,,
            Broken,2020,a,b,rocket,en,,,,,
            """;
        var r = GenericCsv.Read(new StringReader(csv));
        Assert.Equal(2, r.Records.Count);
        var a = r.Records[0];
        Assert.Equal(SourceType.Patent, a.SourceType);
        Assert.Equal(["hydrogen", "storage", "salt cavern"], a.Keywords);
        Assert.Equal(["China", "United States"], a.Countries);
        Assert.Equal("zh", a.Language);
        Assert.Equal("P-1", a.Id);
        Assert.Equal("CN1", a.PatentNumber);
        Assert.Null(a.Doi);
        Assert.Equal("Large, cheap storage.", a.Abstract);
        var b = r.Records[1];
        Assert.Null(b.Year);
        Assert.Equal(SourceType.Paper, b.SourceType);
        Assert.Equal("10.1/W", b.Doi);
        var e = Assert.Single(r.Errors);
        Assert.Equal(4, e.Line);
        Assert.Contains("\"rocket\" is not one of paper, patent, project, news", e.Message);
    }

    [Fact]
    public void Csv_without_title_column()
    {
        var r = GenericCsv.Read(new StringReader("name,year\nx,2020\n"));
        Assert.Empty(r.Records);
        Assert.Equal(1, Assert.Single(r.Errors).Line);
    }

    [Fact]
    public void Jsonl_arrays_strings_numbers_and_bad_lines()
    {
        var jsonl = string.Join("\n",
            """{"title":"6G terahertz links","keywords":["6G","terahertz"],"year":2023,"countries":["China","Finland"],"source_type":"project","id":42}""", // 1
            "",                                                                                                                                    // 2
            """{"title":"低轨卫星互联网","keywords":"卫星; 互联网","year":"2022","country":"中国","language":"zh","doi":"https://doi.org/10.1/ABC"}""", // 3
            """{"title":"Broken JSON", "year": 2020""",                                                                                        // 4
            """["not","an","object"]""",                                                                                                        // 5
            """{"title":"","year":2020}""",                                                                                                     // 6
            """{"title":"Year words","year":"twenty"}""",                                                                                        // 7
            """{"title":"Bad keywords","keywords":[1,2]}""",                                                                                     // 8
            """{"title":{"en":"x"}}""",                                                                                                          // 9
            """{"TITLE":"Upper-case names","Abstract":"ok"}""");                                                                                // 10
        var r = GenericJsonl.Read(new StringReader(jsonl));
        Assert.Equal([1, 3, 10], r.Records.Select(x => x.Line));
        var a = r.Records[0];
        Assert.Equal(["6G", "terahertz"], a.Keywords);
        Assert.Equal(2023, a.Year);
        Assert.Equal(SourceType.Project, a.SourceType);
        Assert.Equal("42", a.Id);
        Assert.Equal(["China", "Finland"], a.Countries);
        var b = r.Records[1];
        Assert.Equal(["卫星", "互联网"], b.Keywords);
        Assert.Equal(["China"], b.Countries);
        Assert.Equal(2022, b.Year);
        Assert.Equal("ok", r.Records[2].Abstract);
        Assert.Equal([4, 5, 6, 7, 8, 9], r.Errors.Select(e => e.Line));
        Assert.Contains("not valid JSON", r.Errors[0].Message);
        Assert.Contains("not an object", r.Errors[1].Message);
        Assert.Contains("title is empty", r.Errors[2].Message);
        Assert.Contains("\"twenty\"", r.Errors[3].Message);
        Assert.Contains("array of strings", r.Errors[4].Message);
        Assert.Contains("\"title\" must be a string", r.Errors[5].Message);
    }
}

public class FormatDetectionTests
{
    [Theory]
    [InlineData("\uFEFF\"Authors\",\"Title\",\"Year\",\"Source title\",\"DOI\",\"EID\"", ImportFormat.Scopus)]
    [InlineData("Authors,Title,Year,Source title", ImportFormat.Scopus)]
    [InlineData("PT\tAU\tTI\tSO\tPY\tUT\t", ImportFormat.WebOfScience)]
    [InlineData("title,abstract,year", ImportFormat.GenericCsv)]
    [InlineData("  {\"title\": \"x\"}", ImportFormat.Jsonl)]
    public void Recognises_each_format(string firstLine, ImportFormat expected) =>
        Assert.Equal(expected, LiteratureImport.Detect(firstLine));

    [Theory]
    [InlineData("name,year")]
    [InlineData("FN Clarivate Analytics Web of Science")]
    [InlineData("TY  - JOUR")]
    public void Rejects_other_formats(string firstLine) => Assert.Null(LiteratureImport.Detect(firstLine));

    [Fact]
    public void Read_dispatches_after_blank_lines_and_keeps_line_numbers()
    {
        var r = LiteratureImport.Read(new StringReader("\n\ntitle,year\nA,2020\nB,x\n"));
        Assert.Equal(ImportFormat.GenericCsv, r.Format);
        Assert.Equal(4, Assert.Single(r.Records).Line);
        Assert.Equal(5, Assert.Single(r.Errors).Line);
    }

    [Fact]
    public void Read_reports_an_unknown_format_on_its_first_line()
    {
        var r = LiteratureImport.Read(new StringReader("\nTY  - JOUR\nTI  - x\n"));
        Assert.Null(r.Format);
        Assert.Empty(r.Records);
        Assert.Equal(2, Assert.Single(r.Errors).Line);
    }

    [Fact]
    public void Read_an_empty_file() => Assert.Equal("the file is empty", Assert.Single(LiteratureImport.Read(new StringReader("")).Errors).Message);

    [Fact]
    public void Stream_in_utf16_with_a_byte_order_mark()
    {
        // Older Web of Science "Tab-delimited (Win)" exports are UTF-16 LE.
        var text = "PT\tTI\tPY\tUT\nJ\t钙钛矿太阳能电池\t2021\tWOS:1\n";
        using var ms = new MemoryStream(Encoding.Unicode.GetPreamble().Concat(Encoding.Unicode.GetBytes(text)).ToArray());
        var r = LiteratureImport.Read(ms);
        Assert.Equal(ImportFormat.WebOfScience, r.Format);
        Assert.Equal("钙钛矿太阳能电池", Assert.Single(r.Records).Title);
    }

    [Fact]
    public void Stream_in_utf8_with_a_byte_order_mark()
    {
        var text = "\"Title\",\"Year\",\"EID\"\n\"量子计算\",\"2020\",\"e1\"\n";
        using var ms = new MemoryStream(Encoding.UTF8.GetPreamble().Concat(Encoding.UTF8.GetBytes(text)).ToArray());
        var r = LiteratureImport.Read(ms);
        Assert.Equal(ImportFormat.Scopus, r.Format);
        Assert.Equal("量子计算", Assert.Single(r.Records).Title);
    }
}

public class DeduplicationTests
{
    static LiteratureRecord R(string title, int? year = 2020, string? doi = null) => new() { Title = title, Year = year, Doi = doi };

    [Fact]
    public void Key_prefers_the_doi_lower_cased_without_prefix()
    {
        Assert.Equal("doi:10.1038/abc", Deduplication.Key(R("x", doi: " https://doi.org/10.1038/ABC ")));
        Assert.Equal("doi:10.1038/abc", Deduplication.Key(R("y", doi: "doi:10.1038/Abc")));
    }

    [Fact]
    public void Key_without_doi_folds_case_punctuation_space_and_width()
    {
        Assert.Equal("title:lithiumionbatteries2030|2021", Deduplication.Key(R("  Lithium-Ion  Batteries: 2030!", 2021)));
        // Full-width letters, digits and punctuation become half-width.
        Assert.Equal(Deduplication.Key(R("Lithium-ion batteries 2030", 2021)), Deduplication.Key(R("ＬＩＴＨＩＵＭ－ｉｏｎ　ｂａｔｔｅｒｉｅｓ　２０３０", 2021)));
        Assert.Equal("title:量子计算的发展|2020", Deduplication.Key(R("量子计算的发展。", 2020)));
        Assert.Equal("title:abc|", Deduplication.Key(R("A.B.C", null)));
        Assert.NotEqual(Deduplication.Key(R("Same title", 2020)), Deduplication.Key(R("Same title", 2021)));
    }

    [Fact]
    public void Distinct_keeps_the_first_and_counts_the_rest()
    {
        var records = new[]
        {
            R("Solid electrolytes", 2021, "10.1/A"),   // kept
            R("SOLID ELECTROLYTES.", 2021),            // same title, no DOI: duplicate of 0
            R("Another title", 2021, "10.1/a"),        // same DOI: duplicate of 0
            R("Solid electrolytes", 2021, "10.1/B"),   // different DOI: kept (an erratum, say)
            R("Quantum dots", 2019),                   // kept
            R("Quantum  dots", 2019, "10.1/Q"),        // DOI, but the earlier twin has none: duplicate of 4
            R("Quantum dots", 2020),                   // another year: kept
        };
        var d = Deduplication.Distinct(records);
        Assert.Equal(3, d.DuplicatesDropped);
        Assert.Equal([records[0], records[3], records[4], records[6]], d.Records);
        Assert.Equal(new[] { (1, 0), (2, 0), (5, 4) }, d.Duplicates.Select(x => (Array.IndexOf(records, x.Dropped), Array.IndexOf(records, x.Kept))));
    }

    [Fact]
    public void Distinct_of_nothing() => Assert.Equal(0, Deduplication.Distinct([]).DuplicatesDropped);
}
