namespace Foresight.Core.Insights;

/// <summary>
/// The header and rows of a CSV or tab-delimited export, with the checks every importer makes: a row must have as many
/// fields as the header (one extra empty field, from a trailing delimiter, is tolerated).
/// </summary>
internal sealed class CsvTable
{
    readonly Dictionary<string, int> columns;
    readonly int width;

    /// <summary>The line of the header row.</summary>
    public int Line { get; }

    CsvTable(int line, string[] header, StringComparer comparer)
    {
        Line = line;
        columns = new Dictionary<string, int>(comparer);
        for (int i = 0; i < header.Length; i++) columns.TryAdd(header[i].Trim(), i);
        width = header.Length;
        // A trailing delimiter in the header is an empty column name, not a column.
        while (width > 0 && header[width - 1].Trim().Length == 0) width--;
    }

    /// <summary>The column index of the first of these names present, or -1.</summary>
    public int Column(params string[] names)
    {
        foreach (var n in names) if (columns.TryGetValue(n, out int i)) return i;
        return -1;
    }

    /// <summary>Reads the header, then yields each row that has the right number of fields; the others become errors.</summary>
    public static IEnumerable<(int Line, string[] Fields)> Rows(IEnumerable<DelimitedRow> source, StringComparer comparer,
        List<ImportError> errors, Action<CsvTable> onHeader, string delimiterName)
    {
        CsvTable? table = null;
        foreach (var row in source)
        {
            if (row.Fields is null) { errors.Add(new ImportError(row.Line, row.Error!)); continue; }
            if (table is null)
            {
                table = new CsvTable(row.Line, row.Fields, comparer);
                onHeader(table);
                continue;
            }
            var f = row.Fields;
            int n = f.Length;
            while (n > table.width && f[n - 1].Trim().Length == 0) n--;
            if (n != table.width)
            {
                errors.Add(new ImportError(row.Line, n > table.width
                    ? $"the row has {n} field{(n == 1 ? "" : "s")} but the header has {table.width}; a field with a {delimiterName} in it must be quoted"
                    : $"the row has {n} field{(n == 1 ? "" : "s")} but the header has {table.width}; a field may be cut off or a line break may be inside an " +
                    "unquoted field"));
                continue;
            }
            yield return (row.Line, f);
        }
    }

    /// <summary>The error for a file without a header row, or whose header lacks a needed column.</summary>
    public static ImportError? HeaderError(CsvTable? header, bool ok, string what) =>
        header is null ? new ImportError(1, "the file has no header row")
        : ok ? null : new ImportError(header.Line, what);

    public static string Get(string[] fields, int column) => column >= 0 && column < fields.Length ? fields[column] : "";
}
