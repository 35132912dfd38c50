using System.Text;

namespace Foresight.Core.LongFormat;

/// <summary>A CSV file that cannot be read, with the line where the problem is.</summary>
public sealed class CsvFormatException(int line, string message) : Exception($"line {line}: {message}")
{
    public int Line { get; } = line;
    public string Reason { get; } = message;
}

/// <summary>
/// RFC 4180 CSV: comma-separated, fields quoted with '"' when they hold a comma, quote or line break,
/// quotes doubled inside. Reports the line where each record starts.
/// </summary>
public static class Csv
{
    public const int MaxFieldLength = 100_000;

    /// <summary>Reads records one by one; blank lines are skipped.</summary>
    public static IEnumerable<(int Line, string[] Fields)> Read(TextReader reader)
    {
        int line = 1;
        var fields = new List<string>();
        var field = new StringBuilder();
        while (true)
        {
            int recordLine = line;
            fields.Clear();
            field.Clear();
            int c = reader.Read();
            if (c == -1) yield break;
            if (c == '\uFEFF' && recordLine == 1) c = reader.Read();
            if (c == '\n' || c == '\r')
            {
                if (c == '\r' && reader.Peek() == '\n') reader.Read();
                line++;
                continue;
            }
            bool end = false;
            while (!end)
            {
                if (c == '"')
                {
                    // Quoted field.
                    while (true)
                    {
                        c = reader.Read();
                        if (c == -1) throw new CsvFormatException(recordLine, "a quoted field is not closed before the end of the file");
                        if (c == '"')
                        {
                            if (reader.Peek() == '"') { reader.Read(); field.Append('"'); continue; }
                            break;
                        }
                        if (c == '\n') line++;
                        field.Append((char)c);
                        if (field.Length > MaxFieldLength) throw new CsvFormatException(recordLine, $"a field is longer than {MaxFieldLength} characters");
                    }
                    c = reader.Read();
                    if (c != ',' && c != '\n' && c != '\r' && c != -1)
                        throw new CsvFormatException(line, "a closing quote must be followed by a comma or the end of the line");
                }
                else
                {
                    while (c != ',' && c != '\n' && c != '\r' && c != -1)
                    {
                        if (c == '"') throw new CsvFormatException(line, "a quote inside an unquoted field; quote the whole field and double the quote");
                        field.Append((char)c);
                        if (field.Length > MaxFieldLength) throw new CsvFormatException(recordLine, $"a field is longer than {MaxFieldLength} characters");
                        c = reader.Read();
                    }
                }
                fields.Add(field.ToString());
                field.Clear();
                if (c == ',') { c = reader.Read(); continue; }
                if (c == '\r' && reader.Peek() == '\n') reader.Read();
                if (c != -1) line++;
                end = true;
            }
            yield return (recordLine, fields.ToArray());
        }
    }

    public static string Escape(string? value)
    {
        if (string.IsNullOrEmpty(value)) return "";
        if (RunsAsFormula(value)) value = "'" + value;
        return value.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + value.Replace("\"", "\"\"") + "\"" : value;
    }

    /// <summary>
    /// Whether a spreadsheet that opens the file would run the text as a formula (CSV injection): it begins with
    /// =, +, -, @, a tab or a carriage return (OWASP's list) and is not a plain number. Such text is written with a
    /// leading apostrophe, which spreadsheets show as text; numbers such as -3 stay numbers.
    /// </summary>
    public static bool RunsAsFormula(string value) =>
        value.Length > 0 && value[0] is '=' or '+' or '-' or '@' or '\t' or '\r'
        && !double.TryParse(value, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out _);

    public static void WriteRow(TextWriter writer, params string?[] fields)
    {
        for (int i = 0; i < fields.Length; i++)
        {
            if (i > 0) writer.Write(',');
            writer.Write(Escape(fields[i]));
        }
        writer.Write('\n');
    }
}
