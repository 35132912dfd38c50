using System.Globalization;
using System.Text;

namespace Foresight.Core.Insights;

/// <summary>The file formats <see cref="LiteratureImport"/> reads (described in docs/data-import.md).</summary>
public enum ImportFormat { Scopus, WebOfScience, GenericCsv, Jsonl }

/// <summary>A row that was skipped: the 1-based line where it starts, and what is wrong in words a person understands.</summary>
public sealed record ImportError(int Line, string Message)
{
    public override string ToString() => $"line {Line}: {Message}";
}

/// <summary>The records read from one file and the rows skipped. <see cref="Format"/> is null when the format was not recognised.</summary>
public sealed record ImportResult(ImportFormat? Format, IReadOnlyList<LiteratureRecord> Records, IReadOnlyList<ImportError> Errors);

/// <summary>
/// Entry point for files: recognises the format from the first line and hands the whole text to its importer.
/// Each importer skips rows it cannot use and reports them; it never throws for bad content.
/// </summary>
public static class LiteratureImport
{
    /// <summary>
    /// The format of a file from its first non-blank line: a JSON object is JSONL; tab-separated two-letter tags with
    /// TI (and PT, UT or AU) are Web of Science; a CSV header with Scopus's "EID" or "Source title" is Scopus; a CSV
    /// header with a "title" column is the generic CSV. Null when none fits.
    /// </summary>
    public static ImportFormat? Detect(string firstLine)
    {
        var line = firstLine.TrimStart('\uFEFF', ' ', '\t');
        if (line.StartsWith('{')) return ImportFormat.Jsonl;
        if (line.Contains('\t'))
        {
            var tags = line.Split('\t').Select(t => t.Trim()).ToHashSet(StringComparer.Ordinal);
            if (tags.Contains("TI") && (tags.Contains("PT") || tags.Contains("UT") || tags.Contains("AU"))) return ImportFormat.WebOfScience;
        }
        var header = new DelimitedReader(new StringReader(line)).ReadCsv().FirstOrDefault().Fields;
        if (header is null) return null;
        var names = header.Select(h => h.Trim()).ToHashSet(StringComparer.OrdinalIgnoreCase);
        if (names.Contains("EID") || names.Contains("Source title")) return ImportFormat.Scopus;
        if (names.Contains("title")) return ImportFormat.GenericCsv;
        return null;
    }

    /// <summary>Reads a file in any of the formats, recognised with <see cref="Detect"/> unless <paramref name="format"/> is given.</summary>
    public static ImportResult Read(TextReader reader, ImportFormat? format = null)
    {
        var firstLines = new StringBuilder();
        string? first = null;
        if (format is null)
        {
            // Read up to the first non-blank line, then hand that text and the rest to the importer.
            string? line;
            while ((line = reader.ReadLine()) is not null)
            {
                firstLines.Append(line).Append('\n');
                if (line.Trim('\uFEFF', ' ', '\t').Length > 0) { first = line; break; }
            }
            if (first is null) return new ImportResult(null, [], [new ImportError(1, "the file is empty")]);
            format = Detect(first);
            if (format is null)
                return new ImportResult(null, [], [new ImportError(firstLines.ToString().Count(c => c == '\n'),
                    "the format is not recognised: expected a Scopus CSV export, a Web of Science tab-delimited export, " +
                    "a CSV with a 'title' column or JSON lines (see docs/data-import.md)")]);
            reader = new PrefixedReader(firstLines.ToString(), reader);
        }
        return format switch
        {
            ImportFormat.Scopus => ScopusCsv.Read(reader),
            ImportFormat.WebOfScience => WebOfScienceTsv.Read(reader),
            ImportFormat.GenericCsv => GenericCsv.Read(reader),
            ImportFormat.Jsonl => GenericJsonl.Read(reader),
            _ => throw new ArgumentOutOfRangeException(nameof(format)),
        };
    }

    /// <summary>Reads a file from a stream: UTF-8 unless a byte-order mark says UTF-16 (as older Web of Science exports are).</summary>
    public static ImportResult Read(Stream stream, ImportFormat? format = null)
    {
        using var reader = new StreamReader(stream, new UTF8Encoding(false), detectEncodingFromByteOrderMarks: true, leaveOpen: true);
        return Read(reader, format);
    }

    /// <summary>Text already read, then the rest of a reader.</summary>
    sealed class PrefixedReader(string prefix, TextReader rest) : TextReader
    {
        int at;
        public override int Peek() => at < prefix.Length ? prefix[at] : rest.Peek();
        public override int Read() => at < prefix.Length ? prefix[at++] : rest.Read();
    }
}

/// <summary>Parsing shared by the importers.</summary>
internal static class Fields
{
    /// <summary>A year is four digits (surrounding spaces ignored). Empty gives null; anything else is an error.</summary>
    public static bool TryYear(string? text, out int? year, out string? error)
    {
        year = null; error = null;
        var t = text?.Trim() ?? "";
        if (t.Length == 0) return true;
        if (t.Length == 4 && t.All(char.IsAsciiDigit)) { year = int.Parse(t, CultureInfo.InvariantCulture); return true; }
        error = $"the year \"{Clip(t)}\" is not a four-digit year such as 2021";
        return false;
    }

    /// <summary>Splits "a; b;c" on ';', trims, drops empties and repeats (case-insensitive, first spelling kept).</summary>
    public static List<string> SplitList(string? text, char separator = ';')
    {
        var list = new List<string>();
        if (string.IsNullOrWhiteSpace(text)) return list;
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var part in text.Split(separator))
        {
            var p = part.Trim();
            if (p.Length > 0 && seen.Add(p)) list.Add(p);
        }
        return list;
    }

    public static List<string> Union(IEnumerable<string> a, IEnumerable<string> b)
    {
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        return a.Concat(b).Where(seen.Add).ToList();
    }

    public static string? NullIfEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();

    public static string Clip(string s) => s.Length <= 40 ? s : s[..40] + "...";

    public const string MissingTitle = "the title is empty";
}
