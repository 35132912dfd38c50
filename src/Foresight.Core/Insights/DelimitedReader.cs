using System.Text;

namespace Foresight.Core.Insights;

/// <summary>One record of a delimited file: its fields, or why it could not be read. Line is 1-based, where the record starts.</summary>
internal readonly record struct DelimitedRow(int Line, string[]? Fields, string? Error);

/// <summary>
/// Reads delimited text record by record and keeps going after a broken record, so one bad row costs one row.
/// CSV (RFC 4180): fields may be quoted with '"', quotes doubled inside, line breaks allowed inside quotes; a quote
/// inside an unquoted field is kept as a character (common in exports, harmless). Tab-delimited (Web of Science):
/// no quoting at all; each line is a record.
/// </summary>
internal sealed class DelimitedReader(TextReader reader)
{
    /// <summary>A quoted field longer than this is taken to be an unclosed quote, so it cannot swallow the whole file.</summary>
    public const int MaxQuotedField = 100_000;

    readonly Stack<(int Line, string Text)> pushedBack = new();
    int nextLine = 1;

    bool NextLine(out int line, out string text)
    {
        if (pushedBack.Count > 0) { (line, text) = pushedBack.Pop(); return true; }
        var s = reader.ReadLine();
        line = nextLine++;
        if (s is null) { text = ""; return false; }
        if (line == 1 && s.Length > 0 && s[0] == '\uFEFF') s = s[1..];
        text = s;
        return true;
    }

    /// <summary>Tab-delimited lines, split on every tab; blank lines are skipped.</summary>
    public IEnumerable<DelimitedRow> ReadTabs()
    {
        while (NextLine(out int line, out string text))
        {
            if (text.Trim().Length == 0) continue;
            yield return new DelimitedRow(line, text.Split('\t'), null);
        }
    }

    /// <summary>CSV records; blank lines are skipped.</summary>
    public IEnumerable<DelimitedRow> ReadCsv()
    {
        var fields = new List<string>();
        var field = new StringBuilder();
        var consumed = new List<(int Line, string Text)>();
        while (NextLine(out int startLine, out string text))
        {
            if (text.Trim().Length == 0) continue;
            fields.Clear();
            field.Clear();
            consumed.Clear();
            consumed.Add((startLine, text));
            string? error = null;
            int i = 0;
            while (error is null)
            {
                // At the start of a field.
                if (i < text.Length && text[i] == '"')
                {
                    i++;
                    while (true)
                    {
                        if (i >= text.Length)
                        {
                            // The line ends inside quotes: the field goes on on the next line.
                            if (field.Length > MaxQuotedField || !NextLine(out int more, out text))
                            {
                                error = "a quoted field that starts on this line is never closed (a '\"' is missing)";
                                break;
                            }
                            consumed.Add((more, text));
                            field.Append('\n');
                            i = 0;
                            continue;
                        }
                        char c = text[i++];
                        if (c != '"') { field.Append(c); continue; }
                        if (i < text.Length && text[i] == '"') { field.Append('"'); i++; continue; }
                        break; // closing quote
                    }
                    if (error is not null) break;
                    if (i < text.Length && text[i] != ',')
                    {
                        int where = consumed[^1].Line;
                        error = where == startLine
                            ? "text follows a closing quote; a field with a quote in it must be quoted whole, with the quote doubled"
                            // Most likely a quote opened here was never closed and a quote on a later line was taken as its end.
                            : $"a quoted field that starts on this line is not closed where expected (the quote on line {where} that would close it is " +
                            "followed by more text); a '\"' is missing or a quote inside a field is not doubled";
                        break;
                    }
                }
                else
                {
                    int comma = text.IndexOf(',', i);
                    int end = comma < 0 ? text.Length : comma;
                    field.Append(text, i, end - i);
                    i = end;
                }
                fields.Add(field.ToString());
                field.Clear();
                if (i < text.Length) { i++; continue; } // a comma: another field follows, perhaps empty
                break;
            }
            if (error is not null)
            {
                // Give back the lines swallowed by an unclosed quote; they are read again as records of their own.
                for (int k = consumed.Count - 1; k >= 1; k--) pushedBack.Push(consumed[k]);
                yield return new DelimitedRow(startLine, null, error);
                continue;
            }
            yield return new DelimitedRow(startLine, fields.ToArray(), null);
        }
    }
}
