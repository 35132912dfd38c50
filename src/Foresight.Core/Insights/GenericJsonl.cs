using System.Text.Json;

namespace Foresight.Core.Insights;

/// <summary>
/// JSON lines (docs/data-import.md): one JSON object per line, blank lines skipped. Properties (case-insensitive, unknown
/// ones ignored) as the generic CSV columns; keywords and countries may be an array of strings or one ';'-separated
/// string; year may be a number or a string; id may be a number.
/// </summary>
public static class GenericJsonl
{
    public static ImportResult Read(TextReader reader)
    {
        var errors = new List<ImportError>();
        var records = new List<LiteratureRecord>();
        int line = 0;
        string? text;
        while ((text = reader.ReadLine()) is not null)
        {
            line++;
            if (line == 1 && text.Length > 0 && text[0] == '\uFEFF') text = text[1..];
            if (text.Trim().Length == 0) continue;
            var fields = Parse(text, out var error);
            if (fields?.ToRecord(line, out error) is { } record) records.Add(record);
            else errors.Add(new ImportError(line, error!));
        }
        return new ImportResult(ImportFormat.Jsonl, records, errors);
    }

    static GenericFields? Parse(string text, out string? error)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(text); }
        catch (JsonException e)
        {
            // The parser's position is within the line; its message names .NET types, so only the position is kept.
            error = $"the line is not valid JSON (at character {(e.BytePositionInLine ?? 0) + 1}); each line must be one complete JSON object";
            return null;
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) { error = "the line is JSON but not an object ({...})"; return null; }
            string? title = null, abs = null, year = null, type = null, lang = null, id = null, doi = null, pn = null, source = null, authors = null;
            List<string> keywords = [], countries = [];
            error = null;
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                var name = p.Name.ToLowerInvariant();
                switch (name)
                {
                    case "title": title = Scalar(p, ref error); break;
                    case "abstract": abs = Scalar(p, ref error); break;
                    case "year": year = Scalar(p, ref error); break;
                    case "source_type": type = Scalar(p, ref error); break;
                    case "language": lang = Scalar(p, ref error); break;
                    case "id": id = Scalar(p, ref error); break;
                    case "doi": doi = Scalar(p, ref error); break;
                    case "patent_number": pn = Scalar(p, ref error); break;
                    case "source": source = Scalar(p, ref error); break;
                    case "authors": authors = p.Value.ValueKind == JsonValueKind.Array ? string.Join("; ", List(p, ref error)) : Scalar(p, ref error); break;
                    case "keywords": keywords = List(p, ref error); break;
                    case "country" or "countries": countries = Fields.Union(countries, List(p, ref error)); break;
                }
                if (error is not null) return null;
            }
            return new GenericFields(title, abs, keywords, year, countries, type, lang, id, doi, pn, source, authors);
        }
    }

    static string? Scalar(JsonProperty p, ref string? error)
    {
        switch (p.Value.ValueKind)
        {
            case JsonValueKind.String: return p.Value.GetString();
            case JsonValueKind.Number: return p.Value.GetRawText();
            case JsonValueKind.Null: return null;
            default: error = $"\"{p.Name}\" must be a string or a number, not {Kind(p.Value)}"; return null;
        }
    }

    static List<string> List(JsonProperty p, ref string? error)
    {
        switch (p.Value.ValueKind)
        {
            case JsonValueKind.Null: return [];
            case JsonValueKind.String: return Fields.SplitList(p.Value.GetString());
            case JsonValueKind.Array:
                var items = new List<string>();
                foreach (var e in p.Value.EnumerateArray())
                {
                    if (e.ValueKind != JsonValueKind.String) { error = $"\"{p.Name}\" must be an array of strings; it holds {Kind(e)}"; return []; }
                    items.Add(e.GetString()!);
                }
                return Fields.Union(items.Select(i => i.Trim()).Where(i => i.Length > 0), []);
            default: error = $"\"{p.Name}\" must be an array of strings or one ';'-separated string, not {Kind(p.Value)}"; return [];
        }
    }

    static string Kind(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "true/false",
        JsonValueKind.Null => "null",
        _ => "a string",
    };
}
