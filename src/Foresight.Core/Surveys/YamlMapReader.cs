using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Foresight.Core.Surveys;

/// <summary>A problem in a survey file, at a line and column (both 1-based).</summary>
public sealed record SurveyFileError(string File, int Line, int Column, string Message)
{
    public override string ToString() => $"{File}:{Line}:{Column}: {Message}";
}

/// <summary>Collects errors with positions while the parser walks the YAML tree.</summary>
internal sealed class YamlErrors(string file)
{
    public const int Limit = 100;
    public List<SurveyFileError> List { get; } = [];
    public string File { get; } = file;

    public void Add(Mark at, string message)
    {
        if (List.Count < Limit) List.Add(new SurveyFileError(File, (int)at.Line, (int)at.Column, message));
    }

    public void Add(YamlNode node, string message) => Add(node.Start, message);
}

/// <summary>
/// Reads one YAML mapping: typed values with an error at the right place when a value has the wrong
/// shape, and an error for every key the format does not know (a misspelt key is a mistake, not a comment).
/// </summary>
internal sealed class YamlMapReader
{
    readonly YamlMappingNode _node;
    readonly YamlErrors _errors;
    readonly string _what;
    readonly Dictionary<string, (YamlScalarNode Key, YamlNode Value)> _entries = new(StringComparer.Ordinal);
    readonly HashSet<string> _known = new(StringComparer.Ordinal);

    public YamlNode Node => _node;

    YamlMapReader(YamlMappingNode node, YamlErrors errors, string what)
    {
        _node = node; _errors = errors; _what = what;
        foreach (var (k, v) in node.Children)
        {
            if (k is not YamlScalarNode key || key.Value is null) { errors.Add(k, $"a key in {what} must be a plain word"); continue; }
            if (!_entries.TryAdd(key.Value, (key, v))) errors.Add(k, $"'{key.Value}' appears twice in {what}");
        }
    }

    /// <summary>Null (with an error) when the node is not a mapping.</summary>
    public static YamlMapReader? Of(YamlNode node, YamlErrors errors, string what)
    {
        if (node is YamlMappingNode m) return new YamlMapReader(m, errors, what);
        errors.Add(node, $"{what} must be a mapping of keys to values");
        return null;
    }

    public YamlNode? Get(string key, bool required = false)
    {
        _known.Add(key);
        if (_entries.TryGetValue(key, out var e))
        {
            if (e.Value is YamlScalarNode s && IsNull(s)) { if (required) _errors.Add(e.Key, $"'{key}' in {_what} needs a value"); return null; }
            return e.Value;
        }
        if (required) _errors.Add(_node, $"{_what} is missing '{key}'");
        return null;
    }

    public bool Has(string key) => _entries.ContainsKey(key);

    public string? String(string key, bool required = false)
    {
        var node = Get(key, required);
        if (node is null) return null;
        if (node is YamlScalarNode s) return s.Value;
        _errors.Add(node, $"'{key}' in {_what} must be a single value, not a list or mapping");
        return null;
    }

    public int? Int(string key, bool required = false, int min = int.MinValue, int max = int.MaxValue)
    {
        var node = Get(key, required);
        if (node is null) return null;
        if (node is YamlScalarNode s && int.TryParse(s.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v))
        {
            if (v < min || v > max) { _errors.Add(node, $"'{key}' in {_what} must be between {min} and {max}, not {v}"); return null; }
            return v;
        }
        _errors.Add(node, $"'{key}' in {_what} must be a whole number");
        return null;
    }

    public double? Number(string key, bool required = false, double min = double.MinValue, double max = double.MaxValue)
    {
        var node = Get(key, required);
        if (node is null) return null;
        if (node is YamlScalarNode s && TryNumber(s.Value, out var v))
        {
            if (v < min || v > max) { _errors.Add(node, $"'{key}' in {_what} must be between {Fmt(min)} and {Fmt(max)}, not {Fmt(v)}"); return null; }
            return v;
        }
        _errors.Add(node, $"'{key}' in {_what} must be a number");
        return null;
    }

    public bool? Bool(string key)
    {
        var node = Get(key);
        if (node is null) return null;
        if (node is YamlScalarNode s)
        {
            switch (s.Value?.ToLowerInvariant())
            {
                case "true" or "yes": return true;
                case "false" or "no": return false;
            }
        }
        _errors.Add(node, $"'{key}' in {_what} must be true or false");
        return null;
    }

    /// <summary>A sequence; a missing key gives an empty list.</summary>
    public IReadOnlyList<YamlNode> Seq(string key, bool required = false)
    {
        var node = Get(key, required);
        if (node is null) return [];
        if (node is YamlSequenceNode seq) return seq.Children.ToList();
        _errors.Add(node, $"'{key}' in {_what} must be a list");
        return [];
    }

    public IReadOnlyList<string> StringList(string key)
    {
        var result = new List<string>();
        foreach (var item in Seq(key))
        {
            if (item is YamlScalarNode s && !string.IsNullOrWhiteSpace(s.Value)) result.Add(s.Value);
            else _errors.Add(item, $"each entry of '{key}' in {_what} must be a single value");
        }
        return result;
    }

    /// <summary>Reports every key that was never asked for.</summary>
    public void RejectUnknownKeys()
    {
        foreach (var (name, (key, _)) in _entries)
        {
            if (_known.Contains(name)) continue;
            var close = _known.OrderBy(k => Distance(k, name)).FirstOrDefault();
            var hint = close is not null && Distance(close, name) <= 2 ? $" (did you mean '{close}'?)" : "";
            _errors.Add(key, $"unknown key '{name}' in {_what}{hint}; expected one of: {string.Join(", ", _known)}");
        }
    }

    public static bool TryNumber(string? text, out double value) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);

    static bool IsNull(YamlScalarNode s) =>
        s.Style == ScalarStyle.Plain && (s.Value is null or "" or "~" or "null" or "Null" or "NULL");

    static string Fmt(double v) => v.ToString(CultureInfo.InvariantCulture);

    static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
            for (int j = 1; j <= b.Length; j++)
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
        return d[a.Length, b.Length];
    }
}
